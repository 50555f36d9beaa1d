"""3D pose metrics (all distances in mm) and the benchmark protocols built on them.

Poses are ``[..., J, 3]`` arrays; the leading dims are samples (frames, people, ...). Optional
``mask [..., J]`` booleans select the joints that count. Scalar metrics pool all selected
(sample, joint) errors, which equals the mean over frames of the per-frame means when every
frame has the same joints; ``*_per_sample`` variants return ``[...]`` arrays (NaN for a sample
without a selected joint) for other averaging conventions, e.g. :func:`average_by_group` for
the action-wise mean of VideoPose3D-style Human3.6M tables.

Root-relative metrics take ``root`` (default 0, the H36M-17 pelvis; 14 for MPI-INF-3DHP-17) and
centre *both* poses on it (the root must be finite, but need not be in ``mask``); ``root=None``
compares the poses as given.

PCK and AUC are percentages (0–100), with the strict ``error < threshold`` test of the
MPI-INF-3DHP scripts; AUC averages PCK over thresholds 0, 5, …, 150 mm (31 values).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monopose.core.geometry import procrustes_align

__all__ = [
    "PCK_THRESHOLD_MM",
    "AUC_THRESHOLDS_MM",
    "H36M17_PART_GROUPS",
    "H36M17_LIMB_GROUPS",
    "MPI3DHP_PCK_GROUPS",
    "MPI3DHP_ROOT",
    "MUPOTS_BONES",
    "joint_errors",
    "mpjpe",
    "mpjpe_per_sample",
    "p_mpjpe",
    "p_mpjpe_per_sample",
    "n_mpjpe",
    "n_mpjpe_per_sample",
    "pck",
    "auc",
    "pck_from_errors",
    "auc_from_errors",
    "mrpe",
    "mrpe_per_sample",
    "per_joint_error",
    "per_group_error",
    "average_by_group",
    "Mpi3dhpScores",
    "mpi3dhp_pck_auc",
    "rescale_bones",
    "mupots_pck_auc",
]

PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0.0, 150.0 + 2.5, 5.0)  # 0, 5, ..., 150: 31 thresholds

#: Body-part groups of H36M-17 (every joint in exactly one group).
H36M17_PART_GROUPS: dict[str, tuple[int, ...]] = {
    "torso": (0, 7, 8),
    "head": (9, 10),
    "arms": (11, 12, 13, 14, 15, 16),
    "legs": (1, 2, 3, 4, 5, 6),
}
#: Left+right limb-joint groups of H36M-17.
H36M17_LIMB_GROUPS: dict[str, tuple[int, ...]] = {
    "hip": (1, 4),
    "knee": (2, 5),
    "ankle": (3, 6),
    "shoulder": (11, 14),
    "elbow": (12, 15),
    "wrist": (13, 16),
}
#: MPI-INF-3DHP 14-joint PCK groups, in mpi3dhp17 order (official test scripts).
MPI3DHP_PCK_GROUPS: dict[str, tuple[int, ...]] = {
    "head": (0,),
    "neck": (1,),
    "shoulder": (2, 5),
    "elbow": (3, 6),
    "wrist": (4, 7),
    "hip": (8, 11),
    "knee": (9, 12),
    "ankle": (10, 13),
}
MPI3DHP_ROOT = 14
#: MuPoTS bone list (child, parent) in mpi3dhp17 order, from the root outward.
MUPOTS_BONES: tuple[tuple[int, int], ...] = (
    (15, 14), (1, 15), (0, 1), (16, 1), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6),
    (8, 14), (9, 8), (10, 9), (11, 14), (12, 11), (13, 12),
)


# ----------------------------------------------------------------------------------------------
# argument checking


def _check_pair(pred: object, gt: object, mask: object | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate ``pred, gt [..., J, D]`` and ``mask [..., J]``; NaN is allowed only where masked."""
    try:
        p = np.asarray(pred, dtype=np.float64)
        g = np.asarray(gt, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"pred/gt: expected numeric arrays ({exc})") from None
    if p.ndim < 2 or p.shape[-1] not in (2, 3):
        raise ValueError(f"pred: expected shape [..., J, 3] (or [..., J, 2]), got {p.shape}")
    if g.shape != p.shape:
        if g.ndim >= 2 and g.shape[-2] != p.shape[-2]:
            raise ValueError(
                f"gt: expected {p.shape[-2]} joints like pred {p.shape}, got {g.shape}"
            )
        raise ValueError(f"gt: expected the shape of pred {p.shape}, got {g.shape}")
    if mask is None:
        m = np.ones(p.shape[:-1], dtype=bool)
    else:
        m = np.asarray(mask)
        if m.dtype != bool:
            raise ValueError(f"mask: expected a bool array, got dtype {m.dtype}")
        try:
            m = np.broadcast_to(m, p.shape[:-1])
        except ValueError:
            raise ValueError(f"mask: expected shape {p.shape[:-1]}, got {m.shape}") from None
    if not (np.isfinite(p[m]).all() and np.isfinite(g[m]).all()):
        raise ValueError("pred/gt: NaN or inf in a joint selected by mask")
    return p, g, m


