"""One landmark pass on a crop, optionally with the flip test: the crop also seen mirrored.

Heatmap pose networks are commonly tested on an image and on its mirror image, the two answers
averaged. :func:`landmark_pass` does that for BlazePose's landmark network: the mirrored crop's
answer is decoded and mapped back onto the crop (x → 256 − x, left and right landmarks swapped,
the world landmarks' x negated), and the two answers are averaged. On rendered people it lowers
the 2D error by 1–4 % and the default lifter's P-MPJPE by 0.5–2 mm, for a second network run
per crop (``benchmarks/bench_mirror_landmarks.py``; BENCHMARKS.md, "The landmark network's flip
test").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from monopose.core.skeleton import BLAZEPOSE33
from monopose.detect.landmarks import (
    CROP_SIZE,
    NUM_LANDMARKS,
    NUM_MODEL_LANDMARKS,
    LandmarkOutput,
    decode_landmarks,
    mean_landmarks,
)
from monopose.detect.roi import crop_image, crop_to_image, image_to_crop
from monopose.detect.types import RotatedRect

if TYPE_CHECKING:
    from monopose.detect.litert_model import LiteRTModel

__all__ = ["MIRROR_PERMUTATION", "decode_mirrored", "average_landmarks", "landmark_answers",
           "landmark_pass", "mirrored_landmarks"]

# The network's 39 outputs for a mirrored crop: the 33 body landmarks swap sides, the two
# alignment points and the four unused outputs keep their places.
MIRROR_PERMUTATION = np.concatenate([BLAZEPOSE33.flip_permutation,
                                     np.arange(NUM_LANDMARKS, NUM_MODEL_LANDMARKS)])


def decode_mirrored(raw_landmarks: np.ndarray, heatmap: np.ndarray, raw_world: np.ndarray,
                    roi: RotatedRect) -> LandmarkOutput:
    """Decode the landmark network's outputs for the crop of ``roi`` mirrored left–right, and
    map them back onto the crop as it is.

    Each landmark is decoded (and refined by the heatmap) in the mirrored crop, then moved to
    ``256 − x``: crop pixel ``u`` samples ``u / 256`` of the ROI's width, and the refinement
    reads heatmap cell ``c`` as ``c / 64`` of the crop, so flipping the heatmap instead would
    shift refined landmarks by a cell (4 crop px).

    Args:
        raw_landmarks: ``[195]`` or ``[39, 5]`` (x, y, z, visibility logit, presence logit).
        heatmap: ``[64, 64, 39]`` heatmap logits.
        raw_world: ``[117]`` or ``[39, 3]`` world landmarks (m, crop-aligned axes).

    Returns:
        The landmarks in image pixels, left and right as in the crop itself.
    """
    perm = MIRROR_PERMUTATION
    raw = np.asarray(raw_landmarks, dtype=np.float64).reshape(NUM_MODEL_LANDMARKS, 5)[perm]
    hm = np.asarray(heatmap)
    hm = hm.reshape(hm.shape[-3:])[..., perm]
    world = np.array(raw_world, dtype=np.float64).reshape(NUM_MODEL_LANDMARKS, 3)[perm]
    world[:, 0] = -world[:, 0]
    out = decode_landmarks(raw, hm, world, roi)
    size = (CROP_SIZE, CROP_SIZE)

    def back(points_px: np.ndarray) -> np.ndarray:
        crop_xy = image_to_crop(points_px, roi, size)
        crop_xy[:, 0] = CROP_SIZE - crop_xy[:, 0]
        return crop_to_image(crop_xy, roi, size)

    return LandmarkOutput(back(out.keypoints_px), out.z_px, out.visibility, out.presence,
                          back(out.auxiliary_px), out.world_m)


def average_landmarks(a: LandmarkOutput, b: LandmarkOutput) -> LandmarkOutput:
    """The mean of two decoded answers for one person, field by field."""
    return mean_landmarks((a, b))


def landmark_answers(model: LiteRTModel, crop_rgb: np.ndarray, roi: RotatedRect,
                     mirror: bool = False) -> list[tuple[float, LandmarkOutput]]:
    """Run the landmark network on a crop of ``roi`` (and on its mirror) and decode each answer
    into image pixels.

    Args:
        model: the landmark network.
        crop_rgb: ``[256, 256, 3]`` uint8, the crop of ``roi``.
        mirror: also run the crop mirrored left–right. The mirrored crop runs first, so the
            network's activations afterwards are the crop's own (read by feature-map users).

    Returns:
        ``[(presence score, landmarks)]``: the crop's own answer first, then the mirror's
        mapped back onto the crop (:func:`decode_mirrored`) with ``mirror``.
    """
    runs = [(np.ascontiguousarray(crop_rgb[:, ::-1]), decode_mirrored)] if mirror else []
    runs.append((crop_rgb, decode_landmarks))
    return [_answer(model, crop, decode, roi) for crop, decode in runs][::-1]


def _answer(model: LiteRTModel, crop_rgb: np.ndarray, decode: Callable[..., LandmarkOutput],
            roi: RotatedRect) -> tuple[float, LandmarkOutput]:
    """One run of the network on a ``[256, 256, 3]`` uint8 crop: (presence, ``decode``d)."""
    model.run((crop_rgb.astype(np.float32) * np.float32(1.0 / 255.0))[None])
    outputs = (model.get("Identity")[0], model.get("Identity_3")[0], model.get("Identity_4")[0])
    return float(model.get("Identity_1").reshape(-1)[0]), decode(*outputs, roi)


def landmark_pass(model: LiteRTModel, crop_rgb: np.ndarray, roi: RotatedRect,
                  mirror: bool = False) -> tuple[float, LandmarkOutput]:
    """:func:`landmark_answers`, averaged with ``mirror``.

    Returns:
        ``(presence score, landmarks)``: the network's probability that a person is in the crop
        (the mean of both runs with ``mirror``) and the decoded landmarks.
    """
    answers = landmark_answers(model, crop_rgb, roi, mirror)
    if len(answers) == 1:
        return answers[0]
    (p_own, own), (p_mirror, mirrored) = answers
    return 0.5 * (p_own + p_mirror), average_landmarks(own, mirrored)


def mirrored_landmarks(model: LiteRTModel, image: np.ndarray, roi: RotatedRect) -> LandmarkOutput:
    """The network's answer for the crop of ``roi`` mirrored, mapped back onto the crop as it is
    (:func:`decode_mirrored`): one pass, for comparing with the crop's own answer.

    Args:
        model: the landmark network.
        image: RGB uint8 ``[H, W, 3]``.
        roi: the crop's rotated square in ``image``.
    """
    crop = crop_image(image, roi, (CROP_SIZE, CROP_SIZE), border="replicate")
    return _answer(model, np.ascontiguousarray(crop[:, ::-1]), decode_mirrored, roi)[1]
