"""What the lifter is given and how its answer is used: variants compared on the same people.

Uses the detector outputs on rendered people cached by ``benchmarks/fit_keypoint_map.py``
(``runs/keypoint_map/detections-<set>-<limit>.npz``; made there when missing) and, when
``../shared/realgt`` is there, its two real photos (their true 2D, and the detector's 2D from
``monopose predict``'s path). Body size as the product's default (world landmarks × the shipped
scale) unless a table says otherwise. Prints:

1. **Occluded joints** (``--score-thresholds``): joints whose visibility × presence is below a
   threshold passed to the lifter as missing (MPM completes them), against every joint BlazePose
   places in the picture. MPJPE, P-MPJPE and median root error on each render set.
2. **Test-time variants of the default lifter**: the 2D rolled by ±10° about the optical axis
   and the 3D rolled back, averaged; the root solved with per-joint weights fitted on the
   ``--fit`` renders, from the trunk joints only, or with a Huber loss. (The fit of the lifted
   pose to the 2D rays, measured here before, is now the product's placement: table 6.)
3. **Body size from bone ratios**: a ridge regression of log skeleton size on the lifted
   pose's log size and log bone-length shares, fitted on the ``--fit`` renders, against the
   constant world-landmark size, on held-out renders and on the real photos.
4. **Where a real photo's root error comes from**: each photo's root placed from the lifted or
   the true pose, with the detector's or the true 2D.
5. **Weights** (``--weights-dirs``): the default lifter's shipped weights against other weights
   of the same model (e.g. a new training stage and its control), on the same people, placed
   by ``--placement`` (``solve``, as the tables before the ray fit, or the product's
   ``ray_fit``).
6. **Placement** (:mod:`monopose.core.placement`): the product's ``"solve"`` and ``"ray_fit"``
   placements, and the ray fit with other σs and iteration budgets, on the ``--fit`` renders
   (where the shipped settings were chosen), the held-out sets and the real photos; with the
   fit's cost per person, batched as the product runs it (a frame's people together) and alone.

Usage:
    python benchmarks/bench_lift_variants.py --fit cache/capf2/renders/train_b \
        --eval cache/capf2/renders/val cache/renders_postures [--tables 1 2 3 4 5 6]
        [--weights-dirs runs/a/export runs/b/export] [--placement solve|ray_fit]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from monopose.core.body_size import WORLD_LANDMARK_SIZE_SCALE, rescale_to_size, skeleton_size_mm
from monopose.core.geometry import place_in_camera
from monopose.core.placement import PLACEMENTS, ROOT_JOINT_WEIGHTS, place_poses
from monopose.core.projection import pixels_to_normalized
from monopose.core.ray_fit import RayFitSettings, bone_lengths, fit_to_rays
from monopose.core.skeleton import H36M17
from monopose.detect.keypoint_map import KeypointMapSpec
from monopose.eval.metrics import mpjpe_per_sample, p_mpjpe_per_sample
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_realgt import SHARED, load_truths  # noqa: E402
from bench_world_landmarks import features, oracle_sized  # noqa: E402
from fit_keypoint_map import detections, usable  # noqa: E402

WORK = Path("runs/keypoint_map")
BONES = H36M17.bones  # (child, parent)
TRUNK = [H36M17.index(n) for n in ("pelvis", "r_hip", "l_hip", "spine", "thorax", "neck_nose",
                                   "head_top", "l_shoulder", "r_shoulder")]
ROLL_DEG = (-10.0, 0.0, 10.0)


# ----------------------------------------------------------------------------------------------
# people: the same dictionary for renders and real photos


def render_people(folder: Path, lifter: Lifter, keypoint_map: KeypointMapSpec = "learned"
                  ) -> dict[str, np.ndarray]:
    """Renders the detector found: :func:`bench_world_landmarks.features` (``score [N, 17]``
    among them), h36m17 made by ``keypoint_map``."""
    z = detections(folder, WORK, None)
    return features(z, lifter, usable(z)[0], keypoint_map)


def photo_people(lifter: Lifter, true_2d: bool) -> dict[str, np.ndarray] | None:
    """The realgt photos' people with their true 2D (sized by the lifter, as
    ``bench_realgt``'s true-2D row) or the detector's (``monopose predict``'s path: every present
    joint, world-landmark size), in the same dictionary as :func:`render_people`; None without
    ``../shared/realgt``."""
    from monopose.pipeline.estimator import Estimator

    root = SHARED / "realgt"
    if not (root / "labels.json").is_file():
        return None
    truths = load_truths(root)
    intr = np.array([t.intrinsics for t in truths], np.float64)
    gt_abs = np.stack([t.abs_mm for t in truths])
    if true_2d:
        kp, valid = np.stack([t.kp2d_px for t in truths]), np.ones((len(truths), 17), bool)
        score = None
        sized = lifter.lift(kp, valid, intrinsics=intr)
    else:
        # the product's default size; the pose as lifted (tables place it themselves)
        est = Estimator(lifter.card.name if lifter.card else None, placement="solve")
        people = []
        for t in truths:
            found = est.predict(t.path, intrinsics=t.intrinsics).frames[0].people
            people.append(min(found, key=lambda p, t=t: float(
                np.linalg.norm(p.keypoints_2d_px - t.kp2d_px, axis=1).mean())))
        kp = np.stack([p.keypoints_2d_px for p in people])
        valid = np.stack([p.keypoints_valid for p in people])
        score = np.stack([p.keypoint_scores for p in people])
        sized = np.stack([p.pose_3d_rel_mm for p in people])
    return {"gt_abs": gt_abs, "gt": gt_abs - gt_abs[:, :1], "sized": sized, "kp_px": kp,
            "valid": valid, "intrinsics": intr, "score": score, "own_size": np.array(true_2d),
            "base": lifter.lift(kp, valid, intrinsics=intr, scores=score)}


# ----------------------------------------------------------------------------------------------
# scores


def root_error_mm(f: dict[str, np.ndarray], rel: np.ndarray,
                  solve: Callable[..., np.ndarray] | None = None) -> np.ndarray:
    """``[N]`` mm: the root placed from ``rel`` (monopose's solve, or ``solve(kp, rel, valid,
    intrinsics) -> [3]``) against the truth."""
    out = np.empty(len(rel))
    for i in range(len(rel)):
        if solve is None:
            root = place_in_camera(f["kp_px"][i], rel[i], f["valid"][i], f["intrinsics"][i])[0][0]
        else:
            root = solve(f["kp_px"][i], rel[i], f["valid"][i], f["intrinsics"][i])
        out[i] = np.linalg.norm(root - f["gt_abs"][i, 0])
    return out


def scores(f: dict[str, np.ndarray], rel: np.ndarray,
           solve: Callable[..., np.ndarray] | None = None) -> str:
    """``MPJPE / P-MPJPE / root`` (means of pose errors, median root error), mm."""
    m = mpjpe_per_sample(rel, f["gt"]).mean()
    p = p_mpjpe_per_sample(rel, f["gt"]).mean()
    return f"{m:.1f} / {p:.1f} / {np.median(root_error_mm(f, rel, solve)):.0f}"


def world_sized(f: dict[str, np.ndarray], rel: np.ndarray) -> np.ndarray:
    """``rel`` at the default's size (world landmarks × the shipped scale) where the world
    landmarks are known (renders); for photos from the true 2D, as lifted (each lifter's own
    size, as ``bench_realgt``'s true-2D rows); else at the size ``f["sized"]`` already has
    (photos through the pipeline, sized by their world landmarks)."""
    if "wl" in f:
        return rescale_to_size(rel, f["wl"] * WORLD_LANDMARK_SIZE_SCALE)[0]
    if bool(f.get("own_size", False)):
        return rel
    return rescale_to_size(rel, f["sized"])[0]


# ----------------------------------------------------------------------------------------------
# 1. occluded joints


def occluded_joints_table(sets: dict[str, dict], lifters: dict[str, Lifter],
                          thresholds: list[float]) -> str:
    lines = ["| model | score threshold | " + " | ".join(
        f"{name}: joints missing, MPJPE / P-MPJPE / root" for name in sets) + " |",
        "|---|---|" + "---|" * len(sets)]
    for mname, lifter in lifters.items():
        for thr in thresholds:
            cells = []
            for f in sets.values():
                valid = f["valid"] & (f["score"] >= thr)
                rel = world_sized(f, lifter.lift(f["kp_px"], valid, intrinsics=f["intrinsics"],
                                                 scores=f.get("score")))
                cells.append(f"{100 * (1 - valid.mean()):.1f} %, "
                             + scores({**f, "valid": valid}, rel))
            lines.append(f"| {mname} | {thr:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# 2. test-time variants


def rolled_lift(lifter: Lifter, f: dict[str, np.ndarray], angles_deg=ROLL_DEG) -> np.ndarray:
    """``[N, 17, 3]``: the 2D turned about the principal point (a camera roll), lifted, the 3D
    turned back, averaged over ``angles_deg``."""
    out = []
    centre = f["intrinsics"][:, None, 2:4]
    for a in np.deg2rad(angles_deg):
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        kp = np.einsum("ij,nkj->nki", rot, f["kp_px"] - centre) + centre
        rel = lifter.lift(kp, f["valid"], intrinsics=f["intrinsics"], scores=f.get("score"))
        back = np.eye(3)
        back[:2, :2] = rot.T
        out.append(np.einsum("ij,nkj->nki", back, rel))
    return np.mean(out, axis=0)


def normalised_2d(f: dict[str, np.ndarray]) -> np.ndarray:
    """``[N, 17, 2]`` the keypoints as normalised image coordinates (0 where invalid)."""
    kp = np.where(f["valid"][..., None], f["kp_px"], 0.0)
    xy = np.stack([pixels_to_normalized(kp[i], f["intrinsics"][i]) for i in range(len(kp))])
    return np.where(f["valid"][..., None], xy, 0.0)


def weighted_root(weights: np.ndarray, huber_mm: float | None = None
                  ) -> Callable[..., np.ndarray]:
    """A root solve: the linear least squares of monopose's perspective solve with per-joint
    ``weights [17]``, optionally re-weighted 5 times by a Huber loss on the residual (mm)."""

    def solve(kp: np.ndarray, rel: np.ndarray, valid: np.ndarray, intr: np.ndarray
              ) -> np.ndarray:
        use = valid & (weights > 0)
        xy = pixels_to_normalized(kp[use], intr)
        p, wj = rel[use], weights[use]
        a = np.concatenate([np.stack([np.ones(len(p)), np.zeros(len(p)), -xy[:, 0]], 1),
                            np.stack([np.zeros(len(p)), np.ones(len(p)), -xy[:, 1]], 1)])
        b = np.concatenate([xy[:, 0] * p[:, 2] - p[:, 0], xy[:, 1] * p[:, 2] - p[:, 1]])
        robust = np.ones(len(p))
        for _ in range(6 if huber_mm else 1):
            sw = np.sqrt(np.tile(wj * robust, 2))
            t = np.linalg.lstsq(a * sw[:, None], b * sw, rcond=None)[0]
            cam = p + t
            res = np.linalg.norm(cam[:, :2] / cam[:, 2:] - xy, axis=1) * t[2]
            if huber_mm:
                robust = np.minimum(1.0, huber_mm / np.maximum(res, 1e-9))
        return t

    return solve


def joint_weights(f: dict[str, np.ndarray]) -> np.ndarray:
    """``[17]`` inverse variance of each joint's reprojection residual (mm at the true depth)
    of the lifter's truly sized poses at the true root, on the fit renders; max 1."""
    rel = oracle_sized(f)
    cam = rel + f["gt_abs"][:, :1]
    xy = normalised_2d(f)
    res = np.linalg.norm(cam[..., :2] / cam[..., 2:] - xy, axis=-1) * cam[:, :1, 2]
    var = np.array([np.mean(res[f["valid"][:, j], j] ** 2) for j in range(17)])
    return (1 / var) / (1 / var).max()


def variants_table(sets: dict[str, dict], lifter: Lifter, weights: np.ndarray) -> str:
    trunk = np.zeros(17)
    trunk[TRUNK] = 1.0
    rows: dict[str, Callable[[dict], str]] = {
        "default": lambda f: scores(f, f["sized"]),
        f"2D rolled {ROLL_DEG} °, averaged": lambda f: scores(f, world_sized(
            f, rolled_lift(lifter, f))),
        "root: per-joint weights": lambda f: scores(f, f["sized"], weighted_root(weights)),
        "root: trunk joints only": lambda f: scores(f, f["sized"], weighted_root(trunk)),
        "root: Huber, 50 mm": lambda f: scores(f, f["sized"], weighted_root(np.ones(17), 50.0)),
    }
    lines = ["| variant | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for label, row in rows.items():
        lines.append(f"| {label} | " + " | ".join(row(f) for f in sets.values()) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# 3. size from bone ratios


def ratio_features(rel: np.ndarray) -> np.ndarray:
    """``[N, 1 + 1 + B]``: 1, log skeleton size and log bone-length shares of lifted poses."""
    child, parent = (list(c) for c in zip(*BONES, strict=True))
    length = np.linalg.norm(rel[:, child] - rel[:, parent], axis=-1)
    share = length / length.sum(axis=1, keepdims=True)
    return np.concatenate([np.ones((len(rel), 1)), np.log(skeleton_size_mm(rel))[:, None],
                           np.log(share)], axis=1)


def fit_size_regression(f: dict[str, np.ndarray], ridge: float = 0.1) -> np.ndarray:
    """Ridge coefficients of log true skeleton size on :func:`ratio_features` of the lifter's
    own poses."""
    x = ratio_features(f["base"])
    y = np.log(skeleton_size_mm(f["gt"]))
    return np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)


def size_table(sets: dict[str, dict], coef: np.ndarray) -> str:
    lines = ["| people | true size (mm) | world landmarks × scale: size error (median %) "
             "| MPJPE / P-MPJPE / root | bone ratios: size error | MPJPE / P-MPJPE / root |",
             "|---|---|---|---|---|---|"]
    for name, f in sets.items():
        true = skeleton_size_mm(f["gt"])
        by_ratio = f["base"] * (np.exp(ratio_features(f["base"]) @ coef)
                                / skeleton_size_mm(f["base"]))[:, None, None]
        cells = []
        for rel in (f["sized"], by_ratio):
            err = np.median(np.abs(skeleton_size_mm(rel) / true - 1)) * 100
            cells.append(f"{err:.1f} | {scores(f, rel)}")
        sizes = ", ".join(f"{s:.0f}" for s in true) if len(true) <= 4 else \
            f"median {np.median(true):.0f}"
        lines.append(f"| {name} | {sizes} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def root_sources_table(true_2d: dict[str, np.ndarray], detected: dict[str, np.ndarray]) -> str:
    """Root error (mm) per photo for each pairing of 3D pose and 2D keypoints."""
    gt_sized = {k: detected[k] for k in ("gt", "gt_abs", "intrinsics")}
    rows = {"lifted pose (detector 2D), detector 2D (the default)": (detected, detected["sized"]),
            "lifted pose (detector 2D), true 2D": ({**true_2d, **gt_sized}, detected["sized"]),
            "true pose, detector 2D": (detected, detected["gt"]),
            "lifted pose (true 2D, lifter's size), true 2D": (true_2d, true_2d["sized"])}
    lines = ["| 3D pose, 2D keypoints | " + " | ".join(
        f"photo {i + 1}" for i in range(len(detected["gt"]))) + " |",
        "|---|" + "---|" * len(detected["gt"])]
    for label, (f, rel) in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{e:.0f}" for e in root_error_mm(f, rel))
                     + " |")
    return "\n".join(lines)


def weights_table(sets: dict[str, dict], model: str, weights_dirs: list[str],
                  placement: str = "solve") -> str:
    """MPJPE / P-MPJPE / root of ``model`` with each weights folder (shipped first), default
    size, on every set, placed by ``placement``."""
    lines = ["| weights | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for folder in [None, *weights_dirs]:
        lifter = Lifter(model, folder, body_size="lifter")
        cells = [placed_scores({**f, "sized": world_sized(f, lifter.lift(
                     f["kp_px"], f["valid"], intrinsics=f["intrinsics"],
                     scores=f.get("score")))}, placement, None)[0]
                 for f in sets.values()]
        lines.append(f"| {folder or 'shipped'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# 6. placement

PLACEMENT_ROWS: list[tuple[str, str, RayFitSettings | None]] = [
    ("solve (before; temporal lifters on videos)", "solve", None),
    ("solve, joints weighted by ROOT_JOINT_WEIGHTS (no fit)", "weighted", None),
    ("ray fit, root from the fit (no weighted solve)", "fit_root", RayFitSettings()),
    ("ray_fit (shipped)", "ray_fit", RayFitSettings()),
    ("ray_fit, joints weighted by the detector's scores", "ray_fit_scored", RayFitSettings()),
    ("ray fit, root from the trunk joints only", "trunk_root", RayFitSettings()),
    ("ray_fit, bones held to the mean of each left/right pair", "symmetric_mean",
     RayFitSettings()),
    ("ray_fit, bones held to the longer of each left/right pair", "symmetric_max",
     RayFitSettings()),
    *[(f"ray_fit σ2d {a:g}, σ3d {b:g}, σbone {c:g}, {it} Gauss-Newton steps", "ray_fit",
       RayFitSettings(a, b, c, it))
      for a, b, c, it in [(60, 50, 10, 1), (60, 50, 10, 10), (100, 50, 10, 3),
                          (40, 50, 10, 3), (60, 100, 10, 3), (60, 30, 10, 3), (60, 50, 30, 3),
                          (60, 50, 3, 3)]]]


def symmetric_bone_lengths(rel: np.ndarray, how: str) -> np.ndarray:
    """``[N, B]`` mm: each bone of ``rel [N, 17, 3]`` held to the mean (``how="mean"``) or the
    longer (``"max"``) of itself and its mirror bone (a limb turned towards the camera comes out
    of a lifter short; its twin on the other side may not)."""
    lengths = bone_lengths(rel, BONES)
    perm = H36M17.flip_permutation
    index = {bone: k for k, bone in enumerate(BONES)}
    mirror = lengths[:, [index[(int(perm[c]), int(perm[p]))] for c, p in BONES]]
    return 0.5 * (lengths + mirror) if how == "mean" else np.maximum(lengths, mirror)


def placed_scores(f: dict[str, np.ndarray], placement: str, settings: RayFitSettings | None
                  ) -> tuple[str, float]:
    """``("MPJPE / P-MPJPE / root", seconds)`` of the product's placement of ``f``'s people
    (all of a set in one batch; no image size, every valid joint counts)."""
    t0 = time.perf_counter()
    if placement == "weighted":
        abs_mm = np.stack([place_in_camera(f["kp_px"][i], f["sized"][i], f["valid"][i],
                                           f["intrinsics"][i], joint_weights=ROOT_JOINT_WEIGHTS)[0]
                           for i in range(len(f["gt"]))])
        rel_mm = f["sized"]
    elif placement.startswith("symmetric_"):
        solved, rel_mm, _ = place_poses(f["kp_px"], f["sized"], f["valid"], f["intrinsics"],
                                        placement="solve")
        rel_mm, _ = fit_to_rays(normalised_2d(f), rel_mm, f["valid"], solved[:, 0], BONES,
                                settings, symmetric_bone_lengths(rel_mm, placement[10:]))
        abs_mm = np.stack([place_in_camera(f["kp_px"][i], rel_mm[i], f["valid"][i],
                                           f["intrinsics"][i], joint_weights=ROOT_JOINT_WEIGHTS)[0]
                           for i in range(len(rel_mm))])
    elif placement in ("fit_root", "trunk_root"):
        solved, rel_mm, _ = place_poses(f["kp_px"], f["sized"], f["valid"], f["intrinsics"],
                                        placement="solve")
        rel_mm, root = fit_to_rays(normalised_2d(f), rel_mm, f["valid"], solved[:, 0], BONES,
                                   settings)
        abs_mm = rel_mm + root[:, None]
        if placement == "trunk_root":
            trunk = np.full(17, 1e-6)
            trunk[TRUNK] = 1.0
            abs_mm = np.stack([place_in_camera(f["kp_px"][i], rel_mm[i], f["valid"][i],
                                               f["intrinsics"][i], joint_weights=trunk)[0]
                               for i in range(len(rel_mm))])
    else:  # "ray_fit_scored": the product's ray fit, each joint weighted by its score
        scored = placement == "ray_fit_scored"
        abs_mm, rel_mm, _ = place_poses(f["kp_px"], f["sized"], f["valid"], f["intrinsics"],
                                        placement="ray_fit" if scored else placement,
                                        settings=settings, scores=f["score"] if scored else None)
    seconds = time.perf_counter() - t0
    m = mpjpe_per_sample(rel_mm, f["gt"]).mean()
    p = p_mpjpe_per_sample(rel_mm, f["gt"]).mean()
    root = np.median(np.linalg.norm(abs_mm[:, 0] - f["gt_abs"][:, 0], axis=-1))
    return f"{m:.1f} / {p:.1f} / {root:.0f}", seconds


def alone_ms(f: dict[str, np.ndarray], settings: RayFitSettings | None, n: int = 30) -> float:
    """ms per person of the ray fit run on one person at a time (the first ``n``)."""
    t0 = time.perf_counter()
    for i in range(min(n, len(f["gt"]))):
        place_poses(f["kp_px"][i:i + 1], f["sized"][i:i + 1], f["valid"][i:i + 1],
                    f["intrinsics"][i:i + 1], placement="ray_fit", settings=settings)
    return 1000 * (time.perf_counter() - t0) / min(n, len(f["gt"]))


def placement_table(sets: dict[str, dict]) -> str:
    first = next(iter(sets.values()))
    alone_ms(first, None, n=2)  # warm-up: torch's first call is not the fit's cost
    lines = ["| placement | " + " | ".join(sets) + " | ms per person, batched / alone |",
             "|---|" + "---|" * (len(sets) + 1)]
    for label, placement, settings in PLACEMENT_ROWS:
        cells, seconds = [], 0.0
        for f in sets.values():
            text, t = placed_scores(f, placement, settings)
            cells.append(text)
            seconds += t if f is first else 0.0
        cost = (f"{1000 * seconds / len(first['gt']):.2f} / {alone_ms(first, settings):.1f}"
                if placement == "ray_fit" else "")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {cost} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", type=Path, required=True,
                    help="render set the root weights and the size regression are fitted on")
    ap.add_argument("--eval", type=Path, nargs="+", required=True, help="held-out render sets")
    ap.add_argument("--models", nargs="+", default=["mpm-lift-t1", "mpm-lift-t27"],
                    help="lifters of table 1 (the first is the default of tables 2 and 3)")
    ap.add_argument("--score-thresholds", type=float, nargs="+",
                    default=[0.0, 0.1, 0.2, 0.3, 0.5])
    ap.add_argument("--tables", type=int, nargs="+", default=[1, 2, 3, 4],
                    choices=[1, 2, 3, 4, 5, 6])
    ap.add_argument("--weights-dirs", nargs="+", default=[],
                    help="table 5: weights folders of the first model to compare")
    ap.add_argument("--placement", choices=[*PLACEMENTS, "ray_fit_scored"], default="solve",
                    help="table 5: how the lifted people are placed (default: solve, as the "
                         "tables before the ray fit)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    lifters = {m: Lifter(m, body_size="lifter") for m in args.models}
    lifter = lifters[args.models[0]]
    now = dt.datetime.now(dt.UTC)
    print(f"# bench_lift_variants: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC, 1 torch thread\n")
    renders = {folder.name: render_people(folder, lifter) for folder in args.eval}
    if 1 in args.tables:
        print("## 1. Occluded joints: missing below a score, or every present joint\n")
        print(occluded_joints_table(renders, lifters, args.score_thresholds) + "\n", flush=True)

    for f in renders.values():  # from here on, the product's rule: every present joint
        f["sized"] = world_sized(f, f["base"])
    if not {2, 3, 4, 5, 6} & set(args.tables):
        return 0
    photos = {"real photos, true 2D": photo_people(lifter, True),
              "real photos, detector 2D": photo_people(lifter, False)}
    sets = {**renders, **{k: v for k, v in photos.items() if v is not None}}
    # the fit renders serve tables 2 and 3 only
    fit = render_people(args.fit, lifter) if {2, 3, 6} & set(args.tables) else {}
    if 2 in args.tables:
        print(f"## 2. Test-time variants of {args.models[0]} (MPJPE / P-MPJPE / median root, "
              "mm)\n")
        weights = joint_weights(fit)
        print(f"Per-joint root weights fitted on {args.fit.name} (h36m17 order; "
              f"monopose.core.placement.ROOT_JOINT_WEIGHTS): {np.round(weights, 2).tolist()}\n")
        print(variants_table(sets, lifter, weights) + "\n", flush=True)
    if 3 in args.tables:
        print(f"## 3. Body size from bone ratios (fitted on {args.fit.name})\n")
        print(size_table(sets, fit_size_regression(fit)) + "\n", flush=True)
    true_2d, detected = photos.values()
    if 4 in args.tables and true_2d is not None and detected is not None:
        print("## 4. Root error of the real photos (mm) by its sources\n")
        print(root_sources_table(true_2d, detected) + "\n")
    if 5 in args.tables:
        print(f"## 5. Weights of {args.models[0]}, placed by {args.placement} (MPJPE / P-MPJPE / "
              "median root, mm)\n")
        print(weights_table(sets, args.models[0], args.weights_dirs, args.placement) + "\n",
              flush=True)
    if 6 in args.tables:
        fit["sized"] = world_sized(fit, fit["base"])
        print(f"## 6. Placement of {args.models[0]}'s people (MPJPE / P-MPJPE / median root, "
              "mm; the fit's cost per person)\n")
        print(placement_table({f"{args.fit.name} (settings chosen here)": fit, **sets}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
