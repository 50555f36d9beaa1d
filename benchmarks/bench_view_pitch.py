"""How far the lifted pose is pitched towards or away from the camera (a diagnostic).

* **Realgt photos**: the best rotation from the lifted pose to the truth (angle and axis in
  camera coordinates), and the MPJPE when the lifted pose is turned by α about the camera's
  x axis (α > 0 brings the head towards the camera), for the default lifter fed the true 2D
  and for the whole default pipeline.
* **Held-out renders** (standing people, the photo default's 2D, cached by
  ``bench_heavy_landmarks.py`` in ``--work``): the lifted body's pitch minus the true body's
  (trunk and legs; > 0 leans it towards the camera), by the camera's true pitch.

    .venv/bin/python benchmarks/bench_view_pitch.py --sets cache/r_val --work runs/heavy_tta5
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from pathlib import Path

import numpy as np

from monopose.core.world_up import standing
from monopose.eval.metrics import mpjpe
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realgt import SHARED, load_truths, monopose_method, nearest_person, true_2d_method  # noqa: E402
from bench_world_landmarks import features  # noqa: E402
from bench_world_up import (  # noqa: E402
    add_render_set_options,
    five_crop_detections,
    pitch_deg,
    true_ups,
)
from fit_keypoint_map import usable  # noqa: E402

ALPHAS_DEG = tuple(range(-16, 9, 4))
PITCH_BANDS_DEG = ((-90, -5), (-5, 0), (0, 5), (5, 10), (10, 15), (15, 25), (25, 90))


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def about_x(alpha_deg: float) -> np.ndarray:
    """``[3, 3]`` rotation about the camera's x axis (y down, z ahead)."""
    a = np.radians(alpha_deg)
    return np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])


def best_rotation(pred: np.ndarray, truth: np.ndarray) -> tuple[float, np.ndarray]:
    """Angle (degrees) and unit axis of the rotation that best maps the centred ``pred``
    ``[17, 3]`` onto the centred ``truth`` (Kabsch)."""
    a, b = pred - pred.mean(axis=0), truth - truth.mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(u @ vt))
    rot = (u @ np.diag([1.0, 1.0, d]) @ vt).T
    angle = float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2, -1.0, 1.0))))
    axis = np.array([rot[2, 1] - rot[1, 2], rot[0, 2] - rot[2, 0], rot[1, 0] - rot[0, 1]])
    return angle, _unit(axis)


def realgt_table() -> str:
    truths = load_truths(SHARED / "realgt")
    methods = {"true 2D": true_2d_method("mpm-lift-t1", truths),
               "whole pipeline": monopose_method("mpm-lift-t1+world")}
    lines = ["| photo | lifted from | best rotation (°; axis x, y, z) | "
             + " | ".join(f"α {a:+d}°" for a in ALPHAS_DEG) + " |",
             "|---|---|---|" + "---|" * len(ALPHAS_DEG)]
    for truth in truths:
        rel_true = truth.abs_mm - truth.abs_mm[0]
        for label, run in methods.items():
            person = nearest_person(run(truth.path, truth.intrinsics), truth)
            if person is None:
                continue
            angle, axis = best_rotation(person.rel_mm, rel_true)
            scores = [mpjpe(person.rel_mm @ about_x(a).T, rel_true) for a in ALPHAS_DEG]
            lines.append(f"| {truth.path.stem} | {label} | {angle:.1f}; "
                         f"{axis[0]:+.2f}, {axis[1]:+.2f}, {axis[2]:+.2f} | "
                         + " | ".join(f"{s:.0f}" for s in scores) + " |")
    return "\n".join(lines)


def body_pitch_deg(poses_mm: np.ndarray) -> np.ndarray:
    """``[N]`` pitch of trunk + legs (both unit) of ``[N, 17, 3]`` poses."""
    p = poses_mm
    body = _unit(_unit(p[:, 8] - p[:, 0]) + _unit(p[:, 1] - p[:, 3]) + _unit(p[:, 4] - p[:, 6]))
    return pitch_deg(body)


def renders_table(sets: list[Path], work: Path, limit: int) -> str:
    lifter = Lifter("mpm-lift-t1", body_size="lifter")
    lines = ["| set | camera's true pitch (° down) | standing people | lifted − true body pitch "
             "(°, mean ± sd) |", "|---|---|---|---|"]
    for folder in sets:
        arrays = five_crop_detections(folder, limit, work)
        ok = usable(arrays)[0]
        f = features(arrays, lifter, ok)
        camera_pitch = pitch_deg(true_ups(folder, len(arrays["found"]))[ok])
        error = body_pitch_deg(f["base"]) - body_pitch_deg(f["gt"])
        upright = standing(f["gt"])
        for lo, hi in PITCH_BANDS_DEG:
            m = upright & (camera_pitch >= lo) & (camera_pitch < hi)
            if m.any():
                lines.append(f"| {folder.name} | {lo} to {hi} | {int(m.sum())} | "
                             f"{error[m].mean():+.1f} ± {error[m].std():.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_render_set_options(ap)
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_view_pitch: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC\n")
    print("## Realgt photos: MPJPE (mm) with the lifted pose turned by α about the camera's x "
          "axis (α > 0: the head towards the camera)\n")
    print(realgt_table() + "\n")
    if args.sets:
        print("## Held-out renders: the lifted body's pitch against the truth's\n")
        print(renders_table(args.sets, args.work, args.limit) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
