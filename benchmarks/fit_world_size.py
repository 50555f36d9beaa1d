"""How much BlazePose's world landmarks know of body size, and the scale that removes their bias.

Uses the detector outputs on rendered people cached by ``benchmarks/fit_keypoint_map.py``
(``runs/keypoint_map/detections-<set>-<limit>.npz``; made here when missing). Prints:

1. the world landmarks' skeleton size (:func:`monopose.core.body_size.skeleton_size_mm`, mapped to
   h36m17 by the learned map) against the true one, per band of true size: how much of a
   person's size they carry (correlation) and their bias;
2. the scale that makes them unbiased on the ``--fit`` renders (median of true / world size),
   against :data:`monopose.core.body_size.WORLD_LANDMARK_SIZE_SCALE`;
3. on the ``--eval`` renders (held-out motions), the default lifter's root error (median, mm)
   per band of true depth with each size source: its own, the world landmarks as they come, the
   world landmarks scaled, and the true size (an oracle).

Usage:
    python benchmarks/fit_world_size.py --fit cache/capf2/renders/train_b \
        --eval cache/capf2/renders/val
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path

import numpy as np

from monopose.core.body_size import WORLD_LANDMARK_SIZE_SCALE, rescale_to_size, skeleton_size_mm
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_world_landmarks import features, oracle_sized, size_table  # noqa: E402
from fit_keypoint_map import detections, usable  # noqa: E402

WORK = Path("runs/keypoint_map")
SIZE_BANDS_MM = (0, 3000, 3400, 3800, 4200, 4600, 1e9)


def world_and_true_size(f: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``([N], [N])`` mm: skeleton size of the world landmarks and of the truth."""
    return skeleton_size_mm(f["wl"]), skeleton_size_mm(f["gt"])


def size_bands(world: np.ndarray, true: np.ndarray) -> str:
    lines = ["| true size (mm) | people | world-landmark size, median (mm) "
             "| world / true, median |",
             "|---|---|---|---|"]
    for lo, hi in zip(SIZE_BANDS_MM[:-1], SIZE_BANDS_MM[1:], strict=True):
        m = (true >= lo) & (true < hi)
        if m.any():
            band = f"{lo:.0f}–{hi:.0f}" if hi < 1e8 else f"> {lo:.0f}"
            lines.append(f"| {band} | {int(m.sum())} | {np.median(world[m]):.0f} | "
                         f"{np.median(world[m] / true[m]):.3f} |")
    corr = float(np.corrcoef(world, true)[0, 1])
    lines.append(f"\ncorrelation of world-landmark and true size: {corr:.2f}; world-landmark "
                 f"size 5–95 %: {np.percentile(world, 5):.0f}–{np.percentile(world, 95):.0f} mm, "
                 f"true: {np.percentile(true, 5):.0f}–{np.percentile(true, 95):.0f} mm")
    return "\n".join(lines)


def depth_table(f: dict[str, np.ndarray], scale: float) -> str:
    rows = {"lifter's own size": f["base"],
            "world landmarks as they come": rescale_to_size(f["base"], f["wl"])[0],
            f"world landmarks × {scale:.3f} (the default)": rescale_to_size(f["base"],
                                                                            f["wl"] * scale)[0],
            "true size (oracle)": oracle_sized(f)}
    return size_table(f, rows)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", type=Path, required=True, help="render set to fit the scale on")
    ap.add_argument("--eval", type=Path, required=True, help="held-out render set")
    ap.add_argument("--limit", type=int, default=None, help="images per set")
    ap.add_argument("--model", default="mpm-lift-t1")
    args = ap.parse_args(argv)
    lifter = Lifter(args.model, body_size="lifter")

    def load(folder: Path) -> dict[str, np.ndarray]:
        z = detections(folder, WORK, args.limit)
        return features(z, lifter, usable(z)[0])

    fit, held = load(args.fit), load(args.eval)
    now = dt.datetime.now(dt.UTC)
    print(f"{args.model}; {len(fit['gt'])} people to fit on ({args.fit}), {len(held['gt'])} "
          f"held out ({args.eval}); {platform.node()}, {now:%Y-%m-%d %H:%M} UTC\n")
    world, true = world_and_true_size(fit)
    print("World landmarks against the true size, fit set:\n")
    print(size_bands(world, true))
    scale = float(np.median(true / world))
    print(f"\nunbiased scale (median true / world size) on the fit set: {scale:.3f}; shipped "
          f"WORLD_LANDMARK_SIZE_SCALE: {WORLD_LANDMARK_SIZE_SCALE:.3f}")
    world_h, true_h = world_and_true_size(held)
    print(f"held out: median true / world size {np.median(true_h / world_h):.3f}\n")
    print("Root error (median, mm) against the true depth, held-out renders:\n")
    print(depth_table(held, WORLD_LANDMARK_SIZE_SCALE))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
