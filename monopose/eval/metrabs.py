"""Evaluation of MeTRAbs models on rendered people.

* :func:`truncation_table`: root-relative MPJPE on the fixed truncation crops of a feature cache
  (``mode="eval"``: the same renders framed whole, with 20 % and with 40 % of the body box cut
  off), for the MeTRo head and the 2.5D baseline. The 2.5D head has no metric scale: its
  3D is recovered with the root depth either from a bone-length prior (the reference skeleton's
  total bone length, what a deployed 2.5D model must do) or from the ground truth (an oracle
  that isolates the truncation effect).
* :func:`absolute_scores`: the whole inference path (:class:`MetrabsEstimator`: crops, frozen
  network, head, TTA, root solve) on rendered photos with known intrinsics and the ground-truth
  joint box: MRPE, absolute and root-relative MPJPE, PCK, ms per person.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from monopose.core.skeleton import get_layout
from monopose.data.synthetic.generate import read_shard
from monopose.metrabs.cache import CropArrays, crop_batch, load_crop_cache
from monopose.metrabs.crop import joints_box
from monopose.metrabs.inference import REFERENCE_BONES_MM, MetrabsEstimator
from monopose.models.interface import PoseModel
from monopose.zoo import load_pose_model

__all__ = ["predict_crops", "lift_25d", "root_depth_from_bones", "truncation_table",
           "variant_joint_errors", "truncation_split",
           "absolute_scores", "AbsoluteScores", "evaluate_metrabs"]

_PARENTS = np.asarray(get_layout("h36m17").parents)


def predict_crops(model: torch.nn.Module, data: CropArrays, batch_size: int = 256
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(coords2d_px [N, 17, 2], coords3d_rel_mm [N, 17, 3])`` of a model on a crop cache."""
    kp, rel = [], []
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(data), batch_size):
            b = crop_batch(data, np.arange(s, min(len(data), s + batch_size)))
            out = model(*b["inputs"])
            kp.append(out.coords2d_px.double().numpy())
            rel.append(out.coords3d_rel_mm.double().numpy())
    return np.concatenate(kp), np.concatenate(rel)


def lift_25d(kp_px: np.ndarray, depth_rel_mm: np.ndarray, K: np.ndarray,
             root_depth_mm: np.ndarray) -> np.ndarray:
    """Back-project a 2.5D pose: ``[N, J, 2]`` px, ``[N, J]`` root-relative depth, ``[N, 3, 3]``
    K and ``[N]`` root depth → ``[N, J, 3]`` camera-space mm."""
    z = root_depth_mm[:, None] + depth_rel_mm
    x = (kp_px[..., 0] - K[:, None, 0, 2]) / K[:, None, 0, 0] * z
    y = (kp_px[..., 1] - K[:, None, 1, 2]) / K[:, None, 1, 1] * z
    return np.stack([x, y, z], -1)


def root_depth_from_bones(kp_px: np.ndarray, depth_rel_mm: np.ndarray, K: np.ndarray,
                          total_bone_mm: float = float(REFERENCE_BONES_MM.sum()),
                          z_range_mm: tuple[float, float] = (300.0, 50000.0)) -> np.ndarray:
    """``[N]`` root depth at which the back-projected skeleton's total bone length equals
    ``total_bone_mm`` (the scale a 2.5D representation needs from outside)."""
    grid = np.geomspace(*z_range_mm, 512)
    lengths = np.empty((len(kp_px), len(grid)))
    for g, z in enumerate(grid):
        p = lift_25d(kp_px, depth_rel_mm, K, np.full(len(kp_px), z))
        lengths[:, g] = np.linalg.norm(p[:, 1:] - p[:, _PARENTS[1:]], axis=-1).sum(-1)
    out = np.empty(len(kp_px))
    for i in range(len(kp_px)):
        out[i] = np.interp(total_bone_mm, lengths[i], grid)  # lengths grow with depth
    return out


