"""Person crops as virtual pinhole cameras (MeTRAbs' homography-warped crops).

A crop is what a second camera at the same centre would see after turning towards the person:
its optical axis passes through the box centre, it may roll (in-plane rotation) and its focal
length makes the box fill the crop. Because the crop is a true pinhole camera (not an affine
cut-out), a person looks the same wherever they stand in the photo, and 3D predicted in the
crop camera's frame goes back to the photo's camera by one rotation.

Conventions: OpenCV camera axes (x right, y down, z forward), mm; pixel centres on integers, so
a crop of side ``S`` has its principal point at ``((S - 1) / 2, (S - 1) / 2)``.

    crop = box_crop_camera(intrinsics, box_xyxy_px)
    patch = crop.warp(image)                         # [S, S, 3]
    joints_crop_mm = crop.source_to_crop_points(joints_cam_mm)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from monopose.core.camera import intrinsics_to_matrix
from monopose.core.virtual_camera import look_at_rotations

__all__ = [
    "CROP_SIZE_PX",
    "CropCamera",
    "box_crop_camera",
    "look_at_rotation",
    "partial_box",
    "truncating_square",
    "joints_box",
]

CROP_SIZE_PX = 256


def look_at_rotation(ray: np.ndarray, roll_rad: float = 0.0) -> np.ndarray:
    """``[3, 3]`` rotation R with ``R @ ray ∥ +z`` (the smallest such turn), then a roll about z.

    Args:
        ray: ``[3]`` direction in the source camera (need not be unit length).
        roll_rad: In-plane rotation of the new camera; positive turns image content clockwise
            on screen (the crop's x axis towards its y axis).
    """
    turn = look_at_rotations(np.asarray(ray, dtype=np.float64))
    cr, sr = np.cos(roll_rad), np.sin(roll_rad)
    roll = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return roll @ turn


@dataclass(frozen=True, eq=False)
class CropCamera:
    """A virtual camera looking at one person.

    Attributes:
        K_source: ``[3, 3]`` intrinsics of the photo's camera.
        K_crop: ``[3, 3]`` intrinsics of the crop camera.
        R_source_to_crop: ``[3, 3]`` rotation, ``X_crop = R @ X_source`` (same centre).
        size_px: Crop side ``S``.
    """

    K_source: np.ndarray
    K_crop: np.ndarray
    R_source_to_crop: np.ndarray
    size_px: int = CROP_SIZE_PX

    @property
    def source_to_crop_homography(self) -> np.ndarray:
        """``[3, 3]`` H with crop pixels ``~ H @ (x, y, 1)`` of source pixels."""
        return self.K_crop @ self.R_source_to_crop @ np.linalg.inv(self.K_source)

    @property
    def crop_intrinsics(self) -> np.ndarray:
        """``(fx, fy, cx, cy)`` of the crop camera."""
        k = self.K_crop
        return np.array([k[0, 0], k[1, 1], k[0, 2], k[1, 2]])

    def warp(self, image: np.ndarray, border_value: int = 0) -> np.ndarray:
        """The crop ``[S, S, C]`` of ``image [H, W, C]`` (bilinear; outside the photo: constant)."""
        s = self.size_px
        return cv2.warpPerspective(image, self.source_to_crop_homography, (s, s),
                                   flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=(border_value,) * 3)

    def source_to_crop_px(self, points_px: np.ndarray) -> np.ndarray:
        """Source pixels ``[..., 2]`` → crop pixels ``[..., 2]`` (NaN for points behind)."""
        return _apply(self.source_to_crop_homography, points_px)

    def crop_to_source_px(self, points_px: np.ndarray) -> np.ndarray:
        """Crop pixels ``[..., 2]`` → source pixels ``[..., 2]``."""
        return _apply(np.linalg.inv(self.source_to_crop_homography), points_px)

    def source_to_crop_points(self, points_mm: np.ndarray) -> np.ndarray:
        """Source-camera points ``[..., 3]`` → crop-camera points (mm)."""
        return np.asarray(points_mm, dtype=np.float64) @ self.R_source_to_crop.T

    def crop_to_source_points(self, points_mm: np.ndarray) -> np.ndarray:
        """Crop-camera points ``[..., 3]`` → source-camera points (mm)."""
        return np.asarray(points_mm, dtype=np.float64) @ self.R_source_to_crop


def _apply(H: np.ndarray, px: np.ndarray) -> np.ndarray:
    p = np.asarray(px, dtype=np.float64)
    h = p @ H[:, :2].T + H[:, 2]
    w = h[..., 2:3]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = h[..., :2] / w
    return np.where(w > 1e-12, out, np.nan)


def box_crop_camera(intrinsics: np.ndarray, box_xyxy_px: np.ndarray,
                    size_px: int = CROP_SIZE_PX, padding: float = 1.0,
                    roll_rad: float = 0.0, shift: tuple[float, float] = (0.0, 0.0)
                    ) -> CropCamera:
    """The crop camera that frames a box: square, centred on the box, side = longer box side
    × ``padding``.

    Args:
        intrinsics: ``(fx, fy, cx, cy)`` or ``[3, 3]`` K of the photo (undistorted pixels).
        box_xyxy_px: ``[4]`` box (x0, y0, x1, y1) in source pixels.
        size_px: Crop side.
        padding: Scale of the framed square relative to the box's longer side (> 0).
        roll_rad: In-plane rotation (augmentation).
        shift: Centre offset as a fraction of the framed side (augmentation).

    Raises:
        ValueError: a box that is not finite or has no area, bad padding or size.
    """
    box = np.asarray(box_xyxy_px, dtype=np.float64).reshape(-1)
    if box.shape != (4,) or not np.isfinite(box).all():
        raise ValueError(f"box_xyxy_px: expected 4 finite numbers, got {box_xyxy_px!r}")
    w, h = box[2] - box[0], box[3] - box[1]
    if w <= 1e-6 or h <= 1e-6:
        raise ValueError(f"box_xyxy_px: expected a box with positive width and height, got {box}")
    if not padding > 0:
        raise ValueError(f"padding: expected > 0, got {padding}")
    if int(size_px) < 8:
        raise ValueError(f"size_px: expected >= 8, got {size_px}")
    k = np.asarray(intrinsics, dtype=np.float64)
    K = k if k.shape == (3, 3) else intrinsics_to_matrix(k)
    side = max(w, h) * padding
    centre = np.array([(box[0] + box[2]) / 2 + shift[0] * side,
                       (box[1] + box[3]) / 2 + shift[1] * side])
    ray = np.linalg.solve(K, np.array([centre[0], centre[1], 1.0]))
    R = look_at_rotation(ray, roll_rad)
    # Off-axis, a box of `side` px subtends less angle (by cos along the tangent, cos² along the
    # radius): divide by the obliquity once so off-centre people fill the crop like central ones.
    cos_angle = 1.0 / np.linalg.norm(ray)
    f_source = float(np.sqrt(K[0, 0] * K[1, 1]))
    f_crop = size_px * f_source / (side * cos_angle)
    c = (size_px - 1) / 2.0
    K_crop = np.array([[f_crop, 0.0, c], [0.0, f_crop, c], [0.0, 0.0, 1.0]])
    return CropCamera(K_source=K, K_crop=K_crop, R_source_to_crop=R, size_px=int(size_px))


def joints_box(kp_px: np.ndarray, valid: np.ndarray | None = None, margin: float = 0.1
               ) -> np.ndarray:
    """``[4]`` box around keypoints ``[J, 2]`` grown by ``margin`` × its size on every side
    (joints sit inside the body's outline: head top, ankles and wrists are not its edge)."""
    p = np.asarray(kp_px, dtype=np.float64)
    ok = np.isfinite(p).all(-1) if valid is None else (np.asarray(valid, bool)
                                                        & np.isfinite(p).all(-1))
    if ok.sum() < 2:
        raise ValueError("kp_px: expected at least 2 valid keypoints to make a box")
    lo, hi = p[ok].min(0), p[ok].max(0)
    size = np.maximum(hi - lo, 1.0)
    return np.concatenate([lo - margin * size, hi + margin * size])


def partial_box(box_xyxy_px: np.ndarray, keep_fraction: float, side: str) -> np.ndarray:
    """The part of a box that remains when ``1 - keep_fraction`` of it is cut from ``side``.

    Args:
        box_xyxy_px: ``[4]`` full box.
        keep_fraction: Share of the box kept, in (0, 1].
        side: Which side is cut: ``"bottom"``, ``"top"``, ``"left"`` or ``"right"``.
    """
    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction: expected in (0, 1], got {keep_fraction}")
    x0, y0, x1, y1 = np.asarray(box_xyxy_px, dtype=np.float64)
    cut_w, cut_h = (x1 - x0) * (1 - keep_fraction), (y1 - y0) * (1 - keep_fraction)
    if side == "bottom":
        return np.array([x0, y0, x1, y1 - cut_h])
    if side == "top":
        return np.array([x0, y0 + cut_h, x1, y1])
    if side == "left":
        return np.array([x0 + cut_w, y0, x1, y1])
    if side == "right":
        return np.array([x0, y0, x1 - cut_w, y1])
    raise ValueError(f"side: expected bottom, top, left or right, got {side!r}")


def truncating_square(box_xyxy_px: np.ndarray, side: str) -> np.ndarray:
    """The square (side = the box's longer side) that keeps the box's ``side`` edge and grows
    away from it, centred on the other axis: framing a :func:`partial_box` with it leaves the cut
    part outside (a square centred on a narrow box would show it again)."""
    x0, y0, x1, y1 = np.asarray(box_xyxy_px, dtype=np.float64)
    s = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    if side == "left":  # the left part was cut: keep the left edge
        return np.array([x0, cy - s / 2, x0 + s, cy + s / 2])
    if side == "right":
        return np.array([x1 - s, cy - s / 2, x1, cy + s / 2])
    if side == "top":
        return np.array([cx - s / 2, y0, cx + s / 2, y0 + s])
    if side == "bottom":
        return np.array([cx - s / 2, y1 - s, cx + s / 2, y1])
    raise ValueError(f"side: expected bottom, top, left or right, got {side!r}")
