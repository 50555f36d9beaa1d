"""The MeTRAbs training task (config ``task: metrabs``): either head, either backbone.

``model`` names a MeTRAbs card or the ``metrabs`` architecture with its config;
``data.sampler`` says where the data is:

* ``train``: folders of the crop feature cache (:mod:`monopose.metrabs.cache`, backbone
  ``blazepose``) or of rendered shards (backbone ``resnet``: crops are made on the fly by
  :mod:`monopose.metrabs.image_data`);
* ``val``: one folder of the same kind (the truncation experiment's fixed crops), optional.

The engine supplies optimiser, warm-up + cosine schedule and the wall-clock budget;
``trainer.strategy: ddp`` with ``devices: N`` runs N processes, each drawing its own batches.

    monopose train monopose/train/configs/metrabs-blazepose.yaml
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any, cast

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import IterableDataset

from monopose.metrabs import cards
from monopose.metrabs.cache import CropArrays, crop_batch, load_crop_cache
from monopose.metrabs.image_data import RenderCropStream, render_crop_eval_batches
from monopose.metrabs.losses import metrabs_losses
from monopose.models.card import ModelCard
from monopose.train.config import ConfigError, ExperimentConfig
from monopose.train.engine import RunDir
from monopose.train.task import StreamDataModule, TrainingModule, TrainingTask, build_family_model

__all__ = ["MetrabsModule", "CropCacheStream", "make_task"]


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


class MetrabsModule(TrainingModule):
    """The MeTRAbs losses (:func:`monopose.metrabs.losses.metrabs_losses`) on the engine's
    optimiser and schedule."""

    def batch_size(self, batch: dict[str, Any]) -> int:
        return int(batch["kp2d_px"].shape[0])

    def losses(self, batch: dict[str, Any]) -> dict[str, Tensor]:
        w = self.cfg.loss
        model = cast(Any, self.model)
        out = model(*batch["inputs"])
        return metrabs_losses(out, batch, model.head_name, int(self.global_step),
                              rel3d=w.rel3d, proj2d=w.proj2d, abs3d=w.abs3d,
                              abs_start_step=w.abs_start_step, crop_size_px=model.crop_size_px)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        model = cast(Any, self.model)
        out = model(*batch["inputs"])
        gt = batch["pose3d_mm"]
        bsz = int(gt.shape[0])
        if model.head_name == "metro":
            err = (out.coords3d_rel_mm - (gt - gt[:, :1])).norm(dim=-1).mean()
            self.log("val/mpjpe_rel", err, prog_bar=True, sync_dist=True, batch_size=bsz)
        view = batch["in_view"]
        err2d = (out.coords2d_px - batch["kp2d_px"]).norm(dim=-1)[view].mean()
        self.log("val/err2d_px", err2d, sync_dist=True, batch_size=bsz)


def _cache_val(folder: str, cfg: ExperimentConfig) -> list[dict[str, Any]]:
    """The first ``val_batches`` batches of the crop cache in ``folder``, in order."""
    size = cfg.data.val_batch_size
    val = load_crop_cache(folder, limit=cfg.data.val_batches * size)
    return [crop_batch(val, np.arange(s, min(len(val), s + size)))
            for s in range(0, len(val), size)]


def _render_val(folder: str, cfg: ExperimentConfig) -> list[dict[str, Any]]:
    """Fixed crops of the first rendered people in ``folder``."""
    limit = cfg.data.val_batches * cfg.data.val_batch_size
    return list(render_crop_eval_batches(folder, limit=limit))


def _datamodule(cfg: ExperimentConfig, backbone: str) -> StreamDataModule:
    """Training stream and validation batches of ``data.sampler`` for ``backbone``."""
    spec = cfg.data.sampler
    if "train" not in spec:
        raise ConfigError("data.sampler.train: expected the training data folder(s)")
    train_dirs = [spec["train"]] if isinstance(spec["train"], str) else list(spec["train"])
    tr = cfg.trainer
    val_dir = spec.get("val") if cfg.data.val_batches > 0 else None
    stream: IterableDataset
    if backbone == "blazepose":
        stream = CropCacheStream(load_crop_cache(train_dirs), tr.batch_size, tr.seed)
        make_val = _cache_val
    else:
        stream = RenderCropStream(train_dirs, batch_size=tr.batch_size, seed=tr.seed)
        make_val = _render_val
    return StreamDataModule(stream, partial(make_val, val_dir, cfg) if val_dir else None,
                            num_workers=cfg.data.num_workers)


def make_task(cfg: ExperimentConfig, run: RunDir) -> TrainingTask:
    """The MeTRAbs task of ``cfg``; weights under a name without a MeTRAbs card (the 2.5D
    baseline) are exported with a plain card of the model.

    Raises:
        ConfigError: another task, no ``data.sampler.train``.
        ValueError: a training folder without data.
    """
    if cfg.task != "metrabs":
        raise ConfigError(f"task: the MeTRAbs task trains 'metrabs', got {cfg.task!r}")
    model = build_family_model(cfg.model.name, cfg.model.config, cards.ARCHITECTURES,
                               cards.CARDS)
    datamodule = _datamodule(cfg, cast(Any, model).backbone_name)
    card: ModelCard | None = None
    if cfg.export.name:
        card = next((c for c in cards.CARDS if c.name == cfg.export.name), None) or ModelCard(
            name=cfg.export.name, architecture="metrabs", config=dict(cast(Any, model).config),
            training_data=tuple(cfg.data.sources))
    return TrainingTask(MetrabsModule(model, cfg), datamodule, card=card,
                        val_metrics=("val/mpjpe_rel", "val/err2d_px"),
                        facts={"data": dict(cfg.data.sampler)})
