"""The Estimator's chain (detections → model → absolute pose) with stand-in parts.

The detector and the lifter's network are replaced by objects that return known values, so these
tests check the estimator's own work and the lifters' interface: joint selection by score, the
root solve, fallbacks and JSON output; and that any PoseModel plugs in.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from monopose.core.camera import project_points
from monopose.core.geometry import place_in_camera
from monopose.core.skeleton import H36M17
from monopose.detect.keypoint_map import h36m_scores_from_blazepose
from monopose.io.results import CameraInfo
from monopose.lifting.lifter import Lifter
from monopose.models.interface import FramePeople, PeoplePoses
from monopose.pipeline.estimator import Estimator


def _true_pose(root_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    rel = rng.normal(0, 250, (17, 3))
    rel[0] = 0
    return rel, rel + root_mm


class _Lifter(Lifter):
    """The lifters' interface (sizing, placement) around a network that answers ``rel``."""

    def __init__(self, rel: np.ndarray, body_size: str = "lifter") -> None:
        self.rel = rel
        self.body_size = body_size
        self.placement = "solve"  # the answer as given, so the chain's geometry is exact
        self.window = 1
        self.card = None
        self.seen_valid: np.ndarray | None = None
        self.seen_intrinsics: np.ndarray | None = None
        self.seen_scores: np.ndarray | None = None

    def lift(self, keypoints_2d_px: np.ndarray, valid: np.ndarray | None = None,
             layout: str = "h36m17", flip: bool | None = None, batch_size: int | None = None,
             intrinsics: np.ndarray | None = None, scores: np.ndarray | None = None
             ) -> np.ndarray:
        assert valid is not None
        self.seen_valid = valid.copy()
        self.seen_scores = None if scores is None else np.asarray(scores).copy()
        self.seen_intrinsics = None if intrinsics is None else np.asarray(intrinsics)
        return np.repeat(self.rel[None], len(keypoints_2d_px), axis=0)


def _estimator(detections: list, lifter: object) -> Estimator:
    detector = SimpleNamespace(detect=lambda rgb, with_features=False, tiles=None,
                               min_presence=None, turned_passes=False: detections)
    return Estimator("stand-in", pose_model=lifter, detector=detector,  # type: ignore[arg-type]
                     body_size="lifter")


def _detection(kp: np.ndarray, scores33: np.ndarray) -> SimpleNamespace:
    return SimpleNamespace(keypoints_h36m_px=kp, keypoint_score=scores33,
                           valid_h36m=np.ones(17, bool), box_xyxy_px=np.array([0, 0, 10, 10.0]),
                           detection_score=0.9, presence_score=0.95, track_id=None)


def test_absolute_pose_recovered_through_the_chain() -> None:
    cam = CameraInfo(1000, 1000, 639.5, 359.5, 1280, 720, "given")
    rel, absolute = _true_pose(np.array([300.0, 100.0, 5000.0]))
    kp = project_points(absolute, cam.intrinsics)
    lifter = _Lifter(rel)
    est = _estimator([_detection(kp, np.ones(33))], lifter)
    pred = est.predict(np.zeros((720, 1280, 3), np.uint8), intrinsics=(1000, 1000, 639.5, 359.5))
    # Perspective-aware lifters need the camera: the lifter gets the photo's intrinsics.
    np.testing.assert_allclose(lifter.seen_intrinsics, cam.intrinsics)  # type: ignore[arg-type]
    person = pred.frames[0].people[0]
    np.testing.assert_allclose(person.pose_3d_abs_mm, absolute, atol=1e-3)
    assert person.root_method == "perspective" and pred.camera.source == "given"
    assert pred.to_json()["frames"][0]["people"][0]["pose_3d_abs"][0][2] == pytest.approx(5000)


def _valid_seen(scores33: np.ndarray, lifter: _Lifter, present: np.ndarray | None = None,
                **estimator_args: object) -> np.ndarray:
    """``[17]`` the joints the lifter was given for one person with these keypoint scores."""
    cam = (1000, 1000, 639.5, 359.5)
    _, absolute = _true_pose(np.array([0.0, 0.0, 4000.0]))
    det = _detection(project_points(absolute, np.array(cam)), scores33)
    if present is not None:
        det.valid_h36m = present
    est = _estimator([det], lifter)
    for name, value in estimator_args.items():
        setattr(est, name, value)
    est.predict(np.zeros((720, 1280, 3), np.uint8), intrinsics=cam)
    assert lifter.seen_valid is not None
    return lifter.seen_valid[0]


