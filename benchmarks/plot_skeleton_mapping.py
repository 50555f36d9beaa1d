"""Draw docs/skeleton_mapping.png: a mapped standing frame from each mocap source (front and side).

Usage: .venv/bin/python benchmarks/plot_skeleton_mapping.py [--out docs/skeleton_mapping.png]
Needs the shared mocap folder ($MONOPOSE_SHARED/mocap, default <repo>/../shared/mocap).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from monopose.core.skeleton import H36M17  # noqa: E402
from monopose.data.bvh import read_bvh  # noqa: E402
from monopose.data.mocap import MAPPINGS, bvh_to_world_mm, map_to_h36m17  # noqa: E402
from monopose.data.mocap_cache import default_mocap_dir  # noqa: E402

CLIPS = {
    "cmu": "cmu/bvh/002_10.bvh.gz",
    "bandai": "bandai/dataset-1/dataset-1_call_normal_002.bvh.gz",
}


def standing_frame(poses: np.ndarray) -> np.ndarray:
    """The most neutral standing frame: legs straight under the hips, arms hanging, head over
    the pelvis (smallest sum of horizontal offsets)."""
    h = poses[..., :2]
    score = np.linalg.norm(h[:, 10] - h[:, 0], axis=-1)
    for a, b, c in ((1, 2, 3), (4, 5, 6), (11, 12, 13), (14, 15, 16)):
        score += np.linalg.norm(h[:, a] - h[:, c], axis=-1)
        score += np.linalg.norm(h[:, b] - 0.5 * (h[:, a] + h[:, c]), axis=-1)
    return poses[int(np.argmin(score))]


def face_viewer(pose: np.ndarray) -> np.ndarray:
    """Rotate about Z so the body faces -Y, pelvis over the origin (heights unchanged)."""
    left = pose[4] - pose[1]
    fwd = np.cross(left, [0.0, 0.0, 1.0])
    ang = np.arctan2(fwd[1], fwd[0])
    a = -np.pi / 2 - ang
    rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    centred = pose - np.array([pose[0, 0], pose[0, 1], 0.0])
    return centred @ rz.T


def draw(ax: plt.Axes, pts2: np.ndarray, title: str) -> None:
    left, right = set(H36M17.left), set(H36M17.right)
    for j, p in enumerate(H36M17.parents):
        if p < 0:
            continue
        col = "tab:blue" if j in left else "tab:red" if j in right else "k"
        ax.plot(*zip(pts2[j], pts2[p], strict=True), color=col, lw=2)
    for j, name in enumerate(H36M17.joint_names):
        col = "tab:blue" if j in left else "tab:red" if j in right else "k"
        ax.scatter(*pts2[j], s=14, color=col, zorder=3)
        ax.annotate(name, pts2[j], fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.set_title(title, fontsize=9)
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    ax.set_xlim(-550, 550)
    ax.set_ylim(-50, 2000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/skeleton_mapping.png")
    args = ap.parse_args()
    root = default_mocap_dir()
    if not root.exists():
        raise SystemExit(f"shared mocap folder {root} not found (set MONOPOSE_SHARED)")
    fig, axes = plt.subplots(1, 4, figsize=(16, 6.5))
    for k, (src, rel) in enumerate(CLIPS.items()):
        poses = bvh_to_world_mm(map_to_h36m17(read_bvh(root / rel), MAPPINGS[src]))
        pose = face_viewer(standing_frame(poses))
        stature = pose[10, 2]
        name = Path(rel).name.removesuffix(".bvh.gz")
        draw(axes[2 * k], pose[:, [0, 2]],
             f"{src} {name}: front (facing you; its left = blue, on your right)\n"
             f"head top {stature:.0f} mm above the floor (z = 0)")
        axes[2 * k].set_xlabel("x (mm)")
        axes[2 * k].set_ylabel("height z (mm)")
        draw(axes[2 * k + 1], np.stack([-pose[:, 1], pose[:, 2]], axis=-1),
             f"{src}: side (facing right)")
        axes[2 * k + 1].set_xlabel("forward (mm)")
    fig.suptitle("H36M-17 from BVH: pelvis = mid-hips, thorax = mid-shoulders, spine = mid "
                 "pelvis-thorax, neck_nose and head_top from the head frame", fontsize=10)
    fig.tight_layout()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".png")
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)
    print(out)


if __name__ == "__main__":
    main()
