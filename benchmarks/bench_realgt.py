"""Whole-pipeline smoke test on real photos with 3D ground truth (``../shared/realgt``).

    .venv/bin/python benchmarks/bench_realgt.py [--models baseline-t1 ...] [--media]
                                                [--json out.json] [--weights-dirs DIR ...]

For each photo: detect, lift with each model, place in camera space with the photo's intrinsics,
match the person nearest the ground truth, and score it in mm, h36m17 layout (the ground truth is
converted from MPI-INF-3DHP-17): MPJPE and P-MPJPE (root-relative), per-joint errors, the root
(pelvis) position error, the angle of the best rigid rotation from prediction to truth, and the
skeleton size (sum of bone lengths) against the truth's. Two rows are added for reference:

* ``mediapipe-world``: MediaPipe Pose's own 3D (legacy ``pose_world_landmarks``, metres,
  hip-centred), mapped to h36m17. It has no camera-space root, so its root error is "none".
* ``mediapipe-world (learned map)``: the same landmarks mapped by the learned BlazePose → h36m17
  map (``monopose.detect.keypoint_map``), as monopose's detector maps its own.
* ``<default model> (true 2D)``: the default lifter fed the ground-truth 2D, placed as the
  pipeline places people (the ray fit): the lifter's error without the detector's; ``(true 2D,
  solve)``: the same with the pose as lifted and the root by least squares.

``--budget`` prints, per method and photo, the scores with each body part (or only its depth)
set to the truth, and how the predicted depths follow the truth's (``realgt_budget.py``):
which part's error a target waits on.

``--true-joints l_knee ...`` adds, per lifter, the detector's 2D with those joints set to the
truth, lifted as the true-2D row lifts: what the detector's error at them costs.

``--weights-dirs`` scores candidate weights (e.g. a training run's ``export`` folder) the same
way, in the same run: a row ``<model> @ <run>`` per listed lifter with weights there, and the
default's true-2D row.

``--media`` adds a qualitative check of photos without 3D truth: per person and method, the torso
lean from vertical, the head-top-to-ankle height and whether the person sits (see
``realphoto_metrics.posture``; "up" is the camera's -y axis, fine for level photos).
Two photos say little statistically: this is a smoke test, not a benchmark.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from realgt_budget import budget_table, depth_agreement, oracle_scores
from realgt_views import VIEW_NAMES, make_views, views_table
from realphoto_metrics import per_joint_table, posture

from monopose.eval.photo_scores import (
    PersonAnswer,
    mean_scores,
    nearest_person,
    score_person,
    scores_table,
)
from monopose.eval.photo_scores import (
    number_cell as _num,
)
from monopose.eval.photo_truth import Intrinsics, PhotoTruth, load_photo_truths
from monopose.pipeline.photo_methods import (
    MEDIAPIPE_WORLD,
    PhotoMethod,
    estimator_method,
    mediapipe_world_method,
    true_2d_answer,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))
MEDIA_PHOTOS = (
    SHARED / "media" / "person_standing_fullbody_indoor.jpg",
    REPO / "monopose" / "assets" / "sample_person.jpg",
    SHARED / "media" / "three_people_two_seated_studio.jpg",
)
MEDIAPIPE = MEDIAPIPE_WORLD
METRABS_DEFAULT = "metrabs-blazepose"
# The package's names for what this benchmark scores (monopose.eval.photo_*).
Truth = PhotoTruth
Person3d = PersonAnswer
Method = PhotoMethod


def load_truths(root: Path) -> list[Truth]:
    """The realgt photos (``root/labels.json``), as ``monopose evaluate-photos`` reads them."""
    return load_photo_truths(root / "labels.json").items


# ----------------------------------------------------------------------------------------------
# methods


def monopose_method(spec: str, weights_dir: Path | None = None) -> Method:
    """``NAME``, ``NAME+world`` (body size from the detector's world landmarks), either with
    ``+fixed`` (the detector's hand-written BlazePose → h36m17 map instead of the learned one),
    ``+mirror`` (the detector's flip test, ``BlazePoseDetector(mirror_test=True)``),
    ``+full`` (the full landmark network only; without it, the product's default: BlazePose
    Heavy's final look where fetched, ``monopose fetch-models``) and/or
    ``+solve`` (the pose as lifted, root by least squares, instead of the ray fit) and/or
    ``+ttaN`` (``--tta N``: the final landmark look over N crops; without it the product's
    default); a lifter's weights from ``weights_dir`` instead of the package's."""
    from monopose.detect.blazepose import BlazePoseDetector
    from monopose.detect.heavy import resolve_landmark_model
    from monopose.lifting.lifter import Lifter
    from monopose.pipeline.photo_search import photo_landmark_crops

    name, *options = spec.split("+")
    tta = [int(o[3:]) for o in options if o.startswith("tta") and o[3:].isdigit()]
    detector = None
    if {"fixed", "mirror", "heavy", "full"} & set(options):
        landmarks = "full" if "full" in options else resolve_landmark_model("auto")
        detector = BlazePoseDetector(keypoint_map="fixed" if "fixed" in options else "learned",
                                     mirror_test="mirror" in options, landmark_model=landmarks,
                                     landmark_crops=photo_landmark_crops(
                                         tta[0] if tta else None, True, landmarks))
    body_size = "world_landmarks" if "world" in options else "lifter"
    placement = "solve" if "solve" in options else "ray_fit"
    lifter = None if weights_dir is None else Lifter(name, weights_dir, body_size=body_size,
                                                     placement=placement)
    return estimator_method(name, body_size=body_size, detector=detector, pose_model=lifter,
                            placement=placement, num_aug=tta[0] if tta else None)


def mediapipe_method(keypoint_map: str = "fixed") -> Method:
    """MediaPipe's legacy pose solution; its 33 landmarks mapped to h36m17 by ``keypoint_map``."""
    return mediapipe_world_method(keypoint_map)


def true_2d_method(name: str, truths: list[Truth], weights_dir: Path | None = None,
                   placement: str = "ray_fit") -> Method:
    """The lifter fed the ground-truth 2D of the realgt photos (and nothing else), placed as
    ``monopose lift`` places single poses."""
    from monopose.lifting.lifter import Lifter

    lifter = Lifter(name, weights_dir)
    by_path = {t.path: t for t in truths}

    def run(path: Path, intrinsics: Intrinsics | None) -> list[Person3d]:
        return [true_2d_answer(lifter, by_path[path], placement)]

    return run


def true_joints_method(name: str, truths: list[Truth], joints: list[str],
                       weights_dir: Path | None = None) -> Method:
    """The detector's 2D of the person nearest each truth, with ``joints`` (h36m17 names) set to
    the true 2D, lifted by ``name`` as :func:`true_2d_method` lifts: what the detector's error
    at those joints costs."""
    from monopose.core.skeleton import H36M17
    from monopose.lifting.lifter import Lifter

    unknown = sorted(set(joints) - set(H36M17.joint_names))
    if unknown:
        raise SystemExit(f"--true-joints: unknown h36m17 joints {unknown}; expected some of "
                         f"{', '.join(H36M17.joint_names)}")
    idx = [H36M17.index(j) for j in joints]
    lifter = Lifter(name, weights_dir)
    detected = estimator_method(name, pose_model=lifter)
    by_path = {t.path: t for t in truths}

    def run(path: Path, intrinsics: Intrinsics | None) -> list[Person3d]:
        t = by_path[path]
        found = nearest_person(detected(path, intrinsics), t)
        if found is None or found.kp2d_px is None:
            return []
        kp = np.array(found.kp2d_px, dtype=np.float64)
        kp[idx] = t.kp2d_px[idx]
        return [true_2d_answer(lifter, replace(t, kp2d_px=kp))]

    return run


# ----------------------------------------------------------------------------------------------
# media (no truth): posture cues


def unique_photos(paths: tuple[Path, ...]) -> tuple[list[Path], list[str]]:
    """The photos with byte-identical copies dropped, and a note per dropped copy."""
    seen: dict[str, Path] = {}
    notes = []
    for p in paths:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest in seen:
            notes.append(f"{p.name} is byte-identical to {seen[digest].name}: scored once")
        else:
            seen[digest] = p
    return list(seen.values()), notes


def media_rows(method: str, run: Method, photos: list[Path]) -> list[dict]:
    rows = []
    for path in photos:
        people = run(path, None)
        if not people:
            rows.append({"method": method, "photo": path.name, "person": None})
        for k, p in enumerate(people):
            x_px = None if p.kp2d_px is None else float(np.nanmean(p.kp2d_px[:, 0]))
            rows.append({"method": method, "photo": path.name, "person": k + 1,
                         "of": len(people), "x_px": x_px, **posture(p.rel_mm)})
    return rows


def media_table(rows: list[dict]) -> str:
    lines = ["| photo | method | person (left→right, mean x px) | lean (°) | "
             "lean side / to cam (°) | head top–ankle up (mm) | head top–ankle 3D (mm) | "
             "knee R/L (°) | hip R/L (°) | thigh from vertical (°) | seated |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["photo"]):
        if r["person"] is None:
            lines.append(f"| {r['photo']} | {r['method']} | nobody found | | | | | | | | |")
            continue
        lines.append(
            f"| {r['photo']} | {r['method']} | {r['person']}/{r['of']} ({_num(r['x_px'])}) | "
            f"{_num(r['lean_deg'], 1)} | {_num(r['lean_side_deg'], 1)} / "
            f"{_num(r['lean_toward_camera_deg'], 1)} | {_num(r['head_ankle_up_mm'])} | "
            f"{_num(r['head_ankle_3d_mm'])} | {_num(r['knee_r_deg'])}/{_num(r['knee_l_deg'])} | "
            f"{_num(r['hip_r_deg'])}/{_num(r['hip_l_deg'])} | "
            f"{_num(r['thigh_from_vertical_deg'])} | {'yes' if r['seated'] else 'no'} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------


def default_models() -> list[str]:
    from monopose.zoo import available, list_models

    lifters = [c.name for c in list_models() if c.architecture != "metrabs" and available(c.name)]
    return lifters + ([METRABS_DEFAULT] if available(METRABS_DEFAULT) else [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=None,
                        help="monopose models (default: every lifter + metrabs-blazepose); "
                        "NAME+world sizes each body by the detector's world landmarks; "
                        "+fixed uses the hand-written BlazePose → h36m17 map; +solve places "
                        "the pose as lifted (no ray fit); +mirror the detector's flip test; "
                        "+full the full landmark network only (not BlazePose Heavy); +ttaN "
                        "the final landmark look over N crops (default: the product's)")
    parser.add_argument("--media", action="store_true", help="also check the media photos")
    parser.add_argument("--json", type=Path, default=None, help="write every number here")
    parser.add_argument("--weights-dirs", nargs="*", type=Path, default=[],
                        help="also score the --models lifters (and the default's true-2D row) "
                        "with the weights in each of these folders, e.g. runs/<run>/export")
    parser.add_argument("--true-joints", nargs="*", default=[], metavar="JOINT",
                        help="also lift the detector's 2D with these h36m17 joints (e.g. l_knee) "
                        "set to the truth, by each plain lifter of --models and the default: "
                        "what the detector's error there costs")
    parser.add_argument("--views", nargs="*", default=None, metavar="VIEW",
                        help="score each photo in several views of the same pixels "
                        f"(default with the flag: all of {', '.join(VIEW_NAMES)}; see "
                        "realgt_views.py), written under cache/realgt_views")
    parser.add_argument("--budget", action="store_true",
                        help="also print the scores with each body part (or its depth) set to "
                        "the truth, per method and photo")
    args = parser.parse_args()

    from monopose.pipeline.estimator import DEFAULT_MODEL

    truths = load_truths(SHARED / "realgt")
    if args.views is not None:
        truths = make_views(truths, REPO / "cache" / "realgt_views",
                            tuple(args.views) or VIEW_NAMES)
    photos, notes = unique_photos(MEDIA_PHOTOS) if args.media else ([], [])
    names = args.models or default_models()
    plan: list[tuple[str, Callable[[], Method], bool]] = [
        (n, lambda n=n: monopose_method(n), True) for n in names]
    plan += [(MEDIAPIPE, mediapipe_method, True),
             (f"{MEDIAPIPE} (learned map)", lambda: mediapipe_method("learned"), False),
             (f"{DEFAULT_MODEL} (true 2D)", lambda: true_2d_method(DEFAULT_MODEL, truths), False),
             (f"{DEFAULT_MODEL} (true 2D, solve)",
              lambda: true_2d_method(DEFAULT_MODEL, truths, placement="solve"), False)]
    if args.true_joints:
        lifters = list(dict.fromkeys([DEFAULT_MODEL] + [n.split("+")[0] for n in names]))
        swapped = ", ".join(args.true_joints)
        plan += [(f"{n} (detector 2D, true {swapped})",
                  lambda n=n: true_joints_method(n, truths, args.true_joints), False)
                 for n in lifters if n != METRABS_DEFAULT]
    for folder in args.weights_dirs:
        tag = folder.parent.name if folder.name == "export" else folder.name
        plan += [(f"{n} @ {tag}", lambda n=n, f=folder: monopose_method(n, f), True)
                 for n in names if (folder / f"{n.split('+')[0]}.safetensors").is_file()]
        if (folder / f"{DEFAULT_MODEL}.safetensors").is_file():
            plan.append((f"{DEFAULT_MODEL} (true 2D) @ {tag}",
                         lambda f=folder: true_2d_method(DEFAULT_MODEL, truths, f), False))

    rows: list[dict] = []
    posture_rows: list[dict] = []
    seconds: dict[str, float] = {}
    for method, make, on_media in plan:
        start = time.perf_counter()
        run = make()
        for t in truths:
            best = nearest_person(run(t.path, t.intrinsics), t)
            row = {"method": method, "photo": t.path.stem}
            if best is not None:
                row.update(score_person(best, t))
                if args.budget:
                    row["oracle"] = oracle_scores(best.rel_mm, t.abs_mm - t.abs_mm[0])
                    row["depth"] = depth_agreement(best.rel_mm, t.abs_mm - t.abs_mm[0])
            rows.append(row)
        if on_media:
            posture_rows += media_rows(method, run, photos)
        seconds[method] = time.perf_counter() - start
        del run

    means = mean_scores(rows)
    print(scores_table(rows + means))
    print("\nPer-joint error (mm, root-relative), mean over the photos:\n")
    print(per_joint_table({m["method"]: np.asarray(m["per_joint_mm"]) for m in means}))
    if args.views is not None:
        print("\nBy view, mean over the photos (MPJPE / P-MPJPE / root error, mm):\n")
        print(views_table(rows))
    if args.budget:
        print("\nWith a part set to the truth (MPJPE / P-MPJPE, mm; \"depth\": its z only):\n")
        print(budget_table(rows))
    if args.media:
        print("\nMedia photos (up = camera -y):\n")
        print(media_table(posture_rows))
        for note in notes:
            print(f"\n{note}")
    if args.json is not None:
        args.json.write_text(json.dumps({"realgt": rows, "realgt_mean": means,
                                         "media": posture_rows, "media_notes": notes,
                                         "seconds_per_method": seconds}, indent=1))


if __name__ == "__main__":
    main()
