"""Training losses on torch tensors (positions in mm unless stated).

All functions take poses ``[..., J, D]`` and an optional joint weight/mask ``[..., J]`` and return
a scalar tensor. They are differentiable versions of the metrics in :mod:`monopose.eval.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["mpjpe_loss", "bone_length_loss", "bone_vector_loss", "depth_weighted", "velocity_loss"]


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


def _bone_vectors(pose: Tensor, bones: Sequence[tuple[int, int]]) -> Tensor:
    """``[..., B, 3]``: child − parent of each ``(child, parent)`` pair of ``pose [..., J, 3]``."""
    child = torch.as_tensor([c for c, _ in bones], device=pose.device)
    parent = torch.as_tensor([p for _, p in bones], device=pose.device)
    return pose[..., child, :] - pose[..., parent, :]


def bone_length_loss(
    pred: Tensor, target: Tensor, bones: Sequence[tuple[int, int]]
) -> Tensor:
    """Mean absolute bone-length difference over ``(child, parent)`` pairs of ``[..., J, 3]``."""
    lp = torch.linalg.vector_norm(_bone_vectors(pred, bones), dim=-1)
    lt = torch.linalg.vector_norm(_bone_vectors(target, bones), dim=-1)
    return (lp - lt).abs().mean()


def bone_vector_loss(
    pred: Tensor, target: Tensor, bones: Sequence[tuple[int, int]]
) -> Tensor:
    """Mean Euclidean difference of the bone vectors (child − parent) of ``[..., J, 3]``.

    Unlike MPJPE, which scores each joint from the root, this scores each limb's direction and
    length where it hangs, so a forearm pointing the wrong way in depth costs the same at the
    end of the arm as at the trunk.
    """
    return mpjpe_loss(_bone_vectors(pred, bones), _bone_vectors(target, bones))


def depth_weighted(pose: Tensor, depth_weight: float) -> Tensor:
    """``[..., 3]`` with the last axis' depth (z) scaled by ``depth_weight``, so that an MPJPE
    of the result counts depth errors ``depth_weight`` times."""
    if depth_weight == 1.0:
        return pose
    scale = pose.new_tensor([1.0, 1.0, depth_weight])
    return pose * scale


def velocity_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MPJPE of first temporal differences of ``[B, T, J, 3]`` (0 when T == 1)."""
    if pred.shape[1] < 2:
        return pred.sum() * 0.0
    return mpjpe_loss(pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1])
