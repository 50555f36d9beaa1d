"""Numbers for BENCHMARKS.md: mocap cache build and sampler throughput (one core).

Usage:
    .venv/bin/python benchmarks/bench_data.py [--cache-out DIR] [--seconds 5] [--skip-build]

Builds the cache from all of $MONOPOSE_SHARED/mocap (CMU + both Bandai sets) into a fresh folder
(default: a temporary one) to time it, reports its size and poses per split, then measures
how many poses per second MocapSampler delivers for T = 1 and T = 27 with numpy and torch
limited to one thread.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from monopose.data.mocap_cache import MocapCache, build_mocap_cache, default_mocap_dir  # noqa: E402
from monopose.data.sampler import MocapSampler  # noqa: E402


def throughput(cache: MocapCache, window: int, batch: int, seconds: float) -> float:
    """Poses (frames) per second delivered by ``sample_batch``."""
    sampler = MocapSampler(cache, "train", window=window, seed=0)
    rng = np.random.default_rng(0)
    sampler.sample_batch(batch, rng)  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        sampler.sample_batch(batch, rng)
        n += batch
    return n * window / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache-out", type=Path, default=None)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--skip-build", action="store_true",
                    help="use an existing cache in --cache-out instead of timing a build")
    args = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    src = default_mocap_dir()
    if not src.exists():
        raise SystemExit(f"shared mocap folder {src} not found (set MONOPOSE_SHARED)")
    out = args.cache_out or Path(tempfile.mkdtemp(prefix="monopose-bench-"))
    result: dict = {"machine": f"{platform.processor() or platform.machine()}, "
                               f"{os.cpu_count()} cores, {platform.python_version()}",
                    "date": time.strftime("%Y-%m-%d %H:%M")}
    if not args.skip_build:
        rep = build_mocap_cache([src], out, force=True, progress=False)
        result["build_s"] = round(rep.seconds, 1)
        result["files"] = rep.num_files
        result["skipped"] = len(rep.skipped)
    cache = MocapCache.load(out)
    path = out / "mocap.npz"
    result["cache_mb"] = round(path.stat().st_size / 1e6, 1)
    result["clips"] = len(cache.clip_start)
    result["frames_per_split"] = {}
    result["single_frame_index_per_split"] = {}
    for split in ("train", "val", "test"):
        for src_name in ("cmu", "bandai"):
            clips = cache.select_clips(split, [src_name])
            key = f"{split}/{src_name}"
            result["frames_per_split"][key] = int(cache.clip_length[clips].sum())
            result["single_frame_index_per_split"][key] = int(
                len(cache.window_starts(clips, 1, single_frame_index=True)))
    result["rate_fps"] = float(np.unique(cache.clip_fps.round(2))[0])
    result["sampler_T1_poses_per_s"] = round(throughput(cache, 1, 1024, args.seconds))
    result["sampler_T27_poses_per_s"] = round(throughput(cache, 27, 128, args.seconds))
    result["sampler_T27_windows_per_s"] = round(result["sampler_T27_poses_per_s"] / 27)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
