"""Output ensembles: the 3D of several registered lifters averaged, against each alone.

Averaging the answers of models that err differently often beats the best of them. Here each
lifter lifts the same people (rendered people with the detector's 2D, cached by
``benchmarks/fit_keypoint_map.py``; the realgt photos from their true 2D and through the
pipeline), their root-relative poses are averaged, sized and placed as ``monopose predict``
does (world landmarks, ray fit; the true-2D photos at the lifters' own size), and scored.
Rows: each lifter, the first with each other one, and all of them.

    .venv/bin/python benchmarks/bench_lifter_ensembles.py --eval cache/capf2/renders/val \
        cache/renders_postures cache/renders_floorsits --models mpm-lift-t1 poseformer-t1 ...
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path

import numpy as np
import torch

from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lift_variants import photo_people, placed_scores, render_people, world_sized  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval", type=Path, nargs="+", required=True, help="render sets")
    ap.add_argument("--models", nargs="+", required=True,
                    help="registered lifters; the first is the one each other joins")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_lifter_ensembles: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC, 1 torch thread\n")
    lifters = {m: Lifter(m, body_size="lifter") for m in args.models}
    first = lifters[args.models[0]]
    sets = {folder.name: render_people(folder, first) for folder in args.eval}
    for name, true_2d in (("real photos, true 2D", True), ("real photos, detector 2D", False)):
        people = photo_people(first, true_2d)
        if people is not None:
            sets[name] = people
    lifted = {(s, m): lifter.lift(f["kp_px"], f["valid"], intrinsics=f["intrinsics"])
              for s, f in sets.items() for m, lifter in lifters.items()}
    rows = ([(m,) for m in args.models] + [(args.models[0], m) for m in args.models[1:]]
            + ([tuple(args.models)] if len(args.models) > 2 else []))
    print("MPJPE / P-MPJPE / median root (mm)\n")
    print("| lifters averaged | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for row in rows:
        cells = []
        for s, f in sets.items():
            rel = np.mean([lifted[s, m] for m in row], axis=0)
            cells.append(placed_scores({**f, "sized": world_sized(f, rel)}, "ray_fit", None)[0])
        print("| " + " + ".join(f"`{m}`" for m in row) + " | " + " | ".join(cells) + " |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