def _joint_errors(pred_rel: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """``[N, J]`` root-relative joint errors (mm)."""
    gt_rel = gt - gt[:, :1]
    return np.linalg.norm(pred_rel - gt_rel, axis=-1)


def variant_joint_errors(models: dict[str, torch.nn.Module], data: CropArrays
                         ) -> dict[str, np.ndarray]:
    """``{variant: [N, J] root-relative joint errors (mm)}``; a 2.5D model yields two variants,
    ``<name> (bone prior)`` and ``<name> (GT root depth)``."""
    gt = data.pose3d_mm.astype(np.float64)
    rows: dict[str, np.ndarray] = {}
    for name, model in models.items():
        kp, rel = predict_crops(model, data)
        if getattr(model, "head_name", "metro") == "metro":
            rows[name] = _joint_errors(rel, gt)
            continue
        K = data.K.astype(np.float64)
        depth = rel[..., 2]
        z_prior = root_depth_from_bones(kp, depth, K)
        for label, z in (("bone prior", z_prior), ("GT root depth", gt[:, 0, 2])):
            p = lift_25d(kp, depth, K, z)
            rows[f"{name} ({label})"] = _joint_errors(p - p[:, :1], gt)
    return rows


def truncation_table(models: dict[str, torch.nn.Module], data: CropArrays,
                     errors: dict[str, np.ndarray] | None = None
                     ) -> dict[str, dict[float, float]]:
    """Root-relative MPJPE (mm) per model variant and per share of the body box cut off.

    Returns:
        ``{variant: {cut_fraction: mpjpe_mm}}`` (variants as in :func:`variant_joint_errors`).
    """
    cut = np.round(1.0 - data.keep_fraction, 2)
    errors = errors if errors is not None else variant_joint_errors(models, data)
    return {name: {float(c): float(err[cut == c].mean()) for c in np.unique(cut)}
            for name, err in errors.items()}


def truncation_split(data: CropArrays, errors: dict[str, np.ndarray]
                     ) -> dict[str, dict[float, tuple[float, float]]]:
    """Per variant and cut: mean error of the joints inside the crop and of those outside it
    (``nan`` when there are none)."""
    cut = np.round(1.0 - data.keep_fraction, 2)
    s = data.kp2d_px
    inside = np.asarray(((s >= -0.5) & (s <= 255.5)).all(-1), dtype=bool)
    out: dict[str, dict[float, tuple[float, float]]] = {}
    for name, err in errors.items():
        out[name] = {}
        for c in np.unique(cut):
            m = cut == c
            e, ins = err[m], inside[m]
            out[name][float(c)] = (float(e[ins].mean()),
                                   float(e[~ins].mean()) if (~ins).any() else float("nan"))
    return out


@dataclass
class AbsoluteScores:
    """Whole-path scores on rendered photos (mm unless stated)."""

    num_people: int
    num_aug: int
    mrpe: float
    mpjpe_abs: float
    mpjpe_rel: float
    pck150_rel: float  # %
    pck150_abs: float  # %
    ms_per_person: float
    root_methods: dict[str, int]


def absolute_scores(estimator: MetrabsEstimator, render_dirs: list[str], limit: int = 300
                    ) -> AbsoluteScores:
    """Run :class:`MetrabsEstimator` ``estimator`` on the first ``limit`` rendered photos with
    their true intrinsics and the ground-truth joint box; score the absolute poses."""
    preds: list[np.ndarray] = []
    gts: list[np.ndarray] = []
    methods: dict[str, int] = {}
    seconds = 0.0
    n = 0
    for d in render_dirs:
        for shard_path in sorted(Path(d).glob("shard-*.npz")):
            shard = read_shard(shard_path)
            b = shard.batch
            for i in range(len(b.intrinsics)):
                if n >= limit:
                    break
                kp_gt = b.keypoints_2d_gt_px[i, 0]
                box = joints_box(kp_gt)
                t0 = time.perf_counter()
                people, _ = estimator.predict_boxes(shard.image(i), box[None], b.intrinsics[i],
                                                    suppress=False)
                seconds += time.perf_counter() - t0
                n += 1
                if not people:
                    continue
                p = people[0]
                preds.append(p.pose_3d_abs_mm)
                gts.append(b.pose_3d_cam_mm[i, 0].astype(np.float64))
                methods[p.root_method] = methods.get(p.root_method, 0) + 1
    pred, gt = np.stack(preds), np.stack(gts)
    err_abs = np.linalg.norm(pred - gt, axis=-1)
    err_rel = np.linalg.norm((pred - pred[:, :1]) - (gt - gt[:, :1]), axis=-1)
    return AbsoluteScores(
        num_people=len(pred), num_aug=estimator.num_aug,
        mrpe=float(err_abs[:, 0].mean()), mpjpe_abs=float(err_abs.mean()),
        mpjpe_rel=float(err_rel.mean()), pck150_rel=float(100 * (err_rel <= 150).mean()),
        pck150_abs=float(100 * (err_abs <= 150).mean()),
        ms_per_person=1000 * seconds / max(n, 1), root_methods=methods)


def evaluate_metrabs(model: str | PoseModel, data: str | Path, num_aug: int = 1,
                     limit: int = 300) -> tuple[str, dict]:
    """``monopose evaluate`` for a MeTRAbs model (a registered name, or one loaded with
    :func:`monopose.zoo.load_pose_model`, whose ``num_aug`` then holds): a render folder (whole
    inference path) or a truncation crop cache (``crops-*.npz``). Returns ``(text, scores)``.

    Raises:
        ValueError: ``data`` holds neither kind of file, or ``model`` is not a MeTRAbs model.
    """
    estimator = load_pose_model(model, num_aug=num_aug) if isinstance(model, str) else model
    if not isinstance(estimator, MetrabsEstimator):
        raise ValueError(f"model: expected a MeTRAbs model, got {type(estimator).__name__}")
    model_name = estimator.card.name if estimator.card is not None else "metrabs"
    num_aug = estimator.num_aug
    folder = Path(data)
    if any(folder.glob("crops-*.npz")):
        table = truncation_table({model_name: estimator.module}, load_crop_cache(folder))
        row = table[model_name]
        text = "\n".join(f"{model_name}: {100 * c:.0f} % cut off: MPJPE {v:.1f} mm"
                         for c, v in row.items())
        return text, {"model": model_name, "mpjpe_rel_mm": {str(c): v for c, v in row.items()}}
    if any(folder.glob("shard-*.npz")):
        scores = absolute_scores(estimator, [str(folder)], limit)
        text = (f"{model_name} (TTA {num_aug}) on {scores.num_people} rendered people: "
                f"MRPE {scores.mrpe:.1f} mm, absolute MPJPE {scores.mpjpe_abs:.1f} mm, "
                f"root-relative MPJPE {scores.mpjpe_rel:.1f} mm, PCK@150 "
                f"{scores.pck150_rel:.1f} % (absolute {scores.pck150_abs:.1f} %), "
                f"{scores.ms_per_person:.1f} ms per person; roots {scores.root_methods}")
        return text, {"model": model_name, **asdict(scores)}
    raise ValueError(f"data: {folder} holds neither rendered shards (shard-*.npz) nor a "
                     "truncation crop cache (crops-*.npz)")
