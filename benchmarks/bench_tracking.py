"""Multi-person tracking: the current PoseTracker vs. ByteTrack on BlazePose detections.

Rendered videos with ground-truth identities (:mod:`monopose.data.synthetic.multi_video`,
rendered here when missing, resumable) are scored with ``motmetrics`` through
:mod:`monopose.eval.mot` (box IoU matching, ``--iou``); the real street video (no ground truth)
gets the number of ids, the track length distribution and the speed.

Trackers:

* ``posetracker``: :class:`monopose.detect.tracking.PoseTracker` (landmark-driven ROIs, periodic
  whole-image and tiled re-detection, IoU matching), as in ``Estimator.predict_video``
  (ids revivable for ``TRACK_MEMORY_S``, duplicates by landmark distance, tracks dropped as
  duplicates kept as lost);
* ``posetracker-before``: the same with the earlier settings (15 frames of memory, duplicates
  by landmark-ROI overlap and forgotten);
* ``bytetrack``: :meth:`BlazePoseDetector.detect` on every frame (whole image + tiles, the
  single-image path) and :class:`monopose.detect.bytetrack.ByteTrackAssigner` on its boxes and
  scores;
* ``posetracker+bytetrack``: PoseTracker's people each frame (its ROI propagation and periodic
  detection, so its cost), their ids replaced by ``ByteTrackAssigner``'s (the presence score
  stands in for the detector score of tracked ROIs).

Both report the same box per person (:attr:`PersonDetection.box_xyxy_px`). Results go to
``runs/bench_tracking/results.json``; a markdown table is printed.

    .venv/bin/python benchmarks/bench_tracking.py [--videos N] [--street-frames N]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from monopose.data.mocap_cache import MocapCache
from monopose.data.synthetic.multi_video import read_video_labels, video_name, write_video_dataset
from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.bytetrack import ByteTrackAssigner
from monopose.detect.tracking import PoseTracker, memory_frames_for
from monopose.detect.types import PersonDetection
from monopose.eval.mot import (
    BoxFrame,
    TrackClass,
    accumulate,
    classify_tracks,
    ground_truth_frames,
    iou_matrix,
    summarize,
)
from monopose.io.video import iterate_video

ROOT = Path(__file__).resolve().parents[1]
STREET = ROOT.parent / "shared" / "media" / "people_walking_street_multi.avi"
# the pipeline's working size (monopose.pipeline.working_size.MAX_WORKING_SIDE_PX)
MAX_SIDE_PX = 1280
TRACKERS = ("posetracker-before", "posetracker", "bytetrack", "posetracker+bytetrack")
Step = Callable[[np.ndarray], list[PersonDetection]]


def read_frames(path: Path, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """RGB frames, the longer side brought down to ``MAX_SIDE_PX`` as the pipeline does."""
    for item in iterate_video(path, max_frames=max_frames):
        if isinstance(item, tuple):
            rgb = item[1]
            scale = MAX_SIDE_PX / max(rgb.shape[:2])
            if scale < 1.0:
                rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            yield rgb


@functools.cache
def earlier_rule_detector(num_threads: int) -> BlazePoseDetector:
    """A detector with the earlier duplicate rule (landmark ROIs overlapping by IoU > 0.5)."""
    return BlazePoseDetector(num_threads=num_threads, duplicate_frac=None)


def make_step(name: str, detector: BlazePoseDetector, fps: float,
              timing: dict[str, float]) -> Step:
    """A fresh tracker as ``frame → people with track_id``; adds seconds to ``timing``."""
    assigner = ByteTrackAssigner(frame_rate=fps)
    if name.startswith("posetracker"):
        tracker = (PoseTracker(earlier_rule_detector(detector.num_threads), memory_frames=15,
                               revive_duplicates=False)
                   if name == "posetracker-before" else
                   PoseTracker(detector, memory_frames=memory_frames_for(fps)))
        relabel = name.endswith("+bytetrack")

        def step_pt(rgb: np.ndarray) -> list[PersonDetection]:
            t0 = time.perf_counter()
            out = tracker.update(rgb)
            t1 = time.perf_counter()
            if relabel:  # PoseTracker's people, ids from ByteTrack
                out = assigner.update(out)
            t2 = time.perf_counter()
            timing["total_s"] += t2 - t0
            timing["association_s"] += t2 - t1
            return out
        return step_pt

    def step_bt(rgb: np.ndarray) -> list[PersonDetection]:
        t0 = time.perf_counter()
        people = detector.detect(rgb)
        t1 = time.perf_counter()
        out = assigner.update(people)
        t2 = time.perf_counter()
        timing["total_s"] += t2 - t0
        timing["association_s"] += t2 - t1
        return out
    return step_bt


def run_tracker(name: str, detector: BlazePoseDetector, frames: Iterator[np.ndarray],
                fps: float) -> tuple[list[BoxFrame], dict[str, float]]:
    """Track through ``frames``: per-frame ``BoxFrame``s (ids = track ids) and timing."""
    timing = {"total_s": 0.0, "association_s": 0.0, "frames": 0.0}
    step = make_step(name, detector, fps, timing)
    out = []
    for rgb in frames:
        people = [p for p in step(rgb) if p.track_id is not None]
        out.append(BoxFrame(np.array([p.track_id for p in people], dtype=np.int64),
                            np.array([p.box_xyxy_px for p in people], float).reshape(-1, 4)))
        timing["frames"] += 1
    timing["fps"] = timing["frames"] / max(timing["total_s"], 1e-9)
    return out, timing


def box_agreement(gt: list[BoxFrame], pred: list[BoxFrame]) -> float:
    """Median best IoU of each required ground-truth box with a predicted box (found ones)."""
    best = []
    for g, p in zip(gt, pred, strict=True):
        req = ~g.ignore if g.ignore is not None else np.ones(len(g.ids), bool)
        if req.any() and len(p.ids):
            iou = iou_matrix(g.boxes_xyxy_px[req], p.boxes_xyxy_px).max(axis=1)
            best += iou[iou > 0.1].tolist()
    return float(np.median(best)) if best else float("nan")


def length_stats(pred: list[BoxFrame]) -> dict[str, object]:
    """Ids and track length distribution (frames present per id)."""
    ids, counts = np.unique(np.concatenate([f.ids for f in pred] + [np.zeros(0, np.int64)]),
                            return_counts=True)
    bins = [1, 2, 5, 10, 20, 50, 100, 200, 10**9]
    hist = {f"{a}-{b - 1}" if b < 10**9 else f">={a}": int(((counts >= a) & (counts < b)).sum())
            for a, b in zip(bins[:-1], bins[1:], strict=True)}
    pct = np.percentile(counts, [10, 25, 50, 75, 90]).tolist() if len(counts) else []
    return {"num_ids": int(len(ids)), "length_histogram": hist,
            "length_percentiles_10_25_50_75_90": [float(x) for x in pct],
            "mean_people_per_frame": float(np.mean([len(f.ids) for f in pred]))}


def min_length_table(classes: list[TrackClass], max_len: int = 30) -> list[dict[str, float]]:
    """For each candidate minimum length L: share of false tracks, fragments and primary tracks
    shorter than L, and share of the true tracks' frames that dropping them loses."""
    kinds = {k: np.array([c.length for c in classes if c.kind == k]) for k in
             ("primary", "fragment", "false")}
    true_frames = max(1, int(kinds["primary"].sum() + kinds["fragment"].sum()))
    rows = []
    for L in range(1, max_len + 1):
        row: dict[str, float] = {"min_length": L}
        for k, v in kinds.items():
            row[f"{k}_dropped"] = float((v < L).mean()) if len(v) else 0.0
        lost = kinds["primary"][kinds["primary"] < L].sum() + kinds["fragment"][
            kinds["fragment"] < L].sum()
        row["true_frames_lost"] = float(lost / true_frames)
        rows.append(row)
    return rows


