"""Temporal against single-frame lifting on rendered multi-person videos, through `predict`.

Each rendered video (:mod:`monopose.data.synthetic.multi_video`, people walking with exact
camera-space 3D per frame) goes through the whole product path (`Estimator.predict_video`:
detector, tracker, lifter) once per model; every ground-truth person of every frame is matched
to the predicted person whose box overlaps the silhouette box most (IoU ≥ 0.5). Scored on the
matched people, root-relative:

* MPJPE and P-MPJPE (mm);
* MPJVE (mm/frame): velocity error over consecutive frames where the same person is matched
  to the same track in both;
* the median root error (mm, camera space) of the matched people;
* lifting ms per frame (the model's share of the run).

Both models size people by themselves (``body_size="lifter"``): the pose is compared, not the
size source.

    python benchmarks/bench_temporal_video.py --videos runs/temporal_videos \\
        --models mpm-lift-t1 mpm-lift-t27 [--weights-dir DIR] [--placement ray_fit solve]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import platform
import time
from pathlib import Path

import numpy as np

from monopose.data.synthetic.multi_video import read_video_labels
from monopose.detect.ssd import iou_xyxy
from monopose.eval.metrics import mpjpe, p_mpjpe
from monopose.io.results import Prediction
from monopose.pipeline.estimator import Estimator
from monopose.zoo import get_card, load_pose_model

MIN_IOU = 0.5


def matched_pairs(pred: Prediction, labels: dict[str, np.ndarray]
                  ) -> list[tuple[int, int, int | None, np.ndarray, np.ndarray, float]]:
    """``(frame, gt person, track id, predicted rel [17, 3], gt rel [17, 3], root error mm)``
    per match."""
    out = []
    for frame in pred.frames:
        rows = np.flatnonzero(labels["frame"] == frame.frame_index)
        if not len(rows) or not frame.people:
            continue
        boxes = np.stack([p.box_xyxy_px for p in frame.people])
        for r in rows:
            iou = iou_xyxy(labels["box_xyxy_px"][r], boxes)
            k = int(np.argmax(iou))
            if iou[k] < MIN_IOU:
                continue
            gt = labels["pose3d_cam_mm"][r].astype(np.float64)
            person = frame.people[k]
            root_err = float(np.linalg.norm(np.asarray(person.pose_3d_abs_mm)[0] - gt[0]))
            out.append((frame.frame_index, int(labels["person_id"][r]), person.person_id,
                        np.asarray(person.pose_3d_rel_mm, dtype=np.float64), gt - gt[:1],
                        root_err))
    return out


def velocity_error(pairs: list) -> float:
    """MPJVE over consecutive matched frames of the same person and track."""
    by_key = {(f, g): (t, p, q) for f, g, t, p, q, _ in pairs}
    errs = []
    for (f, g), (t, p, q) in by_key.items():
        nxt = by_key.get((f + 1, g))
        if nxt is None or nxt[0] != t or t is None:
            continue
        errs.append(np.linalg.norm((nxt[1] - p) - (nxt[2] - q), axis=-1).mean())
    return float(np.mean(errs)) if errs else float("nan")


def run_model(name: str, weights_dir: str | None, videos: list[Path], flip: bool = True,
              track_stride: int | None = None, body_size: str = "lifter",
              score_threshold: float | None = None, placement: str = "ray_fit",
              landmarks: str = "full") -> dict[str, float]:
    model = load_pose_model(name, weights_dir, body_size=body_size, flip=flip,
                            placement=placement)
    est = Estimator(pose_model=model, body_size=body_size, num_threads=1,
                    track_stride=track_stride, keypoint_score_threshold=score_threshold,
                    video_placement=placement, landmark_model=landmarks)
    lift_s = 0.0
    # temporal lifters lift the tracks' windows (`lift`), others each frame's people
    method = "lift" if model.window > 1 else "predict"
    timed = getattr(model, method)

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal lift_s
        t0 = time.perf_counter()
        try:
            return timed(*args, **kwargs)
        finally:
            lift_s += time.perf_counter() - t0

    setattr(model, method, counting)
    pairs: list = []
    frames = 0
    for video in videos:
        labels = read_video_labels(video.with_suffix(".npz"))
        pred = est.predict_video(video)
        frames += len(pred.frames)
        pairs += [(video.stem, *m) for m in matched_pairs(pred, labels)]
    per_video: dict[str, list] = {}
    for stem, *m in pairs:
        per_video.setdefault(stem, []).append(tuple(m))
    preds = np.stack([m[3] for ms in per_video.values() for m in ms])
    gts = np.stack([m[4] for ms in per_video.values() for m in ms])
    vel = [velocity_error(ms) for ms in per_video.values()]
    return {"matched": float(len(preds)), "mpjpe": mpjpe(preds, gts),
            "p_mpjpe": p_mpjpe(preds, gts), "mpjve": float(np.nanmean(vel)),
            "root": float(np.nanmedian([m[5] for ms in per_video.values() for m in ms])),
            "lift_ms_per_frame": 1000.0 * lift_s / max(frames, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=Path, default=Path("runs/temporal_videos"))
    ap.add_argument("--models", nargs="+", default=["mpm-lift-t1", "mpm-lift-t27"])
    ap.add_argument("--weights-dir", default=None, help="where the weights of --weights-for are")
    ap.add_argument("--weights-for", nargs="*", default=["mpm-lift-t27"])
    ap.add_argument("--also-without-flip", action="store_true",
                    help="also run each model without its flip test (the cost of speed)")
    ap.add_argument("--track-stride", type=int, nargs="*", default=[0],
                    help="temporal models: frames between a track's windows, one row each "
                    "(0: the product's default, half the window)")
    ap.add_argument("--body-size", choices=("lifter", "world_landmarks"), default="lifter",
                    help="size source (the product's default is world_landmarks; lifter keeps "
                    "the rows comparable with earlier runs)")
    ap.add_argument("--placement", nargs="+", default=["ray_fit"], choices=["ray_fit", "solve"],
                    help="placements to compare, one row each (single-frame models: the "
                    "model's; temporal models: the Estimator's video_placement)")
    ap.add_argument("--score-threshold", type=float, nargs="*", default=[None],
                    help="keypoint score thresholds to compare (Estimator's "
                    "keypoint_score_threshold; default: the model's own rule)")
    ap.add_argument("--landmarks", nargs="+", default=["full"], choices=["full", "heavy"],
                    help="landmark networks to compare, one row each (heavy: BlazePose GHUM "
                    "Heavy's look at every tracked person, `monopose fetch-models`)")
    args = ap.parse_args()
    videos = sorted(args.videos.glob("video-*.mp4"))
    print(f"# bench_temporal_video: {len(videos)} rendered videos; {dt.date.today()}; "
          f"{platform.machine()}, 1 torch thread; body size: {args.body_size}")
    print("| model | matched people | MPJPE | P-MPJPE | MPJVE | median root error | "
          "lifting ms/frame |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        weights = args.weights_dir if name in args.weights_for else None
        strides = args.track_stride if get_card(name).window > 1 else [0]
        for flip in (True, False) if args.also_without_flip else (True,):
            for stride, thr, place, marks in itertools.product(
                    strides, args.score_threshold, args.placement, args.landmarks):
                r = run_model(name, weights, videos, flip, stride or None, args.body_size, thr,
                              place, marks)
                label = name + ("" if flip else " no flip") + (f" stride {stride}" if stride
                                                               else "")
                label += "" if thr is None else f" score ≥ {thr:g}"
                label += f", {place}" + ("" if marks == "full" else ", heavy")
                print(f"| {label} | {r['matched']:.0f} | {r['mpjpe']:.1f} | "
                      f"{r['p_mpjpe']:.1f} | {r['mpjve']:.2f} | {r['root']:.0f} | "
                      f"{r['lift_ms_per_frame']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
