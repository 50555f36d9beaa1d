"""The default lifter's ONNX twin against its PyTorch module: same poses, and what it saves.

* **Parity** on held-out rendered people, lifted from the photo default's 2D (the detections
  ``bench_heavy_landmarks.py`` cached in ``--work``): the largest and mean |twin − PyTorch| (mm).
* **The lifter alone**: one person, flip test, the virtual camera (ms per call).
* **The whole command** (``--photos``): ``monopose predict PHOTO --out DIR`` run as a fresh
  process, alternating with an earlier checkout (``--before``, e.g. ``git worktree add
  /tmp/before REV``) that has no twin: what a user waits for one photo. ``--lift`` adds
  ``monopose lift`` of a generated file of three people's 2D keypoints, ``--video`` a clip of
  a video's first ``--video-frames`` frames (the video default, ``mpm-lift-t27``, has a twin
  too).

    .venv/bin/python benchmarks/bench_twin.py --sets cache/r_val cache/r_post cache/r_floor \\
        --work runs/heavy_tta5 --photos monopose/assets/sample_person.jpg --before /tmp/before \\
        --lift --video ../shared/media/people_walking_street_multi.avi
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_world_landmarks import features  # noqa: E402
from bench_world_up import add_render_set_options, five_crop_detections  # noqa: E402
from fit_keypoint_map import usable  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NAME = "mpm-lift-t1"
# Runs the CLI of the checkout in argv[1] (its own package first, not the installed one).
_RUN_CHECKOUT = ("import sys; root = sys.argv.pop(1); "
                 "sys.meta_path = [f for f in sys.meta_path if 'editable' not in str(f)]; "
                 "sys.path.insert(0, root); from monopose.cli import main; main()")


def parity_table(sets: list[Path], work: Path, limit: int) -> str:
    twin = Lifter(NAME, body_size="lifter")
    torch_lifter = Lifter(NAME, body_size="lifter", backend="torch")
    lines = ["| set | people | largest difference (mm) | mean difference (mm) |",
             "|---|---|---|---|"]
    for folder in sets:
        arrays = five_crop_detections(folder, limit, work)
        ok = usable(arrays)[0]
        diff = np.abs(features(arrays, twin, ok)["base"]
                      - features(arrays, torch_lifter, ok)["base"])
        lines.append(f"| {folder.name} | {int(ok.sum())} | {diff.max():.4f} | "
                     f"{diff.mean():.5f} |")
    return "\n".join(lines)


def window_times(repeats: int = 10) -> str:
    """The video default's network alone on 27-frame windows: twin against PyTorch (one
    thread, as videos lift)."""
    import torch  # heavy: the comparison needs it

    from monopose.export.onnx_export import random_normalised_poses  # heavy: same
    from monopose.lifting.networks import TorchNetwork

    torch.set_num_threads(1)
    name = "mpm-lift-t27"
    nets = (("ONNX twin", Lifter(name).network),
            ("PyTorch", TorchNetwork(Lifter(name, backend="torch").module)))
    rng = np.random.default_rng(0)
    out = []
    for batch in (2, 32):
        x, valid = random_normalised_poses(batch, 27, rng)
        cells = []
        for label, net in nets:
            net(x, valid, None, None, None)
            start = time.perf_counter()
            for _ in range(repeats):
                net(x, valid, None, None, None)
            cells.append(f"{label} {(time.perf_counter() - start) / repeats * 1000:.1f} ms")
        out.append(f"{batch} windows: " + ", ".join(cells))
    return f"{name}'s network alone, one thread: " + "; ".join(out)


def lifter_times(repeats: int = 200) -> str:
    rng = np.random.default_rng(0)
    from monopose.export.onnx_export import random_normalised_poses  # heavy: PyTorch export

    kp = random_normalised_poses(1, 1, rng)[0][:, 0] * 250.0 + np.array([540.0, 360.0])
    intrinsics = np.array([1000.0, 1000.0, 540.0, 360.0])
    out = []
    for label, lifter in (("ONNX twin", Lifter(NAME)), ("PyTorch", Lifter(NAME, backend="torch"))):
        lifter.lift(kp, intrinsics=intrinsics)
        start = time.perf_counter()
        for _ in range(repeats):
            lifter.lift(kp, intrinsics=intrinsics)
        out.append(f"{label} {(time.perf_counter() - start) / repeats * 1000:.2f} ms")
    return "The lifter alone, one person, flip test: " + ", ".join(out)


def _largest_pose_change_mm(before: Path, now: Path) -> float:
    """The largest difference between the poses of two ``monopose predict`` JSON files."""
    import json

    frames = [json.loads(p.read_text()) for p in (before, now)]
    worst = 0.0
    for a, b in zip(*(f.get("frames") or [f] for f in frames), strict=True):
        for pa, pb in zip(a["people"], b["people"], strict=True):
            for key in ("pose_3d_rel", "pose_3d_abs"):
                diff = np.abs(np.array(pa[key], float) - np.array(pb[key], float))
                worst = max(worst, float(np.nanmax(diff)))
    return worst


def _seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _clip(video: Path, frames: int, out: Path) -> Path:
    """The first ``frames`` frames of ``video`` as an MJPG AVI at ``out``."""
    import cv2  # heavy: only for --video

    cap = cv2.VideoCapture(str(video))
    fps, w, h = cap.get(cv2.CAP_PROP_FPS), int(cap.get(3)), int(cap.get(4))
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for _ in range(frames):
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(frame)
    writer.release()
    cap.release()
    return out


def command_table(photos: list[Path], before: Path, rounds: int, lift: bool,
                  video: Path | None = None, video_frames: int = 60) -> str:
    """Median seconds of ``monopose predict PHOTO`` (and ``monopose lift FILE``) in the
    ``before`` checkout and now."""
    lines = ["| command | before: median (s) | now: median (s) | ratio | largest pose change "
             "(mm) |", "|---|---|---|---|---|"]
    # both use this checkout's fetched BlazePose Heavy (the other checkout has none)
    env = {**os.environ, "MONOPOSE_MODELS_DIR": str(REPO / "monopose" / "detect" / "models")}
    cli = str(Path(sys.executable).parent / "monopose")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        commands = [(f"predict {photo.name}", ["predict", str(photo), "--out", "OUT"])
                    for photo in photos]
        if lift:
            keypoints = out / "keypoints.npz"
            rng = np.random.default_rng(0)
            np.savez(keypoints, keypoints_2d=rng.uniform(100.0, 500.0, (3, 17, 2)))
            commands.append(("lift (3 poses)", ["lift", str(keypoints), "--out",
                                                "OUT/poses.npz"]))
        if video is not None:
            clip = _clip(video, video_frames, out / "clip.avi")
            commands.append((f"predict {video.stem} ({video_frames} frames)",
                             ["predict", str(clip), "--out", "OUT"]))
        for label, args in commands:
            then, now = [], []
            for _ in range(rounds):  # alternating, so both see the same load
                then.append(_seconds([sys.executable, "-c", _RUN_CHECKOUT, str(before),
                                      *(a.replace("OUT", str(out / "before")) for a in args)],
                                     env))
                now.append(_seconds([cli, *(a.replace("OUT", str(out / "now")) for a in args)],
                                    env))
            b, n = float(np.median(then)), float(np.median(now))
            change = ""
            if args[0] == "predict":  # the same poses either way?
                stem = Path(args[1]).stem + ".json"
                change = f"{_largest_pose_change_mm(out / 'before' / stem, out / 'now' / stem):.1f}"
            lines.append(f"| `monopose {label}` | {b:.2f} | {n:.2f} | {b / n:.2f}× | "
                         f"{change} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_render_set_options(ap)
    ap.add_argument("--photos", nargs="*", type=Path, default=[])
    ap.add_argument("--before", type=Path, help="A checkout without the twin, for --photos.")
    ap.add_argument("--lift", action="store_true", help="Also time `monopose lift`.")
    ap.add_argument("--video", type=Path, help="Also time a clip of this video.")
    ap.add_argument("--video-frames", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_twin: {platform.node()}, {platform.machine()}, {now:%Y-%m-%d %H:%M} UTC\n")
    if args.sets:
        print(parity_table(args.sets, args.work, args.limit) + "\n")
    print(lifter_times() + "\n")
    print(window_times() + "\n")
    if args.photos:
        if args.before is None:
            raise SystemExit("--photos needs --before (a checkout without the twin)")
        print(command_table(args.photos, args.before, args.rounds, args.lift, args.video,
                            args.video_frames) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
