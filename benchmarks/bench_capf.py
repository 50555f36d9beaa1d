"""Context-Aware PoseFormer vs the context-free PoseFormer trained identically (BENCHMARKS.md).

    .venv/bin/python benchmarks/bench_capf.py [--cache cache/capf/features/val] [--json out.json]
                                              [--figure docs/capf_real_photos.png]

1. Held-out renders (the mocap cache's val split, never used for training or model selection):
   both models lift the same detector keypoints and validity (flip-averaged); MPJPE and P-MPJPE
   in mm, and the target "context cuts MPJPE by >= 15 %". The mocap-trained ``poseformer-t1``
   on the same inputs is a reference row.
2. Real photos with 3D ground truth (``../shared/realgt``): the person nearest the labelled 2D
   pose, MPJPE / P-MPJPE (root-relative, h36m17) per photo.
3. Real photos of ``../shared/media`` (names starting with ``person``/``three_people``): a figure
   with the photo, the detected 2D pose and side + front views of both models' 3D poses.
4. Cost per person on top of the detector: extra detector time for the feature maps,
   patch extraction, the model (with flip test), parameter counts. One torch thread.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monopose.capf.dataset import load_feature_cache
from monopose.capf.features import FLIP_PERMUTATION as FLIP
from monopose.capf.features import context_inputs
from monopose.capf.inference import lift_with_context
from monopose.capf.training import predict_cache
from monopose.core.skeleton import convert_layout, get_layout
from monopose.eval.metrics import mpjpe, p_mpjpe
from monopose.zoo import available, count_parameters, load_model

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))
CAPF, CTXFREE, REF = "capf-blazepose-t1", "poseformer-ctxfree-synth", "poseformer-t1"


def held_out(models: dict[str, torch.nn.Module], cache: Path,
             frames: dict[str, str]) -> dict[str, dict[str, float]]:
    """Each model lifts the cache in its card's input frame (predictions in the camera)."""
    data = load_feature_cache(cache)
    gt = data.pose3d_cam_mm.astype(np.float64)
    gt = gt - gt[:, :1]
    out = {}
    for name, model in models.items():
        data.input_frame = frames[name]
        pred = predict_cache(model, data, flip=True)
        out[name] = {"mpjpe": mpjpe(pred, gt), "p_mpjpe": p_mpjpe(pred, gt), "n": len(data),
                     "no_person": data.num_missing}
    return out


def real_gt(detector: Any, models: dict[str, torch.nn.Module],
            frames: dict[str, str]) -> list[dict[str, Any]]:
    import json

    root = SHARED / "realgt"
    if not (root / "labels.json").is_file():
        print(f"(skipping real photos with 3D GT: {root} not found; set MONOPOSE_SHARED)")
        return []
    rows = []
    for item in json.loads((root / "labels.json").read_text())["items"]:
        gt, _, _ = convert_layout(np.asarray(item["pose3d_camera_mm"], float), "mpi3dhp17",
                                  "h36m17")
        gt2d, _, _ = convert_layout(np.asarray(item["keypoints2d_px"], float), "mpi3dhp17",
                                    "h36m17")
        people = detector.detect(str(root / item["image"]), with_features=True)
        if not people:
            rows.append({"photo": item["image"], "model": "-", "found": False})
            continue
        best = min(people, key=lambda p: float(np.linalg.norm(p.keypoints_h36m_px - gt2d,
                                                               axis=1).mean()))
        rel = gt - gt[0]
        cam = item["camera"]
        intr = np.array([cam["fx"], cam["fy"], cam["cx"], cam["cy"]], float)
        for name, model in models.items():
            pred = lift_with_context([best], model, intrinsics=intr,
                                     input_frame=frames[name])[0]
            rows.append({"photo": item["image"], "model": name, "found": True,
                         "mpjpe": mpjpe(pred, rel), "p_mpjpe": p_mpjpe(pred, rel),
                         "kp2d_error_px": float(np.linalg.norm(best.keypoints_h36m_px - gt2d,
                                                               axis=1).mean())})
    return rows


def _draw_3d(ax: Any, pose_mm: np.ndarray, axes: tuple[int, int], color: str, label: str) -> None:
    for a, b in get_layout("h36m17").bones:
        ax.plot(pose_mm[[a, b], axes[0]], -pose_mm[[a, b], axes[1]], color=color, lw=2)
    ax.plot([], [], color=color, label=label)


