"""``monopose train CONFIG``: a thin wrapper over :func:`monopose.train.run.train`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["train_command"]


def train_command(
    config: Annotated[Path, typer.Argument(help="Experiment YAML (see monopose/train/configs).")],
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue from <run>/checkpoints/last.ckpt if it exists.")] = False,
    run_dir: Annotated[Path | None, typer.Option(
        help="Run folder (default <trainer.out_dir>/<name>).")] = None,
    max_steps: Annotated[int | None, typer.Option(
        min=1, help="Override trainer.max_steps.")] = None,
    max_time_min: Annotated[float | None, typer.Option(
        min=0.01, help="Override trainer.max_time_min (wall-clock budget).")] = None,
    devices: Annotated[int | None, typer.Option(min=1, help="Override trainer.devices.")] = None,
    strategy: Annotated[str | None, typer.Option(
        help="Override trainer.strategy (e.g. ddp).")] = None,
    accelerator: Annotated[str | None, typer.Option(
        help="Override trainer.accelerator (cpu, gpu, auto).")] = None,
    export_dir: Annotated[Path | None, typer.Option(
        help="Override export.dir (default: the registry's weights folder).")] = None,
    no_export: Annotated[bool, typer.Option("--no-export", help="Do not export weights.")] = False,
) -> None:
    """Train one experiment from a YAML config (checkpoints, CSV/TensorBoard logs, export)."""
    from monopose.train.config import ConfigError, load_config
    from monopose.train.run import train

    overrides: dict[str, object] = {}
    for key, value in (("trainer.max_steps", max_steps), ("trainer.max_time_min", max_time_min),
                       ("trainer.devices", devices), ("trainer.strategy", strategy),
                       ("trainer.accelerator", accelerator)):
        if value is not None:
            overrides[key] = value
    if export_dir is not None:
        overrides["export.dir"] = str(export_dir)
    try:
        cfg = load_config(config, overrides)
        if cfg.task == "metrabs":  # image model: its own data path, same engine
            from monopose.metrabs.training import train_metrabs

            summary = train_metrabs(cfg, run_dir, resume, export=not no_export)
            typer.echo(f"{cfg.name}: {summary['global_step']} steps in "
                       f"{summary['train_time_s'] / 60:.1f} min; {summary['metrics']}")
            if summary.get("exported"):
                typer.echo(f"exported {summary['exported']}")
            return
        result = train(cfg, resume=resume, run_dir=run_dir, export=not no_export)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    metrics = ", ".join(f"{k} {v:.1f}" for k, v in result.val_metrics.items())
    typer.echo(f"{cfg.name}: {result.global_step} steps in {result.train_time_s / 60:.1f} min; "
               f"{metrics or 'no validation'}; checkpoint {result.checkpoint}")
    if result.exported:
        typer.echo(f"exported {result.exported}")
