"""Projection of camera-space points to pixels and back, with optional lens distortion.

The functions broadcast over leading dimensions: ``points [..., J, 3]`` with
``intrinsics [..., 4]`` projects a batch of B poses through B different cameras in one call.
Conventions are those of :mod:`monopose.core.camera`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from monopose.core.checks import (
    as_float,
    broadcast_shape,
    check_dist,
    check_finite,
    check_intrinsics,
    check_last,
)
from monopose.core.lens import OnFailure, distort_xy, undistort_xy

if TYPE_CHECKING:  # torch is only needed by project_points_torch and is imported lazily.
    import torch

__all__ = [
    "project_points",
    "project_points_torch",
    "undistort_points",
    "distort_points",
    "pixels_to_normalized",
    "unproject_points",
]


def _leading_intrinsics(
    intrinsics: object, dist: object | None, lead: tuple[int, ...], names: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check intrinsics/dist and give them a joint axis so they broadcast against ``[..., J]``."""
    intr = check_intrinsics(intrinsics)
    d = check_dist(dist)
    shapes = [lead, intr.shape[:-1]] + ([d.shape[:-1]] if d is not None else [])
    broadcast_shape(*shapes, names=names)
    return intr[..., None, :], (d[..., None, :] if d is not None else None)


def project_points(
    points_cam_mm: np.ndarray,
    intrinsics: np.ndarray,
    dist: np.ndarray | None = None,
    min_depth_mm: float | None = None,
) -> np.ndarray:
    """Project camera-space points to pixels.

    Args:
        points_cam_mm: ``[..., J, 3]`` camera-space points (mm).
        intrinsics: ``[..., 4]`` ``(fx, fy, cx, cy)`` px; leading dims broadcast against the
            points' leading dims (without J).
        dist: optional ``[..., 5]`` ``(k1, k2, k3, p1, p2)``, broadcast like ``intrinsics``.
        min_depth_mm: None (default) to reject points with ``z ≤ 0``; a positive value to clamp
            depths to at least that value instead (for losses on early, implausible predictions).

    Returns:
        ``[..., J, 2]`` pixel coordinates.

    Raises:
        ValueError: on wrong shapes, non-finite values, or (``min_depth_mm=None``) a point with
            ``z ≤ 0``.
    """
    pts = as_float(points_cam_mm, "points_cam_mm")
    check_last(pts, 3, "points_cam_mm", "[..., J, 3]", min_ndim=2)
    check_finite(pts, "points_cam_mm")
    intr, d = _leading_intrinsics(intrinsics, dist, pts.shape[:-2], "points_cam_mm/intrinsics")
    z = pts[..., 2]
    if min_depth_mm is None:
        if (z <= 0).any():
            raise ValueError(
                f"points_cam_mm: expected depth z > 0 for every point, got min z = {z.min():.6g}"
            )
    else:
        if not min_depth_mm > 0:
            raise ValueError(f"min_depth_mm: expected a positive value, got {min_depth_mm}")
        z = np.maximum(z, min_depth_mm)
    x = pts[..., 0] / z
    y = pts[..., 1] / z
    if d is not None:
        x, y = distort_xy(x, y, d)
    u = intr[..., 0] * x + intr[..., 2]
    v = intr[..., 1] * y + intr[..., 3]
    return np.stack([u, v], axis=-1)


def pixels_to_normalized(
    px: np.ndarray,
    intrinsics: np.ndarray,
    dist: np.ndarray | None = None,
    on_failure: OnFailure = "raise",
) -> np.ndarray:
    """Pixels ``[..., J, 2]`` → undistorted normalised image coordinates ``(X/Z, Y/Z) [..., J, 2]``.

    ``intrinsics [..., 4]`` and ``dist [..., 5]`` broadcast as in :func:`project_points`. With
    ``on_failure="nan"`` points that cannot be undistorted become NaN instead of raising.
    """
    p = as_float(px, "px")
    check_last(p, 2, "px", "[..., J, 2]", min_ndim=2)
    check_finite(p, "px")
    intr, d = _leading_intrinsics(intrinsics, dist, p.shape[:-2], "px/intrinsics")
    x = (p[..., 0] - intr[..., 2]) / intr[..., 0]
    y = (p[..., 1] - intr[..., 3]) / intr[..., 1]
    if d is not None:
        x, y = undistort_xy(x, y, d, on_failure, "px")
    return np.stack(np.broadcast_arrays(x, y), axis=-1)


def undistort_points(
    px: np.ndarray,
    intrinsics: np.ndarray,
    dist: np.ndarray | None = None,
    on_failure: OnFailure = "raise",
) -> np.ndarray:
    """Remove lens distortion: distorted pixels ``[..., J, 2]`` → ideal pinhole pixels (same K).

    Accurate to far below 0.01 px wherever the distortion model is invertible (Newton's method,
    checked on exit); other points raise ``ValueError`` or, with ``on_failure="nan"``, are NaN.
    """
    xy = pixels_to_normalized(px, intrinsics, dist, on_failure)
    intr = check_intrinsics(intrinsics)[..., None, :]
    return np.stack(
        [intr[..., 0] * xy[..., 0] + intr[..., 2], intr[..., 1] * xy[..., 1] + intr[..., 3]],
        axis=-1,
    )


