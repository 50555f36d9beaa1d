"""Finding the people of one photo: the whole image, tiles for small people, quarter turns.

The detector runs on the whole photo; when it finds nobody, or only people smaller than
:data:`SMALL_PERSON_FRACTION` of the photo's longer side, it runs again on overlapping tiles
(``tiles="fallback"``). When nobody is found at all, the whole photo is searched turned by
quarter turns (``turned_passes="fallback"``, :mod:`monopose.detect.turned_passes`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.types import PersonDetection

__all__ = ["PHOTO_LANDMARK_CROPS", "PHOTO_MIN_PRESENCE", "SMALL_PERSON_FRACTION",
           "find_photo_people", "photo_landmark_crops"]

# People whose box is smaller than this fraction of the photo's longer side trigger a tiled search.
SMALL_PERSON_FRACTION = 0.3
# Photos keep people whose landmark presence is at least this (MediaPipe's 0.5 dropped a person
# standing between two seated ones at 0.41; on rendered videos and the media photos 0.3 added
# no false person, BENCHMARKS.md). Videos keep the detector's 0.5: the tracker follows people
# from frame to frame and a low threshold would keep lost tracks alive.
PHOTO_MIN_PRESENCE = 0.3
# Keypoint models on photos average BlazePose Heavy's final look over this many crops
# (monopose.detect.crop_tta): on the twelve views of the real photos 103 / 87 / 246 mm ->
# 98 / 84 / 203 (MPJPE / P-MPJPE / root), on held-out renders 0.2-0.6 mm of P-MPJPE better, for
# about 130 ms more per person on two cores (BENCHMARKS.md, "`--tta` for keypoint models").
PHOTO_LANDMARK_CROPS = 5


def photo_landmark_crops(num_aug: int | None, keypoint_model: bool, landmark_model: str
                         ) -> int:
    """Crops of the final landmark look at each person of a photo: ``num_aug`` (``--tta``)
    when given, else :data:`PHOTO_LANDMARK_CROPS` with BlazePose Heavy (the setting measured)
    and one with the full network; always one for image models such as MeTRAbs, which
    augment their own crops (``keypoint_model=False``)."""
    if not keypoint_model:
        return 1
    if num_aug is not None:
        return num_aug
    return PHOTO_LANDMARK_CROPS if landmark_model == "heavy" else 1


def find_photo_people(detector: BlazePoseDetector, rgb: np.ndarray, with_features: bool,
                      tiles: str, turned_passes: str) -> list[PersonDetection]:
    """Every person of one photo.

    Args:
        rgb: ``[H, W, 3]`` uint8 at the working size.
        with_features: Also read the landmark network's feature maps (image models).
        tiles: ``"fallback"``, ``"always"`` or ``"off"`` (see the module docstring).
        turned_passes: ``"fallback"``, ``"always"`` or ``"off"``.
    """
    found = partial(detector.detect, with_features=with_features,
                    min_presence=PHOTO_MIN_PRESENCE)
    detections = _search(partial(found, turned_passes=turned_passes == "always"), rgb, tiles)
    if not detections and turned_passes == "fallback":
        # nobody upright, tiles included: the whole image turned (tiles found nobody)
        detections = found(rgb, tiles="off", turned_passes=True)
    return detections


def _search(found: Callable[..., list[PersonDetection]], rgb: np.ndarray, tiles: str
            ) -> list[PersonDetection]:
    """The photo's people by ``found`` (the detector's ``detect`` with this photo's settings),
    tiled as ``tiles`` says."""
    if tiles == "always":
        return found(rgb, tiles="auto")
    detections = found(rgb, tiles="off")
    if tiles == "off":
        return detections
    longer = max(rgb.shape[:2])
    small = all(float(np.ptp(np.reshape(d.box_xyxy_px, (2, 2)), axis=0).max())
                < SMALL_PERSON_FRACTION * longer for d in detections)
    if small:  # nobody, or only small people: search tiles too (the whole pass is kept)
        detections = found(rgb, tiles="auto")
    return detections
