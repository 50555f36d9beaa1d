"""Saving and loading lifter weights: ``<stem>.safetensors`` (tensors) + ``<stem>.json`` (config).

The JSON holds the architecture, its constructor config, the model card (if any), free-form
training metadata, the tensor shapes and the SHA-256 of the safetensors file (read without
PyTorch by :mod:`monopose.models.weights_meta`). Loading rebuilds the module from the JSON and
checks every tensor name and shape against it before loading. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from monopose.models.architectures import build_model
from monopose.models.card import ModelCard
from monopose.models.weights_meta import FORMAT, FORMAT_VERSION, read_metadata, weights_paths
from monopose.models.weights_meta import file_sha256 as _sha256

__all__ = ["FORMAT", "FORMAT_VERSION", "weights_paths", "save_weights", "load_weights",
           "read_metadata"]


def _resolve(module: nn.Module, card_or_config: ModelCard | Mapping[str, Any]
             ) -> tuple[str, dict[str, Any], ModelCard | None]:
    """Architecture, config and card to record; the module's own config is the truth."""
    own_arch = getattr(type(module), "architecture", None)
    own_config = getattr(module, "config", None)
    if isinstance(card_or_config, ModelCard):
        card: ModelCard | None = card_or_config
        arch, config = card_or_config.architecture, dict(card_or_config.config)
    else:
        card = None
        given = dict(card_or_config)
        arch = given.pop("architecture", own_arch)
        config = dict(given.pop("config", given))
    if own_arch is not None and arch != own_arch:
        raise ValueError(
            f"card_or_config: architecture {arch!r} does not match the module ({own_arch!r})"
        )
    if not isinstance(arch, str):
        raise ValueError("card_or_config: no architecture given and the module declares none")
    if isinstance(own_config, Mapping):
        config = dict(own_config)
    if card is not None and dict(card.config) != config:
        card = ModelCard.from_dict({**card.to_dict(), "config": config})
    return arch, config, card


def _write_atomic(path: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_weights(
    module: nn.Module,
    card_or_config: ModelCard | Mapping[str, Any],
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
    dtype: torch.dtype | None = None,
) -> Path:
    """Write ``module``'s weights and config atomically (temp file + rename for each file).

    Args:
        module: a lifter built by :func:`monopose.models.architectures.build_model` (or any
            module whose class has ``architecture`` and whose instance has ``config``).
        card_or_config: its :class:`ModelCard`, or ``{"architecture": ..., "config": {...}}``,
            or a bare config dict (architecture taken from the module).
        path: ``<dir>/<stem>`` with or without ``.safetensors``/``.json``.
        metadata: JSON-serialisable training metadata (data, steps, metrics, date, ...).
        dtype: store floating-point tensors in this dtype (e.g. ``torch.float16`` halves the
            file; loading casts back to the module's dtype); None keeps them as they are.

    Returns:
        The ``.safetensors`` path.
    """
    arch, config, card = _resolve(module, card_or_config)
    tensors_path, json_path = weights_paths(path)
    tensors_path.parent.mkdir(parents=True, exist_ok=True)
    state = {}
    for k, v in module.state_dict().items():
        v = v.detach().to("cpu")
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        state[k] = v.contiguous().clone()
    _write_atomic(tensors_path, lambda tmp: save_file(
        state, tmp, metadata={"format": FORMAT, "architecture": arch}))
    info = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": arch,
        "config": config,
        "card": None if card is None else card.to_dict(),
        "metadata": dict(metadata or {}),
        "weights_file": tensors_path.name,
        "sha256": _sha256(tensors_path),
        "num_parameters": sum(p.numel() for p in module.parameters()),
        "tensors": {k: list(v.shape) for k, v in state.items()},
    }
    text = json.dumps(info, indent=2, sort_keys=False, default=str) + "\n"

    def write_json(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    _write_atomic(json_path, write_json)
    return tensors_path


def load_weights(
    path: str | os.PathLike[str], expected_architecture: str | None = None
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a module from ``<stem>.json`` and load ``<stem>.safetensors`` into it.

    Args:
        path: ``<dir>/<stem>`` with or without a suffix.
        expected_architecture: if given, the file must hold this architecture.

    Returns:
        ``(module in eval mode, metadata dict from the JSON)``.

    Raises:
        FileNotFoundError: if either file is missing.
        ValueError: naming the file, on another architecture, a corrupted or truncated file, a
            checksum mismatch, tensor names/shapes that do not match the architecture, or NaN/inf
            weights. Nothing is ever unpickled.
    """
    tensors_path, json_path = weights_paths(path)
    info = read_metadata(json_path)
    arch = info["architecture"]
    if expected_architecture is not None and arch != expected_architecture:
        raise ValueError(
            f"{json_path}: holds architecture {arch!r}, expected {expected_architecture!r}"
        )
    if not tensors_path.is_file():
        raise FileNotFoundError(f"{tensors_path}: weights file missing")
    expected_sha = info.get("sha256")
    if expected_sha and _sha256(tensors_path) != expected_sha:
        raise ValueError(f"{tensors_path}: checksum mismatch (file corrupted, truncated or "
                         f"replaced after {json_path.name} was written)")
    try:
        with safe_open(str(tensors_path), framework="pt") as f:
            header = f.metadata() or {}
        tensors = load_file(str(tensors_path))
    except Exception as err:  # safetensors raises its own error types on bad files
        raise ValueError(f"{tensors_path}: corrupted safetensors file ({err})") from None
    if header.get("architecture", arch) != arch:
        raise ValueError(f"{tensors_path}: tensors are for architecture "
                         f"{header.get('architecture')!r} but {json_path.name} says {arch!r}")
    try:
        module = build_model(arch, info["config"])
    except (TypeError, ValueError, KeyError, RuntimeError) as err:  # bad config values too
        raise ValueError(f"{json_path}: cannot build architecture {arch!r} from its config "
                         f"({type(err).__name__}: {err})") from None
    _check_tensors(module, tensors, tensors_path)
    _check_finite(tensors, tensors_path)
    module.load_state_dict(tensors, strict=True)
    module.eval()
    return module, info


def _check_tensors(module: nn.Module, tensors: Mapping[str, torch.Tensor], where: Path) -> None:
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in tensors.items()}
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    wrong = sorted(k for k in set(expected) & set(got) if expected[k] != got[k])
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            parts.append(f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if wrong:
            parts.append("shape mismatch " + ", ".join(
                f"{k}: file {got[k]} vs model {expected[k]}" for k in wrong[:5]))
        raise ValueError(f"{where}: tensors do not match the architecture ({'; '.join(parts)})")


def _check_finite(tensors: Mapping[str, torch.Tensor], where: Path) -> None:
    """Refuse NaN/inf weights: they would only surface later as NaN poses."""
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"{where}: tensors hold NaN or inf ({', '.join(sorted(bad)[:5])}"
                         f"{' ...' if len(bad) > 5 else ''}); the file is corrupted")
