"""What each part of a real-photo error costs: the prediction with one body part set to the truth.

For one root-relative prediction and its truth (h36m17, mm), :func:`oracle_scores` gives MPJPE /
P-MPJPE after replacing a part's joints by the truth, either whole (x, y and z) or only their
depth (camera z, root-relative). The gap to the plain score is what that part's error costs,
and "every joint's depth" says how much of the error is depth at all. :func:`depth_agreement`
says whether a method's depths are wrong in scale (too flat or too deep) or in order. Read by
``bench_realgt.py --budget``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.eval.metrics import mpjpe, p_mpjpe

# The parts a lifter gets wrong apart: each limb's two outer joints, the head, the trunk.
PARTS: dict[str, tuple[str, ...]] = {
    "right leg": ("r_knee", "r_ankle"),
    "left leg": ("l_knee", "l_ankle"),
    "right arm": ("r_elbow", "r_wrist"),
    "left arm": ("l_elbow", "l_wrist"),
    "head": ("neck_nose", "head_top"),
    "trunk": ("r_hip", "l_hip", "spine", "thorax", "l_shoulder", "r_shoulder"),
}
EVERY_DEPTH = "every joint's depth"


def oracle_scores(pred_rel_mm: np.ndarray, gt_rel_mm: np.ndarray,
                  parts: Mapping[str, Sequence[str]] = PARTS,
                  joint_names: Sequence[str] = H36M17.joint_names) -> dict[str, dict[str, float]]:
    """MPJPE / P-MPJPE (mm) with each part set to the truth.

    Args:
        pred_rel_mm: ``[J, 3]`` root-relative prediction, camera axes (z = depth).
        gt_rel_mm: ``[J, 3]`` root-relative truth, same axes and layout.
        parts: name -> joint names of ``joint_names``.

    Returns:
        ``{"as predicted": {...}, "<part>": {...}, "<part> depth": {...},
        EVERY_DEPTH: {...}}``, each ``{"mpjpe_mm", "p_mpjpe_mm"}``: ``<part>`` replaces the
        part's joints whole, ``<part> depth`` only their z.
    """
    pred = np.asarray(pred_rel_mm, np.float64)
    gt = np.asarray(gt_rel_mm, np.float64)
    if pred.shape != gt.shape or pred.ndim != 2 or pred.shape[1] != 3:
        raise ValueError(f"pred_rel_mm and gt_rel_mm: expected the same [J, 3] shape, got "
                         f"{pred.shape} and {gt.shape}")
    index = {n: k for k, n in enumerate(joint_names)}
    unknown = sorted({j for js in parts.values() for j in js} - set(index))
    if unknown:
        raise ValueError(f"parts: unknown joints {unknown}")

    def both(p: np.ndarray) -> dict[str, float]:
        return {"mpjpe_mm": mpjpe(p, gt), "p_mpjpe_mm": p_mpjpe(p, gt)}

    out = {"as predicted": both(pred)}
    for name, joints in parts.items():
        idx = [index[j] for j in joints]
        whole, depth = pred.copy(), pred.copy()
        whole[idx] = gt[idx]
        depth[idx, 2] = gt[idx, 2]
        out[name] = both(whole)
        out[f"{name} depth"] = both(depth)
    every = pred.copy()
    every[:, 2] = gt[:, 2]
    out[EVERY_DEPTH] = both(every)
    return out


def depth_agreement(pred_rel_mm: np.ndarray, gt_rel_mm: np.ndarray) -> dict[str, float]:
    """How a prediction's root-relative depths (z) follow the truth's.

    Args:
        pred_rel_mm, gt_rel_mm: ``[J, 3]`` root-relative, camera axes (z = depth).

    Returns:
        ``{"depth_scale", "depth_residual_mm", "depth_corr"}``: the least-squares factor that
        brings the predicted depths nearest the truth's (> 1: the prediction is too flat), the
        RMS depth error left after it, and the correlation of the two.
    """
    z_pred = np.asarray(pred_rel_mm, np.float64)[:, 2]
    z_gt = np.asarray(gt_rel_mm, np.float64)[:, 2]
    denom = float(z_pred @ z_pred)
    scale = float(z_pred @ z_gt) / denom if denom > 0 else float("nan")
    corr = float(np.corrcoef(z_pred, z_gt)[0, 1]) if z_pred.std() > 0 and z_gt.std() > 0 \
        else float("nan")
    return {"depth_scale": scale,
            "depth_residual_mm": float(np.sqrt(np.mean((scale * z_pred - z_gt) ** 2))),
            "depth_corr": corr}


def budget_table(rows: Sequence[Mapping]) -> str:
    """Markdown table: per method and photo (rows with an ``"oracle"`` entry, as
    :func:`oracle_scores` gives, and a ``"depth"`` entry, as :func:`depth_agreement` gives),
    MPJPE / P-MPJPE as predicted and with each part true, then the depth's scale, residual
    and correlation; a mean row per method with more than one photo."""
    scored = [r for r in rows if "oracle" in r]
    if not scored:
        return "(no scored photo)"
    keys = list(scored[0]["oracle"])
    lines = ["| method | photo | " + " | ".join(keys) + " | depth scale | depth residual (mm) "
             "| depth corr. |", "|---|---|" + "---|" * (len(keys) + 3)]

    def line(method: str, photo: str, mine: list[Mapping]) -> str:
        cells = [f"{np.mean([r['oracle'][k]['mpjpe_mm'] for r in mine]):.0f} / "
                 f"{np.mean([r['oracle'][k]['p_mpjpe_mm'] for r in mine]):.0f}" for k in keys]
        depth = [np.mean([r["depth"][k] for r in mine]) for k in
                 ("depth_scale", "depth_residual_mm", "depth_corr")]
        cells += [f"{depth[0]:.2f}", f"{depth[1]:.0f}", f"{depth[2]:.2f}"]
        return f"| {method} | {photo} | " + " | ".join(cells) + " |"

    for method in dict.fromkeys(r["method"] for r in scored):
        mine = [r for r in scored if r["method"] == method]
        lines += [line(method, r["photo"], [r]) for r in mine]
        if len(mine) > 1:
            lines.append(line(method, f"**mean of {len(mine)}**", mine))
    return "\n".join(lines)
