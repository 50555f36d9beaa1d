"""Where is up? The world frame's up from the people, against the renders' true camera.

``monopose predict`` draws people in a world frame (y up, the floor at 0) and writes it to the
JSON (``world``). Without a floor plane (one photo, few people) up comes from the bodies
(``monopose.core.world_up.up_from_bodies``). This scores that up against the truth on held-out
rendered people, one person per image, lifted as ``monopose predict`` lifts photos (BlazePose
Heavy through five crops, ``mpm-lift-t1``):

* **before**: the robust mean of every person's trunk and legs (what it was);
* **level camera**: up = the camera's -y;
* **bodies by posture, no prior**: a standing person's trunk and legs, anyone else's trunk;
* **now**: the same weighed against a level-camera prior (the product);
* **now, from the true 3D**: the product's rule on the renders' true poses.

Cells are the angle between the estimated and the true up (degrees). ``--media`` adds the
media photos, whose cameras are level by eye (vertical door frames, poles, horizon): the tilt
of the estimated up from the camera's -y, before and now.

    .venv/bin/python benchmarks/bench_world_up.py --sets cache/r_val cache/r_post cache/r_floor \\
        --work runs/heavy_tta5 --media
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monopose.core.placement import place_poses
from monopose.core.world_up import (
    body_up_evidence,
    estimate_world_frame,
    roll_pitch_deg,
    standing,
    up_from_bodies,
)
from monopose.detect.blazepose import BlazePoseDetector
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_heavy_landmarks import cached_render_set  # noqa: E402
from bench_realgt import SHARED  # noqa: E402
from bench_world_landmarks import features  # noqa: E402
from fit_keypoint_map import usable  # noqa: E402

FIVE_CROPS = "heavy, 5 crops (--tta 5)"  # the photo default, named as bench_heavy_landmarks does
LEVEL_UP = np.array([0.0, -1.0, 0.0])
PITCH_BANDS_DEG = ((-90, -5), (-5, 5), (5, 15), (15, 25), (25, 90))

UpRule = Callable[[np.ndarray], np.ndarray]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[N]`` degrees between ``[N, 3]`` (or ``[3]``) directions."""
    return np.degrees(np.arccos(np.clip(np.sum(_unit(a) * _unit(b), axis=-1), -1.0, 1.0)))


def pitch_deg(up_cam: np.ndarray) -> np.ndarray:
    """Camera pitch (looking down > 0) of up ``[..., 3]`` in camera coordinates."""
    return roll_pitch_deg(up_cam)[1]


def roll_deg(up_cam: np.ndarray) -> np.ndarray:
    return roll_pitch_deg(up_cam)[0]


def before_up(pose_mm: np.ndarray) -> np.ndarray:
    """The rule before: the robust mean (35° outliers, three rounds) of the trunks and legs of
    ``[17, 3]`` or ``[N, 17, 3]`` poses."""
    p = pose_mm.reshape(-1, 17, 3)
    d = _unit(np.concatenate([p[:, 8] - p[:, 0], p[:, 1] - p[:, 3], p[:, 4] - p[:, 6]]))
    mean = _unit(d.mean(axis=0))
    for _ in range(3):
        keep = d @ mean > np.cos(np.radians(35.0))
        if not keep.any():
            break
        mean = _unit(d[keep].mean(axis=0))
    return mean


def evidence_only_up(pose_mm: np.ndarray) -> np.ndarray:
    """The posture rule's evidence for one person, without the prior."""
    return body_up_evidence(pose_mm[None])[0][0]


def now_up(pose_mm: np.ndarray) -> np.ndarray:
    up = up_from_bodies(pose_mm[None])
    return LEVEL_UP if up is None else up


EVIDENCE_ONLY = "bodies by posture, no prior"
RULES: dict[str, UpRule] = {
    "before: trunk and legs of everyone": before_up,
    "level camera": lambda _: LEVEL_UP,
    EVIDENCE_ONLY: evidence_only_up,
    "**now: bodies by posture and a level camera**": now_up,
}


def true_ups(folder: Path, n: int) -> np.ndarray:
    """``[n, 3]`` the world's up (+z of the renders' world) in each camera of ``folder``."""
    ups = []
    for shard in sorted(folder.glob("shard-*.npz")):
        with np.load(shard) as z:
            ups.append(z["R"].astype(np.float64) @ np.array([0.0, 0.0, 1.0]))
    return np.concatenate(ups)[:n]