def bench_rendered(detector: BlazePoseDetector, folder: Path, n: int, iou: float,
                   box_key: str, trackers: tuple[str, ...] = TRACKERS) -> dict[str, object]:
    """Score both trackers on the rendered videos."""
    accs: dict[str, list[object]] = {t: [] for t in trackers}
    timing: dict[str, list[dict[str, float]]] = {t: [] for t in trackers}
    classes: dict[str, list[TrackClass]] = {t: [] for t in trackers}
    agreement: dict[str, list[float]] = {t: [] for t in trackers}
    names = []
    for i in range(n):
        labels = read_video_labels(folder / f"{video_name(i)}.npz")
        n_frames, fps = int(labels["num_frames"]), float(labels["fps"])
        gt = ground_truth_frames(labels, n_frames, box_key=box_key)
        names.append(video_name(i))
        for name in trackers:
            pred, tm = run_tracker(name, detector, read_frames(folder / f"{video_name(i)}.mp4"),
                                   fps)
            accs[name].append(accumulate(gt, pred, iou))
            timing[name].append(tm)
            classes[name] += classify_tracks(gt, pred, iou)
            agreement[name].append(box_agreement(gt, pred))
            print(f"  {video_name(i)} {name}: {tm['fps']:.1f} fps", flush=True)
    out: dict[str, object] = {}
    for name in trackers:
        total = sum(t["total_s"] for t in timing[name])
        frames = sum(t["frames"] for t in timing[name])
        out[name] = {
            "metrics": summarize(accs[name], names),
            "fps": frames / total,
            "association_ms_per_frame": 1e3 * sum(t["association_s"] for t in timing[name])
            / frames,
            "median_box_iou": float(np.nanmedian(agreement[name])),
            "tracks": [c.__dict__ for c in classes[name]],
            "min_length": min_length_table(classes[name]),
        }
    return out


