"""The context lifters' training task (config ``task: capf``): a context lifter (CA-PF) or a
context-free lifter, trained identically on the same feature cache.

Both read the same cached samples (the frozen detector's 2D keypoints and validity, the rendered
ground truth) with the same random flips, loss, optimiser and schedule; only the context lifter
also reads the patches. ``data.cache`` is the feature cache root holding ``train/`` and ``val/``
(:mod:`monopose.capf.dataset`); ``data.sampler.flip_prob`` sets the flip probability (default
0.5). After training, rank 0 scores the flip-averaged lifting of the validation cache
(``val/mpjpe_flip``, mm).

    monopose train monopose/train/configs/capf-blazepose-t1.yaml

The Lightning module extends the lifters' :class:`monopose.lifting.module.LiftingModule` and only
changes how the model is called.
"""

from __future__ import annotations

import time
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor, nn

from monopose.capf import cards
from monopose.capf.dataset import ContextArrays, ContextBatchStream, load_feature_cache
from monopose.capf.features import ContextInputs
from monopose.capf.inference import lift_context_inputs, needs_context
from monopose.lifting import cards as lifting_cards
from monopose.lifting.losses import mpjpe_loss
from monopose.lifting.module import LiftingModule
from monopose.train.config import ConfigError, ExperimentConfig
from monopose.train.engine import RunDir
from monopose.train.task import StreamDataModule, TrainingModule, TrainingTask, build_family_model

__all__ = ["ContextLiftingModule", "make_task", "predict_cache", "val_batches"]


class ContextLiftingModule(LiftingModule):
    """:class:`LiftingModule` whose model may take the context patches (MPJPE loss only)."""

    def predict_mm(self, batch: dict[str, Any]) -> Tensor:
        if needs_context(self.model):
            out = self.model(batch["kp2d"], batch["valid"], batch["features"],
                             batch["feature_valid"])
        else:
            out = self.model(batch["kp2d"], batch["valid"])
        return out * 1000.0

    def losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        err = mpjpe_loss(self.predict_mm(batch), batch["pose3d"] * 1000.0)
        return {"mpjpe": err, "loss": self.cfg.loss.mpjpe * err}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        err = mpjpe_loss(self.predict_mm(batch), batch["pose3d"] * 1000.0)
        self.log("val/mpjpe", err, prog_bar=True, batch_size=self.batch_size(batch))


def predict_cache(model: nn.Module, data: ContextArrays, flip: bool = True,
                  batch_size: int = 256) -> np.ndarray:
    """``[N, 17, 3]`` root-relative mm predictions on a loaded cache (flip-averaged), in the
    renders' camera frame (lifted in the cache's ``input_frame``)."""
    inputs = ContextInputs(data.kp_px.astype(np.float64), data.valid,
                           [lv for lv in data.levels], data.inside)
    return lift_context_inputs(inputs, model, flip, batch_size, data.intrinsics,
                               data.input_frame)


def val_batches(data: ContextArrays, batch_size: int) -> list[dict[str, Any]]:
    """The whole cache in order, as unflipped batches of ``batch_size``."""
    n = len(data)
    return [data.batch(np.arange(s, min(n, s + batch_size))) for s in range(0, n, batch_size)]


def _flip_error(data: ContextArrays) -> Any:
    """Rank-0 final score: flip-averaged MPJPE (mm) of the module's model on ``data``."""
    def finish(module: TrainingModule) -> dict[str, float]:
        pred = predict_cache(module.model, data, flip=True)
        gt = data.pose3d_cam_mm - data.pose3d_cam_mm[:, :1]
        return {"val/mpjpe_flip": float(np.linalg.norm(pred - gt, axis=-1).mean())}

    return finish


def make_task(cfg: ExperimentConfig, run: RunDir, val_limit: int | None = None) -> TrainingTask:
    """The context-lifting task of ``cfg``: train on ``<data.cache>/train``, validate on
    ``<data.cache>/val`` (its first ``val_limit`` samples) when it exists.

    Raises:
        FileNotFoundError: no feature cache in ``<data.cache>/train``.
    """
    if cfg.task != "capf":
        raise ConfigError(f"task: the context-lifting task trains 'capf', got {cfg.task!r}")
    model = build_family_model(cfg.model.name, cfg.model.config,
                               {**lifting_cards.ARCHITECTURES, **cards.ARCHITECTURES},
                               chain(cards.CARDS, lifting_cards.CARDS))
    ctx = needs_context(model)
    root = Path(cfg.data.cache)
    t0 = time.perf_counter()
    frame = cfg.data.input_frame
    train = load_feature_cache(root / "train", with_levels=ctx, input_frame=frame)
    val = (load_feature_cache(root / "val", limit=val_limit, with_levels=ctx, input_frame=frame)
           if (root / "val").is_dir() and cfg.data.val_batches > 0 else None)
    load_s = time.perf_counter() - t0
    tr = cfg.trainer
    flip_prob = float(cfg.data.sampler.get("flip_prob", 0.5))
    stream = ContextBatchStream(train, tr.batch_size, flip_prob, tr.seed)
    datamodule = StreamDataModule(
        stream, None if val is None else (lambda: val_batches(val, cfg.data.val_batch_size)),
        num_workers=cfg.data.num_workers)
    facts = {"context": ctx, "train_samples": len(train),
             "train_missing_person": train.num_missing, "flip_prob": flip_prob,
             "val_samples": 0 if val is None else len(val), "cache_load_s": round(load_s, 1),
             "data": str(root), "input_frame": frame}
    card = next((c for c in cards.CARDS if c.name == cfg.export.name), None)
    return TrainingTask(ContextLiftingModule(model, cfg), datamodule, card=card,
                        val_metrics=("val/mpjpe", "val/mpjpe_flip"),
                        finish=None if val is None else _flip_error(val), facts=facts)
