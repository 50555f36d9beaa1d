"""Verbs for interoperability: export-bvh (animation for Blender & co.) and export-onnx."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["export_bvh", "export_onnx"]


def export_bvh(
    result: Path = typer.Argument(..., help="A result JSON written by `monopose predict`."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Output .bvh file, or a folder for <stem>_person<id>.bvh. "
                             "Several people next to a .bvh path: <name>_person<id>.bvh."),
    smoothing: str = typer.Option("savgol", help="Temporal smoothing of the positions before "
                                  "fitting rotations: savgol (default, ~0.3 s window), "
                                  "one_euro, or off."),
    min_frames: int | None = typer.Option(None, min=1, help="Skip people seen in fewer frames "
                                          "(default: 1 for an image; for a video a third of a "
                                          "second, at least 3)."),
    frame: str = typer.Option("world", help="world: people on the floor (Y up) when the result "
                              "has a `world` frame; camera: camera space turned Y up."),
) -> None:
    """Animate a BVH skeleton (Y up, cm) per person from a result JSON: joint rotations are fitted
    to the predicted 3D joints; the round-trip error is reported."""
    # heavy: scipy behind it; `monopose --help` stays fast
    from monopose.export.bvh_writer import export_bvh as run

    try:
        report = run(result, out, smoothing=smoothing, min_frames=min_frames, frame=frame)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for msg in report.warnings:
        typer.echo(f"note: {msg}", err=True)
    for e in report.exports:
        rt = "" if e.round_trip_mm is None else f", round trip {e.round_trip_mm:.2f} mm"
        typer.echo(f"wrote {e.path} ({e.num_frames} frames{rt})")
    if not report.exports:
        raise typer.Exit(1)


def export_onnx(
    model: str = typer.Argument(..., help="Registered model (see `monopose models`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .onnx file."),
    weights_dir: Path | None = typer.Option(None, help="Folder with the trained weights."),
    untrained: bool = typer.Option(False, "--untrained",
                                   help="Export a randomly initialised network if no trained "
                                   "weights exist (for testing deployment only)."),
    opset: int = typer.Option(17, min=13, max=21, help="ONNX opset version."),
) -> None:
    """Export a model to ONNX, checked with onnxruntime (dynamic batch).

    Lifters: inputs normalised keypoints_2d [B,T,17,2] and valid [B,T,17]; output pose_3d_mm
    [B,T,17,3]. MeTRAbs models: inputs the crop's landmark-network maps level32/level16/level8
    (NCHW); outputs keypoints_2d_crop_px [B,17,2] and pose_3d_rel_mm [B,17,3] (crop camera)."""
    # heavy: torch and onnx behind it; `monopose --help` stays fast
    from monopose.export.onnx_export import export_onnx as run

    try:
        res = run(model, out, weights_dir=weights_dir, untrained=untrained, opset=opset)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    for msg in res.warnings:
        typer.echo(f"note: {msg}", err=True)
    typer.echo(f"wrote {res.path} ({res.model}, window {res.window}); onnxruntime vs PyTorch: "
               f"max error {res.max_abs_error_mm:.2e} mm ({res.max_rel_error:.1e} relative)")