def add_render_set_options(ap: argparse.ArgumentParser) -> None:
    """``--sets``, ``--work`` and ``--limit``: render sets and where their detections are kept."""
    ap.add_argument("--sets", nargs="*", type=Path, default=[], help="Render set folders.")
    ap.add_argument("--work", type=Path, default=Path("runs/heavy"),
                    help="Where the detections are kept for reruns (bench_heavy_landmarks').")
    ap.add_argument("--limit", type=int, default=600, help="Images per set.")


def five_crop_detections(folder: Path, limit: int, work: Path) -> dict[str, np.ndarray]:
    """The photo default's detections (BlazePose Heavy through five crops) of the first
    ``limit`` images of ``folder``, as ``bench_heavy_landmarks.py`` keeps them in ``work``
    (made there when missing)."""
    detectors = {FIVE_CROPS: BlazePoseDetector(num_threads=1, tiles="off",
                                               landmark_model="heavy", landmark_crops=5)}
    kinds, _ = cached_render_set(detectors, folder, limit, work)
    return kinds[FIVE_CROPS]


def true_camera_heights_mm(folder: Path, n: int) -> np.ndarray:
    """``[n]`` each render's camera centre above the floor (the world's z = 0), mm."""
    heights = []
    for shard in sorted(folder.glob("shard-*.npz")):
        with np.load(shard) as z:
            rot, t = z["R"].astype(np.float64), z["t"].astype(np.float64)
            heights.append(-np.einsum("nji,nj->ni", rot, t)[:, 2])  # C = -Rᵀ t
    return np.concatenate(heights)[:n]


def evidence_spread_deg(evidence: np.ndarray, poses_mm: np.ndarray, truth_up: np.ndarray
                        ) -> dict[str, str]:
    """RMS error (degrees) of roll and of pitch of each person's ``[M, 3]`` evidence, standing
    and not: what ``STANDING_UP_SIGMA_DEG`` and ``OTHER_UP_SIGMA_DEG`` stand for."""
    roll_err = roll_deg(evidence) - roll_deg(truth_up)
    pitch_err = pitch_deg(evidence) - pitch_deg(truth_up)
    upright = standing(poses_mm)
    out = {}
    for label, m in (("standing", upright), ("not standing", ~upright)):
        out[label] = ("-" if m.sum() < 5 else
                      f"{np.sqrt(np.mean(roll_err[m] ** 2)):.1f} / "
                      f"{np.sqrt(np.mean(pitch_err[m] ** 2)):.1f} ({int(m.sum())})")
    return out


@dataclass(frozen=True)
class SetResult:
    """One render set: per rule, ``[M]`` errors of up (degrees); the ``[M]`` cameras' true
    pitch; the ``[M]`` camera-height errors (mm) before and now; the evidence's spread."""

    errors: dict[str, np.ndarray]
    true_pitch_deg: np.ndarray
    height_errors_mm: dict[str, np.ndarray]
    evidence_spread: dict[str, str]


def set_errors(folder: Path, limit: int, work: Path, lifter: Lifter) -> SetResult:
    """Every rule on one render set, each person placed as ``monopose predict`` places it
    (world-landmark size, ray fit) for the camera's height."""
    z = five_crop_detections(folder, limit, work)
    ok = usable(z)[0]
    f = features(z, lifter, ok)
    truth = true_ups(folder, len(z["found"]))[ok]
    ups = {name: np.stack([rule(p) for p in f["base"]]) for name, rule in RULES.items()}
    errors = {name: angle_deg(up, truth) for name, up in ups.items()}
    errors["now, from the true 3D"] = angle_deg(np.stack([now_up(p) for p in f["gt"]]), truth)
    placed, _, _ = place_poses(f["kp_px"], f["sized"], f["valid"], f["intrinsics"],
                               scores=f["score"])
    height = true_camera_heights_mm(folder, len(z["found"]))[ok]
    heights: dict[str, list[float]] = {"before": [], "now": []}
    for pose in placed:
        if not np.isfinite(pose).all():
            heights["before"].append(np.nan)
            heights["now"].append(np.nan)
            continue
        heights["before"].append(estimate_world_frame(pose[None], before_up(pose))
                                 .camera_height_mm)
        heights["now"].append(estimate_world_frame(pose[None]).camera_height_mm)
    return SetResult(errors, pitch_deg(truth),
                     {k: np.abs(np.asarray(v) - height) for k, v in heights.items()},
                     evidence_spread_deg(ups[EVIDENCE_ONLY], f["base"], truth))