def bench_street(detector: BlazePoseDetector, path: Path, max_frames: int | None,
                 trackers: tuple[str, ...] = TRACKERS) -> dict[str, object]:
    """Ids, track lengths and speed of both trackers on the real street video."""
    cap = cv2.VideoCapture(str(path))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 25.0)
    cap.release()
    out: dict[str, object] = {"video_fps": fps}
    for name in trackers:
        pred, tm = run_tracker(name, detector, read_frames(path, max_frames), fps)
        out[name] = {**length_stats(pred), "fps": tm["fps"], "frames": int(tm["frames"]),
                     "association_ms_per_frame": 1e3 * tm["association_s"] / tm["frames"]}
        print(f"  street {name}: {tm['fps']:.1f} fps", flush=True)
    return out


def machine() -> dict[str, str]:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"date": subprocess.run(["date"], capture_output=True, text=True).stdout.strip(),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": f"{platform.node()} {platform.machine()}, {cpu}, "
                       f"{os.cpu_count()} CPUs visible", "python": sys.version.split()[0]}


def recommend_min_length(rows: list[dict[str, float]]) -> int:
    """Smallest L dropping >= 80 % of false tracks; else the L losing <= 2 % of true frames."""
    for r in rows:
        if r["false_dropped"] >= 0.8 and r["true_frames_lost"] <= 0.05:
            return int(r["min_length"])
    ok = [r for r in rows if r["true_frames_lost"] <= 0.02]
    return int(ok[-1]["min_length"]) if ok else 1


