"""World frame from people: up from upright bodies and from the feet, the floor's height."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.world_up import ANKLE_HEIGHT_MM, estimate_world_frame, up_from_bodies

# A standing person in a y-up world (mm): pelvis at 950 mm, ankles at ANKLE_HEIGHT_MM.
_STANDING_Y_UP = np.array([
    [0, 950, 0], [-130, 950, 0], [-130, 500, 0], [-130, ANKLE_HEIGHT_MM, 0],
    [130, 950, 0], [130, 500, 0], [130, ANKLE_HEIGHT_MM, 0], [0, 1200, 0], [0, 1450, 0],
    [0, 1550, 50], [0, 1700, 0], [180, 1430, 0], [200, 1150, 0], [210, 900, 0],
    [-180, 1430, 0], [-200, 1150, 0], [-210, 900, 0]], dtype=float)


def _camera(pitch_deg: float, height_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """World (y up) → camera (y down) for a camera ``height_mm`` above the floor looking along
    world -z... pitched down by ``pitch_deg``."""
    flip = np.diag([1.0, -1.0, -1.0])  # y up/z back (world) → y down/z forward (camera)
    a = np.radians(pitch_deg)
    pitch = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rotation = pitch @ flip
    return rotation, -rotation @ np.array([0.0, height_mm, 0.0])


def _scene(pitch_deg: float, height_mm: float, places_mm: list[tuple[float, float]],
           lean_deg: float = 0.0) -> np.ndarray:
    rotation, t = _camera(pitch_deg, height_mm)
    a = np.radians(lean_deg)
    lean = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    poses = []
    for x, z in places_mm:
        world = _STANDING_Y_UP @ lean.T + np.array([x, 0.0, -z])
        poses.append(world @ rotation.T + t)
    return np.stack(poses)


@pytest.mark.parametrize("pitch_deg", [0.0, 15.0, 35.0])
def test_walkers_seen_from_a_pitched_camera_stand_upright_on_the_floor(pitch_deg: float) -> None:
    places = [(x, z) for x in (-1500, 0, 1200) for z in (4000, 6000, 9000)]
    poses = _scene(pitch_deg, 3000.0, places)
    frame = estimate_world_frame(poses)
    assert frame.up_source == "floor" and frame.floor_source == "feet"
    assert frame.tilt_deg == pytest.approx(pitch_deg, abs=0.5)
    assert frame.camera_height_mm == pytest.approx(3000.0, abs=5.0)
    world = frame.to_world(poses)
    assert np.abs(world[:, [3, 6], 1]).max() < ANKLE_HEIGHT_MM + 5  # feet on the floor
    head_over_pelvis = world[:, 10] - world[:, 0]
    assert np.allclose(head_over_pelvis[:, [0, 2]], 0.0, atol=20.0)  # upright


def test_one_person_gives_up_from_the_body_and_the_floor_below_the_feet() -> None:
    poses = _scene(20.0, 2500.0, [(0, 5000)])
    frame = estimate_world_frame(poses)
    assert frame.up_source == "bodies"  # one foot point cannot span a plane
    assert frame.tilt_deg == pytest.approx(20.0, abs=1.0)
    assert frame.camera_height_mm == pytest.approx(2500.0, abs=30.0)


def test_bending_people_do_not_tip_the_estimate() -> None:
    upright = _scene(10.0, 1600.0, [(x, 5000) for x in (-2000, -1000, 0, 1000, 2000)])
    bent = _scene(10.0, 1600.0, [(500, 7000)], lean_deg=70.0)
    up = up_from_bodies(np.concatenate([upright, bent]))
    assert up is not None
    frame = estimate_world_frame(np.concatenate([upright, bent]))
    assert frame.tilt_deg == pytest.approx(10.0, abs=1.5)


def test_a_given_up_is_kept_and_only_the_floor_is_found() -> None:
    poses = _scene(0.0, 1800.0, [(0, 4000), (800, 6000)])
    frame = estimate_world_frame(poses, up_cam=np.array([0.0, -2.0, 0.0]))
    assert frame.up_source == "given" and np.allclose(frame.up_cam, [0, -1, 0])
    assert frame.camera_height_mm == pytest.approx(1800.0, abs=5.0)


def test_nobody_means_a_level_camera_and_bad_input_is_refused() -> None:
    frame = estimate_world_frame(np.full((2, 17, 3), np.nan))
    assert (frame.up_source, frame.floor_source, frame.num_poses) == ("camera", "none", 0)
    assert np.allclose(frame.R_world_from_cam @ np.array([0, -1.0, 0]), [0, 1, 0])
    with pytest.raises(ValueError, match="poses_abs_mm"):
        estimate_world_frame(np.zeros((17, 3)))
    with pytest.raises(ValueError, match="world-up"):
        estimate_world_frame(np.zeros((1, 17, 3)), up_cam=np.zeros(3))


def test_world_frame_is_a_proper_rotation() -> None:
    frame = estimate_world_frame(_scene(30.0, 2000.0, [(0, 3000), (1000, 5000), (-900, 8000)]))
    r = frame.R_world_from_cam
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.linalg.det(r) == pytest.approx(1.0)
    assert set(frame.to_json()) >= {"up_camera", "camera_height_mm", "R_world_from_camera"}