def set_table(results: dict[str, SetResult]) -> str:
    names = list(next(iter(results.values())).errors)
    lines = ["| up from | " + " | ".join(f"{s} ({len(r.true_pitch_deg)}): mean / median / "
                                         "90th pct" for s, r in results.items()) + " |",
             "|---|" + "---|" * len(results)]
    for name in names:
        cells = [f"{r.errors[name].mean():.1f} / {np.median(r.errors[name]):.1f} / "
                 f"{np.percentile(r.errors[name], 90):.1f}" for r in results.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def height_table(results: dict[str, SetResult]) -> str:
    """The camera's height above the floor: |estimated − true|, median / 90th percentile."""
    lines = ["| camera height from | " + " | ".join(results) + " |",
             "|---|" + "---|" * len(results)]
    for name in ("before", "now"):
        cells = [f"{np.nanmedian(r.height_errors_mm[name]):.0f} / "
                 f"{np.nanpercentile(r.height_errors_mm[name], 90):.0f}"
                 for r in results.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def pitch_table(results: dict[str, SetResult]) -> str:
    before, now = list(RULES)[0], list(RULES)[3]
    lines = ["| set | true pitch (° down) | people | before | level camera | now |",
             "|---|---|---|---|---|---|"]
    for s, r in results.items():
        e, pitch = r.errors, r.true_pitch_deg
        for lo, hi in PITCH_BANDS_DEG:
            m = (pitch >= lo) & (pitch < hi)
            if m.any():
                lines.append(f"| {s} | {lo} to {hi} | {int(m.sum())} | {e[before][m].mean():.1f} | "
                             f"{e['level camera'][m].mean():.1f} | {e[now][m].mean():.1f} |")
    return "\n".join(lines)


def media_table() -> str:
    """Tilt, roll and pitch (degrees) of up from each media photo's people, before and now."""
    from monopose.pipeline.estimator import Estimator  # heavy: detector and lifter

    est = Estimator()
    lines = ["| photo | people | before: tilt / roll / pitch | now: tilt / roll / pitch |",
             "|---|---|---|---|"]
    for photo in sorted((SHARED / "media").glob("*.jpg")):
        people = est.predict(photo).frames[0].people
        if not people:
            continue
        poses = np.stack([np.asarray(p.pose_3d_abs_mm, dtype=np.float64) for p in people])
        before = before_up(poses)
        now = up_from_bodies(poses)
        cells = [f"{float(angle_deg(u, LEVEL_UP)):.1f} / {float(roll_deg(u)):.1f} / "
                 f"{float(pitch_deg(u)):.1f}" for u in (before, now)]
        lines.append(f"| {photo.name} | {len(people)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_render_set_options(ap)
    ap.add_argument("--media", action="store_true", help="Also the media photos.")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_world_up: {platform.node()}, {platform.machine()}, {now:%Y-%m-%d %H:%M} UTC\n")
    if args.sets:
        lifter = Lifter("mpm-lift-t1", body_size="lifter")
        results = {folder.name: set_errors(folder, args.limit, args.work, lifter)
                   for folder in args.sets}
        print("## Error of up (degrees), one person per image\n")
        print(set_table(results) + "\n")
        print("## By the camera's true pitch (mean error, degrees)\n")
        print(pitch_table(results) + "\n")
        print("## The camera's height above the floor: |estimated − true| (mm, median / 90th "
              "percentile)\n")
        print(height_table(results) + "\n")
        print("## Roll / pitch RMS of each person's evidence (degrees, people)\n")
        for name, r in results.items():
            print(f"- {name}: " + "; ".join(f"{k} {v}" for k, v in r.evidence_spread.items()))
        print()
    if args.media:
        print("## Media photos (level cameras by eye): up against the camera's -y (degrees)\n")
        print(media_table() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
