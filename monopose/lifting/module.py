"""Lightning modules: supervised lifting and MPM masked pre-training.

The wrapped model is a plain lifter ``nn.Module`` (``forward(kp2d [B,T,J,2], valid [B,T,J]) ->
[B,T,J,3]`` root-relative metres); all training logic lives here. Losses are in mm (3D) and in
normalised 2D units times 1000 (2D), so the weights of the config are on comparable scales.
"""

from __future__ import annotations

import math
import time
from typing import Any, cast

import lightning as L
import torch
from torch import Tensor, nn

from monopose.core.skeleton import get_layout
from monopose.lifting.losses import bone_length_loss, mpjpe_loss, velocity_loss
from monopose.train.config import ExperimentConfig, config_to_dict

__all__ = ["LiftingModule", "MPMPretrainModule", "build_module", "CHECKPOINT_KEY"]

CHECKPOINT_KEY = "monopose"
_BONES = get_layout("h36m17").bones


class LiftingModule(L.LightningModule):
    """Supervised 2D→3D lifting (MPJPE in mm, optional bone-length and velocity terms).

    Args:
        model: the lifter (with ``architecture`` and ``config`` attributes, as registry models).
        cfg: the experiment config (loss weights, optimiser, schedule).
    """

    def __init__(self, model: nn.Module, cfg: ExperimentConfig) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self._time_before_s = 0.0  # training time of earlier sessions (restored on resume)
        self._session_start: float | None = None

    # -- time accounting (wall-clock of training, summed over resumed sessions) ---------------

    def on_train_start(self) -> None:
        self._session_start = time.perf_counter()

    def train_time_s(self) -> float:
        now = time.perf_counter()
        return self._time_before_s + (now - self._session_start if self._session_start else 0.0)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CHECKPOINT_KEY] = {
            "architecture": getattr(self.model, "architecture", type(self.model).__name__),
            "model_config": dict(getattr(self.model, "config", {})),
            "experiment": config_to_dict(self.cfg),
            "train_time_s": self.train_time_s(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = checkpoint.get(CHECKPOINT_KEY, {})
        self._time_before_s = float(meta.get("train_time_s", 0.0))

    # -- steps --------------------------------------------------------------------------------

    def lifting_losses(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        pred_mm = self.model(batch["kp2d"], batch["valid"]) * 1000.0
        gt_mm = batch["pose3d"] * 1000.0
        w = self.cfg.loss
        out = {"mpjpe": mpjpe_loss(pred_mm, gt_mm)}
        loss = w.mpjpe * out["mpjpe"]
        if w.bone > 0:
            out["bone"] = bone_length_loss(pred_mm, gt_mm, _BONES)
            loss = loss + w.bone * out["bone"]
        if w.velocity > 0 and pred_mm.shape[1] > 1:
            out["velocity"] = velocity_loss(pred_mm, gt_mm)
            loss = loss + w.velocity * out["velocity"]
        out["loss"] = loss
        return out

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        losses = self.lifting_losses(batch)
        bsz = int(batch["kp2d"].shape[0])
        self.log_dict({f"train/{k}": v.detach() for k, v in losses.items()}, batch_size=bsz,
                      prog_bar=False)
        self.log("loss", losses["loss"].detach(), prog_bar=True, batch_size=bsz, logger=False)
        return losses["loss"]

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        pred_mm = self.model(batch["kp2d"], batch["valid"]) * 1000.0
        err = mpjpe_loss(pred_mm, batch["pose3d"] * 1000.0)
        self.log("val/mpjpe", err, prog_bar=True, sync_dist=True,
                 batch_size=int(batch["kp2d"].shape[0]))

    # -- optimiser ----------------------------------------------------------------------------

    def configure_optimizers(self) -> Any:
        o = self.cfg.optim
        decay: list[nn.Parameter] = []
        no_decay: list[nn.Parameter] = []
        for name, p in self.model.named_parameters():
            if not p.requires_grad:
                continue
            # norms, biases, embeddings and mask tokens are not weight-decayed
            (no_decay if p.ndim < 2 or "embed" in name or "token" in name else decay).append(p)
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=o.lr, betas=(o.betas[0], o.betas[1]),
        )
        total = max(1, self.cfg.trainer.max_steps)
        warm = max(0, o.warmup_steps)
        budget_s = (self.cfg.trainer.max_time_min or 0.0) * 60.0

        def factor(step: int) -> float:
            if step < warm:
                return (step + 1) / warm
            if o.schedule == "constant":
                return 1.0
            prog = min(1.0, (step - warm) / max(1, total - warm))
            if budget_s > 0:
                # a wall-clock budget ends the run early on a slow machine: decay on time too
                prog = max(prog, min(1.0, self.train_time_s() / budget_s))
            return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * prog))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


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
        from monopose.lifting.masking import (
            BODY_PARTS,
            pretrain_masks,
            random_body_part_mask,
        )

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

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
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
        loss = w.mask2d * parts["mask2d"] + w.mask3d * parts["mask3d"] + w.lift * parts["lift"]
        parts["loss"] = loss
        self.log_dict({f"train/{k}": v.detach() for k, v in parts.items()}, batch_size=b)
        self.log("loss", loss.detach(), prog_bar=True, batch_size=b, logger=False)
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        super().validation_step(batch, batch_idx)
        # 3D completion with one limb missing: the second pretext task, tracked during training
        from monopose.lifting.masking import COMPLETION_PARTS, body_part_mask

        gt = batch["pose3d"]
        b, t, j, _ = gt.shape
        part = COMPLETION_PARTS[batch_idx % len(COMPLETION_PARTS)]
        hidden = body_part_mask(b, t, part, j).to(gt.device)
        pred = cast(Any, self.model).complete_3d(gt, ~hidden)
        err = mpjpe_loss(pred * 1000.0, gt * 1000.0, hidden)
        self.log("val/complete3d", err, sync_dist=True, batch_size=b)


def build_module(model: nn.Module, cfg: ExperimentConfig) -> LiftingModule:
    """The Lightning module for ``cfg.task``."""
    if cfg.task == "mpm_pretrain":
        return MPMPretrainModule(model, cfg)
    return LiftingModule(model, cfg)