def test_occluded_keypoints_reach_the_lifter_and_absent_ones_do_not() -> None:
    rel, _ = _true_pose(np.array([0.0, 0.0, 4000.0]))
    scores = np.ones(33)
    scores[27] = 0.05  # left ankle: BlazePose places it but thinks it hidden
    lifter = _Lifter(rel)
    valid = _valid_seen(scores, lifter)
    assert valid.all()  # keypoint lifters read BlazePose's guess of hidden joints
    # ... with the detector's doubt about it, for lifters that read scores
    assert lifter.seen_scores is not None and lifter.seen_scores.shape == (1, 17)
    assert lifter.seen_scores[0, 6] == pytest.approx(0.05) and lifter.seen_scores[0, 3] == 1.0
    present = np.ones(17, bool)
    present[6] = False  # the left ankle outside the picture
    valid = _valid_seen(scores, _Lifter(rel), present)
    assert not valid[6] and valid.sum() == 16


def test_a_score_threshold_makes_low_score_keypoints_missing() -> None:
    rel, _ = _true_pose(np.array([0.0, 0.0, 4000.0]))
    scores = np.ones(33)
    scores[27] = 0.05
    valid = _valid_seen(scores, _Lifter(rel), keypoint_score_threshold=0.3)
    assert not valid[6] and valid[3]  # l_ankle off, r_ankle on


def test_models_trained_on_detector_outputs_keep_their_training_rule() -> None:
    from monopose.capf.features import KEYPOINT_SCORE_THRESHOLD
    from monopose.zoo import get_card

    rel, _ = _true_pose(np.array([0.0, 0.0, 4000.0]))
    lifter = _Lifter(rel)
    lifter.card = get_card("poseformer-ctxfree-synth")  # trained on rendered people's detections
    scores = np.ones(33)
    scores[27] = KEYPOINT_SCORE_THRESHOLD / 2
    scores[28] = KEYPOINT_SCORE_THRESHOLD  # right ankle: exactly at the rule, kept
    valid = _valid_seen(scores, lifter)
    assert not valid[6] and valid[3]


def test_derived_joint_takes_lowest_source_score() -> None:
    scores = np.ones(33)
    scores[23] = 0.2  # left hip → pelvis and spine are derived from it
    h36m = h36m_scores_from_blazepose(scores)
    assert h36m[0] == pytest.approx(0.2) and h36m[7] == pytest.approx(0.2)
    assert h36m[1] == pytest.approx(1.0)


def test_place_in_camera_falls_back_then_fails_cleanly() -> None:
    cam = CameraInfo(1000, 1000, 639.5, 359.5, 1280, 720, "given")
    rel, absolute = _true_pose(np.array([0.0, 0.0, 4000.0]))
    kp = project_points(absolute, cam.intrinsics)
    # All joints far outside the image: solve with every valid joint instead.
    shifted = kp + 5000
    pose, method = place_in_camera(shifted, rel, np.ones(17, bool), cam.intrinsics,
                                   (cam.width, cam.height))
    assert method in ("perspective", "weak_perspective") and np.isfinite(pose).all()
    only_one = np.zeros(17, bool)
    only_one[3] = True
    pose, method = place_in_camera(kp, rel, only_one, cam.intrinsics, (cam.width, cam.height))
    assert method == "failed" and np.isnan(pose).all()


def test_no_person_gives_empty_frame() -> None:
    est = _estimator([], _Lifter(np.zeros((17, 3))))
    pred = est.predict(np.zeros((48, 64, 3), np.uint8))
    assert pred.frames[0].people == [] and pred.camera.source == "default_fov"


def test_tiled_search_only_when_people_are_small_or_missing() -> None:
    calls: list[str | None] = []
    rel, absolute = _true_pose(np.array([0.0, 0.0, 4000.0]))
    kp = project_points(absolute, np.array([1000, 1000, 639.5, 359.5]))

    def person(box: list[float]) -> SimpleNamespace:
        d = _detection(kp, np.ones(33))
        d.box_xyxy_px = np.array(box)
        return d

    def detect(rgb: np.ndarray, with_features: bool = False, tiles: str | None = None,
               min_presence: float | None = None, turned_passes: bool = False) -> list:
        calls.append(tiles)
        if tiles == "off":
            return [person([0, 0, 60, 100])] if small_only else [person([0, 0, 300, 600])]
        return [person([0, 0, 60, 100]), person([500, 0, 560, 100])]

    est = _estimator([], _Lifter(rel))
    est.detector = SimpleNamespace(detect=detect)  # type: ignore[assignment]
    image = np.zeros((720, 1280, 3), np.uint8)
    small_only = False
    assert len(est.predict(image).frames[0].people) == 1 and calls == ["off"]
    calls.clear()
    small_only = True
    assert len(est.predict(image).frames[0].people) == 2 and calls == ["off", "auto"]
    calls.clear()
    est.tiles = "off"
    assert len(est.predict(image).frames[0].people) == 1 and calls == ["off"]