def _centre(p: np.ndarray, g: np.ndarray, m: np.ndarray, root: int | None
            ) -> tuple[np.ndarray, np.ndarray]:
    if root is None:
        return p, g
    n_joints = p.shape[-2]
    if not -n_joints <= root < n_joints:
        raise ValueError(f"root: expected a joint index in [0, {n_joints}), got {root}")
    # The root only anchors the centring; it need not be among the joints that are scored.
    if not (np.isfinite(p[..., root, :]).all() and np.isfinite(g[..., root, :]).all()):
        raise ValueError(f"pred/gt: the root joint {root} must be finite in every sample")
    return p - p[..., root : root + 1, :], g - g[..., root : root + 1, :]


def _pooled_mean(values: np.ndarray, m: np.ndarray) -> float:
    count = int(m.sum())
    if count == 0:
        raise ValueError("mask: no joint selected")
    return float(np.where(m, values, 0.0).sum() / count)


def _per_sample_mean(values: np.ndarray, m: np.ndarray) -> np.ndarray:
    count = m.sum(axis=-1)
    total = np.where(m, values, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


# ----------------------------------------------------------------------------------------------
# per-joint errors and the three protocols


def joint_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
                 root: int | None = 0) -> np.ndarray:
    """Euclidean error per joint ``[..., J]`` (mm) after centring both poses on ``root``.

    Joints outside ``mask`` are NaN.
    """
    p, g, m = _check_pair(pred, gt, mask)
    p, g = _centre(p, g, m, root)
    err = np.linalg.norm(np.where(m[..., None], p - g, 0.0), axis=-1)
    return np.where(m, err, np.nan)


def mpjpe_per_sample(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
                     root: int | None = 0) -> np.ndarray:
    """MPJPE per sample ``[...]`` (mm), root-relative (Protocol #1)."""
    err = joint_errors(pred, gt, mask, root)
    return _per_sample_mean(err, ~np.isnan(err))


def mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
          root: int | None = 0) -> float:
    """Mean per-joint position error (mm) over all selected joints, root-relative (Protocol #1)."""
    err = joint_errors(pred, gt, mask, root)
    return _pooled_mean(err, ~np.isnan(err))


def _p_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    p, g, m = _check_pair(pred, gt, mask)
    if p.shape[-1] != 3:
        raise ValueError(f"pred: expected shape [..., J, 3] for Procrustes, got {p.shape}")
    p = np.where(m[..., None], p, 0.0)
    g = np.where(m[..., None], g, 0.0)
    aligned = procrustes_align(p, g, scale=True, mask=m)
    return np.where(m, np.linalg.norm(aligned - g, axis=-1), np.nan)


def p_mpjpe_per_sample(pred: np.ndarray, gt: np.ndarray,
                       mask: np.ndarray | None = None) -> np.ndarray:
    """P-MPJPE per sample ``[...]`` (mm): MPJPE after per-sample similarity Procrustes."""
    err = _p_errors(pred, gt, mask)
    return _per_sample_mean(err, ~np.isnan(err))


