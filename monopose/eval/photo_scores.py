"""Scoring one method's answer on photos with 3D ground truth, and the tables of the scores.

Every pose here is h36m17, ``[17, 3]`` mm in camera axes (x right, y down, z forward). A score
row is a plain dict (JSON as it is): ``method``, ``photo`` and, when a person was found,
``mpjpe_mm``, ``p_mpjpe_mm``, ``pck150_pct`` (%), ``per_joint_mm``, ``root_error_mm`` (None for
methods without a camera-space root), ``rotation_deg``, ``bone_sum_pred_mm``/``bone_sum_true_mm``,
``size_ratio``, ``kp2d_error_px`` and ``gt_depth_mm``; for answers with an error estimate
(``monopose.lifting.joint_errors``) also how often it held: ``under_median_pct`` and
``under_p90_pct`` (% of the 16 joints besides the root whose error is under the estimated
median / 90 % bound) and ``root_under_p90_pct`` (100 or 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monopose.core.geometry import procrustes_align
from monopose.core.skeleton import H36M17
from monopose.eval.metrics import PCK_THRESHOLD_MM, joint_errors, mpjpe, p_mpjpe, pck
from monopose.eval.photo_truth import PhotoTruth

__all__ = ["PersonAnswer", "MEAN_KEYS", "nearest_person", "score_person", "mean_scores",
           "rotation_angle_deg", "bone_length_sum_mm", "scores_table", "per_joint_table",
           "number_cell", "group_means", "group_table"]

# The numbers a mean row averages (a None among them makes the mean None).
MEAN_KEYS = ("mpjpe_mm", "p_mpjpe_mm", "pck150_pct", "root_error_mm", "rotation_deg",
             "bone_sum_pred_mm", "bone_sum_true_mm", "size_ratio", "kp2d_error_px",
             "under_median_pct", "under_p90_pct", "root_under_p90_pct")


@dataclass
class PersonAnswer:
    """A method's answer for one person: ``rel_mm [17, 3]`` (pelvis at 0), ``abs_mm [17, 3]``
    camera space or None when the method has no root, ``kp2d_px [17, 2]`` or None, and its
    error estimate (``PersonResult.errors``) or None."""

    rel_mm: np.ndarray
    abs_mm: np.ndarray | None
    kp2d_px: np.ndarray | None
    errors: Mapping[str, np.ndarray] | None = None


def rotation_angle_deg(pred_mm: np.ndarray, gt_mm: np.ndarray) -> float:
    """Angle (degrees) of the rotation that best aligns ``pred`` to ``gt``.

    The rotation of the rigid Procrustes fit (no scale, translation fitted), so a prediction
    that is right up to a global turn scores that turn. Shapes: ``[J, 3]`` each.
    """
    _, tf = procrustes_align(pred_mm, gt_mm, scale=False, return_transform=True)
    cos = (np.trace(tf.rotation) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def bone_length_sum_mm(pose_mm: np.ndarray) -> float:
    """Sum of the 16 h36m17 bone lengths (mm) of a ``[17, 3]`` pose: a size that ignores
    posture."""
    p = np.asarray(pose_mm, dtype=np.float64)
    child, parent = np.asarray(H36M17.bones).T
    return float(np.linalg.norm(p[child] - p[parent], axis=-1).sum())


def nearest_person(people: Sequence[PersonAnswer], truth: PhotoTruth) -> PersonAnswer | None:
    """The person whose 2D lies nearest the truth's (the first one if no 2D is known)."""
    if not people:
        return None
    return min(people, key=lambda p: np.inf if p.kp2d_px is None else float(
        np.linalg.norm(p.kp2d_px - truth.kp2d_px, axis=1).mean()))


def score_person(person: PersonAnswer, truth: PhotoTruth) -> dict:
    """Every number of one answer against one truth (mm, degrees, px): the module docstring's
    keys without ``method`` and ``photo``."""
    rel_gt = truth.rel_mm
    rel = np.asarray(person.rel_mm, dtype=np.float64)
    rel = rel - rel[0]
    size_pred, size_true = bone_length_sum_mm(rel), bone_length_sum_mm(rel_gt)
    return {
        "mpjpe_mm": mpjpe(rel, rel_gt),
        "p_mpjpe_mm": p_mpjpe(rel, rel_gt),
        "pck150_pct": pck(rel, rel_gt, threshold_mm=PCK_THRESHOLD_MM),
        "per_joint_mm": joint_errors(rel, rel_gt).tolist(),
        "root_error_mm": None if person.abs_mm is None
        else float(np.linalg.norm(np.asarray(person.abs_mm)[0] - truth.abs_mm[0])),
        "rotation_deg": rotation_angle_deg(rel, rel_gt),
        "bone_sum_pred_mm": size_pred,
        "bone_sum_true_mm": size_true,
        "size_ratio": size_pred / size_true,
        "kp2d_error_px": None if person.kp2d_px is None
        else float(np.linalg.norm(person.kp2d_px - truth.kp2d_px, axis=1).mean()),
        "gt_depth_mm": float(truth.abs_mm[0, 2]),
        **_estimate_held(person, joint_errors(rel, rel_gt), truth),
    }


