"""Train a MeTRAbs model (either head, either backbone) with the Lightning engine.

The experiment file is the lifters' YAML (:class:`monopose.train.config.ExperimentConfig`) with
``task: metrabs``; ``model`` names a registered card or the ``metrabs`` architecture with its
config; ``data.sampler`` says where the data is:

* ``train``: folders of the feature cache (:mod:`monopose.metrabs.cache`, backbone
  ``blazepose``) or of rendered shards (backbone ``resnet``: crops are made on the fly by
  :mod:`monopose.metrabs.image_data`);
* ``val``: one folder of the same kind (the truncation experiment's fixed crops), optional.

Optimiser, warm-up + cosine schedule and the wall-clock budget are the lifters'
(:class:`monopose.lifting.module.LiftingModule`); ``trainer.strategy: ddp`` with ``devices: N``
runs N processes, each drawing its own random batches.

    python -m monopose.metrabs.training monopose/train/configs/metrabs-blazepose.yaml
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch import Tensor, nn
from torch.utils.data import DataLoader, IterableDataset

from monopose.lifting.module import LiftingModule
from monopose.metrabs.cache import CropArrays, crop_batch, load_crop_cache
from monopose.metrabs.losses import metrabs_losses
from monopose.train.config import ExperimentConfig, load_config

__all__ = ["MetrabsModule", "CropCacheStream", "train_metrabs", "build_metrabs_model"]


def _rank() -> int:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return 0


class CropCacheStream(IterableDataset):
    """Endless random batches from a loaded crop cache (a different stream per DDP rank)."""

    def __init__(self, data: CropArrays, batch_size: int, seed: int) -> None:
        self.data, self.batch_size, self.seed = data, batch_size, seed

    def __iter__(self) -> Iterator[dict[str, Any]]:
        rng = np.random.default_rng([self.seed, _rank()])
        n = len(self.data)
        while True:
            yield crop_batch(self.data, np.sort(rng.choice(n, self.batch_size, replace=False)))


class MetrabsModule(LiftingModule):
    """:class:`LiftingModule` with the MeTRAbs losses."""

    def _losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        w = self.cfg.loss
        out = self.model(*batch["inputs"])
        return metrabs_losses(out, batch, self.model.head_name, int(self.global_step),
                              rel3d=w.rel3d, proj2d=w.proj2d, abs3d=w.abs3d,
                              abs_start_step=w.abs_start_step,
                              crop_size_px=self.model.crop_size_px)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        parts = self._losses(batch)
        bsz = int(batch["kp2d_px"].shape[0])
        self.log_dict({f"train/{k}": v.detach() for k, v in parts.items()}, batch_size=bsz)
        return parts["loss"]

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        out = self.model(*batch["inputs"])
        gt = batch["pose3d_mm"]
        bsz = int(gt.shape[0])
        if self.model.head_name == "metro":
            err = (out.coords3d_rel_mm - (gt - gt[:, :1])).norm(dim=-1).mean()
            self.log("val/mpjpe_rel", err, prog_bar=True, sync_dist=True, batch_size=bsz)
        view = batch["in_view"]
        err2d = (out.coords2d_px - batch["kp2d_px"]).norm(dim=-1)[view].mean()
        self.log("val/err2d_px", err2d, sync_dist=True, batch_size=bsz)


def build_metrabs_model(cfg: ExperimentConfig) -> nn.Module:
    from monopose.zoo import create_model

    return create_model(cfg.model.name, **cfg.model.config)


def _data(cfg: ExperimentConfig, backbone: str) -> tuple[IterableDataset, list[dict] | None]:
    spec = cfg.data.sampler
    if "train" not in spec:
        raise ValueError("data.sampler.train: expected the training data folder(s)")
    train_dirs = [spec["train"]] if isinstance(spec["train"], str) else list(spec["train"])
    tr = cfg.trainer
    val_batches: list[dict] | None = None
    if backbone == "blazepose":
        data = load_crop_cache(train_dirs)
        stream: IterableDataset = CropCacheStream(data, tr.batch_size, tr.seed)
        if spec.get("val") and cfg.data.val_batches > 0:
            limit = cfg.data.val_batches * cfg.data.val_batch_size
            val = load_crop_cache(spec["val"], limit=limit)
            val_batches = [crop_batch(val, np.arange(s, min(len(val), s + cfg.data.val_batch_size)))
                           for s in range(0, len(val), cfg.data.val_batch_size)]
    else:
        from monopose.metrabs.image_data import RenderCropStream, render_crop_eval_batches

        stream = RenderCropStream(train_dirs, batch_size=tr.batch_size, seed=tr.seed)
        if spec.get("val") and cfg.data.val_batches > 0:
            val_batches = list(render_crop_eval_batches(
                spec["val"], limit=cfg.data.val_batches * cfg.data.val_batch_size))
    return stream, val_batches


def train_metrabs(cfg: ExperimentConfig, run_dir: str | Path | None = None,
                  resume: bool = False, weights_dir: str | Path | None = None,
                  callbacks: Sequence[L.Callback] = (), export: bool = True) -> dict[str, Any]:
    """Train ``cfg`` and (rank 0) export its weights to ``cfg.export``.

    Returns:
        A summary: steps, training time, last validation metrics, exported path.
    """
    from monopose.train.run import auto_precision, write_json_atomic

    if cfg.task != "metrabs":
        raise ValueError(f"cfg.task: expected 'metrabs', got {cfg.task!r}")
    tr = cfg.trainer
    if tr.num_threads > 0:
        torch.set_num_threads(tr.num_threads)
    L.seed_everything(tr.seed, workers=True, verbose=False)
    model = build_metrabs_model(cfg)
    stream, val_batches = _data(cfg, model.backbone_name)
    module = MetrabsModule(model, cfg)
    run_dir = Path(run_dir) if run_dir is not None else Path(tr.out_dir) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    last = run_dir / "checkpoints" / "last.ckpt"
    ckpt_path = str(last) if resume and last.is_file() else None
    trainer = L.Trainer(
        max_steps=tr.max_steps,
        max_time=None if tr.max_time_min is None else dt.timedelta(minutes=tr.max_time_min),
        max_epochs=-1, val_check_interval=tr.val_every_steps, check_val_every_n_epoch=None,
        num_sanity_val_steps=0, precision=auto_precision(tr.precision),  # type: ignore[arg-type]
        accelerator=tr.accelerator, devices=tr.devices, strategy=tr.strategy,
        num_nodes=tr.num_nodes, log_every_n_steps=tr.log_every_steps,
        gradient_clip_val=cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else None,
        enable_progress_bar=tr.progress_bar, enable_model_summary=False,
        callbacks=[ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True,
                                   save_top_k=0, every_n_train_steps=tr.val_every_steps),
                   *callbacks],
        logger=[CSVLogger(run_dir, name="logs")], default_root_dir=run_dir,
        use_distributed_sampler=False,
    )
    train_loader = DataLoader(stream, batch_size=None, num_workers=cfg.data.num_workers)
    val_loader = (DataLoader(val_batches, batch_size=None, shuffle=False)  # type: ignore[arg-type]
                  if val_batches else None)
    trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader,
                ckpt_path=ckpt_path)
    trainer.save_checkpoint(last)
    metrics = {k: round(float(v), 3) for k, v in trainer.callback_metrics.items()}
    summary: dict[str, Any] = {
        "name": cfg.name, "model": cfg.model.name, "config": dict(model.config),
        "global_step": int(trainer.global_step), "train_time_s": round(module.train_time_s(), 1),
        "batch_size": tr.batch_size, "data": dict(cfg.data.sampler), "metrics": metrics,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if trainer.is_global_zero:
        if export and cfg.export.name:
            from monopose.models.card import ModelCard
            from monopose.models.weights_io import save_weights, weights_paths
            from monopose.zoo import get_card

            try:
                card = get_card(cfg.export.name)
            except ValueError:  # an unregistered experiment (e.g. the 2.5D baseline)
                card = ModelCard(name=cfg.export.name, architecture="metrabs",
                                 config=dict(model.config),
                                 training_data=tuple(cfg.data.sources))
            target = Path(weights_dir or cfg.export.dir or
                          Path(__file__).resolve().parents[1] / "models" / "weights")
            exported = save_weights(model.eval(), card, target / cfg.export.name,
                                    metadata={"recipe": summary})
            for path in weights_paths(exported):
                path.chmod(0o644)
            summary["exported"] = str(exported)
        write_json_atomic(run_dir / "summary.json", summary)
    return summary


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m monopose.metrabs.training CONFIG [--set key=value ...] [--run-dir DIR]``."""
    import yaml

    ap = argparse.ArgumentParser(description="Train a MeTRAbs model.")
    ap.add_argument("config")
    ap.add_argument("--set", nargs="*", default=[], help="dotted overrides")
    ap.add_argument("--run-dir", default=None)
    ap.add_argument("--weights-dir", default=None)
    ap.add_argument("--resume", action="store_true")
    a = ap.parse_args(argv)
    overrides = {}
    for item in a.set:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    cfg = load_config(a.config, overrides)
    print(train_metrabs(cfg, a.run_dir, a.resume, a.weights_dir))


if __name__ == "__main__":
    main()
