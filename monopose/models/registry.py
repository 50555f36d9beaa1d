"""Named models (timm-style registry): name -> (architecture, config, weights file, card).

The registry imports no model family: each family (``monopose.lifting``, ``monopose.capf``,
``monopose.metrabs``) lists its architectures and cards in its ``cards`` module, and
:mod:`monopose.zoo` registers them all; code that loads models by name imports from there.

Weights live in ``monopose/models/weights/<name>.safetensors`` + ``<name>.json`` (written by
:func:`monopose.models.weights_io.save_weights`). When the JSON carries a card (the training
run's record of data, recipe and metrics), :func:`load_model` returns that card; otherwise the
registered one.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from torch import nn

from monopose.models.architectures import (
    ARCHITECTURES,
    build_model,
    count_parameters,
    register_architecture,
)
from monopose.models.card import ModelCard
from monopose.models.weights_io import load_weights, weights_paths
from monopose.models.weights_meta import SHIPPED_WEIGHTS_DIR

__all__ = [
    "ModelCard",
    "register_family",
    "DEFAULT_WEIGHTS_DIR",
    "register_model",
    "get_card",
    "list_models",
    "create_model",
    "weights_path",
    "available",
    "load_model",
]

DEFAULT_WEIGHTS_DIR = SHIPPED_WEIGHTS_DIR

_REGISTRY: dict[str, ModelCard] = {}


def register_model(card: ModelCard, overwrite: bool = False) -> ModelCard:
    """Add ``card`` to the registry (its architecture must exist)."""
    if card.architecture not in ARCHITECTURES:
        raise ValueError(f"card.architecture: unknown {card.architecture!r}")
    if card.name in _REGISTRY and not overwrite:
        raise ValueError(f"name: model {card.name!r} is already registered")
    _REGISTRY[card.name] = card
    _parameter_count.cache_clear()
    return card


@cache
def _parameter_count(name: str) -> int:
    card = _REGISTRY[name]
    return count_parameters(build_model(card.architecture, card.config))


def get_card(name: str) -> ModelCard:
    """The registered card of ``name`` with its parameter count filled in."""
    try:
        card = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"name: unknown model {name!r}; expected one of {', '.join(_REGISTRY)}"
        ) from None
    if card.num_parameters:
        return card
    return dataclasses.replace(card, num_parameters=_parameter_count(name))


def list_models() -> list[ModelCard]:
    """Cards of every registered model, in registration order."""
    return [get_card(name) for name in _REGISTRY]


def create_model(name_or_arch: str, **config: Any) -> nn.Module:
    """An untrained module: a registered name (its config, updated by ``config``) or an
    architecture name (``config`` alone, defaults for the rest)."""
    if name_or_arch in _REGISTRY:
        card = _REGISTRY[name_or_arch]
        return build_model(card.architecture, {**card.config, **config})
    if name_or_arch in ARCHITECTURES:
        return build_model(name_or_arch, config)
    raise ValueError(
        f"name_or_arch: {name_or_arch!r} is neither a registered model "
        f"({', '.join(_REGISTRY)}) nor an architecture ({', '.join(ARCHITECTURES)})"
    )


def weights_path(name: str, weights_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<weights_dir>/<name>.safetensors`` (default folder: the package's ``weights/``)."""
    card = get_card(name)
    folder = Path(weights_dir) if weights_dir is not None else DEFAULT_WEIGHTS_DIR
    return folder / card.weights_file


def available(name: str, weights_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether trained weights (both files) of ``name`` are present."""
    tensors, meta = weights_paths(weights_path(name, weights_dir))
    return tensors.is_file() and meta.is_file()


def load_model(
    name: str, weights_dir: str | os.PathLike[str] | None = None
) -> tuple[nn.Module, ModelCard]:
    """Load the trained model ``name``.

    Returns:
        ``(module in eval mode, card)``.

    Raises:
        ValueError: unknown name, or weights of another architecture / corrupted files.
        FileNotFoundError: if the weights are not present (see :func:`available`).
    """
    registered = get_card(name)
    path = weights_path(name, weights_dir)
    if not available(name, weights_dir):
        raise FileNotFoundError(
            f"no trained weights for {name!r} at {path} (train them with the training engine, "
            f"or pass weights_dir)"
        )
    module, info = load_weights(path, expected_architecture=registered.architecture)
    card = registered
    if info.get("card"):
        # Fields the file does not state (older files) come from the registered card.
        card = ModelCard.from_dict({**registered.to_dict(), **info["card"], "name": name})
    training = {**dict(card.training), **dict(info.get("metadata") or {})}
    card = dataclasses.replace(
        card, config=dict(info["config"]), num_parameters=count_parameters(module),
        training=training,
    )
    return module, card


def register_family(architectures: Mapping[str, type[nn.Module]], cards: Iterable[ModelCard]
                    ) -> None:
    """Register a family's architectures, then its cards (each name once)."""
    for name, cls in architectures.items():
        register_architecture(name, cls)
    for card in cards:
        if _REGISTRY.get(card.name) != card:
            register_model(card)
