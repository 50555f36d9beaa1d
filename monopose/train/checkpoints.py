"""Training checkpoints: reading them, and initialising a model from one (or from weights).

A checkpoint is Lightning's ``.ckpt`` (``state_dict`` with ``model.``-prefixed tensors, optimiser,
schedule, ``global_step``) plus the block :data:`CHECKPOINT_KEY` that the engine's module writes:
``architecture``, ``model_config``, ``experiment`` (the config as a dict) and ``train_time_s``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file
from torch import nn

from monopose.models.weights_io import read_metadata, weights_paths

__all__ = ["CHECKPOINT_KEY", "read_checkpoint", "model_state", "init_model_from"]

CHECKPOINT_KEY = "monopose"


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a Lightning checkpoint written by the engine (tensors and plain data only).

    Raises:
        FileNotFoundError: missing file.
        ValueError: not a readable checkpoint of this project.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for truncated/foreign files
        raise ValueError(f"{path}: not a readable checkpoint ({type(exc).__name__}: {exc})"
                         ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or CHECKPOINT_KEY not in ckpt:
        raise ValueError(f"{path}: not a monopose training checkpoint (no model metadata)")
    return ckpt


def model_state(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The wrapped model's tensors of a checkpoint (the ``model.`` prefix removed)."""
    return {k[len("model."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}


def read_weights_state(path: str | Path) -> tuple[str, dict[str, torch.Tensor]]:
    """``(architecture, state dict)`` of exported weights, without building the model (so no
    family needs to be registered)."""
    info = read_metadata(path)
    return str(info["architecture"]), load_file(str(weights_paths(path)[0]))


def init_model_from(model: nn.Module, path: str | Path) -> dict[str, int]:
    """Initialise ``model`` from a checkpoint (``.ckpt``) or exported weights (``.safetensors``).

    Parameters with the same name and shape are copied; a temporal table of another length
    (``[T_src, C]`` vs ``[T_dst, C]``) is centre-cropped or centre-pasted, matching how the models
    slice their positional tables.
    Raises ValueError if the source holds another architecture or nothing matches.

    Returns:
        Counts ``{"copied", "resized", "skipped"}``.
    """
    path = Path(path)
    arch = getattr(model, "architecture", None)
    if path.suffix == ".ckpt":
        ckpt = read_checkpoint(path)
        src_arch = ckpt[CHECKPOINT_KEY].get("architecture")
        state = model_state(ckpt)
    else:
        src_arch, state = read_weights_state(path)
    if arch is not None and src_arch != arch:
        raise ValueError(f"model.init_from: {path} holds architecture {src_arch!r}, "
                         f"the model is {arch!r}")
    counts = {"copied": 0, "resized": 0, "skipped": 0}
    new_state = {}
    for name, dst in model.state_dict().items():
        src = state.get(name)
        if src is None:
            counts["skipped"] += 1
        elif src.shape == dst.shape:
            new_state[name] = src
            counts["copied"] += 1
        elif src.ndim == dst.ndim == 2 and src.shape[1] == dst.shape[1]:
            new_state[name] = _centre_resize(src, dst)
            counts["resized"] += 1
        else:
            counts["skipped"] += 1
    if counts["copied"] == 0:
        raise ValueError(f"model.init_from: no parameter of {path} matches the model")
    model.load_state_dict(new_state, strict=False)
    return counts


def _centre_resize(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """``src [T_src, C]`` cropped or pasted into the centre of a copy of ``dst [T_dst, C]``."""
    out = dst.clone()
    n_src, n_dst = src.shape[0], dst.shape[0]
    if n_src >= n_dst:
        start = (n_src - n_dst) // 2
        out.copy_(src[start:start + n_dst])
    else:
        start = (n_dst - n_src) // 2
        out[start:start + n_src] = src
    return out
