"""Rotations (numpy, vectorised): matrices act on column vectors, ``[..., 3, 3]``.

Elementary axis rotations and their Euler compositions (BVH channel order), axis-angle
vectors, rotation fitting (swing, Kabsch) and unit quaternions ``(w, x, y, z)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "axis_rotation",
    "euler_to_matrix",
    "axis_angle_to_matrix",
    "swing_rotation",
    "kabsch_rotation",
    "matrix_to_quaternion",
    "quaternion_continuity",
]


def axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """Rotations about ``axis`` (0 X, 1 Y, 2 Z) by ``angle [...]`` rad → ``[..., 3, 3]``."""
    if axis not in (0, 1, 2):
        raise ValueError(f"axis: expected 0, 1 or 2, got {axis}")
    angle = np.asarray(angle, dtype=np.float64)
    c, s = np.cos(angle), np.sin(angle)
    r = np.zeros(angle.shape + (3, 3))
    a, b = [(1, 2), (2, 0), (0, 1)][axis]
    r[..., axis, axis] = 1.0
    r[..., a, a] = c
    r[..., b, b] = c
    r[..., a, b] = -s
    r[..., b, a] = s
    return r


def euler_to_matrix(angles_deg: np.ndarray, axes: Sequence[int]) -> np.ndarray:
    """Rotation matrices from Euler angles applied in the listed order.

    Args:
        angles_deg: ``[..., K]`` angles in degrees, one per axis.
        axes: ``K`` axis ids (0 = X, 1 = Y, 2 = Z) in channel order.

    Returns:
        ``[..., 3, 3]`` = ``R(axes[0]) @ R(axes[1]) @ ...`` (column-vector convention).
    """
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    out = np.broadcast_to(np.eye(3), angles.shape[:-1] + (3, 3)).copy()
    for k, axis in enumerate(axes):
        out = out @ axis_rotation(axis, angles[..., k])
    return out


_EPS = 1e-9


def axis_angle_to_matrix(axis_angle_rad: np.ndarray) -> np.ndarray:
    """``[..., 3]`` axis-angle vectors (radians) → ``[..., 3, 3]`` rotation matrices (Rodrigues)."""
    v = np.asarray(axis_angle_rad, dtype=np.float64)
    angle = np.linalg.norm(v, axis=-1)
    x, y, z = np.moveaxis(v / np.maximum(angle, 1e-12)[..., None], -1, 0)
    zero = np.zeros_like(x)
    k = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1),
                  np.stack([-y, x, zero], -1)], -2)  # cross-product matrix of the unit axis
    s, c = np.sin(angle)[..., None, None], np.cos(angle)[..., None, None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


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
