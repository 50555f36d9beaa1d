"""Real-photo metric helpers: rotation angle, skeleton size, posture cues, per-joint table."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.realphoto_metrics import (
    bone_length_sum_mm,
    per_joint_table,
    posture,
    rotation_angle_deg,
)
from monopose.core.skeleton import H36M17

# A person standing upright facing the camera, camera axes (y down), pelvis at the origin, mm.
STANDING_MM = np.array([
    [0, 0, 0], [-100, 0, 0], [-100, 450, 0], [-100, 900, 0], [100, 0, 0], [100, 450, 0],
    [100, 900, 0], [0, -250, 0], [0, -500, 0], [0, -600, 0], [0, -750, 0], [170, -480, 0],
    [170, -200, 0], [170, 50, 0], [-170, -480, 0], [-170, -200, 0], [-170, 50, 0],
], dtype=np.float64)


def _seated() -> np.ndarray:
    """The standing pose with thighs pointing at the camera and shins hanging down."""
    p = STANDING_MM.copy()
    for knee, ankle in ((2, 3), (5, 6)):
        p[knee] = [p[knee, 0], 0, -450]
        p[ankle] = [p[ankle, 0], 450, -450]
    return p


def _rot(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rodrigues rotation matrix ``[3, 3]``."""
    k = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.radians(angle_deg)
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


@pytest.mark.parametrize("axis", [(0, 1, 0), (1, 0, 0), (1, 2, -0.5)])
def test_rotation_angle_recovers_known_turn(axis: tuple[float, float, float]) -> None:
    turned = STANDING_MM @ _rot(np.array(axis), 25.0).T + np.array([30.0, -40.0, 3000.0])
    assert rotation_angle_deg(turned, STANDING_MM) == pytest.approx(25.0, abs=0.1)
    assert rotation_angle_deg(STANDING_MM, turned) == pytest.approx(25.0, abs=0.1)


def test_rotation_angle_zero_for_scaled_copy_and_large_for_upside_down() -> None:
    assert rotation_angle_deg(1.3 * STANDING_MM, STANDING_MM) == pytest.approx(0.0, abs=1e-3)
    flipped = STANDING_MM @ _rot(np.array([0, 0, 1.0]), 180.0).T
    assert rotation_angle_deg(flipped, STANDING_MM) == pytest.approx(180.0, abs=0.1)


def test_bone_length_sum_counts_each_bone_and_ignores_rigid_motion() -> None:
    # legs 2 × (100 + 450 + 450), trunk 250 + 250 + 100 + 150, arms 2 × (170+20 hyp + 280 + 250)
    shoulder = float(np.hypot(170, 20))
    expected = 2 * 1000 + 750 + 2 * (shoulder + 280 + 250)
    assert bone_length_sum_mm(STANDING_MM) == pytest.approx(expected)
    moved = STANDING_MM @ _rot(np.array([1, 1, 0.0]), 40.0).T + 500.0
    assert bone_length_sum_mm(moved) == pytest.approx(expected)
    assert bone_length_sum_mm(0.5 * STANDING_MM) == pytest.approx(0.5 * expected)


def test_posture_of_standing_person() -> None:
    s = posture(STANDING_MM)
    assert s["lean_deg"] == pytest.approx(0.0, abs=1e-6)
    assert s["head_ankle_up_mm"] == pytest.approx(1650.0)
    assert s["head_ankle_3d_mm"] == pytest.approx(1650.0)
    assert s["knee_r_deg"] == pytest.approx(180.0) and s["hip_l_deg"] == pytest.approx(180.0)
    assert s["thigh_from_vertical_deg"] == pytest.approx(0.0, abs=1e-6)
    assert s["seated"] is False


def test_posture_lean_follows_a_forward_tilt() -> None:
    # Tilt the whole person 12° about the camera's x axis (towards or away from the camera).
    tilted = STANDING_MM @ _rot(np.array([1.0, 0, 0]), 12.0).T
    s = posture(tilted)
    assert s["lean_deg"] == pytest.approx(12.0, abs=1e-6)
    assert s["lean_side_deg"] == pytest.approx(0.0, abs=1e-6)
    assert abs(s["lean_toward_camera_deg"]) == pytest.approx(12.0, abs=1e-6)
    top_toward_camera = tilted[8, 2] < 0
    assert (s["lean_toward_camera_deg"] > 0) == top_toward_camera
    sideways = posture(STANDING_MM @ _rot(np.array([0, 0, 1.0]), 7.0).T)
    assert abs(sideways["lean_side_deg"]) == pytest.approx(7.0, abs=1e-6)
    assert sideways["lean_toward_camera_deg"] == pytest.approx(0.0, abs=1e-6)
    assert s["head_ankle_up_mm"] == pytest.approx(1650.0 * np.cos(np.radians(12.0)))
    assert s["seated"] is False


def test_posture_of_seated_person() -> None:
    s = posture(_seated())
    assert s["knee_r_deg"] == pytest.approx(90.0) and s["hip_r_deg"] == pytest.approx(90.0)
    assert s["thigh_from_vertical_deg"] == pytest.approx(90.0)
    assert s["seated"] is True


def test_per_joint_table_lists_every_joint_and_method() -> None:
    errors = {"a": np.arange(17.0), "b": np.full(17, np.nan)}
    table = per_joint_table(errors).splitlines()
    assert table[0] == "| joint | a | b |"
    assert len(table) == 2 + 17
    assert table[2 + 10] == f"| {H36M17.joint_names[10]} | 10 | - |"
    assert table[-1].startswith("| r_wrist | 16 |")


def test_realgt_true_joints_refuses_unknown_joint_names(monkeypatch) -> None:
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_realgt import true_joints_method

    with pytest.raises(SystemExit, match="--true-joints: unknown h36m17 joints \\['kneee'\\]"):
        true_joints_method("mpm-lift-t1", [], ["l_knee", "kneee"])
