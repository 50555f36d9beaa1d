"""Synthetic rendering: throughput, memory and agreement with the 2D detector.

Parts (each can be skipped):

* ``--throughput N``: ``write_dataset`` of N samples at ``--size`` with ``--workers`` processes
  into a temporary folder; images/s over the whole run (retargeting + skinning + rendering +
  encoding, after the workers' start-up, which is reported separately) and peak RSS of every
  process (``ru_maxrss`` of this process and of its children).
* ``--agree N``: N renders (seed ``--seed``); on those without truncated joints, BlazePose
  (``monopose.detect.BlazePoseDetector``) is run; a render *agrees* when a person is found and the
  median distance over the limb joints (hips, knees, ankles, shoulders, elbows, wrists: the
  h36m17 joints that are not derived) between detected and ground-truth 2D keypoints is at most
  10% of the person's height (the longer side of the segmentation mask's box).
* ``--renderer``: time of the rasterizer alone (moderngl, EGL) on the posed body.

The load average is printed with the numbers (the machine may be shared). Run from the
repository root:

    .venv/bin/python benchmarks/bench_render.py --throughput 256 --agree 200 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monopose.data.synthetic.generate import (  # noqa: E402
    PoseSource,
    SyntheticRenderer,
    write_dataset,
)

LIMBS = (1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16)


def _rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, kids


def throughput(poses: PoseSource, n: int, size: int, workers: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        marks: list[tuple[float, int]] = []

        def cb(done: int, total: int) -> None:
            marks.append((time.perf_counter(), done))

        t0 = time.perf_counter()
        # Small shards so the first one marks the end of the start-up.
        shard = max(8, n // (4 * workers))
        write_dataset(tmp, n, poses, size=size, seed=seed, workers=workers, shard_size=shard,
                      progress=cb)
        total = time.perf_counter() - t0
        first_t, first_n = next((t, d) for t, d in marks if d > 0)
        steady = (n - first_n) / max(marks[-1][0] - first_t, 1e-9)
        size_mb = sum(p.stat().st_size for p in Path(tmp).glob("*.npz")) / 1e6
    own, kids = _rss_mb()
    return {"n": n, "size": size, "workers": workers, "seconds_total": round(total, 1),
            "images_per_s_total": round(n / total, 2),
            "images_per_s_steady": round(steady, 2),
            "bytes_per_sample_kb": round(size_mb * 1e3 / n, 1),
            "peak_rss_main_mb": round(own), "peak_rss_worker_mb": round(kids)}


def agreement(poses: PoseSource, n: int, size: int, seed: int) -> dict:
    from monopose.detect import BlazePoseDetector

    det = BlazePoseDetector(num_threads=1)
    r = SyntheticRenderer(poses, size=size, seed=seed)
    tested = found = agree = 0
    errs = []
    t_render = 0.0
    for i in range(n):
        t = time.perf_counter()
        s = r.render_sample(i)
        t_render += time.perf_counter() - t
        if s.truncated.any():
            continue
        tested += 1
        ys, xs = np.nonzero(s.mask)
        height = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1.0
        people = det.detect(s.image)
        if not people:
            errs.append(np.inf)
            continue
        found += 1
        box = np.array([xs.min(), ys.min(), xs.max(), ys.max()], float)
        best = max(people, key=lambda p: _iou(p.box_xyxy_px, box))
        e = np.linalg.norm(best.keypoints_h36m_px[list(LIMBS)]
                           - s.keypoints_2d_px[list(LIMBS)], axis=-1)
        rel = float(np.median(e)) / height
        errs.append(rel)
        agree += int(rel <= 0.10)
    r.close()
    errs_a = np.asarray(errs)
    return {"renders": n, "untruncated": tested, "person_found": found, "agree": agree,
            "agree_rate": round(agree / max(tested, 1), 3),
            "median_rel_error": round(float(np.median(errs_a)), 4),
            "render_ms_in_process": round(1e3 * t_render / n, 1)}


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(area, 1e-9)


def renderer_only(poses: PoseSource, size: int, reps: int = 50) -> dict:
    r = SyntheticRenderer(poses, size=size, seed=0)
    s = r.render_sample(0, keep_depth=True)
    body = r.body
    rng = np.random.default_rng(0)
    from monopose.data.synthetic.body import random_phenotypes
    from monopose.data.synthetic.retarget import retarget_h36m17

    rest = body.rest(random_phenotypes(rng))
    ret = retarget_h36m17(body, rest, poses.poses_mm[0])
    posed = body.pose(rest, ret.rotations, ret.root_m)
    verts = posed.vertices_mm @ s.R.T.astype(np.float64) + s.t
    colors = np.full_like(verts, 0.6)
    times = {}
    t = time.perf_counter()
    for _ in range(reps):
        r.renderer.render(verts, colors, s.intrinsics, (size, size))
    times["raster_ms"] = 1e3 * (time.perf_counter() - t) / reps
    t = time.perf_counter()
    for _ in range(reps):
        rest = body.rest(random_phenotypes(rng))
        ret = retarget_h36m17(body, rest, poses.poses_mm[rng.integers(len(poses.poses_mm))])
        body.pose(rest, ret.rotations, ret.root_m)
    times["shape_retarget_skin_ms"] = 1e3 * (time.perf_counter() - t) / reps
    t = time.perf_counter()
    for i in range(reps):
        r.render_sample(1000 + i)
    times["full_sample_ms"] = 1e3 * (time.perf_counter() - t) / reps
    r.close()
    return {k: round(v, 1) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", default=str(ROOT / "cache" / "mocap"))
    ap.add_argument("--split", default="train")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--throughput", type=int, default=256, help="samples (0: skip)")
    ap.add_argument("--agree", type=int, default=200, help="renders (0: skip)")
    ap.add_argument("--renderer", action="store_true", help="time the parts in one process")
    args = ap.parse_args()

    poses = PoseSource.from_cache(args.cache, args.split)
    out: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpu_count": os.cpu_count(),
                 "loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    if args.renderer:
        out["parts"] = renderer_only(poses, args.size)
        print(json.dumps(out["parts"]), flush=True)
    if args.throughput:
        out["throughput"] = throughput(poses, args.throughput, args.size, args.workers, args.seed)
        print(json.dumps(out["throughput"]), flush=True)
    if args.agree:
        out["detector_agreement"] = agreement(poses, args.agree, args.size, args.seed + 1)
        print(json.dumps(out["detector_agreement"]), flush=True)
    out["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
