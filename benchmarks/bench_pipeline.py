"""End-to-end speed of `Estimator` against MediaPipe's legacy pose pipeline, in one run.

    .venv/bin/python benchmarks/bench_pipeline.py [--model NAME] [--frames 120]
        [--placement ray_fit|solve] [--with-solve] [--with-full] [--with-heavy-video]

Without ``--model``, the product's defaults (a single-frame lifter for the photo, a temporal
lifter for the video).

Measures, on this CPU and side by side (alternating rounds, medians):
- a photo with one person: monopose ``Estimator.predict`` vs ``mp.solutions.pose`` (static image
  mode, model complexity 1) — both get the decoded RGB array;
- the sample street video: monopose ``predict_video`` (tracking, all people) vs MediaPipe's
  video mode (one person, as it supports) over the same frames;
- the lifter's share of monopose's time (the time inside ``Lifter.lift``; for MeTRAbs models the
  time inside ``MetrabsEstimator.predict_boxes``: crops, landmark network, head, root solve);
- with ``--with-solve``, a third photo column: the same estimator with ``placement="solve"``
  (no ray fit), sharing the detector, timed in the same alternating rounds.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from monopose.core.placement import PLACEMENTS

SHARED = Path(os.environ.get("MONOPOSE_SHARED", Path(__file__).resolve().parents[1] / ".." /
                             "shared"))


class _Timed:
    """Wraps a callable and accumulates the seconds spent in it."""

    def __init__(self, fn):  # type: ignore[no-untyped-def]
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *a, **k):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return self.fn(*a, **k)
        finally:
            self.seconds += time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--placement", default="ray_fit", choices=PLACEMENTS,
                        help="the estimator's placement")
    parser.add_argument("--with-solve", action="store_true",
                        help="also time the photo with placement='solve' (same detector)")
    parser.add_argument("--with-full", action="store_true",
                        help="also time the photo with landmark_model='full' (no BlazePose "
                        "Heavy look)")
    parser.add_argument("--with-one-crop", action="store_true",
                        help="also time the photo with one landmark crop (--tta 1) instead of "
                        "the default's five")
    parser.add_argument("--with-heavy-video", action="store_true",
                        help="also time the video with landmark_model='heavy' (BlazePose Heavy's "
                        "look at every tracked person), in the same rounds")
    args = parser.parse_args()

    import mediapipe as mp

    from monopose.io.images import read_image
    from monopose.io.video import iterate_video
    from monopose.pipeline.estimator import Estimator

    photo = read_image(Path(__file__).resolve().parents[1] / "monopose" / "assets" /
                       "sample_person.jpg")
    # None: the product's defaults
    est = Estimator(model=args.model, num_threads=2, placement=args.placement)
    solve = (Estimator(model=args.model, num_threads=2, placement="solve", detector=est.detector)
             if args.with_solve else None)
    full = (Estimator(model=args.model, num_threads=2, placement=args.placement,
                      landmark_model="full") if args.with_full else None)
    one = (Estimator(model=args.model, num_threads=2, placement=args.placement, num_aug=1)
           if args.with_one_crop else None)
    # the 3D stage: the model's estimate of one frame's people (lifter, or crops + network +
    # root solve for MeTRAbs)
    timed = _Timed(est.model.predict)
    est.model.predict = timed  # type: ignore[method-assign]
    legacy = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
    est.predict(photo)
    legacy.process(photo)

    ours_ms, theirs_ms, solve_ms, full_ms, one_ms = [], [], [], [], []
    for other in (solve, full, one):
        if other is not None:
            other.predict(photo)
    timed.seconds = 0.0
    for _ in range(args.rounds):
        if one is not None:
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                one.predict(photo)
            one_ms.append((time.perf_counter() - t0) / args.repeats * 1000)
        if full is not None:
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                full.predict(photo)
            full_ms.append((time.perf_counter() - t0) / args.repeats * 1000)
        if solve is not None:
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                solve.predict(photo)
            solve_ms.append((time.perf_counter() - t0) / args.repeats * 1000)
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            est.predict(photo)
        ours_ms.append((time.perf_counter() - t0) / args.repeats * 1000)
        t0 = time.perf_counter()
        for _ in range(args.repeats):
            legacy.process(photo)
        theirs_ms.append((time.perf_counter() - t0) / args.repeats * 1000)
    photo_share = timed.seconds / (sum(ours_ms) * args.repeats / 1000)
    legacy.close()

    video = SHARED / "media" / "people_walking_street_multi.avi"
    frames = [it[1] for it in iterate_video(video, max_frames=args.frames)
              if isinstance(it, tuple)]
    tmp = Path("/tmp/monopose_bench_video.avi")
    import cv2

    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"MJPG"), 10.0,
                             (frames[0].shape[1], frames[0].shape[0]))
    for f in frames:
        writer.write(f[..., ::-1])
    writer.release()
    v_ours, v_theirs, v_heavy, people = [], [], [], 0
    heavy = (Estimator(model=args.model, num_threads=2, placement=args.placement,
                       landmark_model="heavy", detector=est.detector)
             if args.with_heavy_video else None)
    # temporal lifters lift the tracks' windows (`lift`), others each frame's people (`predict`)
    video_model = est.video_model
    method = "lift" if video_model.window > 1 else "predict"
    if video_model is est.model and method == "predict":
        lifted = timed  # already wrapped for the photo
    else:
        lifted = _Timed(getattr(video_model, method))
        setattr(video_model, method, lifted)
    lifted.seconds = 0.0
    for _ in range(max(1, args.rounds // 2)):
        t0 = time.perf_counter()
        pred = est.predict_video(tmp)
        v_ours.append((time.perf_counter() - t0) / len(frames) * 1000)
        people = pred.num_people
        if heavy is not None:
            t0 = time.perf_counter()
            heavy.predict_video(tmp)
            v_heavy.append((time.perf_counter() - t0) / len(frames) * 1000)
        tracker = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
        t0 = time.perf_counter()
        for f in frames:
            tracker.process(f)
        v_theirs.append((time.perf_counter() - t0) / len(frames) * 1000)
        tracker.close()
    video_share = lifted.seconds / (sum(v_ours) * len(frames) / 1000)

    def row(name: str, ours: list[float], theirs: list[float], share: float) -> str:
        a, b = statistics.median(ours), statistics.median(theirs)
        return (f"| {name} | {a:.1f} ms ({1000 / a:.1f} fps) | {b:.1f} ms ({1000 / b:.1f} fps) "
                f"| {b / a:.2f}× | {share * 100:.0f}% |")

    print(f"models: {est.model_name} (photo, landmarks {est.detector.landmark_model}), "
          f"{pred.model} (video); video: {len(frames)} frames of {video.name}, {people} "
          "person-frames")
    print("| input | monopose (all people, 3D) | MediaPipe legacy (1 person, 2D+world) "
          "| monopose fps / MediaPipe fps | lifter share |")
    print("|---|---|---|---|---|")
    print(row("photo, 1 person (1080×720)", ours_ms, theirs_ms, photo_share))
    print(row("street video, tracking (768×576)", v_ours, v_theirs, video_share))
    if full_ms:
        a, b, c = (statistics.median(x) for x in (ours_ms, full_ms, theirs_ms))
        print(f"\nphoto, landmarks {est.detector.landmark_model}: {a:.1f} ms; landmarks full: "
              f"{b:.1f} ms (same rounds; ×{a / b:.2f}); MediaPipe / full: {c / b:.2f}×")
    if one_ms:
        a, b, c = (statistics.median(x) for x in (ours_ms, one_ms, theirs_ms))
        print(f"\nphoto, {est.detector.landmark_crops} landmark crops (default): {a:.1f} ms; one "
              f"crop (--tta 1): {b:.1f} ms (same rounds; ×{a / b:.2f}); MediaPipe / one crop: "
              f"{c / b:.2f}×")
    if v_heavy:
        a, b, c = (statistics.median(x) for x in (v_ours, v_heavy, v_theirs))
        print(f"\nstreet video, landmarks full: {a:.1f} ms/frame; landmarks heavy: {b:.1f} "
              f"ms/frame (same rounds; ×{b / a:.2f}); monopose heavy fps / MediaPipe fps: "
              f"{c / b:.2f}×")
    if solve_ms:
        a, b = statistics.median(ours_ms), statistics.median(solve_ms)
        print(f"\nphoto, placement {args.placement}: {a:.1f} ms; placement solve: {b:.1f} ms "
              f"(same rounds; {a - b:+.1f} ms, ×{a / b:.2f})")


if __name__ == "__main__":
    main()
