"""Whole-pipeline smoke test on real photos with 3D ground truth (``../shared/realgt``).

    .venv/bin/python benchmarks/bench_realgt.py [--models baseline-t1 poseformer-t1 ...]

For each photo: detect, lift with each model, place in camera space with the photo's intrinsics,
match the person nearest the ground truth, and report MPJPE (root-relative), P-MPJPE and the root
position error (MRPE), all in mm, in the h36m17 layout (the ground truth is converted from
MPI-INF-3DHP-17). Two photos say little statistically: this is a smoke test, not a benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from monopose.core.metrics import mpjpe, p_mpjpe
from monopose.core.skeleton import convert_layout

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))


def load_items(root: Path) -> list[dict]:
    labels = json.loads((root / "labels.json").read_text())
    return labels["items"]


def score_photo(est, item: dict, root: Path) -> dict[str, float] | None:  # type: ignore[no-untyped-def]
    """Errors (mm) of the person best matching the ground truth, or None if nobody was found."""
    cam = item["camera"]
    pred = est.predict(root / item["image"], intrinsics=(cam["fx"], cam["fy"], cam["cx"],
                                                         cam["cy"]))
    gt_mpi = np.asarray(item["pose3d_camera_mm"], dtype=np.float64)
    gt, _, _ = convert_layout(gt_mpi, "mpi3dhp17", "h36m17")
    gt2d, _, _ = convert_layout(np.asarray(item["keypoints2d_px"], np.float64), "mpi3dhp17",
                                "h36m17")
    people = pred.frames[0].people
    if not people:
        return None
    best = min(people, key=lambda p: float(np.linalg.norm(p.keypoints_2d_px - gt2d, axis=1)
                                           .mean()))
    rel_gt = gt - gt[0]
    return {
        "mpjpe": mpjpe(best.pose_3d_rel_mm, rel_gt),
        "p_mpjpe": p_mpjpe(best.pose_3d_rel_mm, rel_gt),
        "root_error": float(np.linalg.norm(best.pose_3d_abs_mm[0] - gt[0])),
        "depth_gt": float(gt[0, 2]),
        "kp2d_error_px": float(np.linalg.norm(best.keypoints_2d_px - gt2d, axis=1).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="*", default=None)
    args = parser.parse_args()

    from monopose.models.registry import available, list_models
    from monopose.pipeline.estimator import Estimator

    root = SHARED / "realgt"
    items = load_items(root)
    names = args.models or [c.name for c in list_models() if available(c.name)]
    print("| model | photo | MPJPE | P-MPJPE | root error | GT depth | 2D error (px) |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        est = Estimator(model=name)
        rows = []
        for item in items:
            s = score_photo(est, item, root)
            if s is None:
                print(f"| {name} | {item['image']} | no person found | | | | |")
                continue
            rows.append(s)
            print(f"| {name} | {item['image']} | {s['mpjpe']:.0f} | {s['p_mpjpe']:.0f} | "
                  f"{s['root_error']:.0f} | {s['depth_gt']:.0f} | {s['kp2d_error_px']:.1f} |")
        if rows:
            mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            print(f"| {name} | **mean** | **{mean['mpjpe']:.0f}** | **{mean['p_mpjpe']:.0f}** | "
                  f"**{mean['root_error']:.0f}** | | {mean['kp2d_error_px']:.1f} |")


if __name__ == "__main__":
    main()
