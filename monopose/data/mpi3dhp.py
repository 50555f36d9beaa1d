"""MPI-INF-3DHP test set (TS1–TS6) read into PoseBatches.

Each sequence folder ``TSk`` holds ``annot_data.mat`` (MATLAB v7.3 = HDF5, read with ``h5py``;
dimensions come out reversed) with the keys

* ``annot2``: 2D px, MATLAB ``2 × 17 × 1 × n`` → ``(n, 1, 17, 2)``;
* ``annot3``: 3D camera-space mm, ``(n, 1, 17, 3)``;
* ``univ_annot3``: 3D mm rescaled to the universal (H36M-height) skeleton, ``(n, 1, 17, 3)``;
  the official evaluation scores against it (root = pelvis); it does not reproject onto
  ``annot2``;
* ``valid_frame``: 0/1 per frame; ``activity_annotation``: 1..7 per frame
  (:data:`MPI3DHP_ACTIVITIES`).

Joints are in the 17-joint 3DHP test order (``mpi3dhp17``, pelvis = index 14); they are returned
in ``h36m17`` (a pure re-ordering: thorax ← neck, neck_nose ← head) unless asked otherwise.
Intrinsics per sequence (REFERENCE §2.6): TS1–TS4 2048×2048 without distortion, TS5–TS6
1920×1080 with distortion.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from monopose.core.skeleton import get_conversion
from monopose.data.sample import PoseBatch

__all__ = [
    "MPI3DHP_TEST_SEQUENCES",
    "MPI3DHP_ACTIVITIES",
    "MPI3DHP_TEST_CAMERAS",
    "MPI3DHPSequence",
    "read_3dhp_annotations",
    "load_3dhp_test",
    "mpi3dhp_batch",
    "mpi3dhp_photo_labels",
    "STUDIO_SEQUENCES",
]

MPI3DHP_TEST_SEQUENCES = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
MPI3DHP_ACTIVITIES = {
    1: "Standing/Walking", 2: "Exercising", 3: "Sitting", 4: "Reaching/Crouching",
    5: "On The Floor", 6: "Sports", 7: "Miscellaneous",
}
# sensor 10 mm, f = 7.32506 mm on 2048 px, pixel aspect 1.00044 (TS1–4); TS5–6 from calibration.
_F_STUDIO = 7.32506 / 10.0 * 2048.0
_STUDIO = ((_F_STUDIO, _F_STUDIO * 1.00044, 1017.39, 1043.03), (0.0,) * 5, (2048, 2048))
_OUTDOOR = ((1683.98, 1672.59, 939.86, 560.14),
            (-0.27686, 0.13113, -0.04932, -0.00036, -0.00115), (1920, 1080))
MPI3DHP_TEST_CAMERAS: dict[str, tuple[tuple[float, ...], tuple[float, ...], tuple[int, int]]] = {
    "TS1": _STUDIO, "TS2": _STUDIO, "TS3": _STUDIO, "TS4": _STUDIO,
    "TS5": _OUTDOOR, "TS6": _OUTDOOR,
}
STUDIO_SEQUENCES = ("TS1", "TS2", "TS3", "TS4")  # pinhole; TS5–TS6 have lens distortion
_KEYS = ("annot2", "annot3", "univ_annot3", "valid_frame", "activity_annotation")


@dataclass
class MPI3DHPSequence:
    """One test sequence (all frames; filter with ``valid``).

    Attributes:
        name: ``"TS1"``…``"TS6"``.
        keypoints_2d_px: ``[n, 17, 2]``.
        pose_3d_cam_mm: ``[n, 17, 3]`` (``annot3``).
        pose_3d_univ_mm: ``[n, 17, 3]`` (``univ_annot3``).
        valid: ``[n]`` bool valid frames.
        activity: ``[n]`` int activity ids 1..7.
        intrinsics: ``(4,)`` fx, fy, cx, cy; ``dist``: ``(5,)``; ``image_size``: (w, h).
        layout: ``"h36m17"`` or ``"mpi3dhp17"``.
    """

    name: str
    keypoints_2d_px: np.ndarray
    pose_3d_cam_mm: np.ndarray
    pose_3d_univ_mm: np.ndarray
    valid: np.ndarray
    activity: np.ndarray
    intrinsics: np.ndarray
    dist: np.ndarray
    image_size: tuple[int, int]
    layout: str = "h36m17"


def _points(arr: np.ndarray, dim: int, key: str, path: Path) -> np.ndarray:
    """h5py arrays of MATLAB ``dim × 17 × 1 × n`` → ``(n, 17, dim)``."""
    a = np.asarray(arr, dtype=np.float64)
    if a.ndim < 2 or a.shape[-1] != dim or a.shape[-2] != 17:
        # MATLAB files saved without the singleton axis or transposed tools: try the reverse.
        if a.ndim >= 2 and a.shape[0] == dim and a.shape[1] == 17:
            a = np.moveaxis(a.reshape(dim, 17, -1), -1, 0)
        else:
            raise ValueError(f"{path}: key {key!r} has shape {a.shape}, expected (n, 1, 17, {dim})")
    return a.reshape(-1, 17, dim)


def read_3dhp_annotations(path: str | Path) -> dict[str, np.ndarray]:
    """Arrays of one ``annot_data.mat``: ``annot2 (n,17,2)``, ``annot3``/``univ_annot3
    (n,17,3)``, ``valid_frame (n,)`` bool, ``activity_annotation (n,)`` int.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: not an HDF5 (v7.3) MAT file, a missing key (named), or inconsistent shapes.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a MATLAB v7.3 (HDF5) file ({exc})") from None
    with fh:
        missing = [k for k in _KEYS if k not in fh]
        if missing:
            raise ValueError(f"{path}: missing key(s) {', '.join(missing)} "
                             f"(found {sorted(fh.keys())})")
        out = {
            "annot2": _points(fh["annot2"][()], 2, "annot2", path),
            "annot3": _points(fh["annot3"][()], 3, "annot3", path),
            "univ_annot3": _points(fh["univ_annot3"][()], 3, "univ_annot3", path),
            "valid_frame": np.asarray(fh["valid_frame"][()]).ravel() > 0.5,
            "activity_annotation": np.asarray(fh["activity_annotation"][()]).ravel()
            .round().astype(np.int64),
        }
    n = len(out["annot2"])
    for k, v in out.items():
        if len(v) != n:
            raise ValueError(f"{path}: key {k!r} has {len(v)} frames, annot2 has {n}")
    return out