def test_photos_are_searched_turned_when_nobody_is_found_upright() -> None:
    rel, absolute = _true_pose(np.array([0.0, 0.0, 4000.0]))
    kp = project_points(absolute, np.array([1000, 1000, 639.5, 359.5]))
    calls: list[tuple[str | None, bool]] = []

    def detect(rgb: np.ndarray, with_features: bool = False, tiles: str | None = None,
               min_presence: float | None = None, turned_passes: bool = False) -> list:
        calls.append((tiles, turned_passes))
        if not turned_passes:  # the person is only found turned
            return []
        d = _detection(kp, np.ones(33))
        d.box_xyxy_px = np.array([0.0, 0.0, 300.0, 600.0])
        return [d]

    est = _estimator([], _Lifter(rel))
    est.detector = SimpleNamespace(detect=detect)  # type: ignore[assignment]
    image = np.zeros((720, 1280, 3), np.uint8)
    # fallback (default): the upright passes (whole image, then tiles) find nobody; then the
    # whole image turned
    assert len(est.predict(image).frames[0].people) == 1
    assert calls == [("off", False), ("auto", False), ("off", True)]
    calls.clear()
    est.turned_passes = "always"
    assert len(est.predict(image).frames[0].people) == 1 and calls == [("off", True)]
    calls.clear()
    est.turned_passes = "off"
    assert est.predict(image).frames[0].people == []
    assert calls == [("off", False), ("auto", False)]
    with pytest.raises(ValueError, match="turned_passes: expected 'fallback', 'always' or 'off'"):
        Estimator("stand-in", pose_model=_Lifter(rel),  # type: ignore[arg-type]
                  detector=SimpleNamespace(detect=detect),  # type: ignore[arg-type]
                  turned_passes="sometimes")


def test_large_photos_are_processed_downscaled_with_the_same_geometry() -> None:
    from monopose.pipeline.working_size import MAX_WORKING_SIDE_PX

    full = np.array([2000.0, 2000.0, 1279.5, 719.5])  # a 2560 × 1440 photo
    rel, absolute = _true_pose(np.array([200.0, -100.0, 6000.0]))
    seen_sizes: list[tuple[int, ...]] = []

    def detect(rgb: np.ndarray, with_features: bool = False, tiles: str | None = None,
               min_presence: float | None = None, turned_passes: bool = False) -> list:
        seen_sizes.append(rgb.shape)
        s = rgb.shape[1] / 2560
        small = np.array([full[0] * s, full[1] * s, (full[2] + 0.5) * s - 0.5,
                          (full[3] + 0.5) * s - 0.5])
        d = _detection(project_points(absolute, small), np.ones(33))
        d.box_xyxy_px = np.array([10.0, 10.0, 400.0, 600.0])
        return [d]

    est = _estimator([], _Lifter(rel))
    est.detector = SimpleNamespace(detect=detect)  # type: ignore[assignment]
    pred = est.predict(np.zeros((1440, 2560, 3), np.uint8), intrinsics=tuple(full))
    assert max(seen_sizes[0][:2]) == MAX_WORKING_SIDE_PX
    person = pred.frames[0].people[0]
    np.testing.assert_allclose(person.pose_3d_abs_mm, absolute, atol=1e-3)
    np.testing.assert_allclose(person.keypoints_2d_px, project_points(absolute, full), atol=1e-6)
    assert pred.camera.width == 2560 and pred.camera.fx == 2000.0


