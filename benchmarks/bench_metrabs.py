"""MeTRAbs claims on held-out rendered people (one run, same data for every variant).

    .venv/bin/python benchmarks/bench_metrabs.py truncation   # MeTRo vs 2.5D head vs cut-off
    .venv/bin/python benchmarks/bench_metrabs.py absolute     # MRPE / abs MPJPE, TTA 1 vs N, ms
    .venv/bin/python benchmarks/bench_metrabs.py multi        # multi-person renders, MuPoTS-style
    .venv/bin/python benchmarks/bench_metrabs.py figure       # docs/metrabs_real_photos.png
    .venv/bin/python benchmarks/bench_metrabs.py weights --previous OLD.safetensors
                                                 [--crops cache/metrabs/val_trunc]
    .venv/bin/python benchmarks/bench_metrabs.py all

Data (built by scripts/train_capf.sh, scripts/train_metrabs.sh and
``monopose data render-multi --n 200 --out cache/metrabs/multi_val``): the truncation crops of
the 1,500 val renders (``cache/metrabs/val_trunc``), the val renders themselves
(``cache/capf/renders/val``), and 200 multi-person val renders (``cache/metrabs/multi_val``).
All poses are from the mocap cache's held-out (val) motions. Results go to stdout and to
``cache/metrabs/bench_<what>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "cache" / "metrabs"


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def _save(name: str, data: dict, tag: str = "") -> None:
    data = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": _machine(),
            **data}
    (OUT / f"bench_{name}{tag}.json").write_text(json.dumps(data, indent=1))
    print(json.dumps(data, indent=1))


def truncation(args: argparse.Namespace) -> None:
    from monopose.eval.metrabs import truncation_split, truncation_table, variant_joint_errors
    from monopose.metrabs.cache import load_crop_cache
    from monopose.models.weights_io import load_weights
    from monopose.zoo import load_model

    torch.set_num_threads(args.threads)
    data = load_crop_cache(OUT / "val_trunc")
    metro = (load_weights(REPO / args.metro)[0] if args.metro
             else load_model("metrabs-blazepose")[0])
    baseline, _ = load_weights(REPO / args.baseline)
    errors = variant_joint_errors({"MeTRo": metro, "2.5D": baseline}, data)
    table = truncation_table({}, data, errors)
    split = truncation_split(data, errors)
    growth = {name: {"+20%": row[0.2] - row[0.0], "+40%": row[0.4] - row[0.0]}
              for name, row in table.items()}
    _save("truncation", {"crops": len(data), "mpjpe_rel_mm": {k: {str(c): round(v, 1)
                         for c, v in row.items()} for k, row in table.items()},
                         "growth_mm": {k: {c: round(v, 1) for c, v in g.items()}
                                       for k, g in growth.items()},
                         "inside_outside_crop_mm": {k: {str(c): [round(v, 1) for v in io]
                                                        for c, io in row.items()}
                                                    for k, row in split.items()}}, args.tag)


def absolute(args: argparse.Namespace) -> None:
    from dataclasses import asdict

    from monopose.eval.metrabs import absolute_scores
    from monopose.metrabs.inference import MetrabsEstimator

    torch.set_num_threads(1)
    rows = []
    for n in args.aug:
        est = MetrabsEstimator("metrabs-blazepose", num_aug=n, min_presence=0.0)
        rows.append(asdict(absolute_scores(est, [str(REPO / "cache/capf/renders/val")],
                                           limit=args.limit)))
    _save("absolute", {"renders": args.limit, "rows": rows}, args.tag)


def multi(args: argparse.Namespace) -> None:
    from monopose.data.synthetic.multi import multi_shard_paths, read_multi_shard
    from monopose.eval.multiperson import MultiPersonFrame, score_multiperson
    from monopose.pipeline.estimator import Estimator

    torch.set_num_threads(1)
    results = {}
    for model in args.models:
        est = Estimator(model=model, num_aug=args.multi_aug)
        frames, seconds, n_img, failed = [], 0.0, 0, 0
        for path in multi_shard_paths(OUT / "multi_val"):
            shard = read_multi_shard(path)
            for i in range(len(shard)):
                people = shard.people(i)
                t0 = time.perf_counter()
                pred = est.predict(shard.image(i), intrinsics=tuple(shard.intrinsics(i)))
                seconds += time.perf_counter() - t0
                n_img += 1
                # a person whose root could not be placed has no absolute pose: scored as a miss
                found = [p for p in pred.frames[0].people if np.isfinite(p.pose_3d_abs_mm).all()]
                failed += len(pred.frames[0].people) - len(found)
                kp = np.array([p.keypoints_2d_px for p in found]).reshape(-1, 17, 2)
                pose = np.array([p.pose_3d_abs_mm for p in found]).reshape(-1, 17, 3)
                frames.append(MultiPersonFrame(
                    kp, pose, np.stack([p.kp2d_px for p in people]),
                    np.stack([p.pose3d_cam_mm for p in people]),
                    np.stack([p.inside for p in people]), group=f"{path.name}"))
        scores = score_multiperson(frames)
        results[model] = {**{k: round(v, 2) for k, v in scores.summary().items()},
                          "ms_per_image": round(1000 * seconds / n_img, 1), "images": n_img,
                          "people_without_absolute_pose": failed}
    _save("multi", {"tta": args.multi_aug, "results": results}, args.tag)


def figure(args: argparse.Namespace) -> None:
    """docs/metrabs_real_photos.png: the ../shared/media photos with MeTRAbs' 2D (hollow: joints
    it places outside the picture), and side (z-y) and top (x-z) views of every person's
    absolute pose by MeTRAbs and by the default lifter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monopose.core.skeleton import get_layout
    from monopose.io.images import load_image
    from monopose.pipeline.estimator import Estimator

    torch.set_num_threads(1)
    shared = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))
    photos = sorted(p for p in (shared / "media").glob("*.jpg")
                    if p.name.startswith(("person", "three_people")))
    models = {"metrabs-blazepose": "tab:red", "mpm-lift-t1": "tab:blue"}
    ests = {m: Estimator(model=m, num_aug=args.multi_aug) for m in models}
    bones = get_layout("h36m17").bones
    fig, axs = plt.subplots(len(photos), 3, figsize=(11, 3.3 * len(photos)))
    for row, photo in zip(np.atleast_2d(axs), photos, strict=True):
        rgb = load_image(str(photo))
        row[0].imshow(rgb)
        row[0].set_title(photo.name, fontsize=8)
        for model, color in models.items():
            people = ests[model].predict(rgb).frames[0].people
            for p in people:
                a3 = p.pose_3d_abs_mm / 1000.0
                for a, b in bones:
                    row[1].plot(a3[[a, b], 2], -a3[[a, b], 1], color=color, lw=1)
                    row[2].plot(a3[[a, b], 0], a3[[a, b], 2], color=color, lw=1)
                if model == "metrabs-blazepose":
                    kp = p.keypoints_2d_px
                    for a, b in bones:
                        row[0].plot(kp[[a, b], 0], kp[[a, b], 1], color="yellow", lw=1.2)
                    row[0].scatter(kp[p.keypoints_valid, 0], kp[p.keypoints_valid, 1], s=6,
                                   color="yellow")
                    row[0].scatter(kp[~p.keypoints_valid, 0], kp[~p.keypoints_valid, 1], s=14,
                                   facecolors="none", edgecolors="cyan")
        row[0].set_xlim(-0.3 * rgb.shape[1], 1.3 * rgb.shape[1])
        row[0].set_ylim(1.3 * rgb.shape[0], -0.3 * rgb.shape[0])
        row[1].set_title("side: depth z (m) vs height", fontsize=8)
        row[2].set_title("top: x (m) vs depth z (m)", fontsize=8)
        for ax in row[1:]:
            ax.set_aspect("equal", adjustable="datalim")
            ax.grid(alpha=0.3)
    fig.legend(handles=[plt.Line2D([], [], color=c, label=m) for m, c in models.items()],
               loc="upper center", ncol=2)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    out = REPO / "docs" / "metrabs_real_photos.png"
    fig.savefig(out, dpi=70)
    print(f"wrote {out}")


