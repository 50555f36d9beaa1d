"""Run one experiment: build the model, data and Lightning trainer from a config; fit; export.

``train(cfg)`` is what ``monopose train CONFIG`` calls. A run lives in
``<trainer.out_dir>/<name>/``: ``checkpoints/last.ckpt`` (resume point, also written when the time
budget ends), ``logs/version_<n>/`` (CSV, one per session), ``tb/version_<n>/`` (TensorBoard),
``config.yaml`` and ``summary.json``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch import nn

from monopose.io.files import atomic_write
from monopose.lifting.datamodule import BatchSource, PoseDataModule, SampledStream, StreamSpec
from monopose.lifting.module import CHECKPOINT_KEY, LiftingModule, build_module
from monopose.train.config import ConfigError, DataSection, ExperimentConfig, config_to_dict

__all__ = [
    "TrainResult",
    "SourceFactory",
    "auto_precision",
    "build_lifter",
    "init_model_from",
    "mocap_source",
    "read_checkpoint",
    "train",
    "write_json_atomic",
]

# (data config, split, window, seed) -> batch source
SourceFactory = Callable[[DataSection, str, int, int], BatchSource]


@dataclass
class TrainResult:
    """What a finished (or time-limited) run produced."""

    run_dir: Path
    checkpoint: Path
    global_step: int
    train_time_s: float
    val_metrics: dict[str, float] = field(default_factory=dict)
    exported: Path | None = None
    module: LiftingModule | None = None


def auto_precision(precision: str) -> str:
    """``auto``: ``bf16-mixed`` on a GPU with bf16, ``16-mixed`` on other GPUs, else ``32-true``."""
    if precision != "auto":
        return precision
    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed"
    return "32-true"


def mocap_source(data: DataSection, split: str, window: int, seed: int) -> BatchSource:
    """The data layer's ``MocapSampler`` on ``data.cache`` restricted to ``data.sources``."""
    import dataclasses

    from monopose.data.sampler import MocapSampler, SamplerConfig

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
    return MocapSampler(cache, split=split, window=window, config=SamplerConfig(**kwargs),
                        seed=seed)


def build_lifter(cfg: ExperimentConfig) -> nn.Module:
    """Build the (untrained) model of ``cfg.model`` (a registered name or an architecture)."""
    from monopose.zoo import create_model

    try:
        return create_model(cfg.model.name, **cfg.model.config)
    except ValueError as exc:
        raise ConfigError(f"model: {exc}") from None


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a Lightning checkpoint written by :func:`train` (tensors and plain data only).

    Raises:
        FileNotFoundError: missing file.
        ValueError: not a readable checkpoint of this project.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/foreign files
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})"
                         ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or CHECKPOINT_KEY not in ckpt:
        raise ValueError(f"{path}: not a monopose training checkpoint (no model metadata)")
    return ckpt


def _model_state_from_checkpoint(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}


def init_model_from(model: nn.Module, path: str | Path) -> dict[str, int]:
    """Initialise ``model`` from a checkpoint (``.ckpt``) or exported weights (``.safetensors``).

    Parameters with the same name and shape are copied; a temporal table of another length
    (``[T_src, C]`` vs ``[T_dst, C]``) is centre-cropped or centre-pasted, matching how the models
    slice their positional tables. Raises ValueError if the source holds another architecture or
    nothing matches.

    Returns:
        Counts ``{"copied", "resized", "skipped"}``.
    """
    path = Path(path)
    arch = getattr(model, "architecture", None)
    if path.suffix == ".ckpt":
        ckpt = read_checkpoint(path)
        src_arch = ckpt[CHECKPOINT_KEY].get("architecture")
        state = _model_state_from_checkpoint(ckpt)
    else:
        from monopose.models.weights_io import load_weights

        src_model, info = load_weights(path)
        src_arch, state = info["architecture"], src_model.state_dict()
    if arch is not None and src_arch != arch:
        raise ValueError(f"model.init_from: {path} holds architecture {src_arch!r}, "
                         f"the model is {arch!r}")
    own = model.state_dict()
    counts = {"copied": 0, "resized": 0, "skipped": 0}
    new_state = {}
    for name, dst in own.items():
        src = state.get(name)
        if src is None:
            counts["skipped"] += 1
            continue
        if src.shape == dst.shape:
            new_state[name] = src
            counts["copied"] += 1
        elif src.ndim == dst.ndim == 2 and src.shape[1] == dst.shape[1]:
            new_state[name] = _centre_resize(src, dst)
            counts["resized"] += 1
        else:
            counts["skipped"] += 1
    if counts["copied"] == 0:
        raise ValueError(f"model.init_from: no parameter of {path} matches the model")
    model.load_state_dict(new_state, strict=False)
    return counts


