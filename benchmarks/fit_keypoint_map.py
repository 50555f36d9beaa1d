"""Learn the BlazePose-33 → h36m17 map on rendered people and compare it with the fixed one.

Runs the detector (tiles off, the fixed map) once on every image of the given render sets,
keeps the person nearest the true 2D, caches the raw keypoints (``--work``), fits
:func:`monopose.detect.keypoint_map.fit_keypoint_map` on the ``--fit`` sets and scores both maps
on the ``--eval`` set (held-out motions): per-joint 2D error as a percentage of the person's
size (the diagonal of the true joints' box), and the mean signed error along the person's own
left-right and up axes (a convention bias shows up there, noise does not).

Usage:
    python benchmarks/fit_keypoint_map.py --fit cache/capf2/renders/train_b \
        --eval cache/capf2/renders/val --limit 3072 --save monopose/detect/blazepose_h36m17_map.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.synthetic.generate import read_shard
from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.keypoint_map import (
    KeypointMap,
    fit_keypoint_map,
    fixed_keypoint_map,
    load_keypoint_map,
    save_keypoint_map,
)

LIMBS = [H36M17.index(n) for n in ("l_knee", "r_knee", "l_elbow", "r_elbow", "l_ankle",
                                   "r_ankle", "l_wrist", "r_wrist")]


def detections(render_dir: Path, work: Path, limit: int | None,
               landmark_model: str = "full") -> dict[str, np.ndarray]:
    """Raw detector keypoints and labels of a render set (cached in ``work``), the keypoints
    from the ``landmark_model`` network (``BlazePoseDetector(landmark_model=...)``)."""
    suffix = "" if landmark_model == "full" else f"-{landmark_model}"
    cache = work / f"detections-{render_dir.name}-{limit}{suffix}.npz"
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    det = BlazePoseDetector(num_threads=1, tiles="off", keypoint_map="fixed",
                            landmark_model=landmark_model)
    out: dict[str, list] = {k: [] for k in ("kp33", "gt", "inside", "visible", "found",
                                            "world33_m", "visibility33", "presence33",
                                            "pose3d_cam_mm", "intrinsics")}
    n = 0
    t0 = time.perf_counter()
    for shard_path in sorted(render_dir.glob("shard-*.npz")):
        shard = read_shard(shard_path)
        for i in range(len(shard)):
            if limit is not None and n >= limit:
                break
            gt = shard.batch.keypoints_2d_gt_px[i, 0].astype(np.float64)
            inside = shard.batch.valid_2d[i, 0].astype(bool)
            people = det.detect(shard.image(i))
            kp33, world, vis, pres = (np.full((33, 2), np.nan), np.full((33, 3), np.nan),
                                      np.zeros(33), np.zeros(33))
            if people:
                d = [np.linalg.norm(p.keypoints_h36m_px[inside] - gt[inside], axis=1).mean()
                     for p in people]
                best = people[int(np.argmin(d))]
                kp33, world = best.keypoints_px, best.world_landmarks_m
                vis, pres = best.visibility, best.presence
            out["kp33"].append(kp33)
            out["world33_m"].append(world)
            out["visibility33"].append(vis)
            out["presence33"].append(pres)
            out["pose3d_cam_mm"].append(shard.batch.pose_3d_cam_mm[i, 0])
            out["intrinsics"].append(shard.batch.intrinsics[i])
            out["gt"].append(gt)
            out["inside"].append(inside)
            out["visible"].append(shard.visible[i].reshape(-1)[:17].astype(bool))
            out["found"].append(bool(people))
            n += 1
    arrays = {k: np.asarray(v) for k, v in out.items()}
    work.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **arrays)
    print(f"{render_dir}: {n} images, {arrays['found'].mean():.1%} found, "
          f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return arrays


def person_size(gt: np.ndarray) -> np.ndarray:
    """``[N]`` diagonal of the true joints' box (px)."""
    return np.linalg.norm(gt.max(axis=1) - gt.min(axis=1), axis=-1)


