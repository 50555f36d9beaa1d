"""The working size: large images are area-downscaled before detection, outputs mapped back.

Photos and video frames whose longer side exceeds :data:`MAX_WORKING_SIDE_PX` are detected and
lifted at that size, with intrinsics scaled alike, so the 3D geometry does not change; the 2D
outputs are mapped back to the full-resolution pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from monopose.io.results import CameraInfo, PersonResult

__all__ = ["MAX_WORKING_SIDE_PX", "working_scale", "shrink", "to_full_resolution"]

MAX_WORKING_SIDE_PX = 1280


def working_scale(width: int, height: int) -> float:
    """Factor (≤ 1) that brings the longer image side down to ``MAX_WORKING_SIDE_PX``."""
    return min(1.0, MAX_WORKING_SIDE_PX / max(width, height))


def shrink(rgb: np.ndarray, camera: CameraInfo, scale: float
           ) -> tuple[np.ndarray, CameraInfo]:
    """The image and intrinsics at ``scale`` (area-averaged, so fine detail does not alias).

    The detector samples its 224/256 px inputs bilinearly, which aliases badly when a huge image
    is reduced ~10×: a 2048² photo lost its person that a 1024² copy kept. Intrinsics are scaled
    with the pixels (pixel centres on integers), so the 3D geometry is unchanged.
    """
    if scale >= 1.0:
        return rgb, camera
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    sx, sy = size[0] / w, size[1] / h
    cam = CameraInfo(camera.fx * sx, camera.fy * sy, (camera.cx + 0.5) * sx - 0.5,
                     (camera.cy + 0.5) * sy - 0.5, size[0], size[1], camera.source,
                     camera.fov_deg)
    return small, cam


def to_full_resolution(people: list[PersonResult], scale: float) -> list[PersonResult]:
    """Map the 2D outputs of people found at ``scale`` back to full-resolution pixels."""
    if scale >= 1.0:
        return people
    for p in people:
        p.keypoints_2d_px = (p.keypoints_2d_px + 0.5) / scale - 0.5
        p.box_xyxy_px = (p.box_xyxy_px + 0.5) / scale - 0.5
    return people
