"""`monopose data ...`: build training data caches."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer(no_args_is_help=True, help="Build training data (mocap cache, feature caches).",
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


@app.command("capf-features")
def capf_features(
    renders: Path = typer.Argument(..., help="A folder of rendered shards (monopose data render)."),
    out: Path = typer.Argument(..., help="Output folder of the feature cache."),
    patch: int = typer.Option(5, min=1, max=15, help="Patch side per feature level (cells)."),
    part: int = typer.Option(0, min=0, help="This process builds shards k, k mod parts = part."),
    parts: int = typer.Option(1, min=1, help="Processes sharing the work."),
    threads: int = typer.Option(1, min=1, help="Detector threads."),
    tag: str = typer.Option("", help="Suffix of this build's cache files (several builds, one "
                            "folder)."),
) -> None:
    """Run the frozen detector on rendered people and cache its feature maps at the joints
    (the training data of Context-Aware PoseFormer)."""
    # heavy: LiteRT and torch behind it; monopose --help stays fast
    from monopose.capf.dataset import build_feature_cache

    try:
        rep = build_feature_cache(renders, out, patch, part, parts, threads, tag=tag)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(json.dumps({k: str(v) if isinstance(v, Path) else v
                           for k, v in rep.__dict__.items()}))


@app.command("detect")
def detect(
    renders: list[Path] = typer.Argument(..., help="Render set folders (monopose data render)."),  # noqa: B008
    threads: int = typer.Option(1, min=1, help="Detector threads."),
    landmarks: str = typer.Option("full", "--landmarks",
                                  help="The landmark network: full (detections.npz) or heavy "
                                  "(BlazePose Heavy's final look, detections-heavy.npz)."),
) -> None:
    """Run the detector on rendered people and keep its 2D beside the labels
    (`detections.npz` in each folder): training pairs with the detector's real errors
    (config keys data.detected_renders, data.detected_share, data.detected_landmarks)."""
    # heavy: LiteRT behind it; monopose --help stays fast
    from monopose.data.detected_renders import detect_renders

    failed = 0
    for folder in renders:
        try:
            rep = detect_renders(folder, num_threads=threads, landmark_model=landmarks)
        except (FileNotFoundError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        state = "up to date" if rep.reused else f"{rep.seconds:.0f} s"
        typer.echo(f"{rep.path}: {rep.found}/{rep.samples} with a person ({state})")
    if failed:
        raise typer.Exit(code=1)


@app.command("metrabs-crops")
def metrabs_crops(
    renders: list[Path] = typer.Argument(..., help="Folders of rendered shards."),  # noqa: B008
    out: Path = typer.Option(..., "--out", help="Output folder of the crop cache."),  # noqa: B008
    mode: str = typer.Option("train", help="train (augmented crops) or eval (whole, 20 % and "
                             "40 % truncated)."),
    crops: int = typer.Option(2, min=1, help="Training crops per person."),
    seed: int = typer.Option(0, help="Seed of the crop augmentation."),
    part: str = typer.Option("0/1", help="i/n: this process builds shards k with k mod n = i."),
    limit_shards: int | None = typer.Option(None, min=1, help="Use at most this many shards."),
) -> None:
    """Cache the frozen landmark network's maps of homography-warped person crops (the
    training data of MeTRAbs)."""
    # heavy: LiteRT and torch behind it; monopose --help stays fast
    from monopose.metrabs.cache import build_crop_cache

    if mode not in ("train", "eval"):
        raise typer.BadParameter(f"expected train or eval, got {mode!r}", param_hint="--mode")
    try:
        i, n = (int(x) for x in part.split("/"))
    except ValueError:
        raise typer.BadParameter(f"expected i/n, got {part!r}", param_hint="--part") from None
    try:
        rep = build_crop_cache([str(r) for r in renders], str(out), mode, crops, seed=seed,
                               part=(i, n), limit_shards=limit_shards)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(str(rep))


@app.command("labels-3dhp")
def labels_3dhp(
    root: Path = typer.Argument(..., help="The MPI-INF-3DHP test set folder (TS1 … TS6)."),
    out: Path = typer.Option(..., "--out", help="The labels file to write (JSON)."),  # noqa: B008
    sequences: str = typer.Option("TS1,TS2,TS3,TS4", help="Comma-separated sequences; TS5 and "
                                  "TS6 have lens distortion the pinhole camera ignores."),
    every: int = typer.Option(1, min=1, help="Keep every n-th valid frame of each sequence."),
    all_frames: bool = typer.Option(False, help="Also frames the official protocol leaves out."),
) -> None:
    """Write a labels file of the MPI-INF-3DHP test set's photos for `monopose evaluate-photos`
    (camera-space annot3, annot2, each sequence's intrinsics, the activity as the group)."""
    # heavy: h5py; monopose --help stays fast
    from monopose.data.mpi3dhp import mpi3dhp_photo_labels
    from monopose.io.files import write_json_atomic

    try:
        labels = mpi3dhp_photo_labels(root, out.parent, [s.strip() for s in sequences.split(",")
                                                         if s.strip()], every, not all_frames)
    except (FileNotFoundError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    if not labels["items"]:
        typer.echo(f"error: {root}: no frame with its image (TSk/imageSequence/img_NNNNNN.jpg); "
                   f"{labels['missing_images']} images missing", err=True)
        raise typer.Exit(code=1)
    write_json_atomic(out, labels)
    missing = labels["missing_images"]
    typer.echo(f"{out}: {len(labels['items'])} labelled photos"
               + (f" ({missing} frames without their image left out)" if missing else ""))
