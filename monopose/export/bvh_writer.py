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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.bvh import forward_kinematics, read_bvh
from monopose.export.ik import RIG, median_bone_lengths, rest_offsets, solve_ik
from monopose.export.rotations import continuous_euler
from monopose.export.smoothing import SMOOTHING_METHODS, smooth_positions
from monopose.io.files import atomic_write, check_writable
from monopose.io.results import Prediction
from monopose.io.schema import read_result_json

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
DEFAULT_FPS = 30.0
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


# ---------------------------------------------------------------------------- predictions


# A result's frame indices may leave gaps (frames without anyone), but not absurd ones: every
# person's track spans the whole index range in memory.
_MAX_INDEX_SPAN_PER_FRAME = 10
_MIN_INDEX_SPAN = 10_000


def _pose_of(person: dict, key: str, where: str) -> np.ndarray:
    """``person[key]`` as a ``[17, 3]`` mm array (null → NaN)."""
    try:
        pose = np.array(person[key], dtype=np.float64)
    except (TypeError, ValueError):
        pose = None
    if pose is None or pose.shape != (17, 3):
        got = "a ragged or non-numeric list" if pose is None else f"shape {list(pose.shape)}"
        raise ValueError(f"{where}: {key} must be a [17, 3] list of numbers (null for unknown), "
                         f"got {got}")
    return pose


def _frames_of(payload: dict, name: str) -> list[tuple[int, list]]:
    """``[(frame_index, [(person_id, abs_mm [17, 3], rel_mm [17, 3])])]`` of a result payload.

    Raises:
        ValueError: naming ``name``, the frame and the person when the structure is malformed.
    """
    frames = payload.get("frames")
    if not isinstance(frames, list):
        raise ValueError(f"{name}: frames must be a list, got {type(frames).__name__}")
    out: list[tuple[int, list]] = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict):
            raise ValueError(f"{name}: frame {i} must be an object, got {type(frame).__name__}")
        index = frame.get("index", i)
        people = frame.get("people", [])
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"{name}: frame {i} has index {index!r}, expected an integer ≥ 0")
        if not isinstance(people, list):
            raise ValueError(f"{name}: frame {index}: people must be a list, got "
                             f"{type(people).__name__}")
        rows = []
        for k, person in enumerate(people):
            where = f"{name}: frame {index} person {k}"
            if not isinstance(person, dict):
                raise ValueError(f"{where}: expected an object, got {type(person).__name__}")
            pid = person.get("person_id")
            if pid is not None and (not isinstance(pid, (int, str)) or isinstance(pid, bool)):
                raise ValueError(f"{where}: person_id must be an integer, a string or null, "
                                 f"got {pid!r}")
            rows.append((pid, _pose_of(person, "pose_3d_abs", where),
                         _pose_of(person, "pose_3d_rel", where)))
        out.append((index, rows))
    if out:
        span = max(i for i, _ in out) - min(i for i, _ in out) + 1
        if span > max(_MIN_INDEX_SPAN, _MAX_INDEX_SPAN_PER_FRAME * len(out)):
            raise ValueError(f"{name}: frame indices span {span} frames but only {len(out)} are "
                             "listed; the indices look corrupted")
    return out


def _fps_of(payload: dict, name: str) -> float | None:
    fps = payload.get("fps")
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1e4:
        raise ValueError(f"{name}: fps must be a positive number or null, got {fps!r}")
    return float(fps)


def _prediction_tables(source: Any) -> tuple[str, str, float | None, list[tuple[int, list]]]:
    """``(input, kind, fps, [(frame_index, [(person_id, abs_mm, rel_mm)])])`` from a
    :class:`~monopose.io.results.Prediction`, a result JSON path or its payload.

    Raises:
        ValueError: naming the file for an unreadable or malformed result.
    """
    if isinstance(source, Prediction):
        frames = [(f.frame_index, [(p.person_id, p.pose_3d_abs_mm, p.pose_3d_rel_mm)
                                   for p in f.people]) for f in source.frames]
        return source.input_path, source.kind, source.fps, frames
    if isinstance(source, (str, Path)):
        try:
            payload = read_result_json(Path(source))
        except (TypeError, AttributeError, KeyError) as exc:  # a structure the check trips on
            raise ValueError(f"{source}: not a readable monopose result JSON (malformed "
                             f"frames: {type(exc).__name__}: {exc})") from None
        name = str(source)
    elif isinstance(source, dict):
        payload, name = source, "result"
    else:
        raise ValueError(f"prediction: expected a Prediction, a result JSON path or its dict, "
                         f"got {type(source).__name__}")
    if payload.get("layout") != H36M17.name or payload.get("units") != "mm":
        raise ValueError(f"{name}: expected layout 'h36m17' in mm, got layout "
                         f"{payload.get('layout')!r} in {payload.get('units')!r}")
    frames = _frames_of(payload, name)
    label = payload.get("input", name)
    kind = payload.get("kind", "")
    return (label if isinstance(label, str) else name, kind if isinstance(kind, str) else "",
            _fps_of(payload, name), frames)