def p_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Procrustes-aligned MPJPE (mm, Protocol #2), VideoPose3D's definition.

    Each predicted pose is aligned to its ground truth by the optimal scale, rotation (without
    reflection) and translation over the selected joints; then the errors are averaged.
    """
    err = _p_errors(pred, gt, mask)
    return _pooled_mean(err, ~np.isnan(err))


def _n_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None,
              root: int | None) -> np.ndarray:
    p, g, m = _check_pair(pred, gt, mask)
    p, g = _centre(p, g, m, root)
    p = np.where(m[..., None], p, 0.0)
    g = np.where(m[..., None], g, 0.0)
    pp = (p * p).sum(axis=(-2, -1))
    if (pp <= 0).any():
        raise ValueError("pred: a pose is all zeros after centring; its scale is undefined")
    s = (p * g).sum(axis=(-2, -1)) / pp  # least-squares optimal scale
    return np.where(m, np.linalg.norm(s[..., None, None] * p - g, axis=-1), np.nan)


def n_mpjpe_per_sample(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
                       root: int | None = 0) -> np.ndarray:
    """N-MPJPE per sample ``[...]`` (mm)."""
    err = _n_errors(pred, gt, mask, root)
    return _per_sample_mean(err, ~np.isnan(err))


def n_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
            root: int | None = 0) -> float:
    """Scale-normalised MPJPE (mm, Protocol #3): root-relative prediction scaled per sample by
    ``s = Σ⟨p, g⟩ / Σ⟨p, p⟩`` (least-squares optimal), then MPJPE."""
    err = _n_errors(pred, gt, mask, root)
    return _pooled_mean(err, ~np.isnan(err))


# ----------------------------------------------------------------------------------------------
# PCK / AUC


def _check_errors(errors_mm: object, mask: object | None) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(errors_mm, dtype=np.float64)
    m = ~np.isnan(e)
    if mask is not None:
        mm = np.asarray(mask, dtype=bool)
        try:
            m = m & np.broadcast_to(mm, e.shape)
        except ValueError:
            raise ValueError(f"mask: expected shape {e.shape}, got {mm.shape}") from None
    if (e[m] < 0).any() or np.isinf(e[m]).any():
        raise ValueError("errors_mm: expected finite, non-negative errors")
    if not m.any():
        raise ValueError("errors_mm: no error to evaluate (all NaN or masked out)")
    return e, m


def pck_from_errors(errors_mm: np.ndarray, threshold_mm: float = PCK_THRESHOLD_MM,
                    mask: np.ndarray | None = None) -> float:
    """Percentage of errors strictly below ``threshold_mm`` (NaN errors are ignored)."""
    e, m = _check_errors(errors_mm, mask)
    return float(100.0 * (e[m] < threshold_mm).mean())


def auc_from_errors(errors_mm: np.ndarray, thresholds_mm: np.ndarray = AUC_THRESHOLDS_MM,
                    mask: np.ndarray | None = None) -> float:
    """Mean PCK (%) over ``thresholds_mm`` (default 0, 5, ..., 150 mm)."""
    e, m = _check_errors(errors_mm, mask)
    th = np.asarray(thresholds_mm, dtype=np.float64)
    if th.ndim != 1 or th.size == 0:
        raise ValueError(f"thresholds_mm: expected a non-empty 1D array, got shape {th.shape}")
    return float(100.0 * (e[m][:, None] < th[None, :]).mean())


def pck(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
        threshold_mm: float = PCK_THRESHOLD_MM, root: int | None = 0) -> float:
    """3DPCK (%): share of selected joints with root-relative error ``< threshold_mm``."""
    return pck_from_errors(joint_errors(pred, gt, mask, root), threshold_mm)


def auc(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
        root: int | None = 0) -> float:
    """Area under the PCK curve (%), thresholds 0..150 mm in 5 mm steps."""
    return auc_from_errors(joint_errors(pred, gt, mask, root))


# ----------------------------------------------------------------------------------------------
# absolute root error, breakdowns, averaging


def mrpe_per_sample(pred_abs: np.ndarray, gt_abs: np.ndarray, root: int = 0) -> np.ndarray:
    """Root position error per sample ``[...]`` (mm) of absolute camera-space poses."""
    p, g, _ = _check_pair(pred_abs, gt_abs, None)
    n_joints = p.shape[-2]
    if not -n_joints <= root < n_joints:
        raise ValueError(f"root: expected a joint index in [0, {n_joints}), got {root}")
    return np.linalg.norm(p[..., root, :] - g[..., root, :], axis=-1)


def mrpe(pred_abs: np.ndarray, gt_abs: np.ndarray, root: int = 0) -> float:
    """Mean root position error (mm) of absolute camera-space poses ``[..., J, 3]``."""
    return float(mrpe_per_sample(pred_abs, gt_abs, root).mean())


def per_joint_error(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None,
                    root: int | None = 0) -> np.ndarray:
    """Mean error per joint ``[J]`` (mm) over all samples; NaN for a joint never selected."""
    err = joint_errors(pred, gt, mask, root)
    flat = err.reshape(-1, err.shape[-1])
    return _per_sample_mean(flat.T, ~np.isnan(flat.T))


def per_group_error(pred: np.ndarray, gt: np.ndarray,
                    groups: Mapping[str, Sequence[int]] = H36M17_PART_GROUPS,
                    mask: np.ndarray | None = None, root: int | None = 0) -> dict[str, float]:
    """Mean error (mm) over the joints of each group, e.g. :data:`H36M17_PART_GROUPS` or
    :data:`H36M17_LIMB_GROUPS`; a group without any selected joint gets NaN."""
    err = joint_errors(pred, gt, mask, root)
    n_joints = err.shape[-1]
    out: dict[str, float] = {}
    for name, idx in groups.items():
        idx = list(idx)
        if not idx or min(idx) < 0 or max(idx) >= n_joints:
            raise ValueError(f"groups[{name!r}]: expected joint indices in [0, {n_joints})")
        sel = err[..., idx]
        ok = ~np.isnan(sel)
        out[name] = float(sel[ok].mean()) if ok.any() else float("nan")
    return out


def average_by_group(errors_per_frame: np.ndarray, group_labels: Sequence[Hashable] | np.ndarray
                     ) -> tuple[float, dict[Hashable, float]]:
    """Mean within each group (e.g. action), then the unweighted mean of the group means.

    Args:
        errors_per_frame: ``[N]`` one value per frame (e.g. :func:`mpjpe_per_sample`).
        group_labels: ``[N]`` group label per frame.

    Returns:
        ``(mean_of_group_means, {group: mean})``; the dict follows first appearance order.
    """
    e = np.asarray(errors_per_frame, dtype=np.float64)
    labels = group_labels.tolist() if isinstance(group_labels, np.ndarray) else list(group_labels)
    if e.ndim != 1:
        raise ValueError(f"errors_per_frame: expected shape [N], got {e.shape}")
    if len(labels) != e.shape[0]:
        raise ValueError(f"group_labels: expected {e.shape[0]} labels, got {len(labels)}")
    if e.size == 0:
        raise ValueError("errors_per_frame: empty")
    if not np.isfinite(e).all():
        raise ValueError("errors_per_frame: contains NaN or inf")
    sums: dict[Hashable, float] = {}
    counts: dict[Hashable, int] = {}
    for label, value in zip(labels, e.tolist(), strict=True):
        sums[label] = sums.get(label, 0.0) + value
        counts[label] = counts.get(label, 0) + 1
    means = {k: sums[k] / counts[k] for k in sums}
    return float(np.mean(list(means.values()))), means


# ----------------------------------------------------------------------------------------------
# benchmark protocols (mpi3dhp17 order)


def _check_mpi17(p: np.ndarray, name: str) -> None:
    if p.shape[-2:] != (17, 3):
        raise ValueError(f"{name}: expected shape [..., 17, 3] in mpi3dhp17 order, got {p.shape}")


@dataclass(frozen=True)
class Mpi3dhpScores:
    """MPI-INF-3DHP results (official 14-joint protocol).

    Attributes:
        pck: 3DPCK@150 (%) over the 14 joints, i.e. the joint-weighted mean of the groups.
        auc: AUC (%) over the 14 joints.
        mpjpe: MPJPE (mm) over all 17 joints, root-centred.
        pck_per_group: PCK (%) per group of :data:`MPI3DHP_PCK_GROUPS`.
        auc_per_group: AUC (%) per group.
    """

    pck: float
    auc: float
    mpjpe: float
    pck_per_group: dict[str, float]
    auc_per_group: dict[str, float]


def mpi3dhp_pck_auc(pred: np.ndarray, gt: np.ndarray) -> Mpi3dhpScores:
    """Evaluate poses ``[..., 17, 3]`` (mm, mpi3dhp17 order) with the MPI-INF-3DHP protocol:
    both centred on the pelvis (14), per-group PCK/AUC on joints 0..13 and the totals weighted
    by joint count (pass only the valid frames)."""
    p, g, m = _check_pair(pred, gt, None)
    _check_mpi17(p, "pred")
    err = joint_errors(p, g, m, root=MPI3DHP_ROOT)
    pck_g = {k: pck_from_errors(err[..., list(v)]) for k, v in MPI3DHP_PCK_GROUPS.items()}
    auc_g = {k: auc_from_errors(err[..., list(v)]) for k, v in MPI3DHP_PCK_GROUPS.items()}
    sizes = {k: len(v) for k, v in MPI3DHP_PCK_GROUPS.items()}
    total = sum(sizes.values())
    return Mpi3dhpScores(
        pck=sum(pck_g[k] * sizes[k] for k in sizes) / total,
        auc=sum(auc_g[k] * sizes[k] for k in sizes) / total,
        mpjpe=float(np.mean(err)),
        pck_per_group=pck_g,
        auc_per_group=auc_g,
    )


def rescale_bones(pred: np.ndarray, gt: np.ndarray,
                  bones: Sequence[tuple[int, int]] = MUPOTS_BONES) -> np.ndarray:
    """Give every predicted bone its ground-truth length, keeping its direction.

    Bones ``(child, parent)`` are visited in order (from the root outward); each child is placed
    at ``new[parent] + unit(pred[child] - pred[parent]) · |gt[child] - gt[parent]|``. Joints that
    are not a child of any bone (the root) stay where they are.

    Args:
        pred, gt: ``[..., J, 3]`` (mm).
        bones: Bone list; the default is MeTRAbs' MuPoTS list for mpi3dhp17.

    Raises:
        ValueError: on bad shapes/indices, a bone whose parent is placed after it, or a
            zero-length predicted bone (no direction).
    """
    p, g, _ = _check_pair(pred, gt, None)
    n_joints = p.shape[-2]
    placed = set(range(n_joints)) - {c for c, _ in bones}
    out = p.copy()
    for child, parent in bones:
        if not (0 <= child < n_joints and 0 <= parent < n_joints):
            raise ValueError(f"bones: ({child}, {parent}) is out of range for {n_joints} joints")
        if parent not in placed:
            raise ValueError(f"bones: parent {parent} of {child} is not placed before it")
        vec = p[..., child, :] - p[..., parent, :]
        length = np.linalg.norm(vec, axis=-1, keepdims=True)
        if (length <= 1e-9).any():
            raise ValueError(f"pred: bone ({child}, {parent}) has zero length; no direction")
        gt_len = np.linalg.norm(g[..., child, :] - g[..., parent, :], axis=-1, keepdims=True)
        out[..., child, :] = out[..., parent, :] + vec / length * gt_len
        placed.add(child)
    return out


def mupots_pck_auc(pred: np.ndarray, gt: np.ndarray, rescale: bool = True,
                   root_relative: bool = True,
                   threshold_mm: float = PCK_THRESHOLD_MM) -> tuple[float, float]:
    """MuPoTS-3D PCK and AUC (%) of matched poses ``[..., 17, 3]`` (mm, mpi3dhp17 order) over
    joints 0..13, optionally after bone rescaling and root (pelvis, 14) centring.

    Average per sequence with :func:`average_by_group` by evaluating each sequence separately.
    """
    p, g, m = _check_pair(pred, gt, None)
    _check_mpi17(p, "pred")
    if rescale:
        p = rescale_bones(p, g)
    err = joint_errors(p, g, m, root=MPI3DHP_ROOT if root_relative else None)[..., :14]
    return pck_from_errors(err, threshold_mm), auc_from_errors(err)
