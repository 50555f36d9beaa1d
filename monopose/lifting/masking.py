"""Masks for masked pose pretraining and for occlusion training/evaluation (pure torch functions).

Convention: a mask is a bool tensor with **True = hidden** (the joint or frame is replaced by a
mask token / treated as missing). Lifters take ``valid = ~mask``. Randomness comes only from the
``generator`` argument (a seeded :class:`torch.Generator`); masks are made on the CPU.

Pretraining ratios (MPM): for windows ``T > 1``, 60 % of the frames are hidden plus 5 of 17
joints in every frame, i.e. ``0.6 + 0.4 * 5/17 = 71.8 %`` of the joint tokens. For single frames
(``T == 1``) there is no temporal mask, so 12 of 17 joints are hidden (70.6 %) to keep the total
near 72 %.

Body parts use the H36M-17 indices (``monopose.core.skeleton.H36M17``): joints 1-3 are the
**right** leg and 14-16 the **right** arm (the original MPM code calls them "left").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = [
    "BODY_PARTS",
    "COMPLETION_PARTS",
    "LIFTING_PARTS",
    "PRETRAIN_SPATIAL_JOINTS",
    "PRETRAIN_SPATIAL_JOINTS_T1",
    "PRETRAIN_TEMPORAL_RATIO",
    "PretrainMasks",
    "spatial_mask",
    "temporal_mask",
    "pretrain_masks",
    "masked_fraction",
    "body_part_mask",
    "random_body_part_mask",
    "random_joint_mask",
]

PRETRAIN_SPATIAL_JOINTS = 5
PRETRAIN_SPATIAL_JOINTS_T1 = 12
PRETRAIN_TEMPORAL_RATIO = 0.6

BODY_PARTS: dict[str, tuple[int, ...]] = {
    "right_leg": (1, 2, 3),
    "left_leg": (4, 5, 6),
    "left_arm": (11, 12, 13),
    "right_arm": (14, 15, 16),
    "legs": (1, 2, 3, 4, 5, 6),
    "arms": (11, 12, 13, 14, 15, 16),
    "right_limbs": (1, 2, 3, 14, 15, 16),
    "left_limbs": (4, 5, 6, 11, 12, 13),
}
# The part sets of the MPM code, in the order of its --mask_manner3D / --mask_manner2D codes 0-3.
COMPLETION_PARTS: tuple[str, ...] = ("right_leg", "right_arm", "left_arm", "left_leg")
LIFTING_PARTS: tuple[str, ...] = ("legs", "arms", "right_limbs", "left_limbs")


@dataclass(frozen=True)
class PretrainMasks:
    """Masks for one pretraining batch (True = hidden).

    Attributes:
        mask_2d: ``[B, T, J]`` joints hidden in the 2D stream.
        mask_3d: ``[B, T, J]`` joints hidden in the 3D stream (drawn independently).
        frame_mask: ``[B, T]`` frames hidden from the encoder (both streams); all False if T == 1.
    """

    mask_2d: Tensor
    mask_3d: Tensor
    frame_mask: Tensor


def _check_sizes(batch: int, frames: int, num_joints: int) -> None:
    if batch < 1 or frames < 1 or num_joints < 1:
        raise ValueError(
            f"batch, frames, num_joints: expected >= 1, got {batch}, {frames}, {num_joints}"
        )


def _k_of_n(shape: tuple[int, ...], n: int, k: int, generator: torch.Generator | None) -> Tensor:
    """``[*shape, n]`` bool with exactly ``k`` True entries along the last axis, uniformly drawn."""
    if not 0 <= k <= n:
        raise ValueError(f"k: expected 0 <= k <= {n}, got {k}")
    scores = torch.rand(*shape, n, generator=generator)
    ranks = scores.argsort(dim=-1).argsort(dim=-1)
    return ranks < k


def spatial_mask(
    batch: int, frames: int, num_joints: int, num_masked: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``num_masked`` random joints hidden in every frame, drawn independently per frame:
    ``[B, T, J]`` bool."""
    _check_sizes(batch, frames, num_joints)
    return _k_of_n((batch, frames), num_joints, num_masked, generator)


