"""World frame from people: up from upright bodies and from the feet, the floor's height."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.world_up import (
    ANKLE_HEIGHT_MM,
    CAMERA_PITCH_SIGMA_DEG,
    OTHER_UP_SIGMA_DEG,
    STANDING_UP_SIGMA_DEG,
    body_up_evidence,
    estimate_world_frame,
    standing,
    up_from_bodies,
)

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


def test_one_standing_person_moves_up_most_of_the_way_from_a_level_camera() -> None:
    poses = _scene(20.0, 2500.0, [(0, 5000)])
    frame = estimate_world_frame(poses)
    assert frame.up_source == "bodies"  # one foot point cannot span a plane
    # one standing body against the level-camera prior: precision-weighted pitch
    share = CAMERA_PITCH_SIGMA_DEG ** 2 / (CAMERA_PITCH_SIGMA_DEG ** 2
                                           + STANDING_UP_SIGMA_DEG[1] ** 2)
    assert 12.0 < frame.tilt_deg < 20.0
    assert frame.tilt_deg == pytest.approx(20.0 * share, abs=0.3)
    ankles_up = frame.to_world(poses)[0, [3, 6], 1]
    assert ankles_up.min() == pytest.approx(ANKLE_HEIGHT_MM, abs=1.0)  # the floor below the feet
    assert ankles_up.max() < ANKLE_HEIGHT_MM + 30.0


def _floor_sitter_y_up(lean_back_deg: float) -> np.ndarray:
    """A person sitting on the floor, legs stretched forward (+z), trunk leaning back."""
    a = np.radians(lean_back_deg)
    trunk = np.array([0.0, np.cos(a), -np.sin(a)])
    pose = np.zeros((17, 3))
    pose[0] = [0, 120, 0]
    for i, x in ((1, -130), (4, 130)):
        pose[i] = [x, 120, 0]
        pose[i + 1] = [x, 130, 450]  # knee
        pose[i + 2] = [x, 90, 880]  # ankle
    pose[7] = pose[0] + 250 * trunk
    pose[8] = pose[0] + 500 * trunk
    pose[9] = pose[0] + 620 * trunk + [0, 0, 50]
    pose[10] = pose[0] + 750 * trunk
    for i, x in ((11, 180), (14, -180)):
        pose[i] = pose[8] + [x, -20, 0]
        pose[i + 1] = pose[i] + [20, -250, 100]
        pose[i + 2] = pose[i + 1] + [10, -120, 200]
    return pose


def test_a_lone_floor_sitter_leaves_the_camera_near_level() -> None:
    rotation, t = _camera(0.0, 1500.0)
    sitter = (_floor_sitter_y_up(25.0) + [0.0, 0.0, -4000.0]) @ rotation.T + t
    assert not standing(sitter[None])[0]
    assert standing(_scene(0.0, 1500.0, [(0, 4000)]))[0]
    frame = estimate_world_frame(sitter[None])
    # the legs point forward and the trunk leans back 25°: only the trunk is evidence, and a
    # weak one against a level camera (pitch only: the lean is towards the camera's back)
    share = CAMERA_PITCH_SIGMA_DEG ** 2 / (CAMERA_PITCH_SIGMA_DEG ** 2
                                           + OTHER_UP_SIGMA_DEG[1] ** 2)
    assert frame.tilt_deg == pytest.approx(25.0 * share, abs=0.3)
    assert frame.tilt_deg < 10.0
    directions, sigma = body_up_evidence(sitter[None])
    assert tuple(sigma[0]) == OTHER_UP_SIGMA_DEG and directions.shape == (1, 3)


def test_the_frames_of_one_person_count_as_one_person() -> None:
    rotation, t = _camera(0.0, 1500.0)
    sitter = (_floor_sitter_y_up(25.0) + [0.0, 0.0, -4000.0]) @ rotation.T + t
    frames = np.repeat(sitter[None], 50, axis=0)  # a video of one still floor sitter
    one_track = estimate_world_frame(frames, person_ids=np.zeros(50, dtype=int))
    assert one_track.tilt_deg == pytest.approx(estimate_world_frame(sitter[None]).tilt_deg,
                                               abs=1e-6)
    # fifty different people leaning back alike outweigh the prior
    assert estimate_world_frame(frames).tilt_deg > 15.0


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


def test_a_lying_person_says_nothing_and_a_row_of_walkers_outweighs_the_prior() -> None:
    # lying on the floor: trunk and legs flat, 90° from up, so the camera is taken as level
    lying = _scene(0.0, 1500.0, [(0, 4000)], lean_deg=90.0)
    assert estimate_world_frame(lying).tilt_deg < 1.0
    # a row of standing people seen from 35° above: no floor plane (one line of feet), but
    # six bodies weigh 6 / 5² against the prior's 1 / 10² in pitch
    row = _scene(35.0, 5000.0, [(x, 8000) for x in (-2500, -1500, -500, 500, 1500, 2500)])
    frame = estimate_world_frame(row)
    assert frame.up_source == "bodies"
    share = 6 / STANDING_UP_SIGMA_DEG[1] ** 2 / (6 / STANDING_UP_SIGMA_DEG[1] ** 2
                                                 + CAMERA_PITCH_SIGMA_DEG ** -2)
    assert frame.tilt_deg == pytest.approx(35.0 * share, abs=0.5)
    assert frame.tilt_deg > 33.0
