"""Euler angles for animation export (numpy, vectorised).

Conventions: rotation matrices act on column vectors; ``[..., 3, 3]``. Euler angles follow the
BVH reader (:func:`monopose.core.rotations.euler_to_matrix`): channels listed ``(a0, a1, a2)`` give
``R = R(a0) @ R(a1) @ R(a2)``. Angles here are radians unless the name says ``_deg``. Rotation
fitting and quaternions live in :mod:`monopose.core.rotations`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monopose.core.rotations import axis_rotation

__all__ = ["matrix_to_euler", "continuous_euler", "axis_rotation"]


def matrix_to_euler(r: np.ndarray, axes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Both Euler solutions of ``R = R(axes[0]) R(axes[1]) R(axes[2])`` (Tait–Bryan axes).

    Args:
        r: ``[..., 3, 3]`` rotation matrices.
        axes: three distinct axis ids, e.g. ``(2, 0, 1)`` for ``Z X Y``.

    Returns:
        ``(first, second)``, each ``[..., 3]`` radians; the middle angle of ``first`` lies in
        ``[-pi/2, pi/2]``. At gimbal lock (middle angle ±90°) the third angle is 0 in both.
    """
    i, j, k = (int(a) for a in axes)
    if sorted((i, j, k)) != [0, 1, 2]:
        raise ValueError(f"axes: expected three distinct axes out of 0, 1, 2, got {tuple(axes)}")
    r = np.asarray(r, dtype=np.float64)
    # Sign of the permutation (i, j, k): +1 for cyclic orders (X Y Z, Y Z X, Z X Y).
    sgn = 1.0 if (j - i) % 3 == 1 else -1.0
    # For R = Ri(a) Rj(b) Rk(c): R[i, k] = sgn * sin(b) ... derived for the cyclic case and
    # mirrored by ``sgn`` for the anti-cyclic one.
    sb = np.clip(sgn * r[..., i, k], -1.0, 1.0)
    b = np.arcsin(sb)
    cb = np.sqrt(np.maximum(0.0, 1.0 - sb * sb))
    locked = cb < 1e-7
    a = np.arctan2(-sgn * r[..., j, k], r[..., k, k])
    c = np.arctan2(-sgn * r[..., i, j], r[..., i, i])
    if np.any(locked):
        # Only a ± c is defined: put it all in the first angle (third = 0).
        a_l = np.arctan2(sgn * r[..., k, j], r[..., j, j])
        a = np.where(locked, a_l, a)
        c = np.where(locked, 0.0, c)
    first = np.stack([a, b, c], axis=-1)
    second = np.stack([a + np.pi, np.pi - b, c + np.pi], axis=-1)
    second = (second + np.pi) % (2 * np.pi) - np.pi
    return first, second


def _nearest_turn(angle: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``angle + 2πk`` closest to ``ref`` (element-wise)."""
    return angle - 2 * np.pi * np.round((angle - ref) / (2 * np.pi))


def continuous_euler(r: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Euler angles of a rotation sequence without jumps: per frame, the solution (of the two)
    closest to the previous frame, each angle unwrapped by whole turns.

    Args:
        r: ``[F, ..., 3, 3]`` rotations over ``F`` frames.
        axes: Euler axis order (see :func:`matrix_to_euler`).

    Returns:
        ``[F, ..., 3]`` radians (may leave ``[-π, π]`` to stay continuous).
    """
    first, second = matrix_to_euler(r, axes)
    out = np.empty_like(first)
    out[0] = first[0]
    for f in range(1, first.shape[0]):
        prev = out[f - 1]
        c1 = _nearest_turn(first[f], prev)
        c2 = _nearest_turn(second[f], prev)
        d1 = np.abs(c1 - prev).sum(axis=-1, keepdims=True)
        d2 = np.abs(c2 - prev).sum(axis=-1, keepdims=True)
        out[f] = np.where(d2 < d1, c2, c1)
    return out
