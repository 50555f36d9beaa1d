"""People on the floor: ``mpm-lift-t1`` handing them to ``mpm-lift-t1-floorsit``.

``monopose.lifting.floor_gate.FloorGatedLifter`` lifts every person with ``mpm-lift-t1`` and
lifts again, with the floor-sit lifter, those its answer puts on the floor (``on_the_floor``).
Scored side by side, in one run, for the default, the floor-sit lifter alone and the gate:

* held-out rendered people (one person per image, BlazePose Heavy through five crops as photos
  get it, world-landmark size), from the detector's 2D and from the true 2D: MPJPE / P-MPJPE
  (mm), how many people the gate hands over and how many are on the floor by the truth;
* the realgt photos (``monopose evaluate-photos``' modules), as they are and in the 12 views of
  ``realgt_views.py``: the whole pipeline (``Estimator(floor_lifter=...)``) and the labelled
  2D lifted as ``monopose lift`` lifts it.

    .venv/bin/python benchmarks/bench_floor_lifter.py --sets cache/r_val cache/r_post \\
        cache/r_floor --work runs/heavy_tta5
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from monopose.core.projection import project_points
from monopose.data.postures import POSTURES, posture_of
from monopose.eval.metrics import mpjpe_per_sample, p_mpjpe_per_sample
from monopose.eval.photo_scores import nearest_person, score_person
from monopose.eval.photo_truth import PhotoTruth
from monopose.lifting.floor_gate import FloorGatedLifter, on_the_floor
from monopose.lifting.lifter import Lifter
from monopose.pipeline.photo_methods import estimator_method, true_2d_answer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realgt import REPO, SHARED, load_truths  # noqa: E402
from bench_world_landmarks import features  # noqa: E402
from bench_world_up import add_render_set_options, five_crop_detections  # noqa: E402
from fit_keypoint_map import usable  # noqa: E402
from realgt_views import VIEW_NAMES, make_views  # noqa: E402

BASE, FLOOR = "mpm-lift-t1", "mpm-lift-t1-floorsit"


def _cells(poses: dict[str, np.ndarray], gt: np.ndarray) -> list[str]:
    return [f"{mpjpe_per_sample(p, gt).mean():.1f} / {p_mpjpe_per_sample(p, gt).mean():.1f}"
            for p in poses.values()]


def renders_table(sets: list[Path], work: Path, limit: int,
                  floor_weights: Path | None = None) -> str:
    """Per set and 2D source: MPJPE / P-MPJPE of the default, the floor-sit lifter and the
    gate (and of candidate floor-sit weights, alone and gated), and how many people the gate
    hands over (of how many on the floor by the truth)."""
    base, floor = Lifter(BASE), Lifter(FLOOR)
    lifters: dict[str, Lifter | FloorGatedLifter] = {
        "default": base, "floor-sit lifter": floor,
        "default, floor handed over": FloorGatedLifter(base, floor)}
    if floor_weights is not None:
        candidate = Lifter(FLOOR, floor_weights)
        lifters[f"floor-sit @ {floor_weights.name}"] = candidate
        lifters[f"default, handed to @ {floor_weights.name}"] = FloorGatedLifter(base, candidate)
    floor_id = POSTURES.index("floor")
    lines = ["| set | 2D | people | handed over (on the floor by the truth) | "
             + " | ".join(lifters) + " |", "|---|---|---|---|" + "---|" * len(lifters)]
    for folder in sets:
        z = five_crop_detections(folder, limit, work)
        ok = usable(z)[0]
        feats = {name: features(z, lifter, ok) for name, lifter in lifters.items()}
        f = feats["default"]
        gt = f["gt"]
        true_floor = int((posture_of(_z_up_truth(folder, len(z["found"]))[ok]) == floor_id)
                         .sum())
        handed = int(on_the_floor(f["base"]).sum())
        lines.append(f"| {folder.name} | detector | {len(gt)} | {handed} ({true_floor}) | "
                     + " | ".join(_cells({k: v["sized"] for k, v in feats.items()}, gt))
                     + " |")
        kp = project_points(f["gt_abs"], f["intrinsics"])
        lifted = {k: m.lift(kp, intrinsics=f["intrinsics"]) for k, m in lifters.items()}
        handed = int(on_the_floor(lifted["default"]).sum())
        lines.append(f"| {folder.name} | true | {len(gt)} | {handed} ({true_floor}) | "
                     + " | ".join(_cells(lifted, gt)) + " |")
    return "\n".join(lines)


def _z_up_truth(folder: Path, n: int) -> np.ndarray:
    """``[n, 17, 3]`` the renders' true poses in their Z-up world (mm)."""
    poses = []
    for shard in sorted(folder.glob("shard-*.npz")):
        with np.load(shard) as z:
            poses.append(z["pose_3d_world_mm"].astype(np.float64))
    return np.concatenate(poses)[:n]


