"""The JSON result format: writing it atomically, reading and checking it back.

One JSON file per input. Top level: ``schema_version``, ``monopose_version``, ``input``, ``kind``
(image|video), ``model``, ``units`` ("mm"), ``layout`` ("h36m17"), ``joint_names`` (17), ``camera``
(fx, fy, cx, cy, width, height, source), ``fps``, ``warnings`` and ``frames``: a list of
``{index, time_s, people: [{person_id, box, score, keypoints_2d, scores, valid, pose_3d_rel,
pose_3d_abs, root_method, error_estimate (where estimated)}]}``. The README documents it for
users.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

import numpy as np

from monopose.io import files
from monopose.io.files import atomic_write
from monopose.io.results import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "write_json_atomic", "write_npz_atomic", "read_result_json"]


_REQUIRED_TOP = ("schema_version", "units", "layout", "joint_names", "camera", "frames")
_REQUIRED_PERSON = ("box", "keypoints_2d", "scores", "pose_3d_rel", "pose_3d_abs")


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write a result ``payload`` as compact strict JSON to ``path`` atomically.

    Raises:
        ValueError: when the payload holds NaN or infinity (strict JSON has neither); nothing is
            written then.
    """
    files.write_json_atomic(Path(path), payload, argument="out")


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` to ``path`` atomically."""
    def save(fh: BinaryIO) -> None:
        np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub takes **kwds for allow_pickle

    atomic_write(Path(path), save, "out")


def _reject_constant(name: str) -> None:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def read_result_json(path: Path) -> dict:
    """Read a result JSON and check it is of this schema version.

    Raises:
        ValueError: naming the file, if it is not JSON, lacks a key, or has another schema version.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable monopose result JSON ({exc})") from exc
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    missing = [k for k in _REQUIRED_TOP if k not in payload]
    if missing:
        raise ValueError(f"{path}: missing key(s) {', '.join(missing)}")
    if payload["schema_version"] != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: schema_version {payload['schema_version']!r}, expected {SCHEMA_VERSION!r}"
        )
    if not isinstance(payload["frames"], list):
        raise ValueError(f"{path}: 'frames' must be a list")
    for k, frame in enumerate(payload["frames"]):
        if not isinstance(frame, dict) or not isinstance(frame.get("people", []), list):
            raise ValueError(f"{path}: frame {k} must be an object with a list of people")
        for person in frame.get("people", []):
            if not isinstance(person, dict):
                raise ValueError(f"{path}: frame {frame.get('index', k)} has a person that is "
                                 "not an object")
            lacking = [k for k in _REQUIRED_PERSON if k not in person]
            if lacking:
                raise ValueError(
                    f"{path}: frame {frame.get('index')} has a person without {', '.join(lacking)}"
                )
    return payload
