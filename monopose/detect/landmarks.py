"""Decoding of the BlazePose landmark model's outputs (``pose_landmark_full.tflite``).

Follows MediaPipe's pose landmark graph: ``TensorsToLandmarksCalculator`` (39 landmarks ×
(x, y, z, visibility, presence) in 256-px crop units; sigmoid on visibility and presence),
``RefineLandmarksFromHeatmapCalculator`` (min confidence 0.5, sigmoid heatmap, coordinates
``col / 64`` without a half-cell offset; see :data:`REFINE_KERNEL` for the window size),
``LandmarkProjectionCalculator`` and ``WorldLandmarkProjectionCalculator`` (x, y rotated by the
ROI rotation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monopose.core.skeleton import H36M17, convert_layout
from monopose.detect.roi import crop_to_image
from monopose.detect.types import FeatureMap, RotatedRect

__all__ = [
    "NUM_LANDMARKS",
    "NUM_MODEL_LANDMARKS",
    "REFINE_KERNEL",
    "LandmarkOutput",
    "LandmarkResult",
    "mean_landmarks",
    "refine_from_heatmap",
    "decode_landmarks",
    "person_box_px",
]

NUM_LANDMARKS = 33
NUM_MODEL_LANDMARKS = 39  # 33 body + 2 auxiliary (ROI) + 4 unused
CROP_SIZE = 256
# The graph config says kernel_size 7, but the MediaPipe 0.10.21 binary averages over a 9×9
# window: with 9 our refined landmarks match ``mp.solutions.pose`` to ~0.01 crop px, with 7 the
# refined joints are off by up to 2 crop px (measured on the test photos).
REFINE_KERNEL = 9


@dataclass
class LandmarkOutput:
    """Decoded landmarks of one person.

    Attributes:
        keypoints_px: ``[33, 2]`` image pixels.
        z_px: ``[33]`` relative depth in image-pixel scale.
        visibility: ``[33]``.
        presence: ``[33]``.
        auxiliary_px: ``[2, 2]`` auxiliary landmarks 33 (hip centre) and 34 (scale point).
        world_m: ``[33, 3]`` metres.
    """

    keypoints_px: np.ndarray
    z_px: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    auxiliary_px: np.ndarray
    world_m: np.ndarray


def mean_landmarks(answers: Sequence[LandmarkOutput]) -> LandmarkOutput:
    """The field-by-field mean of several decoded answers for one person (same image)."""
    if not answers:
        raise ValueError("answers: expected at least one LandmarkOutput")

    def mean(field: str) -> np.ndarray:
        return np.mean([getattr(a, field) for a in answers], axis=0)

    return LandmarkOutput(keypoints_px=mean("keypoints_px"), z_px=mean("z_px"),
                          visibility=mean("visibility"), presence=mean("presence"),
                          auxiliary_px=mean("auxiliary_px"), world_m=mean("world_m"))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class LandmarkResult:
    """Raw outcome of one landmark pass on one ROI."""

    presence_score: float
    landmarks: LandmarkOutput
    feature_maps: dict[str, FeatureMap]


def refine_from_heatmap(xy_norm: np.ndarray, heatmap: np.ndarray,
                        kernel_size: int = REFINE_KERNEL,
                        min_confidence: float = 0.5) -> np.ndarray:
    """Replace landmark positions by the heatmap's local centre of mass where it is confident.

    Args:
        xy_norm: ``[L, 2]`` landmarks normalised to the crop ([0, 1]).
        heatmap: ``[Hh, Wh, L]`` heatmap logits.

    Returns:
        ``[L, 2]`` refined normalised landmarks (unchanged where the heatmap is not confident
        or the landmark lies outside the heatmap).
    """
    hh, hw, n = heatmap.shape
    if xy_norm.shape != (n, 2):
        raise ValueError(f"xy_norm: expected [{n}, 2], got {xy_norm.shape}")
    out = np.array(xy_norm, dtype=np.float64)
    # MediaPipe casts to int (truncation towards zero) and checks the row only from below.
    cols = np.trunc(out[:, 0] * hw).astype(np.int64)
    rows = np.trunc(out[:, 1] * hh).astype(np.int64)
    inside = (cols >= 0) & (cols < hw) & (rows >= 0)
    half = (kernel_size - 1) // 2
    offs = np.arange(-half, half + 1)
    lm = np.flatnonzero(inside)
    if lm.size == 0:
        return out
    r = rows[lm, None] + offs[None, :]  # [M, K]
    c = cols[lm, None] + offs[None, :]
    r_ok = (r >= 0) & (r < hh)
    c_ok = (c >= 0) & (c < hw)
    vals = heatmap[np.clip(r, 0, hh - 1)[:, :, None], np.clip(c, 0, hw - 1)[:, None, :],
                   lm[:, None, None]]  # [M, K, K]
    conf = _sigmoid(vals.astype(np.float64)) * (r_ok[:, :, None] & c_ok[:, None, :])
    total = conf.sum(axis=(1, 2))
    peak = conf.max(axis=(1, 2))
    wc = (conf * c[:, None, :]).sum(axis=(1, 2))
    wr = (conf * r[:, :, None]).sum(axis=(1, 2))
    ok = (peak >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    sel = lm[ok]
    out[sel, 0] = (wc / hw / safe)[ok]
    out[sel, 1] = (wr / hh / safe)[ok]
    return out


def decode_landmarks(raw_landmarks: np.ndarray, heatmap: np.ndarray | None,
                     raw_world: np.ndarray, roi: RotatedRect, refine: bool = True
                     ) -> LandmarkOutput:
    """Turn the landmark model's outputs for one crop into image-space landmarks.

    Args:
        raw_landmarks: ``[195]`` or ``[39, 5]`` (x, y, z, visibility logit, presence logit),
            x/y/z in crop pixels (256).
        heatmap: ``[64, 64, 39]`` heatmap logits, or None to skip refinement.
        raw_world: ``[117]`` or ``[39, 3]`` world landmarks in metres (crop-aligned axes).
        roi: The rect the crop was taken from.
        refine: Apply heatmap refinement (MediaPipe does).
    """
    raw = np.asarray(raw_landmarks, dtype=np.float64).reshape(NUM_MODEL_LANDMARKS, 5)
    world = np.asarray(raw_world, dtype=np.float64).reshape(NUM_MODEL_LANDMARKS, 3)
    xy_norm = raw[:, :2] / CROP_SIZE
    if refine and heatmap is not None:
        hm = np.asarray(heatmap).reshape(heatmap.shape[-3:])
        xy_norm = refine_from_heatmap(xy_norm, hm)
    xy_px = crop_to_image(xy_norm * CROP_SIZE, roi, (CROP_SIZE, CROP_SIZE))
    z_px = raw[:NUM_LANDMARKS, 2] / CROP_SIZE * roi.size_px[0]
    c, s = math.cos(roi.rotation_rad), math.sin(roi.rotation_rad)
    w = world[:NUM_LANDMARKS]
    world_img = np.stack([c * w[:, 0] - s * w[:, 1], s * w[:, 0] + c * w[:, 1], w[:, 2]], axis=1)
    return LandmarkOutput(
        keypoints_px=xy_px[:NUM_LANDMARKS],
        z_px=z_px,
        visibility=_sigmoid(raw[:NUM_LANDMARKS, 3]),
        presence=_sigmoid(raw[:NUM_LANDMARKS, 4]),
        auxiliary_px=xy_px[NUM_LANDMARKS:NUM_LANDMARKS + 2],
        world_m=world_img,
    )


_HEAD_TOP = H36M17.index("head_top")


def person_box_px(keypoints_px: np.ndarray, presence: np.ndarray, image_wh: tuple[int, int]
                ) -> np.ndarray:
    """Box around the keypoints that are inside the image (all of them if none is) and the
    h36m17 head top derived from them, in whole pixels, clipped to the image.

    BlazePose has no landmark on the top of the skull: its highest points are the eyes, about
    10 cm below it. The h36m17 head top is extrapolated above the ears (see
    ``monopose.core.skeleton``); the box covers it when its landmarks are present.

    Args:
        keypoints_px: ``[33, 2]`` BlazePose keypoints, image pixels.
        presence: ``[33]`` probability that each keypoint is inside the image.
        image_wh: Image width and height in pixels.

    Returns:
        ``[4]`` box (x0, y0, x1, y1), whole pixels.
    """
    sel = presence >= 0.5
    if not sel.any():
        sel = np.ones_like(sel)
    h36m, valid, _ = convert_layout(keypoints_px, "blazepose33", "h36m17", sel)
    head_top = h36m[_HEAD_TOP : _HEAD_TOP + 1][valid[_HEAD_TOP : _HEAD_TOP + 1]]  # [0 or 1, 2]
    pts = np.concatenate([keypoints_px[sel], head_top])
    # Whole pixels, rounded outwards: the points stay inside once coordinates are rounded
    # (e.g. to 0.1 px in the JSON output).
    lo = np.clip(np.floor(pts.min(axis=0)), 0, [image_wh[0], image_wh[1]])
    hi = np.clip(np.ceil(pts.max(axis=0)), 0, [image_wh[0], image_wh[1]])
    return np.concatenate([lo, hi])