def test_world_landmarks_set_the_body_size_and_the_root_depth() -> None:
    from monopose.core.skeleton import BLAZEPOSE33

    cam = CameraInfo(1000, 1000, 639.5, 359.5, 1280, 720, "given")
    rel, absolute = _true_pose(np.array([0.0, 0.0, 5000.0]))
    kp = project_points(absolute, cam.intrinsics)
    det = _detection(kp, np.ones(33))
    # Metric 3D of the detector: a body 1.2 times the lifter's, in BlazePose's 33 landmarks.
    det.world_landmarks_m = np.zeros((BLAZEPOSE33.num_joints, 3))
    for name in ("l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_shoulder",
                 "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist"):
        det.world_landmarks_m[BLAZEPOSE33.index(name)] = 1.2 * rel[H36M17.index(name)] / 1000
    plain = _estimator([det], _Lifter(rel)).predict(np.zeros((720, 1280, 3), np.uint8),
                                                    intrinsics=tuple(cam.intrinsics))
    est = _estimator([det], _Lifter(rel, body_size="world_landmarks"))
    sized = est.predict(np.zeros((720, 1280, 3), np.uint8), intrinsics=tuple(cam.intrinsics))
    p0, p1 = plain.frames[0].people[0], sized.frames[0].people[0]
    ratio = np.linalg.norm(p1.pose_3d_rel_mm, axis=-1).sum() / np.linalg.norm(
        p0.pose_3d_rel_mm, axis=-1).sum()
    assert 1.05 < ratio < 1.35  # about the 1.2 of the limbs; the torso is derived
    # Same 2D, larger body: the person is farther away, by the same factor.
    assert p1.pose_3d_abs_mm[0, 2] / p0.pose_3d_abs_mm[0, 2] == pytest.approx(ratio, rel=0.02)


class _ImageModel:
    """A stand-in image model: keeps only the second detection, with its own 2D and 3D."""

    card = None
    module = None
    window = 1
    needs = "image"

    def __init__(self, rel: np.ndarray, absolute: np.ndarray) -> None:
        self.rel, self.absolute = rel, absolute
        self.frames: list[FramePeople] = []

    def predict(self, frame: FramePeople) -> PeoplePoses:
        self.frames.append(frame)
        kp = np.full((1, 17, 2), 7.0)
        return PeoplePoses(np.array([1]), kp, np.full((1, 17), 0.5), np.ones((1, 17), bool),
                           self.rel[None], self.absolute[None], ["box_prior"],
                           ["box 0: suppressed"])

    def lift(self, keypoints_2d_px, valid=None, *, intrinsics=None):  # noqa: ANN001, ANN201
        raise ValueError("image model")

    lift_sequence = lift


def test_any_pose_model_plugs_in_and_its_people_keep_their_detections() -> None:
    rel, absolute = _true_pose(np.array([0.0, 0.0, 4000.0]))
    first = _detection(np.zeros((17, 2)), np.ones(33))
    second = _detection(np.ones((17, 2)), np.ones(33))
    second.box_xyxy_px, second.track_id, second.detection_score = (
        np.array([1.0, 2.0, 300.0, 600.0]), 5, 0.7)
    seen: list[bool] = []

    def detect(rgb: np.ndarray, with_features: bool = False, tiles: str | None = None,
               min_presence: float | None = None, turned_passes: bool = False) -> list:
        seen.append(with_features)
        return [first, second]

    model = _ImageModel(rel, absolute)
    est = Estimator("stand-in", pose_model=model,  # type: ignore[arg-type]
                    detector=SimpleNamespace(detect=detect))  # type: ignore[arg-type]
    image = np.zeros((720, 1280, 3), np.uint8)
    pred = est.predict(image, intrinsics=(1000, 1000, 639.5, 359.5))
    # The model got the image, both people and the camera; it kept the second one.
    assert model.frames[0].image_rgb is image and len(model.frames[0]) == 2
    assert model.frames[0].image_size_wh == (1280, 720) and not any(seen)
    (person,) = pred.frames[0].people
    np.testing.assert_array_equal(person.box_xyxy_px, second.box_xyxy_px)
    assert person.person_id == 5 and person.score == pytest.approx(0.7)
    assert person.root_method == "box_prior" and person.keypoints_2d_px[0, 0] == 7.0
    np.testing.assert_allclose(person.pose_3d_abs_mm, absolute)
    assert pred.warnings == ["box 0: suppressed"]
    # A model that reads feature maps gets them from the detector.
    model.needs = "features"
    est.predict(image)
    assert seen[-1] is True


def test_a_decoded_photo_with_its_path_is_the_path(tmp_path) -> None:  # noqa: ANN001
    from monopose.io.images import read_image

    sample = Path(__file__).resolve().parents[2] / "monopose" / "assets" / "sample_person.jpg"
    est = _estimator([], _Lifter(np.zeros((17, 3))))
    by_path = est.predict(sample)
    by_array = est.predict(read_image(sample), path=sample)
    assert by_array.input_path == by_path.input_path == str(sample)
    assert by_array.camera == by_path.camera
    assert est.predict(read_image(sample)).input_path == "<array>"
