"""Turned landmark ROIs: people the upright ROI doubts, looked at again turned by 90/180/270°.

For held-out rendered people (``--renders``, exact 2D truth), the real photos with 3D truth and
the media photos of ``../shared``, the detector runs with ``turn_rois`` off and on (photo
settings: landmark presence ≥ 0.3, tiles auto). Reported: people found (renders: the person
nearest the truth within 15 % of its size counts as found), 2D error of the found people
(% of the person's size), people found per photo (a turned ROI can also "find" a person in a
box that holds none) and the time per image.

``--study DIR`` instead scores every turn of every detection in a render set against the truth
and compares triggers by the number of people found within 15 % of their size: "turn when the
upright crop's presence is below T, keep the surest turn if ≥ 0.9", and the shipped rule
(:func:`monopose.detect.recrop.choose_turn`: also look at every turn when the detector's ROI
is more than ``UPSIDE_DOWN_DEG`` from upright) with other angles, and that rule by presence
alone against the shipped one, which gives near ties in presence to the turn whose mirrored
crop repeats its answer best. Render sets for it: held-out
people, and people not standing (``monopose data render --postures low,floor,lying``), where
the detector's crop misleads most often.

``--still-videos`` writes each realgt photo, in each view of ``realgt_views.py``, as a still
10-frame video and tracks it with the default video pipeline: the 2D error per frame shows
whether a person whose first crop is turned wrong is followed on a wrong pose.

Usage:
    python benchmarks/bench_turned_rois.py --renders cache/capf2/renders/val
    python benchmarks/bench_turned_rois.py --study cache/capf2/renders/val
    monopose data render --n 800 --out cache/renders_postures --split train --seed 5 \
        --postures low,floor,lying
    python benchmarks/bench_turned_rois.py --study cache/renders_postures
    python benchmarks/bench_turned_rois.py --still-videos
    python benchmarks/bench_turned_rois.py --turned-passes cache/renders_postures
    python benchmarks/bench_turned_rois.py --turned-photos
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from monopose.core.skeleton import convert_layout
from monopose.data.synthetic.generate import read_shard
from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.recrop import (
    TURNED_MIN_PRESENCE,
    UPSIDE_DOWN_DEG,
    choose_turn,
    mirror_disagreement,
)
from monopose.detect.types import RotatedRect
from monopose.io.images import read_image
from monopose.io.results import CameraInfo
from monopose.pipeline.working_size import shrink, working_scale

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))
PHOTO_PRESENCE = 0.3


def nearest_error(people: list, gt: np.ndarray, ok: np.ndarray) -> float:
    """Mean 2D error (px) of the detected person nearest the truth; inf when nobody."""
    if not people or not ok.any():
        return float("inf")
    return min(float(np.linalg.norm(p.keypoints_h36m_px[ok] - gt[ok], axis=1).mean())
               for p in people)


def rendered_people(folder: Path, limit: int | None
                    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(image, true 2D [17, 2] px, inside the image [17])`` of the first ``limit`` renders."""
    n = 0
    for path in sorted(folder.glob("shard-*.npz")):
        shard = read_shard(path)
        for i in range(len(shard)):
            if limit is not None and n >= limit:
                return
            n += 1
            yield (shard.image(i), shard.batch.keypoints_2d_gt_px[i, 0].astype(np.float64),
                   shard.batch.valid_2d[i, 0].astype(bool))


def renders(folder: Path, detectors: dict[str, BlazePoseDetector], limit: int | None
            ) -> dict[str, dict[str, float]]:
    errs: dict[str, list[float]] = {k: [] for k in detectors}
    secs = dict.fromkeys(detectors, 0.0)
    sizes = []
    n = 0
    for img, gt, ok in rendered_people(folder, limit):
        sizes.append(float(np.linalg.norm(gt[ok].max(0) - gt[ok].min(0))) if ok.any()
                     else np.nan)
        for name, det in detectors.items():
            t = time.perf_counter()
            people = det.detect(img, min_presence=PHOTO_PRESENCE)
            secs[name] += time.perf_counter() - t
            errs[name].append(nearest_error(people, gt, ok))
        n += 1
    size = np.asarray(sizes)
    out = {}
    for name, e in errs.items():
        rel = np.asarray(e) / size
        found = rel < 0.15
        out[name] = {"people": n, "found": float(found.mean()),
                     "error_pct_found": float(100 * np.median(rel[found])),
                     "ms_per_image": 1000 * secs[name] / max(n, 1)}
    first = np.asarray(errs[next(iter(errs))]) / size < 0.15
    for name, e in errs.items():
        rel = np.asarray(e) / size
        out[name]["gained"] = int(((rel < 0.15) & ~first).sum())
        out[name]["lost"] = int(((rel >= 0.15) & first).sum())
        out[name]["error_pct_found_mean"] = float(100 * np.mean(rel[(rel < 0.15) & first]))
    return out