Answer = Callable[[PhotoTruth], dict]


def realgt_rows(floor_weights: Path | None = None) -> dict[str, dict[str, Answer]]:
    """Per row of the table, per kind of input, a scorer of one labelled photo."""
    base, floor = Lifter(BASE), Lifter(FLOOR)
    models: dict[str, Lifter | FloorGatedLifter] = {
        f"{BASE}, default": base, f"{BASE}, floor handed over": FloorGatedLifter(base, floor)}
    if floor_weights is not None:
        models[f"{BASE}, handed to @ {floor_weights.name}"] = FloorGatedLifter(
            base, Lifter(FLOOR, floor_weights))
    out: dict[str, dict[str, Answer]] = {}
    for name, model in models.items():
        run = estimator_method(BASE, pose_model=model)

        def pipeline(t: PhotoTruth, run=run) -> dict:  # type: ignore[no-untyped-def]
            best = nearest_person(run(t.path, t.intrinsics), t)
            return {} if best is None else score_person(best, t)

        def true_2d(t: PhotoTruth, model=model) -> dict:  # type: ignore[no-untyped-def]
            return score_person(true_2d_answer(model, t), t)

        out[name] = {"pipeline": pipeline, "true 2D": true_2d}
    return out


def realgt_table(floor_weights: Path | None = None) -> str:
    """MPJPE / P-MPJPE / root error (mm), means over the photos as they are and over the 12
    views, through the pipeline and from the labelled 2D."""
    photos = load_truths(SHARED / "realgt")
    views = make_views(photos, REPO / "cache" / "realgt_views", VIEW_NAMES)
    lines = ["| lifter | pipeline, 2 photos | pipeline, 12 views | true 2D, 2 photos |",
             "|---|---|---|---|"]
    for name, scorers in realgt_rows(floor_weights).items():
        cells = []
        for kind, truths in (("pipeline", photos), ("pipeline", views), ("true 2D", photos)):
            scores = [s for s in (scorers[kind](t) for t in truths) if s]
            cells.append(" / ".join(f"{np.mean([s[k] for s in scores]):.1f}" for k in
                                    ("mpjpe_mm", "p_mpjpe_mm", "root_error_mm"))
                         + ("" if len(scores) == len(truths) else f" ({len(scores)} found)"))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_line(folder: Path, work: Path, limit: int, repeats: int = 3) -> str:
    """Seconds to lift the detector's 2D of ``folder``'s people with ``mpm-lift-t1`` and with
    the hand-over, alternating ``repeats`` times (one thread), and ``on_the_floor`` alone."""
    import time

    base = Lifter(BASE)
    gated = FloorGatedLifter(base, Lifter(FLOOR))
    z = five_crop_detections(folder, limit, work)
    f = features(z, base, usable(z)[0])
    args = (f["kp_px"], f["valid"])
    seconds: dict[str, list[float]] = {"mpm-lift-t1": [], "hand-over": [], "on_the_floor": []}
    for _ in range(repeats):
        for name, model in (("mpm-lift-t1", base), ("hand-over", gated)):
            start = time.perf_counter()
            model.lift(*args, intrinsics=f["intrinsics"], scores=f["score"])
            seconds[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        on_the_floor(f["base"])
        seconds["on_the_floor"].append(time.perf_counter() - start)
    n = len(f["base"])
    return (f"{folder.name}, {n} people, {repeats} alternating runs (s): "
            + "; ".join(f"{k} " + " / ".join(f"{v:.2f}" for v in vs) for k, vs in seconds.items())
            + f"; on_the_floor per person {1000 * min(seconds['on_the_floor']) / n:.2f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_render_set_options(ap)
    ap.add_argument("--floor-weights", type=Path, default=None,
                    help="also score candidate mpm-lift-t1-floorsit weights from this folder "
                    "(e.g. a soup of runs), alone and handed over to")
    ap.add_argument("--no-realgt", action="store_true", help="skip the realgt photos")
    ap.add_argument("--timing", action="store_true",
                    help="time the hand-over against mpm-lift-t1 on the first --sets folder")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_floor_lifter: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC\n")
    if args.sets:
        print("## Held-out renders (MPJPE / P-MPJPE, mm)\n")
        print(renders_table(args.sets, args.work, args.limit, args.floor_weights) + "\n")
    if args.timing and args.sets:
        print("## Cost\n")
        print(timing_line(args.sets[0], args.work, args.limit) + "\n")
    if not args.no_realgt:
        print("## Realgt photos (MPJPE / P-MPJPE / root error, mm)\n")
        print(realgt_table(args.floor_weights) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
