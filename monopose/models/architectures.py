"""Architecture name -> module class table (filled by the model families), and building a module
from a config dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

__all__ = ["ARCHITECTURES", "register_architecture", "build_model", "count_parameters"]

# Filled through `register_architecture` by monopose.zoo, from each family's ``cards`` module.
ARCHITECTURES: dict[str, type[nn.Module]] = {}


def register_architecture(name: str, cls: type[nn.Module]) -> None:
    """Make ``cls`` buildable as ``name`` (registering the same class again is a no-op)."""
    if ARCHITECTURES.get(name, cls) is not cls:
        raise ValueError(f"name: architecture {name!r} is already registered")
    ARCHITECTURES[name] = cls


def build_model(architecture: str, config: Mapping[str, Any] | None = None) -> nn.Module:
    """Build an untrained module of ``architecture`` with ``config`` (constructor keywords).

    Raises:
        ValueError: on an unknown architecture or a config key the architecture does not take.
    """
    try:
        cls = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(
            f"architecture: unknown {architecture!r}; expected one of {', '.join(ARCHITECTURES)}"
        ) from None
    try:
        return cls(**dict(config or {}))
    except TypeError as err:
        raise ValueError(f"config: invalid for architecture {architecture!r}: {err}") from None


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
