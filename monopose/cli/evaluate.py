"""``monopose evaluate CHECKPOINT_OR_MODEL --data ...``: a thin wrapper over
:mod:`monopose.eval.evaluate`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["evaluate_command"]


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
