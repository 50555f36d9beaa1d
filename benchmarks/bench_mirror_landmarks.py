"""BlazePose's landmark pass on the crop and on its mirror image, averaged (a 2D flip test).

Heatmap pose networks are usually tested on the image and its mirror, and the two answers
averaged. This measures that for BlazePose's landmark network, which monopose runs once per
crop: each crop the detector looks at is also run mirrored; the mirrored answer is mapped back
(``monopose.detect.mirror.decode_mirrored``) and averaged with the first, as
``BlazePoseDetector(mirror_test=True)`` does. On rendered people (exact labels): the 2D error
of the h36m17 keypoints (learned map) as a percentage of the person's size, per joint group,
and the 3D of the default lifter lifted from each 2D, sized and placed as ``monopose predict``
places people (world landmarks, ray fit). On the realgt photos: the 2D error in pixels of the
kept crop.

    .venv/bin/python benchmarks/bench_mirror_landmarks.py --sets cache/capf2/renders/val \
        cache/renders_floorsits --limit 600
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
from monopose.detect.keypoint_map import resolve_keypoint_map
from monopose.detect.landmarks import CROP_SIZE, LandmarkOutput, LandmarkResult
from monopose.detect.litert_model import LiteRTModel
from monopose.detect.mirror import average_landmarks, landmark_answers
from monopose.detect.roi import crop_image
from monopose.detect.types import RotatedRect
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detector_errors import GROUPS  # noqa: E402
from bench_lift_variants import placed_scores, world_sized  # noqa: E402
from bench_realgt import SHARED, load_truths  # noqa: E402
from bench_world_landmarks import features  # noqa: E402
from fit_keypoint_map import person_size, usable  # noqa: E402

KINDS = ("as shipped", "mirrored crop", "average of both")


class RecordingDetector(BlazePoseDetector):
    """The product's detector; every landmark pass also runs on the mirrored crop, and both
    answers are kept in :attr:`passes` (the person's keypoints come from the first, as
    shipped)."""

    passes: list[tuple[LandmarkOutput, LandmarkOutput]]

    def _landmarks_with(self, model: LiteRTModel, image: np.ndarray, roi: RotatedRect,
                        with_features: bool) -> LandmarkResult:
        crop = crop_image(image, roi, (CROP_SIZE, CROP_SIZE), border="replicate")
        (presence, own), (_, mirrored) = landmark_answers(model, crop, roi, mirror=True)
        self.passes.append((own, mirrored))
        return LandmarkResult(presence, own, {})


def combine(a: LandmarkOutput, b: LandmarkOutput, kind: str) -> LandmarkOutput:
    """``a`` (``"as shipped"``), ``b`` (``"mirrored crop"``) or their mean."""
    if kind == KINDS[0]:
        return a
    if kind == KINDS[1]:
        return b
    return average_landmarks(a, b)


def kept_pass(det: RecordingDetector, people: list, gt_px: np.ndarray
              ) -> tuple[LandmarkOutput, LandmarkOutput] | None:
    """The two passes behind the detected person nearest the true 2D (hips and shoulders)."""
    kmap = resolve_keypoint_map("learned")
    best, best_err = None, np.inf
    for first, mirrored in det.passes:
        for p in people:
            if np.allclose(first.keypoints_px, p.keypoints_px, atol=1e-6):
                err = float(np.linalg.norm(kmap.apply(p.keypoints_px) - gt_px, axis=1).mean())
                if err < best_err:
                    best, best_err = (first, mirrored), err
    return best


def render_set(det: RecordingDetector, folder: Path, limit: int) -> dict[str, dict]:
    """Per kind, the arrays :func:`bench_world_landmarks.features` reads, for the first
    ``limit`` images of ``folder``."""
    keys = ("kp33", "world33_m", "visibility33", "presence33", "gt", "inside", "visible",
            "found", "pose3d_cam_mm", "intrinsics")
    out: dict[str, dict[str, list]] = {k: {n: [] for n in keys} for k in KINDS}
    n = 0
    for shard_path in sorted(folder.glob("shard-*.npz")):
        shard = read_shard(shard_path)
        for i in range(len(shard)):
            if n >= limit:
                break
            det.passes = []
            gt = shard.batch.keypoints_2d_gt_px[i, 0].astype(np.float64)
            pair = kept_pass(det, det.detect(shard.image(i)), gt)
            for kind in KINDS:
                z = out[kind]
                z["gt"].append(gt)
                z["inside"].append(shard.batch.valid_2d[i, 0].astype(bool))
                z["visible"].append(shard.visible[i].reshape(-1)[:17].astype(bool))
                z["pose3d_cam_mm"].append(shard.batch.pose_3d_cam_mm[i, 0])
                z["intrinsics"].append(shard.batch.intrinsics[i])
                z["found"].append(pair is not None)
                lm = None if pair is None else combine(pair[0], pair[1], kind)
                z["kp33"].append(np.full((33, 2), np.nan) if lm is None else lm.keypoints_px)
                z["world33_m"].append(np.full((33, 3), np.nan) if lm is None else lm.world_m)
                z["visibility33"].append(np.zeros(33) if lm is None else lm.visibility)
                z["presence33"].append(np.zeros(33) if lm is None else lm.presence)
            n += 1
    return {k: {n_: np.asarray(v) for n_, v in z.items()} for k, z in out.items()}


def table_2d(sets: dict[str, dict[str, dict]]) -> str:
    """Mean 2D error (% of the person's size) per joint group, seen / hidden joints."""
    kmap = resolve_keypoint_map("learned")
    lines = ["| set | landmarks | all | seen | hidden | " + " | ".join(GROUPS) + " |",
             "|---|---|---|---|---|" + "---|" * len(GROUPS)]
    for name, kinds in sets.items():
        ok = np.all([usable(z)[0] for z in kinds.values()], axis=0)
        for kind, z in kinds.items():
            err = (np.linalg.norm(kmap.apply(z["kp33"][ok]) - z["gt"][ok], axis=-1)
                   / person_size(z["gt"][ok])[:, None] * 100)
            inside, seen = z["inside"][ok], z["visible"][ok]
            cells = [err[inside].mean(), err[inside & seen].mean(), err[inside & ~seen].mean()]
            for joints in GROUPS.values():
                idx = [H36M17.index(j) for j in joints]
                cells.append(err[:, idx][inside[:, idx]].mean())
            lines.append(f"| {name} ({ok.sum()} people) | {kind} | "
                         + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def table_3d(sets: dict[str, dict[str, dict]], lifter: Lifter) -> str:
    """The default lifter from each 2D: MPJPE / P-MPJPE / median root (mm), ray fit."""
    lines = ["| set | landmarks | MPJPE / P-MPJPE / root |", "|---|---|---|"]
    for name, kinds in sets.items():
        ok = np.all([usable(z)[0] for z in kinds.values()], axis=0)
        for kind, z in kinds.items():
            f = features(z, lifter, ok)
            f["sized"] = world_sized(f, f["base"])
            lines.append(f"| {name} | {kind} | {placed_scores(f, 'ray_fit', None)[0]} |")
    return "\n".join(lines)


def table_photos(det: RecordingDetector) -> str:
    """Mean 2D error (px) and the left knee's on each realgt photo."""
    root = SHARED / "realgt"
    if not (root / "labels.json").is_file():
        return "(no ../shared/realgt)"
    kmap = resolve_keypoint_map("learned")
    knee = H36M17.index("l_knee")
    lines = ["| photo | " + " | ".join(KINDS) + " |", "|---|" + "---|" * len(KINDS)]
    for truth in load_truths(root):
        det.passes = []
        pair = kept_pass(det, det.detect(truth.path), truth.kp2d_px)
        if pair is None:
            lines.append(f"| {truth.path.stem} | " + " | ".join("nobody" for _ in KINDS) + " |")
            continue
        cells = []
        for kind in KINDS:
            err = np.linalg.norm(kmap.apply(combine(*pair, kind).keypoints_px) - truth.kp2d_px,
                                 axis=1)
            cells.append(f"{err.mean():.1f} (left knee {err[knee]:.0f})")
        lines.append(f"| {truth.path.stem} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sample_photo_ms(detectors: dict[str, BlazePoseDetector], repeats: int) -> dict[str, float]:
    """ms per photo of each detector on the package's sample photo, after a warm-up, alternated
    so that all see the same machine load."""
    photo = Path(__file__).resolve().parents[1] / "monopose" / "assets" / "sample_person.jpg"
    spent = dict.fromkeys(detectors, 0.0)
    for det in detectors.values():
        det.detect(photo)  # warm-up
    for _ in range(repeats):
        for name, det in detectors.items():
            t0 = time.perf_counter()
            det.detect(photo)
            spent[name] += time.perf_counter() - t0
    return {name: 1000 * s / repeats for name, s in spent.items()}


def timing_line(repeats: int = 20) -> str:
    """ms per photo of the detector (whole-image pass, no tiles: ``monopose predict``'s first
    look), one thread, plain and with the flip test."""
    ms = sample_photo_ms({mirror: BlazePoseDetector(num_threads=1, tiles="off",
                                                    mirror_test=mirror)
                          for mirror in (False, True)}, repeats)
    plain, flipped = ms[False], ms[True]
    return (f"Sample photo, one thread, {repeats} runs each: {plain:.1f} ms as shipped, "
            f"{flipped:.1f} ms with mirror_test ({flipped / plain:.2f}×).")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", type=Path, required=True, help="Render set folders.")
    ap.add_argument("--limit", type=int, default=600, help="Images per set.")
    args = ap.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_mirror_landmarks: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC\n")
    det = RecordingDetector(num_threads=1, tiles="off")
    t0 = time.perf_counter()
    sets = {folder.name: render_set(det, folder, args.limit) for folder in args.sets}
    print(f"{time.perf_counter() - t0:.0f} s for both passes over "
          f"{sum(len(s[KINDS[0]]['found']) for s in sets.values())} images\n")
    print("## 2D error, % of the person's size (mean)\n")
    print(table_2d(sets) + "\n")
    print("## The default lifter's 3D from each 2D (mm)\n")
    print(table_3d(sets, Lifter("mpm-lift-t1", body_size="lifter")) + "\n")
    print("## Real photos: 2D error (px) of the kept crop\n")
    print(table_photos(det) + "\n")
    print(timing_line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
