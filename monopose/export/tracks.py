"""Results → one track per person, for animation: frames, people, world frame, trust.

Reads a :class:`~monopose.io.results.Prediction`, a result JSON path or its payload into
``[F, 17, 3]`` tracks per person (absolute and root-relative, NaN where absent), says how many
frames a video track needs to be trusted (:func:`min_track_frames`), and gives the result's
world frame as a function (:func:`world_transform`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.io.results import Prediction
from monopose.io.schema import read_result_json

__all__ = ["MIN_TRACK_SECONDS", "min_track_frames", "prediction_tables", "person_tracks",
           "fill_relative", "world_transform", "DEFAULT_FPS"]

DEFAULT_FPS = 30.0  # a photo, or a result that does not say


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


def prediction_tables(source: Any) -> tuple[str, str, float | None, list[tuple[int, list]]]:
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


def person_tracks(frames: Sequence[tuple[int, list]], kind: str, warnings: list[str], label: str
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


def fill_relative(pose_abs: np.ndarray, pose_rel: np.ndarray) -> tuple[np.ndarray, int]:
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


# Tracks shorter than this are not trusted (rendered videos: every false track was shorter,
# every true one longer; docs/tracking.md).
MIN_TRACK_SECONDS = 0.33


def min_track_frames(fps: float | None) -> int:
    """Frames a video track needs for a BVH: ``max(3, round(MIN_TRACK_SECONDS * fps))``."""
    return max(3, round(MIN_TRACK_SECONDS * (fps or DEFAULT_FPS)))


def world_transform(source: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """Camera mm → world mm (y up, floor at 0; :mod:`monopose.core.world_up`) from the
    result's ``world``; None when it has none."""
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
    return lambda p: np.asarray(p, dtype=np.float64) @ rotation.T + t_mm
