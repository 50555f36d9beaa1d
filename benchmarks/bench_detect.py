"""Benchmarks of the 2D front end (monopose.detect) against MediaPipe's legacy pose solution.

Everything runs side by side in one process, interleaved in rounds; the reported time is the
median over all calls (the machines are shared and noisy).

    .venv/bin/python benchmarks/bench_detect.py                  # timings + agreement table
    .venv/bin/python benchmarks/bench_detect.py --probe-features # pick the feature maps
    .venv/bin/python benchmarks/bench_detect.py --torch-estimate # tflite→torch worth it?
    .venv/bin/python benchmarks/bench_detect.py --tiles --video --skip-timings --skip-agreement
        # tile grids on the street video; tracking (tile re-detection period) vs MediaPipe

Inputs come from ``$MONOPOSE_SHARED/media`` (default ``<repo>/../shared/media``).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from monopose.detect import BlazePoseDetector, PoseTracker, load_image  # noqa: E402
from monopose.detect.tiles import resolve_tiles  # noqa: E402

MEDIA = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared")) / "media"
ONE = "person_standing_fullbody_indoor.jpg"
MANY = "three_people_two_seated_studio.jpg"
VIDEO = "people_walking_street_multi.avi"


def _median_ms(fns: dict[str, Callable[[], object]], rounds: int, calls: int
               ) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            for _ in range(calls):
                t0 = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def _shifted_clip(image: np.ndarray, n: int) -> list[np.ndarray]:
    """A synthetic clip: the photo drifting by 2 px per frame (one person to track)."""
    h, w = image.shape[:2]
    out = []
    for t in range(n):
        m = np.float32([[1, 0, 2 * t], [0, 1, t]])
        out.append(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    return out


def _video_frames(n: int, start: int = 500, step: int = 1) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(MEDIA / VIDEO))
    frames = []
    i = 0
    while len(frames) < n:
        ok, f = cap.read()
        if not ok:
            break
        if i >= start and (i - start) % step == 0:
            frames.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
        i += 1
    return frames


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def tile_sweep(threads: int, step: int) -> None:
    """People found per frame (landmark-verified) by each tile grid, single-image mode."""
    frames = _video_frames(200 // step, start=0, step=step)
    det = BlazePoseDetector(num_threads=threads)
    configs: list[tuple[object, float, float]] = [
        ("off", 0.25, 0.5), ((2, 2), 0.25, 0.5), ((2, 3), 0.25, 0.5), ((3, 3), 0.25, 0.5),
        ((3, 4), 0.15, 0.5), ((3, 4), 0.25, 0.5), ((3, 4), 0.35, 0.5), ((4, 5), 0.25, 0.5),
        ((3, 4), 0.25, 0.6), ((3, 4), 0.25, 0.7), ((3, 4), 0.25, 0.8), ((4, 5), 0.25, 0.7)]
    rows = []
    load0 = _load()
    wh = (frames[0].shape[1], frames[0].shape[0])
    for tiles, overlap, min_score in configs:
        det.tiles, det.tile_overlap = tiles, overlap  # type: ignore[assignment]
        det.tile_min_score = min_score
        counts, false, ms = [], [], []
        for f in frames:
            t0 = time.perf_counter()
            det.detect_people(f)
            ms.append((time.perf_counter() - t0) * 1000)
            people = det.detect(f)
            # Nobody walks on the lawn below y = 420 px or left of x = 60 px in these frames
            # (checked by eye): people found there are false (a jacket, a sign post).
            bad = sum(1 for p in people if p.box_xyxy_px[1] > 420 or p.box_xyxy_px[2] < 60)
            counts.append(len(people) - bad)
            false.append(bad)
        grid = resolve_tiles(tiles, wh, overlap)  # type: ignore[arg-type]
        n_pass = 1 + (0 if grid is None else grid[0] * grid[1])
        rows.append(f"| {tiles} | {overlap:.2f} | {min_score:.1f} | {n_pass} | "
                    f"{np.mean(counts):.2f} | {max(counts)} | {np.mean(false):.2f} | "
                    f"{statistics.median(ms):.1f} |")
    print(f"\n## Tile grids, street video frames 0–199 every {step}th "
          f"({datetime.date.today()}, load {load0} → {_load()})")
    print("| tiles | overlap | tile min score | detector passes | people/frame | max | "
          "false/frame | detect_people ms |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def _track_stats(det: BlazePoseDetector, frames: list[np.ndarray], tile_every: int
                 ) -> tuple[float, float, int, int]:
    """(ms/frame, mean people, max people, distinct ids) of one tracking run."""
    tr = PoseTracker(det, tile_every=tile_every)
    counts, ids = [], set()
    t0 = time.perf_counter()
    for f in frames:
        people = tr.update(f)
        counts.append(len(people))
        ids.update(p.track_id for p in people)
    ms = (time.perf_counter() - t0) * 1000 / len(frames)
    return ms, float(np.mean(counts)), int(max(counts)), len(ids)


def _mp_video_ms(frames: list[np.ndarray]) -> tuple[float, float]:
    import mediapipe as mp

    found = 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        t0 = time.perf_counter()
        for f in frames:
            found += pose.process(f).pose_landmarks is not None
    return (time.perf_counter() - t0) * 1000 / len(frames), found / len(frames)


def video_tracking(threads: int, periods: list[int], rounds: int) -> None:
    """Tracking on the street video's first 200 frames and on a 1-person clip, against
    MediaPipe's video mode, interleaved in rounds (median ms/frame)."""
    street = _video_frames(200, start=0)
    clip = _shifted_clip(load_image(REPO / "monopose" / "assets" / "sample_person.jpg"), 200)
    det = BlazePoseDetector(num_threads=threads)
    load0 = _load()
    res: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    for _ in range(rounds):
        for name, frames in (("street", street), ("1-person clip", clip)):
            for n in periods:
                res.setdefault((name, f"ours, tile_every={n}"), []).append(
                    _track_stats(det, frames, n))
            res.setdefault((name, "mediapipe video mode"), []).append(_mp_video_ms(frames))
    print(f"\n## Tracking ({datetime.date.today()}, {os.cpu_count()} cores, LiteRT threads="
          f"{threads}, {rounds} rounds interleaved, median; load {load0} → {_load()})")
    print("| video | tracker | ms/frame | × mediapipe ms | people/frame | max | distinct ids | "
          "ms/person |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("street", "1-person clip"):
        mp_ms = statistics.median(r[0] for r in res[(name, "mediapipe video mode")])
        mp_found = res[(name, "mediapipe video mode")][0][1]
        for (vid, label), runs in res.items():
            if vid != name:
                continue
            ms = statistics.median(r[0] for r in runs)
            if label.startswith("mediapipe"):
                print(f"| {name} | {label} | {ms:.1f} | 1.00 | {mp_found:.2f} | 1 | – | "
                      f"{ms / max(mp_found, 1e-9):.1f} |")
            else:
                _, mean, mx, ids = runs[0]
                print(f"| {name} | {label} | {ms:.1f} | {ms / mp_ms:.2f} | {mean:.2f} | {mx} | "
                      f"{ids} | {ms / max(mean, 1e-9):.1f} |")


def timings(rounds: int, calls: int, threads: int) -> None:
    import mediapipe as mp

    det = BlazePoseDetector(num_threads=threads)
    one = load_image(MEDIA / ONE)
    many = load_image(MEDIA / MANY)
    static = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
    res = _median_ms({
        "ours 1 person": lambda: det.detect(one),
        "ours 1 person + feature maps": lambda: det.detect(one, with_features=True),
        "mediapipe 1 person": lambda: static.process(one),
        "ours 3 people": lambda: det.detect(many),
        "mediapipe 3 people (keeps <= 1)": lambda: static.process(many),
    }, rounds, calls)

    clip = _shifted_clip(one, 30)
    street = _video_frames(30)

    def run_ours(frames: list[np.ndarray]) -> Callable[[], object]:
        def go() -> None:
            tr = PoseTracker(det)
            for f in frames:
                tr.update(f)
        return go

    def run_mp(frames: list[np.ndarray]) -> Callable[[], object]:
        def go() -> None:
            with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as p:
                for f in frames:
                    p.process(f)
        return go

    vid = _median_ms({
        "ours tracking, 1-person clip": run_ours(clip),
        "mediapipe video mode, 1-person clip": run_mp(clip),
        "ours tracking, street video": run_ours(street),
        "mediapipe video mode, street video": run_mp(street),
    }, rounds, 1)
    vid = {k: v / 30 for k, v in vid.items()}
    print(f"\n## Timings ({datetime.date.today()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, LiteRT threads={threads}, {rounds}x{calls} calls, median)")
    print("| case | ms |\n|---|---|")
    for k, v in {**res, **{k + " (per frame)": v for k, v in vid.items()}}.items():
        print(f"| {k} | {v:.2f} |")
    det_only = _median_ms({"detector": lambda: det.detect_people(one)}, rounds, calls)
    print(f"| ours: detector only (1080x720) | {det_only['detector']:.2f} |")
    overhead = res["ours 1 person + feature maps"] - res["ours 1 person"]
    print(f"\nfeature-map overhead: {overhead:+.2f} ms per person-image "
          f"({overhead / res['ours 1 person'] * 100:+.0f}%)")


def agreement(video_step: int) -> None:
    import mediapipe as mp

    det = BlazePoseDetector()
    rows: list[tuple[str, str]] = []
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        inputs: list[tuple[str, np.ndarray]] = [
            (p.name, load_image(p)) for p in sorted(MEDIA.glob("*.jpg"))]
        cap = cv2.VideoCapture(str(MEDIA / VIDEO))
        i = 0
        while True:
            ok, f = cap.read()
            if not ok:
                break
            if i % video_step == 0:
                inputs.append((f"{VIDEO}#{i}", cv2.cvtColor(f, cv2.COLOR_BGR2RGB)))
            i += 1
        for name, rgb in inputs:
            h, w = rgb.shape[:2]
            ref = pose.process(rgb)
            people = det.detect(rgb)
            if ref.pose_landmarks is None:
                if not name.startswith(VIDEO):
                    rows.append((name, f"mediapipe: nobody; ours: {len(people)} people | – | –"))
                continue
            ref_px = np.array([[lm.x * w, lm.y * h] for lm in ref.pose_landmarks.landmark])
            if not people:
                rows.append((name, "ours: nobody | – | –"))
                continue
            d = [np.linalg.norm(p.keypoints_px - ref_px, axis=1) for p in people]
            k = int(np.argmin([np.median(x) for x in d]))
            ref_w = np.array([[lm.x, lm.y, lm.z] for lm in ref.pose_world_landmarks.landmark])
            wd = np.linalg.norm(people[k].world_landmarks_m - ref_w, axis=1)
            rows.append((name, f"{len(people)} | {np.median(d[k]):.3f} | {d[k].max():.2f} | "
                               f"{np.median(wd) * 1000:.2f}"))
    print("\n## Agreement with mp.solutions.pose (static_image_mode=True, model_complexity=1)")
    print("| input | ours: people | median px | max px | world median mm |\n|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r} |")


def probe_features() -> None:
    """Joint-identity probe: nearest class mean (leave-one-image-out) on features sampled at the
    present keypoints, for every spatial activation; more separable = more pose context."""
    det = BlazePoseDetector()
    infos = det.available_feature_maps()
    det.feature_map_names = tuple(i.name for i in infos)
    samples = []  # (image id, joint ids, {name: feats})
    imgs = [p for p in sorted(MEDIA.glob("person_*.jpg"))] + [MEDIA / MANY]
    for k, path in enumerate(imgs):
        rgb = load_image(path)
        for flip in (False, True):
            img = np.ascontiguousarray(rgb[:, ::-1]) if flip else rgb
            for p in det.detect(img, with_features=True):
                sel = np.flatnonzero(p.presence > 0.5)
                samples.append((k, sel, {n: m.sample(p.keypoints_px[sel])
                                         for n, m in p.feature_maps.items()}))
    results = []
    for info in infos:
        correct = total = 0
        for k in {s[0] for s in samples}:
            train = [s for s in samples if s[0] != k]
            x = np.concatenate([s[2][info.name] for s in train])
            y = np.concatenate([s[1] for s in train])
            mu, sd = x.mean(0), x.std(0) + 1e-6
            classes = np.unique(y)
            cent = np.stack([((x[y == c] - mu) / sd).mean(0) for c in classes])
            for s in samples:
                if s[0] != k:
                    continue
                z = (s[2][info.name] - mu) / sd
                pred = classes[np.argmin(((z[:, None] - cent[None]) ** 2).sum(-1), axis=1)]
                correct += int((pred == s[1]).sum())
                total += len(s[1])
        results.append((info.stride, correct / max(total, 1), info.channels, info.name))
    print("\n## Feature-map probe (joint identity, nearest class mean, leave-one-image-out)")
    print("| stride | accuracy | channels | tensor |\n|---|---|---|---|")
    for r in sorted(results, key=lambda r: (r[0], -r[1])):
        print(f"| {r[0]} | {r[1]:.3f} | {r[2]} | {r[3]} |")


def torch_estimate(rounds: int) -> None:
    """Time the landmark network's convolutions re-created in torch (random weights, same
    shapes) against the tflite model under LiteRT; the other ops are cheap in both."""
    import torch
    from ai_edge_litert.interpreter import Interpreter

    from monopose.detect.blazepose import LANDMARK_MODEL, find_mediapipe_model

    torch.set_num_threads(2)
    path = find_mediapipe_model(LANDMARK_MODEL)
    it = Interpreter(model_path=str(path), num_threads=2)
    it.allocate_tensors()
    td = {t["index"]: t for t in it.get_tensor_details()}
    layers = []
    for op in it._get_ops_details():
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        x, wt = td[op["inputs"][0]]["shape"], td[op["inputs"][1]]["shape"]
        y = td[op["outputs"][0]]["shape"]
        cin, cout, k = int(x[3]), int(y[3]), int(wt[1])
        stride = max(1, int(round(x[1] / y[1])))
        pad = k // 2 if (x[1] + 2 * (k // 2) - k) // stride + 1 == y[1] else 0
        groups = cin if op["op_name"] == "DEPTHWISE_CONV_2D" else 1
        conv = torch.nn.Conv2d(cin, cout, k, stride, pad, groups=groups).eval()
        layers.append((conv, torch.randn(1, cin, int(x[1]), int(x[2]))))
    inp = np.random.rand(1, 256, 256, 3).astype(np.float32)

    def tfl() -> None:
        it.set_tensor(it.get_input_details()[0]["index"], inp)
        it.invoke()

    def tch() -> None:
        with torch.inference_mode():
            for conv, x in layers:
                conv(x)

    res = _median_ms({"litert full model": tfl, "torch convs only": tch}, rounds, 20)
    print(f"\n## tflite→torch estimate ({len(layers)} conv layers)")
    for k, v in res.items():
        print(f"| {k} | {v:.2f} ms |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--video-step", type=int, default=10)
    ap.add_argument("--probe-features", action="store_true")
    ap.add_argument("--torch-estimate", action="store_true")
    ap.add_argument("--skip-timings", action="store_true")
    ap.add_argument("--skip-agreement", action="store_true")
    ap.add_argument("--tiles", action="store_true", help="tile-grid sweep on the street video")
    ap.add_argument("--tile-step", type=int, default=10)
    ap.add_argument("--video", action="store_true", help="tracking vs MediaPipe video mode")
    ap.add_argument("--periods", type=str, default="0,5,10,20",
                    help="tile_every values to compare (0 = no tiles, the old tracker)")
    ap.add_argument("--video-rounds", type=int, default=1)
    args = ap.parse_args()
    if not MEDIA.is_dir():
        sys.exit(f"media folder not found: {MEDIA} (set MONOPOSE_SHARED)")
    print(f"# bench_detect  {datetime.datetime.now().isoformat(timespec='seconds')}")
    if args.probe_features:
        probe_features()
    if args.torch_estimate:
        torch_estimate(args.rounds)
    if args.tiles:
        tile_sweep(args.threads, args.tile_step)
    if args.video:
        video_tracking(args.threads, [int(v) for v in args.periods.split(",")],
                       args.video_rounds)
    if not args.skip_timings:
        timings(args.rounds, args.calls, args.threads)
    if not args.skip_agreement:
        agreement(args.video_step)


if __name__ == "__main__":
    main()