def temporal_mask(
    batch: int, frames: int, ratio: float, generator: torch.Generator | None = None
) -> Tensor:
    """Hide ``round(ratio * T)`` random frames per sample (at most ``T - 1``): ``[B, T]`` bool.

    Every sample hides the same number of frames, so the encoder can drop them.
    """
    _check_sizes(batch, frames, 1)
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"ratio: expected 0 <= ratio < 1, got {ratio}")
    k = min(round(ratio * frames), frames - 1)
    return _k_of_n((batch,), frames, k, generator)


def pretrain_masks(
    batch: int,
    frames: int,
    num_joints: int = 17,
    generator: torch.Generator | None = None,
    spatial_joints: int | None = None,
    temporal_ratio: float | None = None,
) -> PretrainMasks:
    """MPM pretraining masks (see the module docstring for the defaults and ratios).

    Args:
        batch: B.
        frames: T.
        num_joints: J.
        generator: seeded generator.
        spatial_joints: joints hidden per frame; default 5 for T > 1, 12 for T == 1.
        temporal_ratio: fraction of frames hidden; default 0.6 for T > 1, 0 for T == 1.
    """
    if spatial_joints is None:
        spatial_joints = PRETRAIN_SPATIAL_JOINTS if frames > 1 else PRETRAIN_SPATIAL_JOINTS_T1
    if temporal_ratio is None:
        temporal_ratio = PRETRAIN_TEMPORAL_RATIO if frames > 1 else 0.0
    return PretrainMasks(
        mask_2d=spatial_mask(batch, frames, num_joints, spatial_joints, generator),
        mask_3d=spatial_mask(batch, frames, num_joints, spatial_joints, generator),
        frame_mask=temporal_mask(batch, frames, temporal_ratio, generator),
    )


def masked_fraction(joint_mask: Tensor, frame_mask: Tensor | None = None) -> float:
    """Fraction of joint tokens hidden by a ``[B, T, J]`` joint mask and a ``[B, T]`` frame mask."""
    hidden = joint_mask.to(torch.bool)
    if frame_mask is not None:
        hidden = hidden | frame_mask.to(torch.bool)[..., None]
    return float(hidden.float().mean())


def _part_joints(part: str | Sequence[int], num_joints: int) -> tuple[int, ...]:
    if isinstance(part, str):
        if part not in BODY_PARTS:
            raise ValueError(f"part: unknown body part {part!r}; expected one of "
                             f"{', '.join(BODY_PARTS)} or a list of joint indices")
        joints = BODY_PARTS[part]
    else:
        joints = tuple(int(j) for j in part)
    if any(not 0 <= j < num_joints for j in joints):
        raise ValueError(f"part: joint indices {joints} out of range for {num_joints} joints")
    return joints


def body_part_mask(
    batch: int, frames: int, part: str | Sequence[int], num_joints: int = 17
) -> Tensor:
    """Tube mask hiding one body part (a name from :data:`BODY_PARTS` or joint indices) in every
    frame of every sample: ``[B, T, J]`` bool."""
    _check_sizes(batch, frames, num_joints)
    mask = torch.zeros(batch, frames, num_joints, dtype=torch.bool)
    mask[..., list(_part_joints(part, num_joints))] = True
    return mask


def random_body_part_mask(
    batch: int, frames: int, parts: Sequence[str] = LIFTING_PARTS, num_joints: int = 17,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One uniformly drawn part of ``parts`` per sample, hidden in all its frames: ``[B, T, J]``."""
    _check_sizes(batch, frames, num_joints)
    if not parts:
        raise ValueError("parts: expected at least one body part")
    table = torch.stack([body_part_mask(1, 1, p, num_joints)[0, 0] for p in parts])  # [P, J]
    choice = torch.randint(len(parts), (batch,), generator=generator)
    return table[choice][:, None, :].expand(batch, frames, num_joints).clone()


def random_joint_mask(
    batch: int, frames: int, k: int, num_joints: int = 17,
    generator: torch.Generator | None = None, tube: bool = True,
) -> Tensor:
    """``k`` random joints hidden per sample (occlusion training/evaluation, e.g. k = 2, 4, 6).

    ``tube=True`` hides the same joints in every frame of a sample; ``False`` draws per frame.
    Returns ``[B, T, J]`` bool.
    """
    _check_sizes(batch, frames, num_joints)
    if tube:
        mask = _k_of_n((batch,), num_joints, k, generator)
        return mask[:, None, :].expand(batch, frames, num_joints).clone()
    return _k_of_n((batch, frames), num_joints, k, generator)
