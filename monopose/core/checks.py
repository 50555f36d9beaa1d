"""Argument checks shared by the camera and homography functions: every public function of
:mod:`monopose.core.camera` validates its input with these and raises ``ValueError`` naming the
offending argument, instead of failing later with an obscure numpy error."""

from __future__ import annotations

import numpy as np

__all__ = [
    "as_float", "check_last", "check_finite", "check_intrinsics", "check_dist", "broadcast_shape",
]


def as_float(x: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc
    return arr


def check_last(arr: np.ndarray, size: int, name: str, what: str, min_ndim: int = 1) -> None:
    if arr.ndim < min_ndim or arr.shape[-1] != size:
        raise ValueError(f"{name}: expected shape {what}, got {arr.shape}")


def check_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or inf ({int((~np.isfinite(arr)).sum())} values)")


def check_intrinsics(intrinsics: object, name: str = "intrinsics") -> np.ndarray:
    intr = as_float(intrinsics, name)
    check_last(intr, 4, name, "[..., 4] (fx, fy, cx, cy)")
    check_finite(intr, name)
    if (intr[..., :2] <= 0).any():
        raise ValueError(f"{name}: focal lengths fx, fy must be > 0, got {intr[..., :2].min()}")
    return intr


def check_dist(dist: object | None, name: str = "dist") -> np.ndarray | None:
    if dist is None:
        return None
    d = as_float(dist, name)
    check_last(d, 5, name, "[..., 5] (k1, k2, k3, p1, p2)")
    check_finite(d, name)
    return d


def broadcast_shape(*shapes: tuple[int, ...], names: str) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{names}: leading shapes {shapes} do not broadcast") from None
