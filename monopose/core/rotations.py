"""Elementary rotations (numpy, vectorised): matrices act on column vectors, ``[..., 3, 3]``."""

from __future__ import annotations

import numpy as np

__all__ = ["axis_rotation"]


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
