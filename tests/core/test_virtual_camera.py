"""Perspective-aware lifting: the virtual camera turned towards the person."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monopose.core.normalize import normalize_keypoints
from monopose.core.virtual_camera import (
    from_virtual_camera,
    look_at_rotations,
    to_virtual_camera,
    turn_keypoints,
)

K = np.array([800.0, 780.0, 640.0, 360.0])


def _project(points_mm: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    return points_mm[..., :2] / points_mm[..., 2:] * intrinsics[:2] + intrinsics[2:]


def _person(offset_mm: tuple[float, float, float], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pose = rng.normal(0, 250, (17, 3))
    return pose + np.asarray(offset_mm)


@settings(max_examples=50, deadline=None)
@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.05, 3))
def test_look_at_is_a_rotation_onto_the_optical_axis(x: float, y: float, z: float) -> None:
    ray = np.array([x, y, z])
    rot = look_at_rotations(ray)
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-9)
    assert abs(np.linalg.det(rot) - 1) < 1e-9
    turned = rot @ (ray / np.linalg.norm(ray))
    np.testing.assert_allclose(turned, [0, 0, 1], atol=1e-9)


def test_virtual_2d_is_the_projection_of_the_turned_pose_and_3d_comes_back() -> None:
    pose = _person((2500.0, -800.0, 4000.0))  # right edge of a wide photo, above the axis
    kp = _project(pose, K)
    kv, rot = to_virtual_camera(kp[None, None], None, K[None])
    turned = pose @ rot[0].T
    np.testing.assert_allclose(kv[0, 0], turned[:, :2] / turned[:, 2:], atol=1e-9)
    np.testing.assert_allclose(from_virtual_camera(turned[None, None], rot)[0, 0], pose,
                               atol=1e-6)
    np.testing.assert_allclose(turn_keypoints(kp[None, None], K[None], rot), kv, atol=1e-12)
    # The person is now straight ahead: the box of the 2D is centred on the axis.
    centre = (kv[0, 0].min(0) + kv[0, 0].max(0)) / 2
    assert np.abs(centre).max() < 0.03 * np.ptp(kv[0, 0], axis=0).max()


def test_the_same_body_seen_at_the_centre_and_at_the_edge_looks_the_same() -> None:
    centred = _person((0.0, 0.0, 4000.0))
    centred -= np.r_[(centred[:, :2].min(0) + centred[:, :2].max(0)) / 2, 0]  # box on the axis
    # Turn the whole body about the camera centre so that it stands at the photo's edge.
    to_edge = look_at_rotations(np.array([0.7, 0.3, 1.0])).T
    at_edge = centred @ to_edge.T
    kv_c, _ = to_virtual_camera(_project(centred, K)[None, None], None, K[None])
    kv_e, _ = to_virtual_camera(_project(at_edge, K)[None, None], None, K[None])
    # What a lifter sees: each window centred and scaled.
    virtual_c, _, _ = normalize_keypoints(kv_c[0])
    virtual_e, _, _ = normalize_keypoints(kv_e[0])
    plain_c, _, _ = normalize_keypoints(_project(centred, K)[None])
    plain_e, _, _ = normalize_keypoints(_project(at_edge, K)[None])
    assert np.abs(virtual_c - virtual_e).max() < 0.01
    assert np.abs(plain_c - plain_e).max() > 0.1


def test_training_targets_are_seen_by_the_same_virtual_camera() -> None:
    from monopose.lifting.batches import batch_to_tensors

    pose = _person((1800.0, 500.0, 3500.0), seed=3)
    kp = _project(pose, K)
    batch = dataclasses.make_dataclass("B", ["keypoints_2d_px", "keypoints_2d_gt_px", "valid_2d",
                                             "pose_3d_cam_mm", "intrinsics"])(
        kp[None, None], kp[None, None], np.ones((1, 1, 17), bool), pose[None, None], K[None])
    image = batch_to_tensors(batch)
    virtual = batch_to_tensors(batch, input_frame="virtual_camera")
    _, rot = to_virtual_camera(kp[None, None], None, K[None])
    target = (pose - pose[0]) @ rot[0].T / 1000
    np.testing.assert_allclose(virtual["pose3d"][0, 0].numpy(), target, atol=1e-5)
    np.testing.assert_allclose(image["pose3d"][0, 0].numpy(), (pose - pose[0]) / 1000,
                               atol=1e-5)
    assert not torch.allclose(image["kp2d"], virtual["kp2d"], atol=1e-3)


class _ConstantLifter(torch.nn.Module):
    """Returns one fixed pose (metres) whatever it sees."""

    num_joints = 17

    def __init__(self, pose_m: np.ndarray) -> None:
        super().__init__()
        self.pose = torch.as_tensor(pose_m, dtype=torch.float32)

    def forward(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return self.pose.expand(*x.shape[:-1], 3).clone()


def test_a_virtual_camera_lifter_rotates_its_3d_back_to_the_camera() -> None:
    from monopose.lifting.lifter import Lifter
    from monopose.zoo import get_card

    pose_m = np.zeros((17, 3))
    pose_m[10] = [0.0, -0.5, 0.0]  # head top straight up in the virtual camera
    card = dataclasses.replace(get_card("mpm-lift-t1"), input_frame="virtual_camera")
    lifter = Lifter.from_module(_ConstantLifter(pose_m), card, flip=False)
    kp = _project(_person((2500.0, -1500.0, 3000.0)), K)
    out = lifter.lift(kp[None], intrinsics=K)
    _, rot = to_virtual_camera(kp[None, None], None, K[None])
    np.testing.assert_allclose(out[0], 1000 * pose_m @ rot[0], atol=1e-3)
    assert abs(out[0, 10, 2]) > 50.0  # turned: no longer straight up in the camera
    np.testing.assert_allclose(lifter.lift(kp[None])[0], 1000 * pose_m, atol=1e-3)
