"""Lifting error against the person's distance from the image centre (perspective-aware lifting).

    .venv/bin/python benchmarks/bench_off_centre.py --models poseformer-t1 \
        poseformer-t1-imageframe=runs/ablation [--n 1500] [--noise none]

Held-out mocap (the cache's ``test`` split, the fixed evaluation cameras aimed at the pelvis)
is turned about each camera's centre so that the person's pelvis appears at a chosen angle off
the optical axis (0–40°, in a random direction), then projected again with the same
intrinsics: the same bodies and poses, seen nearer the edge of a wider picture. Every model
lifts the same 2D with the camera's intrinsics; errors are root-relative MPJPE / P-MPJPE in
the camera frame (mm). ``NAME=FOLDER`` loads a model's weights from another folder (an
ablation that is not shipped).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from monopose.core.camera import project_points
from monopose.core.virtual_camera import look_at_rotations
from monopose.data.sampler import make_eval_batch
from monopose.eval.metrics import mpjpe_per_sample, p_mpjpe_per_sample

REPO = Path(__file__).resolve().parents[1]
ANGLES_DEG = (0.0, 10.0, 20.0, 30.0, 40.0)


def off_axis_views(pose_cam_mm: np.ndarray, angle_deg: float, rng: np.random.Generator
                   ) -> np.ndarray:
    """``[N, J, 3]`` poses turned about the camera centre so the pelvis is ``angle_deg`` off axis.

    The turn is the smallest rotation taking the optical axis to a ray at that angle (random
    azimuth), applied to the whole body: what the camera sees is the same person, nearer the
    picture's edge.
    """
    n = pose_cam_mm.shape[0]
    az = rng.uniform(0, 2 * np.pi, n)
    t = np.tan(np.radians(angle_deg))
    rays = np.stack([t * np.cos(az), t * np.sin(az), np.ones(n)], axis=-1)
    to_axis = look_at_rotations(rays)  # ray -> axis; its transpose takes the axis to the ray
    # Pelvis on the axis first (the evaluation cameras aim at it, up to rounding).
    on_axis = pose_cam_mm @ look_at_rotations(pose_cam_mm[:, 0]).transpose(0, 2, 1)
    return np.einsum("nij,nkj->nki", to_axis.transpose(0, 2, 1), on_axis)


def load(spec: str):  # type: ignore[no-untyped-def]
    """``NAME`` (registered) or ``NAME=FOLDER`` (``FOLDER/NAME.safetensors``; an unregistered
    file lifts the 2D as it lies in the picture unless its card says otherwise)."""
    from monopose.lifting.lifter import Lifter
    from monopose.models.weights_io import load_weights
    from monopose.zoo import list_models

    name, _, folder = spec.partition("=")
    if name in {c.name for c in list_models()}:
        return name, Lifter(name, weights_dir=folder or None, flip=False)
    module, info = load_weights(Path(folder) / f"{name}.safetensors")
    return name, Lifter.from_module(module, None, flip=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--cache", type=Path, default=REPO / "cache" / "mocap")
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--noise", default="none", choices=("none", "detector"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    started = time.time()
    batch = make_eval_batch(args.cache, "test", n=args.n, noise="none", seed=0)
    pose = np.asarray(batch.pose_3d_cam_mm[:, 0], dtype=np.float64)
    intr = np.asarray(batch.intrinsics, dtype=np.float64)
    rng = np.random.default_rng(0)
    lifters = [load(s) for s in args.models]
    rows: dict[str, dict[str, list[float]]] = {name: {"mpjpe": [], "p_mpjpe": []}
                                               for name, _ in lifters}
    for angle in ANGLES_DEG:
        seen = off_axis_views(pose, angle, rng)
        kp = project_points(seen, intr)
        if args.noise == "detector":
            size_px = np.ptp(kp, axis=1).max(-1)[:, None, None]
            kp = kp + rng.normal(0, 1, kp.shape) * 0.02 * size_px  # ~2 % of the body, per joint
        rel = seen - seen[:, :1]
        for name, lifter in lifters:
            pred = lifter.lift(kp, intrinsics=intr)
            rows[name]["mpjpe"].append(float(mpjpe_per_sample(pred, rel).mean()))
            rows[name]["p_mpjpe"].append(float(p_mpjpe_per_sample(pred, rel).mean()))
    print(f"{args.n} held-out mocap poses per angle, 2D noise {args.noise}, "
          f"{time.time() - started:.0f} s")
    print("| model | " + " | ".join(f"{a:.0f}°" for a in ANGLES_DEG) + " | 40° / 0° |")
    print("|---" * (len(ANGLES_DEG) + 2) + "|")
    for name, vals in rows.items():
        m = vals["mpjpe"]
        print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in m) + f" | {m[-1] / m[0]:.2f} |")
    if args.json is not None:
        args.json.write_text(json.dumps({"angles_deg": ANGLES_DEG, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
