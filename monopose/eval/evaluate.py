"""Evaluation of lifters: the standard metrics per action and overall, under several conditions.

Conditions (all on the same windows; the centre frame of each window is scored):

* ``gt2d``: exact 2D projections, all joints present;
* ``noisy2d``: the detector-like 2D of the data (noise, and whatever the data marks missing);
* ``missing{k}``: exact 2D with ``k`` random joints missing in all frames (same joints for every
  model: the masks depend only on the seed and the sample);
* ``complete3d`` (models with ``complete_3d``, i.e. MPM): ground-truth root-relative 3D with one
  limb (3 joints) missing; the error is over the missing joints.

Metrics (``monopose.eval.metrics``): MPJPE, P-MPJPE, N-MPJPE (mm), PCK@150 and AUC (%), each as
the mean over frames and the unweighted mean over actions (the VideoPose3D convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from monopose.core.placement import check_placement, place_poses
from monopose.data.h36m import canonical_action, h36m_batch, load_h36m_sequences
from monopose.data.sampler import MocapSampler, eval_config
from monopose.eval import metrics as M
from monopose.lifting.batches import ensure_some_valid, occlude_random_joints
from monopose.lifting.lifter import Lifter
from monopose.models.interface import PoseModel
from monopose.models.weights_io import load_weights
from monopose.train.checkpoints import CHECKPOINT_KEY, model_state, read_checkpoint
from monopose.zoo import build_model, load_pose_model, pose_model_from_module

__all__ = [
    "DEFAULT_CONDITIONS",
    "METRICS",
    "EvalSet",
    "MetricTable",
    "EvalReport",
    "lift",
    "model_window",
    "keypoint_lifter",
    "load_lifter",
    "load_evaluation_model",
    "evaluate_model",
    "format_report",
    "format_comparison",
]

DEFAULT_CONDITIONS = ("gt2d", "noisy2d", "missing2", "missing4", "missing6")
METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "pck150", "auc")
_COMPLETION_PARTS = ((1, 2, 3), (14, 15, 16), (11, 12, 13), (4, 5, 6))  # one limb each


@dataclass
class EvalSet:
    """Fixed evaluation windows.

    Attributes:
        kp2d_gt_px: ``[N, T, J, 2]`` exact projections.
        kp2d_px: ``[N, T, J, 2]`` detector-like 2D.
        valid_2d: ``[N, T, J]`` validity of ``kp2d_px``.
        pose3d_rel_mm: ``[N, T, J, 3]`` root-relative ground truth (mm).
        groups: ``N`` action/content labels (``source/action``).
        ids: ``N`` sample ids.
        intrinsics: ``[N, 4]`` ``(fx, fy, cx, cy)`` px of each window's camera, or None;
            perspective-aware lifters need them.
    """

    kp2d_gt_px: np.ndarray
    kp2d_px: np.ndarray
    valid_2d: np.ndarray
    pose3d_rel_mm: np.ndarray
    groups: list[str]
    ids: list[str] = field(default_factory=list)
    intrinsics: np.ndarray | None = None

    def __post_init__(self) -> None:
        n, t, j, _ = np.shape(self.kp2d_gt_px)
        for name, shape in (("kp2d_px", (n, t, j, 2)), ("valid_2d", (n, t, j)),
                            ("pose3d_rel_mm", (n, t, j, 3))):
            if np.shape(getattr(self, name)) != shape:
                raise ValueError(f"{name}: expected shape {shape}, got "
                                 f"{np.shape(getattr(self, name))}")
        if len(self.groups) != n:
            raise ValueError(f"groups: expected {n} labels, got {len(self.groups)}")

    @property
    def size(self) -> int:
        return int(np.shape(self.kp2d_gt_px)[0])

    @property
    def window(self) -> int:
        return int(np.shape(self.kp2d_gt_px)[1])

    @classmethod
    def from_pose_batch(cls, batch: Any) -> EvalSet:
        """From a ``PoseBatch``; the group of ``source/clip/action/frame`` is ``source/action``."""
        groups = []
        for sid in batch.ids:
            parts = str(sid).split("/")
            groups.append(f"{parts[0]}/{parts[2]}" if len(parts) >= 3 else parts[0])
        pose = np.asarray(batch.pose_3d_cam_mm, dtype=np.float64)
        return cls(
            kp2d_gt_px=np.asarray(batch.keypoints_2d_gt_px, dtype=np.float64),
            kp2d_px=np.asarray(batch.keypoints_2d_px, dtype=np.float64),
            valid_2d=np.asarray(batch.valid_2d, dtype=bool),
            pose3d_rel_mm=pose - pose[..., :1, :],
            groups=groups,
            ids=[str(i) for i in batch.ids],
            intrinsics=np.asarray(batch.intrinsics, dtype=np.float64),
        )

    def centre_crop(self, window: int) -> EvalSet:
        """The centre ``window`` frames of every window (same centre frame)."""
        t = self.window
        if window > t:
            raise ValueError(f"window: the evaluation windows have {t} frames, need {window}")
        s = t // 2 - window // 2
        sl = slice(s, s + window)
        return EvalSet(self.kp2d_gt_px[:, sl], self.kp2d_px[:, sl], self.valid_2d[:, sl],
                       self.pose3d_rel_mm[:, sl], self.groups, self.ids, self.intrinsics)

    def missing_mask(self, k: int, seed: int = 0) -> np.ndarray:
        """``[N, T, J]`` validity with ``k`` joints hidden per sample (independent of T)."""
        n, t, j = self.valid_2d.shape
        rng = np.random.default_rng([seed, k])
        return occlude_random_joints(np.ones((n, 1, j), bool), 0, rng, exact=k).repeat(t, 1)


@dataclass
class MetricTable:
    """Scores of one condition.

    Attributes:
        frame_mean: metric -> mean over frames.
        action_mean: metric -> unweighted mean of per-action means.
        per_action: action -> metric -> value.
        frames: number of scored frames.
    """

    frame_mean: dict[str, float]
    action_mean: dict[str, float]
    per_action: dict[str, dict[str, float]]
    frames: int


@dataclass
class EvalReport:
    """All conditions of one model."""

    model: str
    window: int
    conditions: dict[str, MetricTable]
    completion: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "window": self.window, "completion": self.completion,
            "conditions": {k: {"frame_mean": v.frame_mean, "action_mean": v.action_mean,
                               "per_action": v.per_action, "frames": v.frames}
                           for k, v in self.conditions.items()},
        }


def model_window(model: nn.Module, default: int = 1) -> int:
    """Frames the model is meant to see: ``max_frames`` if it has a fixed length, else 1."""
    mf = getattr(model, "max_frames", None)
    return int(mf) if isinstance(mf, int) and mf >= 1 else default


def keypoint_lifter(model: PoseModel | nn.Module) -> PoseModel:
    """``model`` as a 2D-keypoint :class:`PoseModel`; a bare module is wrapped without flip test,
    lifting in its ``input_frame`` attribute's frame (``"image"`` if it has none).

    Raises:
        ValueError: a model that reads more than 2D keypoints (images or feature maps).
    """
    if isinstance(model, nn.Module):
        device = next(model.parameters()).device
        return Lifter.from_module(model, flip=False, device=device,
                                  input_frame=str(getattr(model, "input_frame", "image")))
    if model.needs != "keypoints":
        name = model.card.name if model.card is not None else "model"
        raise ValueError(f"model: {name!r} reads {model.needs}, not 2D keypoints alone; this "
                         "evaluation scores keypoint lifters")
    return model


def lift(model: PoseModel | nn.Module, kp2d_px: np.ndarray, valid: np.ndarray,
         batch_size: int = 512, intrinsics: np.ndarray | None = None) -> np.ndarray:
    """Lift ``[N, T, J, 2]`` px → ``[N, T, J, 3]`` root-relative mm through the model's
    interface (:meth:`PoseModel.lift`: per-window normalisation; perspective-aware lifters lift
    in a camera turned towards each person, given ``intrinsics [N, 4]``). Windows without a valid
    joint get one (:func:`ensure_some_valid`). A bare module (see :func:`keypoint_lifter`) keeps
    its training mode and runs ``batch_size`` windows per pass.
    """
    ok = ensure_some_valid(valid)
    kp = np.where(ok[..., None], kp2d_px, 0.0)
    if not isinstance(model, nn.Module):
        return keypoint_lifter(model).lift(kp, ok, intrinsics=intrinsics)
    was_training = model.training
    try:
        lifter = cast(Lifter, keypoint_lifter(model))
        return lifter.lift(kp, ok, batch_size=batch_size, intrinsics=intrinsics)
    finally:
        model.train(was_training)


def _table(pred_mm: np.ndarray, gt_mm: np.ndarray, groups: Sequence[str]) -> MetricTable:
    """Metrics of ``[N, J, 3]`` predictions."""
    errors = M.joint_errors(pred_mm, gt_mm)  # [N, J]
    per_frame = {
        "mpjpe": M.mpjpe_per_sample(pred_mm, gt_mm),
        "p_mpjpe": M.p_mpjpe_per_sample(pred_mm, gt_mm),
        "n_mpjpe": M.n_mpjpe_per_sample(pred_mm, gt_mm),
        "pck150": 100.0 * (errors < M.PCK_THRESHOLD_MM).mean(axis=-1),
        "auc": 100.0 * (errors[..., None] < M.AUC_THRESHOLDS_MM).mean(axis=(-2, -1)),
    }
    frame_mean, action_mean = {}, {}
    per_action: dict[str, dict[str, float]] = {}
    for name, values in per_frame.items():
        frame_mean[name] = float(np.mean(values))
        action_mean[name], by_group = M.average_by_group(values, list(groups))
        for g, v in by_group.items():
            per_action.setdefault(str(g), {})[name] = float(v)
    return MetricTable(frame_mean, action_mean, per_action, int(pred_mm.shape[0]))


@torch.no_grad()
def _completion(model: nn.Module, data: EvalSet, batch_size: int) -> dict[str, float]:
    """3D completion with one limb missing (limb = sample index mod 4), centre frame scored."""
    gt = data.pose3d_rel_mm / 1000.0
    n, t, j, _ = gt.shape
    hidden = np.zeros((n, t, j), bool)
    for i in range(n):
        hidden[i, :, list(_COMPLETION_PARTS[i % len(_COMPLETION_PARTS)])] = True
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    preds = []
    for s in range(0, n, batch_size):
        x = torch.from_numpy(gt[s:s + batch_size].astype(np.float32)).to(device)
        v = torch.from_numpy(~hidden[s:s + batch_size]).to(device)
        preds.append(cast(Any, model).complete_3d(x, v).float().cpu().numpy() * 1000.0)
    model.train(was_training)
    pred = np.concatenate(preds)
    c = t // 2
    missing = hidden[:, c]
    err = M.joint_errors(pred[:, c], data.pose3d_rel_mm[:, c], missing)
    return {"limb_mpjpe": float(np.nanmean(err)),
            "pose_mpjpe": float(M.mpjpe(pred[:, c], data.pose3d_rel_mm[:, c]))}


def evaluate_model(
    model: PoseModel | nn.Module,
    data: EvalSet,
    name: str = "model",
    conditions: Sequence[str] = DEFAULT_CONDITIONS,
    window: int | None = None,
    seed: int = 0,
    batch_size: int = 512,
    completion: bool = True,
    placement: str = "solve",
) -> EvalReport:
    """Score ``model`` on ``data`` under ``conditions``.

    Args:
        model: a 2D-keypoint :class:`PoseModel` (load it without flip test for the standard
            protocol, e.g. :func:`load_lifter`) or a bare lifter module
            (``forward(kp2d_norm, valid) -> metres``, see :func:`keypoint_lifter`).
        data: evaluation windows; a model with a shorter window sees their centre frames.
        name: label of the model in the report.
        conditions: subset of ``gt2d``, ``noisy2d``, ``missing{k}``.
        window: frames to feed (default :func:`model_window`).
        seed: seed of the missing-joint masks.
        batch_size: windows per forward pass.
        completion: also score 3D completion when the model has ``complete_3d``.
        placement: ``"solve"`` scores the lifted poses; ``"ray_fit"`` the poses
            :func:`monopose.core.placement.place_poses` fits to the centre frame's 2D rays,
            as ``monopose predict`` and ``lift`` output them (needs the data's intrinsics).

    Raises:
        ValueError: an unknown condition or placement, or ``"ray_fit"`` without intrinsics.
    """
    check_placement(placement)
    if placement == "ray_fit" and data.intrinsics is None:
        raise ValueError("placement: 'ray_fit' fits the poses to their 2D rays and needs the "
                         "evaluation data's intrinsics; these windows have none")
    pose_model = keypoint_lifter(model)
    window = window or (model_window(model) if isinstance(model, nn.Module)
                        else pose_model.window)
    sub = data.centre_crop(window)
    c = window // 2
    gt = sub.pose3d_rel_mm[:, c]
    tables: dict[str, MetricTable] = {}
    for cond in conditions:
        if cond == "gt2d":
            kp, valid = sub.kp2d_gt_px, np.ones(sub.valid_2d.shape, bool)
        elif cond == "noisy2d":
            kp, valid = sub.kp2d_px, sub.valid_2d
        elif cond.startswith("missing") and cond[7:].isdigit():
            kp, valid = sub.kp2d_gt_px, data.missing_mask(int(cond[7:]), seed)[:, :window]
        else:
            raise ValueError(f"conditions: unknown condition {cond!r}; expected gt2d, noisy2d "
                             "or missing<k>")
        pred = lift(model, kp, valid, batch_size, sub.intrinsics)[:, c]
        if placement == "ray_fit" and sub.intrinsics is not None:
            seen = ensure_some_valid(valid)[:, c]
            _, pred, _ = place_poses(np.where(seen[..., None], kp[:, c], 0.0), pred, seen,
                                     sub.intrinsics, placement="ray_fit")
        tables[cond] = _table(pred, gt, sub.groups)
    comp = None
    if completion and hasattr(pose_model.module, "complete_3d"):
        comp = _completion(pose_model.module, sub, batch_size)
    return EvalReport(name, window, tables, comp)


_LABELS = {"mpjpe": "MPJPE", "p_mpjpe": "P-MPJPE", "n_mpjpe": "N-MPJPE", "pck150": "PCK@150",
           "auc": "AUC"}


def format_report(report: EvalReport, per_action: bool = True) -> str:
    """Markdown tables: overall (frame mean and action mean) per condition, then per action."""
    lines = [f"## {report.model} (window {report.window})", ""]
    head = "| condition | frames | " + " | ".join(
        f"{_LABELS[m]} (frames) | {_LABELS[m]} (actions)" for m in METRICS) + " |"
    lines += [head, "|" + "---|" * (2 + 2 * len(METRICS))]
    for cond, tab in report.conditions.items():
        cells = " | ".join(f"{tab.frame_mean[m]:.1f} | {tab.action_mean[m]:.1f}" for m in METRICS)
        lines.append(f"| {cond} | {tab.frames} | {cells} |")
    if report.completion is not None:
        lines += ["", f"3D completion, one limb missing: {report.completion['limb_mpjpe']:.1f} mm "
                  f"on the missing joints, {report.completion['pose_mpjpe']:.1f} mm whole pose"]
    if per_action:
        for cond, tab in report.conditions.items():
            lines += ["", f"### {cond}: per action", "",
                      "| action | " + " | ".join(_LABELS[m] for m in METRICS) + " |",
                      "|" + "---|" * (1 + len(METRICS))]
            for action, vals in tab.per_action.items():
                lines.append(f"| {action} | " + " | ".join(f"{vals[m]:.1f}" for m in METRICS)
                             + " |")
    return "\n".join(lines)


def format_comparison(reports: Sequence[EvalReport], average: str = "action_mean") -> str:
    """One markdown table: MPJPE / P-MPJPE of every model under every condition."""
    conds = list(dict.fromkeys(c for r in reports for c in r.conditions))
    head = "| model | " + " | ".join(f"{c} MPJPE / P-MPJPE" for c in conds) + \
        " | 3D completion (limb) |"
    lines = [head, "|" + "---|" * (len(conds) + 2)]
    for r in reports:
        cells = []
        for c in conds:
            tab = r.conditions.get(c)
            if tab is None:
                cells.append("–")
                continue
            vals = getattr(tab, average)
            cells.append(f"{vals['mpjpe']:.1f} / {vals['p_mpjpe']:.1f}")
        comp = f"{r.completion['limb_mpjpe']:.1f}" if r.completion else "–"
        lines.append(f"| {r.model} | " + " | ".join(cells) + f" | {comp} |")
    return "\n".join(lines)


def load_lifter(checkpoint_or_model: str) -> tuple[PoseModel, str, int]:
    """Load a 2D-keypoint lifter for evaluation (no flip test) from a training checkpoint
    (``.ckpt``), exported weights (``.safetensors``/``.json``) or a registry name.

    Returns:
        ``(PoseModel, label, window)``.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: a corrupted file, a checkpoint whose tensors do not fit its architecture, an
            unknown name, or a model that reads more than 2D keypoints.
    """
    model, label, window = load_evaluation_model(checkpoint_or_model)
    return keypoint_lifter(model), label, window


def load_evaluation_model(checkpoint_or_model: str, num_aug: int = 1
                          ) -> tuple[PoseModel, str, int]:
    """:func:`load_lifter` for any model: registered image models too (``num_aug`` test-time
    augmentations); the caller checks ``needs``. Returns ``(PoseModel, label, window)``."""
    spec = str(checkpoint_or_model)
    path = Path(spec)
    if path.suffix == ".ckpt":
        return _checkpoint_lifter(path)
    if path.suffix in (".safetensors", ".json") or path.exists():
        if not path.exists():
            raise FileNotFoundError(f"weights not found: {path}")
        module, info = load_weights(path)
        card = info.get("card") or {}
        model = pose_model_from_module(module, flip=False, num_aug=num_aug,
                                       input_frame=str(card.get("input_frame", "image")))
        return model, path.stem, int(card.get("window", 0)) or model_window(module)
    model = load_pose_model(spec, flip=False, num_aug=num_aug)
    return model, spec, model.window


def _checkpoint_lifter(path: Path) -> tuple[PoseModel, str, int]:
    """:func:`load_lifter` of a training checkpoint (its run's window and input frame)."""
    ckpt = read_checkpoint(path)
    meta = ckpt[CHECKPOINT_KEY]
    module = build_model(meta["architecture"], meta["model_config"])
    try:
        module.load_state_dict(model_state(ckpt), strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{path}: weights do not fit architecture "
                         f"{meta['architecture']!r}: {str(exc).splitlines()[0]}") from None
    data_cfg = meta.get("experiment", {}).get("data", {})
    window = int(data_cfg.get("window", 0)) or model_window(module)
    model = keypoint_lifter(pose_model_from_module(
        module, flip=False, input_frame=str(data_cfg.get("input_frame", "image"))))
    label = path.stem if path.stem != "last" else path.parent.parent.name
    return model, label, window


def mocap_eval_set(
    cache: str, split: str = "test", window: int = 27, num_windows: int = 1500,
    sources: Sequence[str] | None = None, seed: int = 0, noise: str = "detector",
) -> EvalSet:
    """Fixed evaluation windows from a mocap cache: ``num_windows`` starts evenly spaced over the
    split (so every clip contributes in proportion to its length), cameras and noise drawn with
    ``seed`` through the data layer's evaluation settings (no augmentation, all joints present).
    """
    cfg = eval_config(noise=noise, sources=tuple(sources) if sources else None)
    sampler = MocapSampler(cache, split=split, window=window, config=cfg, seed=seed)
    n = min(num_windows, len(sampler))
    starts = sampler.starts[np.linspace(0, len(sampler) - 1, n).round().astype(np.int64)]
    batch = sampler.make_batch(starts, np.random.default_rng(seed))
    return EvalSet.from_pose_batch(batch)


def h36m_eval_set(data_3d: str, data_2d: str | None = None,
                  subjects: Sequence[str] = ("S9", "S11"), window: int = 27,
                  frame_step: int = 1) -> EvalSet:
    """Evaluation windows from Human3.6M-format npz files (VideoPose3D's ``data_3d_h36m.npz`` and
    ``data_2d_h36m_<detector>.npz``) through the data layer's reader.

    Every ``frame_step``-th frame of every test sequence and camera is the centre of one window
    (``frame_step=1`` is the lifting protocol). Without ``data_2d`` the "noisy" 2D is the ground
    truth projection. Actions are the canonical names with both trials pooled (the VideoPose3D
    averaging).
    """
    sequences = load_h36m_sequences(data_3d, data_2d, subjects=subjects)
    data = EvalSet.from_pose_batch(h36m_batch(sequences, window=window, frame_step=frame_step))
    data.groups = [f"h36m/{canonical_action(i.split('/')[2])[0]}" for i in data.ids]
    return data