def _tracks(frames: Sequence[tuple[int, list]], kind: str, warnings: list[str], label: str
            ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int]:
    """Per stable person: ``(abs, rel)``, each ``[F, 17, 3]`` mm over the prediction's whole
    frame range (NaN where absent or unknown). Keys are ids as text; people without an id use
    their order in the frame."""
    if not frames:
        return {}, 0
    first = min(i for i, _ in frames)
    n = max(i for i, _ in frames) - first + 1
    tracks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    untracked = False
    for index, people in frames:
        for order, (pid, abs_mm, rel_mm) in enumerate(people):
            if pid is None:
                untracked = True
                pid = order
            key = str(pid)
            if key not in tracks:
                tracks[key] = (np.full((n, 17, 3), np.nan), np.full((n, 17, 3), np.nan))
            tracks[key][0][index - first] = np.asarray(abs_mm, dtype=np.float64).reshape(17, 3)
            tracks[key][1][index - first] = np.asarray(rel_mm, dtype=np.float64).reshape(17, 3)
    if untracked and kind == "video":
        warnings.append(f"{label}: people without a track id; grouped by their order in each "
                        "frame, which may mix people")
    return tracks, n


def _fill_relative(pose_abs: np.ndarray, pose_rel: np.ndarray) -> tuple[np.ndarray, int]:
    """Frames without an absolute root but with a relative pose: place the relative pose at the
    last known root, so its rotations are still fitted. Returns the poses and the count."""
    root_ok = np.isfinite(pose_abs[:, H36M17.root]).all(-1)
    rel_only = np.isfinite(pose_rel).all(-1).any(-1) & ~root_ok
    if not rel_only.any() or not root_ok.any():
        return pose_abs, 0
    idx = np.maximum.accumulate(np.where(root_ok, np.arange(len(root_ok)), -1))
    idx[idx < 0] = int(np.argmax(root_ok))
    roots = pose_abs[idx, H36M17.root]
    out = pose_abs.copy()
    out[rel_only] = pose_rel[rel_only] + roots[rel_only, None, :]
    return out, int(rel_only.sum())


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
    input_path, kind, fps, frames = _prediction_tables(prediction)
    to_world = _world_of(prediction) if frame == "world" else None
    out = Path(out)
    report = BvhExportReport()
    label = Path(input_path).name or "prediction"
    tracks, n_frames = _tracks(frames, kind, report.warnings, label)
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
        poses, n_rel = _fill_relative(*tracks[key])
        if to_world is not None:
            poses = to_world(poses)
        who = f"{label} person {key}"
        if n_rel:
            report.warnings.append(f"{who}: absolute position unknown in {n_rel} frame(s); "
                                   "placed at the last known root")
        result = write_bvh_motion(poses, paths[key], fps=fps, smoothing=smoothing,
                                  verify=verify, label=who)
        report.exports.append(result)
        report.warnings.extend(result.warnings)
    return report


# Tracks shorter than this are not trusted (rendered videos: every false track was shorter,
# every true one longer; docs/tracking.md).
MIN_TRACK_SECONDS = 0.33


def min_track_frames(fps: float | None) -> int:
    """Frames a video track needs for a BVH: ``max(3, round(MIN_TRACK_SECONDS * fps))``."""
    return max(3, round(MIN_TRACK_SECONDS * (fps or DEFAULT_FPS)))


def _world_of(source: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """Camera mm → world mm expressed in camera axes (so that the camera → BVH turn gives the
    world, Y up), from the result's ``world``; None when it has none."""
    if isinstance(source, Prediction):
        world = source.world
    elif isinstance(source, dict):
        world = source.get("world")
    elif isinstance(source, (str, Path)):
        world = read_result_json(Path(source)).get("world")
    else:
        world = None
    if not isinstance(world, dict):
        return None
    try:
        rotation = np.asarray(world["R_world_from_camera"], dtype=np.float64).reshape(3, 3)
        t_mm = np.asarray(world["t_world_mm"], dtype=np.float64).reshape(3)
    except (KeyError, TypeError, ValueError):
        return None
    if not (np.isfinite(rotation).all() and np.isfinite(t_mm).all()):
        return None
    return lambda p: (np.asarray(p, dtype=np.float64) @ rotation.T + t_mm) @ CAM_TO_BVH


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
