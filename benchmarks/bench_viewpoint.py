"""Lifting error against the camera's distance and look-down angle, from exact 2D.

    .venv/bin/python benchmarks/bench_viewpoint.py [--models mpm-lift-t1 ...] [--n 1500]
        [--pitches -15 0 15 30 45] [--distances 2 3 4 6 10 20] [--json out.json]
        [--weights-dirs DIR ...]

Held-out mocap frames (the cache's ``test`` split, ``--n`` drawn at random, each turned to a
random heading about the vertical) are seen by a camera at a chosen distance from the pelvis
(m) that looks at it, pitched down by a chosen angle (negative looks up): the pelvis is on the
optical axis, so nothing but the distance and the pitch changes between cells. The 2D is the
exact projection (focal 1,000 px); every model lifts it with those intrinsics.
``--weights-dirs`` adds the first model with the weights of each folder (e.g. a training run's
``export``), in the same run. Per cell:
root-relative MPJPE and P-MPJPE in the camera frame (mm), the mean angle of the best rigid
rotation from prediction to truth (degrees) and the mean ratio of predicted to true skeleton size
(sum of bone lengths; the lifter's own size, ``body_size="lifter"``): the parts of MPJPE that
Procrustes removes.

What it answers: how much of the error is the viewpoint the lifter cannot see (a camera looking
down at an upright person projects much as a level camera at a person leaning back) and how much
the strength of perspective (near cameras distort, far ones hardly), which a lifter that sees
centred, scaled 2D knows only through the shape.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the benchmarks' shared metrics

from benchmarks.realphoto_metrics import bone_length_sum_mm, rotation_angle_deg  # noqa: E402
from monopose.core.camera import project_points  # noqa: E402
from monopose.data.synthetic.poses import PoseSource  # noqa: E402
from monopose.eval.metrics import mpjpe_per_sample, p_mpjpe_per_sample  # noqa: E402
from monopose.lifting.lifter import Lifter  # noqa: E402

INTRINSICS = np.array([1000.0, 1000.0, 960.0, 540.0])  # fx, fy, cx, cy (px)
# world (x, y, z up) -> a level camera looking along world +y (x right, y down, z forward)
WORLD_TO_LEVEL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def camera_rotations(heading_rad: np.ndarray, pitch_deg: float) -> np.ndarray:
    """``[N, 3, 3]`` world → camera: the body turned by ``heading_rad [N]`` about the vertical,
    seen by a camera pitched down by ``pitch_deg``."""
    c, s = np.cos(heading_rad), np.sin(heading_rad)
    zero, one = np.zeros_like(c), np.ones_like(c)
    turn = np.stack([np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1),
                     np.stack([zero, zero, one], -1)], -2)
    p = np.radians(pitch_deg)
    # a camera turned down by p sees the world turned up by p about its x axis
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), -np.sin(p)],
                      [0.0, np.sin(p), np.cos(p)]])
    return pitch @ WORLD_TO_LEVEL @ turn


def rotation_angles_deg(pred_mm: np.ndarray, gt_mm: np.ndarray) -> np.ndarray:
    """``[N]`` angle of the best rigid rotation of each ``pred [N, J, 3]`` onto ``gt``."""
    return np.array([rotation_angle_deg(p, g) for p, g in zip(pred_mm, gt_mm, strict=True)])


def size_mm(poses_mm: np.ndarray) -> np.ndarray:
    """``[N]`` sum of the h36m17 bone lengths of ``poses_mm [N, 17, 3]``: a size that ignores
    posture."""
    return np.array([bone_length_sum_mm(p) for p in poses_mm])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["mpm-lift-t1"])
    ap.add_argument("--mocap", type=Path, default=Path("cache/mocap"))
    ap.add_argument("--n", type=int, default=1500, help="held-out frames (drawn at random)")
    ap.add_argument("--pitches", type=float, nargs="+", default=[-15.0, 0.0, 15.0, 30.0, 45.0],
                    help="look-down angles (deg)")
    ap.add_argument("--distances", type=float, nargs="+", default=[2.0, 3.0, 4.0, 6.0, 10.0, 20.0],
                    help="camera to pelvis (m)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--weights-dirs", nargs="+", default=[],
                    help="also the first model with the weights of each folder")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error(f"--n: expected >= 1, got {args.n}")
    if min(args.distances) <= 0:
        ap.error(f"--distances: expected values > 0 m, got {args.distances}")
    torch.set_num_threads(args.threads)
    source = PoseSource.from_cache(args.mocap, "test")
    rng = np.random.default_rng(args.seed)
    pick = rng.choice(len(source.poses_mm), min(args.n, len(source.poses_mm)), replace=False)
    world = source.poses_mm[pick].astype(np.float64)
    world -= world[:, :1]
    heading = rng.uniform(0.0, 2.0 * np.pi, len(pick))
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_viewpoint: {platform.node()}, {platform.machine()}, {now:%Y-%m-%d %H:%M} UTC, "
          f"{len(pick)} held-out frames of {source.name}, {args.threads} torch threads\n")
    results = []
    plan = [(m, Lifter(m, body_size="lifter")) for m in args.models]
    plan += [(f"{args.models[0]} @ {folder}", Lifter(args.models[0], folder, body_size="lifter"))
             for folder in args.weights_dirs]
    for model, lifter in plan:
        print(f"## {model}: MPJPE / P-MPJPE (mm) / best rotation (deg) / size ratio\n")
        print("| pitch (deg) | " + " | ".join(f"{d:g} m" for d in args.distances) + " |")
        print("|---|" + "---|" * len(args.distances))
        t0 = time.perf_counter()
        for pitch in args.pitches:
            rel = np.einsum("nij,nkj->nki", camera_rotations(heading, pitch), world)
            cells = []
            for dist in args.distances:
                pose = rel + np.array([0.0, 0.0, 1000.0 * dist])
                kp = project_points(pose, INTRINSICS)
                out = lifter.lift(kp, np.ones(kp.shape[:2], bool),
                                  intrinsics=np.broadcast_to(INTRINSICS, (len(kp), 4)))
                gt = pose - pose[:, :1]
                row = {"model": model, "pitch_deg": pitch, "distance_m": dist,
                       "mpjpe_mm": float(mpjpe_per_sample(out, gt).mean()),
                       "p_mpjpe_mm": float(p_mpjpe_per_sample(out, gt).mean()),
                       "rotation_deg": float(rotation_angles_deg(out, gt).mean()),
                       "size_ratio": float(np.mean(size_mm(out) / size_mm(gt)))}
                results.append(row)
                cells.append(f"{row['mpjpe_mm']:.1f} / {row['p_mpjpe_mm']:.1f} / "
                             f"{row['rotation_deg']:.1f} / {row['size_ratio']:.2f}")
            print(f"| {pitch:g} | " + " | ".join(cells) + " |", flush=True)
        print(f"\n({time.perf_counter() - t0:.0f} s)\n", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
