"""Distributions of the training sampler's cameras and bodies (the tables of docs/sampler.md).

Usage:
    .venv/bin/python benchmarks/print_sampler_stats.py [--cache cache/mocap] [--n 20000]
        [--seed 0] [--split train]

Draws ``n`` single-frame samples with the default :class:`SamplerConfig` (``--legacy``: the
earlier camera and body defaults, for comparison) from the mocap cache
(build it first with ``monopose data mocap`` if missing) and prints Markdown tables: the share of
each camera kind, percentiles of camera height, distance, pitch (look-down angle), field of view
(as drawn and as seen after the fit and truncation), the pelvis's offset from the image centre
(fraction of the half-width / half-height), and the stature (global scale × 1.70 m, and the
head-top-to-ankle bone chain of the scaled 3D skeleton).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402

import numpy as np  # noqa: E402

from monopose.core.skeleton import H36M17  # noqa: E402
from monopose.data.camera_mix import CAMERA_KINDS, LEGACY_CAMERAS  # noqa: E402
from monopose.data.mocap_cache import MocapCache  # noqa: E402
from monopose.data.sampler import NOMINAL_STATURE_MM, MocapSampler, SamplerConfig  # noqa: E402

PCTS = (1, 5, 25, 50, 75, 95, 99)
# Head top to ankle along the bones: head, neck, thorax, spine, then the mean of both legs.
_CHAIN = ((10, 9), (9, 8), (8, 7), (7, 0))
_LEGS = (((1, 2), (2, 3)), ((4, 5), (5, 6)))


def chain_length_mm(pose_mm: np.ndarray) -> np.ndarray:
    """Head-top-to-ankle bone chain ``[B]`` of ``[B, J, 3]`` poses (a standing-equivalent
    stature without the ankle's height over the floor)."""
    def bone(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(pose_mm[:, a] - pose_mm[:, b], axis=-1)

    upper = sum(bone(a, b) for a, b in _CHAIN)
    legs = [sum(bone(a, b) for a, b in leg) for leg in _LEGS]
    return upper + 0.5 * (legs[0] + legs[1])


def row(name: str, values: np.ndarray, fmt: str = "{:.0f}") -> str:
    if len(values) == 0:
        return f"| {name} | 0 |" + " – |" * len(PCTS)
    cells = " | ".join(fmt.format(v) for v in np.percentile(values, PCTS))
    return f"| {name} | {len(values)} | {cells} |"


def table(title: str, rows: list[str]) -> None:
    print(f"\n**{title}**\n")
    print("| | n | " + " | ".join(f"p{p}" for p in PCTS) + " |")
    print("|---|---:|" + "---:|" * len(PCTS))
    print("\n".join(rows))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default="cache/mocap")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="train")
    ap.add_argument("--legacy", action="store_true",
                    help="the earlier defaults: ring or random cameras aimed at the pelvis, adults")
    args = ap.parse_args()

    cfg = SamplerConfig(**LEGACY_CAMERAS, child_prob=0.0) if args.legacy else SamplerConfig()
    sampler = MocapSampler(MocapCache.load(args.cache), args.split, 1, cfg, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    parts = []
    for lo in range(0, args.n, 2000):
        pick = rng.choice(len(sampler.starts), size=min(2000, args.n - lo))
        parts.append(sampler.make_batch_with_info(sampler.starts[pick], rng))
    cat = np.concatenate
    kind = cat([i.camera_kind for _, i in parts])
    height = cat([i.camera_height_mm for _, i in parts]) / 1000.0
    dist = cat([i.camera_distance_mm for _, i in parts]) / 1000.0
    pitch = cat([i.pitch_deg for _, i in parts])
    fov = cat([i.fov_deg for _, i in parts])
    scale = cat([i.global_scale for _, i in parts])
    intr = cat([b.intrinsics for b, _ in parts]).astype(np.float64)
    size = cat([b.image_size_px for b, _ in parts]).astype(np.float64)
    pelvis = cat([b.keypoints_2d_gt_px[:, 0, H36M17.index("pelvis")] for b, _ in parts])
    pose = cat([b.pose_3d_cam_mm[:, 0] for b, _ in parts]).astype(np.float64)
    fov_seen = np.rad2deg(2 * np.arctan(0.5 * size.max(axis=1) / intr[:, 0]))
    off = np.abs(pelvis - size / 2.0) / (size / 2.0)  # [N, 2] of the half-width / -height
    stature = scale * NOMINAL_STATURE_MM / 1000.0

    which = "the earlier defaults (--legacy)" if args.legacy else "default SamplerConfig"
    print(f"{args.n} samples, split {args.split}, seed {args.seed}, {which}")
    probs = cfg.camera_kind_probs()
    print("\n**Camera kinds**\n\n| kind | configured | drawn |\n|---|---:|---:|")
    for k, name in enumerate(CAMERA_KINDS):
        print(f"| {name} | {probs[name]:.3f} | {(kind == k).mean():.3f} |")

    quantities = (
        ("Camera height over the floor (m)", height, "{:.2f}"),
        ("Camera distance to the pelvis (m)", dist, "{:.2f}"),
        ("Pitch, look-down angle (deg; negative looks up)", pitch, "{:.1f}"),
        ("Field of view as drawn (deg, longer side)", fov, "{:.0f}"),
        ("Field of view after the fit and truncation (deg, longer side)", fov_seen, "{:.0f}"),
        ("Pelvis offset from the image centre, x (fraction of the half-width)", off[:, 0],
         "{:.2f}"),
        ("Pelvis offset from the image centre, y (fraction of the half-height)", off[:, 1],
         "{:.2f}"),
    )
    for title, values, fmt in quantities:
        rows = [row("all", values, fmt)]
        rows += [row(name, values[kind == k], fmt) for k, name in enumerate(CAMERA_KINDS)]
        table(title, rows)

    print("\n**Camera distance to the pelvis (share of samples)**\n")
    print("| | < 2 m | 2–6 m | 6–12 m | ≥ 12 m |\n|---|---:|---:|---:|---:|")
    for name, m in [("all", np.ones(len(kind), bool))] + [
            (n, kind == k) for k, n in enumerate(CAMERA_KINDS)]:
        shares = np.histogram(dist[m], (0.0, 2.0, 6.0, 12.0, np.inf))[0] / max(m.sum(), 1)
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in shares) + " |")

    print("\n**Pitch, look-down angle (share of samples)**\n")
    print("| | < −10° (up) | −10–0° | 0–10° | 10–20° | ≥ 20° (down) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in [("all", np.ones(len(kind), bool))] + [
            (n, kind == k) for k, n in enumerate(CAMERA_KINDS)]:
        shares = np.histogram(pitch[m], (-90.0, -10.0, 0.0, 10.0, 20.0, 90.0))[0] / max(m.sum(), 1)
        print(f"| {name} | " + " | ".join(f"{v:.2f}" for v in shares) + " |")

    print("\n**Pelvis off-centre (share of samples)**\n")
    print("| | x > 0.3 | x > 0.5 | x > 0.8 | y > 0.3 | y > 0.5 |\n|---|---:|---:|---:|---:|---:|")
    for name, m in [("all", np.ones(len(kind), bool))] + [
            (n, kind == k) for k, n in enumerate(CAMERA_KINDS)]:
        ox, oy = off[m, 0], off[m, 1]
        print(f"| {name} | {(ox > 0.3).mean():.2f} | {(ox > 0.5).mean():.2f} | "
              f"{(ox > 0.8).mean():.2f} | {(oy > 0.3).mean():.2f} | {(oy > 0.5).mean():.2f} |")

    child = scale < cfg.child_scale_range[1]
    table("Stature", [
        row("global scale", scale, "{:.2f}"),
        row("global scale × 1.70 m (m)", stature, "{:.2f}"),
        row("head-top-to-ankle bone chain (m)", chain_length_mm(pose) / 1000.0, "{:.2f}"),
        row("chain, children (m)", chain_length_mm(pose[child]) / 1000.0, "{:.2f}"),
        row("chain, adults (m)", chain_length_mm(pose[~child]) / 1000.0, "{:.2f}"),
    ])
    bins = (0.0, 1.2, 1.5, 1.9, 9.0)
    print("\n| stature (global × 1.70 m) | < 1.2 m | 1.2–1.5 m | 1.5–1.9 m | ≥ 1.9 m |")
    print("|---|---:|---:|---:|---:|")
    shares = np.histogram(stature, bins)[0] / len(stature)
    print("| share | " + " | ".join(f"{s:.3f}" for s in shares) + " |")
    # children's proportions: head and legs relative to the chain
    head = np.linalg.norm(pose[:, 10] - pose[:, 9], axis=-1) / chain_length_mm(pose)
    leg = np.linalg.norm(pose[:, 1] - pose[:, 2], axis=-1) + np.linalg.norm(
        pose[:, 2] - pose[:, 3], axis=-1)
    leg = leg / chain_length_mm(pose)
    print("\n| proportions (median, of the chain) | head top to neck/nose | right leg |")
    print("|---|---:|---:|")
    for name, m in (("children (scale < 0.88)", child), ("adults", ~child)):
        if not m.any():
            continue
        print(f"| {name} | {np.median(head[m]):.3f} | {np.median(leg[m]):.3f} |")


if __name__ == "__main__":
    main()
