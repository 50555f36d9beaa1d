"""2D front end: people, BlazePose keypoints and the landmark network's feature maps (CPU).

Main entry points: :class:`BlazePoseDetector` (images) and :class:`PoseTracker` (video).
"""

from monopose.detect.blazepose import DEFAULT_FEATURE_MAPS, BlazePoseDetector, FeatureMapInfo
from monopose.detect.tracking import PoseTracker
from monopose.detect.types import Detection, FeatureMap, PersonDetection, RotatedRect
from monopose.io.images import load_image

__all__ = [
    "BlazePoseDetector",
    "PoseTracker",
    "PersonDetection",
    "Detection",
    "FeatureMap",
    "FeatureMapInfo",
    "RotatedRect",
    "DEFAULT_FEATURE_MAPS",
    "load_image",
]
