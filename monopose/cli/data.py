"""`monopose data ...`: build training data caches."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Build training data (mocap cache).",
                  rich_markup_mode=None)


@app.command("mocap")
def mocap(
    src: list[Path] = typer.Argument(  # noqa: B008
        None, help="BVH files or folders (default: $MONOPOSE_SHARED/mocap)."
    ),
    out: Path = typer.Option(Path("cache/mocap"), "--out", help="Output folder for mocap.npz."),  # noqa: B008
    fps: float = typer.Option(30.0, min=1.0, max=1000.0, help="Stored frame rate of every clip."),
    dedup_mm: float = typer.Option(
        20.0, help="Single-frame index: drop frames where no joint moved this far (mm)."
    ),
    include: list[str] = typer.Option(  # noqa: B008
        ["cmu", "bandai"], "--include",
        help="Sources to keep: cmu (commercial use allowed) and/or bandai (non-commercial).",
    ),
    force: bool = typer.Option(False, help="Rebuild even if the cache is up to date."),
) -> None:
    """Parse BVH mocap, map it to H36M-17 in world mm and cache it for the sampler."""
    # heavy: numpy and the BVH parser; monopose --help stays fast
    from monopose.data.mocap_cache import build_mocap_cache

    try:
        rep = build_mocap_cache(
            src or None, out, target_fps=fps, dedup_mm=dedup_mm, include=include, force=force
        )
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    state = "built" if rep.rebuilt else "up to date"
    size_mb = rep.path.stat().st_size / 1e6
    typer.echo(f"{rep.path} ({state}, {size_mb:.1f} MB, {rep.seconds:.1f} s)")
    typer.echo(f"files {rep.num_files}, clips {rep.num_clips}, frames {rep.num_frames}, "
               f"single-frame index {rep.num_single}")
    for s in rep.frames_per_split:
        typer.echo(f"  {s}: {rep.frames_per_split[s]} frames, "
                   f"{rep.single_per_split[s]} in the single-frame index")
    if rep.skipped:
        typer.echo(f"skipped {len(rep.skipped)} file(s):")
        for name, reason in rep.skipped:
            typer.echo(f"  {name}: {reason}")
