"""Result types of the 2D front end.

All pixel coordinates are in the input image: x right, y down, origin at the top-left corner of
the top-left pixel's sample point (the convention of OpenCV's warps and of MediaPipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["RotatedRect", "Detection", "FeatureMap", "PersonDetection"]


@dataclass(frozen=True)
class RotatedRect:
    """A rotated rectangle in image pixels (a MediaPipe ``NormalizedRect``, in pixels).

    Attributes:
        center_px: ``(x, y)`` centre.
        size_px: ``(width, height)`` before rotation.
        rotation_rad: Rotation, radians; positive turns the rect's x axis towards the image's
            y axis (clockwise on screen), as in MediaPipe.
    """

    center_px: tuple[float, float]
    size_px: tuple[float, float]
    rotation_rad: float

    @property
    def corners_px(self) -> np.ndarray:
        """``[4, 2]`` corners: top-left, top-right, bottom-right, bottom-left (rect frame)."""
        w, h = self.size_px
        local = np.array([[-w, -h], [w, -h], [w, h], [-w, h]], dtype=np.float64) * 0.5
        c, s = np.cos(self.rotation_rad), np.sin(self.rotation_rad)
        rot = np.array([[c, -s], [s, c]])
        return local @ rot.T + np.asarray(self.center_px, dtype=np.float64)

    @property
    def bounding_box_xyxy_px(self) -> np.ndarray:
        """Axis-aligned box ``[4]`` (x0, y0, x1, y1) enclosing the rotated rect."""
        pts = self.corners_px
        return np.concatenate([pts.min(axis=0), pts.max(axis=0)])


@dataclass(frozen=True)
class Detection:
    """One person found by the BlazePose detector, in image pixels.

    Attributes:
        box_xyxy_px: ``[4]`` box (x0, y0, x1, y1).
        score: Detector confidence in [0, 1] (sigmoid of the logit).
        keypoints_px: ``[4, 2]`` detector keypoints: hip centre, full-body scale point,
            shoulder centre, upper-body scale point.
    """

    box_xyxy_px: np.ndarray
    score: float
    keypoints_px: np.ndarray


@dataclass
class FeatureMap:
    """One intermediate activation of the landmark network for one person.

    Attributes:
        name: Tensor name in the tflite graph (first ``;``-separated part).
        stride: Crop pixels per cell (256 / map side).
        channels: Number of channels ``C``.
        data: ``[H, W, C]`` float32 activations.
        image_to_map: ``[3, 3]`` homography taking image pixels ``(x, y, 1)`` to map cells
            ``(col, row, 1)``; it includes the ROI's rotation. Cell ``(row, col)`` sits at crop
            pixel ``(col * stride, row * stride)``, the convention of MediaPipe's heatmap decoding.
        map_to_image: ``[3, 3]`` inverse of ``image_to_map``.
    """

    name: str
    stride: int
    channels: int
    data: np.ndarray
    image_to_map: np.ndarray
    map_to_image: np.ndarray

    def sample(self, points_px: np.ndarray) -> np.ndarray:
        """Bilinearly sample the map at image points.

        Args:
            points_px: ``[N, 2]`` image pixels.

        Returns:
            ``[N, C]`` features; points outside the map read the nearest border cell.
        """
        pts = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
        cells = pts @ self.image_to_map[:2, :2].T + self.image_to_map[:2, 2]
        h, w = self.data.shape[:2]
        col = np.clip(cells[:, 0], 0, w - 1)
        row = np.clip(cells[:, 1], 0, h - 1)
        c0 = np.minimum(np.floor(col).astype(int), w - 2) if w > 1 else np.zeros(len(col), int)
        r0 = np.minimum(np.floor(row).astype(int), h - 2) if h > 1 else np.zeros(len(row), int)
        fc = (col - c0)[:, None]
        fr = (row - r0)[:, None]
        c1 = np.minimum(c0 + 1, w - 1)
        r1 = np.minimum(r0 + 1, h - 1)
        d = self.data
        top = d[r0, c0] * (1 - fc) + d[r0, c1] * fc
        bottom = d[r1, c0] * (1 - fc) + d[r1, c1] * fc
        return (top * (1 - fr) + bottom * fr).astype(np.float32)


@dataclass
class PersonDetection:
    """Everything the 2D front end knows about one person in one image.

    Attributes:
        box_xyxy_px: ``[4]`` person box: around the keypoints with presence ≥ 0.5 and the
            derived h36m17 head top, whole pixels rounded outwards, clipped to the image.
        detection_score: Detector confidence; ``nan`` when the ROI came from tracking.
        presence_score: Landmark model's pose-presence probability.
        keypoints_px: ``[33, 2]`` BlazePose keypoints in image pixels.
        keypoints_z_px: ``[33]`` relative depth (MediaPipe's z, scaled to pixels; smaller is
            nearer the camera; origin near the hips).
        visibility: ``[33]`` probability that a keypoint is visible (not occluded).
        presence: ``[33]`` probability that a keypoint is inside the image.
        world_landmarks_m: ``[33, 3]`` the landmark model's metric 3D pose, metres, centred
            between the hips, axes aligned with the image (x right, y down).
        roi: The rotated square the landmark model looked at.
        keypoints_h36m_px: ``[17, 2]`` keypoints in layout ``"h36m17"``.
        valid_h36m: ``[17]`` bool; joints whose source keypoints are all present.
        derived_h36m: ``[17]`` bool; joints computed from several keypoints.
        keypoints_coco_px: ``[17, 2]`` keypoints in layout ``"coco17"``.
        valid_coco: ``[17]`` bool.
        derived_coco: ``[17]`` bool.
        feature_maps: Requested activations of the landmark network (empty unless asked for).
        track_id: Stable id across video frames (tracking mode); None for single images.
        auxiliary_px: ``[2, 2]`` the auxiliary landmarks (hip centre, scale point) that place
            the next frame's ROI.
        detector_box_xyxy_px: ``[4]`` the detector's own box (BlazePose centres it on the head);
            None when the ROI came from tracking.
    """

    box_xyxy_px: np.ndarray
    detection_score: float
    presence_score: float
    keypoints_px: np.ndarray
    keypoints_z_px: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world_landmarks_m: np.ndarray
    roi: RotatedRect
    keypoints_h36m_px: np.ndarray
    valid_h36m: np.ndarray
    derived_h36m: np.ndarray
    keypoints_coco_px: np.ndarray
    valid_coco: np.ndarray
    derived_coco: np.ndarray
    feature_maps: dict[str, FeatureMap] = field(default_factory=dict)
    track_id: int | None = None
    auxiliary_px: np.ndarray | None = None
    detector_box_xyxy_px: np.ndarray | None = None

    @property
    def keypoint_score(self) -> np.ndarray:
        """``[33]`` combined confidence: visibility times presence."""
        return self.visibility * self.presence