def load_3dhp_test(
    root: str | Path,
    sequences: Sequence[str] = MPI3DHP_TEST_SEQUENCES,
    layout: str = "h36m17",
) -> list[MPI3DHPSequence]:
    """Read ``root/TSk/annot_data.mat`` for the given sequences.

    Args:
        root: Folder holding ``TS1`` … ``TS6`` (``mpi_inf_3dhp_test_set``).
        sequences: Sequence names.
        layout: ``"h36m17"`` (re-ordered) or ``"mpi3dhp17"`` (as stored).
    """
    if layout not in ("h36m17", "mpi3dhp17"):
        raise ValueError(f"layout: expected 'h36m17' or 'mpi3dhp17', got {layout!r}")
    perm = None
    if layout == "h36m17":
        conv = get_conversion("mpi3dhp17", "h36m17")
        if not (conv.available.all() and not conv.derived.any()):
            raise AssertionError("mpi3dhp17 → h36m17 is expected to be a permutation")
        perm = conv.weights.argmax(axis=1)
    out = []
    for name in sequences:
        if name not in MPI3DHP_TEST_CAMERAS:
            raise ValueError(f"sequences: unknown {name!r}; expected some of "
                             f"{list(MPI3DHP_TEST_CAMERAS)}")
        ann = read_3dhp_annotations(Path(root) / name / "annot_data.mat")
        intr, dist, size = MPI3DHP_TEST_CAMERAS[name]

        def order(a: np.ndarray) -> np.ndarray:
            return a[:, perm] if perm is not None else a

        out.append(MPI3DHPSequence(
            name=name,
            keypoints_2d_px=order(ann["annot2"]),
            pose_3d_cam_mm=order(ann["annot3"]),
            pose_3d_univ_mm=order(ann["univ_annot3"]),
            valid=ann["valid_frame"],
            activity=ann["activity_annotation"],
            intrinsics=np.asarray(intr),
            dist=np.asarray(dist),
            image_size=size,
            layout=layout,
        ))
    return out


