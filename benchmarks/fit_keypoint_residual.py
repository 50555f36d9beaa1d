"""A pose-conditioned correction on top of the learned BlazePose → h36m17 map, measured.

The learned map (:mod:`monopose.detect.keypoint_map`) places each h36m17 joint as one affine
combination of BlazePose keypoints, whatever the posture; BENCHMARKS.md shows that it cannot
place the pelvis of people standing and of people sitting on the floor at once. This fits a
small MLP that reads the person's 33 keypoints (centred on the mapped pelvis, divided by the
body's spread) and moves the joints whose definition differs between the two conventions
(pelvis, hips, spine, thorax, neck, head top, shoulders); BlazePose's own knees, ankles, elbows
and wrists stay as mapped. Fitted on the detections of the training render sets (mirrored too),
scored on held-out ones: the 2D error, the default lifter's 3D from it (sized and placed as
``monopose predict`` does), and the whole pipeline on the realgt photos and the media photos.

    .venv/bin/python benchmarks/fit_keypoint_residual.py --fit floorsits floorsits2 general \
        general2 postures postures2 train_b --eval val renders_postures renders_floorsits

Set names are the cached detections in ``runs/keypoint_map`` (``fit_keypoint_map.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from monopose.core.skeleton import BLAZEPOSE33, H36M17
from monopose.detect.keypoint_map import KeypointMap, resolve_keypoint_map
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detector_errors import GROUPS  # noqa: E402
from bench_lift_variants import placed_scores, render_people, world_sized  # noqa: E402
from fit_keypoint_map import person_size, usable  # noqa: E402

WORK = Path("runs/keypoint_map")
# BlazePose's shoulders, elbows, wrists, hips, knees, ankles: the spread that sets the scale
BODY = [BLAZEPOSE33.index(n) for n in ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
                                       "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee",
                                       "r_knee", "l_ankle", "r_ankle")]
# the joints a convention places (the correction moves only these)
CONVENTION = [H36M17.index(n) for n in ("pelvis", "r_hip", "l_hip", "spine", "thorax",
                                        "neck_nose", "head_top", "l_shoulder", "r_shoulder")]
CONVENTION_MASK = np.isin(np.arange(17), CONVENTION).astype(np.float64)[:, None]  # [17, 1]


@dataclass(frozen=True)
class ResidualMap(KeypointMap):
    """The learned affine map plus an MLP's correction of :data:`CONVENTION` joints in 2D
    (3D points, such as world landmarks, get the affine map alone)."""

    net: torch.nn.Module | None = None

    def apply(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, dtype=np.float64)
        out = super().apply(p)
        if p.shape[-1] != 2 or self.net is None:
            return out
        flat, mapped = p.reshape(-1, 33, 2), out.reshape(-1, 17, 2)
        x, centre, scale = normalised(flat, mapped)
        with torch.no_grad():
            res = self.net(torch.as_tensor(x, dtype=torch.float32)).numpy().reshape(-1, 17, 2)
        return (mapped + res * CONVENTION_MASK * scale).reshape(out.shape)


def normalised(kp33: np.ndarray, mapped: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features [N, 66], centre [N, 1, 2], scale [N, 1, 1])``: the keypoints about the
    mapped pelvis, in units of the body's spread."""
    centre = mapped[:, :1]
    scale = np.sqrt(((kp33[:, BODY] - centre) ** 2).sum(-1).mean(-1))[:, None, None]
    scale = np.where(scale > 0, scale, 1.0)
    return ((kp33 - centre) / scale).reshape(len(kp33), -1), centre, scale


def people(names: list[str], mirrored: bool) -> dict[str, np.ndarray]:
    """Usable detected people of cached sets: features, mapped and true joints (normalised),
    the joints that count; with ``mirrored``, every person also seen mirrored."""
    affine = resolve_keypoint_map("learned")
    parts = [dict(np.load(WORK / f"detections-{n}-None.npz")) for n in names]
    d = {k: np.concatenate([p[k] for p in parts]) for k in ("kp33", "gt", "inside", "found")}
    ok, joint_ok = usable(d)
    kp, gt = np.nan_to_num(d["kp33"][ok]), d["gt"][ok]
    out = {"kp": [kp], "gt": [gt], "joint_ok": [joint_ok[ok]]}
    if mirrored:
        out["kp"].append(kp[:, BLAZEPOSE33.flip_permutation] * [-1.0, 1.0])
        out["gt"].append(gt[:, H36M17.flip_permutation] * [-1.0, 1.0])
        out["joint_ok"].append(joint_ok[ok][:, H36M17.flip_permutation])
    kp, gt = np.concatenate(out["kp"]), np.concatenate(out["gt"])
    mapped = affine.apply(kp)
    x, centre, scale = normalised(kp, mapped)
    return {"x": x, "mapped": (mapped - centre) / scale, "gt": (gt - centre) / scale,
            "joint_ok": np.concatenate(out["joint_ok"]), "scale": scale[:, 0, 0],
            "size": person_size(gt)}


