"""When two detected people are one: the same landmarks, not overlapping ROIs.

The landmark network's ROI is a square about 1.25× the body's height, so two people walking
side by side have ROIs overlapping by IoU > 0.5 while their bodies barely touch; the earlier
rule (drop a person whose ROI overlaps a better one's by more than ``duplicate_iou``) dropped one
of them. Two detections of one person instead give nearly the same 33 landmarks.
"""

from __future__ import annotations

import numpy as np

from monopose.detect.ssd import iou_xyxy
from monopose.detect.types import PersonDetection

__all__ = ["DUPLICATE_KEYPOINT_FRAC", "same_person", "is_duplicate"]

# Median landmark distance, relative to the larger body box's longer side, under which two
# people are one (two people side by side: ~0.3 and more; one person found twice: a few %).
DUPLICATE_KEYPOINT_FRAC = 0.1


def same_person(a: PersonDetection, b: PersonDetection, frac: float = DUPLICATE_KEYPOINT_FRAC
                ) -> bool:
    """Whether ``a`` and ``b`` are one person: their median keypoint distance (over the 33
    BlazePose keypoints, px) is below ``frac`` of the larger body box's longer side."""
    size = max(float(np.ptp(np.reshape(p.box_xyxy_px, (2, 2)), axis=0).max()) for p in (a, b))
    dist = float(np.median(np.linalg.norm(a.keypoints_px - b.keypoints_px, axis=-1)))
    return dist < frac * max(size, 1.0)


def is_duplicate(person: PersonDetection, roi_box_xyxy_px: np.ndarray,
                 kept: list[PersonDetection], kept_roi_boxes_xyxy_px: list[np.ndarray],
                 frac: float | None, max_iou: float | None) -> bool:
    """Whether ``person`` is one of the people already ``kept``: by landmarks (``frac``, see
    :func:`same_person`) or, with ``frac=None``, by the earlier rule: its landmark ROI box
    (``[4]`` xyxy px) overlaps a kept one's by IoU above ``max_iou`` (None: never)."""
    if frac is not None:
        return any(same_person(person, q, frac) for q in kept)
    if max_iou is None or not kept_roi_boxes_xyxy_px:
        return False
    boxes = np.asarray(kept_roi_boxes_xyxy_px, dtype=np.float64).reshape(-1, 4)
    return bool(iou_xyxy(roi_box_xyxy_px, boxes).max() > max_iou)
