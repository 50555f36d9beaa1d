"""Scoring answers on photos with 3D ground truth (monopose.eval.photo_scores)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from monopose.eval.photo_scores import (
    PersonAnswer,
    bone_length_sum_mm,
    mean_scores,
    nearest_person,
    score_person,
)
from monopose.eval.photo_truth import PhotoTruth, project_mm_to_px

# A person standing upright facing the camera, camera axes (y down), pelvis at the origin, mm.
STANDING_MM = np.array([
    [0, 0, 0], [-100, 0, 0], [-100, 450, 0], [-100, 900, 0], [100, 0, 0], [100, 450, 0],
    [100, 900, 0], [0, -250, 0], [0, -500, 0], [0, -600, 0], [0, -750, 0], [170, -480, 0],
    [170, -200, 0], [170, 50, 0], [-170, -480, 0], [-170, -200, 0], [-170, 50, 0],
], dtype=np.float64)
INTRINSICS = (800.0, 800.0, 320.0, 240.0)


def _truth(offset_mm: tuple[float, float, float] = (0.0, 0.0, 4000.0), name: str = "p.jpg",
           label: str = "p") -> PhotoTruth:
    abs_mm = STANDING_MM + np.asarray(offset_mm)
    return PhotoTruth(Path(name), abs_mm, project_mm_to_px(abs_mm, INTRINSICS), INTRINSICS,
                      label)


def _turned(pose_mm: np.ndarray, deg: float) -> np.ndarray:
    a = np.radians(deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return pose_mm @ rot.T


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