def fit(train: dict[str, np.ndarray], steps: int, hidden: int, seed: int = 0
        ) -> torch.nn.Module:
    """The MLP, trained on the mean distance of the corrected joints to the truth."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(66, hidden), torch.nn.GELU(),
                              torch.nn.Linear(hidden, hidden), torch.nn.GELU(),
                              torch.nn.Linear(hidden, 34))
    torch.nn.init.zeros_(net[-1].weight)  # starts as the affine map
    torch.nn.init.zeros_(net[-1].bias)
    x, base, gt = (torch.as_tensor(train[k], dtype=torch.float32) for k in ("x", "mapped", "gt"))
    weight = torch.as_tensor(train["joint_ok"], dtype=torch.float32)
    m = torch.as_tensor(CONVENTION_MASK, dtype=torch.float32)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (512,), generator=gen)
        pred = base[idx] + net(x[idx]).view(-1, 17, 2) * m
        err = torch.linalg.norm(pred - gt[idx], dim=-1)
        loss = (err * weight[idx]).sum() / weight[idx].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def table_2d(net: torch.nn.Module, sets: list[str]) -> str:
    """Mean 2D error (% of the person's size) per joint group, affine map and corrected."""
    lines = ["| set | map | all | " + " | ".join(GROUPS) + " |",
             "|---|---|---|" + "---|" * len(GROUPS)]
    for name in sets:
        d = people([name], mirrored=False)
        with torch.no_grad():
            res = net(torch.as_tensor(d["x"], dtype=torch.float32)).numpy().reshape(-1, 17, 2)
        for label, pred in (("affine (shipped)", d["mapped"]),
                            ("affine + correction", d["mapped"] + res * CONVENTION_MASK)):
            err = (np.linalg.norm(pred - d["gt"], axis=-1) * d["scale"][:, None]
                   / d["size"][:, None] * 100)
            ok = d["joint_ok"]
            cells = [err[ok].mean()] + [err[:, idx][ok[:, idx]].mean() for idx in (
                [H36M17.index(j) for j in joints] for joints in GROUPS.values())]
            lines.append(f"| {name} ({len(err)}) | {label} | "
                         + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def table_3d(kmap: ResidualMap, sets: list[str]) -> str:
    """The default lifter from each map's 2D on the held-out renders (mm)."""
    lifter = Lifter("mpm-lift-t1", body_size="lifter")
    lines = ["| set | map | MPJPE / P-MPJPE / median root |", "|---|---|---|"]
    for label, km in (("affine (shipped)", resolve_keypoint_map("learned")),
                      ("affine + correction", kmap)):
        for name in sets:
            folder = next(p for p in (Path("cache") / name, Path("cache/capf2/renders") / name)
                          if (p / "index.json").is_file())
            f = render_people(folder, lifter, km)
            f["sized"] = world_sized(f, f["base"])
            lines.append(f"| {name} | {label} | {placed_scores(f, 'ray_fit', None)[0]} |")
    return "\n".join(lines)


def photo_tables(kmap: ResidualMap) -> str:
    """The whole pipeline on the realgt photos and the media photos, with each map."""
    from bench_realgt import (
        MEDIA_PHOTOS,
        SHARED,
        Person3d,
        load_truths,
        media_rows,
        media_table,
        nearest_person,
        unique_photos,
    )

    from monopose.detect.blazepose import BlazePoseDetector
    from monopose.eval.photo_scores import score_person as score
    from monopose.pipeline.estimator import Estimator

    lines = ["| map | photo | MPJPE / P-MPJPE / root (mm) | 2D error (px) |", "|---|---|---|---|"]
    media: list[dict] = []
    for label, km in (("affine (shipped)", resolve_keypoint_map("learned")),
                      ("affine + correction", kmap)):
        est = Estimator(detector=BlazePoseDetector(keypoint_map=km))

        def run(path, intrinsics, est=est):  # type: ignore[no-untyped-def]
            found = est.predict(path, intrinsics=intrinsics).frames[0].people
            found = sorted(found, key=lambda p: float(p.box_xyxy_px[0] + p.box_xyxy_px[2]))
            return [Person3d(p.pose_3d_rel_mm, p.pose_3d_abs_mm, p.keypoints_2d_px)
                    for p in found]

        if (SHARED / "realgt" / "labels.json").is_file():
            for truth in load_truths(SHARED / "realgt"):
                person = nearest_person(run(truth.path, truth.intrinsics), truth)
                if person is None:
                    lines.append(f"| {label} | {truth.path.stem} | nobody | |")
                    continue
                r = score(person, truth)
                lines.append(f"| {label} | {truth.path.stem} | {r['mpjpe_mm']:.0f} / "
                             f"{r['p_mpjpe_mm']:.0f} / {r['root_error_mm']:.0f} | "
                             f"{r['kp2d_error_px']:.1f} |")
        media += media_rows(label, run, unique_photos(MEDIA_PHOTOS)[0])
    return "\n".join(lines) + "\n\n" + media_table(media)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", nargs="+", required=True, help="cached detection sets to fit on")
    ap.add_argument("--eval", nargs="+", required=True, help="held-out cached detection sets")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--hidden", type=int, default=256)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    now = dt.datetime.now(dt.UTC)
    print(f"# fit_keypoint_residual: {platform.node()}, {platform.machine()}, "
          f"{now:%Y-%m-%d %H:%M} UTC\n")
    train = people(args.fit, mirrored=True)
    print(f"Fitted on {len(train['x'])} people (mirrored included), {args.steps} steps.\n")
    net = fit(train, args.steps, args.hidden)
    affine = resolve_keypoint_map("learned")
    kmap = ResidualMap(affine.weights, affine.uses, "learned+correction", net=net)
    print("## 2D error, % of the person's size (mean)\n\n" + table_2d(net, args.eval) + "\n")
    print("## The default lifter's 3D on held-out renders\n\n" + table_3d(kmap, args.eval) + "\n")
    print("## The whole pipeline on photos\n\n" + photo_tables(kmap))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
