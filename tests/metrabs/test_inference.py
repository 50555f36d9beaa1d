"""MeTRAbs inference (:mod:`monopose.metrabs.inference`) around an oracle network.

The estimator is run with a stub detector (zero feature maps, a chosen presence) and a stub
model that answers every crop with the EXACT crop-camera 2D and 3D of the synthetic person it
looks at (mirrored for flipped crops), so everything the estimator adds — crops, un-flipping,
averaging, the root solve, the fallbacks and the suppression — must give back the ground truth.
The last tests run the real frozen landmark network (``crop_features``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import monopose.metrabs.inference as inference
from monopose.core.camera import project_points
from monopose.core.skeleton import get_layout
from monopose.metrabs.crop import CROP_SIZE_PX, CropCamera
from monopose.metrabs.inference import (
    TTA_AUGMENTATIONS,
    MetrabsEstimator,
    box_from_keypoints,
    implausible_reason,
)
from monopose.metrabs.model import BLAZEPOSE_LEVELS, MetrabsOutput
from tests.metrabs.conftest import standing_pose

S = CROP_SIZE_PX
W, H = 1280, 720
INTR = np.array([900.0, 900.0, 640.0, 360.0])
PERM = get_layout("h36m17").flip_permutation


def _project(points_mm: np.ndarray, intr: np.ndarray = INTR) -> np.ndarray:
    fx, fy, cx, cy = intr
    return np.stack([fx * points_mm[:, 0] / points_mm[:, 2] + cx,
                     fy * points_mm[:, 1] / points_mm[:, 2] + cy], -1)


def _inside(px: np.ndarray) -> np.ndarray:
    return ((px >= -0.5) & (px <= [W - 0.5, H - 0.5])).all(-1)


# ---------------------------------------------------------------------------- the oracle
class Scene:
    """The photo, its people (source camera, mm) and what the estimator showed the network."""

    def __init__(self, people: list[np.ndarray], seed: int = 0,
                 dist: np.ndarray | None = None) -> None:
        self.people = people
        self.dist = dist
        self.image = np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)
        self.cams: list[CropCamera] = []
        self.crops: list[np.ndarray] = []
        self.flips: list[bool] = []

    def photo_px(self, person: np.ndarray) -> np.ndarray:
        """Where the person's joints appear in the photo (distorted if the lens distorts)."""
        return project_points(person, INTR, self.dist)

    def box(self, person: np.ndarray) -> np.ndarray:
        return box_from_keypoints(self.photo_px(person), np.ones(17, bool))


class StubDetector:
    def __init__(self, scene: Scene, presence: float = 0.9) -> None:
        self.scene, self.presence = scene, presence

    def crop_features(self, crop: np.ndarray, names) -> tuple[float, dict[str, np.ndarray]]:
        assert crop.shape == (S, S, 3) and crop.dtype == np.uint8
        self.scene.crops.append(crop.copy())
        shapes = {name: (side, side, c) for name, side, c in BLAZEPOSE_LEVELS}
        return self.presence, {n: np.zeros(shapes[n], np.float32) for n in names}


