"""Real-photo posture cues of the media check (benchmarks/realphoto_metrics.py); the scores' own
helpers are tested in tests/eval/test_photo_scores.py."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.realphoto_metrics import posture
from tests.eval.test_photo_scores import STANDING_MM, _rot


def _seated() -> np.ndarray:
    """The standing pose with thighs pointing at the camera and shins hanging down."""
    p = STANDING_MM.copy()
    for knee, ankle in ((2, 3), (5, 6)):
        p[knee] = [p[knee, 0], 0, -450]
        p[ankle] = [p[ankle, 0], 450, -450]
    return p


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


def test_realgt_true_joints_refuses_unknown_joint_names(monkeypatch) -> None:
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_realgt import true_joints_method

    with pytest.raises(SystemExit, match="--true-joints: unknown h36m17 joints \\['kneee'\\]"):
        true_joints_method("mpm-lift-t1", [], ["l_knee", "kneee"])
