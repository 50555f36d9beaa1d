"""The ONNX twin of a lifter's weights: ``<name>.onnx`` beside ``<name>.safetensors``.

``monopose export-onnx NAME --out <weights dir>/NAME.onnx`` writes it from those weights and
records their SHA-256 in its metadata (:data:`SOURCE_SHA_KEY`). A twin runs without PyTorch
(:class:`~monopose.lifting.networks.OnnxNetwork`), so ``monopose predict`` with the default
models does not import it (BENCHMARKS.md, "Photos and videos without PyTorch"). A twin is used
only while that hash is the weights file's own, which the JSON beside it also records: weights
retrained, replaced or broken load through PyTorch as before, with its checks and errors.
Nothing here imports PyTorch.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from monopose.lifting.networks import OnnxNetwork
from monopose.models.card import ModelCard
from monopose.models.weights_meta import SHIPPED_WEIGHTS_DIR, file_sha256, read_metadata

__all__ = ["SOURCE_SHA_KEY", "Twin", "find_twin", "twin_path"]

SOURCE_SHA_KEY = "source_sha256"


@dataclass(frozen=True)
class Twin:
    """A usable twin: its network, the card of the weights it was made from, and their file."""

    network: OnnxNetwork
    card: ModelCard
    weights_file: Path


def twin_path(name: str, weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<weights_dir>/<name>.onnx`` (default folder: the package's weights)."""
    folder = Path(weights_dir) if weights_dir is not None else SHIPPED_WEIGHTS_DIR
    return folder / f"{name}.onnx"


def find_twin(name: str, weights_dir: str | os.PathLike[str] | None = None,
              threads: int | None = 1) -> Twin | None:
    """The twin of ``name``'s weights, or None when there is none that can stand in for them.

    None when the ``.onnx``, the JSON or the weights file is missing or unreadable, when the
    weights file's SHA-256 is not the one the JSON and the twin record, or when the twin is not
    an exported keypoint lifter: the caller then loads the weights through PyTorch, whose
    loader names what is wrong.
    """
    onnx_path = twin_path(name, weights_dir)
    json_path = onnx_path.with_suffix(".json")
    if not onnx_path.is_file() or not json_path.is_file():
        return None
    try:
        info = read_metadata(json_path)
        tensors = json_path.with_name(str(info.get("weights_file") or f"{name}.safetensors"))
        sha = file_sha256(tensors) if tensors.is_file() else None
    except (OSError, ValueError):
        return None
    if sha is None or info.get("sha256") != sha:
        return None
    try:
        network = OnnxNetwork(onnx_path, threads)
    except Exception:  # onnxruntime's own errors on a broken file: PyTorch is the fallback
        return None
    if network.metadata.get(SOURCE_SHA_KEY) != sha:
        return None
    card = ModelCard.from_dict({**(info.get("card") or {}), "name": name,
                                "architecture": info["architecture"], "config": info["config"]})
    training = {**dict(card.training), **dict(info.get("metadata") or {})}
    return Twin(network, dataclasses.replace(card, training=training), tensors)
