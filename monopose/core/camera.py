"""Pinhole cameras with Brown–Conrady lens distortion, and image homographies.

Conventions used throughout monopose:

* Camera space is OpenCV's: x right, y down, z forward, in millimetres; ``X_cam = R @ X_world + t``.
* Pixel coordinates are continuous with pixel *centres* on integers, so an image of ``W × H``
  pixels spans ``[-0.5, W - 0.5] × [-0.5, H - 0.5]``; its centre is ``((W - 1) / 2, (H - 1) / 2)``
  (the same convention as OpenCV's warps and :func:`monopose.core.skeleton.flip_pose`).
* Distortion is stored as ``dist = (k1, k2, k3, p1, p2)`` — radial terms first. OpenCV's own
  order is ``(k1, k2, p1, p2, k3)``; :func:`dist_to_opencv` and :func:`dist_from_opencv` convert.
  The model is OpenCV's: for normalised coordinates ``x = X/Z, y = Y/Z`` and ``r² = x² + y²``::

      radial = 1 + k1 r² + k2 r⁴ + k3 r⁶
      x_d = x·radial + 2 p1 x y + p2 (r² + 2 x²)
      y_d = y·radial + p1 (r² + 2 y²) + 2 p2 x y
      u = fx x_d + cx,   v = fy y_d + cy

* Undistortion inverts that map with Newton's method (the 2×2 Jacobian is analytic), which
  converges in a few steps for realistic lenses and is checked afterwards: a pixel whose inverse
  does not exist or does not converge is reported, never returned as a silent wrong number.

The free functions broadcast over leading dimensions: ``points [..., J, 3]`` with
``intrinsics [..., 4]`` projects a batch of B poses through B different cameras in one call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:  # torch is only needed by the *_torch functions and is imported lazily.
    import torch

__all__ = [
    "Camera",
    "DEFAULT_FOV_DEG",
    "project_points",
    "project_points_torch",
    "undistort_points",
    "distort_points",
    "pixels_to_normalized",
    "unproject_points",
    "intrinsics_from_fov",
    "intrinsics_to_matrix",
    "intrinsics_from_matrix",
    "dist_to_opencv",
    "dist_from_opencv",
    "crop_homography",
    "resize_homography",
    "invert_homography",
    "apply_homography",
]

#: Default field of view (degrees) of the *longer* image side when intrinsics are unknown.
DEFAULT_FOV_DEG = 55.0

_NEWTON_MAX_ITERS = 30
_NEWTON_TOL = 1e-12  # normalised units; 1e-12 × f ≈ 2e-9 px for f ≈ 2000 px
_ACCEPT_TOL = 1e-9  # residual accepted after the iterations (≈ 2e-6 px)

OnFailure = Literal["raise", "nan"]


# ----------------------------------------------------------------------------------------------
# argument checking


def _as_float(x: object, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc
    return arr


def _check_last(arr: np.ndarray, size: int, name: str, what: str, min_ndim: int = 1) -> None:
    if arr.ndim < min_ndim or arr.shape[-1] != size:
        raise ValueError(f"{name}: expected shape {what}, got {arr.shape}")


def _check_finite(arr: np.ndarray, name: str) -> None:
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or inf ({int((~np.isfinite(arr)).sum())} values)")


def _check_intrinsics(intrinsics: object, name: str = "intrinsics") -> np.ndarray:
    intr = _as_float(intrinsics, name)
    _check_last(intr, 4, name, "[..., 4] (fx, fy, cx, cy)")
    _check_finite(intr, name)
    if (intr[..., :2] <= 0).any():
        raise ValueError(f"{name}: focal lengths fx, fy must be > 0, got {intr[..., :2].min()}")
    return intr


def _check_dist(dist: object | None, name: str = "dist") -> np.ndarray | None:
    if dist is None:
        return None
    d = _as_float(dist, name)
    _check_last(d, 5, name, "[..., 5] (k1, k2, k3, p1, p2)")
    _check_finite(d, name)
    return d


def _broadcast_shape(*shapes: tuple[int, ...], names: str) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{names}: leading shapes {shapes} do not broadcast") from None


# ----------------------------------------------------------------------------------------------
# distortion in normalised coordinates (elementwise; all arguments broadcast)


def _distort_xy(
    x: np.ndarray, y: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Apply the distortion ``d [..., 5]`` to normalised ``x, y [...]``."""
    k1, k2, k3, p1, p2 = (d[..., i] for i in range(5))
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd


