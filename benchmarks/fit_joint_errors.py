"""Fit and check the photo default's error model (``monopose.lifting.joint_errors``).

Held-out rendered people go through the photo pipeline's lifter as a photo's people do
(BlazePose Heavy through five crops, world-landmark size, the ray fit); each joint's error and
the root's are measured against the truth, with the features the product computes
(``Lifter.error_features``). Printed, in one run:

* cross-fitted (fitted on one half of the people, scored on the other, both ways): how the
  estimated errors follow the measured ones (Spearman's ρ within each joint over people, and
  of the per-person mean), and how often the measured error stays under the estimated median
  (should be 50 %) and the 90 % bound (should be 90 %), per set; beside a model of the joint
  alone (no features);
* the realgt photos as they are and in the 12 views of ``realgt_views.py``, through the whole
  pipeline: the same coverage, and each photo's joints ranked by estimated and by measured
  error;
* the cost of the estimate per person.

``--save`` writes the model fitted on every held-out person beside the lifter's weights.

    .venv/bin/python benchmarks/fit_joint_errors.py --sets cache/r_val cache/r_post \\
        cache/r_floor --work runs/heavy_tta5 [--save]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy.stats import spearmanr

from monopose.core.skeleton import H36M17
from monopose.eval.photo_scores import PersonAnswer, nearest_person
from monopose.lifting.joint_errors import (
    FEATURES,
    ErrorFeatures,
    JointErrorModel,
    PoseErrors,
    error_model_path,
)
from monopose.lifting.lifter import Lifter
from monopose.models.interface import FramePeople, place_people
from monopose.models.weights_meta import SHIPPED_WEIGHTS_DIR, file_sha256

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realgt import SHARED, load_truths  # noqa: E402
from bench_world_landmarks import features  # noqa: E402
from bench_world_up import add_render_set_options, five_crop_detections  # noqa: E402
from fit_keypoint_map import usable  # noqa: E402
from realgt_views import make_views  # noqa: E402

LIFTER = "mpm-lift-t1"
SECOND = "mpm-lift-t1-floorsit"  # the error model's second opinion


def render_frames(folder: Path, limit: int, work: Path, lifter: Lifter
                  ) -> tuple[list[FramePeople], dict]:
    """Each detected person of a render set as a photo's one-person frame (the detector's
    h36m17 2D, scores, validity and world landmarks as photos get them), and ``features``'
    arrays of them (``gt``, ``gt_abs``, ...)."""
    z = five_crop_detections(folder, limit, work)
    ok = usable(z)[0]
    f = features(z, lifter, ok)
    world_33_m = z["world33_m"][ok]
    frames = [FramePeople(None, [SimpleNamespace(world_landmarks_m=world_33_m[i])],
                          f["intrinsics"][i], None, f["kp_px"][i:i + 1], f["score"][i:i + 1],
                          f["valid"][i:i + 1]) for i in range(len(f["gt"]))]
    return frames, f


def sized_lift(lifter: Lifter, frame: FramePeople) -> tuple[np.ndarray, np.ndarray]:
    """``frame``'s people as ``lifter.predict`` lifts and sizes them: ``(poses [N, 17, 3] mm,
    size factors [N])``."""
    rel = lifter.lift(frame.keypoints_px, frame.valid, intrinsics=frame.intrinsics,
                      scores=frame.keypoint_scores)
    factors = lifter.size_factors(rel, frame.detections)
    return rel * factors[:, None, None], factors


def render_people(folder: Path, limit: int, work: Path, lifter: Lifter) -> dict:
    """Per detected person of a render set: ``features`` (:class:`ErrorFeatures`), ``joint``
    ``[N, 17]`` and ``root [N]`` errors (mm) of the placed pose, ``depth [N]`` the true root's
    z (mm)."""
    frames, f = render_frames(folder, limit, work, lifter)
    keys = ("flip_mm", "world_mm", "score", "second_mm", "posture")
    parts: dict[str, list] = {k: [] for k in (*keys, "joint", "root")}
    for i, frame in enumerate(frames):
        sized, factors = sized_lift(lifter, frame)
        poses = place_people(frame, sized, placement=lifter.placement)
        feats = lifter.error_features(frame, sized, factors)
        assert feats is not None
        for k in keys:
            parts[k].append(getattr(feats, k)[0])
        rel = poses.pose_3d_rel_mm[0] - poses.pose_3d_rel_mm[0, :1]
        parts["joint"].append(np.linalg.norm(rel - f["gt"][i], axis=-1))
        parts["root"].append(np.linalg.norm(poses.pose_3d_abs_mm[0, 0] - f["gt_abs"][i, 0]))
    arr = {k: np.asarray(v) for k, v in parts.items()}
    return {"features": ErrorFeatures(*(arr[k] for k in keys)),
            "joint": arr["joint"], "root": arr["root"], "depth": f["gt_abs"][:, 0, 2]}


def subset(people: dict, index: np.ndarray) -> dict:
    return {"features": people["features"].take(index),
            **{k: people[k][index] for k in ("joint", "root", "depth")}}


def joined(sets: list[dict]) -> dict:
    return {"features": ErrorFeatures(*(np.concatenate([getattr(s["features"], k) for s in sets])
                                        for k in ("flip_mm", "world_mm", "score", "second_mm",
                                                  "posture"))),
            **{k: np.concatenate([s[k] for s in sets]) for k in ("joint", "root", "depth")}}


def neutral(feats: ErrorFeatures) -> ErrorFeatures:
    """Features that never vary: a model fitted on them knows each joint's spread alone."""
    return ErrorFeatures(np.zeros_like(feats.flip_mm), np.zeros_like(feats.world_mm),
                         np.ones_like(feats.score), np.zeros_like(feats.second_mm),
                         np.zeros_like(feats.posture))


