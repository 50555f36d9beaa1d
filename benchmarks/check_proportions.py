"""Bone lengths of the h36m17 training targets against Human3.6M's reference skeleton.

    .venv/bin/python benchmarks/check_proportions.py [--cache cache/mocap] [--files-per-source 40]
                                                     [--renders DIR ...]

Prints, per bone: the reference (``monopose.data.proportions``), the rigs' own lengths (the
mapping before the change of proportions, on a sample of BVH files per source), the mean of the
mocap cache (what the lifters train on, before the sampler's body-size augmentation), and the
two real MPI-INF-3DHP frames of ``../shared/realgt`` converted to h36m17 — an independent check
that the reference fits a second marker-based dataset. ``--renders`` adds the labels of rendered
people (``monopose data render`` shards: anny bodies from children to tall adults, so their mean
follows the bodies' mean size), with their ratio to the reference in the last column.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from monopose.core.skeleton import convert_layout
from monopose.data.bvh import read_bvh
from monopose.data.mocap import MAPPINGS, bvh_to_world_mm, map_to_h36m17
from monopose.data.mocap_cache import find_bvh_files
from monopose.data.proportions import H36M_BONE_LENGTHS_MM, bone_lengths_mm

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MONOPOSE_SHARED", REPO.parent / "shared"))


def rig_lengths(source: str, num_files: int) -> dict[str, float]:
    files = find_bvh_files([SHARED / "mocap" / source])[::max(1, 1552 // num_files)][:num_files]
    poses = np.concatenate([bvh_to_world_mm(map_to_h36m17(read_bvh(f), MAPPINGS[source]))[::10]
                            for f in files])
    return {k: float(v.mean()) for k, v in bone_lengths_mm(poses).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=REPO / "cache" / "mocap")
    parser.add_argument("--files-per-source", type=int, default=40)
    parser.add_argument("--renders", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    columns: dict[str, dict[str, float]] = {"Human3.6M reference": H36M_BONE_LENGTHS_MM}
    for src in ("cmu", "bandai"):
        columns[f"{src} rig"] = rig_lengths(src, args.files_per_source)
    cache = np.load(args.cache / "mocap.npz", allow_pickle=False)["poses_mm"][::20]
    columns["training targets"] = {k: float(v.mean()) for k, v in bone_lengths_mm(cache).items()}
    labels = json.loads((SHARED / "realgt" / "labels.json").read_text())
    for k, item in enumerate(labels["items"]):
        h36m, _, _ = convert_layout(np.asarray(item["pose3d_camera_mm"]), "mpi3dhp17", "h36m17")
        columns[f"3DHP frame {k + 1}"] = {n: float(v) for n, v in bone_lengths_mm(h36m).items()}
    if args.renders:
        shards = [p for d in args.renders for p in sorted(d.glob("shard-*.npz"))]
        poses = np.concatenate([np.load(p)["pose_3d_cam_mm"][:, 0] for p in shards])
        columns[f"rendered people ({len(poses)})"] = {
            k: float(v.mean()) for k, v in bone_lengths_mm(poses).items()}
    names = list(columns)
    extra = " | renders vs reference" if args.renders else ""
    print("| bone (child joint) | " + " | ".join(names) + f" | targets vs reference{extra} |")
    print("|---" * (len(names) + 2 + bool(args.renders)) + "|")
    for bone, ref in H36M_BONE_LENGTHS_MM.items():
        cells = [f"{columns[n][bone]:.0f}" for n in names]
        ratio = columns["training targets"][bone] / ref - 1
        tail = f" | {100 * (columns[names[-1]][bone] / ref - 1):+.1f} %" if args.renders else ""
        print(f"| {bone} | " + " | ".join(cells) + f" | {100 * ratio:+.1f} %{tail} |")


if __name__ == "__main__":
    main()
