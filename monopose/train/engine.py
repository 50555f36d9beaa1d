"""The training engine: one Lightning set-up for every model family.

``train(cfg, make_task)`` is what ``monopose train CONFIG`` calls; ``make_task(cfg, run)`` is the
family's (``monopose.<family>.training.make_task``) and returns a
:class:`~monopose.train.task.TrainingTask`. A run lives in ``<trainer.out_dir>/<name>/``:
``checkpoints/last.ckpt`` (resume point, also written when the time budget ends),
``logs/version_<n>/`` (CSV, one per session), ``tb/version_<n>/`` (TensorBoard), ``config.yaml``
and ``summary.json``. The weights are exported at the end (rank 0) to ``cfg.export``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from monopose.io.files import write_json_atomic, write_text_atomic
from monopose.train.checkpoints import CHECKPOINT_KEY, init_model_from, read_checkpoint
from monopose.train.config import ExperimentConfig, config_to_dict
from monopose.train.export import export_run
from monopose.train.task import TrainingModule, TrainingTask

__all__ = [
    "CHECKPOINT_KEY",
    "MakeTask",
    "RunDir",
    "TrainResult",
    "auto_precision",
    "init_model_from",
    "read_checkpoint",
    "train",
]


@dataclass(frozen=True)
class RunDir:
    """The folder of one run and whether this session resumes it.

    Attributes:
        path: the run folder.
        resume_from: ``checkpoints/last.ckpt`` when resuming, else None.
    """

    path: Path
    resume_from: Path | None = None

    @property
    def last(self) -> Path:
        return self.path / "checkpoints" / "last.ckpt"

    def resumed_step(self) -> int:
        """Optimiser step the session resumes at (0 for a fresh run or an unreadable file)."""
        if self.resume_from is None:
            return 0
        try:
            return int(read_checkpoint(self.resume_from).get("global_step", 0))
        except (ValueError, FileNotFoundError):
            return 0

    @classmethod
    def open(cls, cfg: ExperimentConfig, run_dir: str | Path | None, resume: bool) -> RunDir:
        """The run folder (default ``<cfg.trainer.out_dir>/<cfg.name>``).

        Raises:
            FileExistsError: it holds a checkpoint and ``resume`` is off.
        """
        path = Path(run_dir) if run_dir is not None else Path(cfg.trainer.out_dir) / cfg.name
        run = cls(path)
        if run.last.is_file() and not resume:
            raise FileExistsError(
                f"{run.last} exists: pass resume=True (--resume) to continue, or remove {path}")
        return cls(path, run.last if resume and run.last.is_file() else None)


# (config, run folder) -> the family's module, data and export card
MakeTask = Callable[[ExperimentConfig, RunDir], TrainingTask]


@dataclass
class TrainResult:
    """What a finished (or time-limited) run produced."""

    run_dir: Path
    checkpoint: Path
    global_step: int
    train_time_s: float
    val_metrics: dict[str, float] = field(default_factory=dict)
    train_metrics: dict[str, float] = field(default_factory=dict)
    headline: dict[str, float] = field(default_factory=dict)
    exported: Path | None = None
    module: TrainingModule | None = None


def auto_precision(precision: str) -> str:
    """``auto``: ``bf16-mixed`` on a GPU with bf16, ``16-mixed`` on other GPUs, else ``32-true``."""
    if precision != "auto":
        return precision
    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def _trainer(cfg: ExperimentConfig, run: RunDir, callbacks: Sequence[L.Callback]) -> L.Trainer:
    tr = cfg.trainer
    ckpt_cb = ModelCheckpoint(dirpath=run.last.parent, filename="step{step}", save_last=True,
                              save_top_k=0, every_n_train_steps=tr.val_every_steps,
                              auto_insert_metric_name=False)
    cbs: list[L.Callback] = [ckpt_cb, LearningRateMonitor(logging_interval="step"), *callbacks]
    if tr.progress_bar:
        cbs.append(TQDMProgressBar(refresh_rate=max(1, tr.log_every_steps)))
    # one version_<n> folder per session, so a resumed run keeps the logs of earlier sessions
    loggers = [CSVLogger(run.path, name="logs"),
               TensorBoardLogger(run.path, name="tb", default_hp_metric=False)]
    return L.Trainer(
        max_steps=tr.max_steps,
        max_time=None if tr.max_time_min is None else dt.timedelta(minutes=tr.max_time_min),
        max_epochs=-1,
        val_check_interval=tr.val_every_steps,
        check_val_every_n_epoch=None,
        num_sanity_val_steps=0,
        precision=auto_precision(tr.precision),  # type: ignore[arg-type]
        accelerator=tr.accelerator,
        devices=tr.devices,
        strategy=tr.strategy,
        num_nodes=tr.num_nodes,
        log_every_n_steps=tr.log_every_steps,
        gradient_clip_val=cfg.optim.grad_clip if cfg.optim.grad_clip > 0 else None,
        enable_progress_bar=tr.progress_bar,
        enable_model_summary=False,
        callbacks=cbs,
        logger=loggers,
        default_root_dir=run.path,
        use_distributed_sampler=False,  # every rank draws its own random batches
        deterministic=False,
    )


def _floats(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if k.startswith(prefix)}


def _finite(metrics: dict[str, float]) -> dict[str, float | None]:
    """JSON-safe metrics (strict JSON has no NaN: a non-finite value becomes null)."""
    return {k: v if math.isfinite(v) else None for k, v in metrics.items()}


def train(
    cfg: ExperimentConfig,
    make_task: MakeTask,
    *,
    resume: bool = False,
    run_dir: str | Path | None = None,
    export: bool = True,
    callbacks: Sequence[L.Callback] = (),
) -> TrainResult:
    """Train one experiment.

    Args:
        cfg: the experiment.
        make_task: the family's task builder (called after seeding, so model initialisation and
            data follow ``trainer.seed``).
        resume: continue from ``<run_dir>/checkpoints/last.ckpt`` if it exists (model, optimiser,
            schedule, step and elapsed time budget are restored).
        run_dir: run folder; default ``<cfg.trainer.out_dir>/<cfg.name>``.
        export: export to ``cfg.export`` when the run ends (rank 0 only, if it names weights).
        callbacks: extra Lightning callbacks.

    Raises:
        FileExistsError: the run folder holds a checkpoint and ``resume`` is off.
    """
    if cfg.trainer.num_threads > 0:
        torch.set_num_threads(cfg.trainer.num_threads)
    run = RunDir.open(cfg, run_dir, resume)
    L.seed_everything(cfg.trainer.seed, workers=True, verbose=False)
    task = make_task(cfg, run)
    run.path.mkdir(parents=True, exist_ok=True)
    trainer = _trainer(cfg, run, callbacks)
    if trainer.is_global_zero:
        write_text_atomic(run.path / "config.yaml",
                          yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    module, data = task.module, task.datamodule
    trainer.fit(module, datamodule=data,
                ckpt_path=str(run.resume_from) if run.resume_from else None)
    # the time budget may end between checkpoints: always leave a resumable last.ckpt
    trainer.save_checkpoint(run.last)
    train_metrics = _floats(trainer.callback_metrics, "train/")
    val = trainer.validate(module, datamodule=data, verbose=False) if cfg.data.val_batches else []
    result = TrainResult(run_dir=run.path, checkpoint=run.last, global_step=trainer.global_step,
                         train_time_s=module.train_time_s(), val_metrics=_floats(
                             val[0] if val else {}), train_metrics=train_metrics, module=module)
    if trainer.is_global_zero:
        if task.finish is not None:
            result.val_metrics.update(task.finish(module))
        if export and cfg.export.name:
            result.exported = export_run(module.model, cfg, task.card, result.global_step,
                                         result.train_time_s, result.val_metrics, task.facts)
        _write_summary(cfg, task, result, trainer.world_size)
    result.headline = {k: result.val_metrics[k] for k in task.val_metrics
                       if k in result.val_metrics}
    return result


def _write_summary(cfg: ExperimentConfig, task: TrainingTask, result: TrainResult,
                   world_size: int) -> None:
    write_json_atomic(result.run_dir / "summary.json", {
        "name": cfg.name,
        "task": cfg.task,
        "model": cfg.model.name,
        "global_step": result.global_step,
        "train_time_s": round(result.train_time_s, 1),
        "world_size": world_size,
        "val_metrics": _finite(result.val_metrics),
        "train_metrics": _finite(result.train_metrics),
        **task.facts,
        "exported": str(result.exported) if result.exported else None,
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }, indent=2, default=str)
