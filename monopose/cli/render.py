"""`monopose data render`: synthetic images of mocap poses on random anny bodies."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from monopose.data.synthetic.poses import PoseSource


# Options both render commands take (one definition, the same flags and help).
_OUT = typer.Option(..., "--out", help="Output folder (shards + index.json).")
_WORKERS = typer.Option(1, "--workers", min=1, max=256, help="Rendering processes.")
_MOCAP = typer.Option(Path("cache/mocap"), "--mocap",
                      help="Mocap cache (mocap.npz or its folder).")
_ANNY_CACHE = typer.Option(
    None, "--anny-cache",
    help="anny model cache (default: $ANNY_CACHE_DIR or ~/.cache/monopose/anny).",
)


@contextmanager
def _exit_on(*errors: type[Exception]) -> Iterator[None]:
    """Turn ``errors`` into one ``error: ...`` line on stderr and exit code 1."""
    try:
        yield
    except errors as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None


def _poses(mocap: Path, split: str, postures: str = "") -> PoseSource:
    """The de-duplicated frames of a split of the mocap cache, of some postures
    (comma-separated; empty: all).

    Raises:
        ValueError: an unknown split or posture, or no frames. FileNotFoundError: no cache.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"--split: expected train, val or test, got {split!r}")
    # heavy: numpy and the mocap cache; monopose --help stays fast
    from monopose.data.synthetic.poses import PoseSource

    wanted = [p.strip() for p in postures.split(",") if p.strip()] if postures else None
    try:
        return PoseSource.from_cache(mocap, split, postures=wanted)
    except ValueError as exc:
        if wanted is not None and str(exc).startswith("postures:"):
            raise ValueError(f"--postures: {str(exc).removeprefix('postures: ')}") from None
        raise


def render(
    n: int = typer.Option(..., "--n", min=1, help="Number of samples to render."),
    out: Path = _OUT,
    size: int = typer.Option(256, "--size", min=32, max=4096,
                             help="Image side in pixels (square images)."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed: sample i depends on (seed, i)."),
    workers: int = _WORKERS,
    split: str = typer.Option("train", "--split", help="Mocap split: train, val or test."),
    mocap: Path = _MOCAP,
    shard_size: int = typer.Option(256, "--shard-size", min=1, help="Samples per shard file."),
    anny_cache: Path = _ANNY_CACHE,
    postures: str = typer.Option(
        "", "--postures",
        help="Only mocap frames of these postures, comma-separated: standing, low, floor, "
             "lying (docs/sampler.md). Default: all."),
    floor_sits: bool = typer.Option(
        False, "--floor-sits",
        help="Sit every pose on the floor: its upper body on legs laid out sitting or "
             "kneeling (docs/sampler.md, 'Floor sits'), which the mocap does not have."),
) -> None:
    """Render N synthetic people (mocap motion on random anny bodies) with exact 3D labels.

    Resumable: shards already complete in OUT are skipped. Needs the optional extra
    `pip install 'monopose[render]'`.
    """
    # heavy: OpenCV, SciPy and the renderer behind it; monopose --help stays fast
    from monopose.data.synthetic.generate import write_dataset

    with _exit_on(FileNotFoundError, ValueError, ImportError):
        poses = _poses(mocap, split, postures)
        if floor_sits:
            poses = poses.sat_on_floor(seed)
        rep = write_dataset(out, n, poses, size=size, seed=seed,
                            split=split, workers=workers, shard_size=shard_size,
                            cache_dir=anny_cache)
    typer.echo(f"{rep.out_dir}: {rep.num_samples} samples in {rep.num_shards} shards "
               f"({rep.shards_written} rendered, {rep.shards_skipped} already complete) "
               f"in {rep.seconds:.1f} s")


def render_multi(
    n: int = typer.Option(..., "--n", min=1, help="Number of images to render."),
    out: Path = _OUT,
    width: int = typer.Option(640, "--width", min=32, max=8192, help="Image width in pixels."),
    height: int = typer.Option(480, "--height", min=32, max=8192, help="Image height in pixels."),
    seed: int = typer.Option(0, "--seed", help="Dataset seed: image i depends on (seed, i)."),
    workers: int = _WORKERS,
    split: str = typer.Option("val", "--split", help="Mocap split: train, val or test."),
    mocap: Path = _MOCAP,
    shard_size: int = typer.Option(100, "--shard-size", min=1, help="Images per shard file."),
    anny_cache: Path = _ANNY_CACHE,
) -> None:
    """Render N images with 2-4 people each (mocap motion on random anny bodies, one camera,
    composited by depth) with exact per-person 3D, 2D and visibility labels.

    Resumable: shards already complete in OUT are skipped. Needs the optional extra
    `pip install 'monopose[render]'`.
    """
    # heavy: OpenCV, SciPy and the renderer behind it; monopose --help stays fast
    from monopose.data.synthetic.multi import write_multi_dataset

    with _exit_on(FileNotFoundError, ValueError, ImportError, RuntimeError):
        rep = write_multi_dataset(out, n, _poses(mocap, split), size_wh=(width, height),
                                  seed=seed, workers=workers, split=split,
                                  shard_size=shard_size, cache_dir=anny_cache, progress=True)
    hist = rep.people_histogram
    typer.echo(f"{rep.out_dir}: {rep.num_images} images in {rep.num_shards} shards "
               f"({rep.shards_written} rendered, {rep.shards_skipped} already complete) "
               f"in {rep.seconds:.1f} s" + (f"; people per image {hist}" if hist else ""))
