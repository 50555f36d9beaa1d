"""BlazePose GHUM Heavy against the full landmark network, for the final look at each person.

``BlazePoseDetector(landmark_model="heavy")`` keeps the full network for finding and orienting
people and runs the heavy one on each kept person's crop (``monopose.detect.heavy``). This
compares the detectors side by side on the same images:

* rendered people (exact labels): the h36m17 2D error (learned map) as a percentage of the
  person's size, per joint group; the default lifter's 3D from each 2D, sized by the world
  landmarks and placed by the ray fit, as ``monopose predict`` does; the world landmarks' size
  against the truth. The product sizes people by the mean of the two networks' world
  landmarks; two more rows size them by the full network's alone (the shipped size scale was
  fitted on them) or by the heavy network's alone;
* the realgt photos: 2D error (px);
* time per photo, one thread.

    .venv/bin/python benchmarks/bench_heavy_landmarks.py --sets cache/capf2/renders/val \
        cache/renders_postures cache/renders_floorsits --limit 600
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.synthetic.generate import read_shard
from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.heavy import find_heavy_model, heavy_landmarks
from monopose.detect.keypoint_map import resolve_keypoint_map
from monopose.detect.litert_model import LiteRTModel
from monopose.detect.types import PersonDetection
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_mirror_landmarks import sample_photo_ms, table_2d, table_3d  # noqa: E402
from bench_realgt import SHARED, load_truths  # noqa: E402
from fit_keypoint_map import usable  # noqa: E402

# name -> BlazePoseDetector options
FULL = "full"
HEAVY = "heavy (world landmarks: mean of both networks'; the product)"
VARIANTS: dict[str, dict] = {
    FULL: {"landmark_model": "full"},
    HEAVY: {"landmark_model": "heavy"},
    "heavy, flip test": {"landmark_model": "heavy", "mirror_test": True},
    "heavy, 3 crops (--tta 3)": {"landmark_model": "heavy", "landmark_crops": 3},
    "heavy, 5 crops (--tta 5)": {"landmark_model": "heavy", "landmark_crops": 5},
    "heavy, 8 crops (--tta 8)": {"landmark_model": "heavy", "landmark_crops": 8},
}
KEYS = ("kp33", "world33_m", "visibility33", "presence33", "gt", "inside", "visible", "found",
        "pose3d_cam_mm", "intrinsics", "heavy_world33_m")


def nearest(people: list[PersonDetection], gt_px: np.ndarray) -> PersonDetection | None:
    """The detected person whose h36m17 keypoints (learned map) lie nearest the truth."""
    kmap = resolve_keypoint_map("learned")
    if not people:
        return None
    return min(people, key=lambda p: float(
        np.linalg.norm(kmap.apply(p.keypoints_px) - gt_px, axis=1).mean()))


def render_set(detectors: dict[str, BlazePoseDetector], folder: Path, limit: int
               ) -> tuple[dict[str, dict], dict[str, float]]:
    """Per variant, the arrays :func:`bench_world_landmarks.features` reads for the first
    ``limit`` images of ``folder``, and the seconds each variant spent."""
    out: dict[str, dict[str, list]] = {k: {n: [] for n in KEYS} for k in detectors}
    spent = dict.fromkeys(detectors, 0.0)
    heavy = LiteRTModel(find_heavy_model(), 1, preserve_all=False)
    n = 0
    for shard_path in sorted(folder.glob("shard-*.npz")):
        shard = read_shard(shard_path)
        for i in range(len(shard)):
            if n >= limit:
                break
            gt = shard.batch.keypoints_2d_gt_px[i, 0].astype(np.float64)
            image = shard.image(i)
            for name, det in detectors.items():
                t0 = time.perf_counter()
                person = nearest(det.detect(image), gt)
                spent[name] += time.perf_counter() - t0
                z = out[name]
                z["gt"].append(gt)
                z["inside"].append(shard.batch.valid_2d[i, 0].astype(bool))
                z["visible"].append(shard.visible[i].reshape(-1)[:17].astype(bool))
                z["pose3d_cam_mm"].append(shard.batch.pose_3d_cam_mm[i, 0])
                z["intrinsics"].append(shard.batch.intrinsics[i])
                z["found"].append(person is not None)
                z["kp33"].append(np.full((33, 2), np.nan) if person is None
                                 else person.keypoints_px)
                z["world33_m"].append(np.full((33, 3), np.nan) if person is None
                                      else person.world_landmarks_m)
                z["heavy_world33_m"].append(
                    np.full((33, 3), np.nan) if person is None or det.landmark_model != "heavy"
                    else heavy_landmarks(heavy, image, person.roi, det.mirror_test).world_m)
                z["visibility33"].append(np.zeros(33) if person is None else person.visibility)
                z["presence33"].append(np.zeros(33) if person is None else person.presence)
            n += 1
    return {k: {n_: np.asarray(v) for n_, v in z.items()} for k, z in out.items()}, spent


def cached_render_set(detectors: dict[str, BlazePoseDetector], folder: Path, limit: int,
                      work: Path) -> tuple[dict[str, dict], dict[str, float]]:
    """:func:`render_set`, kept in ``work`` (one ``.npz`` per set and limit) for reruns."""
    cache = work / f"heavy-{folder.name}-{limit}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            flat = {k: z[k] for k in z.files}
        stored = sorted({k.split("|")[0] for k in flat if "|" in k})  # saved in this order
        kinds = [k for k in detectors if k in stored]
        seconds = {k: s for k, s in zip(stored, flat["seconds"], strict=True) if k in kinds}
        return ({kind: {k.split("|")[1]: v for k, v in flat.items() if k.startswith(kind + "|")}
                 for kind in kinds}, seconds)
    sets, spent = render_set(detectors, folder, limit)
    work.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, seconds=np.array([spent[k] for k in sorted(spent)]),
                        **{f"{kind}|{k}": v for kind, z in sets.items() for k, v in z.items()})
    return sets, spent


def with_world_landmarks(heavy_z: dict, world_m: np.ndarray) -> dict:
    """The heavy variant's arrays with other world landmarks ``[N, 33, 3]``."""
    return {**heavy_z, "world33_m": world_m}


