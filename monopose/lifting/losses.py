"""Training losses on torch tensors (positions in mm unless stated).

All functions take poses ``[..., J, D]`` and an optional joint weight/mask ``[..., J]`` and return
a scalar tensor. They are differentiable versions of the metrics in :mod:`monopose.eval.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["mpjpe_loss", "bone_length_loss", "velocity_loss"]


def mpjpe_loss(pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean Euclidean joint error ``[..., J, D]``; with ``mask [..., J]`` only masked-in joints.

    Returns 0 (with a gradient path) when the mask selects nothing.
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred: expected shape {tuple(target.shape)}, got {tuple(pred.shape)}")
    err = torch.linalg.vector_norm(pred - target, dim=-1)
    if mask is None:
        return err.mean()
    w = mask.to(err.dtype)
    return (err * w).sum() / w.sum().clamp_min(1.0)


def bone_length_loss(
    pred: Tensor, target: Tensor, bones: Sequence[tuple[int, int]]
) -> Tensor:
    """Mean absolute bone-length difference over ``(child, parent)`` pairs of ``[..., J, 3]``."""
    child = torch.as_tensor([c for c, _ in bones], device=pred.device)
    parent = torch.as_tensor([p for _, p in bones], device=pred.device)
    lp = torch.linalg.vector_norm(pred[..., child, :] - pred[..., parent, :], dim=-1)
    lt = torch.linalg.vector_norm(target[..., child, :] - target[..., parent, :], dim=-1)
    return (lp - lt).abs().mean()


def velocity_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MPJPE of first temporal differences of ``[B, T, J, 3]`` (0 when T == 1)."""
    if pred.shape[1] < 2:
        return pred.sum() * 0.0
    return mpjpe_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1])
