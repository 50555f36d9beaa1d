"""Synthetic feature maps and detections for the context tests (no detector run)."""

from __future__ import annotations

import numpy as np

from monopose.capf.features import CROP_SIZE_PX, LEVELS
from monopose.detect.roi import image_to_crop_matrix
from monopose.detect.types import FeatureMap, PersonDetection, RotatedRect


def make_maps(rng: np.random.Generator, roi: RotatedRect, levels=LEVELS) -> dict[str, FeatureMap]:
    """Random feature maps of the default levels for ``roi`` (includes its rotation)."""
    to_crop = image_to_crop_matrix(roi, (CROP_SIZE_PX, CROP_SIZE_PX))
    maps = {}
    for spec in levels:
        to_map = np.diag([1.0 / spec.stride, 1.0 / spec.stride, 1.0]) @ to_crop
        data = rng.normal(size=(spec.side, spec.side, spec.channels)).astype(np.float32)
        maps[spec.name] = FeatureMap(spec.name, spec.stride, spec.channels, data, to_map,
                                     np.linalg.inv(to_map))
    return maps


def make_detection(rng: np.random.Generator, roi: RotatedRect | None = None,
                   keypoints_h36m_px: np.ndarray | None = None,
                   with_maps: bool = True) -> PersonDetection:
    roi = roi or RotatedRect((200.0, 180.0), (220.0, 220.0), 0.3)
    kp = (keypoints_h36m_px if keypoints_h36m_px is not None
          else np.asarray(roi.center_px) + rng.uniform(-80, 80, size=(17, 2)))
    return PersonDetection(
        box_xyxy_px=np.array([100.0, 80.0, 300.0, 280.0]), detection_score=0.9,
        presence_score=0.99, keypoints_px=np.zeros((33, 2)), keypoints_z_px=np.zeros(33),
        visibility=np.ones(33), presence=np.ones(33), world_landmarks_m=np.zeros((33, 3)),
        roi=roi, keypoints_h36m_px=kp, valid_h36m=np.ones(17, bool),
        derived_h36m=np.zeros(17, bool), keypoints_coco_px=np.zeros((17, 2)),
        valid_coco=np.ones(17, bool), derived_coco=np.zeros(17, bool),
        feature_maps=make_maps(rng, roi) if with_maps else {},
    )
