"""BlazePose's world landmarks as evidence: body size, root error against depth, and as an input.

Uses the detector outputs on rendered people cached by ``benchmarks/fit_keypoint_map.py``
(``runs/keypoint_map/detections-<set>-<limit>.npz``: BlazePose's 33 keypoints, world landmarks,
visibility, the renders' intrinsics and true camera-space h36m17 joints).

1. **Size and root error against depth** (held-out renders): the default lifter's pose sized by
   the lifter itself, by the world landmarks (``--body-size world_landmarks``, monopose's
   default) and by the true skeleton (an oracle), each placed in the camera by the same solve as
   ``monopose predict``; root error per band of true depth.
2. **World landmarks as a lifter input**: a small residual network on top of the default
   lifter's output, trained on the ``--train`` renders with and without the world landmarks
   (otherwise identical: same data, steps, seed), scored on the held-out renders and, when
   ``../shared/realgt`` is there, on its real photos.

Usage:
    python benchmarks/bench_world_landmarks.py --train train_a-None train_b-None --val val-None
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
import torch

from monopose.core.body_size import WORLD_LANDMARK_SIZE_SCALE, rescale_to_size, skeleton_size_mm
from monopose.core.geometry import place_in_camera
from monopose.core.normalize import normalize_keypoints
from monopose.core.skeleton import convert_layout
from monopose.detect.keypoint_map import (
    KeypointMapSpec,
    h36m_scores_from_blazepose,
    resolve_keypoint_map,
)
from monopose.eval.metrics import mpjpe, p_mpjpe
from monopose.lifting.lifter import Lifter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_keypoint_map import usable  # noqa: E402

WORK = Path("runs/keypoint_map")
REALGT = Path(__file__).resolve().parents[2] / "shared" / "realgt"
DEPTH_BANDS_MM = (0, 3000, 4000, 5000, 6000, 1e9)


def features(z: dict[str, np.ndarray], lifter: Lifter, ok: np.ndarray,
             keypoint_map: KeypointMapSpec = "learned") -> dict[str, np.ndarray]:
    """Per person: truth, the lifter's pose (its own size and world-landmark size), the world
    landmarks in h36m17, normalised 2D, visibility and ``score`` (visibility × presence, a
    derived joint taking its lowest source, as the Estimator scores them); h36m17 made by
    ``keypoint_map`` (the product's by default)."""
    kmap = resolve_keypoint_map(keypoint_map)
    gt_abs = z["pose3d_cam_mm"][ok].astype(np.float64)
    kp = kmap.apply(z["kp33"][ok])
    valid = kmap.valid(z["presence33"][ok] >= 0.5)
    score = h36m_scores_from_blazepose(z["visibility33"][ok] * z["presence33"][ok])
    base = lifter.lift(kp, valid, intrinsics=z["intrinsics"][ok], scores=score)
    wl = kmap.apply(z["world33_m"][ok] * 1000.0)
    wl = wl - wl[:, :1]
    sized, _ = rescale_to_size(base, wl * WORLD_LANDMARK_SIZE_SCALE)  # as the default sizes
    norm, _, _ = normalize_keypoints(kp[:, None], valid[:, None])
    vis = kmap.apply(z["visibility33"][ok][..., None])[..., 0]
    return {"gt_abs": gt_abs, "gt": gt_abs - gt_abs[:, :1], "base": base, "sized": sized,
            "wl": wl, "kp_px": kp, "valid": valid, "kp": norm[:, 0], "vis": vis, "score": score,
            "intrinsics": z["intrinsics"][ok].astype(np.float64)}


def root_errors(f: dict[str, np.ndarray], rel: np.ndarray) -> np.ndarray:
    """``[N]`` mm: the root placed by monopose's solve from ``rel`` against the truth."""
    out = np.empty(len(rel))
    for i in range(len(rel)):
        abs_mm, _ = place_in_camera(f["kp_px"][i], rel[i], f["valid"][i], f["intrinsics"][i])
        out[i] = np.linalg.norm(abs_mm[0] - f["gt_abs"][i, 0])
    return out


def oracle_sized(f: dict[str, np.ndarray]) -> np.ndarray:
    """The lifter's poses at the true skeleton size."""
    return f["base"] * (skeleton_size_mm(f["gt"]) / skeleton_size_mm(f["base"]))[:, None, None]


def size_table(f: dict[str, np.ndarray], rows: dict[str, np.ndarray] | None = None
               ) -> tuple[str, dict]:
    """MPJPE and root error (median, mm) per band of true depth of each row's root-relative
    poses (default: the lifter's own size, the world landmarks' and the true one)."""
    if rows is None:
        rows = {"lifter's own size": f["base"], "world landmarks (default)": f["sized"],
                "true size (oracle)": oracle_sized(f)}
    depth = f["gt_abs"][:, 0, 2]
    bands = list(zip(DEPTH_BANDS_MM[:-1], DEPTH_BANDS_MM[1:], strict=True))
    heads = [f"{a / 1000:.0f}–{b / 1000:.0f} m" if b < 1e8 else f"> {a / 1000:.0f} m"
             for a, b in bands]
    lines = ["| size from | MPJPE | " + " | ".join(f"root error, {h}" for h in heads)
             + " | root error, all | relative depth error |",
             "|---|---|" + "---|" * len(bands) + "---|---|"]
    out: dict = {"people_per_band": [int(((depth >= a) & (depth < b)).sum()) for a, b in bands]}
    for name, rel in rows.items():
        err = root_errors(f, rel)
        per = [float(np.median(err[(depth >= a) & (depth < b)])) for a, b in bands]
        rel_depth = float(np.median(err / depth))
        out[name] = {"mpjpe": mpjpe(rel, f["gt"]), "root_median_per_band": per,
                     "root_median": float(np.median(err)), "relative": rel_depth}
        lines.append(f"| {name} | {out[name]['mpjpe']:.1f} | "
                     + " | ".join(f"{v:.0f}" for v in per)
                     + f" | {out[name]['root_median']:.0f} | {100 * rel_depth:.1f} % |")
    lines.append("| people | | " + " | ".join(str(n) for n in out["people_per_band"]) + " | | |")
    return "\n".join(lines), out


def inputs(f: dict[str, np.ndarray], use_wl: bool) -> torch.Tensor:
    parts = [f["sized"] / 1000.0, f["kp"], f["vis"][..., None]]
    if use_wl:
        parts.append(f["wl"] / 1000.0)
    return torch.tensor(np.concatenate([p.reshape(len(p), -1) for p in parts], 1),
                        dtype=torch.float32)


def train_refiner(tr: dict[str, np.ndarray], use_wl: bool, steps: int, seed: int = 0
                  ) -> torch.nn.Module:
    """A residual MLP on the sized pose (same recipe with and without world landmarks)."""
    torch.manual_seed(seed)
    x = inputs(tr, use_wl)
    y = torch.tensor(((tr["gt"] - tr["sized"]) / 1000.0).reshape(len(x), -1),
                     dtype=torch.float32)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], 512), torch.nn.GELU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(512, 512), torch.nn.GELU(), torch.nn.Dropout(0.1),
        torch.nn.Linear(512, 51))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 1e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(x), (256,), generator=gen)
        loss = (net(x[idx]) - y[idx]).reshape(-1, 17, 3).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return net.eval()


