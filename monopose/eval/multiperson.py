"""Multi-person evaluation in the manner of MuPoTS-3D, adapted to the h36m17 layout.

The protocol follows MeTRAbs' MuPoTS evaluator:

1. **Matching** (:func:`match_people`), per image, greedy over the ground-truth people in their
   order: each one takes the not-yet-matched prediction with the most joints whose 2D error is
   below 40 px in *both* x and y; with no such joint it stays unmatched (a miss). False
   positives cost nothing.
2. **Scores on matched people** (:func:`score_multiperson`), all distances in mm:

   * root-relative PCK@150 and AUC (both poses centred on the pelvis);
   * absolute PCK@150 and AUC (camera space, no alignment);
   * "PCK over all annotated": root-relative PCK × matched / annotated, so misses count as
     failures;
   * detection recall = matched / annotated;
   * MRPE (camera-space pelvis error) and absolute / root-relative MPJPE.

   PCK, AUC and MPJPE use the 14 joints of MuPoTS' PCK set — in h36m17: head_top, thorax and the
   12 limb joints (pelvis, spine and neck_nose are left out, as MuPoTS leaves out pelvis, spine
   and "head"; :data:`MUPOTS_PCK_JOINTS_H36M17`). Thresholds use the strict ``error < 150``
   test; AUC averages PCK over 0, 5, …, 150 mm (:func:`monopose.eval.metrics.auc_from_errors`,
   identical to MeTRAbs' closed form).
3. **Averaging**: every metric is given *pooled* over all matched people (each person weighs the
   same) and *per group*, then as the unweighted mean of the group values (MuPoTS averages per
   sequence; pass the sequence or scene as the frame's ``group``).

Optional bone rescaling (MuPoTS' "rescale"): each predicted bone gets its ground-truth length,
direction kept, from the pelvis outward along the h36m17 tree; the pelvis stays in place, so the
root error is unchanged. MuPoTS reports its main PCK table with rescaling on normalised ("univ")
skeletons; with the exact synthetic labels the ground truth here is the body's own skeleton.

Only 150 mm is used for absolute PCK: no other threshold is documented for MuPoTS' APCK.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.eval.metrics import (
    AUC_THRESHOLDS_MM,
    PCK_THRESHOLD_MM,
    auc_from_errors,
    joint_errors,
    pck_from_errors,
    rescale_bones,
)

__all__ = [
    "MUPOTS_MATCH_JOINTS_H36M17",
    "MUPOTS_PCK_JOINTS_H36M17",
    "MATCH_THRESHOLD_PX",
    "MultiPersonFrame",
    "MultiPersonMetrics",
    "MultiPersonScores",
    "match_people",
    "score_multiperson",
]

#: Joints used for matching: MuPoTS' joints 1..13 of mpi3dhp17 (neck, shoulders, elbows,
#: wrists, hips, knees, ankles) in h36m17 order — MuPoTS' "neck" is h36m17's thorax (the
#: shoulder midpoint); h36m17's neck_nose corresponds to MuPoTS' excluded "head" joint.
MUPOTS_MATCH_JOINTS_H36M17: tuple[int, ...] = (8, 14, 15, 16, 11, 12, 13, 1, 2, 3, 4, 5, 6)
#: Joints scored by PCK/AUC/MPJPE: MuPoTS' joints 0..13 (adds head_top to the matching set).
MUPOTS_PCK_JOINTS_H36M17: tuple[int, ...] = (10, *MUPOTS_MATCH_JOINTS_H36M17)
MATCH_THRESHOLD_PX = 40.0


# ----------------------------------------------------------------------------------------------
# matching


def _joint_indices(joints: Sequence[int], n_joints: int, name: str) -> np.ndarray:
    idx = np.asarray(list(joints), dtype=np.int64)
    if idx.ndim != 1 or idx.size == 0:
        raise ValueError(f"{name}: expected a non-empty list of joint indices, got {joints!r}")
    if idx.min() < 0 or idx.max() >= n_joints:
        raise ValueError(f"{name}: expected joint indices in [0, {n_joints}), got {idx.tolist()}")
    return idx


def _as_points(x: object, name: str, dim: int) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a numeric array [N, J, {dim}]") from None
    if a.ndim != 3 or a.shape[-1] != dim:
        raise ValueError(f"{name}: expected shape [N, J, {dim}], got {a.shape}")
    return a


def match_people(
    pred_kp2d_px: np.ndarray,
    gt_kp2d_px: np.ndarray,
    gt_valid: np.ndarray | None = None,
    joints: Sequence[int] = MUPOTS_MATCH_JOINTS_H36M17,
    threshold_px: float = MATCH_THRESHOLD_PX,
    *,
    pred_valid: np.ndarray | None = None,
) -> np.ndarray:
    """Match ground-truth people to predictions with MuPoTS' greedy 2D rule.

    Ground-truth people are visited in order; each takes the not-yet-matched prediction with the
    most ``joints`` whose error is below ``threshold_px`` in both x and y (``max(|dx|, |dy|) <
    threshold_px``); ties go to the lower prediction index; with zero such joints the person is
    unmatched. The default ``joints`` are MuPoTS' matching joints in h36m17
    (:data:`MUPOTS_MATCH_JOINTS_H36M17`: hips, knees, ankles, shoulders, elbows, wrists and the
    thorax, which is MuPoTS' "neck"); head_top, pelvis, spine and neck_nose (MuPoTS' "head") are
    left out as in MuPoTS, whose annotations of those joints differ most between skeletons.

    A joint counts only where it is valid in both poses: ``gt_valid`` / ``pred_valid`` (default
    all) and finite coordinates (NaN marks a missing prediction; MuPoTS marks those with (0, 0)).

    Args:
        pred_kp2d_px: ``[P, J, 2]`` predicted 2D joints (px); ``P`` may be 0.
        gt_kp2d_px: ``[G, J, 2]`` ground-truth 2D joints (px); ``G`` may be 0.
        gt_valid: ``[G, J]`` bool, ground-truth joints that may count.
        joints: Joint indices considered.
        threshold_px: Per-axis error bound (px).
        pred_valid: ``[P, J]`` bool, predicted joints that may count.

    Returns:
        ``[G]`` int64: the matched prediction index per ground-truth person, −1 if unmatched.

    Raises:
        ValueError: bad shapes, joint indices or threshold (naming the argument).
    """
    pred = _as_points(pred_kp2d_px, "pred_kp2d_px", 2)
    gt = _as_points(gt_kp2d_px, "gt_kp2d_px", 2)
    if pred.shape[1] != gt.shape[1]:
        raise ValueError(f"gt_kp2d_px: expected {pred.shape[1]} joints like pred_kp2d_px "
                         f"{pred.shape}, got {gt.shape}")
    if not threshold_px > 0:
        raise ValueError(f"threshold_px: expected > 0, got {threshold_px}")
    idx = _joint_indices(joints, gt.shape[1], "joints")
    gv = _valid_mask(gt_valid, gt.shape[:2], "gt_valid") & np.isfinite(gt).all(-1)
    pv = _valid_mask(pred_valid, pred.shape[:2], "pred_valid") & np.isfinite(pred).all(-1)
    n_gt, n_pred = len(gt), len(pred)
    matched = np.full(n_gt, -1, dtype=np.int64)
    if n_gt == 0 or n_pred == 0:
        return matched
    g, p = gt[:, idx], pred[:, idx]
    with np.errstate(invalid="ignore"):
        err = np.abs(g[:, None] - p[None]).max(axis=-1)  # [G, P, K]
        close = (err < threshold_px) & gv[:, None, idx] & pv[None, :, idx]
    counts = close.sum(axis=-1)  # [G, P]
    taken = np.zeros(n_pred, dtype=bool)
    for i in range(n_gt):
        c = np.where(taken, -1, counts[i])
        best = int(np.argmax(c))  # first index among ties
        if c[best] > 0:
            matched[i] = best
            taken[best] = True
    return matched


def _valid_mask(valid: np.ndarray | None, shape: tuple[int, ...], name: str) -> np.ndarray:
    if valid is None:
        return np.ones(shape, dtype=bool)
    v = np.asarray(valid)
    if v.dtype != bool:
        raise ValueError(f"{name}: expected a bool array, got dtype {v.dtype}")
    if v.shape != shape:
        raise ValueError(f"{name}: expected shape {list(shape)}, got {list(v.shape)}")
    return v


# ----------------------------------------------------------------------------------------------
# frames and results


@dataclass(frozen=True)
class MultiPersonFrame:
    """Predictions and ground truth of one image.

    Attributes:
        pred_kp2d_px: ``[P, J, 2]`` predicted 2D joints (px), used for matching.
        pred_pose3d_mm: ``[P, J, 3]`` predicted absolute camera-space 3D joints (mm).
        gt_kp2d_px: ``[G, J, 2]`` ground-truth 2D joints (px).
        gt_pose3d_mm: ``[G, J, 3]`` ground-truth camera-space 3D joints (mm).
        gt_valid: ``[G, J]`` bool, ground-truth joints usable for matching (default all).
        group: Averaging group (sequence, scene, ...).
    """

    pred_kp2d_px: np.ndarray
    pred_pose3d_mm: np.ndarray
    gt_kp2d_px: np.ndarray
    gt_pose3d_mm: np.ndarray
    gt_valid: np.ndarray | None = None
    group: Hashable = 0

    def __post_init__(self) -> None:
        p2 = _as_points(self.pred_kp2d_px, "pred_kp2d_px", 2)
        p3 = _as_points(self.pred_pose3d_mm, "pred_pose3d_mm", 3)
        g2 = _as_points(self.gt_kp2d_px, "gt_kp2d_px", 2)
        g3 = _as_points(self.gt_pose3d_mm, "gt_pose3d_mm", 3)
        if p3.shape[:2] != p2.shape[:2]:
            raise ValueError(f"pred_pose3d_mm: expected [{p2.shape[0]}, {p2.shape[1]}, 3] like "
                             f"pred_kp2d_px, got {list(p3.shape)}")
        if g2.shape[1] != p2.shape[1]:
            raise ValueError(f"gt_kp2d_px: expected {p2.shape[1]} joints like pred_kp2d_px, "
                             f"got {list(g2.shape)}")
        if g3.shape[:2] != g2.shape[:2]:
            raise ValueError(f"gt_pose3d_mm: expected [{g2.shape[0]}, {g2.shape[1]}, 3] like "
                             f"gt_kp2d_px, got {list(g3.shape)}")
        if not np.isfinite(g3).all():
            raise ValueError("gt_pose3d_mm: expected finite ground-truth joints")
        gv = None if self.gt_valid is None else _valid_mask(self.gt_valid, g2.shape[:2],
                                                            "gt_valid")
        object.__setattr__(self, "pred_kp2d_px", p2)
        object.__setattr__(self, "pred_pose3d_mm", p3)
        object.__setattr__(self, "gt_kp2d_px", g2)
        object.__setattr__(self, "gt_pose3d_mm", g3)
        object.__setattr__(self, "gt_valid", gv)


@dataclass(frozen=True)
class MultiPersonMetrics:
    """Scores of one set of people (all, or one group). Percentages are 0–100, errors mm.

    Metrics over matched people are NaN when nobody was matched; ``pck_all_annotated`` and
    ``recall`` are then 0 (NaN when nobody was annotated either).

    Attributes:
        num_annotated: Ground-truth people. num_matched: Of them, matched to a prediction.
        recall: Detection recall, 100 · matched / annotated.
        pck_rootrel: Root-relative PCK@threshold over the scored joints of matched people.
        auc_rootrel: Root-relative AUC (0..150 mm).
        pck_abs: Absolute (camera-space, unaligned) PCK@threshold.
        auc_abs: Absolute AUC.
        pck_all_annotated: ``pck_rootrel`` × matched / annotated (misses count as failures).
        mrpe_mm: Mean root (pelvis) position error in camera space.
        mpjpe_abs_mm: Mean absolute joint error (camera space, no alignment).
        mpjpe_rootrel_mm: Mean root-relative joint error.
    """

    num_annotated: int
    num_matched: int
    recall: float
    pck_rootrel: float
    auc_rootrel: float
    pck_abs: float
    auc_abs: float
    pck_all_annotated: float
    mrpe_mm: float
    mpjpe_abs_mm: float
    mpjpe_rootrel_mm: float


@dataclass(frozen=True)
class MultiPersonScores:
    """Result of :func:`score_multiperson`.

    Attributes:
        pooled: Every matched person weighs the same (recall = all matched / all annotated).
        group_mean: Unweighted mean of the per-group values (MuPoTS' per-sequence averaging);
            a group without matches is left out of the matched-people metrics (NaN there) and
            counts as 0 in ``recall`` and ``pck_all_annotated``.
        per_group: Scores of each group, in order of first appearance.
        matches: One ``[G]`` array of matched prediction indices (−1 = miss) per frame.
        threshold_mm: The PCK threshold. rescaled: Whether bones were rescaled.
        joints: The scored joint indices.
    """

    pooled: MultiPersonMetrics
    group_mean: MultiPersonMetrics
    per_group: dict[Hashable, MultiPersonMetrics]
    matches: list[np.ndarray] = field(repr=False)
    threshold_mm: float = PCK_THRESHOLD_MM
    rescaled: bool = False
    joints: tuple[int, ...] = MUPOTS_PCK_JOINTS_H36M17

    def summary(self) -> dict[str, float]:
        """Flat ``{name: value}`` of the pooled and group-mean metrics (for tables/JSON)."""
        out: dict[str, float] = {}
        for prefix, m in (("", self.pooled), ("group_mean/", self.group_mean)):
            for k, v in m.__dict__.items():
                out[prefix + k] = float(v)
        return out


# ----------------------------------------------------------------------------------------------
# scoring


@dataclass
class _Errors:
    """Per matched person: joint errors ``[M, K]`` (mm) of the scored joints, root-relative and
    absolute, and the root position error ``[M]``."""

    rootrel: np.ndarray
    absolute: np.ndarray
    root: np.ndarray


def _metrics(e: _Errors, n_annotated: int, threshold_mm: float) -> MultiPersonMetrics:
    n = len(e.root)
    nan = float("nan")
    if n == 0:
        zero = 0.0 if n_annotated else nan  # nobody annotated: no recall to speak of
        return MultiPersonMetrics(n_annotated, 0, zero, nan, nan, nan, nan, zero, nan, nan, nan)
    pck_rel = pck_from_errors(e.rootrel, threshold_mm)
    return MultiPersonMetrics(
        num_annotated=n_annotated,
        num_matched=n,
        recall=100.0 * n / n_annotated,
        pck_rootrel=pck_rel,
        auc_rootrel=auc_from_errors(e.rootrel, AUC_THRESHOLDS_MM),
        pck_abs=pck_from_errors(e.absolute, threshold_mm),
        auc_abs=auc_from_errors(e.absolute, AUC_THRESHOLDS_MM),
        pck_all_annotated=pck_rel * n / n_annotated,
        mrpe_mm=float(e.root.mean()),
        mpjpe_abs_mm=float(e.absolute.mean()),
        mpjpe_rootrel_mm=float(e.rootrel.mean()),
    )


def _mean_metrics(items: Sequence[MultiPersonMetrics]) -> MultiPersonMetrics:
    def avg(name: str) -> float:
        vals = np.array([getattr(m, name) for m in items], dtype=np.float64)
        vals = vals[np.isfinite(vals)]
        return float(vals.mean()) if vals.size else float("nan")

    return MultiPersonMetrics(
        num_annotated=sum(m.num_annotated for m in items),
        num_matched=sum(m.num_matched for m in items),
        recall=avg("recall"), pck_rootrel=avg("pck_rootrel"), auc_rootrel=avg("auc_rootrel"),
        pck_abs=avg("pck_abs"), auc_abs=avg("auc_abs"),
        pck_all_annotated=avg("pck_all_annotated"), mrpe_mm=avg("mrpe_mm"),
        mpjpe_abs_mm=avg("mpjpe_abs_mm"), mpjpe_rootrel_mm=avg("mpjpe_rootrel_mm"),
    )


def score_multiperson(
    frames: Sequence[MultiPersonFrame],
    *,
    threshold_mm: float = PCK_THRESHOLD_MM,
    match_threshold_px: float = MATCH_THRESHOLD_PX,
    match_joints: Sequence[int] = MUPOTS_MATCH_JOINTS_H36M17,
    joints: Sequence[int] = MUPOTS_PCK_JOINTS_H36M17,
    root: int = H36M17.root,
    rescale: bool = False,
    parents: Sequence[int] = H36M17.parents,
) -> MultiPersonScores:
    """Match and score every frame (see the module docstring for the protocol).

    Args:
        frames: One :class:`MultiPersonFrame` per image (h36m17 by default).
        threshold_mm: PCK threshold (MuPoTS: 150 mm, strict ``<``).
        match_threshold_px: Per-axis 2D bound of :func:`match_people`.
        match_joints: Joints used for matching.
        joints: Joints scored by PCK, AUC and MPJPE.
        root: Root joint for root-relative scores and MRPE (h36m17: pelvis, 0).
        rescale: Give each matched prediction the ground-truth bone lengths first.
        parents: Skeleton tree for ``rescale`` (``-1`` for the root; parents before children).

    Returns:
        :class:`MultiPersonScores`.

    Raises:
        ValueError: no frame or no annotated person, mismatched joint counts between frames, bad
            joint indices or thresholds, non-finite matched predictions, or a zero-length
            predicted bone with ``rescale``.
    """
    frames = list(frames)
    idx, bones = _check_scoring(frames, threshold_mm, joints, match_joints, root, rescale,
                                parents)
    matches, by_group = _match_frames(frames, match_joints, match_threshold_px)
    per_group: dict[Hashable, MultiPersonMetrics] = {}
    all_err: list[_Errors] = []
    for group, (preds, gts, annotated) in by_group.items():
        e = _errors(preds, gts, idx, bones, root)
        all_err.append(e)
        per_group[group] = _metrics(e, annotated[0], threshold_mm)
    pooled_err = _Errors(*(np.concatenate([getattr(e, f) for e in all_err])
                           for f in ("rootrel", "absolute", "root")))
    n_annotated = sum(m.num_annotated for m in per_group.values())
    return MultiPersonScores(
        pooled=_metrics(pooled_err, n_annotated, threshold_mm),
        group_mean=_mean_metrics([m for m in per_group.values() if m.num_annotated > 0]),
        per_group=per_group,
        matches=matches,
        threshold_mm=float(threshold_mm),
        rescaled=bool(rescale),
        joints=tuple(int(j) for j in idx),
    )


def _check_scoring(
    frames: list[MultiPersonFrame], threshold_mm: float, joints: Sequence[int],
    match_joints: Sequence[int], root: int, rescale: bool, parents: Sequence[int],
) -> tuple[np.ndarray, tuple[tuple[int, int], ...]]:
    """Validate the arguments of :func:`score_multiperson`; the scored joint indices and the
    ``(child, parent)`` bones for ``rescale`` (empty without it)."""
    if not frames:
        raise ValueError("frames: expected at least one frame")
    for k, fr in enumerate(frames):
        if not isinstance(fr, MultiPersonFrame):
            raise ValueError(f"frames[{k}]: expected a MultiPersonFrame, got {type(fr).__name__}")
    n_joints = frames[0].gt_kp2d_px.shape[1]
    for k, fr in enumerate(frames):
        if fr.gt_kp2d_px.shape[1] != n_joints:
            raise ValueError(f"frames[{k}]: expected {n_joints} joints like frames[0], got "
                             f"{fr.gt_kp2d_px.shape[1]}")
    if not threshold_mm > 0:
        raise ValueError(f"threshold_mm: expected > 0, got {threshold_mm}")
    idx = _joint_indices(joints, n_joints, "joints")
    _joint_indices(match_joints, n_joints, "match_joints")
    if not -n_joints <= root < n_joints:
        raise ValueError(f"root: expected a joint index in [0, {n_joints}), got {root}")
    bones: tuple[tuple[int, int], ...] = ()
    if rescale:
        par = list(parents)
        if len(par) != n_joints:
            raise ValueError(f"parents: expected {n_joints} entries, got {len(par)}")
        bones = tuple((j, p) for j, p in enumerate(par) if p >= 0)
        if any(p >= j for j, p in bones):
            raise ValueError("parents: expected every parent before its child")
    if sum(len(fr.gt_kp2d_px) for fr in frames) == 0:
        raise ValueError("frames: no annotated person in any frame")
    return idx, bones


_Group = tuple[list[np.ndarray], list[np.ndarray], list[int]]


def _match_frames(frames: list[MultiPersonFrame], match_joints: Sequence[int],
                  match_threshold_px: float) -> tuple[list[np.ndarray], dict[Hashable, _Group]]:
    """Match every frame; per group the matched 3D predictions and ground truths (``[M, J, 3]``
    pieces, mm) and the number of annotated people (in a one-element list)."""
    matches: list[np.ndarray] = []
    by_group: dict[Hashable, _Group] = {}
    for k, fr in enumerate(frames):
        m = match_people(fr.pred_kp2d_px, fr.gt_kp2d_px, fr.gt_valid, match_joints,
                         match_threshold_px)
        matches.append(m)
        preds, gts, annotated = by_group.setdefault(fr.group, ([], [], [0]))
        annotated[0] += len(m)
        hit = m >= 0
        if hit.any():
            p = fr.pred_pose3d_mm[m[hit]]
            if not np.isfinite(p).all():
                raise ValueError(f"frames[{k}]: pred_pose3d_mm of a matched person is not "
                                 "finite")
            preds.append(p)
            gts.append(fr.gt_pose3d_mm[hit])
    return matches, by_group


def _errors(preds: list[np.ndarray], gts: list[np.ndarray], idx: np.ndarray,
            bones: tuple[tuple[int, int], ...], root: int) -> _Errors:
    """Errors of the scored joints ``idx`` of one group's matched people."""
    if not preds:
        empty = np.zeros((0, len(idx)))
        return _Errors(empty, empty, np.zeros(0))
    p, g = np.concatenate(preds), np.concatenate(gts)
    if bones:
        p = rescale_bones(p, g, bones)
    return _Errors(
        rootrel=joint_errors(p, g, root=root)[:, idx],
        absolute=joint_errors(p, g, root=None)[:, idx],
        root=np.linalg.norm(p[:, root] - g[:, root], axis=-1),
    )