def without_second(feats: ErrorFeatures) -> ErrorFeatures:
    """The features without the second lifter's answer and the posture."""
    return ErrorFeatures(feats.flip_mm, feats.world_mm, feats.score,
                         np.zeros_like(feats.second_mm), np.zeros_like(feats.posture))


# the shipped model and two smaller ones it is compared with
VARIANTS = {"every feature": lambda f: f, "flip, world, score": without_second,
            "joint alone": neutral}


def stacked(parts: list[PoseErrors]) -> PoseErrors:
    return PoseErrors(*(np.concatenate([np.atleast_2d(getattr(p, k)) if k.startswith("joint")
                                        else np.atleast_1d(getattr(p, k)) for p in parts])
                        for k in ("joint_median_mm", "joint_p90_mm", "root_median_mm",
                                  "root_p90_mm")))


def fit(people: dict, variant: str = "every feature", provenance: dict | None = None
        ) -> JointErrorModel:
    return JointErrorModel.fit(VARIANTS[variant](people["features"]), people["joint"],
                               people["root"], people["depth"], provenance)


def agreement(est: PoseErrors, joint_mm: np.ndarray, root_mm: np.ndarray) -> dict[str, float]:
    """Spearman's ρ within each joint (mean over joints but the root) and of the per-person
    mean; coverage (%) of the median and the 90 % bound, joints and root."""
    rho = [spearmanr(est.joint_median_mm[:, j], joint_mm[:, j])[0] for j in range(1, 17)]
    return {"rho_joint": float(np.nanmean(rho)),
            "rho_person": float(spearmanr(est.joint_median_mm[:, 1:].mean(1),
                                          joint_mm[:, 1:].mean(1))[0]),
            "under_median": 100 * float((joint_mm[:, 1:] <= est.joint_median_mm[:, 1:]).mean()),
            "under_p90": 100 * float((joint_mm[:, 1:] <= est.joint_p90_mm[:, 1:]).mean()),
            "root_under_median": 100 * float((root_mm <= est.root_median_mm).mean()),
            "root_under_p90": 100 * float((root_mm <= est.root_p90_mm).mean())}


