"""Lightning modules: supervised lifting and MPM masked pre-training.

The wrapped model is a plain lifter ``nn.Module`` (``forward(kp2d [B,T,J,2], valid [B,T,J]) ->
[B,T,J,3]`` root-relative metres); the training logic lives here, the optimiser, schedule, time
budget and checkpoint metadata in the engine's :class:`~monopose.train.task.TrainingModule`.
Losses are in mm (3D) and in normalised 2D units times 1000 (2D), so the weights of the config are
on comparable scales.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import Tensor, nn

from monopose.core.skeleton import get_layout
from monopose.lifting.losses import (
    bone_length_loss,
    bone_vector_loss,
    depth_weighted,
    mpjpe_loss,
    velocity_loss,
)
from monopose.lifting.masking import (
    BODY_PARTS,
    COMPLETION_PARTS,
    body_part_mask,
    pretrain_masks,
    random_body_part_mask,
)
from monopose.train.checkpoints import CHECKPOINT_KEY
from monopose.train.config import ExperimentConfig
from monopose.train.task import TrainingModule

__all__ = ["LiftingModule", "MPMPretrainModule", "build_module", "CHECKPOINT_KEY"]

_BONES = get_layout("h36m17").bones


class LiftingModule(TrainingModule):
    """Supervised 2D→3D lifting (MPJPE in mm, its depth part optionally weighted more; optional
    bone-length, bone-vector, velocity and 3D-completion terms).

    Args:
        model: the lifter (with ``architecture`` and ``config`` attributes, as registry models).
        cfg: the experiment config (loss weights, optimiser, schedule).
    """

    def batch_size(self, batch: dict[str, Any]) -> int:
        return int(batch["kp2d"].shape[0])

    def predict_mm(self, batch: dict[str, Any]) -> Tensor:
        """``[B, T, J, 3]`` root-relative mm (with the angular size and the keypoint scores for
        a model that takes them)."""
        extra = {}
        if getattr(self.model, "size_input", False):
            extra["angular_size"] = batch.get("angular_size")
        if getattr(self.model, "score_input", False):
            extra["scores"] = batch.get("scores")
        if getattr(self.model, "up_input", False):
            extra["camera_up"] = batch.get("camera_up")
        return self.model(batch["kp2d"], batch["valid"], **extra) * 1000.0

    def losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        pred_mm = self.predict_mm(batch)
        gt_mm = batch["pose3d"] * 1000.0
        w = self.cfg.loss
        out = {"mpjpe": mpjpe_loss(depth_weighted(pred_mm, w.depth_weight),
                                   depth_weighted(gt_mm, w.depth_weight))}
        loss = w.mpjpe * out["mpjpe"]
        if w.bone_vector > 0:
            out["bone_vector"] = bone_vector_loss(pred_mm, gt_mm, _BONES)
            loss = loss + w.bone_vector * out["bone_vector"]
        if w.bone > 0:
            out["bone"] = bone_length_loss(pred_mm, gt_mm, _BONES)
            loss = loss + w.bone * out["bone"]
        if w.velocity > 0 and pred_mm.shape[1] > 1:
            out["velocity"] = velocity_loss(pred_mm, gt_mm)
            loss = loss + w.velocity * out["velocity"]
        if w.complete3d > 0:
            out["complete3d"] = self._completion_loss(batch["pose3d"])
            loss = loss + w.complete3d * out["complete3d"]
        out["loss"] = loss
        return out

    def _completion_loss(self, gt_m: Tensor) -> Tensor:
        """MPJPE (mm) of MPM's 3D completion on a random body part hidden per sample."""
        complete = getattr(self.model, "complete_3d", None)
        if complete is None:
            raise ValueError(f"loss.complete3d > 0 needs a model with complete_3d (architecture "
                             f"'mpm'), got {type(self.model).__name__}")
        b, t, j, _ = gt_m.shape
        hidden = random_body_part_mask(b, t, tuple(COMPLETION_PARTS), j).to(gt_m.device)
        pred = complete(gt_m, ~hidden, keep_observed=False)
        return mpjpe_loss(pred * 1000.0, gt_m * 1000.0, hidden)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        err = mpjpe_loss(self.predict_mm(batch), batch["pose3d"] * 1000.0)
        self.log("val/mpjpe", err, prog_bar=True, sync_dist=True,
                 batch_size=self.batch_size(batch))
        if self.cfg.task == "lift" and self.cfg.loss.complete3d > 0:
            self.log("val/complete3d", self._completion_loss(batch["pose3d"]), sync_dist=True,
                     batch_size=self.batch_size(batch))


