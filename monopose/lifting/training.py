"""The lifters' training task: mocap pairs drawn on the fly, supervised lifting or MPM
pre-training (config ``task: lift`` or ``task: mpm_pretrain``).

``make_task(cfg, run)`` is what ``monopose train CONFIG`` runs through the engine
(:func:`monopose.train.engine.train`); :func:`train` is the same with a custom batch source.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn

from monopose.data.detected_renders import DetectedRenders, MixedSource
from monopose.data.sampler import MocapSampler, SamplerConfig
from monopose.lifting import cards
from monopose.lifting.datamodule import BatchSource, PoseDataModule, SampledStream, StreamSpec
from monopose.lifting.module import build_module
from monopose.lifting.mpm import MPMLifter
from monopose.train.checkpoints import (
    init_model_from,
    model_state,
    read_checkpoint,
    read_weights_state,
)
from monopose.train.config import ConfigError, DataSection, ExperimentConfig
from monopose.train.engine import RunDir, TrainResult
from monopose.train.engine import train as run_engine
from monopose.train.task import TrainingTask, build_family_model

__all__ = ["SourceFactory", "build_lifter", "make_task", "mocap_source", "train"]

# (data config, split, window, seed) -> batch source
SourceFactory = Callable[[DataSection, str, int, int], BatchSource]


def mocap_source(data: DataSection, split: str, window: int, seed: int) -> BatchSource:
    """The data layer's ``MocapSampler`` on ``data.cache`` restricted to ``data.sources``; for
    the training split, mixed with the detector's 2D on rendered people where
    ``data.detected_renders`` and ``data.detected_share`` say so."""
    kwargs = dict(data.sampler)
    names = {f.name for f in dataclasses.fields(SamplerConfig)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise ConfigError(f"unknown config key(s) data.sampler.{', data.sampler.'.join(unknown)}; "
                          f"allowed: {sorted(names)}")
    if "sources" in names:
        kwargs["sources"] = tuple(data.sources)
    cache = Path(data.cache)
    if not cache.exists():
        raise FileNotFoundError(f"data.cache: mocap cache not found at {cache}")
    sampler = MocapSampler(cache, split=split, window=window, config=SamplerConfig(**kwargs),
                           seed=seed)
    if split != "train" or not data.detected_renders or data.detected_share <= 0:
        return sampler
    if window != 1:
        raise ConfigError(f"data.detected_renders: single frames only, got a window of {window}")
    return MixedSource(sampler, DetectedRenders(data.detected_renders,
                                                landmark_model=data.detected_landmarks),
                       data.detected_share)


def build_lifter(cfg: ExperimentConfig) -> nn.Module:
    """The (untrained) lifter of ``cfg.model``: a lifter card's name or an architecture."""
    return build_family_model(cfg.model.name, cfg.model.config, cards.ARCHITECTURES, cards.CARDS)


def _source_frames(path: str | Path) -> int:
    """Rows of the temporal table of the weights at ``path`` (1 = a single-frame model)."""
    path = Path(path)
    if path.suffix == ".ckpt":
        state = model_state(read_checkpoint(path))
    else:
        state = read_weights_state(path)[1]
    table = state.get("temporal_embed")
    return 0 if table is None else int(table.shape[0])


@torch.no_grad()
def start_temporal_as_single_frame(model: MPMLifter) -> None:
    """Make a window model initialised from a single-frame one compute exactly that model on
    every frame: each temporal block adds nothing (its attention and MLP outputs are zeroed)
    and every frame gets the single frame's positional row. Training then only adds what the
    neighbouring frames tell, starting from the single-frame model's accuracy."""
    for table in (model.temporal_embed, model.decoder_temporal_embed):
        table.copy_(table[table.shape[0] // 2].expand_as(table).clone())
    blocks = [*model.encoder, *model.decoder_2d.blocks, *model.decoder_3d.blocks]
    for block in blocks:
        if block.temporal is not None:
            for layer in (block.temporal.attn.proj, block.temporal.mlp.net[3]):
                layer.weight.zero_()
                layer.bias.zero_()


def _init_from(model: nn.Module, path: str) -> None:
    init_model_from(model, path)
    if isinstance(model, MPMLifter) and (model.max_frames or 1) > 1 and _source_frames(path) == 1:
        start_temporal_as_single_frame(model)


def _windows(cfg: ExperimentConfig) -> list[int]:
    return [cfg.data.window] + [w for w in cfg.data.mix_windows if w != cfg.data.window]


def _datamodule(cfg: ExperimentConfig, factory: SourceFactory, restart: int) -> PoseDataModule:
    """Training stream over every window length (same frames per batch) + validation batches."""
    tr = cfg.trainer
    specs = [StreamSpec(factory(cfg.data, "train", w, tr.seed),
                        max(1, tr.batch_size * cfg.data.window // w)) for w in _windows(cfg)]
    stream = SampledStream(
        specs, seed=tr.seed,
        occlude_max_joints=cfg.masking.occlude_max_joints if cfg.task == "lift" else 0,
        occlude_prob=cfg.masking.occlude_prob,
        restart=restart,
        input_frame=cfg.data.input_frame,
    )

    def val_batches() -> list[Any]:
        if cfg.data.val_batches <= 0:
            return []
        src = factory(cfg.data, "val", cfg.data.window, tr.seed)
        rng = np.random.default_rng(12345)  # the same validation batches in every session
        return [src.sample_batch(cfg.data.val_batch_size, rng) for _ in range(cfg.data.val_batches)]

    return PoseDataModule(stream, val_batches, num_workers=cfg.data.num_workers)


def make_task(cfg: ExperimentConfig, run: RunDir,
              source_factory: SourceFactory | None = None) -> TrainingTask:
    """The lifting task of ``cfg`` (``task: lift`` or ``mpm_pretrain``).

    ``model.init_from`` initialises a fresh run (not a resumed one); an MPM window model started
    from single-frame weights starts as that model on every frame
    (:func:`start_temporal_as_single_frame`). A resumed stream is drawn afresh from the resumed
    step. ``source_factory`` (default :func:`mocap_source`) says where
    batches come from.
    """
    if cfg.task not in ("lift", "mpm_pretrain"):
        raise ConfigError(f"task: the lifting task trains 'lift' or 'mpm_pretrain', "
                          f"got {cfg.task!r}")
    model = build_lifter(cfg)
    if cfg.model.init_from and run.resume_from is None:
        _init_from(model, cfg.model.init_from)
    module = build_module(model, cfg)
    datamodule = _datamodule(cfg, source_factory or mocap_source, run.resumed_step())
    card = next((c for c in cards.CARDS if c.name == cfg.export.name), None)
    metrics = ("val/mpjpe", "val/complete3d") if cfg.task == "mpm_pretrain" else ("val/mpjpe",)
    return TrainingTask(module, datamodule, card=card, val_metrics=metrics)


def train(cfg: ExperimentConfig, *, resume: bool = False, run_dir: str | Path | None = None,
          source_factory: SourceFactory | None = None, export: bool = True,
          callbacks: Sequence[L.Callback] = ()) -> TrainResult:
    """Train a lifter through the engine with batches from ``source_factory``."""
    return run_engine(cfg, partial(make_task, source_factory=source_factory), resume=resume,
                      run_dir=run_dir, export=export, callbacks=callbacks)
