"""BVH animation export of predicted people: one file per person, readable by Blender.

Pipeline per person: joint positions (absolute camera space, mm) → optional temporal smoothing
(:mod:`.smoothing`) → camera space to BVH space → joint rotations (:mod:`.ik`) for the person's
own median bone lengths → continuous Euler angles → text, written whole (temp file + rename).

Coordinates: camera space is x right, y down, z forward, mm; BVH space is Y up, centimetres
(Blender's importer convention): ``(x, y, z)_bvh = (x, -y, -z)_cam / 10``, a half-turn about x
(a rotation, so no handedness change). A person facing the camera faces +Z in the BVH.

Channels: the root ``pelvis`` has ``Xposition Yposition Zposition Zrotation Xrotation
Yrotation``, every other joint ``Zrotation Xrotation Yrotation``, degrees, with
``R = Rz · Rx · Ry``. Frame time ``1 / fps`` (1/30 s for a single image).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.bvh import forward_kinematics, read_bvh
from monopose.export.ik import RIG, median_bone_lengths, rest_offsets, solve_ik
from monopose.export.rotations import continuous_euler
from monopose.export.smoothing import SMOOTHING_METHODS, smooth_positions
from monopose.export.tracks import (
    DEFAULT_FPS,
    MIN_TRACK_SECONDS,
    fill_relative,
    min_track_frames,
    person_tracks,
    prediction_tables,
    world_transform,
)
from monopose.io.files import atomic_write, check_writable

__all__ = [
    "CAM_TO_BVH",
    "MIN_TRACK_SECONDS",
    "min_track_frames",
    "DEFAULT_SMOOTHING",
    "DEFAULT_FPS",
    "BvhExport",
    "BvhExportReport",
    "camera_mm_to_bvh_cm",
    "bvh_cm_to_camera_mm",
    "write_bvh_motion",
    "read_bvh_h36m17",
    "export_bvh",
    "export_prediction_bvh",
]

CAM_TO_BVH = np.diag([1.0, -1.0, -1.0])
DEFAULT_SMOOTHING = "savgol"
_EULER_CHANNELS = ("Zrotation", "Xrotation", "Yrotation")
_EULER_AXES = (2, 0, 1)
_ROOT_CHANNELS = ("Xposition", "Yposition", "Zposition") + _EULER_CHANNELS


def camera_mm_to_bvh_cm(points_mm: np.ndarray) -> np.ndarray:
    """``[..., 3]`` camera space (mm) → BVH space (Y up, cm)."""
    return np.asarray(points_mm, dtype=np.float64) @ CAM_TO_BVH.T / 10.0


def bvh_cm_to_camera_mm(points_cm: np.ndarray) -> np.ndarray:
    """``[..., 3]`` BVH space (Y up, cm) → camera space (mm)."""
    return np.asarray(points_cm, dtype=np.float64) @ CAM_TO_BVH * 10.0


def _h36m_bvh_names() -> list[str]:
    """BVH joint name (as :mod:`monopose.data.bvh` reads it) of every H36M-17 joint."""
    names = [""] * 17
    for joint in RIG:
        if joint.offset_bone is not None or joint.parent < 0:
            names[joint.at] = joint.name
        if joint.end is not None:
            names[joint.end] = f"{joint.name}_End"
    return names


H36M_BVH_NAMES = _h36m_bvh_names()


@dataclass
class BvhExport:
    """One written BVH file.

    Attributes:
        path: The file.
        num_frames: Frames written.
        target_mm: ``[F, 17, 3]`` the camera-space positions the rig was fitted to (after
            smoothing; NaN where a joint was missing).
        bone_lengths_mm: ``[17]`` the rig's bone lengths (parent → joint).
        round_trip_mm: Mean distance between the joints read back from the file (forward
            kinematics of :mod:`monopose.data.bvh`) and ``target_mm``; None if not verified.
        warnings: Problems met (held rotations, unknown root, defaulted bones).
    """

    path: Path
    num_frames: int
    target_mm: np.ndarray
    bone_lengths_mm: np.ndarray
    round_trip_mm: float | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class BvhExportReport:
    """Every file written for one prediction, and the warnings met."""

    exports: list[BvhExport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [e.path for e in self.exports]


def _format_bvh(offsets_cm: np.ndarray, root_cm: np.ndarray, euler_deg: np.ndarray,
                frame_time_s: float) -> str:
    """BVH text for the rig: ``offsets_cm [R, 2, 3]`` (joint OFFSET, End Site), ``root_cm
    [F, 3]``, ``euler_deg [F, R, 3]`` in channel order."""
    out = io.StringIO()
    out.write("HIERARCHY\n")
    children: dict[int, list[int]] = {k: [] for k in range(len(RIG))}
    for k, joint in enumerate(RIG):
        if joint.parent >= 0:
            children[joint.parent].append(k)

    def fmt(v: np.ndarray) -> str:
        return " ".join(f"{x:.6f}" for x in v)

    def emit(k: int, depth: int) -> None:
        pad = "\t" * depth
        joint = RIG[k]
        kind = "ROOT" if joint.parent < 0 else "JOINT"
        chans = _ROOT_CHANNELS if joint.parent < 0 else _EULER_CHANNELS
        out.write(f"{pad}{kind} {joint.name}\n{pad}{{\n")
        out.write(f"{pad}\tOFFSET {fmt(offsets_cm[k, 0])}\n")
        out.write(f"{pad}\tCHANNELS {len(chans)} {' '.join(chans)}\n")
        for c in children[k]:
            emit(c, depth + 1)
        if joint.end is not None:
            out.write(f"{pad}\tEnd Site\n{pad}\t{{\n{pad}\t\tOFFSET {fmt(offsets_cm[k, 1])}\n"
                      f"{pad}\t}}\n")
        out.write(f"{pad}}}\n")

    emit(0, 0)
    n = root_cm.shape[0]
    out.write(f"MOTION\nFrames: {n}\nFrame Time: {frame_time_s:.8f}\n")
    values = np.concatenate([root_cm, euler_deg.reshape(n, -1)], axis=1)
    for row in values:
        out.write(" ".join(f"{x:.5f}" for x in row))
        out.write("\n")
    return out.getvalue()


def read_bvh_h36m17(path: str | Path) -> np.ndarray:
    """Read a BVH written by this module back as H36M-17 camera-space positions ``[F, 17, 3]``
    mm, through the project's BVH reader and forward kinematics."""
    motion = read_bvh(path)
    pos_cm = forward_kinematics(motion, joints=H36M_BVH_NAMES)
    assert isinstance(pos_cm, np.ndarray)
    return bvh_cm_to_camera_mm(pos_cm)