class MPMPretrainModule(LiftingModule):
    """MPM pre-training: masked 2D modelling + masked 3D modelling + masked 2D→3D lifting.

    Each batch draws MAE-style masks (``monopose.lifting.masking.pretrain_masks``: 60 % of frames
    plus 5 joints per frame for T > 1; 12 of 17 joints for T = 1, ≈72 % of tokens either way) or,
    with probability ``masking.body_part_prob``, a body-part tube. The loss is
    ``mask2d·MPJPE2D + mask3d·MPJPE3D + lift·MPJPE(lift)`` over all joints and frames.
    """

    def __init__(self, model: nn.Module, cfg: ExperimentConfig) -> None:
        super().__init__(model, cfg)
        if not hasattr(model, "forward_pretrain"):
            raise ValueError(
                f"model: task 'mpm_pretrain' needs a model with forward_pretrain "
                f"(architecture 'mpm'), got {type(model).__name__}"
            )

    def _masks(self, b: int, t: int, j: int, device: torch.device) -> tuple[Tensor, ...]:
        m = self.cfg.masking
        masks = pretrain_masks(
            b, t, j,
            spatial_joints=m.spatial_joints if t > 1 else None,
            temporal_ratio=m.temporal_ratio if t > 1 else None,
        )
        mask_2d, mask_3d = masks.mask_2d, masks.mask_3d
        if m.body_part_prob > 0:
            parts = tuple(BODY_PARTS)
            use = (torch.rand(b) < m.body_part_prob)[:, None, None]
            mask_2d = torch.where(use, random_body_part_mask(b, t, parts, j), mask_2d)
            use = (torch.rand(b) < m.body_part_prob)[:, None, None]
            mask_3d = torch.where(use, random_body_part_mask(b, t, parts, j), mask_3d)
        return mask_2d.to(device), mask_3d.to(device), masks.frame_mask.to(device)

    def losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        kp2d, gt2d, gt3d = batch["kp2d_gt"], batch["kp2d_gt"], batch["pose3d"]
        b, t, j, _ = kp2d.shape
        mask_2d, mask_3d, frame_mask = self._masks(b, t, j, kp2d.device)
        rec2d, rec3d, lifted = cast(Any, self.model).forward_pretrain(
            kp2d, mask_2d, gt3d, mask_3d, frame_mask if t > 1 else None
        )
        w = self.cfg.loss
        parts = {
            "mask2d": mpjpe_loss(rec2d * 1000.0, gt2d * 1000.0),
            "mask3d": mpjpe_loss(rec3d * 1000.0, gt3d * 1000.0),
            "lift": mpjpe_loss(lifted * 1000.0, gt3d * 1000.0),
        }
        parts["loss"] = (w.mask2d * parts["mask2d"] + w.mask3d * parts["mask3d"]
                         + w.lift * parts["lift"])
        return parts

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        super().validation_step(batch, batch_idx)
        # 3D completion with one limb missing: the second pretext task, tracked during training
        gt = batch["pose3d"]
        b, t, j, _ = gt.shape
        part = COMPLETION_PARTS[batch_idx % len(COMPLETION_PARTS)]
        hidden = body_part_mask(b, t, part, j).to(gt.device)
        pred = cast(Any, self.model).complete_3d(gt, ~hidden)
        err = mpjpe_loss(pred * 1000.0, gt * 1000.0, hidden)
        self.log("val/complete3d", err, sync_dist=True, batch_size=b)


def build_module(model: nn.Module, cfg: ExperimentConfig) -> LiftingModule:
    """The Lightning module for ``cfg.task`` (``lift`` or ``mpm_pretrain``)."""
    if cfg.task == "mpm_pretrain":
        return MPMPretrainModule(model, cfg)
    return LiftingModule(model, cfg)
