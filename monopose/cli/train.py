"""``monopose train CONFIG``: every training run, whatever the model family.

The config's ``task`` names the family whose ``training.make_task`` builds the module and data;
the engine (:func:`monopose.train.engine.train`) runs it. Lightning's DDP launcher starts the
other ranks by re-running this same command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from monopose.train.config import ConfigError, ExperimentConfig, load_config

__all__ = ["train_command", "soup_command", "make_task_for"]


def make_task_for(task: str) -> Any:
    """The ``make_task(cfg, run)`` of the family that trains ``task`` (see ``TASKS``)."""
    if task in ("lift", "mpm_pretrain"):
        from monopose.lifting.training import make_task  # heavy: Lightning, the mocap sampler

        return make_task
    if task == "capf":
        from monopose.capf.training import make_task as capf_task  # heavy: Lightning

        return capf_task
    if task == "metrabs":
        from monopose.metrabs.training import make_task as metrabs_task  # heavy: Lightning

        return metrabs_task
    raise ConfigError(f"task: no family trains {task!r}")


def _overrides(sets: list[str], **options: Any) -> dict[str, Any]:
    """Dotted overrides from ``--set KEY=VALUE`` (YAML values) and the named options."""
    out: dict[str, Any] = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    out.update({k: v for k, v in options.items() if v is not None})
    return out


def _report(cfg: ExperimentConfig, result: Any) -> None:
    metrics = ", ".join(f"{k} {v:.1f}" for k, v in (result.headline or result.val_metrics).items())
    typer.echo(f"{cfg.name}: {result.global_step} steps in {result.train_time_s / 60:.1f} min; "
               f"{metrics or 'no validation'}; checkpoint {result.checkpoint}")
    if result.exported:
        typer.echo(f"exported {result.exported}")


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
    set_: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE",
        help="Override any config key: --set data.cache=cache/x (repeatable).")] = None,
) -> None:
    """Train one experiment from a YAML config (checkpoints, CSV/TensorBoard logs, export)."""
    from monopose.train.engine import train  # heavy: Lightning

    try:
        overrides = _overrides(
            set_ or [], **{"trainer.max_steps": max_steps, "trainer.max_time_min": max_time_min,
                           "trainer.devices": devices, "trainer.strategy": strategy,
                           "trainer.accelerator": accelerator,
                           "export.dir": None if export_dir is None else str(export_dir)})
        cfg = load_config(config, overrides)
        result = train(cfg, make_task_for(cfg.task), resume=resume, run_dir=run_dir,
                       export=not no_export)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    _report(cfg, result)


def soup_command(
    weights: Annotated[list[Path], typer.Argument(
        help="Exported weights (.safetensors with their .json beside) of one model, two or more.")],
    out: Annotated[Path, typer.Option(help="Folder the averaged weights are written to.")],
    name: Annotated[str | None, typer.Option(
        help="File stem and card name (default: the first weights' model name).")] = None,
    mix: Annotated[list[float] | None, typer.Option(
        "--mix", min=0.0, help="One weight per input, in order (default: equal).")] = None,
) -> None:
    """Average the weights of several fine-tuning runs of one model into one (a model soup)."""
    # heavy: torch and every family's models (the zoo registers their architectures)
    import monopose.zoo  # noqa: F401
    from monopose.train.soup import soup_weights  # heavy: torch

    try:
        path = soup_weights(weights, out, name=name, mix=mix)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(f"averaged {len(weights)} weights into {path}")
