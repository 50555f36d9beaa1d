"""Pinhole cameras with Brown–Conrady lens distortion, and image homographies.

Conventions used throughout monopose:

* Camera space is OpenCV's: x right, y down, z forward, in millimetres; ``X_cam = R @ X_world + t``.
* Pixel coordinates are continuous with pixel *centres* on integers, so an image of ``W × H``
  pixels spans ``[-0.5, W - 0.5] × [-0.5, H - 0.5]``; its centre is ``((W - 1) / 2, (H - 1) / 2)``
  (the same convention as OpenCV's warps and :func:`monopose.core.skeleton.flip_pose`).
* Distortion is stored as ``dist = (k1, k2, k3, p1, p2)`` — radial terms first, the model
  OpenCV's (:mod:`monopose.core.lens`); undistortion is checked and never returns a silent
  wrong number.

The free functions broadcast over leading dimensions: ``points [..., J, 3]`` with
``intrinsics [..., 4]`` projects a batch of B poses through B different cameras in one call.

The implementation lives in :mod:`monopose.core.lens` (intrinsics, distortion),
:mod:`monopose.core.projection` (points ↔ pixels) and :mod:`monopose.core.homography`; this
module holds the :class:`Camera` type and re-exports the free functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from monopose.core.checks import as_float, check_dist, check_finite, check_intrinsics, check_last
from monopose.core.homography import (
    apply_homography,
    crop_homography,
    invert_homography,
    resize_homography,
)
from monopose.core.lens import (
    DEFAULT_FOV_DEG,
    dist_from_opencv,
    dist_to_opencv,
    intrinsics_from_fov,
    intrinsics_from_matrix,
    intrinsics_to_matrix,
)
from monopose.core.projection import (
    distort_points,
    pixels_to_normalized,
    project_points,
    project_points_torch,
    undistort_points,
    unproject_points,
)

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
        intr = check_intrinsics(np.array([self.fx, self.fy, self.cx, self.cy], dtype=float))
        for name, value in zip(("fx", "fy", "cx", "cy"), intr, strict=True):
            object.__setattr__(self, name, float(value))
        dist = check_dist(self.dist)
        assert dist is not None
        if dist.shape != (5,):
            raise ValueError(f"dist: expected shape (5,), got {dist.shape}")
        R = as_float(self.R, "R")
        if R.shape != (3, 3):
            raise ValueError(f"R: expected shape (3, 3), got {R.shape}")
        check_finite(R, "R")
        if not np.allclose(R @ R.T, np.eye(3), atol=1e-6) or np.linalg.det(R) <= 0:
            raise ValueError("R: expected a rotation matrix (orthonormal, det = +1)")
        t = as_float(self.t, "t")
        if t.shape != (3,):
            raise ValueError(f"t: expected shape (3,), got {t.shape}")
        check_finite(t, "t")
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
        p = as_float(points_world_mm, "points_world_mm")
        check_last(p, 3, "points_world_mm", "[..., 3]")
        check_finite(p, "points_world_mm")
        return p @ self.R.T + self.t

    def camera_to_world(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` camera-space points (mm) → world (mm)."""
        p = as_float(points_cam_mm, "points_cam_mm")
        check_last(p, 3, "points_cam_mm", "[..., 3]")
        check_finite(p, "points_cam_mm")
        return (p - self.t) @ self.R

    # -- projection -----------------------------------------------------------------------------

    def project(self, points_cam_mm: np.ndarray, min_depth_mm: float | None = None) -> np.ndarray:
        """``[..., 3]`` camera-space points (mm, z > 0) → ``[..., 2]`` distorted pixels."""
        p = as_float(points_cam_mm, "points_cam_mm")
        check_last(p, 3, "points_cam_mm", "[..., 3]")
        return project_points(p[None], self.intrinsics, self.dist, min_depth_mm)[0]

    def project_world(self, points_world_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` world points (mm) → ``[..., 2]`` pixels."""
        return self.project(self.world_to_camera(points_world_mm))

    def undistort_points(self, px: np.ndarray) -> np.ndarray:
        """``[..., 2]`` distorted pixels → ideal pinhole pixels (same K)."""
        p = as_float(px, "px")
        check_last(p, 2, "px", "[..., 2]")
        return undistort_points(p[None], self.intrinsics, self.dist)[0]

    def unproject(self, px: np.ndarray, depth_mm: np.ndarray | float) -> np.ndarray:
        """``[..., 2]`` pixels at depths ``z`` ``[...]`` (mm, > 0) → ``[..., 3]`` camera space."""
        p = as_float(px, "px")
        check_last(p, 2, "px", "[..., 2]")
        depth = as_float(depth_mm, "depth_mm")
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
        h = as_float(H, "H")
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
        box = as_float(box_xywh, "box_xywh")
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