def photos(detectors: dict[str, BlazePoseDetector]) -> list[dict]:
    rows = []
    labels = SHARED / "realgt" / "labels.json"
    truth = {}
    if labels.is_file():
        for item in json.loads(labels.read_text())["items"]:
            kp, _, _ = convert_layout(np.asarray(item["keypoints2d_px"], float), "mpi3dhp17",
                                      "h36m17")
            truth[SHARED / "realgt" / item["image"]] = kp
    media = sorted(p for p in (SHARED / "media").glob("*") if p.suffix.lower() in
                   (".jpg", ".jpeg", ".png"))
    for path in [*truth, *media]:
        full = read_image(path)
        scale = working_scale(full.shape[1], full.shape[0])
        camera = CameraInfo(1.0, 1.0, 0.0, 0.0, full.shape[1], full.shape[0], "given")
        img, _ = shrink(full, camera, scale)
        row: dict = {"photo": path.name}
        for name, det in detectors.items():
            people = det.detect(img, min_presence=PHOTO_PRESENCE)
            row[name] = len(people)
            if path in truth:  # in the full image's pixels
                row[f"{name}_err_px"] = nearest_error(people, truth[path] * scale,
                                                      np.ones(17, bool)) / scale
        rows.append(row)
    return rows


def trigger_study(folder: Path, limit: int | None) -> dict[str, int]:
    """People found (error < 15 % of the size) under each turn trigger."""
    det = BlazePoseDetector(num_threads=1, tiles="off")
    pres, err, tilt, rois, mirror = [], [], [], [], []
    for img, gt, ok in rendered_people(folder, limit):
        if not ok.any():
            continue
        size = float(np.linalg.norm(gt[ok].max(0) - gt[ok].min(0)))
        for d in det.detect_people(img):
            roi = det.roi_from_detection(d)
            tilt.append(abs(math.remainder(roi.rotation_rad, 2 * math.pi)))
            rois.append(roi)
            p_row, e_row, m_row = [], [], []
            for k in range(4):
                turned = RotatedRect(roi.center_px, roi.size_px,
                                     roi.rotation_rad + k * math.pi / 2)
                res = det.landmarks_for_roi(img, turned)
                person = det.make_person(res, turned, (img.shape[1], img.shape[0]), d)
                p_row.append(res.presence_score)
                e_row.append(float(np.linalg.norm(person.keypoints_h36m_px[ok] - gt[ok],
                                                  axis=1).mean()) / size)
                m_row.append(mirror_disagreement(res.landmarks, det.mirrored_look(img, turned),
                                                 turned))
            pres.append(p_row)
            err.append(e_row)
            mirror.append(m_row)
    p, e = np.asarray(pres), np.asarray(err)
    rows = np.arange(len(p))
    out = {"detections": len(p),
           "upright only": int(((e[:, 0] < 0.15) & (p[:, 0] >= PHOTO_PRESENCE)).sum())}
    for trigger in (PHOTO_PRESENCE, 0.5, 0.8, 0.9, 0.95, 0.99):
        turn = (p[:, 0] < trigger) & (p.max(1) >= TURNED_MIN_PRESENCE)
        choice = np.where(turn, p.argmax(1), 0)
        kept = p[rows, choice] >= PHOTO_PRESENCE
        out[f"turn below {trigger}"] = int(((e[rows, choice] < 0.15) & kept).sum())
    # choose_turn's rule with other upside-down angles (0°: every detection looks at its turns)
    tilt_deg = np.degrees(np.asarray(tilt))
    doubted = p[:, 0] < PHOTO_PRESENCE
    for min_tilt in (UPSIDE_DOWN_DEG, 120, 150, 0):
        upside = tilt_deg > min_tilt
        turn = (doubted | upside) & (p.max(1) > p[:, 0])
        turn &= ~doubted | (p.max(1) >= TURNED_MIN_PRESENCE)
        choice = np.where(turn, p.argmax(1), 0)
        kept = p[rows, choice] >= PHOTO_PRESENCE
        out[f"doubted, or the ROI turned > {min_tilt:.0f}° (surest turn)"] = int(
            ((e[rows, choice] < 0.15) & kept).sum())
        out[f"  ROIs turned > {min_tilt:.0f}°"] = int(upside.sum())
    for name, ties in (("presence alone (choose_turn without the mirror)", None),
                       ("shipped rule (choose_turn: near ties by the mirror)", mirror)):
        choice = [choose_turn(row, roi, PHOTO_PRESENCE, None if ties is None else ties[i])
                  for i, (row, roi) in enumerate(zip(p, rois, strict=True))]
        kept = p[rows, choice] >= PHOTO_PRESENCE
        found = (e[rows, choice] < 0.15) & kept
        out[name] = int(found.sum())
        out[f"  mean 2D error of the kept, % size ({name.split(' (')[0]})"] = round(
            100 * float(np.minimum(e[rows, choice][kept], 1.0).mean()), 2)
    return out


