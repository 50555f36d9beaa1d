"""Pinhole intrinsics and Brown–Conrady lens distortion in normalised image coordinates.

Distortion is stored as ``dist = (k1, k2, k3, p1, p2)`` — radial terms first. OpenCV's own
order is ``(k1, k2, p1, p2, k3)``; :func:`dist_to_opencv` and :func:`dist_from_opencv` convert.
The model is OpenCV's: for normalised coordinates ``x = X/Z, y = Y/Z`` and ``r² = x² + y²``::

    radial = 1 + k1 r² + k2 r⁴ + k3 r⁶
    x_d = x·radial + 2 p1 x y + p2 (r² + 2 x²)
    y_d = y·radial + p1 (r² + 2 y²) + 2 p2 x y
    u = fx x_d + cx,   v = fy y_d + cy

Undistortion inverts that map with Newton's method (the 2×2 Jacobian is analytic), which
converges in a few steps for realistic lenses and is checked afterwards: a pixel whose inverse
does not exist or does not converge is reported, never returned as a silent wrong number.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from monopose.core.checks import as_float, check_dist, check_finite, check_intrinsics

__all__ = [
    "DEFAULT_FOV_DEG",
    "OnFailure",
    "distort_xy",
    "undistort_xy",
    "dist_to_opencv",
    "dist_from_opencv",
    "intrinsics_from_fov",
    "intrinsics_to_matrix",
    "intrinsics_from_matrix",
]

#: Default field of view (degrees) of the *longer* image side when intrinsics are unknown.
DEFAULT_FOV_DEG = 55.0

_NEWTON_MAX_ITERS = 30
_NEWTON_TOL = 1e-12  # normalised units; 1e-12 × f ≈ 2e-9 px for f ≈ 2000 px
_ACCEPT_TOL = 1e-9  # residual accepted after the iterations (≈ 2e-6 px)

OnFailure = Literal["raise", "nan"]


# ----------------------------------------------------------------------------------------------
# distortion in normalised coordinates (elementwise; all arguments broadcast)


def distort_xy(
    x: np.ndarray, y: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the distortion ``d [..., 5]`` to normalised ``x, y [...]``."""
    k1, k2, k3, p1, p2 = (d[..., i] for i in range(5))
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd


