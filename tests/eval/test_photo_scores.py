"""Scoring answers on photos with 3D ground truth (monopose.eval.photo_scores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monopose.core.projection import project_points
from monopose.core.skeleton import H36M17
from monopose.eval.photo_scores import (
    PersonAnswer,
    bone_length_sum_mm,
    mean_scores,
    nearest_person,
    per_joint_table,
    rotation_angle_deg,
    score_person,
)
from monopose.eval.photo_truth import PhotoTruth

# A person standing upright facing the camera, camera axes (y down), pelvis at the origin, mm.
STANDING_MM = np.array([
    [0, 0, 0], [-100, 0, 0], [-100, 450, 0], [-100, 900, 0], [100, 0, 0], [100, 450, 0],
    [100, 900, 0], [0, -250, 0], [0, -500, 0], [0, -600, 0], [0, -750, 0], [170, -480, 0],
    [170, -200, 0], [170, 50, 0], [-170, -480, 0], [-170, -200, 0], [-170, 50, 0],
], dtype=np.float64)
INTRINSICS = (800.0, 800.0, 320.0, 240.0)


def _rot(axis: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rodrigues rotation matrix ``[3, 3]``."""
    k = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    a = np.radians(angle_deg)
    return np.eye(3) + np.sin(a) * kx + (1 - np.cos(a)) * kx @ kx


def _truth(offset_mm: tuple[float, float, float] = (0.0, 0.0, 4000.0), name: str = "p.jpg",
           label: str = "p") -> PhotoTruth:
    abs_mm = STANDING_MM + np.asarray(offset_mm)
    kp2d_px = project_points(abs_mm, np.asarray(INTRINSICS))
    return PhotoTruth(Path(name), abs_mm, kp2d_px, INTRINSICS, label)


def _turned(pose_mm: np.ndarray, deg: float) -> np.ndarray:
    return pose_mm @ _rot(np.array([0.0, 1.0, 0.0]), deg).T


def test_the_truth_itself_scores_zero_and_its_root_error_is_the_offset() -> None:
    t = _truth()
    s = score_person(PersonAnswer(t.rel_mm + 50.0, t.abs_mm + [0, 0, 100.0], t.kp2d_px), t)
    assert s["mpjpe_mm"] < 1e-9 and s["p_mpjpe_mm"] < 1e-6 and s["pck150_pct"] == 100.0
    assert abs(s["root_error_mm"] - 100.0) < 1e-9 and s["kp2d_error_px"] == 0.0
    assert abs(s["size_ratio"] - 1.0) < 1e-12 and s["rotation_deg"] < 1e-4
    assert s["gt_depth_mm"] == 4000.0


def test_a_turned_or_rootless_answer_is_scored_for_what_it_is() -> None:
    t = _truth()
    s = score_person(PersonAnswer(_turned(t.rel_mm, 30.0), None, None), t)
    assert abs(s["rotation_deg"] - 30.0) < 1e-3
    assert s["p_mpjpe_mm"] < 1e-6 < 40.0 < s["mpjpe_mm"]
    assert s["root_error_mm"] is None and s["kp2d_error_px"] is None
    small = score_person(PersonAnswer(0.8 * t.rel_mm, None, None), t)
    assert abs(small["size_ratio"] - 0.8) < 1e-12
    assert abs(bone_length_sum_mm(0.8 * t.rel_mm) - 0.8 * bone_length_sum_mm(t.rel_mm)) < 1e-9


def test_the_person_nearest_the_labelled_2d_is_the_one_scored() -> None:
    t = _truth()
    far = PersonAnswer(t.rel_mm, None, t.kp2d_px + 200.0)
    near = PersonAnswer(t.rel_mm, None, t.kp2d_px + 3.0)
    assert nearest_person([far, near], t) is near
    assert nearest_person([], t) is None


def test_means_count_the_photos_a_method_missed() -> None:
    t = _truth()
    rows = [{"method": "m", "photo": "a", **score_person(PersonAnswer(t.rel_mm * 1.1, None,
                                                                      None), t)},
            {"method": "m", "photo": "b"},
            {"method": "gone", "photo": "a"}]
    mean, gone = mean_scores(rows)
    assert (mean["found"], mean["photos"], mean["photo"]) == (1, 2, "mean of 1")
    assert mean["mpjpe_mm"] == rows[0]["mpjpe_mm"] and mean["root_error_mm"] is None
    assert (gone["found"], gone["photos"]) == (0, 1) and "mpjpe_mm" not in gone


def test_groups_get_their_own_means() -> None:
    from monopose.eval.photo_scores import group_means, group_table

    t = _truth()
    good = score_person(PersonAnswer(t.rel_mm, t.abs_mm, None), t)
    bad = score_person(PersonAnswer(1.2 * t.rel_mm, t.abs_mm + [0, 0, 300.0], None), t)
    rows = [{"method": "m", "photo": "a", "group": "Sitting", **good},
            {"method": "m", "photo": "b", "group": "Sitting", **bad},
            {"method": "m", "photo": "c", "group": "On The Floor"},
            {"method": "m", "photo": "d"}]
    sitting, floor = group_means(rows)
    assert (sitting["group"], sitting["found"], sitting["photos"]) == ("Sitting", 2, 2)
    assert abs(sitting["mpjpe_mm"] - bad["mpjpe_mm"] / 2) < 1e-9
    assert abs(sitting["root_error_mm"] - 150.0) < 1e-9
    assert (floor["group"], floor["found"], floor["photos"]) == ("On The Floor", 0, 1)
    table = group_table([sitting, floor])
    assert "| Sitting | " in table and "(2 of 2)" in table and "| On The Floor | - |" in table


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


def test_per_joint_table_lists_every_joint_and_method() -> None:
    errors = {"a": np.arange(17.0), "b": np.full(17, np.nan)}
    table = per_joint_table(errors).splitlines()
    assert table[0] == "| joint | a | b |"
    assert len(table) == 2 + 17
    assert table[2 + 10] == f"| {H36M17.joint_names[10]} | 10 | - |"
    assert table[-1].startswith("| r_wrist | 16 |")


def test_an_error_estimate_is_scored_by_how_often_it_held() -> None:
    truth = _truth()
    rel = truth.rel_mm.copy()
    rel[[3, 6], 2] += 200.0  # both ankles 200 mm off, every other joint exact
    abs_mm = rel + truth.abs_mm[0] + [0.0, 0.0, 300.0]  # the root 300 mm too far
    median = np.full(17, 50.0)
    median[3] = 250.0  # the right ankle's estimate covers its error, the left one's does not
    errors = {"joint_median_mm": median, "joint_p90_mm": np.full(17, 150.0),
              "root_median_mm": 100.0, "root_p90_mm": 400.0}
    row = score_person(PersonAnswer(rel, abs_mm, truth.kp2d_px, errors), truth)
    assert row["under_median_pct"] == pytest.approx(100 * 15 / 16)
    assert row["under_p90_pct"] == pytest.approx(100 * 14 / 16)
    assert row["root_under_p90_pct"] == 100.0
    plain = score_person(PersonAnswer(rel, abs_mm, truth.kp2d_px), truth)
    assert "under_median_pct" not in plain
    means = mean_scores([{"method": "a", "photo": "1", **row},
                         {"method": "b", "photo": "1", **plain}])
    assert means[0]["under_p90_pct"] == pytest.approx(100 * 14 / 16)
    assert means[1]["under_p90_pct"] is None
