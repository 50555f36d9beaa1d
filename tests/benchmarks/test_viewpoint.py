"""The viewpoint benchmark's cameras: heading and look-down angle as named."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_viewpoint import camera_rotations, rotation_angles_deg, size_mm

UP_WORLD = np.array([0.0, 0.0, 1.0])


def test_level_camera_sees_world_up_as_image_up() -> None:
    rot = camera_rotations(np.array([0.0, 1.0, 2.5]), 0.0)
    np.testing.assert_allclose(rot @ rot.transpose(0, 2, 1), np.broadcast_to(np.eye(3), rot.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0)
    np.testing.assert_allclose(rot @ UP_WORLD, np.tile([0.0, -1.0, 0.0], (3, 1)), atol=1e-12)


def test_a_camera_looking_down_sees_up_tilted_towards_it() -> None:
    rot = camera_rotations(np.zeros(1), 30.0)[0]
    # world up: image up (-y) by the angle's cosine, towards the camera (-z) by its sine: the
    # head is nearer than the feet
    np.testing.assert_allclose(rot @ UP_WORLD,
                               [0.0, -np.cos(np.radians(30)), -np.sin(np.radians(30))], atol=1e-12)
    # a point level with the pelvis, straight ahead, is above the axis of a camera looking down
    ahead = rot @ np.array([0.0, 1.0, 0.0])
    assert ahead[1] < 0 and ahead[2] > 0


def test_rotation_angle_and_size_of_a_turned_scaled_pose() -> None:
    rng = np.random.default_rng(0)
    pose = rng.normal(0.0, 300.0, (2, 17, 3))
    level = camera_rotations(np.zeros(1), 0.0)[0]
    turn = camera_rotations(np.array([np.radians(20.0)]), 0.0)[0] @ level.T  # 20° about vertical
    np.testing.assert_allclose(rotation_angles_deg(pose @ turn.T, pose), [20.0, 20.0], atol=1e-6)
    np.testing.assert_allclose(rotation_angles_deg(pose, pose), [0.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(size_mm(1.1 * pose) / size_mm(pose), [1.1, 1.1])
