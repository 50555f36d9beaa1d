"""Architecture name -> module class table (filled by the model families), and building a module
from a config dict."""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from typing import Any

from torch import nn

__all__ = ["ARCHITECTURES", "register_architecture", "build_model", "same_network",
           "count_parameters"]

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


def _full_config(architecture: str, config: Mapping[str, Any] | None) -> str:
    """``config`` with the constructor's defaults filled in, as canonical JSON."""
    cls = ARCHITECTURES[architecture]
    defaults = {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
                if k != "self" and p.default is not inspect.Parameter.empty}
    return json.dumps({**defaults, **dict(config or {})}, sort_keys=True, default=str)


def same_network(architecture_a: str, config_a: Mapping[str, Any] | None,
                 architecture_b: str, config_b: Mapping[str, Any] | None) -> bool:
    """Whether two (architecture, config) pairs build the same network: a key left out means
    the constructor's default, so weights saved before a keyword was added still match."""
    if architecture_a != architecture_b:
        return False
    if architecture_a not in ARCHITECTURES:
        return dict(config_a or {}) == dict(config_b or {})
    return _full_config(architecture_a, config_a) == _full_config(architecture_b, config_b)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
