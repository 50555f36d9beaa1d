"""Training crops of rendered people: random framing, partial visibility, roll, flip.

One function, :func:`make_training_crop`, turns a labelled photo (a rendered sample) into a
crop and its labels in the crop camera; the feature cache (:mod:`monopose.metrabs.cache`) and the
image data of the trainable backbone both call it, so both see the same augmentation:

* box: the ground-truth joints' box (every joint, also those outside the photo) grown by 10 %;
* partial visibility (MeTRAbs ``--partial-visibility``): with ``partial_prob`` (0.5) the crop frames
  only a random sub-box keeping 40–90 % of the body from one side, so the rest falls outside;
* scale ×[0.8, 1.25] of the framed side, shift ±10 %, roll ±20°;
* horizontal flip with ``flip_prob``: the crop is mirrored, 3D x negated, left/right swapped.

Labels (crop camera, h36m17): ``kp2d_px [17, 2]`` (the projection, also where outside the crop),
``pose3d_mm [17, 3]``, ``in_view [17]`` (inside the crop and inside the photo, i.e. visible
pixels exist there), ``truncation`` (share of the joints outside the crop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monopose.core.skeleton import get_layout
from monopose.metrabs.crop import (
    CROP_SIZE_PX,
    CropCamera,
    box_crop_camera,
    joints_box,
    partial_box,
    truncating_square,
)

__all__ = ["AugmentConfig", "TrainingCrop", "make_training_crop", "crop_labels", "flip_crop",
           "FLIP_PERMUTATION", "SIDES"]

FLIP_PERMUTATION = np.asarray(get_layout("h36m17").flip_permutation)
SIDES = ("bottom", "top", "left", "right")


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random crop (defaults follow MeTRAbs' flags where they exist)."""

    padding: float = 1.1  # framed side / box side before the scale jitter
    scale: tuple[float, float] = (0.8, 1.25)
    shift: float = 0.1
    roll_deg: float = 20.0
    flip_prob: float = 0.5
    partial_prob: float = 0.5
    keep_range: tuple[float, float] = (0.4, 0.9)
    size_px: int = CROP_SIZE_PX


@dataclass
class TrainingCrop:
    """A crop with labels in its camera (see the module docstring)."""

    image: np.ndarray  # [S, S, 3] uint8
    camera: CropCamera
    kp2d_px: np.ndarray  # [17, 2]
    pose3d_mm: np.ndarray  # [17, 3]
    in_view: np.ndarray  # [17] bool
    truncation: float
    flipped: bool


def crop_labels(camera: CropCamera, pose3d_source_mm: np.ndarray, inside_source: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(kp2d_px [17, 2], pose3d_mm [17, 3], in_view [17])`` of a posed body in a crop camera."""
    p = camera.source_to_crop_points(pose3d_source_mm)
    k = camera.K_crop
    z = np.maximum(p[:, 2], 1e-6)
    kp = np.stack([k[0, 0] * p[:, 0] / z + k[0, 2], k[1, 1] * p[:, 1] / z + k[1, 2]], -1)
    s = camera.size_px
    in_crop = (kp >= -0.5).all(-1) & (kp <= s - 0.5).all(-1) & (p[:, 2] > 0)
    return kp, p, in_crop & np.asarray(inside_source, bool)


def flip_crop(image: np.ndarray, kp2d_px: np.ndarray, pose3d_mm: np.ndarray,
              in_view: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mirror a crop and its labels (the crop camera's principal point is the crop centre)."""
    s = image.shape[1]
    kp = kp2d_px[FLIP_PERMUTATION] * np.array([-1.0, 1.0]) + np.array([s - 1.0, 0.0])
    pose = pose3d_mm[FLIP_PERMUTATION] * np.array([-1.0, 1.0, 1.0])
    return np.ascontiguousarray(image[:, ::-1]), kp, pose, in_view[FLIP_PERMUTATION]


def make_training_crop(image: np.ndarray, intrinsics: np.ndarray, kp2d_px: np.ndarray,
                       pose3d_cam_mm: np.ndarray, inside: np.ndarray,
                       rng: np.random.Generator, config: AugmentConfig = AugmentConfig(),
                       keep_fraction: float | None = None, side: str | None = None,
                       jitter: bool = True, flip: bool | None = None) -> TrainingCrop:
    """One random crop of a labelled photo.

    Args:
        image: ``[H, W, 3]`` uint8 photo.
        intrinsics: ``(fx, fy, cx, cy)`` of the photo (no distortion).
        kp2d_px: ``[17, 2]`` projections of the joints (also outside the photo).
        pose3d_cam_mm: ``[17, 3]`` joints in the photo's camera.
        inside: ``[17]`` joint projects inside the photo.
        rng: Random generator.
        config: Ranges.
        keep_fraction, side: Force a partial box (evaluation: a fixed share of the body outside
            the crop); ``keep_fraction=1`` frames the whole body.
        jitter: Random scale/shift/roll (False: the plain padded box).
        flip: Force the flip decision (None: random with ``config.flip_prob``).
    """
    box = joints_box(kp2d_px)
    if keep_fraction is None and rng.random() < config.partial_prob:
        keep_fraction = float(rng.uniform(*config.keep_range))
        side = SIDES[int(rng.integers(4))]
    if keep_fraction is not None and keep_fraction < 1.0:
        side = side or "bottom"
        box = truncating_square(partial_box(box, keep_fraction, side), side)
    padding, shift, roll = config.padding, (0.0, 0.0), 0.0
    if jitter:
        padding *= float(np.exp(rng.uniform(np.log(config.scale[0]), np.log(config.scale[1]))))
        shift = (float(rng.uniform(-config.shift, config.shift)),
                 float(rng.uniform(-config.shift, config.shift)))
        roll = float(np.deg2rad(rng.uniform(-config.roll_deg, config.roll_deg)))
    cam = box_crop_camera(intrinsics, box, config.size_px, padding, roll, shift)
    crop = cam.warp(image)
    kp, pose, in_view = crop_labels(cam, pose3d_cam_mm, inside)
    flipped = bool(rng.random() < config.flip_prob) if flip is None else bool(flip)
    if flipped:
        crop, kp, pose, in_view = flip_crop(crop, kp, pose, in_view)
    s = config.size_px
    outside = ~((kp >= -0.5).all(-1) & (kp <= s - 0.5).all(-1))
    return TrainingCrop(crop, cam, kp.astype(np.float32), pose.astype(np.float32), in_view,
                        float(outside.mean()), flipped)
