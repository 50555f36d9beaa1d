"""Train a context lifter (CA-PF) or a context-free lifter on the same feature cache.

Both read the same cached samples (the frozen detector's 2D keypoints and validity, the rendered
ground truth) with the same random flips, loss, optimiser and schedule; only the context lifter
also reads the patches. The experiment file is the lifter engine's YAML
(:class:`monopose.train.config.ExperimentConfig`), with ``data.cache`` = the feature cache root
holding ``train/`` and ``val/``; ``data.sampler.flip_prob`` sets the flip probability (default 0.5).

    python -m monopose.capf.training monopose/train/configs/capf-blazepose-t1.yaml

The Lightning module extends the engine's :class:`monopose.lifting.module.LiftingModule` (same
optimiser groups, warm-up + cosine schedule with the time budget, checkpoint metadata) and only
changes how the model is called.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import Tensor, nn
from torch.utils.data import DataLoader

from monopose.capf.dataset import ContextArrays, ContextBatchStream, load_feature_cache
from monopose.capf.inference import needs_context
from monopose.lifting.losses import mpjpe_loss
from monopose.lifting.module import LiftingModule
from monopose.train.config import ExperimentConfig, load_config

__all__ = ["ContextLiftingModule", "ContextDataModule", "train_context", "predict_cache"]


def _call(model: nn.Module, batch: dict[str, Any]) -> Tensor:
    if needs_context(model):
        return model(batch["kp2d"], batch["valid"], batch["features"], batch["feature_valid"])
    return model(batch["kp2d"], batch["valid"])


class ContextLiftingModule(LiftingModule):
    """:class:`LiftingModule` whose model may take the context patches."""

    def lifting_losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        pred_mm = _call(self.model, batch) * 1000.0
        err = mpjpe_loss(pred_mm, batch["pose3d"] * 1000.0)
        return {"mpjpe": err, "loss": self.cfg.loss.mpjpe * err}

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        pred_mm = _call(self.model, batch) * 1000.0
        err = mpjpe_loss(pred_mm, batch["pose3d"] * 1000.0)
        self.log("val/mpjpe", err, prog_bar=True, batch_size=int(batch["kp2d"].shape[0]))


class ContextDataModule(L.LightningDataModule):
    """Random flipped training batches from one cache; fixed validation batches from another."""

    def __init__(self, train: ContextArrays, val: ContextArrays | None, batch_size: int,
                 flip_prob: float, seed: int, val_batch_size: int = 256) -> None:
        super().__init__()
        self.train, self.val = train, val
        self.batch_size, self.flip_prob, self.seed = batch_size, flip_prob, seed
        self.val_batch_size = val_batch_size

    def train_dataloader(self) -> DataLoader:
        stream = ContextBatchStream(self.train, self.batch_size, self.flip_prob, self.seed)
        return DataLoader(stream, batch_size=None, num_workers=0)

    def val_dataloader(self) -> Any:
        if self.val is None:
            return []
        n = len(self.val)
        batches = [self.val.batch(np.arange(s, min(n, s + self.val_batch_size)))
                   for s in range(0, n, self.val_batch_size)]
        return DataLoader(batches, batch_size=None, shuffle=False)


def predict_cache(model: nn.Module, data: ContextArrays, flip: bool = True,
                  batch_size: int = 256) -> np.ndarray:
    """``[N, 17, 3]`` root-relative mm predictions on a loaded cache (flip-averaged)."""
    from monopose.capf.features import ContextInputs
    from monopose.capf.inference import lift_context_inputs

    inputs = ContextInputs(data.kp_px.astype(np.float64), data.valid,
                           [lv for lv in data.levels], data.inside)
    return lift_context_inputs(inputs, model, flip, batch_size)


def train_context(cfg: ExperimentConfig, run_dir: str | Path | None = None,
                  weights_dir: str | Path | None = None, val_limit: int | None = None
                  ) -> dict[str, Any]:
    """Train ``cfg`` on ``<cfg.data.cache>/train`` (validation on ``.../val``) and export.

    Returns:
        A summary: steps, training time, validation MPJPE, exported path.
    """
    from monopose.models.weights_io import save_weights, weights_paths
    from monopose.zoo import create_model, get_card

    tr = cfg.trainer
    if tr.num_threads > 0:
        torch.set_num_threads(tr.num_threads)
    L.seed_everything(tr.seed, workers=True, verbose=False)
    model = create_model(cfg.model.name, **cfg.model.config)
    ctx = needs_context(model)
    root = Path(cfg.data.cache)
    t0 = time.perf_counter()
    train = load_feature_cache(root / "train", with_levels=ctx)
    val_dir = root / "val"
    val = (load_feature_cache(val_dir, limit=val_limit, with_levels=ctx)
           if val_dir.is_dir() and cfg.data.val_batches > 0 else None)
    load_s = time.perf_counter() - t0
    flip_prob = float(cfg.data.sampler.get("flip_prob", 0.5))
    dm = ContextDataModule(train, val, tr.batch_size, flip_prob, tr.seed, cfg.data.val_batch_size)
    module = ContextLiftingModule(model, cfg)
    run_dir = Path(run_dir) if run_dir is not None else Path(tr.out_dir) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = L.Trainer(
        max_steps=tr.max_steps,
        max_time=None if tr.max_time_min is None else dt.timedelta(minutes=tr.max_time_min),
        max_epochs=-1, val_check_interval=tr.val_every_steps, check_val_every_n_epoch=None,
        num_sanity_val_steps=0, accelerator="cpu", devices=1, precision="32-true",
        log_every_n_steps=tr.log_every_steps,
        gradient_clip_val=cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else None,
        enable_progress_bar=tr.progress_bar, enable_model_summary=False,
        callbacks=[ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True,
                                   save_top_k=0)],
        logger=[CSVLogger(run_dir, name="logs")], default_root_dir=run_dir,
    )
    trainer.fit(module, datamodule=dm)
    val_mpjpe = float("nan")
    if val is not None:
        pred = predict_cache(model, val, flip=True)
        gt = val.pose3d_cam_mm - val.pose3d_cam_mm[:, :1]
        val_mpjpe = float(np.linalg.norm(pred - gt, axis=-1).mean())
    summary: dict[str, Any] = {
        "name": cfg.name, "model": cfg.model.name, "context": ctx,
        "global_step": int(trainer.global_step), "train_time_s": round(module.train_time_s(), 1),
        "batch_size": tr.batch_size, "train_samples": len(train),
        "train_missing_person": train.num_missing, "flip_prob": flip_prob,
        "val_samples": 0 if val is None else len(val), "val_mpjpe_flip_mm": round(val_mpjpe, 2),
        "cache_load_s": round(load_s, 1), "data": str(root),
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if cfg.export.name:
        card = get_card(cfg.export.name)
        target = Path(weights_dir or cfg.export.dir or
                      Path(__file__).resolve().parents[1] / "models" / "weights")
        exported = save_weights(model.eval(), card, target / cfg.export.name,
                                metadata={"recipe": summary})
        for path in weights_paths(exported):
            path.chmod(0o644)  # the temp files behind the atomic write are private
        summary["exported"] = str(exported)
    from monopose.train.run import write_json_atomic

    write_json_atomic(run_dir / "summary.json", summary)
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m monopose.capf.training CONFIG [--set key=value ...] [--run-dir DIR]``."""
    import yaml

    ap = argparse.ArgumentParser(description="Train a context or context-free lifter on the "
                                 "feature cache.")
    ap.add_argument("config")
    ap.add_argument("--set", nargs="*", default=[], help="dotted overrides, e.g. "
                    "trainer.max_time_min=1")
    ap.add_argument("--run-dir", default=None)
    ap.add_argument("--weights-dir", default=None)
    a = ap.parse_args(argv)
    overrides = {}
    for item in a.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    cfg = load_config(a.config, overrides)
    summary = train_context(cfg, a.run_dir, a.weights_dir)
    print(summary)


if __name__ == "__main__":
    main()