def print_report(res: dict[str, object], iou: float, trackers: tuple[str, ...] = TRACKERS
                 ) -> None:
    env = res["env"]
    assert isinstance(env, dict)
    print(f"\n**Command:** `{env['command']}`  \n**Date:** {env['date']}  \n"
          f"**Machine:** {env['machine']}, Python {env['python']}\n")
    ren = res.get("rendered")
    if isinstance(ren, dict):
        print(f"Rendered videos ({res['num_videos']}, IoU >= {iou} on `{res['box_key']}`, "
              "events pooled over videos):\n")
        print("| tracker | IDF1 | MOTA | ID sw. | frag. | recall | precision | FP | FN "
              "| MT/objects | fps | assoc. ms/frame | box IoU |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name in trackers:
            r = ren[name]
            m = r["metrics"]["OVERALL" if "OVERALL" in r["metrics"] else next(iter(r["metrics"]))]
            print(f"| {name} | {m['idf1']:.3f} | {m['mota']:.3f} | {m['num_switches']:.0f} | "
                  f"{m['num_fragmentations']:.0f} | {m['recall']:.3f} | {m['precision']:.3f} | "
                  f"{m['num_false_positives']:.0f} | {m['num_misses']:.0f} | "
                  f"{m['mostly_tracked']:.0f}/{m['num_unique_objects']:.0f} | {r['fps']:.1f} | "
                  f"{r['association_ms_per_frame']:.2f} | {r['median_box_iou']:.2f} |")
        print("\nMinimum track length (rendered, frames at 15 fps): share dropped below L\n")
        print("| tracker | L | false dropped | fragments dropped | primary dropped "
              "| true frames lost |")
        print("|---|---|---|---|---|---|")
        for name in trackers:
            for row in ren[name]["min_length"]:
                if row["min_length"] in (2, 3, 5, 8, 10, 15, 20):
                    print(f"| {name} | {row['min_length']} | {row['false_dropped']:.2f} | "
                          f"{row['fragment_dropped']:.2f} | {row['primary_dropped']:.2f} | "
                          f"{row['true_frames_lost']:.3f} |")
            print(f"| {name} | recommended | {ren[name]['recommended_min_length']} | | | |")
    st = res.get("street")
    if isinstance(st, dict):
        print(f"\nStreet video (no ground truth, {st['video_fps']:.0f} fps source):\n")
        print("| tracker | frames | ids | track length p10/p25/p50/p75/p90 | histogram | fps |")
        print("|---|---|---|---|---|---|")
        for name in trackers:
            r = st[name]
            pct = "/".join(f"{x:.0f}" for x in r["length_percentiles_10_25_50_75_90"])
            print(f"| {name} | {r['frames']} | {r['num_ids']} | {pct} | "
                  f"{r['length_histogram']} | {r['fps']:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--videos", type=int, default=6, help="rendered videos to use")
    ap.add_argument("--video-dir", type=Path, default=ROOT / "runs/bench_tracking/videos")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mocap", type=Path, default=ROOT / "cache/mocap")
    ap.add_argument("--iou", type=float, default=0.5, help="box IoU to match a track")
    ap.add_argument("--box", default="box_xyxy_px", help="ground-truth box: box_xyxy_px "
                    "(silhouette) or box_kp_xyxy_px (inside joints)")
    ap.add_argument("--street", type=Path, default=STREET)
    ap.add_argument("--street-frames", type=int, default=None, help="default: all")
    ap.add_argument("--skip-street", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="detector threads")
    ap.add_argument("--trackers", nargs="+", choices=TRACKERS, default=list(TRACKERS))
    ap.add_argument("--out", type=Path, default=ROOT / "runs/bench_tracking/results.json")
    args = ap.parse_args()

    res: dict[str, object] = {"env": machine(), "iou": args.iou, "box_key": args.box,
                              "num_videos": args.videos}
    rep = write_video_dataset(args.video_dir, args.videos, MocapCache.load(args.mocap),
                              seed=args.seed)
    res["render"] = {"seconds": rep.seconds, "written": rep.written,
                     "frames_per_second": rep.frames_per_second}
    detector = BlazePoseDetector(num_threads=args.threads)
    trackers = tuple(args.trackers)
    ren = bench_rendered(detector, args.video_dir, args.videos, args.iou, args.box, trackers)
    for name in trackers:
        r = ren[name]
        assert isinstance(r, dict)
        r["recommended_min_length"] = recommend_min_length(r["min_length"])
    res["rendered"] = ren
    if not args.skip_street and args.street.is_file():
        res["street"] = bench_street(detector, args.street, args.street_frames, trackers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=1, default=float), encoding="utf-8")
    print_report(res, args.iou, trackers)
    print(f"\nresults: {args.out}")


if __name__ == "__main__":
    main()