def still_videos(frames: int = 10) -> list[dict]:
    """Each realgt photo in each view (``realgt_views.py``) as a still video of ``frames``
    frames at ``monopose predict``'s working size, tracked by the default video pipeline: the
    2D error (px, in the view's pixels) of the person nearest the truth, per frame. A person
    whose first crop is turned wrong stays on a wrong pose while the tracker follows it."""
    import cv2  # optional: only this mode writes videos

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_realgt import load_truths
    from realgt_views import ROLL_VIEWS, VIEW_NAMES, make_views

    from monopose.pipeline.estimator import Estimator

    est = Estimator()
    rows = []
    work = REPO / "cache" / "realgt_views"
    for truth in make_views(load_truths(SHARED / "realgt"), work, VIEW_NAMES + ROLL_VIEWS):
        img = cv2.imread(str(truth.path))
        scale = working_scale(img.shape[1], img.shape[0])
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)))
        path = work / f"{truth.path.stem}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10,
                                 (img.shape[1], img.shape[0]))
        for _ in range(frames):
            writer.write(img)
        writer.release()
        errors = [min((float(np.linalg.norm(p.keypoints_2d_px / scale - truth.kp2d_px,
                                            axis=1).mean()) for p in frame.people),
                      default=float("inf"))
                  for frame in est.predict_video(path).frames]
        rows.append({"view": truth.path.stem, "errors_px": errors})
    return rows


def turned_pass_study(folders: list[Path], limit: int | None) -> list[dict]:
    """Per render set: the detector as photos run it (presence ≥ 0.3) without the turned
    passes (:mod:`monopose.detect.turned_passes`), with them, and with them only where the
    upright passes found nobody ("fallback"): people found within 15 % of their size, found
    only with / only without, people per image (more means false people too: the renders hold
    one person) and the time per image."""
    det = BlazePoseDetector(num_threads=1)
    rows = []
    for folder in folders:
        errs: dict[str, list[float]] = {"without": [], "with": [], "fallback": []}
        counts: dict[str, list[int]] = {"without": [], "with": [], "fallback": []}
        secs = {"without": 0.0, "with": 0.0}
        sizes = []
        for img, gt, ok in rendered_people(folder, limit):
            sizes.append(float(np.linalg.norm(gt[ok].max(0) - gt[ok].min(0))) if ok.any()
                         else np.nan)
            found_by: dict[str, list] = {}
            for key, turned in (("without", False), ("with", True)):
                t = time.perf_counter()
                found_by[key] = det.detect(img, min_presence=PHOTO_PRESENCE,
                                           turned_passes=turned)
                secs[key] += time.perf_counter() - t
            found_by["fallback"] = found_by["without"] or found_by["with"]
            for key, people in found_by.items():
                errs[key].append(nearest_error(people, gt, ok))
                counts[key].append(len(people))
        found = {k: np.asarray(v) / np.asarray(sizes) < 0.15 for k, v in errs.items()}
        n = len(sizes)
        rows.append({"set": str(folder), "images": n,
                     **{f"found_{k}": int(v.sum()) for k, v in found.items()},
                     **{f"people_per_image_{k}": float(np.mean(v)) for k, v in counts.items()},
                     "gained": int((found["with"] & ~found["without"]).sum()),
                     "lost": int((found["without"] & ~found["with"]).sum()),
                     **{f"ms_{k}": 1000 * v / max(n, 1) for k, v in secs.items()}})
    return rows