def cross_fitted(sets: dict[str, dict]) -> str:
    """Both halves of every set (even and odd people) scored by models fitted on the other."""
    lines = ["| set | people | model | ρ within a joint | ρ per person | under the median (%) "
             "| under the 90 % bound (%) | root under its median (%) | root under its 90 % "
             "bound (%) |", "|---|---|---|---|---|---|---|---|---|"]
    halves = {name: [subset(p, np.arange(len(p["joint"])) % 2 == h) for h in (0, 1)]
              for name, p in sets.items()}
    for label, variant in VARIANTS.items():
        models = [fit(joined([hs[h] for hs in halves.values()]), label) for h in (0, 1)]
        rows = list(halves.items()) + [("all", [joined([hs[h] for hs in halves.values()])
                                                for h in (0, 1)])]
        for name, hs in rows:
            est = [models[1 - h].predict(variant(hs[h]["features"]), hs[h]["depth"])
                   for h in (0, 1)]
            a = agreement(stacked(est), np.concatenate([h["joint"] for h in hs]),
                          np.concatenate([h["root"] for h in hs]))
            lines.append(f"| {name} | {sum(len(h['joint']) for h in hs)} | {label} | "
                         f"{a['rho_joint']:.2f} | {a['rho_person']:.2f} | "
                         f"{a['under_median']:.0f} | {a['under_p90']:.0f} | "
                         f"{a['root_under_median']:.0f} | {a['root_under_p90']:.0f} |")
    return "\n".join(lines)


def _top(errors_mm: np.ndarray) -> str:
    """The four joints of ``errors_mm [17]`` with the largest errors."""
    return ", ".join(H36M17.joint_names[j] for j in np.argsort(-errors_mm)[:4])


def realgt_rows(model: JointErrorModel) -> str:
    """The realgt photos and their 12 views through the whole pipeline with ``model``."""
    from monopose.pipeline.estimator import Estimator  # heavy: the detector

    lifter = Lifter(LIFTER)
    lifter.error_model = model
    est = Estimator(model=LIFTER, pose_model=lifter)
    truths = load_truths(SHARED / "realgt")
    views = make_views(truths, Path("runs/realgt_views_errors"))
    rows, ranks = [], []
    for k, t in enumerate(list(truths) + list(views)):
        pred = est.predict(t.path, intrinsics=tuple(t.intrinsics))
        people = pred.frames[0].people
        answers = [PersonAnswer(p.pose_3d_rel_mm, p.pose_3d_abs_mm, p.keypoints_2d_px)
                   for p in people]
        best = nearest_person(answers, t)
        if best is None:
            continue
        person = people[next(i for i, a in enumerate(answers) if a is best)]
        assert person.errors is not None
        joint = np.linalg.norm(person.pose_3d_rel_mm - person.pose_3d_rel_mm[:1] - t.rel_mm,
                               axis=-1)
        root = np.linalg.norm(person.pose_3d_abs_mm[0] - t.abs_mm[0])
        e = person.errors
        rows.append((PoseErrors(e["joint_median_mm"][None], e["joint_p90_mm"][None],
                                np.atleast_1d(e["root_median_mm"]),
                                np.atleast_1d(e["root_p90_mm"])), joint[None], np.array([root])))
        if k < len(truths):
            ranks.append(f"| {t.path.stem} | {_top(e['joint_median_mm'])} | {_top(joint)} | "
                         f"{root:.0f} mm (median {float(e['root_median_mm']):.0f}, 90 % "
                         f"{float(e['root_p90_mm']):.0f}) |")
    a = agreement(stacked([r[0] for r in rows]), np.concatenate([r[1] for r in rows]),
                  np.concatenate([r[2] for r in rows]))
    within = np.nanmean([spearmanr(r[0].joint_median_mm[0, 1:], r[1][0, 1:])[0] for r in rows])
    return ("| photos | people | ρ over a photo's joints (mean) | under the median (%) | under "
            "the 90 % bound (%) | root under its median (%) | root under its 90 % bound (%) |\n"
            "|---|---|---|---|---|---|---|\n"
            f"| 2 photos × (as they are + 6 views) | {len(rows)} | {within:.2f} | "
            f"{a['under_median']:.0f} | {a['under_p90']:.0f} | {a['root_under_median']:.0f} | "
            f"{a['root_under_p90']:.0f} |\n\n"
            "| photo | largest estimated errors | largest measured errors | root error |\n"
            "|---|---|---|---|\n" + "\n".join(ranks))