class OracleModel(nn.Module):
    """Answers each crop with the exact labels of the person nearest its optical axis."""

    backbone_name = "blazepose"
    head_name = "metro"

    def __init__(self, scene: Scene) -> None:
        super().__init__()
        self.scene = scene

    def forward(self, *levels: torch.Tensor) -> MetrabsOutput:
        a = levels[0].shape[0]
        for lv, (_, side, c) in zip(levels, BLAZEPOSE_LEVELS, strict=True):
            assert lv.shape == (a, c, side, side)
        sc = self.scene
        kps, rels = [], []
        for cam, crop in zip(sc.cams[-a:], sc.crops[-a:], strict=True):
            plain = cam.warp(sc.image)
            if np.array_equal(crop, plain):
                flipped = False
            elif np.array_equal(crop, plain[:, ::-1]):
                flipped = True
            else:
                raise AssertionError("the network got a crop that is not its camera's view")
            sc.flips.append(flipped)
            axis = cam.R_source_to_crop[2]  # the crop's optical axis in the source camera
            person = max(sc.people, key=lambda p: axis @ p.mean(0) / np.linalg.norm(p.mean(0)))
            p = cam.source_to_crop_points(person)
            if sc.dist is None:
                kp = p[:, :2] / p[:, 2:] * cam.K_crop[0, 0] + cam.K_crop[:2, 2]
            else:  # the person appears where the lens put it
                kp = cam.source_to_crop_px(sc.photo_px(person))
            rel = p - p[:1]
            if flipped:
                kp = kp[PERM] * [-1.0, 1.0] + [S - 1.0, 0.0]
                rel = rel[PERM] * [-1.0, 1.0, 1.0]
            kps.append(kp)
            rels.append(rel)
        return MetrabsOutput(torch.tensor(np.stack(kps), dtype=torch.float32),
                             torch.tensor(np.stack(rels), dtype=torch.float32))


@pytest.fixture
def make_estimator(monkeypatch):
    """``make_estimator(scene, num_aug=1, presence=0.9)``: an estimator around the oracle."""
    made: list[Scene] = []
    real = inference.box_crop_camera

    def recording(*args, **kwargs):
        cam = real(*args, **kwargs)
        for sc in made:
            sc.cams.append(cam)
        return cam

    monkeypatch.setattr(inference, "box_crop_camera", recording)

    def make(scene: Scene, num_aug: int = 1, presence: float = 0.9) -> MetrabsEstimator:
        if not any(sc is scene for sc in made):
            made.append(scene)
        return MetrabsEstimator(OracleModel(scene), StubDetector(scene, presence),
                                num_aug=num_aug)

    return make


