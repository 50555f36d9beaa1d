"""Lifting accuracy on held-out mocap by posture: standing, low (sitting, crouching), floor, lying.

Mocap is 98 % standing, so a mean over all held-out frames says little about people sitting.
Each posture (``monopose.data.postures``) gets its own fixed set: up to ``--n`` frames of the
held-out splits in that posture, spread evenly, seen by the evaluation cameras
(``eval_config``) with detector-like 2D noise; every model lifts the same inputs (flip test,
one torch thread). ``--floor-sits N`` adds a set of people sitting and kneeling on the floor,
which the mocap does not have: N held-out frames' upper bodies on legs laid out on the floor
(``monopose.data.floor_sits``, the training step of ``floor_sit_prob``; so it measures what that
step teaches, not how real people sit).

    .venv/bin/python benchmarks/bench_postures.py --models mpm-lift-t1 \
        --candidate runs/mpm-lift-t1-postures/export [--floor-sits 600]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import platform

import numpy as np
import torch

from monopose.data.mocap_store import MocapCache
from monopose.data.postures import POSTURES, posture_of, posture_shares
from monopose.data.sampler import MocapSampler
from monopose.data.sampler_config import eval_config
from monopose.eval.metrics import mpjpe, p_mpjpe
from monopose.zoo import load_pose_model


def posture_sets(sampler: MocapSampler, labels: np.ndarray, n: int, seed: int
                 ) -> dict[str, tuple[np.ndarray, ...]]:
    """Per posture (``labels``: of ``sampler.starts``): ``(keypoints [B, 17, 2] px, valid
    [B, 17], intrinsics [B, 4], root-relative truth [B, 17, 3] mm)``."""
    out = {}
    for k, name in enumerate(POSTURES):
        starts = sampler.starts[labels == k]
        if len(starts) == 0:
            continue
        out[name] = _spread_set(sampler, starts, n, seed)
    return out


def _spread_set(sampler: MocapSampler, starts: np.ndarray, n: int, seed: int
                ) -> tuple[np.ndarray, ...]:
    """Up to ``n`` of ``starts``, spread evenly, as one :func:`posture_sets` entry."""
    pick = np.unique(np.linspace(0, len(starts) - 1, num=min(n, len(starts))).round()
                     .astype(np.int64))
    batch = sampler.make_batch(starts[pick], np.random.default_rng(seed))
    gt = batch.pose_3d_cam_mm[:, 0].astype(np.float64)
    return batch.keypoints_2d_px[:, 0], batch.valid_2d[:, 0], batch.intrinsics, gt - gt[:, :1]


def floor_sit_set(cache: MocapCache, splits: list[str], n: int, seed: int
                  ) -> tuple[np.ndarray, ...]:
    """Like a :func:`posture_sets` entry: ``n`` held-out frames, spread evenly, each sat on the
    floor (``floor_sit_prob = 1``) and seen by the evaluation cameras."""
    cfg = dataclasses.replace(eval_config("detector"), floor_sit_prob=1.0)
    sampler = MocapSampler(cache, splits, 1, cfg, seed=seed)
    return _spread_set(sampler, sampler.starts, n, seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default="cache/mocap")
    ap.add_argument("--n", type=int, default=600, help="frames per posture (at most)")
    ap.add_argument("--models", nargs="+", default=["mpm-lift-t1"])
    ap.add_argument("--candidate", nargs="*", default=[], help="weights folders: the first "
                    "model is scored with each as another row (e.g. training runs' exports)")
    ap.add_argument("--floor-sits", type=int, default=0, metavar="N",
                    help="also score N held-out upper bodies sat on the floor (0: not)")
    ap.add_argument("--splits", default="val,test", help="held-out splits, comma-separated "
                    "(neither is trained on; the test split alone has 29 frames not standing)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--roll-std", type=float, default=None, metavar="DEG",
                    help="the evaluation cameras' roll about their axis, standard deviation "
                    "(default: eval_config's); e.g. 15 for photos held tilted")
    args = ap.parse_args()
    splits = args.splits.split(",")
    torch.set_num_threads(1)
    cache = MocapCache.load(args.cache)
    cameras = eval_config("detector")
    if args.roll_std is not None:
        cameras = dataclasses.replace(cameras, roll_std_deg=args.roll_std)
    held_out = MocapSampler(cache, splits, 1, cameras, seed=args.seed)
    labels = posture_of(cache.poses_mm[held_out.starts])
    shares = posture_shares(labels)
    sets = posture_sets(held_out, labels, args.n, args.seed)
    if args.floor_sits > 0:
        sets["floor sits"] = floor_sit_set(cache, splits, args.floor_sits, args.seed)
    print(f"# bench_postures: {' + '.join(splits)}, {dt.date.today()}, "
          f"{platform.processor() or platform.machine()}, 1 torch thread, cameras' roll σ "
          f"{cameras.roll_std_deg:g}°")
    print(f"# {len(held_out.starts)} frames: " + ", ".join(
        f"{name} {100 * share:.2f} %" for name, share in shares.items()))
    rows = [(name, None) for name in args.models]
    rows += [(args.models[0], weights) for weights in args.candidate]
    header = " | ".join(f"{name} ({len(sets[name][0])})" for name in sets)
    print(f"| model | {header} |")
    print("|---|" + "---|" * len(sets))
    for name, weights in rows:
        model = load_pose_model(name, weights, flip=True, body_size="lifter")
        cells = []
        for kp, valid, intr, gt in sets.values():
            pred = model.lift(kp, valid, intrinsics=intr)
            cells.append(f"{mpjpe(pred, gt):.1f} / {p_mpjpe(pred, gt):.1f}")
        label = name if weights is None else f"{name} ({weights})"
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
