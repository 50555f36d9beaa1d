"""The JSON beside a weights file, read without PyTorch: paths, checks, the file's SHA-256.

``<stem>.safetensors`` holds the tensors and ``<stem>.json`` the architecture, its config, the
model card, training metadata and the tensors' SHA-256 (:mod:`monopose.models.weights_io`
writes and loads both; this module only reads, for what needs no network: cards, ONNX twins).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "FORMAT_VERSION", "SHIPPED_WEIGHTS_DIR", "file_sha256", "read_metadata",
           "weights_paths"]

FORMAT = "monopose-lifter-weights"
FORMAT_VERSION = 1
# The weights that ship inside the package.
SHIPPED_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def weights_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``(tensors_path, json_path)`` for ``path`` given with or without a suffix."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and sanity-check the JSON next to a weights file.

    Raises:
        FileNotFoundError: if the JSON is missing.
        ValueError: if it is not valid JSON of this format.
    """
    tensors_path, json_path = weights_paths(path)
    try:
        info = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{json_path}: weights metadata missing ({tensors_path.name} "
                                "needs the JSON that save_weights writes beside it)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{json_path}: corrupted weights metadata (not JSON: {err})") from None
    except OSError as err:
        raise ValueError(f"{json_path}: weights metadata cannot be read "
                         f"({err.strerror or err})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ValueError(f"{json_path}: not a {FORMAT} file")
    version = info.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{json_path}: format_version must be an integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise ValueError(f"{json_path}: format version {version} is newer "
                         f"than supported ({FORMAT_VERSION})")
    for key in ("architecture", "config"):
        if key not in info:
            raise ValueError(f"{json_path}: missing {key!r}")
    if not isinstance(info["architecture"], str) or not isinstance(info["config"], dict):
        raise ValueError(f"{json_path}: expected 'architecture' a string and 'config' an "
                         f"object, got {type(info['architecture']).__name__} and "
                         f"{type(info['config']).__name__}")
    for key in ("card", "metadata"):
        if not isinstance(info.get(key) or {}, dict):
            raise ValueError(f"{json_path}: {key!r} must be an object, got "
                             f"{type(info[key]).__name__}")
    return info