def _person(root, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return scale * standing_pose(np.random.default_rng(seed)) + np.asarray(root, float)


def _assert_exact(person_out, truth: np.ndarray, photo_px: np.ndarray | None = None) -> None:
    np.testing.assert_allclose(person_out.pose_3d_abs_mm, truth, atol=1.0)
    np.testing.assert_allclose(person_out.pose_3d_rel_mm, truth - truth[:1], atol=0.5)
    np.testing.assert_allclose(person_out.keypoints_2d_px,
                               _project(truth) if photo_px is None else photo_px, atol=0.05)


# ---------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("num_aug", [1, 8])
def test_exact_network_gives_the_exact_absolute_pose(make_estimator, num_aug):
    truth = _person([-500.0, 150.0, 4500.0], seed=1)
    scene = Scene([truth])
    est = make_estimator(scene, num_aug=num_aug)
    people, warnings = est.predict_boxes(scene.image, scene.box(truth)[None], INTR)
    assert warnings == []
    assert len(people) == 1
    p = people[0]
    _assert_exact(p, truth)
    assert p.root_method == "perspective"
    assert p.in_view.all() and p.box_index == 0
    assert p.presence == pytest.approx(0.9)
    assert len(scene.crops) == num_aug
    assert sum(scene.flips) == sum(f for _, _, f in TTA_AUGMENTATIONS[:num_aug])


def test_every_augmentation_is_a_different_view(make_estimator):
    truth = _person([300.0, 0.0, 5000.0], seed=2)
    scene = Scene([truth])
    est = make_estimator(scene, num_aug=8)
    est.predict_boxes(scene.image, scene.box(truth)[None], INTR)
    # flipped and plain crops of one (scale, roll) share a camera; all other cameras differ
    hs = [c.source_to_crop_homography / c.source_to_crop_homography[2, 2] for c in scene.cams]
    framings = [(scale, roll) for scale, roll, _ in TTA_AUGMENTATIONS[:8]]
    for i in range(8):
        for k in range(i + 1, 8):
            assert np.allclose(hs[i], hs[k]) == (framings[i] == framings[k])
    assert len({c.tobytes() for c in scene.crops}) == 8


def test_person_half_outside_the_photo(make_estimator):
    truth = _person([200.0, 1300.0, 4000.0], seed=3)  # knees and feet below the photo
    inside = _inside(_project(truth))
    assert 8 <= inside.sum() <= 14
    scene = Scene([truth])
    for num_aug in (1, 8):
        scene.crops.clear()
        scene.cams.clear()
        est = make_estimator(scene, num_aug=num_aug)
        people, _ = est.predict_boxes(scene.image, scene.box(truth)[None], INTR)
        assert len(people) == 1
        p = people[0]
        _assert_exact(p, truth)
        np.testing.assert_array_equal(p.in_view, inside)
        np.testing.assert_array_equal(p.view_fraction[~inside], 0.0)
        assert p.root_method == "perspective"


def test_two_people_come_out_separately(make_estimator):
    a = _person([-1200.0, 100.0, 5000.0], seed=4)
    b = _person([1100.0, 50.0, 4200.0], seed=5)
    scene = Scene([a, b])
    est = make_estimator(scene, num_aug=2)
    people, warnings = est.predict_boxes(scene.image, np.stack([scene.box(a), scene.box(b)]),
                                         INTR)
    assert warnings == []
    assert [p.box_index for p in people] == [0, 1]
    _assert_exact(people[0], a)
    _assert_exact(people[1], b)


# ---------------------------------------------------------------------------- failures
def test_low_presence_drops_the_box_with_a_warning(make_estimator):
    truth = _person([0.0, 0.0, 4000.0])
    scene = Scene([truth])
    est = make_estimator(scene, presence=0.1)
    people, warnings = est.predict_boxes(scene.image, scene.box(truth)[None], INTR)
    assert people == []
    assert len(warnings) == 1
    assert "box 0" in warnings[0] and "presence" in warnings[0]


def test_degenerate_box_is_skipped_and_others_come_out(make_estimator):
    truth = _person([0.0, 100.0, 4000.0], seed=6)
    scene = Scene([truth])
    est = make_estimator(scene, num_aug=2)
    boxes = np.stack([np.full(4, np.nan), scene.box(truth), np.array([50.0, 50.0, 50.0, 90.0])])
    people, warnings = est.predict_boxes(scene.image, boxes, INTR)
    assert [p.box_index for p in people] == [1]
    _assert_exact(people[0], truth)
    assert len(warnings) == 2
    assert warnings[0].startswith("box 0") and warnings[1].startswith("box 2")


def test_implausible_pose_is_suppressed_with_a_reason(make_estimator):
    giant = _person([0.0, 0.0, 0.0], seed=7, scale=4.0) + [0.0, 400.0, 16000.0]
    assert _inside(_project(giant)).all()
    scene = Scene([giant])
    est = make_estimator(scene)
    people, warnings = est.predict_boxes(scene.image, scene.box(giant)[None], INTR)
    assert people == []
    assert len(warnings) == 1 and "box 0" in warnings[0] and "implausible" in warnings[0]
    assert "skeleton size" in warnings[0]
    # without suppression the (consistent) giant is placed exactly
    people, warnings = est.predict_boxes(scene.image, scene.box(giant)[None], INTR,
                                         suppress=False)
    assert warnings == [] and len(people) == 1
    _assert_exact(people[0], giant)


def test_implausible_reason_rules():
    pose = standing_pose(np.random.default_rng(0))
    assert implausible_reason(pose) is None
    assert implausible_reason(0.6 * pose) is None  # a child passes
    assert "skeleton size" in implausible_reason(4.0 * pose)
    assert "skeleton size" in implausible_reason(0.3 * pose)
    long_arm = pose.copy()
    long_arm[13] = long_arm[12] + 5 * (long_arm[13] - long_arm[12])  # one 5× forearm
    forearm = np.linalg.norm(long_arm[13] - long_arm[12])
    assert implausible_reason(long_arm) == f"bone 13 is {forearm:.0f} mm"
    bad = pose.copy()
    bad[4, 0] = np.nan
    assert implausible_reason(bad) == "non-finite joints"


def test_two_boxes_on_one_person_give_one_person(make_estimator):
    truth = _person([-200.0, 100.0, 4500.0], seed=8)
    scene = Scene([truth])
    est = make_estimator(scene, num_aug=2)
    box = scene.box(truth)
    other = box + np.array([-15.0, 10.0, 25.0, -5.0])
    people, warnings = est.predict_boxes(scene.image, np.stack([box, other]), INTR)
    assert len(people) == 1
    assert any("duplicate" in w for w in warnings)
    _assert_exact(people[0], truth)
    both, warnings = est.predict_boxes(scene.image, np.stack([box, other]), INTR,
                                       suppress=False)
    assert len(both) == 2 and warnings == []


def test_duplicate_warning_names_the_dropped_box(make_estimator):
    truth = _person([-200.0, 100.0, 4500.0], seed=8)
    scene = Scene([truth])
    est = make_estimator(scene)
    box = scene.box(truth)
    people, warnings = est.predict_boxes(scene.image, np.stack([box, box * 1.01]), INTR)
    assert [p.box_index for p in people] == [0]
    assert any(w.startswith("box 1") and "duplicate" in w for w in warnings)


def test_no_boxes_no_people(make_estimator):
    scene = Scene([_person([0.0, 0.0, 4000.0])])
    est = make_estimator(scene)
    assert est.predict_boxes(scene.image, np.zeros((0, 4)), INTR) == ([], [])
    assert scene.crops == []


def test_one_joint_in_view_falls_back_to_the_box_prior(make_estimator):
    # only the head top pokes into the bottom of the photo
    truth = _person([100.0, 2290.0, 4000.0], seed=9)
    inside = _inside(_project(truth))
    assert inside.tolist() == [j == 10 for j in range(17)]
    scene = Scene([truth])
    est = make_estimator(scene)
    people, warnings = est.predict_boxes(scene.image, scene.box(truth)[None], INTR)
    assert len(people) == 1
    p = people[0]
    assert p.root_method == "box_prior"
    assert p.in_view.sum() == 1
    assert any(w.startswith("box 0") and "1 joint" in w for w in warnings)
    assert p.notes and "box" in p.notes[0]
    np.testing.assert_allclose(p.pose_3d_rel_mm, truth - truth[:1], atol=0.5)
    # the box prior puts the body's middle at about the right depth and direction
    assert p.pose_3d_abs_mm[:, 2].mean() == pytest.approx(truth[:, 2].mean(), rel=0.1)
    np.testing.assert_allclose(p.pose_3d_abs_mm.mean(0)[:2], truth.mean(0)[:2], atol=300.0)


def test_two_joints_in_view_use_weak_perspective(make_estimator):
    truth = _person([0.0, 1700.0, 3000.0], seed=10)
    inside = _inside(_project(truth))
    assert inside.sum() == 2 and inside[[9, 10]].all()
    scene = Scene([truth])
    est = make_estimator(scene)
    people, warnings = est.predict_boxes(scene.image, scene.box(truth)[None], INTR)
    assert people[0].root_method == "weak_perspective"
    assert any(w.startswith("box 0") and "weak-perspective" in w for w in warnings)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize("image", [np.zeros((H, W), np.uint8), np.zeros((H, W, 4), np.uint8),
                                   np.zeros((H, W, 3), np.float32)])
def test_bad_image_raises(make_estimator, image):
    scene = Scene([_person([0.0, 0.0, 4000.0])])
    est = make_estimator(scene)
    with pytest.raises(ValueError, match="image"):
        est.predict_boxes(image, np.array([[0.0, 0.0, 100.0, 200.0]]), INTR)


@pytest.mark.parametrize("intr", [[900.0, 900.0, 640.0], [0.0, 900.0, 640.0, 360.0],
                                  [900.0, -900.0, 640.0, 360.0], [np.nan, 900, 640, 360]])
def test_bad_intrinsics_raise(make_estimator, intr):
    scene = Scene([_person([0.0, 0.0, 4000.0])])
    est = make_estimator(scene)
    with pytest.raises(ValueError, match="intrinsics"):
        est.predict_boxes(scene.image, np.array([[0.0, 0.0, 100.0, 200.0]]), np.array(intr))


def test_estimator_rejects_other_models_and_aug_counts():
    scene = Scene([])
    detector = StubDetector(scene)
    wrong_head = OracleModel(scene)
    wrong_head.head_name = "2.5d"
    with pytest.raises(ValueError, match="model"):
        MetrabsEstimator(wrong_head, detector)
    wrong_backbone = OracleModel(scene)
    wrong_backbone.backbone_name = "resnet"
    with pytest.raises(ValueError, match="model"):
        MetrabsEstimator(wrong_backbone, detector)
    for n in (0, len(TTA_AUGMENTATIONS) + 1):
        with pytest.raises(ValueError, match="num_aug"):
            MetrabsEstimator(OracleModel(scene), detector, num_aug=n)


# ---------------------------------------------------------------------------- lens distortion
def test_distortion_is_used_consistently(make_estimator):
    dist = np.array([-0.25, 0.05, 0.0, 0.0, 0.0])
    truth = _person([-900.0, 1400.0, 4000.0], seed=11)  # off-centre, feet below the photo
    scene = Scene([truth], dist=dist)
    photo_px = scene.photo_px(truth)
    assert 8 <= _inside(photo_px).sum() <= 14
    est = make_estimator(scene)
    people, _ = est.predict_boxes(scene.image, scene.box(truth)[None], INTR, dist=dist)
    np.testing.assert_array_equal(people[0].in_view, _inside(photo_px))
    _assert_exact(people[0], truth, photo_px)


# ---------------------------------------------------------------------------- real network
@pytest.fixture(scope="module")
def detector():
    from monopose.detect.blazepose import BlazePoseDetector

    return BlazePoseDetector(num_threads=1)


def test_crop_features_of_noise(detector):
    from monopose.metrabs.model import LEVEL_NAMES

    crop = np.random.default_rng(0).integers(0, 256, (S, S, 3), dtype=np.uint8)
    presence, maps = detector.crop_features(crop, LEVEL_NAMES)
    assert 0.0 <= presence < 0.2
    assert [maps[n].shape for n in LEVEL_NAMES] == [(32, 32, 48), (16, 16, 88), (8, 8, 144)]
    assert all(maps[n].dtype == np.float32 and np.isfinite(maps[n]).all() for n in LEVEL_NAMES)
    assert all(maps[n].std() > 0 for n in LEVEL_NAMES)
    # the maps are copies: another crop does not change them
    before = {n: maps[n].copy() for n in LEVEL_NAMES}
    detector.crop_features(np.zeros((S, S, 3), np.uint8), LEVEL_NAMES)
    for n in LEVEL_NAMES:
        np.testing.assert_array_equal(maps[n], before[n])


@pytest.mark.parametrize("crop", [np.zeros((128, 128, 3), np.uint8),
                                  np.zeros((S, S, 3), np.float32),
                                  np.zeros((S, S), np.uint8)])
def test_crop_features_rejects_wrong_crops(detector, crop):
    with pytest.raises(ValueError, match="crop_rgb"):
        detector.crop_features(crop)


def test_crop_features_rejects_unknown_names(detector):
    with pytest.raises(ValueError, match="names"):
        detector.crop_features(np.zeros((S, S, 3), np.uint8), ["no/such/tensor"])