def cost_line(model: JointErrorModel, folder: Path, limit: int, work: Path) -> str:
    """Time of the estimate (the unmirrored lift, the features, the model) per person."""
    lifter = Lifter(LIFTER)
    lifter.error_model = model
    frames = render_frames(folder, limit, work, lifter)[0][:200]
    n = len(frames)
    sized = [sized_lift(lifter, fr) for fr in frames]
    t0 = time.perf_counter()
    for fr in frames:
        lifter.predict(fr)
    t_predict = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for fr, (s, fac) in zip(frames, sized, strict=True):
        feats = lifter.error_features(fr, s, fac)
        assert feats is not None
        model.predict(feats, np.array([4000.0]))
    t_errors = (time.perf_counter() - t0) / n
    return (f"Per person ({n} people, one at a time as in a photo): the lifter's whole predict "
            f"{1000 * t_predict:.2f} ms, of which the estimate {1000 * t_errors:.2f} ms.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_render_set_options(ap)
    ap.add_argument("--save", action="store_true",
                    help=f"write the model fitted on every person to {LIFTER}.errors.json "
                    "beside the shipped weights")
    ap.add_argument("--no-realgt", action="store_true", help="skip the realgt photos")
    args = ap.parse_args(argv)
    if not args.sets:
        ap.error("--sets: name at least one render set")
    now = dt.datetime.now(dt.UTC)
    print(f"# fit_joint_errors: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC\n")
    lifter = Lifter(LIFTER)
    lifter.error_model = None  # the features alone, whatever is shipped
    lifter.second = Lifter(SECOND)
    sets = {folder.name: render_people(folder, args.limit, args.work, lifter)
            for folder in args.sets}
    print("## Held-out renders, cross-fitted\n")
    print(cross_fitted(sets) + "\n")
    weights = SHIPPED_WEIGHTS_DIR / f"{LIFTER}.safetensors"
    every = joined(list(sets.values()))
    model = fit(every, provenance={
        "lifter": LIFTER, "settings": {"body_size": lifter.body_size,
                                       "placement": lifter.placement},
        "weights_sha256": file_sha256(weights), "second_lifter": SECOND,
        "second_sha256": file_sha256(SHIPPED_WEIGHTS_DIR / f"{SECOND}.safetensors"),
        "fitted_on": {name: len(p["joint"]) for name, p in sets.items()},
        "people": "held-out rendered people (mocap val split), BlazePose Heavy through five "
                  "crops, world-landmark size, ray fit: the photo default",
        "command": "benchmarks/fit_joint_errors.py --sets "
                   + " ".join(str(s) for s in args.sets) + " --save",
        "date": f"{now:%Y-%m-%d}"})
    print("Fitted on every person: slopes "
          + ", ".join(f"{name} {v:+.3f}" for name, v in zip(FEATURES, model.slopes, strict=True))
          + f"; root error / depth: median {model.root_fraction[0]:.3f}, "
          f"90 % {model.root_fraction[1]:.3f}\n")
    if args.save:
        path = error_model_path(LIFTER)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(model.to_json(), indent=1) + "\n")
        tmp.replace(path)
        print(f"Saved {path}\n")
    if not args.no_realgt:
        print("## Realgt photos, whole pipeline\n")
        print(realgt_rows(model) + "\n")
    print("## Cost\n")
    print(cost_line(model, args.sets[0], args.limit, args.work))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
