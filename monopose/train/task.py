"""What a model family hands the engine: a :class:`TrainingTask`, and the shared base module.

A family's ``training.make_task(cfg, run)`` builds its model, its Lightning module (a subclass of
:class:`TrainingModule`) and its data module, and returns them with the card its weights are
exported under. The engine (:mod:`monopose.train.engine`) does the rest: trainer, checkpoints,
resume, logging, export and the run summary.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, IterableDataset

from monopose.models.architectures import build_model, register_architecture
from monopose.models.card import ModelCard
from monopose.train.checkpoints import CHECKPOINT_KEY
from monopose.train.config import ConfigError, ExperimentConfig, config_to_dict

__all__ = ["TrainingModule", "TrainingTask", "StreamDataModule", "build_family_model"]


class TrainingModule(L.LightningModule):
    """Shared machinery of every family's Lightning module.

    AdamW (norms, biases, embeddings and tokens not decayed), linear warm-up then cosine or
    constant learning rate (decaying on the wall-clock budget too), the training time summed over
    resumed sessions, and the checkpoint metadata (:data:`CHECKPOINT_KEY`). A family implements
    :meth:`losses` (a dict with the total ``loss``), :meth:`batch_size` and ``validation_step``.

    Args:
        model: the network (with ``architecture`` and ``config`` attributes, as registry models).
        cfg: the experiment config (loss weights, optimiser, schedule).
    """

    def __init__(self, model: nn.Module, cfg: ExperimentConfig) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self._time_before_s = 0.0  # training time of earlier sessions (restored on resume)
        self._session_start: float | None = None

    # -- what a family implements ----------------------------------------------------------

    def losses(self, batch: Any) -> dict[str, Tensor]:
        """Loss terms of one training batch; ``loss`` is the weighted total."""
        raise NotImplementedError

    def batch_size(self, batch: Any) -> int:
        """Samples in ``batch`` (for Lightning's averaging of logged values)."""
        raise NotImplementedError

    # -- steps -------------------------------------------------------------------------------

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        parts = self.losses(batch)
        bsz = self.batch_size(batch)
        self.log_dict({f"train/{k}": v.detach() for k, v in parts.items()}, batch_size=bsz)
        self.log("loss", parts["loss"].detach(), prog_bar=True, batch_size=bsz, logger=False)
        return parts["loss"]

    # -- time accounting (wall-clock of training, summed over resumed sessions) -------------

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

    # -- optimiser ---------------------------------------------------------------------------

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
        # a plain function: LambdaLR keeps it out of the checkpoint (a method would be saved)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: self._lr_factor(step))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _lr_factor(self, step: int) -> float:
        """Learning-rate multiplier at optimiser step ``step``."""
        o = self.cfg.optim
        warm = max(0, o.warmup_steps)
        if step < warm:
            return (step + 1) / warm
        if o.schedule == "constant":
            return 1.0
        total = max(1, self.cfg.trainer.max_steps)
        prog = min(1.0, (step - warm) / max(1, total - warm))
        budget_s = (self.cfg.trainer.max_time_min or 0.0) * 60.0
        if budget_s > 0:
            # a wall-clock budget ends the run early on a slow machine: decay on time too
            prog = max(prog, min(1.0, self.train_time_s() / budget_s))
        return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * prog))


class StreamDataModule(L.LightningDataModule):
    """An endless training stream and fixed validation batches.

    Args:
        train: yields whole training batches (the loader does not batch again).
        make_val_batches: called once in ``setup`` for the validation batches; None = none.
        num_workers: DataLoader workers for the training stream.
    """

    def __init__(self, train: IterableDataset, make_val_batches: Callable[[], Sequence[Any]]
                 | None = None, num_workers: int = 0) -> None:
        super().__init__()
        self.train = train
        self.make_val_batches = make_val_batches
        self.num_workers = num_workers
        self._val: list[Any] | None = None

    def setup(self, stage: str | None = None) -> None:
        if self._val is None and self.make_val_batches is not None:
            self._val = list(self.make_val_batches())

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.train, batch_size=None, num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self) -> DataLoader | list:
        if not self._val:
            return []
        return DataLoader(self._val, batch_size=None, shuffle=False)  # type: ignore[arg-type]


@dataclass
class TrainingTask:
    """One family's part of a training run.

    Attributes:
        module: the Lightning module (its ``model`` is what gets exported).
        datamodule: training stream and validation batches.
        card: card the weights are exported under (the engine fills in config, window, data,
            input frame and the training record); None exports a bare architecture + config.
        val_metrics: names of the headline validation metrics the module logs
            (e.g. ``val/mpjpe``), in the order they are reported.
        finish: optional final evaluation on rank 0 after training (e.g. flip-averaged
            validation error); its metrics join the validation metrics.
        facts: extra plain facts about the data (sample counts, folders) for the summary and
            the training record.
    """

    module: TrainingModule
    datamodule: L.LightningDataModule
    card: ModelCard | None = None
    val_metrics: tuple[str, ...] = ()
    finish: Callable[[TrainingModule], dict[str, float]] | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def build_family_model(name: str, config: Mapping[str, Any],
                       architectures: Mapping[str, type[nn.Module]],
                       cards: Iterable[ModelCard]) -> nn.Module:
    """An untrained model of a family: a card name (its config updated by ``config``) or an
    architecture name (``config`` alone). Registers the family's architectures (idempotent), so
    its weights can be exported and loaded.

    Raises:
        ConfigError: neither a card nor an architecture of the family, or a bad config.
    """
    for arch, cls in architectures.items():
        register_architecture(arch, cls)
    by_name = {card.name: card for card in cards}
    try:
        if name in by_name:
            card = by_name[name]
            return build_model(card.architecture, {**card.config, **config})
        if name in architectures:
            return build_model(name, config)
    except ValueError as exc:
        raise ConfigError(f"model: {exc}") from None
    raise ConfigError(f"model.name: {name!r} is neither a model ({', '.join(by_name)}) nor an "
                      f"architecture ({', '.join(architectures)}) of this task")
