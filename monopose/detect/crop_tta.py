"""Test-time augmentation of the final landmark look: the person seen through a few crops.

The landmark network's answer moves with its crop. A few percent of scale or shift can make it
lose an arm it found, or find one it lost. :func:`look_through_crops` looks at the person
through the kept crop and through slightly scaled and shifted copies of it
(:data:`CROP_JITTER`, in that order), maps every answer back to the image and averages them,
field by field. With one crop it is the plain look.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from monopose.detect.landmarks import CROP_SIZE, LandmarkOutput, mean_landmarks
from monopose.detect.mirror import landmark_pass
from monopose.detect.roi import crop_image
from monopose.detect.types import RotatedRect

if TYPE_CHECKING:
    from monopose.detect.litert_model import LiteRTModel

__all__ = ["CROP_JITTER", "MAX_LANDMARK_CROPS", "check_landmark_crops", "jittered_rois",
           "look_through_crops"]

# (scale, shift along the crop's x, shift along its y), shifts as fractions of the crop's side:
# the kept crop, then two scales, then shifts at each scale (the first n are used).
CROP_JITTER: tuple[tuple[float, float, float], ...] = (
    (1.0, 0.0, 0.0), (0.92, 0.0, 0.0), (1.08, 0.0, 0.0),
    (1.0, 0.04, 0.04), (1.0, -0.04, -0.04),
    (0.92, 0.04, 0.04), (0.92, -0.04, -0.04), (1.08, 0.04, 0.04), (1.08, -0.04, -0.04),
)
MAX_LANDMARK_CROPS = 8  # as MeTRAbs' test-time crops: --tta 1..8


def check_landmark_crops(n: int, what: str = "landmark_crops") -> int:
    """``n`` when it is a number of crops in 1 .. :data:`MAX_LANDMARK_CROPS`.

    Raises:
        ValueError: naming ``what`` otherwise.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) \
            or not 1 <= n <= MAX_LANDMARK_CROPS:
        raise ValueError(f"{what}: expected 1 to {MAX_LANDMARK_CROPS} crops, got {n!r}")
    return int(n)


def jittered_rois(roi: RotatedRect, n: int) -> list[RotatedRect]:
    """The first ``n`` crops of :data:`CROP_JITTER` around ``roi`` (the first is ``roi``).

    Raises:
        ValueError: when ``n`` is not in 1 .. ``MAX_LANDMARK_CROPS``.
    """
    check_landmark_crops(n)
    cos, sin = np.cos(roi.rotation_rad), np.sin(roi.rotation_rad)
    out = []
    for scale, dx, dy in CROP_JITTER[:n]:
        # the shift is along the crop's own axes, which the rotation turns into the image
        ox = (dx * cos - dy * sin) * roi.size_px[0]
        oy = (dx * sin + dy * cos) * roi.size_px[1]
        out.append(RotatedRect((roi.center_px[0] + ox, roi.center_px[1] + oy),
                               (roi.size_px[0] * scale, roi.size_px[1] * scale),
                               roi.rotation_rad))
    return out


def look_through_crops(model: LiteRTModel, image: np.ndarray, roi: RotatedRect, n: int,
                       mirror_test: bool = False, first: LandmarkOutput | None = None
                       ) -> LandmarkOutput:
    """The landmark network's answer for the person in ``roi``, averaged over ``n`` crops.

    Args:
        model: A landmark network.
        image: RGB uint8 ``[H, W, 3]``.
        n: Crops, 1 .. :data:`MAX_LANDMARK_CROPS` (1: the plain look through ``roi``).
        mirror_test: Each crop also seen mirrored (:func:`~monopose.detect.mirror.landmark_pass`).
        first: ``model``'s answer through ``roi`` itself when it is already known (it is
            not run again).

    Returns:
        The mean of the answers, in image pixels.
    """
    answers = [] if first is None else [first]
    for rect in jittered_rois(roi, n)[len(answers):]:
        crop = crop_image(image, rect, (CROP_SIZE, CROP_SIZE), border="replicate")
        answers.append(landmark_pass(model, crop, rect, mirror_test)[1])
    return answers[0] if n == 1 else mean_landmarks(answers)
