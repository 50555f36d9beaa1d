"""Shared input handling for the lifting models (validation, masking of invalid joints, root).

Every lifter takes ``keypoints_2d [B, T, J, 2]`` (normalised with
:func:`monopose.core.normalize.normalize_keypoints`) and ``valid [B, T, J]`` (bool) and returns a
root-relative 3D pose ``[B, T, J, 3]`` in metres whose root joint is exactly zero.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_lifter_inputs", "check_pose_3d_inputs", "zero_invalid", "make_root_relative"]


def check_lifter_inputs(
    keypoints_2d: Tensor, valid: Tensor | None, num_joints: int, max_frames: int | None = None
) -> Tensor:
    """Validate a lifter's inputs and return ``valid`` as a bool tensor ``[B, T, J]``.

    Args:
        keypoints_2d: ``[B, T, J, 2]`` normalised 2D keypoints.
        valid: ``[B, T, J]`` bool (True = joint present) or None for all valid.
        num_joints: expected J.
        max_frames: largest supported T, or None for any.

    Raises:
        ValueError: on a wrong shape, a wrong joint count, too many frames, or NaN/inf in a
            joint marked valid.
    """
    if keypoints_2d.ndim != 4 or keypoints_2d.shape[-1] != 2:
        raise ValueError(
            f"keypoints_2d: expected shape [B, T, J, 2], got {tuple(keypoints_2d.shape)}"
        )
    return _check_common("keypoints_2d", keypoints_2d, valid, num_joints, max_frames)


def check_pose_3d_inputs(
    pose_3d: Tensor, valid: Tensor | None, num_joints: int, max_frames: int | None = None
) -> Tensor:
    """Like :func:`check_lifter_inputs` for a root-relative 3D pose ``[B, T, J, 3]`` (metres)."""
    if pose_3d.ndim != 4 or pose_3d.shape[-1] != 3:
        raise ValueError(f"pose_3d: expected shape [B, T, J, 3], got {tuple(pose_3d.shape)}")
    return _check_common("pose_3d", pose_3d, valid, num_joints, max_frames)


def _check_common(
    name: str, x: Tensor, valid: Tensor | None, num_joints: int, max_frames: int | None
) -> Tensor:
    b, t, j = x.shape[:3]
    if j != num_joints:
        raise ValueError(f"{name}: expected {num_joints} joints (dim 2), got {j}")
    if max_frames is not None and t > max_frames:
        raise ValueError(f"{name}: at most {max_frames} frames (dim 1) supported, got {t}")
    if t < 1 or b < 1:
        raise ValueError(f"{name}: empty batch or window, shape {tuple(x.shape)}")
    if valid is None:
        ok = torch.ones(x.shape[:3], dtype=torch.bool, device=x.device)
    else:
        if tuple(valid.shape) != tuple(x.shape[:3]):
            raise ValueError(
                f"valid: expected shape {tuple(x.shape[:3])}, got {tuple(valid.shape)}"
            )
        ok = valid.to(dtype=torch.bool)
    if not torch.isfinite(x[ok]).all():
        raise ValueError(f"{name}: NaN or inf in a joint marked valid")
    return ok


def zero_invalid(x: Tensor, valid: Tensor) -> Tensor:
    """Set the coordinates of invalid joints to 0 (``x [..., J, D]``, ``valid [..., J]``).

    ``torch.where`` (not multiplication) so NaN in an invalid joint cannot leak through.
    """
    return torch.where(valid[..., None], x, torch.zeros((), dtype=x.dtype, device=x.device))


def make_root_relative(pose: Tensor, root: int = 0) -> Tensor:
    """Subtract the root joint so it is exactly zero: ``[..., J, 3] -> [..., J, 3]``."""
    return pose - pose[..., root : root + 1, :]