def _undistort_xy(
    xd: np.ndarray, yd: np.ndarray, d: np.ndarray, on_failure: OnFailure, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`_distort_xy` by Newton's method (Gauss–Newton on a square system)."""
    shape = np.broadcast_shapes(xd.shape, d.shape[:-1])
    xd = np.broadcast_to(xd, shape)
    yd = np.broadcast_to(yd, shape)
    k1, k2, k3, p1, p2 = (np.broadcast_to(d[..., i], shape) for i in range(5))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        x, y, det = _newton_undistort(xd, yd, k1, k2, k3, p1, p2)
        rx, ry = _distort_xy(x, y, d)
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
    d = _check_dist(dist)
    assert d is not None
    return d[..., [0, 1, 3, 4, 2]]


def dist_from_opencv(coeffs: np.ndarray) -> np.ndarray:
    """OpenCV's ``(k1, k2, p1, p2[, k3]) [..., 4|5]`` → ``(k1, k2, k3, p1, p2) [..., 5]``.

    Raises:
        ValueError: for more than 5 coefficients with non-zero higher terms (the rational and
            thin-prism models are not supported).
    """
    c = _as_float(coeffs, "coeffs")
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
    intr = _check_intrinsics(intrinsics)
    K = np.zeros(intr.shape[:-1] + (3, 3))
    K[..., 0, 0] = intr[..., 0]
    K[..., 1, 1] = intr[..., 1]
    K[..., 0, 2] = intr[..., 2]
    K[..., 1, 2] = intr[..., 3]
    K[..., 2, 2] = 1.0
    return K


def intrinsics_from_matrix(K: np.ndarray, name: str = "K") -> np.ndarray:
    """``K [..., 3, 3]`` (zero skew, last row ``0 0 1``) → ``(fx, fy, cx, cy) [..., 4]``."""
    k = _as_float(K, name)
    if k.ndim < 2 or k.shape[-2:] != (3, 3):
        raise ValueError(f"{name}: expected shape [..., 3, 3], got {k.shape}")
    _check_finite(k, name)
    if not (np.allclose(k[..., 2, :], [0.0, 0.0, 1.0]) and np.allclose(k[..., 1, 0], 0.0)):
        raise ValueError(f"{name}: expected an upper-triangular matrix with last row (0, 0, 1)")
    if not np.allclose(k[..., 0, 1], 0.0, atol=1e-9 * np.abs(k[..., 0, 0]).max()):
        raise ValueError(f"{name}: a non-zero skew K[0, 1] is not supported")
    return _check_intrinsics(
        np.stack([k[..., 0, 0], k[..., 1, 1], k[..., 0, 2], k[..., 1, 2]], axis=-1), name
    )


def _leading_intrinsics(
    intrinsics: object, dist: object | None, lead: tuple[int, ...], names: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check intrinsics/dist and give them a joint axis so they broadcast against ``[..., J]``."""
    intr = _check_intrinsics(intrinsics)
    d = _check_dist(dist)
    shapes = [lead, intr.shape[:-1]] + ([d.shape[:-1]] if d is not None else [])
    _broadcast_shape(*shapes, names=names)
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
    pts = _as_float(points_cam_mm, "points_cam_mm")
    _check_last(pts, 3, "points_cam_mm", "[..., J, 3]", min_ndim=2)
    _check_finite(pts, "points_cam_mm")
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
        x, y = _distort_xy(x, y, d)
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
    p = _as_float(px, "px")
    _check_last(p, 2, "px", "[..., J, 2]", min_ndim=2)
    _check_finite(p, "px")
    intr, d = _leading_intrinsics(intrinsics, dist, p.shape[:-2], "px/intrinsics")
    x = (p[..., 0] - intr[..., 2]) / intr[..., 0]
    y = (p[..., 1] - intr[..., 3]) / intr[..., 1]
    if d is not None:
        x, y = _undistort_xy(x, y, d, on_failure, "px")
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
    intr = _check_intrinsics(intrinsics)[..., None, :]
    return np.stack(
        [intr[..., 0] * xy[..., 0] + intr[..., 2], intr[..., 1] * xy[..., 1] + intr[..., 3]],
        axis=-1,
    )


def distort_points(
    px_undistorted: np.ndarray, intrinsics: np.ndarray, dist: np.ndarray | None
) -> np.ndarray:
    """Add lens distortion to ideal pinhole pixels ``[..., J, 2]`` (inverse of undistort)."""
    p = _as_float(px_undistorted, "px_undistorted")
    _check_last(p, 2, "px_undistorted", "[..., J, 2]", min_ndim=2)
    _check_finite(p, "px_undistorted")
    intr, d = _leading_intrinsics(intrinsics, dist, p.shape[:-2], "px_undistorted/intrinsics")
    x = (p[..., 0] - intr[..., 2]) / intr[..., 0]
    y = (p[..., 1] - intr[..., 3]) / intr[..., 1]
    if d is not None:
        x, y = _distort_xy(x, y, d)
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
    depth = _as_float(depth_mm, "depth_mm")
    _check_finite(depth, "depth_mm")
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
    import torch

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


# ----------------------------------------------------------------------------------------------
# homographies (crop, resize) acting on pixel coordinates


def crop_homography(box_xywh: np.ndarray, out_size_wh: tuple[float, float] | np.ndarray
                    ) -> np.ndarray:
    """Homography that maps image px → crop px for cropping ``box_xywh`` to ``out_size_wh``.

    The box ``(x, y, w, h)`` is a region in image pixel coordinates (pixel centres on integers),
    mapped onto the whole output image, i.e. onto ``[-0.5, W_out - 0.5] × [-0.5, H_out - 0.5]``;
    the box covering a whole ``W × H`` image is ``(-0.5, -0.5, W, H)``. The aspect ratio is not
    preserved if the box and the output differ in aspect. Use the result both for keypoints
    (:func:`apply_homography`) and for the pixels (``cv2.warpPerspective(img, H, out_size_wh)``)
    so that they stay consistent.

    Args:
        box_xywh: ``[..., 4]`` boxes (px), ``w, h > 0``.
        out_size_wh: ``(W_out, H_out)`` (px), positive.

    Returns:
        ``[..., 3, 3]`` homographies.
    """
    box = _as_float(box_xywh, "box_xywh")
    _check_last(box, 4, "box_xywh", "[..., 4] (x, y, w, h)")
    _check_finite(box, "box_xywh")
    if (box[..., 2:] <= 0).any():
        raise ValueError(f"box_xywh: expected w, h > 0, got min {box[..., 2:].min()}")
    out = _as_float(out_size_wh, "out_size_wh")
    if out.shape != (2,) or not np.isfinite(out).all() or (out <= 0).any():
        raise ValueError(f"out_size_wh: expected two positive sizes (W, H), got {out_size_wh!r}")
    sx = out[0] / box[..., 2]
    sy = out[1] / box[..., 3]
    H = np.zeros(box.shape[:-1] + (3, 3))
    H[..., 0, 0] = sx
    H[..., 0, 2] = -box[..., 0] * sx - 0.5
    H[..., 1, 1] = sy
    H[..., 1, 2] = -box[..., 1] * sy - 0.5
    H[..., 2, 2] = 1.0
    return H


def resize_homography(in_size_wh: tuple[float, float] | np.ndarray,
                      out_size_wh: tuple[float, float] | np.ndarray) -> np.ndarray:
    """Homography ``[3, 3]`` for resizing a whole ``in_size_wh`` image to ``out_size_wh``
    (the same map as ``cv2.resize``)."""
    ins = _as_float(in_size_wh, "in_size_wh")
    if ins.shape != (2,) or not np.isfinite(ins).all() or (ins <= 0).any():
        raise ValueError(f"in_size_wh: expected two positive sizes (W, H), got {in_size_wh!r}")
    return crop_homography(np.array([-0.5, -0.5, ins[0], ins[1]]), out_size_wh)


def invert_homography(H: np.ndarray) -> np.ndarray:
    """Inverse of homographies ``[..., 3, 3]`` (e.g. crop px → image px)."""
    h = _as_float(H, "H")
    if h.ndim < 2 or h.shape[-2:] != (3, 3):
        raise ValueError(f"H: expected shape [..., 3, 3], got {h.shape}")
    _check_finite(h, "H")
    sv = np.linalg.svd(h, compute_uv=False)
    if (sv[..., -1] <= 1e-13 * sv[..., 0]).any():
        raise ValueError("H: a homography is singular and has no inverse")
    return np.linalg.inv(h)


def apply_homography(H: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Map pixel coordinates through homographies.

    Args:
        H: ``[..., 3, 3]``; its leading dims broadcast against ``px``'s leading dims without N.
        px: ``[..., N, 2]`` points, or a single point ``[2]``.

    Returns:
        Mapped points, shape of ``px`` broadcast with H's leading dims.

    Raises:
        ValueError: on wrong shapes, non-finite input, or a point mapped to infinity.
    """
    h = _as_float(H, "H")
    if h.ndim < 2 or h.shape[-2:] != (3, 3):
        raise ValueError(f"H: expected shape [..., 3, 3], got {h.shape}")
    _check_finite(h, "H")
    p = _as_float(px, "px")
    _check_last(p, 2, "px", "[..., N, 2] or [2]")
    _check_finite(p, "px")
    single = p.ndim == 1
    if single:
        p = p[None]
    _broadcast_shape(h.shape[:-2], p.shape[:-2], names="H/px")
    hh = h[..., None, :, :]  # [..., 1, 3, 3] against points [..., N]
    x, y = p[..., 0], p[..., 1]
    w = hh[..., 2, 0] * x + hh[..., 2, 1] * y + hh[..., 2, 2]
    if (np.abs(w) < 1e-12).any():
        raise ValueError("px: a point maps to infinity under H (on its vanishing line)")
    u = (hh[..., 0, 0] * x + hh[..., 0, 1] * y + hh[..., 0, 2]) / w
    v = (hh[..., 1, 0] * x + hh[..., 1, 1] * y + hh[..., 1, 2]) / w
    out = np.stack([u, v], axis=-1)
    return out[..., 0, :] if single else out


# ----------------------------------------------------------------------------------------------
# the Camera type


def _default_dist() -> np.ndarray:
    return np.zeros(5)


def _default_R() -> np.ndarray:
    return np.eye(3)


def _default_t() -> np.ndarray:
    return np.zeros(3)


@dataclass(frozen=True, eq=False)
class Camera:
    """A calibrated camera: pinhole intrinsics, Brown–Conrady distortion and extrinsics.

    Attributes:
        fx, fy: Focal lengths (px), > 0.
        cx, cy: Principal point (px).
        dist: ``(5,)`` distortion ``(k1, k2, k3, p1, p2)`` (zeros: no distortion).
        R: ``(3, 3)`` rotation world → camera.
        t: ``(3,)`` translation (mm), so that ``X_cam = R @ X_world + t``.
        width, height: Image size (px), or None when unknown.

    Arrays are copied and made read-only, so a Camera really is immutable.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    dist: np.ndarray = field(default_factory=_default_dist)
    R: np.ndarray = field(default_factory=_default_R)
    t: np.ndarray = field(default_factory=_default_t)
    width: int | None = None
    height: int | None = None

    def __post_init__(self) -> None:
        intr = _check_intrinsics(np.array([self.fx, self.fy, self.cx, self.cy], dtype=float))
        for name, value in zip(("fx", "fy", "cx", "cy"), intr, strict=True):
            object.__setattr__(self, name, float(value))
        dist = _check_dist(self.dist)
        assert dist is not None
        if dist.shape != (5,):
            raise ValueError(f"dist: expected shape (5,), got {dist.shape}")
        R = _as_float(self.R, "R")
        if R.shape != (3, 3):
            raise ValueError(f"R: expected shape (3, 3), got {R.shape}")
        _check_finite(R, "R")
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) <= 0:
            raise ValueError("R: expected a rotation matrix (orthonormal, det = +1)")
        t = _as_float(self.t, "t")
        if t.shape != (3,):
            raise ValueError(f"t: expected shape (3,), got {t.shape}")
        _check_finite(t, "t")
        for name, arr in (("dist", dist), ("R", R), ("t", t)):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        for name in ("width", "height"):
            v = getattr(self, name)
            if v is not None:
                if int(v) != v or v <= 0:
                    raise ValueError(f"{name}: expected a positive integer or None, got {v}")
                object.__setattr__(self, name, int(v))

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float = DEFAULT_FOV_DEG) -> Camera:
        """A distortion-free camera at the origin whose longer image side spans ``fov_deg``."""
        fx, fy, cx, cy = intrinsics_from_fov(width, height, fov_deg)
        return cls(fx, fy, cx, cy, width=width, height=height)

    @classmethod
    def from_matrix(cls, K: np.ndarray, dist: np.ndarray | None = None,
                    R: np.ndarray | None = None, t: np.ndarray | None = None,
                    width: int | None = None, height: int | None = None) -> Camera:
        """Build from a 3×3 intrinsic matrix (zero skew)."""
        fx, fy, cx, cy = intrinsics_from_matrix(K)
        return cls(
            fx, fy, cx, cy,
            dist=_default_dist() if dist is None else dist,
            R=_default_R() if R is None else R,
            t=_default_t() if t is None else t,
            width=width, height=height,
        )

    # -- properties -----------------------------------------------------------------------------

    def K(self) -> np.ndarray:
        """``(3, 3)`` intrinsic matrix."""
        return intrinsics_to_matrix(self.intrinsics)

    @property
    def intrinsics(self) -> np.ndarray:
        """``(4,)`` ``(fx, fy, cx, cy)``."""
        return np.array([self.fx, self.fy, self.cx, self.cy])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.dist != 0))

    @property
    def image_size_wh(self) -> tuple[int, int] | None:
        if self.width is None or self.height is None:
            return None
        return (self.width, self.height)

    # -- coordinate frames ----------------------------------------------------------------------

    def world_to_camera(self, points_world_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` world points (mm) → camera space (mm)."""
        p = _as_float(points_world_mm, "points_world_mm")
        _check_last(p, 3, "points_world_mm", "[..., 3]")
        _check_finite(p, "points_world_mm")
        return p @ self.R.T + self.t

    def camera_to_world(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` camera-space points (mm) → world (mm)."""
        p = _as_float(points_cam_mm, "points_cam_mm")
        _check_last(p, 3, "points_cam_mm", "[..., 3]")
        _check_finite(p, "points_cam_mm")
        return (p - self.t) @ self.R

    # -- projection -----------------------------------------------------------------------------

    def project(self, points_cam_mm: np.ndarray, min_depth_mm: float | None = None) -> np.ndarray:
        """``[..., 3]`` camera-space points (mm, z > 0) → ``[..., 2]`` distorted pixels."""
        p = _as_float(points_cam_mm, "points_cam_mm")
        _check_last(p, 3, "points_cam_mm", "[..., 3]")
        return project_points(p[None], self.intrinsics, self.dist, min_depth_mm)[0]

    def project_world(self, points_world_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` world points (mm) → ``[..., 2]`` pixels."""
        return self.project(self.world_to_camera(points_world_mm))

    def undistort_points(self, px: np.ndarray) -> np.ndarray:
        """``[..., 2]`` distorted pixels → ideal pinhole pixels (same K)."""
        p = _as_float(px, "px")
        _check_last(p, 2, "px", "[..., 2]")
        return undistort_points(p[None], self.intrinsics, self.dist)[0]

    def unproject(self, px: np.ndarray, depth_mm: np.ndarray | float) -> np.ndarray:
        """``[..., 2]`` pixels at depths ``z`` ``[...]`` (mm, > 0) → ``[..., 3]`` camera space."""
        p = _as_float(px, "px")
        _check_last(p, 2, "px", "[..., 2]")
        depth = _as_float(depth_mm, "depth_mm")
        try:
            depth = np.broadcast_to(depth, p.shape[:-1])
        except ValueError:
            raise ValueError(
                f"depth_mm: expected shape broadcastable to {p.shape[:-1]}, got {depth.shape}"
            ) from None
        return unproject_points(p[None], depth[None], self.intrinsics, self.dist)[0]

    # -- image operations -----------------------------------------------------------------------

    def transformed(self, H: np.ndarray, out_size_wh: tuple[int, int] | None = None) -> Camera:
        """The camera of an image warped by an axis-aligned scale-and-shift homography ``H``
        (such as :func:`crop_homography`): ``K' = H K``, distortion and extrinsics unchanged."""
        h = _as_float(H, "H")
        if h.shape != (3, 3):
            raise ValueError(f"H: expected shape (3, 3), got {h.shape}")
        if not (np.allclose([h[0, 1], h[1, 0], h[2, 0], h[2, 1]], 0.0) and h[2, 2] != 0):
            raise ValueError("H: expected an axis-aligned scale-and-shift homography")
        h = h / h[2, 2]
        if h[0, 0] <= 0 or h[1, 1] <= 0:
            raise ValueError("H: expected positive scales (no mirroring)")
        w, hgt = (None, None) if out_size_wh is None else out_size_wh
        return Camera(
            h[0, 0] * self.fx, h[1, 1] * self.fy,
            h[0, 0] * self.cx + h[0, 2], h[1, 1] * self.cy + h[1, 2],
            dist=self.dist, R=self.R, t=self.t, width=w, height=hgt,
        )

    def cropped(self, box_xywh: np.ndarray, out_size_wh: tuple[int, int]) -> Camera:
        """The camera of the crop ``box_xywh`` resampled to ``out_size_wh`` (crop_homography)."""
        box = _as_float(box_xywh, "box_xywh")
        if box.shape != (4,):
            raise ValueError(f"box_xywh: expected shape (4,), got {box.shape}")
        return self.transformed(crop_homography(box, out_size_wh), out_size_wh)

    def resized(self, out_size_wh: tuple[int, int]) -> Camera:
        """The camera of the whole image resized to ``out_size_wh``; needs a known image size."""
        if self.width is None or self.height is None:
            raise ValueError("resized: the camera's width and height are unknown")
        return self.transformed(
            resize_homography((self.width, self.height), out_size_wh), out_size_wh
        )