def usable(d: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(samples with a person not lost, [N, 17] joints that count)."""
    size = person_size(d["gt"])
    fixed = fixed_keypoint_map().apply(np.nan_to_num(d["kp33"]))
    err = np.linalg.norm(fixed - d["gt"], axis=-1)[:, LIMBS]
    ok = d["found"] & (np.median(err, axis=1) < 0.15 * size)  # the detector found this person
    return ok, ok[:, None] & d["inside"]


def body_axes(gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per person, unit 2D axes: left→right hip direction and pelvis→thorax ("up")."""
    lr = gt[:, H36M17.index("l_hip")] - gt[:, H36M17.index("r_hip")]
    up = gt[:, H36M17.index("thorax")] - gt[:, H36M17.index("pelvis")]
    return (lr / np.maximum(np.linalg.norm(lr, axis=-1, keepdims=True), 1e-6),
            up / np.maximum(np.linalg.norm(up, axis=-1, keepdims=True), 1e-6))


def score(kmap: KeypointMap, d: dict[str, np.ndarray]) -> dict[str, list[float]]:
    ok, joint_ok = usable(d)
    size = person_size(d["gt"])
    pred = kmap.apply(np.nan_to_num(d["kp33"]))
    diff = (pred - d["gt"]) / size[:, None, None]
    err = np.linalg.norm(diff, axis=-1)
    lr, up = body_axes(d["gt"])
    along_lr = np.einsum("njd,nd->nj", diff, lr)
    along_up = np.einsum("njd,nd->nj", diff, up)
    # the hips' bias outwards (+ = too wide): left hip along +lr, right hip along −lr
    sign = np.ones(17)
    for n in H36M17.joint_names:
        if n.startswith("r_"):
            sign[H36M17.index(n)] = -1.0
    res: dict[str, list[float]] = {"error_pct": [], "outward_pct": [], "up_pct": []}
    for j in range(17):
        m = joint_ok[:, j]
        res["error_pct"].append(float(100 * err[m, j].mean()))
        res["outward_pct"].append(float(100 * (sign[j] * along_lr[m, j]).mean()))
        res["up_pct"].append(float(100 * along_up[m, j].mean()))
    res["mean_error_pct"] = [float(100 * err[joint_ok].mean())]
    res["samples"] = [int(ok.sum())]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", nargs="+", type=Path, required=True)
    ap.add_argument("--eval", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="images per fit set")
    ap.add_argument("--ridge", type=float, default=1.0)
    ap.add_argument("--work", type=Path, default=Path("runs/keypoint_map"))
    ap.add_argument("--save", type=Path, default=None, help="write the learned map here")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--landmarks", choices=("full", "heavy"), default="full",
                    help="the landmark network whose keypoints are mapped")
    ap.add_argument("--compare", type=Path, default=None,
                    help="also score this saved map (e.g. the shipped one) on the eval set")
    ap.add_argument("--lifter", default=None,
                    help="also lift the eval people's 2D through both maps with this model")
    args = ap.parse_args(argv)

    parts = [detections(p, args.work, args.limit, args.landmarks) for p in args.fit]
    fit = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    ev = detections(args.eval, args.work, None, args.landmarks)
    ok, joint_ok = usable(fit)
    learned = fit_keypoint_map(
        np.nan_to_num(fit["kp33"][ok]), fit["gt"][ok], joint_ok[ok], person_size(fit["gt"][ok]),
        ridge=args.ridge,
        provenance={"data": "rendered people (anny bodies, mocap train split, Human3.6M joint "
                            f"placement), BlazePose {args.landmarks} landmark model, tiles off",
                    "render_sets": [str(p) for p in args.fit], "samples": int(ok.sum()),
                    # the render sets pose people from the whole mocap cache: its licence
                    "data_sources": ["cmu", "bandai"],
                    "ridge": args.ridge, "date": dt.date.today().isoformat(),
                    "command": "python benchmarks/fit_keypoint_map.py " + " ".join(
                        sys.argv[1:] if argv is None else argv)})
    rows = {"fixed": score(fixed_keypoint_map(), ev), "learned": score(learned, ev)}
    if args.compare is not None:
        shipped = score(load_keypoint_map(args.compare), ev)
        print(f"{args.compare} on the eval set: {shipped['mean_error_pct'][0]:.3f} % against "
              f"{rows['learned']['mean_error_pct'][0]:.3f} % refitted here")
    if args.save:
        learned.provenance["eval"] = {"set": str(args.eval), "mean_error_pct":
                                      {k: v["mean_error_pct"][0] for k, v in rows.items()}}
        save_keypoint_map(learned, args.save)
    now = dt.datetime.now(dt.UTC)
    print(f"eval set {args.eval}: {rows['fixed']['samples'][0]} people; "
          f"fit on {int(ok.sum())} ({platform.node()}, {now:%Y-%m-%d %H:%M} UTC)")
    print("| joint | fixed error (% size) | learned | fixed outward bias | learned | "
          "fixed up bias | learned |")
    print("|---|---|---|---|---|---|---|")
    for j, name in enumerate(H36M17.joint_names):
        f, lrn = rows["fixed"], rows["learned"]
        print(f"| {name} | {f['error_pct'][j]:.2f} | {lrn['error_pct'][j]:.2f} | "
              f"{f['outward_pct'][j]:+.2f} | {lrn['outward_pct'][j]:+.2f} | "
              f"{f['up_pct'][j]:+.2f} | {lrn['up_pct'][j]:+.2f} |")
    print(f"| **mean** | {rows['fixed']['mean_error_pct'][0]:.2f} | "
          f"{rows['learned']['mean_error_pct'][0]:.2f} | | | | |")
    if args.lifter:
        rows["lifted"] = lift_both(args.lifter, ev, {"fixed": fixed_keypoint_map(),
                                                     "learned": learned})
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def lift_both(name: str, d: dict[str, np.ndarray], maps: dict[str, KeypointMap]
              ) -> dict[str, list[float]]:
    """MPJPE / P-MPJPE (mm) of a lifter given the detector's 2D through each map."""
    from monopose.eval.metrics import mpjpe, p_mpjpe
    from monopose.lifting.lifter import Lifter

    ok, _ = usable(d)
    gt = d["pose3d_cam_mm"][ok].astype(np.float64)
    gt = gt - gt[:, :1]
    lifter = Lifter(name, body_size="lifter")
    out = {}
    for label, kmap in maps.items():
        pred = lifter.lift(kmap.apply(d["kp33"][ok]), kmap.valid(d["presence33"][ok] >= 0.5),
                           intrinsics=d["intrinsics"][ok])
        out[label] = [mpjpe(pred, gt), p_mpjpe(pred, gt)]
        print(f"{name}, 2D through the {label} map: MPJPE {out[label][0]:.1f} mm, "
              f"P-MPJPE {out[label][1]:.1f} mm ({int(ok.sum())} people)")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
