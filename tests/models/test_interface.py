"""Every registered model behind the one interface: documented shapes, units and capabilities."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from monopose.core.camera import intrinsics_from_fov
from monopose.core.geometry import place_in_camera, reconstruct_absolute
from monopose.core.placement import place_poses
from monopose.detect.blazepose import BlazePoseDetector
from monopose.io.images import read_image
from monopose.models.interface import MODEL_INPUTS, FramePeople, PeoplePoses, PoseModel
from monopose.zoo import available, list_models, load_pose_model, pose_model_from_module

NAMES = [c.name for c in list_models() if available(c.name)]


@pytest.fixture(scope="module")
def detector() -> BlazePoseDetector:
    return BlazePoseDetector(num_threads=2)


@pytest.fixture(scope="module")
def frame(detector: BlazePoseDetector) -> FramePeople:
    rgb = read_image(str(resources.files("monopose") / "assets" / "sample_person.jpg"))
    h, w = rgb.shape[:2]
    people = detector.detect(rgb, with_features=True)
    assert people, "the sample photo shows a person"
    return FramePeople(rgb, people, intrinsics_from_fov(w, h), (w, h),
                       np.stack([d.keypoints_h36m_px for d in people]),
                       np.ones((len(people), 17)), np.stack([d.valid_h36m for d in people]))


@pytest.mark.parametrize("name", NAMES)
def test_every_family_gives_the_documented_shapes_and_units(name: str, frame: FramePeople,
                                                            detector: BlazePoseDetector) -> None:
    model = load_pose_model(name, detector=detector)
    assert isinstance(model, PoseModel)
    assert model.card is not None and model.card.name == name
    assert model.needs in MODEL_INPUTS and model.window >= 1
    out = model.predict(frame)
    m = len(out)
    assert 1 <= m <= len(frame) and set(out.detection_index) <= set(range(len(frame)))
    assert out.keypoints_2d_px.shape == (m, 17, 2) and out.keypoint_scores.shape == (m, 17)
    assert out.keypoints_valid.shape == (m, 17) and out.keypoints_valid.dtype == bool
    assert out.pose_3d_rel_mm.shape == out.pose_3d_abs_mm.shape == (m, 17, 3)
    assert len(out.root_method) == m and "failed" not in out.root_method
    np.testing.assert_allclose(out.pose_3d_rel_mm[:, 0], 0.0, atol=1e-6)  # pelvis at 0
    # Millimetres: an adult's joints span more than half a metre and less than three.
    span = np.ptp(out.pose_3d_rel_mm, axis=1).max(axis=-1)
    assert ((span > 500) & (span < 3000)).all(), span
    # In front of the camera, a few metres away, and seen where the 2D says.
    assert (out.pose_3d_abs_mm[..., 2] > 500).all()
    root_ray = out.pose_3d_abs_mm[:, 0, :2] / out.pose_3d_abs_mm[:, 0, 2:]
    fx, fy, cx, cy = frame.intrinsics
    root_px = root_ray * [fx, fy] + [cx, cy]
    assert frame.image_size_wh is not None
    np.testing.assert_allclose(root_px, out.keypoints_2d_px[:, 0],
                               atol=0.1 * frame.image_size_wh[1])


@pytest.mark.parametrize("name", NAMES)
def test_keypoint_capabilities_follow_needs(name: str, frame: FramePeople) -> None:
    model = load_pose_model(name)
    kp = frame.keypoints_px[:1]
    if model.needs != "keypoints":
        with pytest.raises(ValueError, match=name):
            model.lift(kp, frame.valid[:1])
        return
    rel = model.lift(kp, frame.valid[:1], intrinsics=frame.intrinsics)
    assert rel.shape == (1, 17, 3)
    track = np.repeat(kp, 5, axis=0)  # a person standing still for 5 frames
    seq = model.lift_sequence(track, np.repeat(frame.valid[:1], 5, axis=0),
                              intrinsics=frame.intrinsics)
    assert seq.shape == (5, 17, 3)
    # A static track lifts, at a window's centre (frame 0 is one), like the static window the
    # single-frame path uses.
    np.testing.assert_allclose(seq[0], rel[0], atol=1e-3)


def test_lifters_place_people_with_the_one_placement(frame: FramePeople) -> None:
    solved = load_pose_model("mpm-lift-t1", body_size="lifter", placement="solve").predict(frame)
    for k in range(len(solved)):
        want, method = place_in_camera(solved.keypoints_2d_px[k], solved.pose_3d_rel_mm[k],
                                       solved.keypoints_valid[k], frame.intrinsics,
                                       frame.image_size_wh)
        np.testing.assert_array_equal(solved.pose_3d_abs_mm[k], want)
        assert solved.root_method[k] == method
    # The default fits the same lifted people to their rays, as place_poses does.
    fitted = load_pose_model("mpm-lift-t1", body_size="lifter").predict(frame)
    abs_mm, rel_mm, methods = place_poses(frame.keypoints_px, solved.pose_3d_rel_mm,
                                          frame.valid, frame.intrinsics, frame.image_size_wh)
    np.testing.assert_array_equal(fitted.pose_3d_abs_mm, abs_mm)
    np.testing.assert_array_equal(fitted.pose_3d_rel_mm, rel_mm)
    assert fitted.root_method == methods
    assert not np.allclose(fitted.pose_3d_rel_mm, solved.pose_3d_rel_mm, atol=0.1)


def test_body_size_option_rescales_lifted_people(frame: FramePeople) -> None:
    own = load_pose_model("mpm-lift-t1", body_size="lifter").predict(frame)
    sized = load_pose_model("mpm-lift-t1", body_size="world_landmarks").predict(frame)
    ratio = np.linalg.norm(sized.pose_3d_rel_mm, axis=-1).sum() / np.linalg.norm(
        own.pose_3d_rel_mm, axis=-1).sum()
    assert ratio != pytest.approx(1.0, abs=1e-6)
    # Same direction of every joint: only the size changed.
    np.testing.assert_allclose(sized.pose_3d_rel_mm[:, 1:] / ratio, own.pose_3d_rel_mm[:, 1:],
                               atol=0.25 * np.abs(own.pose_3d_rel_mm).max())


def test_an_empty_frame_gives_nobody() -> None:
    model = load_pose_model("baseline-t1")
    empty = FramePeople(None, [], np.array([1000.0, 1000, 320, 240]), None,
                        np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros((0, 17), bool))
    out = model.predict(empty)
    assert isinstance(out, PeoplePoses) and len(out) == 0
    assert out.pose_3d_abs_mm.shape == (0, 17, 3)


def test_place_in_camera_matches_the_plain_solve_when_all_joints_are_usable() -> None:
    rng = np.random.default_rng(1)
    rel = rng.normal(0, 250, (17, 3))
    rel[0] = 0
    intr = np.array([1000.0, 1000.0, 320.0, 240.0])
    pose = rel + [100.0, -50.0, 4000.0]
    kp = pose[:, :2] / pose[:, 2:] * 1000.0 + intr[2:]
    got, method = place_in_camera(kp, rel, np.ones(17, bool), intr, (640, 480))
    np.testing.assert_array_equal(got, reconstruct_absolute(kp, rel, intr))
    assert method == "perspective"


def test_unknown_module_family_is_refused() -> None:
    import torch

    with pytest.raises(ValueError, match="family"):
        pose_model_from_module(torch.nn.Linear(2, 2))
