"""Sharded dataset files shared by the synthetic writers: encoding, atomic writes, resuming.

A dataset folder holds ``shard-00000.npz`` … (``shard_size`` samples each, the last one may be
shorter), each written whole (temp file + rename), plus ``index.json``. Every shard stores
``num_samples`` and ``settings_hash`` (a hash of the writer's settings without ``n``): a shard
with the expected count and hash is skipped, so an interrupted run resumes where it stopped and
asking for more samples later extends the same dataset; a shard from other settings raises
``ValueError``.

Rendering goes through any renderer class with ``render_sample(i)``, ``shard_arrays(samples)``
and ``close()``; with several workers each spawned process builds its renderer once.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from rich.progress import Progress

if TYPE_CHECKING:
    from monopose.data.synthetic.body import AnnyBody

__all__ = [
    "shard_name",
    "encode_image",
    "pack_blobs",
    "write_npz",
    "write_text",
    "settings_hash",
    "check_dataset_args",
    "render_shards",
    "ShardedRun",
    "write_sharded_dataset",
]

ProgressArg = bool | Callable[[int, int], None]
# (per-shard index fields, extra index fields) from the output folder and the shard bounds.
Describe = Callable[[Path, list[tuple[int, int, int]]], tuple[list[dict], dict]]


def shard_name(k: int) -> str:
    return f"shard-{k:05d}.npz"


def encode_image(image: np.ndarray, ext: str, quality: int = 90) -> bytes:
    """Encode ``[H, W, 3]`` uint8 RGB (JPEG at ``quality``) or ``[H, W]`` uint8 (e.g. PNG)."""
    if image.ndim == 3:
        image = image[..., ::-1]  # RGB → BGR for OpenCV
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(image),
                               [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    else:
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(image))
    if not ok:
        raise RuntimeError(f"could not encode an image as {ext}")
    return buf.tobytes()


def pack_blobs(blobs: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate byte strings: ``(data [B] uint8, offsets [N + 1] int64)``; blob ``i`` is
    ``data[offsets[i]:offsets[i + 1]]``."""
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in blobs])
    data = np.frombuffer(b"".join(blobs), dtype=np.uint8) if blobs else np.zeros(0, np.uint8)
    return data, offsets


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to ``path`` whole (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` whole (temp file + rename)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def settings_hash(settings: dict) -> str:
    """16 hex digits identifying the settings of a dataset."""
    # n is left out: asking for more samples later extends the same dataset.
    s = {k: v for k, v in settings.items() if k != "n"}
    return hashlib.sha1(json.dumps(s, sort_keys=True).encode()).hexdigest()[:16]


def check_dataset_args(n: int, workers: int, shard_size: int, split: str,
                       size_error: str | None = None) -> None:
    """Validate a writer's arguments; ``size_error`` is the writer's own message for a bad
    image size (None when the size is fine).

    Raises:
        ValueError: the first argument out of range.
    """
    if n < 1:
        raise ValueError(f"n: expected >= 1, got {n}")
    if size_error is not None:
        raise ValueError(size_error)
    if workers < 1:
        raise ValueError(f"workers: expected >= 1, got {workers}")
    if shard_size < 1:
        raise ValueError(f"shard_size: expected >= 1, got {shard_size}")
    if split not in ("train", "val", "test"):
        raise ValueError(f"split: expected 'train', 'val' or 'test', got {split!r}")


def _shard_complete(path: Path, expected: int, digest: str) -> bool:
    if not path.is_file():
        return False
    try:
        with np.load(path, allow_pickle=False) as z:
            count = int(z["num_samples"])
            found = str(z["settings_hash"])
    except (OSError, ValueError, KeyError):
        return False  # unreadable: render it again
    if found != digest:
        raise ValueError(
            f"{path}: shard written with other settings (hash {found}, expected {digest}); "
            "use another --out folder"
        )
    return count == expected


# Per-process renderer of the worker pool (set by _init_worker in each worker process).
_WORKER: dict[str, object] = {}


def _init_worker(renderer_cls: type, args: tuple) -> None:
    _WORKER["renderer"] = renderer_cls(*args)


def _render_shard(renderer: Any, out_dir: Path, k: int, start: int, stop: int,
                  digest: str) -> tuple[int, int, float]:
    """Render samples ``start..stop`` with any renderer that has ``render_sample(i)`` and
    ``shard_arrays(samples)``, and write shard ``k`` whole."""
    t0 = time.perf_counter()
    arrays = renderer.shard_arrays([renderer.render_sample(i) for i in range(start, stop)])
    arrays["num_samples"] = np.array(stop - start)
    arrays["settings_hash"] = np.array(digest)
    write_npz(out_dir / shard_name(k), arrays)
    return k, stop - start, time.perf_counter() - t0


def _worker_task(args: tuple[str, int, int, int, str]) -> tuple[int, int, float]:
    out_dir, k, start, stop, digest = args
    return _render_shard(_WORKER["renderer"], Path(out_dir), k, start, stop, digest)


def render_shards(out: Path, n: int, shard_size: int, digest: str, renderer_cls: type,
                  args: tuple, workers: int = 1, progress: ProgressArg = True,
                  body: AnnyBody | None = None) -> list[tuple[int, int, int]]:
    """Render the missing shards of a dataset of ``n`` samples (resumable, deterministic).

    ``renderer_cls(*args, body=body)`` renders in this process when ``workers == 1``; otherwise
    ``workers`` spawned processes each build ``renderer_cls(*args)`` once.

    Returns:
        The shards rendered now, as ``(k, start, stop)``.
    """
    bounds = [(k, k * shard_size, min((k + 1) * shard_size, n))
              for k in range((n + shard_size - 1) // shard_size)]
    todo = [(k, a, b) for k, a, b in bounds
            if not _shard_complete(out / shard_name(k), b - a, digest)]
    done = n - sum(b - a for _, a, b in todo)
    report_progress, finish = _progress(progress, n, done)
    try:
        if todo and workers == 1:
            renderer = renderer_cls(*args, body=body)
            try:
                for k, a, b in todo:
                    _, count, _ = _render_shard(renderer, out, k, a, b, digest)
                    done += count
                    report_progress(done)
            finally:
                renderer.close()
        elif todo:
            ctx = mp.get_context("spawn")
            tasks = [(str(out), k, a, b, digest) for k, a, b in todo]
            with ctx.Pool(min(workers, len(tasks)), initializer=_init_worker,
                          initargs=(renderer_cls, args)) as pool:
                for _, count, _ in pool.imap_unordered(_worker_task, tasks):
                    done += count
                    report_progress(done)
    finally:
        finish()
    return todo


def _progress(progress: ProgressArg, n: int, done: int
              ) -> tuple[Callable[[int], None], Callable[[], None]]:
    if callable(progress):
        cb = progress
        cb(done, n)
        return (lambda d: cb(d, n)), (lambda: None)
    if not progress:
        return (lambda d: None), (lambda: None)
    prog = Progress(transient=False)
    prog.start()
    task = prog.add_task("render", total=n, completed=done)
    return (lambda d: prog.update(task, completed=d)), prog.stop


@dataclass
class ShardedRun:
    """What :func:`write_sharded_dataset` did."""

    out_dir: Path
    num_shards: int
    shards_written: int
    shards_skipped: int
    index: dict  # as written to index.json


def write_sharded_dataset(out_dir: str | Path, n: int, shard_size: int, settings: dict,
                          renderer_cls: type, renderer_args: tuple, images: str, *,
                          workers: int = 1, progress: ProgressArg = True,
                          body: AnnyBody | None = None,
                          describe: Describe | None = None) -> ShardedRun:
    """Render the missing shards of ``n`` samples into ``out_dir`` (created) and write its
    ``index.json``: ``settings``, their hash, the shard list (file, start, count), then the
    fields of ``describe``, the joint layout, the ``images`` storage note and the time.

    Args:
        out_dir: Output folder.
        n: Number of samples. shard_size: Samples per shard.
        settings: Everything the samples depend on besides ``n`` (hashed into each shard).
        renderer_cls, renderer_args: See :func:`render_shards`.
        images: How the images are stored, recorded in the index.
        workers: Processes (``spawn``); 1 renders in this process.
        progress: A progress bar (True), nothing (False), or ``progress(done, n)``.
        body: A loaded body model for ``workers == 1``.
        describe: ``describe(out_dir, bounds)`` called once every shard exists, with ``bounds``
            ``[(k, start, stop)]``: per-shard fields added to each shard entry, and index fields.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    digest = settings_hash(settings)
    num_shards = (n + shard_size - 1) // shard_size
    bounds = [(k, k * shard_size, min((k + 1) * shard_size, n)) for k in range(num_shards)]
    todo = render_shards(out, n, shard_size, digest, renderer_cls, renderer_args, workers,
                         progress, body)
    shards = [{"file": shard_name(k), "start": a, "count": b - a} for k, a, b in bounds]
    extra: dict = {}
    if describe is not None:
        per_shard, extra = describe(out, bounds)
        shards = [{**s, **e} for s, e in zip(shards, per_shard, strict=True)]
    index = {
        **settings,
        "settings_hash": digest,
        "num_shards": num_shards,
        "shards": shards,
        **extra,
        "layout": "h36m17",
        "images": images,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    write_text(out / "index.json", json.dumps(index, indent=1))
    return ShardedRun(out_dir=out, num_shards=num_shards, shards_written=len(todo),
                      shards_skipped=num_shards - len(todo), index=index)