def turned_photo_times(repeats: int = 3) -> list[dict]:
    """The media photos and the sample photo through ``Estimator(turned_passes=mode)`` for
    each mode: people found and the median time of ``repeats`` runs (ms) after a warm-up."""
    from monopose.pipeline.estimator import Estimator

    photos = sorted(p for p in (SHARED / "media").glob("*")
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    photos.append(REPO / "monopose" / "assets" / "sample_person.jpg")
    images = {p: read_image(p) for p in photos}
    modes = ("off", "fallback", "always")
    estimators = {m: Estimator(turned_passes=m) for m in modes}
    for est in estimators.values():
        est.predict(images[photos[-1]])
    times: dict[tuple[str, str], list[float]] = {}
    people: dict[tuple[str, str], int] = {}
    for _ in range(repeats):  # modes alternate, so the machine's drift hits them alike
        for path in photos:
            for mode, est in estimators.items():
                t = time.perf_counter()
                people[path.name, mode] = len(est.predict(images[path]).frames[0].people)
                times.setdefault((path.name, mode), []).append(time.perf_counter() - t)
    return [{"photo": p.name, **{f"{m}_people": people[p.name, m] for m in modes},
             **{f"{m}_ms": 1000 * float(np.median(times[p.name, m])) for m in modes}}
            for p in photos]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--renders", type=Path, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--study", type=Path, default=None)
    ap.add_argument("--turned-passes", nargs="*", type=Path, default=None, metavar="DIR",
                    help="render sets: the detector without and with the turned passes")
    ap.add_argument("--turned-photos", action="store_true",
                    help="the media photos through each turned-passes mode: people and time")
    ap.add_argument("--still-videos", action="store_true",
                    help="the realgt photos' views as still videos through the video pipeline")
    args = ap.parse_args()
    if args.turned_passes is not None:
        print("| renders | images | found without / with / fallback | gained / lost (with) | "
              "people per image without / with / fallback | ms per image without / with |")
        print("|---|---|---|---|---|---|")
        for r in turned_pass_study(args.turned_passes, args.limit):
            print(f"| {r['set']} | {r['images']} | {r['found_without']} / {r['found_with']} / "
                  f"{r['found_fallback']} | {r['gained']} / {r['lost']} | "
                  f"{r['people_per_image_without']:.3f} / {r['people_per_image_with']:.3f} / "
                  f"{r['people_per_image_fallback']:.3f} | {r['ms_without']:.1f} / "
                  f"{r['ms_with']:.1f} |")
        return 0
    if args.turned_photos:
        print("| photo | off | fallback | always |\n|---|---|---|---|")
        for r in turned_photo_times():
            print(f"| {r['photo']} | " + " | ".join(
                f"{r[f'{m}_people']}, {r[f'{m}_ms']:.0f} ms" for m in ("off", "fallback", "always"))
                + " |")
        return 0
    if args.still_videos:
        print("| view (10 frames) | 2D error per frame (px) |\n|---|---|")
        for row in still_videos():
            print(f"| {row['view']} | {', '.join(f'{e:.0f}' for e in row['errors_px'])} |")
        return 0
    if args.study:
        res = trigger_study(args.study, args.limit)
        print("| trigger | people found |\n|---|---|")
        for k, v in res.items():
            print(f"| {k} | {v} |")
        return 0
    detectors = {
        "upright crop": BlazePoseDetector(num_threads=1, turn_rois=False, refine_rois=False),
        "turned crops": BlazePoseDetector(num_threads=1, turn_rois=True, refine_rois=False),
        "turned, then the landmarks' crop (default)": BlazePoseDetector(num_threads=1),
    }
    print(f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, one thread, presence >= "
          f"{PHOTO_PRESENCE}\n")
    res: dict = {}
    if args.renders:
        res["renders"] = r = renders(args.renders, detectors, args.limit)
        print("| held-out renders | people | found | gained / lost | median 2D error of the "
              "found (% size) | mean, people all find (% size) | ms / image |")
        print("|---|---|---|---|---|---|---|")
        for name in detectors:
            v = r[name]
            print(f"| {name} | {v['people']} | {100 * v['found']:.1f} % | {v['gained']} / "
                  f"{v['lost']} | {v['error_pct_found']:.2f} | {v['error_pct_found_mean']:.2f} "
                  f"| {v['ms_per_image']:.1f} |")
        print()
    res["photos"] = rows = photos(detectors)
    names = list(detectors)
    print("| photo (predict's working size) | people | 2D error (px) |\n|---|---|---|")
    for row in rows:
        err = " / ".join(f"{row[f'{n}_err_px']:.1f}" for n in names) if \
            f"{names[0]}_err_px" in row else ""
        print(f"| {row['photo']} | {' / '.join(str(row[n]) for n in names)} | {err} |")
    print("\n(people and errors: " + " / ".join(names) + ")")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