def write_bvh_motion(
    poses_cam_mm: np.ndarray,
    path: str | Path,
    fps: float | None = None,
    smoothing: str = DEFAULT_SMOOTHING,
    verify: bool = True,
    label: str = "",
) -> BvhExport:
    """Fit rotations to one person's poses and write them as a BVH file.

    Args:
        poses_cam_mm: ``[F, 17, 3]`` absolute camera-space H36M-17 joints in mm, one row per
            frame; NaN marks a missing joint (or a frame without the person): its rotations are
            held from the last frame that had it.
        path: Output ``.bvh`` file (written whole, temp file + rename).
        fps: Frames per second; None → 30 (a single image).
        smoothing: ``"savgol"`` (default), ``"one_euro"`` or ``"off"``, applied to positions
            before fitting.
        verify: Read the file back and measure the round-trip error.
        label: Prefix for warnings (e.g. ``"walk.mp4 person 2"``).

    Raises:
        ValueError: wrong shape, no frame with any joint, unknown smoothing, or an output path
            that cannot be written (no partial file is left).
    """
    poses = np.asarray(poses_cam_mm, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (17, 3):
        raise ValueError(f"poses_cam_mm: expected [F, 17, 3] (h36m17), got {poses.shape}")
    if smoothing not in SMOOTHING_METHODS:
        raise ValueError(f"smoothing: expected one of {SMOOTHING_METHODS}, got {smoothing!r}")
    if not np.isfinite(poses).all(-1).any():
        raise ValueError("poses_cam_mm: no finite joint in any frame")
    path = check_writable(Path(path))
    fps = float(fps) if fps else DEFAULT_FPS
    prefix = f"{label}: " if label else ""
    warnings: list[str] = []
    target = smooth_positions(poses, fps, smoothing)
    lengths_mm, unobserved = median_bone_lengths(target)
    if unobserved:
        warnings.append(prefix + "bones never observed, typical lengths used: "
                        + ", ".join(H36M17.joint_names[j] for j in unobserved))
    ik = solve_ik(camera_mm_to_bvh_cm(target))
    absent = ~np.isfinite(target).all(-1).any(-1)
    if absent.any():
        warnings.append(prefix + f"no pose in {int(absent.sum())} of {len(absent)} frames "
                        "(person absent): held the nearest pose")
    partial = ik.held & ~absent[:, None]
    if partial.any():
        missing = sorted({RIG[k].name for k in np.flatnonzero(partial.any(axis=0))})
        warnings.append(prefix + f"missing joints in {int(partial.any(axis=1).sum())} of "
                        f"{len(absent)} frames: held the last valid rotation of "
                        + ", ".join(missing))
    root_unknown = ik.held_root & ~absent
    if root_unknown.any():
        warnings.append(prefix + f"root position unknown in {int(root_unknown.sum())} frames: "
                        "held the last valid position")
    euler_deg = np.rad2deg(continuous_euler(ik.local, _EULER_AXES))
    text = _format_bvh(rest_offsets(lengths_mm / 10.0), ik.root, euler_deg, 1.0 / fps)
    data = text.encode("ascii")
    atomic_write(path, lambda fh: fh.write(data))
    result = BvhExport(path=path, num_frames=poses.shape[0], target_mm=target,
                       bone_lengths_mm=lengths_mm, warnings=warnings)
    if verify:
        back = read_bvh_h36m17(path)
        ok = np.isfinite(target).all(-1)
        result.round_trip_mm = float(np.linalg.norm(back - target, axis=-1)[ok].mean())
    return result


def _output_paths(out: Path, stem: str, keys: list[str]) -> dict[str, Path]:
    if out.suffix.lower() == ".bvh":
        if len(keys) == 1:
            return {keys[0]: out}
        return {k: out.with_name(f"{out.stem}_person{k}.bvh") for k in keys}
    return {k: out / f"{stem}_person{k}.bvh" for k in keys}


def export_bvh(
    prediction: Any,
    out: str | Path,
    smoothing: str = DEFAULT_SMOOTHING,
    min_frames: int | None = None,
    verify: bool = True,
    frame: str = "world",
) -> BvhExportReport:
    """Write one BVH per stable person of a prediction.

    Args:
        prediction: A :class:`~monopose.io.results.Prediction`, a result JSON path (checked
            with :func:`~monopose.io.schema.read_result_json`: another schema version
            raises) or its loaded dict.
        out: A ``.bvh`` path (one person: that file; several: ``<stem>_person<id>.bvh`` beside
            it) or a folder (``<input stem>_person<id>.bvh`` in it).
        smoothing: ``"savgol"`` (default), ``"one_euro"`` or ``"off"``.
        min_frames: People seen in fewer frames are skipped (with a warning); default 1 for an
            image; for a video :func:`min_track_frames` (tracks shorter than
            ``MIN_TRACK_SECONDS`` are not trusted, docs/tracking.md).
        verify: Read every file back and measure the round-trip error.
        frame: ``"world"`` (default): when the result has a ``world`` frame (up and floor from
            the people, :mod:`monopose.core.world_up`), people stand on the floor, Y up, at
            the camera's height; ``"camera"``: camera space turned Y up.

    Every file spans the prediction's whole frame range, so several people stay in sync; frames
    where a person is absent hold the nearest pose (and say so in the warnings).

    Raises:
        ValueError: unreadable or wrong-version result, unknown smoothing, or an output that
            cannot be written.
    """
    if smoothing not in SMOOTHING_METHODS:
        raise ValueError(f"smoothing: expected one of {SMOOTHING_METHODS}, got {smoothing!r}")
    if frame not in ("world", "camera"):
        raise ValueError(f"frame: expected 'world' or 'camera', got {frame!r}")
    input_path, kind, fps, frames = prediction_tables(prediction)
    to_world = world_transform(prediction) if frame == "world" else None
    out = Path(out)
    report = BvhExportReport()
    label = Path(input_path).name or "prediction"
    tracks, n_frames = person_tracks(frames, kind, report.warnings, label)
    if min_frames is None:
        min_frames = 1 if kind == "image" or n_frames == 1 else min_track_frames(fps)
    keep: list[str] = []
    for key, (pose_abs, pose_rel) in tracks.items():
        seen = int((np.isfinite(pose_abs).all(-1) | np.isfinite(pose_rel).all(-1)).any(-1).sum())
        if seen < min_frames:
            report.warnings.append(f"{label} person {key}: seen in {seen} frame(s), fewer than "
                                   f"{min_frames}; no BVH written")
        else:
            keep.append(key)
    if not keep:
        # Name the result file when given one: that is what the user passed.
        where = prediction if isinstance(prediction, (str, Path)) else label
        report.warnings.append(f"{where}: no person to export")
        return report
    stem = Path(input_path).stem or "result"
    paths = _output_paths(out, stem, keep)
    for key in keep:
        poses, n_rel = fill_relative(*tracks[key])
        if to_world is not None:  # the world in camera axes: the BVH turn then gives it Y up
            poses = to_world(poses) @ CAM_TO_BVH
        who = f"{label} person {key}"
        if n_rel:
            report.warnings.append(f"{who}: absolute position unknown in {n_rel} frame(s); "
                                   "placed at the last known root")
        result = write_bvh_motion(poses, paths[key], fps=fps, smoothing=smoothing,
                                  verify=verify, label=who)
        report.exports.append(result)
        report.warnings.extend(result.warnings)
    return report


def export_prediction_bvh(
    prediction_or_json_path: Any,
    out_dir_or_path: str | Path,
    smoothing: str = DEFAULT_SMOOTHING,
    warnings: list[str] | None = None,
) -> list[Path]:
    """Write one BVH per stable person (see :func:`export_bvh`) and return the paths.

    Args:
        warnings: If given, the export's warnings are appended to this list.
    """
    report = export_bvh(prediction_or_json_path, out_dir_or_path, smoothing=smoothing)
    if warnings is not None:
        warnings.extend(report.warnings)
    return report.paths