def weights(args: argparse.Namespace) -> None:
    """The registered (or ``--metro``) weights against ``--previous`` weights of the same head on
    the truncation crops of ``--crops``: root-relative MPJPE per share of the body cut off."""
    from monopose.eval.metrabs import truncation_table, variant_joint_errors
    from monopose.metrabs.cache import load_crop_cache
    from monopose.models.weights_io import load_weights
    from monopose.zoo import load_model

    if not args.previous:
        raise SystemExit("weights: give --previous WEIGHTS.safetensors to compare with")
    torch.set_num_threads(args.threads)
    data = load_crop_cache(Path(args.crops))
    metro = (load_weights(REPO / args.metro)[0] if args.metro
             else load_model("metrabs-blazepose")[0])
    errors = variant_joint_errors({"current": metro,
                                   "previous": load_weights(Path(args.previous))[0]}, data)
    table = truncation_table({}, data, errors)
    print(f"{len(data)} crops of {args.crops}")
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in row.values()) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["truncation", "absolute", "multi", "figure", "weights",
                                     "all"])
    ap.add_argument("--previous", default=None, help="weights: the weights to compare with")
    ap.add_argument("--crops", default=str(OUT / "val_trunc"),
                    help="weights: the truncation crop cache")
    ap.add_argument("--baseline", default="runs/metrabs-blazepose-25d/weights/"
                    "metrabs-blazepose-25d.safetensors")
    ap.add_argument("--metro", default=None, help="weights of the MeTRo model (default: the "
                    "registered metrabs-blazepose)")
    ap.add_argument("--tag", default="", help="suffix of the JSON file name")
    ap.add_argument("--aug", type=int, nargs="*", default=[1, 5])
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--models", nargs="*", default=["metrabs-blazepose", "mpm-lift-t1"])
    ap.add_argument("--multi-aug", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    for what in (["truncation", "absolute", "multi"] if args.what == "all" else [args.what]):
        globals()[what](args)


if __name__ == "__main__":
    main()