def size_table(sets: dict[str, dict[str, dict]]) -> str:
    """Median ratio of the world landmarks' bone sum (h36m17, learned map) to the truth's."""
    from monopose.core.ray_fit import bone_lengths

    kmap = resolve_keypoint_map("learned")
    lines = ["| set | landmarks | world landmarks' size / true size (median, IQR) |",
             "|---|---|---|"]
    for name, kinds in sets.items():
        ok = np.all([usable(z)[0] for z in kinds.values()], axis=0)
        for kind, z in kinds.items():
            wl = kmap.apply(z["world33_m"][ok] * 1000.0)
            gt = z["pose3d_cam_mm"][ok]
            ratio = (bone_lengths(wl, H36M17.bones).sum(1)
                     / bone_lengths(gt, H36M17.bones).sum(1))
            q1, q2, q3 = np.percentile(ratio, [25, 50, 75])
            lines.append(f"| {name} | {kind} | {q2:.3f} ({q1:.3f}–{q3:.3f}) |")
    return "\n".join(lines)


def table_photos(detectors: dict[str, BlazePoseDetector]) -> str:
    """Mean 2D error (px) of the person nearest the truth on each realgt photo."""
    root = SHARED / "realgt"
    if not (root / "labels.json").is_file():
        return "(no ../shared/realgt)"
    kmap = resolve_keypoint_map("learned")
    lines = ["| photo | " + " | ".join(detectors) + " |", "|---|" + "---|" * len(detectors)]
    for truth in load_truths(root):
        cells = []
        for det in detectors.values():
            person = nearest(det.detect(truth.path), truth.kp2d_px)
            if person is None:
                cells.append("nobody")
                continue
            err = np.linalg.norm(kmap.apply(person.keypoints_px) - truth.kp2d_px, axis=1)
            cells.append(f"{err.mean():.1f}")
        lines.append(f"| {truth.path.stem} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_line(repeats: int = 10) -> str:
    """ms per photo on the package's sample photo, each variant on one thread."""
    ms = sample_photo_ms({k: BlazePoseDetector(num_threads=1, tiles="off", **v)
                          for k, v in VARIANTS.items()}, repeats)
    base = ms[FULL]
    return f"Sample photo, one thread, {repeats} runs each: " + ", ".join(
        f"{name} {t:.1f} ms ({t / base:.2f}×)" for name, t in ms.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", type=Path, required=True, help="Render set folders.")
    ap.add_argument("--limit", type=int, default=600, help="Images per set.")
    ap.add_argument("--work", type=Path, default=Path("runs/heavy"),
                    help="Where the detections are kept for reruns.")
    ap.add_argument("--models", nargs="*", default=[],
                    help="Also lift both networks' 2D with these registered lifters.")
    ap.add_argument("--weights-dirs", nargs="*", type=Path, default=[],
                    help="Also lift both networks' 2D with mpm-lift-t1 weights from these "
                    "folders (e.g. runs/<run>/export).")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_heavy_landmarks: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC\n")
    detectors = {k: BlazePoseDetector(num_threads=1, tiles="off", **v)
                 for k, v in VARIANTS.items()}
    sets, spent = {}, dict.fromkeys(detectors, 0.0)
    for folder in args.sets:
        kinds, seconds = cached_render_set(detectors, folder, args.limit, args.work)
        # The full variant's world landmarks are the full network's at the same crop: both
        # variants find and keep people with the full network alone.
        big, full_world = kinds[HEAVY], kinds[FULL]["world33_m"]
        kinds["heavy, the full network's world landmarks"] = with_world_landmarks(big, full_world)
        kinds["heavy, its own world landmarks"] = with_world_landmarks(big,
                                                                       big["heavy_world33_m"])
        sets[folder.name] = kinds
        for k, s in seconds.items():
            spent[k] += s
    print("Seconds over the renders: " + ", ".join(f"{k} {s:.0f}" for k, s in spent.items())
          + "\n")
    print("## 2D error, % of the person's size (mean)\n")
    print(table_2d(sets) + "\n")
    print("## The default lifter's 3D from each 2D (mm; world-landmark size, ray fit)\n")
    print(table_3d(sets, Lifter("mpm-lift-t1", body_size="lifter")) + "\n")
    others = [(name, Lifter(name, body_size="lifter")) for name in args.models] + [
        (f"mpm-lift-t1 ({d})", Lifter("mpm-lift-t1", d, body_size="lifter"))
        for d in args.weights_dirs]
    pair = {name: {k: kinds[k] for k in (FULL, HEAVY)} for name, kinds in sets.items()}
    for name, lifter in others:
        print(f"## {name}'s 3D from each 2D (mm; world-landmark size, ray fit)\n")
        print(table_3d(pair, lifter) + "\n")
    print("## The world landmarks' size\n")
    print(size_table(sets) + "\n")
    print("## Real photos: 2D error (px)\n")
    print(table_photos(detectors) + "\n")
    print(timing_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