def _estimate_held(person: PersonAnswer, per_joint_mm: np.ndarray, truth: PhotoTruth
                   ) -> dict[str, float | None]:
    """How often ``person``'s error estimate held (module docstring); {} without one."""
    if person.errors is None:
        return {}
    median = np.asarray(person.errors["joint_median_mm"], dtype=np.float64)[1:]
    p90 = np.asarray(person.errors["joint_p90_mm"], dtype=np.float64)[1:]
    out: dict[str, float | None] = {
        "under_median_pct": 100.0 * float(np.mean(per_joint_mm[1:] <= median)),
        "under_p90_pct": 100.0 * float(np.mean(per_joint_mm[1:] <= p90)),
        "root_under_p90_pct": None}
    root_p90 = float(person.errors["root_p90_mm"])
    if person.abs_mm is not None and np.isfinite(root_p90):
        root = float(np.linalg.norm(np.asarray(person.abs_mm)[0] - truth.abs_mm[0]))
        out["root_under_p90_pct"] = 100.0 * (root <= root_p90)
    return out


def mean_scores(rows: Sequence[Mapping]) -> list[dict]:
    """One mean row per method over the photos where it found the person.

    A mean row's ``photo`` says how many photos it averages, ``found`` / ``photos`` how many of
    the method's photos had the person found (a method is not made better by the photos it
    missed: the count shows them), and ``not_scored`` how many it could not run on.
    """
    out = []
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        scored = [r for r in mine if "mpjpe_mm" in r]
        counts = {"found": len(scored), "photos": len(mine),
                  "not_scored": sum("error" in r for r in mine)}
        if not scored:
            out.append({"method": method, "photo": "mean of 0", **counts})
            continue
        mean: dict = {"method": method, "photo": f"mean of {len(scored)}", **counts}
        for key in MEAN_KEYS:
            vals = [r.get(key) for r in scored]
            mean[key] = None if None in vals else float(np.mean(np.asarray(vals, float)))
        mean["per_joint_mm"] = np.mean([r["per_joint_mm"] for r in scored], axis=0).tolist()
        out.append(mean)
    return out


def group_means(rows: Sequence[Mapping]) -> list[dict]:
    """:func:`mean_scores` of each ``group`` (rows without one are left out), its ``photo``
    the group's name: one row per (group, method)."""
    out = []
    for group in dict.fromkeys(r.get("group") or "" for r in rows):
        if group:
            for mean in mean_scores([r for r in rows if r.get("group") == group]):
                out.append({**mean, "group": group})
    return out


def group_table(means: Sequence[Mapping]) -> str:
    """Markdown: one row per group, one column per method, ``MPJPE / P-MPJPE / root error``
    (mm) and how many of the group's photos the method found the person in."""
    methods = list(dict.fromkeys(m["method"] for m in means))
    groups = list(dict.fromkeys(m["group"] for m in means))
    cells = {(m["group"], m["method"]): m for m in means}
    lines = ["| group | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for g in groups:
        row = []
        for method in methods:
            m = cells.get((g, method))
            row.append("-" if m is None or "mpjpe_mm" not in m else
                       f"{number_cell(m['mpjpe_mm'])} / {number_cell(m['p_mpjpe_mm'])} / "
                       f"{number_cell(m['root_error_mm'])} ({m['found']} of {m['photos']})")
        lines.append(f"| {g} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def number_cell(x: float | None, digits: int = 0) -> str:
    """A table cell: ``none`` for None, ``nan`` for a non-finite number."""
    if x is None:
        return "none"
    return "nan" if not np.isfinite(x) else f"{x:.{digits}f}"


def scores_table(rows: Sequence[Mapping]) -> str:
    """Markdown table of score rows (and mean rows): MPJPE, P-MPJPE and PCK@150 root-relative,
    the root's error, the best rotation, the skeleton's size and the 2D error."""
    lines = ["| method | photo | MPJPE | P-MPJPE | PCK@150 (%) | root error | rotation (°) | "
             "bone sum pred / true (mm) | size ratio | 2D error (px) | joints under the "
             "estimated median / 90 % bound, root under its bound (%) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "mpjpe_mm" not in r:
            what = "not scored (see below)" if "error" in r else "no person found"
            lines.append(f"| {r['method']} | {r['photo']} | {what} | | | | | | | | |")
            continue
        n = number_cell
        held = ("" if r.get("under_median_pct") is None else
                f"{n(r['under_median_pct'])} / {n(r['under_p90_pct'])}, "
                f"{n(r.get('root_under_p90_pct'))}")
        cells = [n(r["mpjpe_mm"]), n(r["p_mpjpe_mm"]), n(r.get("pck150_pct")),
                 n(r["root_error_mm"]), n(r["rotation_deg"], 1),
                 f"{n(r['bone_sum_pred_mm'])} / {n(r['bone_sum_true_mm'])}",
                 n(r["size_ratio"], 2), n(r["kp2d_error_px"], 1), held]
        lines.append(f"| {r['method']} | {r['photo']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_joint_table(errors_mm: Mapping[str, np.ndarray],
                    joint_names: Sequence[str] = H36M17.joint_names) -> str:
    """Markdown table: one row per joint, one column per method, errors in mm (0 decimals).

    Args:
        errors_mm: method name -> ``[J]`` per-joint errors (NaN prints as "-").
        joint_names: ``J`` row labels.
    """
    names = list(errors_mm)
    lines = ["| joint | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for j, joint in enumerate(joint_names):
        cells = [_cell(float(np.asarray(errors_mm[n])[j])) for n in names]
        lines.append(f"| {joint} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{x:.0f}"
