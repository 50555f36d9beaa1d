"""Build and load the compact mocap cache (H36M-17 world poses in mm).

Building (``monopose data mocap SRC... --out DIR`` or :func:`build_mocap_cache`):

1. find every ``.bvh``/``.bvh.gz`` under the sources;
2. parse, map to H36M-17 (:mod:`.mocap`), convert to the Z-up world frame in mm;
3. resample every clip to one fixed rate (default 30 fps: CMU 60 → every 2nd frame, Bandai 30 →
   every frame) and store it whole, so temporal windows of uniformly spaced frames can be cut
   from any clip;
4. mark the frames of the *single-frame index*: a frame is kept when some joint moved at least
   ``dedup_mm`` (root-relative) since the last kept frame of the clip. Windows ignore this mask;
5. assign splits (:func:`assign_split`) and the licence tag per clip;
6. write ``DIR/mocap.npz`` whole (temp file + rename).

A file that cannot be read or mapped is skipped and reported with its name and the reason. The
cache stores a hash of the source file names, sizes and mtimes, the builder version and the
options; it is rebuilt only when that hash changes (or when forced).

Splits. CMU: held-out subjects, train 1, 2, 5, 6 / val 3 / test 7 (other subjects: train).
Bandai has no actor ids, so whole content types are held out (:data:`BANDAI_HELD_OUT`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import Progress

from monopose.data.bvh import BvhError, read_bvh
from monopose.data.mocap import (
    MAPPINGS,
    MappingError,
    bvh_to_world_mm,
    detect_source,
    map_to_h36m17,
)
from monopose.data.mocap_store import CACHE_NAME, SPLITS, CacheBuildReport, MocapCache
from monopose.data.proportions import keep_lowest_ankle, to_reference_proportions

__all__ = [
    "BUILDER_VERSION",
    "CMU_SPLITS",
    "BANDAI_HELD_OUT",
    "SPLITS",
    "CacheBuildReport",
    "MocapCache",
    "assign_split",
    "build_mocap_cache",
    "default_mocap_dir",
    "find_bvh_files",
    "sources_hash",
]

BUILDER_VERSION = "2"  # 2: Human3.6M proportions (monopose.data.proportions)
CMU_SPLITS: dict[int, str] = {1: "train", 2: "train", 5: "train", 6: "train", 3: "val", 7: "test"}
# Bandai: (dataset, content) pairs held out whole. Left/right variants of a held-out content stay
# in the other splits on purpose: the test is new motions, not a new kind of motion.
BANDAI_HELD_OUT: dict[str, dict[str, tuple[str, ...]]] = {
    "val": {
        "dataset-1": ("bye", "walk-left", "kick"),
        "dataset-2": ("wave-left-hand", "walk-turn-left"),
    },
    "test": {
        "dataset-1": ("guide", "walk-right", "slash"),
        "dataset-2": ("raise-up-left-hand", "walk-turn-right"),
    },
}


def default_mocap_dir() -> Path:
    """``$MONOPOSE_SHARED/mocap`` (default shared folder: ``<repo>/../shared``)."""
    shared = os.environ.get("MONOPOSE_SHARED")
    root = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared"
    return root / "mocap"


def find_bvh_files(sources: Iterable[str | Path]) -> list[Path]:
    """All ``.bvh``/``.bvh.gz`` files in the given files or folders (recursive, sorted).

    Raises:
        FileNotFoundError: if a source does not exist.
    """
    files: set[Path] = set()
    for src in sources:
        p = Path(src)
        if not p.exists():
            raise FileNotFoundError(
                f"mocap source {str(p)!r} does not exist (the shared data folder is found via "
                "MONOPOSE_SHARED, default <repo>/../shared)"
            )
        if p.is_dir():
            files.update(q for q in p.rglob("*") if q.name.endswith((".bvh", ".bvh.gz")))
        else:
            files.add(p)
    return sorted(files, key=lambda q: str(q))


def sources_hash(files: Sequence[Path], options: dict[str, object]) -> str:
    """SHA-256 of file names, sizes, mtimes, the builder version and the build options."""
    h = hashlib.sha256()
    h.update(f"v{BUILDER_VERSION}|{json.dumps(options, sort_keys=True)}".encode())
    for f in files:
        st = f.stat()
        h.update(f"|{f.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class ClipInfo:
    """Metadata of one clip: source, clip name, subject (CMU) or dataset (Bandai), action."""

    source: str
    clip: str
    subject: str
    action: str
    style: str


def _clean(text: str) -> str:
    return re.sub(r"[/\s]+", " ", text).strip().replace(" ", "_") or "unknown"


def _clip_info(path: Path, source: str, index: dict[str, dict[str, str]]) -> ClipInfo:
    stem = path.name.removesuffix(".gz").removesuffix(".bvh")
    row = index.get(path.name, {})
    if source == "cmu":
        m = re.match(r"(\d+)_(\d+)", stem)
        subject = str(int(m.group(1))) if m else row.get("subject", "unknown")
        return ClipInfo(source, stem, subject, _clean(row.get("description", stem)), "")
    m = re.match(r"(dataset-\d+)_(.+?)_([^_]+)_(\d+)$", stem)
    if m:
        return ClipInfo(source, stem, m.group(1), m.group(2), m.group(3))
    return ClipInfo(source, stem, row.get("dataset", "unknown"), row.get("content", stem),
                    row.get("style", ""))


def assign_split(info: ClipInfo) -> str:
    """Split of a clip: CMU by subject, Bandai by held-out content (see module docstring)."""
    if info.source == "cmu":
        try:
            return CMU_SPLITS.get(int(info.subject), "train")
        except ValueError:
            return "train"
    for split, held in BANDAI_HELD_OUT.items():
        if info.action in held.get(info.subject, ()):
            return split
    return "train"


def _load_indexes(files: Sequence[Path]) -> dict[str, dict[str, str]]:
    """Rows of any ``index*.csv`` found next to or above the files, keyed by file base name."""
    rows: dict[str, dict[str, str]] = {}
    seen: set[Path] = set()
    for f in files:
        for d in (f.parent, f.parent.parent):
            for csv_path in d.glob("index*.csv"):
                if csv_path in seen:
                    continue
                seen.add(csv_path)
                try:
                    with csv_path.open(newline="", encoding="utf-8") as fh:
                        for row in csv.DictReader(fh):
                            if row.get("file"):
                                rows[Path(row["file"]).name] = row
                except (OSError, csv.Error, UnicodeDecodeError):
                    continue
    return rows


def dedup_mask(poses_mm: np.ndarray, threshold_mm: float) -> np.ndarray:
    """Frames to keep in the single-frame index.

    Args:
        poses_mm: ``[F, J, 3]`` one clip.
        threshold_mm: A frame is kept when some joint moved at least this far (root-relative)
            since the last kept frame. The first frame is always kept. ``<= 0`` keeps all.

    Returns:
        ``[F]`` bool.
    """
    n = poses_mm.shape[0]
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    if threshold_mm <= 0:
        keep[:] = True
        return keep
    rel = (poses_mm - poses_mm[:, :1]).astype(np.float64)
    keep[0] = True
    last = rel[0]
    thr2 = threshold_mm**2
    for f in range(1, n):
        if np.max(np.sum((rel[f] - last) ** 2, axis=-1)) >= thr2:
            keep[f] = True
            last = rel[f]
    return keep


@dataclass
class _Clip:
    info: ClipInfo
    split: str
    poses_mm: np.ndarray  # [F, 17, 3] float32
    frame_index: np.ndarray  # [F] original frame numbers
    fps: float
    keep: np.ndarray


def _process_file(path: Path, target_fps: float, dedup_mm: float,
                  index: dict[str, dict[str, str]]) -> _Clip:
    motion = read_bvh(path)
    source = detect_source(path, motion.skeleton.names)
    if motion.num_frames == 0:
        raise BvhError(f"{path.name}: no frames")
    rig_poses = bvh_to_world_mm(map_to_h36m17(motion, MAPPINGS[source]))
    # Joint placement and proportions of Human3.6M's skeleton; the feet stay on the floor.
    poses = keep_lowest_ankle(rig_poses, to_reference_proportions(rig_poses))
    step = max(1, int(round(motion.fps / target_fps))) if target_fps > 0 else 1
    frames = np.arange(0, motion.num_frames, step)
    poses = poses[frames]
    poses[..., :2] -= poses[0, 0, :2]  # first pelvis over the origin; keep the floor height
    info = _clip_info(path, source, index)
    return _Clip(
        info=info,
        split=assign_split(info),
        poses_mm=poses.astype(np.float32),
        frame_index=frames.astype(np.int32),
        fps=motion.fps / step,
        keep=dedup_mask(poses, dedup_mm),
    )


def _path_source(path: Path) -> str | None:
    parts = [p.lower() for p in path.parts]
    return next((s for s in MAPPINGS if s in parts), None)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mocap-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_mocap_cache(
    sources: Sequence[str | Path] | None,
    out_dir: str | Path,
    *,
    target_fps: float = 30.0,
    dedup_mm: float = 20.0,
    include: Sequence[str] = ("cmu", "bandai"),
    force: bool = False,
    progress: bool = True,
) -> CacheBuildReport:
    """Build ``out_dir/mocap.npz`` from BVH sources (skipped when already up to date).

    Args:
        sources: Files or folders; None uses :func:`default_mocap_dir`.
        out_dir: Output folder.
        target_fps: Stored rate; each clip keeps every ``round(fps / target_fps)``-th frame.
        dedup_mm: Threshold of the single-frame index (see :func:`dedup_mask`).
        include: Sources (licences) to keep: ``("cmu",)`` gives a commercial-safe cache.
        force: Rebuild even when the hash matches.
        progress: Show a progress bar.

    Raises:
        FileNotFoundError: a source is missing, or no BVH file was found.
        ValueError: bad options, or no file could be used.
    """
    t0 = time.perf_counter()
    files = _source_files(sources, target_fps, include)
    out_path = Path(out_dir) / CACHE_NAME
    options = {"target_fps": target_fps, "dedup_mm": dedup_mm, "include": sorted(include)}
    digest = sources_hash(files, options)
    if out_path.exists() and not force:
        try:
            cache = MocapCache.load(out_path)
            if cache.meta.get("hash") == digest:
                return cache.report(out_path, rebuilt=False)
        except (OSError, ValueError, KeyError):
            pass  # unreadable cache: rebuild

    clips, skipped = _read_clips(files, target_fps, dedup_mm, include, progress)
    if not clips:
        reasons = "; ".join(f"{Path(n).name}: {r}" for n, r in skipped[:5])
        raise ValueError(f"no usable mocap clip among {len(files)} files ({reasons})")
    meta = {
        "hash": digest,
        "builder_version": BUILDER_VERSION,
        "options": options,
        "layout": "h36m17",
        "units": "mm",
        "world_axes": "x = bvh x, y = -bvh z, z = bvh y (Z up, right-handed); floor at z = 0",
        "num_files": len(files),
        "skipped": skipped,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    arrays = _cache_arrays(clips, meta)
    _write_npz(out_path, arrays)
    report = MocapCache(arrays).report(out_path, rebuilt=True)
    report.seconds = time.perf_counter() - t0
    return report


def _source_files(sources: Sequence[str | Path] | None, target_fps: float,
                  include: Sequence[str]) -> list[Path]:
    """Check the build options and list the BVH files of ``sources`` (default folder if none)."""
    if target_fps <= 0:
        raise ValueError(f"target_fps: expected > 0, got {target_fps}")
    bad = [s for s in include if s not in MAPPINGS]
    if bad or not include:
        raise ValueError(f"include: expected a subset of {sorted(MAPPINGS)}, got {list(include)}")
    if sources is None or len(sources) == 0:
        default = default_mocap_dir()
        if not default.exists():
            raise FileNotFoundError(
                f"no mocap sources given and the shared mocap folder {default} does not exist; "
                "set MONOPOSE_SHARED to the shared data folder or pass SRC paths"
            )
        sources = [default]
    files = find_bvh_files(sources)
    if not files:
        raise FileNotFoundError(f"no .bvh or .bvh.gz files found in {[str(s) for s in sources]}")
    return files


def _read_clips(files: list[Path], target_fps: float, dedup_mm: float, include: Sequence[str],
                progress: bool) -> tuple[list[_Clip], list[tuple[str, str]]]:
    """The usable clips of ``files`` and ``(file, reason)`` for every file skipped."""
    index = _load_indexes(files)
    clips: list[_Clip] = []
    skipped: list[tuple[str, str]] = []
    prog = Progress(transient=False) if progress else None
    if prog is not None:
        prog.start()
        task = prog.add_task("mocap", total=len(files))
    try:
        for f in files:
            try:
                if _path_source(f) not in (None, *include):
                    if prog is not None:
                        prog.advance(task)
                    continue
                clip = _process_file(f, target_fps, dedup_mm, index)
                if clip.info.source in include:
                    clips.append(clip)
            except (BvhError, MappingError) as exc:
                skipped.append((str(f), str(exc).removeprefix(f"{f.name}: ")))
            except (OSError, EOFError, UnicodeDecodeError) as exc:
                skipped.append((str(f), f"cannot read ({exc})"))
            if prog is not None:
                prog.advance(task)
    finally:
        if prog is not None:
            prog.stop()
    return clips, skipped


def _cache_arrays(clips: list[_Clip], meta: dict[str, object]) -> dict[str, np.ndarray]:
    """The arrays of ``mocap.npz``: clips concatenated frame-wise, one entry per clip."""
    lengths = np.array([c.poses_mm.shape[0] for c in clips], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return {
        "poses_mm": np.concatenate([c.poses_mm for c in clips]),
        "frame_index": np.concatenate([c.frame_index for c in clips]),
        "keep": np.concatenate([c.keep for c in clips]),
        "clip_start": starts,
        "clip_length": lengths,
        "clip_fps": np.array([c.fps for c in clips], dtype=np.float32),
        "clip_name": np.array([c.info.clip for c in clips]),
        "clip_source": np.array([c.info.source for c in clips]),
        "clip_subject": np.array([c.info.subject for c in clips]),
        "clip_action": np.array([c.info.action for c in clips]),
        "clip_style": np.array([c.info.style for c in clips]),
        "clip_split": np.array([c.split for c in clips]),
        "meta_json": np.array(json.dumps(meta)),
    }
