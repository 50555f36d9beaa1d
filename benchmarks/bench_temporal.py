"""Temporal against single-frame lifting on held-out motion capture: pose and motion errors.

Each sample is a held-out mocap sequence (``--frames`` consecutive frames of the test split)
seen by one fixed virtual camera, with detector-like 2D noise drawn independently per frame (the
fixed evaluation sets of :func:`monopose.data.sampler.make_eval_batch`). Every model lifts every
frame of every sequence: single-frame models frame by frame, window models with
``lift_sequence`` (strided windows; ``--stride``). Scored against the root-relative ground truth:

* MPJPE and P-MPJPE (mm) over all frames;
* MPJVE (mm/frame): mean per-joint error of the velocity ``p[t+1] - p[t]``;
* acceleration error (mm/frame²): of ``p[t+1] - 2 p[t] + p[t-1]``;
* ms per frame on this machine (lifting only, one torch thread).

    python benchmarks/bench_temporal.py --cache cache/mocap --n 64 --frames 81 \\
        --models mpm-lift-t1 mpm-lift-t27 [--weights-dir runs/x/export]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time

import numpy as np
import torch

from monopose.data.sampler import make_eval_batch
from monopose.eval.metrics import mpjpe, p_mpjpe
from monopose.zoo import load_pose_model


def motion_errors(pred_mm: np.ndarray, gt_mm: np.ndarray) -> tuple[float, float]:
    """``(MPJVE, acceleration error)`` of ``[N, F, J, 3]`` sequences, mm per frame (squared)."""
    vel = np.diff(pred_mm, axis=1) - np.diff(gt_mm, axis=1)
    acc = np.diff(pred_mm, n=2, axis=1) - np.diff(gt_mm, n=2, axis=1)
    return float(np.linalg.norm(vel, axis=-1).mean()), float(np.linalg.norm(acc, axis=-1).mean())


def lift_all(name: str, batch, weights_dir: str | None, stride: int | None,
             causal: bool = False, flip: bool = True) -> tuple[np.ndarray, float, int]:
    """Every sequence lifted by ``name``: ``[N, F, 17, 3]`` mm root-relative, ms per frame and
    the model's window."""
    model = load_pose_model(name, weights_dir, flip=True, body_size="lifter", causal=causal)
    if model.window > 1:  # single-frame models keep their flip test
        model.flip = flip  # type: ignore[attr-defined]
    out = []
    t0 = time.perf_counter()
    for i in range(len(batch.ids)):
        kw = {"stride": stride} if stride is not None and model.window > 1 else {}
        out.append(model.lift_sequence(batch.keypoints_2d_px[i], batch.valid_2d[i],
                                       intrinsics=batch.intrinsics[i], **kw))
    seconds = time.perf_counter() - t0
    pred = np.stack(out)
    return pred, 1000.0 * seconds / pred.shape[0] / pred.shape[1], model.window


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default="cache/mocap")
    ap.add_argument("--n", type=int, default=64, help="sequences")
    ap.add_argument("--frames", type=int, default=81, help="frames per sequence")
    ap.add_argument("--models", nargs="+", default=["mpm-lift-t1", "mpm-lift-t27"])
    ap.add_argument("--weights-dir", default=None, help="where the weights of --weights-for are")
    ap.add_argument("--weights-for", nargs="*", default=["mpm-lift-t27"])
    ap.add_argument("--stride", type=int, default=None, help="window models: frames between "
                    "windows (default: a third of the window)")
    ap.add_argument("--causal", action="store_true", help="window models: each frame from "
                    "a window ending at it (no later frame read)")
    ap.add_argument("--frame-step", type=int, default=1, help="mocap frames between video "
                    "frames: 1 = 30 fps, 2 = 15 fps, 3 = 10 fps")
    ap.add_argument("--no-flip", action="store_true", help="window models: no flip test "
                    "(half the cost)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    batch = make_eval_batch(args.cache, "test", n=args.n, window=args.frames, noise="detector",
                            seed=args.seed, stride=args.frame_step)
    gt = batch.pose_3d_cam_mm.astype(np.float64)
    gt = gt - gt[:, :, :1]
    print(f"# bench_temporal: {len(batch.ids)} held-out sequences x {args.frames} frames, "
          f"{30 / args.frame_step:.0f} fps, detector noise; {dt.date.today()}; "
          f"{platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch thread")
    print("| model | window | MPJPE | P-MPJPE | MPJVE | accel. error | ms/frame |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        weights = args.weights_dir if name in args.weights_for else None
        pred, ms, window = lift_all(name, batch, weights, args.stride, args.causal,
                                    not args.no_flip)
        flip = window == 1 or not args.no_flip
        flat_p, flat_g = pred.reshape(-1, 17, 3), gt.reshape(-1, 17, 3)
        vel, acc = motion_errors(pred, gt)
        mode = (" causal" if args.causal and window > 1 else "") + ("" if flip else " no flip")
        print(f"| {name}{mode} | {window} | {mpjpe(flat_p, flat_g):.1f} | "
              f"{p_mpjpe(flat_p, flat_g):.1f} | {vel:.2f} | {acc:.2f} | {ms:.2f} |")


if __name__ == "__main__":
    main()
