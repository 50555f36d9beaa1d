"""The JSON result format: writing it atomically, reading and checking it back.

One JSON file per input. Top level: ``schema_version``, ``monopose_version``, ``input``, ``kind``
(image|video), ``model``, ``units`` ("mm"), ``layout`` ("h36m17"), ``joint_names`` (17), ``camera``
(fx, fy, cx, cy, width, height, source), ``fps``, ``warnings`` and ``frames``: a list of
``{index, time_s, people: [{person_id, box, score, keypoints_2d, scores, valid, pose_3d_rel,
pose_3d_abs, root_method}]}``. The README documents it for users.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SCHEMA_VERSION", "write_json_atomic", "write_npz_atomic", "read_result_json"]

SCHEMA_VERSION = "1.0"

_REQUIRED_TOP = ("schema_version", "units", "layout", "joint_names", "camera", "frames")
_REQUIRED_PERSON = ("box", "keypoints_2d", "scores", "pose_3d_rel", "pose_3d_abs")


def _atomic_write(path: Path, write: Any, suffix: str) -> None:
    """Write through a temp file in the same folder, then rename (all or nothing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        # mkstemp makes the file private (0600); give it the permissions of a normal new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write ``payload`` as JSON to ``path`` atomically."""
    # Compact: a video's result holds thousands of numbers.
    data = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    _atomic_write(Path(path), lambda fh: fh.write(data), ".tmp")


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` to ``path`` atomically."""
    _atomic_write(Path(path), lambda fh: np.savez(fh, **arrays), ".npz")


def read_result_json(path: Path) -> dict:
    """Read a result JSON and check it is of this schema version.

    Raises:
        ValueError: naming the file, if it is not JSON, lacks a key, or has another schema version.
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
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
    for frame in payload["frames"]:
        for person in frame.get("people", []):
            lacking = [k for k in _REQUIRED_PERSON if k not in person]
            if lacking:
                raise ValueError(
                    f"{path}: frame {frame.get('index')} has a person without {', '.join(lacking)}"
                )
    return payload