def _centre_resize(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    out = dst.clone()
    n_src, n_dst = src.shape[0], dst.shape[0]
    if n_src >= n_dst:
        start = (n_src - n_dst) // 2
        out.copy_(src[start:start + n_dst])
    else:
        start = (n_dst - n_src) // 2
        out[start:start + n_src] = src
    return out


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON whole (temp file + rename)."""
    text = json.dumps(data, indent=2, default=str) + "\n"
    atomic_write(Path(path), lambda fh: fh.write(text.encode("utf-8")), "path")


def _write_text_atomic(path: Path, text: str) -> None:
    atomic_write(Path(path), lambda fh: fh.write(text.encode("utf-8")), "path")


def _windows(cfg: ExperimentConfig) -> list[int]:
    return [cfg.data.window] + [w for w in cfg.data.mix_windows if w != cfg.data.window]


def _resume_step(path: Path) -> int:
    try:
        return int(read_checkpoint(path).get("global_step", 0))
    except (ValueError, FileNotFoundError):
        return 0


def train(
    cfg: ExperimentConfig,
    *,
    resume: bool = False,
    run_dir: str | Path | None = None,
    source_factory: SourceFactory | None = None,
    export: bool = True,
    callbacks: Sequence[L.Callback] = (),
) -> TrainResult:
    """Train one experiment.

    Args:
        cfg: the experiment.
        resume: continue from ``<run_dir>/checkpoints/last.ckpt`` if it exists (model, optimiser,
            schedule, step and elapsed time budget are restored).
        run_dir: run folder; default ``<cfg.trainer.out_dir>/<cfg.name>``.
        source_factory: where batches come from; default :func:`mocap_source`.
        export: export to ``cfg.export`` when the run ends (rank 0 only).
        callbacks: extra Lightning callbacks.

    Returns:
        A :class:`TrainResult`.
    """
    tr = cfg.trainer
    if tr.num_threads > 0:
        torch.set_num_threads(tr.num_threads)
    run_dir = Path(run_dir) if run_dir is not None else Path(tr.out_dir) / cfg.name
    ckpt_dir = run_dir / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    ckpt_path: str | None = None
    if resume and last.is_file():
        ckpt_path = str(last)
    elif not resume and last.is_file():
        raise FileExistsError(
            f"{last} exists: pass resume=True (--resume) to continue, or remove {run_dir}"
        )

    L.seed_everything(tr.seed, workers=True, verbose=False)
    model = build_lifter(cfg)
    if cfg.model.init_from and ckpt_path is None:
        init_model_from(model, cfg.model.init_from)
    module = build_module(model, cfg)

    factory = source_factory or mocap_source
    specs = [
        StreamSpec(factory(cfg.data, "train", w, tr.seed), max(1, tr.batch_size * cfg.data.window
                                                                  // w))
        for w in _windows(cfg)
    ]
    stream = SampledStream(
        specs, seed=tr.seed,
        occlude_max_joints=cfg.masking.occlude_max_joints if cfg.task == "lift" else 0,
        occlude_prob=cfg.masking.occlude_prob,
        restart=_resume_step(last) if ckpt_path else 0,
        input_frame=cfg.data.input_frame,
    )

    def val_batches() -> list[Any]:
        if cfg.data.val_batches <= 0:
            return []
        src = factory(cfg.data, "val", cfg.data.window, tr.seed)
        rng = np.random.default_rng(12345)
        return [src.sample_batch(cfg.data.val_batch_size, rng) for _ in range(cfg.data.val_batches)]

    datamodule = PoseDataModule(stream, val_batches, num_workers=cfg.data.num_workers)

    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_cb = ModelCheckpoint(dirpath=ckpt_dir, filename="step{step}", save_last=True,
                              save_top_k=0, every_n_train_steps=tr.val_every_steps,
                              auto_insert_metric_name=False)
    cbs: list[L.Callback] = [ckpt_cb, LearningRateMonitor(logging_interval="step"), *callbacks]
    if tr.progress_bar:
        cbs.append(TQDMProgressBar(refresh_rate=max(1, tr.log_every_steps)))
    # one version_<n> folder per session, so a resumed run keeps the logs of earlier sessions
    loggers = [CSVLogger(run_dir, name="logs"),
               TensorBoardLogger(run_dir, name="tb", default_hp_metric=False)]
    trainer = L.Trainer(
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
        default_root_dir=run_dir,
        use_distributed_sampler=False,
        deterministic=False,
    )
    if trainer.is_global_zero:
        _write_text_atomic(run_dir / "config.yaml",
                           yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    trainer.fit(module, datamodule=datamodule, ckpt_path=ckpt_path)
    # the time budget may end between checkpoints: always leave a resumable last.ckpt
    trainer.save_checkpoint(last)
    val = (trainer.validate(module, datamodule=datamodule, verbose=False)
           if cfg.data.val_batches else [])
    val_metrics = {k: float(v) for k, v in (val[0] if val else {}).items()}
    result = TrainResult(run_dir=run_dir, checkpoint=last, global_step=trainer.global_step,
                         train_time_s=module.train_time_s(), val_metrics=val_metrics,
                         module=module)
    if trainer.is_global_zero:
        if export and cfg.export.name:
            from monopose.train.export import export_module

            result.exported = export_module(module, cfg, result)
        write_json_atomic(run_dir / "summary.json", {
            "name": cfg.name,
            "task": cfg.task,
            "global_step": result.global_step,
            "train_time_s": round(result.train_time_s, 1),
            "val_metrics": val_metrics,
            "exported": str(result.exported) if result.exported else None,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        })
    return result