def undistort_xy(
    xd: np.ndarray, yd: np.ndarray, d: np.ndarray, on_failure: OnFailure, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`distort_xy` by Newton's method (Gauss–Newton on a square system)."""
    shape = np.broadcast_shapes(xd.shape, d.shape[:-1])
    xd = np.broadcast_to(xd, shape)
    yd = np.broadcast_to(yd, shape)
    k1, k2, k3, p1, p2 = (np.broadcast_to(d[..., i], shape) for i in range(5))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x, y, det = _newton_undistort(xd, yd, k1, k2, k3, p1, p2)
        rx, ry = distort_xy(x, y, d)
        residual = np.hypot(rx - xd, ry - yd)
    # A folded-over solution (det ≤ 0) is a root of the polynomial, but not the pixel's ray.
    bad = ~(residual < _ACCEPT_TOL * np.maximum(1.0, np.hypot(xd, yd))) | ~(det > 0)
    if bad.any():
        if on_failure == "raise":
            raise ValueError(
                f"{name}: {int(bad.sum())} point(s) cannot be undistorted (outside the region "
                "where the distortion model is invertible)"
            )
        x = np.where(bad, np.nan, x)
        y = np.where(bad, np.nan, y)
    return x, y


def _newton_undistort(
    xd: np.ndarray, yd: np.ndarray, k1: np.ndarray, k2: np.ndarray, k3: np.ndarray,
    p1: np.ndarray, p2: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton iterations from ``(xd, yd)``; returns ``(x, y, det J)`` at the last iterate."""
    x, y = xd.copy(), yd.copy()
    det = np.ones(xd.shape)
    for _ in range(_NEWTON_MAX_ITERS):
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        d_radial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)  # d radial / d r²
        fx_ = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x) - xd
        fy_ = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y - yd
        j00 = radial + 2.0 * x * x * d_radial + 2.0 * p1 * y + 6.0 * p2 * x
        j01 = 2.0 * x * y * d_radial + 2.0 * p1 * x + 2.0 * p2 * y
        j11 = radial + 2.0 * y * y * d_radial + 6.0 * p1 * y + 2.0 * p2 * x
        det = j00 * j11 - j01 * j01  # the Jacobian is symmetric
        safe = np.where(np.abs(det) > 1e-12, det, 1e-12)
        dx = (j11 * fx_ - j01 * fy_) / safe
        dy = (j00 * fy_ - j01 * fx_) / safe
        x = x - dx
        y = y - dy
        if np.all(np.abs(dx) + np.abs(dy) < _NEWTON_TOL):
            break
    return x, y, det


# ----------------------------------------------------------------------------------------------
# vectorised free functions


def dist_to_opencv(dist: np.ndarray) -> np.ndarray:
    """``(k1, k2, k3, p1, p2) [..., 5]`` → OpenCV's ``(k1, k2, p1, p2, k3) [..., 5]``."""
    d = check_dist(dist)
    assert d is not None
    return d[..., [0, 1, 3, 4, 2]]


def dist_from_opencv(coeffs: np.ndarray) -> np.ndarray:
    """OpenCV's ``(k1, k2, p1, p2[, k3]) [..., 4|5]`` → ``(k1, k2, k3, p1, p2) [..., 5]``.

    Raises:
        ValueError: for more than 5 coefficients with non-zero higher terms (the rational and
            thin-prism models are not supported).
    """
    c = as_float(coeffs, "coeffs")
    if c.ndim < 1 or c.shape[-1] < 4:
        raise ValueError(f"coeffs: expected shape [..., 4|5|8|12|14], got {c.shape}")
    if c.shape[-1] > 5 and np.any(c[..., 5:] != 0):
        raise ValueError("coeffs: only k1, k2, p1, p2, k3 are supported; higher terms must be 0")
    k3 = c[..., 4] if c.shape[-1] > 4 else np.zeros(c.shape[:-1])
    return np.stack([c[..., 0], c[..., 1], k3, c[..., 2], c[..., 3]], axis=-1)


def intrinsics_from_fov(
    width: float, height: float, fov_deg: float = DEFAULT_FOV_DEG
) -> np.ndarray:
    """Intrinsics of a centred pinhole camera whose *longer* image side spans ``fov_deg``.

    Args:
        width: Image width in px (> 0).
        height: Image height in px (> 0).
        fov_deg: Field of view in degrees along the longer side, in (0, 180). The default 55° is
            MeTRAbs' assumption for unknown cameras.

    Returns:
        ``(fx, fy, cx, cy)`` with ``fx = fy = (max(W, H) / 2) / tan(fov / 2)`` and the principal
        point at the image centre ``((W - 1) / 2, (H - 1) / 2)``.
    """
    for name, v in (("width", width), ("height", height)):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{name}: expected a positive number of pixels, got {v}")
    if not (math.isfinite(fov_deg) and 0.0 < fov_deg < 180.0):
        raise ValueError(f"fov_deg: expected a value in (0, 180) degrees, got {fov_deg}")
    f = (max(width, height) / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    return np.array([f, f, (width - 1) / 2.0, (height - 1) / 2.0])


def intrinsics_to_matrix(intrinsics: np.ndarray) -> np.ndarray:
    """``(fx, fy, cx, cy) [..., 4]`` → ``K [..., 3, 3]``."""
    intr = check_intrinsics(intrinsics)
    K = np.zeros(intr.shape[:-1] + (3, 3))
    K[..., 0, 0] = intr[..., 0]
    K[..., 1, 1] = intr[..., 1]
    K[..., 0, 2] = intr[..., 2]
    K[..., 1, 2] = intr[..., 3]
    K[..., 2, 2] = 1.0
    return K


def intrinsics_from_matrix(K: np.ndarray, name: str = "K") -> np.ndarray:
    """``K [..., 3, 3]`` (zero skew, last row ``0 0 1``) → ``(fx, fy, cx, cy) [..., 4]``."""
    k = as_float(K, name)
    if k.ndim < 2 or k.shape[-2:] != (3, 3):
        raise ValueError(f"{name}: expected shape [..., 3, 3], got {k.shape}")
    check_finite(k, name)
    if not (np.allclose(k[..., 2, :], [0.0, 0.0, 1.0]) and np.allclose(k[..., 1, 0], 0.0)):
        raise ValueError(f"{name}: expected an upper-triangular matrix with last row (0, 0, 1)")
    if not np.allclose(k[..., 0, 1], 0.0, atol=1e-9 * np.abs(k[..., 0, 0]).max()):
        raise ValueError(f"{name}: a non-zero skew K[0, 1] is not supported")
    return check_intrinsics(
        np.stack([k[..., 0, 0], k[..., 1, 1], k[..., 0, 2], k[..., 1, 2]], axis=-1), name
    )
