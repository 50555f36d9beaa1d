"""``monopose evaluate CHECKPOINT_OR_MODEL --data ...``: a thin wrapper over
:mod:`monopose.eval.evaluate` (keypoint lifters) and :mod:`monopose.eval.metrabs` (image
models), chosen by what the model reads."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, TaskID

from monopose.io.files import write_json_atomic

if TYPE_CHECKING:
    from monopose.models.interface import PoseModel

__all__ = ["evaluate_command", "evaluate_photos_command"]

PER_PHOTO_ROWS_MAX = 20  # evaluate-photos prints a row per person up to this many


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
    placement: Annotated[str, typer.Option(
        help="Lifters: solve scores the lifted poses (the standard protocol); ray_fit scores "
        "them fitted to the centre frame's 2D rays, as predict and lift output them.")
    ] = "solve",
) -> None:
    """Print MPJPE, P-MPJPE, N-MPJPE, PCK@150 and AUC per action and overall.

    MeTRAbs models (``metrabs-*``) read images: ``--data`` is then a folder of rendered shards
    (``monopose data render``; scored: MRPE, absolute and root-relative MPJPE, PCK, ms per person
    over ``--num-windows`` photos) or a truncation crop cache (root-relative MPJPE per share of
    the body cut off)."""
    # heavy: torch and the models behind them; `monopose --help` stays fast
    from monopose.eval import evaluate as lifter_eval
    from monopose.eval.metrabs import evaluate_metrabs

    try:
        model, label, model_win = lifter_eval.load_evaluation_model(checkpoint_or_model,
                                                                    num_aug=tta)
        if model.needs == "image":
            text, scores = evaluate_metrabs(model, data, tta, num_windows)
        else:
            text, scores = _evaluate_lifter(
                model, label, model_win, data, data_2d, split, sources, window, num_windows,
                frame_step, seed, [c.strip() for c in conditions.split(",") if c.strip()],
                per_action, placement)
    except (FileNotFoundError, ValueError, NotImplementedError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(text)
    if json_out is not None:
        write_json_atomic(json_out, scores, indent=2, default=str)
        typer.echo(f"wrote {json_out}")


def _evaluate_lifter(model: PoseModel, label: str, model_win: int, data: Path,
                     data_2d: Path | None, split: str, sources: str | None, window: int,
                     num_windows: int, frame_step: int, seed: int, conditions: list[str],
                     per_action: bool, placement: str = "solve") -> tuple[str, dict]:
    """A keypoint lifter on mocap or Human3.6M windows: ``(report text, scores)``."""
    from monopose.eval import evaluate as lifter_eval  # heavy: torch

    window_eval = max(window, model_win)
    if data_2d is not None or (data.suffix == ".npz" and data.name != "mocap.npz"):
        evalset = lifter_eval.h36m_eval_set(str(data), str(data_2d) if data_2d else None,
                                            window=window_eval, frame_step=frame_step)
    else:
        evalset = lifter_eval.mocap_eval_set(str(data), split, window_eval, num_windows,
                                             sources.split(",") if sources else None, seed)
    report = lifter_eval.evaluate_model(model, evalset, name=label, conditions=conditions,
                                        window=model_win, seed=seed, placement=placement)
    return lifter_eval.format_report(report, per_action=per_action), report.to_dict()


def evaluate_photos_command(
    labels: Annotated[Path, typer.Argument(
        help="JSON labels of photos with 3D ground truth: items of image, layout, "
        "pose3d_camera_mm [J, 3] (camera axes, mm), camera {fx, fy, cx, cy} and optionally "
        "keypoints2d_px [J, 2]; images relative to the file (README, \"Evaluating on your own "
        "photos\").")],
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="A registered model, run as `monopose predict --model` runs it; repeat "
        "to compare (default: the default for photos).")] = None,
    anchor: Annotated[bool, typer.Option(
        help="Also score MediaPipe's own 3D (legacy world landmarks, mapped to h36m17).")
    ] = True,
    true_2d: Annotated[bool, typer.Option(
        "--true-2d/--no-true-2d",
        help="Also lift the labelled 2D with each keypoint lifter: its error without the "
        "detector's.")] = True,
    tta: Annotated[int | None, typer.Option(
        "--tta", min=1, max=8, help="The final landmark look over N crops, as in predict "
        "(default: the product's).")] = None,
    floor_lifter: Annotated[bool, typer.Option(
        "--floor-lifter/--no-floor-lifter", help="As predict's: mpm-lift-t1 hands the people it "
        "lifts as on the floor to mpm-lift-t1-floorsit (the true-2D rows lift as `monopose "
        "lift` does, which hands them over).")] = False,
    per_photo: Annotated[bool | None, typer.Option(
        "--per-photo/--means-only", help="Print a row per labelled person, not only the means "
        f"(default: per person up to {PER_PHOTO_ROWS_MAX} people).")] = None,
    json_out: Annotated[Path | None, typer.Option(
        help="Also write every score as JSON (written whole, or not at all).")] = None,
) -> None:
    """Score the whole pipeline on photos with 3D ground truth, side by side with MediaPipe.

    MPJPE, P-MPJPE and PCK@150 (root-relative, h36m17), per joint, the root's error in camera
    space with the photos' intrinsics, and how many labelled people each method found."""
    # heavy: the detector, the models and MediaPipe; `monopose --help` stays fast
    from monopose.eval.photo_truth import load_photo_truths
    from monopose.pipeline.estimator import DEFAULT_MODEL
    from monopose.pipeline.photo_eval import evaluate_photos, format_photo_report, plan_methods

    try:
        truths = load_photo_truths(labels)
        for note in truths.skipped:
            typer.echo(f"skipped: {note}", err=True)
        options: dict[str, object] = {"floor_lifter": floor_lifter}
        if tta is not None:
            options["num_aug"] = tta
        plans = plan_methods(model or [DEFAULT_MODEL], anchor, true_2d, **options)
        with Progress(console=Console(stderr=True), transient=True) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(name: str, done: int, total: int) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done)

            report = evaluate_photos(truths.items, plans, progress)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None
    rows = per_photo if per_photo is not None else len(truths.items) <= PER_PHOTO_ROWS_MAX
    typer.echo(format_photo_report(report, rows))
    if json_out is not None:
        write_json_atomic(json_out, {**report.to_dict(), "labels": str(labels),
                                     "skipped": truths.skipped}, indent=2, default=str)
        typer.echo(f"wrote {json_out}")
