"""``monopose train CONFIG`` and ``monopose evaluate CHECKPOINT_OR_MODEL --data ...``.

Thin wrappers over :func:`monopose.train.run.train` and :mod:`monopose.eval.evaluate`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["train_command", "evaluate_command"]


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


def evaluate_command(
    checkpoint_or_model: Annotated[str, typer.Argument(
        help="A .ckpt, exported .safetensors, or a registered model name.")],
    data: Annotated[Path, typer.Option(
        help="Mocap cache (folder or mocap.npz), or a Human3.6M-format data_3d_h36m.npz "
        "(with --data-2d).")],
    data_2d: Annotated[Path | None, typer.Option(
        help="Human3.6M-format 2D npz (data_2d_h36m_<source>.npz).")] = None,
    split: Annotated[str, typer.Option(help="Split of the mocap cache.")] = "test",
    sources: Annotated[str | None, typer.Option(
        help="Comma-separated mocap sources (default: all).")] = None,
    window: Annotated[int, typer.Option(
        min=1, max=1024,
        help="Frames per evaluation window; shorter models see the centre frames.")] = 27,
    num_windows: Annotated[int, typer.Option(min=1, help="Evaluation windows (mocap).")] = 1500,
    frame_step: Annotated[int, typer.Option(
        min=1, help="Human3.6M: every n-th frame is scored (1 = the lifting protocol).")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of cameras, noise and missing joints.")] = 0,
    conditions: Annotated[str, typer.Option(
        help="Comma-separated: gt2d, noisy2d, missing<k>.")] = "gt2d,noisy2d,missing2,missing4,"
    "missing6",
    per_action: Annotated[bool, typer.Option(help="Also print per-action tables.")] = True,
    json_out: Annotated[Path | None, typer.Option(help="Also write the scores as JSON.")] = None,
    tta: Annotated[int, typer.Option(
        "--tta", min=1, max=8, help="MeTRAbs models: test-time augmentations.")] = 1,
) -> None:
    """Print MPJPE, P-MPJPE, N-MPJPE, PCK@150 and AUC per action and overall.

    MeTRAbs models (``metrabs-*``) read images: ``--data`` is then a folder of rendered shards
    (``monopose data render``; scored: MRPE, absolute and root-relative MPJPE, PCK, ms per person
    over ``--num-windows`` photos) or a truncation crop cache (root-relative MPJPE per share of
    the body cut off)."""
    from monopose.zoo import get_card

    try:
        is_metrabs = get_card(checkpoint_or_model).architecture == "metrabs"
    except ValueError:
        is_metrabs = False
    if is_metrabs:
        from monopose.eval.metrabs import evaluate_metrabs

        try:
            text, scores = evaluate_metrabs(checkpoint_or_model, data, tta, num_windows)
        except (FileNotFoundError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=2) from None
        typer.echo(text)
        if json_out is not None:
            from monopose.train.run import write_json_atomic

            write_json_atomic(json_out, scores)
            typer.echo(f"wrote {json_out}")
        return
    from monopose.eval.evaluate import (
        evaluate_model,
        format_report,
        h36m_eval_set,
        load_lifter,
        mocap_eval_set,
    )
    from monopose.train.run import write_json_atomic

    try:
        model, label, model_win = load_lifter(checkpoint_or_model)
        window_eval = max(window, model_win)
        if data_2d is not None or (data.suffix == ".npz" and data.name != "mocap.npz"):
            evalset = h36m_eval_set(str(data), str(data_2d) if data_2d else None,
                                    window=window_eval, frame_step=frame_step)
        else:
            evalset = mocap_eval_set(str(data), split, window_eval, num_windows,
                                     sources.split(",") if sources else None, seed)
        report = evaluate_model(model, evalset, name=label,
                                conditions=[c.strip() for c in conditions.split(",") if c.strip()],
                                window=model_win, seed=seed)
    except (FileNotFoundError, ValueError, NotImplementedError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(format_report(report, per_action=per_action))
    if json_out is not None:
        write_json_atomic(json_out, report.to_dict())
        typer.echo(f"wrote {json_out}")