def distort_points(
    px_undistorted: np.ndarray, intrinsics: np.ndarray, dist: np.ndarray | None
) -> np.ndarray:
    """Add lens distortion to ideal pinhole pixels ``[..., J, 2]`` (inverse of undistort)."""
    p = as_float(px_undistorted, "px_undistorted")
    check_last(p, 2, "px_undistorted", "[..., J, 2]", min_ndim=2)
    check_finite(p, "px_undistorted")
    intr, d = _leading_intrinsics(intrinsics, dist, p.shape[:-2], "px_undistorted/intrinsics")
    x = (p[..., 0] - intr[..., 2]) / intr[..., 0]
    y = (p[..., 1] - intr[..., 3]) / intr[..., 1]
    if d is not None:
        x, y = distort_xy(x, y, d)
    return np.stack([intr[..., 0] * x + intr[..., 2], intr[..., 1] * y + intr[..., 3]], axis=-1)


def unproject_points(
    px: np.ndarray,
    depth_mm: np.ndarray,
    intrinsics: np.ndarray,
    dist: np.ndarray | None = None,
) -> np.ndarray:
    """Back-project pixels ``[..., J, 2]`` at depths z ``[..., J]`` (mm, > 0) to ``[..., J, 3]``.

    ``depth_mm`` is the z coordinate (distance along the optical axis), not the ray length.
    """
    depth = as_float(depth_mm, "depth_mm")
    check_finite(depth, "depth_mm")
    if (depth <= 0).any():
        raise ValueError(f"depth_mm: expected depths > 0 mm, got min {depth.min():.6g}")
    xy = pixels_to_normalized(px, intrinsics, dist)
    try:
        depth = np.broadcast_to(depth, xy.shape[:-1])
    except ValueError:
        raise ValueError(
            f"depth_mm: expected shape broadcastable to {xy.shape[:-1]}, got {depth.shape}"
        ) from None
    return np.concatenate([xy * depth[..., None], depth[..., None]], axis=-1)


def project_points_torch(
    points_cam_mm: torch.Tensor,
    intrinsics: torch.Tensor,
    dist: torch.Tensor | None = None,
    min_depth_mm: float | None = None,
) -> torch.Tensor:
    """Differentiable torch version of :func:`project_points` with the same semantics.

    Args:
        points_cam_mm: ``[..., J, 3]`` tensor (mm).
        intrinsics: ``[..., 4]`` tensor ``(fx, fy, cx, cy)``.
        dist: optional ``[..., 5]`` tensor ``(k1, k2, k3, p1, p2)``.
        min_depth_mm: None to reject ``z ≤ 0`` (this synchronises with the device), or a positive
            value to clamp depths (the usual choice inside a loss).

    Returns:
        ``[..., J, 2]`` pixel coordinates, same dtype and device as ``points_cam_mm``.
    """
    import torch  # heavy: torch, kept off the numpy-only import path

    if points_cam_mm.ndim < 2 or points_cam_mm.shape[-1] != 3:
        raise ValueError(
            f"points_cam_mm: expected shape [..., J, 3], got {tuple(points_cam_mm.shape)}"
        )
    if intrinsics.ndim < 1 or intrinsics.shape[-1] != 4:
        raise ValueError(f"intrinsics: expected shape [..., 4], got {tuple(intrinsics.shape)}")
    if dist is not None and (dist.ndim < 1 or dist.shape[-1] != 5):
        raise ValueError(f"dist: expected shape [..., 5], got {tuple(dist.shape)}")
    try:
        torch.broadcast_shapes(
            points_cam_mm.shape[:-2], intrinsics.shape[:-1],
            *([dist.shape[:-1]] if dist is not None else []),
        )
    except RuntimeError:
        raise ValueError(
            f"points_cam_mm/intrinsics: leading shapes {tuple(points_cam_mm.shape[:-2])} and "
            f"{tuple(intrinsics.shape[:-1])} do not broadcast"
        ) from None
    intr = intrinsics.to(points_cam_mm)[..., None, :]
    z = points_cam_mm[..., 2]
    if min_depth_mm is None:
        if bool((z <= 0).any()):
            raise ValueError("points_cam_mm: expected depth z > 0 for every point")
    else:
        if not min_depth_mm > 0:
            raise ValueError(f"min_depth_mm: expected a positive value, got {min_depth_mm}")
        z = torch.clamp(z, min=min_depth_mm)
    x = points_cam_mm[..., 0] / z
    y = points_cam_mm[..., 1] / z
    if dist is not None:
        d = dist.to(points_cam_mm)[..., None, :]
        k1, k2, k3, p1, p2 = d.unbind(-1)
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        x, y = (
            x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x),
            y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y,
        )
    u = intr[..., 0] * x + intr[..., 2]
    v = intr[..., 1] * y + intr[..., 3]
    return torch.stack([u, v], dim=-1)
