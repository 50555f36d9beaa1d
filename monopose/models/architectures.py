"""Architecture name -> module class table, and building a module from a config dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from monopose.models.baseline import BaselineLifter
from monopose.models.capf import ContextAwarePoseFormer
from monopose.models.metrabs import MetrabsNet
from monopose.models.mpm import MPMLifter
from monopose.models.poseformer import PoseFormerLifter

__all__ = ["ARCHITECTURES", "build_model", "count_parameters"]

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "baseline": BaselineLifter,
    "poseformer": PoseFormerLifter,
    "mpm": MPMLifter,
    "capf": ContextAwarePoseFormer,
    "metrabs": MetrabsNet,
}


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
