"""Rotation fitting and Euler angles for animation export (numpy, vectorised).

Conventions: rotation matrices act on column vectors; ``[..., 3, 3]``. Euler angles follow the
BVH reader (:func:`monopose.data.bvh.euler_to_matrix`): channels listed ``(a0, a1, a2)`` give
``R = R(a0) @ R(a1) @ R(a2)``. Angles here are radians unless the name says ``_deg``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from monopose.core.rotations import axis_rotation

__all__ = [
    "swing_rotation",
    "kabsch_rotation",
    "axis_rotation",
    "matrix_to_euler",
    "continuous_euler",
    "matrix_to_quaternion",
    "quaternion_continuity",
]

_EPS = 1e-9


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS)


def swing_rotation(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction ``src`` to direction ``dst`` (no twist).

    Args:
        src, dst: ``[..., 3]`` non-zero vectors (broadcast against each other).

    Returns:
        ``[..., 3, 3]``. For opposite directions the half-turn is about an axis perpendicular to
        ``src`` (chosen deterministically).
    """
    a, b = np.broadcast_arrays(_unit(np.asarray(src, float)), _unit(np.asarray(dst, float)))
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)
    # Rodrigues in the form R = I + [v]x + [v]x^2 / (1 + c), exact for c > -1.
    vx = np.zeros(a.shape[:-1] + (3, 3))
    vx[..., 0, 1], vx[..., 0, 2] = -v[..., 2], v[..., 1]
    vx[..., 1, 0], vx[..., 1, 2] = v[..., 2], -v[..., 0]
    vx[..., 2, 0], vx[..., 2, 1] = -v[..., 1], v[..., 0]
    opposite = c < -1.0 + 1e-9
    denom = np.where(opposite, 1.0, 1.0 + c)[..., None, None]
    r = np.eye(3) + vx + vx @ vx / denom
    if np.any(opposite):
        # Half-turn about an axis perpendicular to src: R = 2 n n^T - I.
        ao = a[opposite]
        helper = np.where(np.abs(ao[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
        n = _unit(np.cross(ao, helper))
        r[opposite] = 2.0 * n[:, :, None] * n[:, None, :] - np.eye(3)
    return r


def kabsch_rotation(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
                    ) -> np.ndarray:
    """The proper rotation ``R`` minimising ``sum_k w_k |R src_k - dst_k|^2`` (no translation).

    Args:
        src, dst: ``[..., K, 3]`` vectors, ``K >= 2`` and not all parallel.
        weights: ``[K]`` or ``[..., K]`` non-negative weights; None = equal.

    Returns:
        ``[..., 3, 3]`` with determinant +1 (a reflection is never returned).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    w = np.ones(src.shape[-2]) if weights is None else np.asarray(weights, dtype=np.float64)
    h = np.einsum("...k,...ki,...kj->...ij", np.broadcast_to(w, src.shape[:-1]), dst, src)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    fix = np.ones(h.shape[:-1])
    fix[..., 2] = d
    return (u * fix[..., None, :]) @ vt


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


def matrix_to_quaternion(r: np.ndarray) -> np.ndarray:
    """``[..., 3, 3]`` rotations → ``[..., 4]`` unit quaternions ``(w, x, y, z)``."""
    r = np.asarray(r, dtype=np.float64)
    tr = np.trace(r, axis1=-2, axis2=-1)
    cands = np.stack([
        np.stack([1 + tr, r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0],
                  r[..., 1, 0] - r[..., 0, 1]], -1),
        np.stack([r[..., 2, 1] - r[..., 1, 2], 1 + 2 * r[..., 0, 0] - tr,
                  r[..., 0, 1] + r[..., 1, 0], r[..., 0, 2] + r[..., 2, 0]], -1),
        np.stack([r[..., 0, 2] - r[..., 2, 0], r[..., 0, 1] + r[..., 1, 0],
                  1 + 2 * r[..., 1, 1] - tr, r[..., 1, 2] + r[..., 2, 1]], -1),
        np.stack([r[..., 1, 0] - r[..., 0, 1], r[..., 0, 2] + r[..., 2, 0],
                  r[..., 1, 2] + r[..., 2, 1], 1 + 2 * r[..., 2, 2] - tr], -1),
    ], axis=-2)  # [..., 4, 4]; row m is 4 q_m q (numerically best where |q_m| is largest)
    diag = np.stack([1 + tr, 1 + 2 * r[..., 0, 0] - tr, 1 + 2 * r[..., 1, 1] - tr,
                     1 + 2 * r[..., 2, 2] - tr], -1)
    best = np.argmax(diag, axis=-1)
    q = np.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    q = _unit(q)
    return np.where(q[..., :1] < 0, -q, q)


def quaternion_continuity(q: np.ndarray) -> np.ndarray:
    """Flip signs along the first axis (frames) so consecutive quaternions have a non-negative
    dot product (``q`` and ``-q`` are the same rotation): ``[F, ..., 4] → [F, ..., 4]``."""
    q = np.array(q, dtype=np.float64, copy=True)
    for f in range(1, q.shape[0]):
        flip = np.sum(q[f] * q[f - 1], axis=-1, keepdims=True) < 0
        q[f] = np.where(flip, -q[f], q[f])
    return q
