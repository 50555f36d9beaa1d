"""How BlazePose's 2D errs on rendered people: by joint group, visible against hidden, per set.

The sampler's ``detector`` noise is one error profile per joint, the same whether a joint is
seen or hidden and whatever the posture. This prints the detector's real error (the learned
keypoint map's h36m17 against the exact labels), as a percentage of the person's size (the
diagonal of the true joints' box): median and 90th percentile, for joints the render marks
visible and for those hidden behind the body, over the people the detector found (not lost,
``monopose.data.detected_renders.lost_people``). Detections are cached per set in
``runs/keypoint_map`` (``benchmarks/fit_keypoint_map.py``).

    .venv/bin/python benchmarks/bench_detector_errors.py --sets cache/capf2/renders/val \
        cache/renders_postures cache/renders_floorsits
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
from pathlib import Path

import numpy as np
from fit_keypoint_map import detections, person_size

from monopose.core.skeleton import H36M17
from monopose.data.detected_renders import lost_people
from monopose.detect.keypoint_map import resolve_keypoint_map

GROUPS = {
    "pelvis, hips": ("pelvis", "r_hip", "l_hip"),
    "spine, thorax, neck, head": ("spine", "thorax", "neck_nose", "head_top"),
    "shoulders": ("l_shoulder", "r_shoulder"),
    "elbows": ("l_elbow", "r_elbow"),
    "wrists": ("l_wrist", "r_wrist"),
    "knees": ("l_knee", "r_knee"),
    "ankles": ("l_ankle", "r_ankle"),
}
WORK = Path("runs/keypoint_map")


def relative_errors(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(error [N, 17] as a fraction of the person's size, visible [N, 17], inside [N, 17],
    images)`` over the people the detector found in ``folder``."""
    z = detections(folder, WORK, None)
    kp = resolve_keypoint_map("learned").apply(np.nan_to_num(z["kp33"]))
    keep = ~lost_people(kp, z["gt"], z["found"])
    err = np.linalg.norm(kp - z["gt"], axis=-1)[keep] / person_size(z["gt"][keep])[:, None]
    return err, z["visible"][keep], z["inside"][keep], len(z["found"])


def cell(values: np.ndarray) -> str:
    if len(values) < 10:
        return "–"
    return f"{np.median(values) * 100:.1f} / {np.percentile(values, 90) * 100:.1f} ({len(values)})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", type=Path, required=True, help="Render set folders.")
    args = ap.parse_args(argv)
    print(f"# {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}")
    print("Cells: median / 90th percentile of the 2D error, % of the person's size (joints).\n")
    for folder in args.sets:
        err, vis, inside, images = relative_errors(folder)
        print(f"## {folder}: {len(err)} of {images} people found, "
              f"{(~vis & inside).sum() / max(inside.sum(), 1):.0%} of joints hidden\n")
        print("| joints | visible | hidden |\n|---|---|---|")
        for name, joints in GROUPS.items():
            idx = [H36M17.index(j) for j in joints]
            e, v, ins = err[:, idx], vis[:, idx], inside[:, idx]
            print(f"| {name} | {cell(e[v & ins])} | {cell(e[~v & ins])} |")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
