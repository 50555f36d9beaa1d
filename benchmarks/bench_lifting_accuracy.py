"""Lifting accuracy of the shipped lifters on held-out mocap (the numbers of BENCHMARKS.md).

All models see the same windows of the test split (held-out CMU subject 7 and held-out Bandai
contents), the same virtual cameras, the same detector-like 2D noise and the same missing joints;
the centre frame of each 27-frame window is scored (single-frame models see only that frame).

    .venv/bin/python benchmarks/bench_lifting_accuracy.py [--cache cache/mocap] [--json out.json]
        [--placement solve|ray_fit]

``--placement ray_fit`` scores the poses as ``monopose predict`` and ``lift`` output them
(fitted to the centre frame's 2D rays) instead of the lifted poses (the standard protocol).

Prints a markdown table (MPJPE / P-MPJPE in mm, mean over actions, and mean over frames) and
checks the targets: MPM (pre-trained) beats the baseline by >= 15 % MPJPE on noisy 2D; with 4
missing joints MPM stays within 1.3x its own full-2D error; pre-training beats training from
scratch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from monopose.core.placement import PLACEMENTS
from monopose.eval.evaluate import (
    DEFAULT_CONDITIONS,
    EvalReport,
    evaluate_model,
    format_comparison,
    load_lifter,
    mocap_eval_set,
)
from monopose.io.files import write_json_atomic
from monopose.zoo import available, load_model, weights_path

MODELS = ("baseline-t1", "poseformer-t1", "mpm-lift-t1-scratch", "mpm-lift-t1", "mpm-lift-t27")


def _targets(reports: dict[str, EvalReport], average: str) -> list[str]:
    def err(model: str, cond: str) -> float | None:
        r = reports.get(model)
        if r is None or cond not in r.conditions:
            return None
        return float(getattr(r.conditions[cond], average)["mpjpe"])

    lines = []
    base, mpm = err("baseline-t1", "noisy2d"), err("mpm-lift-t1", "noisy2d")
    if base is not None and mpm is not None:
        gain = (base - mpm) / base
        lines.append(f"- MPM (pre-trained) vs baseline on noisy 2D: {mpm:.1f} vs {base:.1f} mm, "
                     f"{100 * gain:+.1f} % better (target >= 15 %): "
                     f"{'MET' if gain >= 0.15 else 'MISSED'}")
    full, miss4 = err("mpm-lift-t1", "gt2d"), err("mpm-lift-t1", "missing4")
    if full is not None and miss4 is not None:
        ratio = miss4 / full
        lines.append(f"- MPM with 4 missing joints vs full 2D: {miss4:.1f} / {full:.1f} mm = "
                     f"{ratio:.2f}x (target <= 1.3x): {'MET' if ratio <= 1.3 else 'MISSED'}")
    for cond in DEFAULT_CONDITIONS:
        pre, scratch = err("mpm-lift-t1", cond), err("mpm-lift-t1-scratch", cond)
        if pre is not None and scratch is not None:
            lines.append(f"- pre-training gain, {cond}: {scratch:.1f} -> {pre:.1f} mm "
                         f"({100 * (scratch - pre) / scratch:+.1f} %)")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default="cache/mocap", help="mocap cache folder")
    ap.add_argument("--split", default="test")
    ap.add_argument("--num-windows", type=int, default=1200)
    ap.add_argument("--window", type=int, default=27)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--weights-dir", default=None, help="default: the registry's weights folder")
    ap.add_argument("--pretrain-ckpt", default="runs/mpm-pretrain/checkpoints/last.ckpt",
                    help="also score the pre-trained MPM itself (single frame), if present")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    ap.add_argument("--placement", default="solve", choices=PLACEMENTS,
                    help="score the lifted poses (solve) or the poses fitted to the 2D rays")
    ap.add_argument("--json", type=Path, default=None, help="also write all scores as JSON")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    data = mocap_eval_set(args.cache, args.split, args.window, args.num_windows, seed=args.seed)
    print(f"evaluation set: {data.size} windows of {data.window} frames from split "
          f"{args.split!r} of {args.cache}, {len(set(data.groups))} actions, seed {args.seed}")
    reports: dict[str, EvalReport] = {}
    training_rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if not available(name, args.weights_dir):
            print(f"skipped {name}: no weights")
            continue
        model, card = load_model(name, args.weights_dir)
        model.input_frame = card.input_frame  # perspective-aware lifters need the intrinsics
        t = time.perf_counter()
        reports[name] = evaluate_model(model, data, name=name, window=card.window,
                                       seed=args.seed, placement=args.placement)
        train = card.training
        size_mb = weights_path(name, args.weights_dir).stat().st_size / 1e6
        val = train.get("final_val_metrics", {}).get("val/mpjpe")
        training_rows.append(
            f"| {name} | {card.num_parameters / 1e6:.2f} M | {size_mb:.1f} MB | "
            f"{', '.join(train.get('data_sources', card.training_data))} | "
            f"{train.get('steps', '?')} | {float(train.get('wall_time_s', 0)) / 60:.1f} min | "
            f"{'?' if val is None else f'{val:.1f}'} |")
        print(f"evaluated {name} (window {card.window}, {train.get('steps', '?')} steps, "
              f"{float(train.get('wall_time_s', 0)) / 60:.1f} min training) in "
              f"{time.perf_counter() - t:.0f} s")
    if args.pretrain_ckpt and Path(args.pretrain_ckpt).is_file():
        model, _, _ = load_lifter(args.pretrain_ckpt)
        reports["mpm-pretrain (no fine-tuning)"] = evaluate_model(
            model, data, name="mpm-pretrain (no fine-tuning)", window=1, seed=args.seed)
    if not reports:
        raise SystemExit("no model with weights to evaluate")
    for average, title in (("action_mean", "mean over actions"),
                           ("frame_mean", "mean over frames")):
        print(f"\n### MPJPE / P-MPJPE (mm), {title}; 3D completion: mm on the missing limb\n")
        print(format_comparison(list(reports.values()), average))
    print("\n### Training (2-core CPU, one thread per run, two runs at a time)\n")
    print("| model | parameters | file | data | steps | wall time | val MPJPE (mm) |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(training_rows))
    for average, title in (("action_mean", "mean over actions"),
                           ("frame_mean", "mean over frames")):
        print(f"\n### Targets ({title})\n")
        print("\n".join(_targets(reports, average)))
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    if args.json:
        write_json_atomic(args.json, {
            "split": args.split, "cache": args.cache, "windows": data.size,
            "window": data.window, "seed": args.seed,
            "reports": {k: r.to_dict() for k, r in reports.items()},
        }, indent=2, default=str)


if __name__ == "__main__":
    main()