def refine(net: torch.nn.Module, f: dict[str, np.ndarray], use_wl: bool) -> np.ndarray:
    with torch.no_grad():
        out = f["sized"] + net(inputs(f, use_wl)).numpy().reshape(-1, 17, 3) * 1000.0
    return out - out[:, :1]


def realgt_people(lifter: Lifter) -> list[dict[str, np.ndarray]]:
    """The realgt photos as one-person feature sets (the detected person nearest the truth)."""
    from monopose.detect.blazepose import BlazePoseDetector
    from monopose.io.images import read_image

    if not (REALGT / "labels.json").is_file():
        return []
    det = BlazePoseDetector(num_threads=1, min_presence=0.3)
    out = []
    for item in json.loads((REALGT / "labels.json").read_text())["items"]:
        cam = item["camera"]
        gt, _, _ = convert_layout(np.asarray(item["pose3d_camera_mm"], float), "mpi3dhp17",
                                  "h36m17")
        kp_gt, _, _ = convert_layout(np.asarray(item["keypoints2d_px"], float), "mpi3dhp17",
                                     "h36m17")
        people = det.detect(read_image(REALGT / item["image"]))
        if not people:
            continue
        p = min(people, key=lambda q: float(np.linalg.norm(q.keypoints_h36m_px - kp_gt,
                                                           axis=1).mean()))
        z = {"kp33": p.keypoints_px[None], "presence33": p.presence[None],
             "world33_m": p.world_landmarks_m[None], "visibility33": p.visibility[None],
             "intrinsics": np.array([[cam["fx"], cam["fy"], cam["cx"], cam["cy"]]]),
             "pose3d_cam_mm": gt[None]}
        out.append({**features(z, lifter, np.ones(1, bool)), "name": item["image"]})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", default=["train_a-None", "train_b-None"])
    ap.add_argument("--val", default="val-None")
    ap.add_argument("--model", default="mpm-lift-t1")
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    lifter = Lifter(args.model, body_size="lifter")

    def load(name: str) -> dict[str, np.ndarray]:
        z = dict(np.load(WORK / f"detections-{name}.npz"))
        return features(z, lifter, usable(z)[0])

    val = load(args.val)
    parts = [load(n) for n in args.train]
    tr = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    now = dt.datetime.now(dt.UTC)
    print(f"{args.model}; {len(tr['gt'])} training and {len(val['gt'])} held-out rendered "
          f"people; {platform.node()}, {now:%Y-%m-%d %H:%M} UTC\n")
    table, size_res = size_table(val)
    print("Body size and root error (median, mm) against the true depth, held-out renders:\n")
    print(table)

    res: dict = {"size": size_res, "lifter_input": {}}
    real = realgt_people(lifter)
    print("\nWorld landmarks as a lifter input (MPJPE / P-MPJPE, mm):\n")
    print("| model | held-out renders | " + " | ".join(p["name"] for p in real) + " |")
    print("|---|---|" + "---|" * len(real))
    rows = {"world landmarks alone (h36m17 by the learned map)": lambda f: f["wl"],
            f"{args.model}, world-landmark size (default)": lambda f: f["sized"]}
    for use_wl in (False, True):
        net = train_refiner(tr, use_wl, args.steps)
        name = f"+ render-trained refiner, {'with' if use_wl else 'without'} world landmarks"
        rows[name] = lambda f, net=net, use_wl=use_wl: refine(net, f, use_wl)
    for name, fn in rows.items():
        cells = [(mpjpe(fn(f), f["gt"]), p_mpjpe(fn(f), f["gt"])) for f in [val, *real]]
        res["lifter_input"][name] = cells
        print(f"| {name} | " + " | ".join(f"{a:.1f} / {b:.1f}" for a, b in cells) + " |")
    print(f"\n({time.perf_counter() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