def mpi3dhp_batch(sequences: Sequence[MPI3DHPSequence], window: int = 1,
                  universal: bool = True, valid_only: bool = True) -> PoseBatch:
    """Evaluation samples, one per (valid) frame, each a window of ``window`` frames centred on
    it (edges repeated). ``pose_3d_cam_mm`` is ``univ_annot3`` when ``universal`` (the official
    protocol; it does not reproject onto the 2D) else ``annot3``. ``ids`` are
    ``"3dhp/<TSk>/<activity name>/<frame>"`` (0-based).
    """
    if window < 1:
        raise ValueError(f"window: expected >= 1, got {window}")
    if not sequences:
        raise ValueError("sequences: expected at least one MPI3DHPSequence")
    layouts = {s.layout for s in sequences}
    if len(layouts) != 1:
        raise ValueError(f"sequences: mixed layouts {sorted(layouts)}")
    half = (window - 1) // 2
    kp_l, p3_l, intr_l, size_l, dist_l, ids = [], [], [], [], [], []
    for s in sequences:
        n = len(s.valid)
        centres = np.flatnonzero(s.valid) if valid_only else np.arange(n)
        idx = np.clip(centres[:, None] + np.arange(window)[None, :] - half, 0, n - 1)
        kp_l.append(s.keypoints_2d_px[idx])
        p3_l.append((s.pose_3d_univ_mm if universal else s.pose_3d_cam_mm)[idx])
        k = len(centres)
        intr_l.append(np.tile(s.intrinsics, (k, 1)))
        size_l.append(np.tile(s.image_size, (k, 1)))
        dist_l.append(np.tile(s.dist, (k, 1)))
        ids += [f"3dhp/{s.name}/{MPI3DHP_ACTIVITIES.get(int(s.activity[f]), 'unknown')}/{f}"
                for f in centres]
    kp = np.concatenate(kp_l)
    size = np.concatenate(size_l).astype(np.float64)
    valid = (np.isfinite(kp).all(-1) & (kp[..., 0] >= -0.5) & (kp[..., 1] >= -0.5)
             & (kp[..., 0] <= size[:, None, None, 0] - 0.5)
             & (kp[..., 1] <= size[:, None, None, 1] - 0.5))
    kp = np.nan_to_num(kp).astype(np.float32)
    return PoseBatch(
        keypoints_2d_px=kp,
        keypoints_2d_gt_px=kp.copy(),
        valid_2d=valid,
        pose_3d_cam_mm=np.concatenate(p3_l).astype(np.float32),
        intrinsics=np.concatenate(intr_l).astype(np.float32),
        image_size_px=size.astype(np.float32),
        ids=ids,
        dist=np.concatenate(dist_l).astype(np.float32),
        licence=["3dhp"] * len(ids),
        layout=sequences[0].layout,
    )


def mpi3dhp_photo_labels(root: str | Path, out_dir: str | Path,
                         sequences: Sequence[str] = STUDIO_SEQUENCES, every: int = 1,
                         valid_only: bool = True) -> dict:
    """A labels file for ``monopose evaluate-photos`` (``monopose.eval.photo_truth``) of the
    test set's frames: ``root/TSk/imageSequence/img_<frame + 1:06d>.jpg`` with ``annot3``
    (camera space, true size, mm; not the rescaled ``univ_annot3``), ``annot2`` and the
    sequence's intrinsics, grouped by activity.

    Args:
        root: folder holding ``TS1`` … ``TS6``.
        out_dir: where the labels file will be written (image paths are made relative to it
            where they can be).
        sequences: which sequences; TS5–TS6's lens distortion is not modelled by the pinhole
            intrinsics (their items say so in ``note``).
        every: keep every n-th frame of each sequence (after ``valid_only``).
        valid_only: only the frames the official protocol scores (``valid_frame``).

    Returns:
        ``{"items": [...], "source": ...}``; frames whose image is missing are left out and
        counted in ``"missing_images"``.
    """
    if every < 1:
        raise ValueError(f"every: expected >= 1, got {every}")
    root, out_dir = Path(root), Path(out_dir)
    items: list[dict] = []
    missing = 0
    for seq in load_3dhp_test(root, sequences, layout="mpi3dhp17"):
        fx, fy, cx, cy = (float(v) for v in seq.intrinsics)
        frames = np.flatnonzero(seq.valid) if valid_only else np.arange(len(seq.valid))
        for f in frames[::every]:
            image = root / seq.name / "imageSequence" / f"img_{f + 1:06d}.jpg"
            if not image.is_file():
                missing += 1
                continue
            item = {"image": _relative(image, out_dir), "layout": "mpi3dhp17",
                    "pose3d_camera_mm": np.round(seq.pose_3d_cam_mm[f], 2).tolist(),
                    "keypoints2d_px": np.round(seq.keypoints_2d_px[f], 2).tolist(),
                    "camera": {"fx": fx, "fy": fy, "cx": cx, "cy": cy},
                    "group": MPI3DHP_ACTIVITIES.get(int(seq.activity[f]), "unknown"),
                    "source": f"3dhp/{seq.name}/{f}"}
            if np.any(seq.dist != 0):
                item["note"] = "lens distortion not modelled"
            items.append(item)
    return {"items": items, "source": f"MPI-INF-3DHP test set ({root})",
            "sequences": list(sequences), "every": every, "missing_images": missing}


def _relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` where both are on one drive, else absolute."""
    try:
        return os.path.relpath(path.resolve(), start.resolve())
    except ValueError:
        return str(path.resolve())