def figure(detector: Any, models: dict[str, torch.nn.Module], path: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from monopose.io.images import load_image

    media = SHARED / "media"
    photos = sorted(p for p in media.glob("*.jpg")
                    if p.name.startswith(("person", "three_people")))
    if not photos:
        print(f"(skipping the figure: no photos in {media})")
        return []
    colors = {CAPF: "tab:red", CTXFREE: "tab:blue"}
    fig, axs = plt.subplots(len(photos), 3, figsize=(10, 3.2 * len(photos)))
    axs = np.atleast_2d(axs)
    notes = []
    bones = get_layout("h36m17").bones
    for row, photo in zip(axs, photos, strict=True):
        rgb = load_image(str(photo))
        people = detector.detect(rgb, with_features=True)
        row[0].imshow(rgb)
        row[0].set_title(photo.name, fontsize=8)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        if not people:
            notes.append(f"{photo.name}: no person")
            continue
        person = max(people, key=lambda p: float(np.prod(p.box_xyxy_px[2:] - p.box_xyxy_px[:2])))
        kp = person.keypoints_h36m_px
        for a, b in bones:
            row[0].plot(kp[[a, b], 0], kp[[a, b], 1], color="yellow", lw=1.5)
        for name, model in models.items():
            if name not in colors:
                continue
            pose = lift_with_context([person], model)[0]
            _draw_3d(row[1], pose, (2, 1), colors[name], name)
            _draw_3d(row[2], pose, (0, 1), colors[name], name)
        row[1].set_title("side view (depth → right)", fontsize=8)
        row[2].set_title("front view", fontsize=8)
        for ax in row[1:]:
            ax.set_aspect("equal")
            ax.set_xlim(-1000, 1000)
            ax.set_ylim(-1000, 1000)
        notes.append(f"{photo.name}: {len(people)} people, largest shown")
    axs[0, 1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=70)
    os.replace(tmp, path)
    plt.close(fig)
    return notes


def cost(detector: Any, models: dict[str, torch.nn.Module], repeats: int = 20
         ) -> dict[str, float]:
    from monopose.io.images import load_image

    rgb = load_image(str(REPO / "monopose" / "assets" / "sample_person.jpg"))
    for wf in (False, True):
        detector.detect(rgb, with_features=wf)  # warm-up (builds the feature interpreter)

    def timeit(fn: Any) -> float:
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts) * 1e3)

    out = {"detect_ms": timeit(lambda: detector.detect(rgb)),
           "detect_features_ms": timeit(lambda: detector.detect(rgb, with_features=True))}
    people = detector.detect(rgb, with_features=True)
    out["people"] = len(people)
    out["extract_ms"] = timeit(lambda: context_inputs(people[:1]))
    # How good is mirroring the patches instead of re-running the detector on a mirrored image?
    from monopose.capf.features import flip_patches

    mirrored = detector.detect(np.ascontiguousarray(rgb[:, ::-1]), with_features=True)
    if people and mirrored:
        a, b = context_inputs(people[:1]), context_inputs(mirrored[:1])
        rel = [float(np.linalg.norm(flip_patches(x) - y) / np.linalg.norm(y))
               for x, y in zip(a.patches, b.patches, strict=True)]
        unflipped = [float(np.linalg.norm(np.take(x, FLIP, axis=1) - y) / np.linalg.norm(y))
                     for x, y in zip(a.patches, b.patches, strict=True)]
        out["flip_rel_diff"] = rel
        out["swap_only_rel_diff"] = unflipped
    for name, model in models.items():
        out[f"{name}_ms"] = timeit(lambda m=model: lift_with_context(people[:1], m))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="cache/capf/features/val")
    ap.add_argument("--figure", default="docs/capf_real_photos.png")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    torch.set_num_threads(1)
    from monopose.detect.blazepose import BlazePoseDetector

    models: dict[str, torch.nn.Module] = {}
    frames: dict[str, str] = {}
    for name in (CAPF, CTXFREE, REF):
        if available(name):
            models[name], card = load_model(name)
            frames[name] = card.input_frame
    if CAPF not in models:
        raise SystemExit(f"no trained weights for {CAPF}: run scripts/train_capf.sh")
    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {platform.processor() or 'cpu'}, "
          f"torch threads 1")
    detector = BlazePoseDetector(num_threads=2)
    res: dict[str, Any] = {}

    cache = Path(a.cache)
    if cache.is_dir():
        res["held_out"] = held_out(models, cache, frames)
        print("\n| model (held-out renders) | MPJPE (mm) | P-MPJPE (mm) | samples |")
        print("|---|---|---|---|")
        for name, r in res["held_out"].items():
            print(f"| {name} | {r['mpjpe']:.1f} | {r['p_mpjpe']:.1f} | {r['n']} "
                  f"(+{r['no_person']} without a detection) |")
        if CTXFREE in res["held_out"]:
            cut = 1 - res["held_out"][CAPF]["mpjpe"] / res["held_out"][CTXFREE]["mpjpe"]
            res["mpjpe_cut"] = cut
            print(f"\ncontext cuts MPJPE by {cut * 100:.1f} % (target >= 15 %: "
                  f"{'met' if cut >= 0.15 else 'missed'})")

    res["real_gt"] = real_gt(detector, models, frames)
    if res["real_gt"]:
        print("\n| model | photo | MPJPE | P-MPJPE | 2D error (px) |")
        print("|---|---|---|---|---|")
        for r in res["real_gt"]:
            if r["found"]:
                print(f"| {r['model']} | {r['photo']} | {r['mpjpe']:.0f} | {r['p_mpjpe']:.0f} | "
                      f"{r['kp2d_error_px']:.1f} |")
            else:
                print(f"| - | {r['photo']} | no person found | | |")

    if a.figure:
        res["figure"] = figure(detector, models, REPO / a.figure)
        print(f"\nfigure {a.figure}: " + "; ".join(res["figure"]))

    res["cost"] = cost(detector, models)
    c = res["cost"]
    print("\n| per person | ms |\n|---|---|")
    print(f"| detector (no features) | {c['detect_ms']:.1f} |")
    print(f"| detector with feature maps | {c['detect_features_ms']:.1f} "
          f"(+{c['detect_features_ms'] - c['detect_ms']:.1f}) |")
    print(f"| patch extraction | {c['extract_ms']:.2f} |")
    for name in models:
        print(f"| {name} (flip test, incl. extraction for CA-PF) | {c[f'{name}_ms']:.2f} |")
    if "flip_rel_diff" in c:
        print("\nflip approximation, relative difference to the patches of the mirrored image "
              "per level: mirrored patches " + ", ".join(f"{x:.2f}" for x in c["flip_rel_diff"])
              + "; joints swapped but patches not mirrored "
              + ", ".join(f"{x:.2f}" for x in c["swap_only_rel_diff"]))
    print("\n| model | parameters |\n|---|---|")
    for name, model in models.items():
        print(f"| {name} | {count_parameters(model):,} |")
    if a.json:
        from monopose.io.files import write_json_atomic

        write_json_atomic(Path(a.json), res, indent=2, default=str)


if __name__ == "__main__":
    main()
