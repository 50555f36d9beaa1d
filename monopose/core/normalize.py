"""Normalisation of 2D keypoints for lifters (the one convention shared by training and inference).

A window of 2D poses is centred on the middle of the bounding box of its valid joints and divided
by half the longer side of that box, so a person fills roughly [-1, 1]. The same centre and scale
are used for every frame of the window, which keeps the motion between frames.
"""

from __future__ import annotations

import numpy as np

__all__ = ["valid_mask", "normalize_keypoints", "denormalize_keypoints"]

_MIN_SCALE_PX = 1e-3


def valid_mask(valid: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """``valid`` as a bool array of ``shape`` (``[..., J]``; None: every joint valid).

    Raises:
        ValueError: naming ``valid`` when its shape is not ``shape``.
    """
    if valid is None:
        return np.ones(shape, dtype=bool)
    ok = np.asarray(valid, dtype=bool)
    if ok.shape != tuple(shape):
        raise ValueError(f"valid: expected shape {tuple(shape)}, got {ok.shape}")
    return ok


def normalize_keypoints(
    keypoints_px: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre and scale 2D keypoints per window.

    Args:
        keypoints_px: ``[..., T, J, 2]`` pixel coordinates (T frames of one window).
        valid: optional ``[..., T, J]`` bool; invalid joints do not define the box and are set to 0.

    Returns:
        ``(normalized [..., T, J, 2], center_px [..., 2], scale_px [...])`` with
        ``normalized = (keypoints_px - center_px) / scale_px`` on valid joints and 0 elsewhere.

    Raises:
        ValueError: on a wrong shape, NaN in a valid joint, or a window without valid joints.
    """
    kp = np.asarray(keypoints_px, dtype=np.float64)
    if kp.ndim < 3 or kp.shape[-1] != 2:
        raise ValueError(f"keypoints_px: expected shape [..., T, J, 2], got {kp.shape}")
    ok = valid_mask(valid, kp.shape[:-1])
    if np.isnan(kp[ok]).any():
        raise ValueError("keypoints_px: NaN in a joint marked valid")
    if not ok.reshape(*ok.shape[:-2], -1).any(axis=-1).all():
        raise ValueError("keypoints_px: a window has no valid joint to normalise by")
    flat_ok = ok.reshape(*ok.shape[:-2], -1)
    flat_kp = kp.reshape(*kp.shape[:-3], -1, 2)
    lo = np.where(flat_ok[..., None], flat_kp, np.inf).min(axis=-2)
    hi = np.where(flat_ok[..., None], flat_kp, -np.inf).max(axis=-2)
    center = (lo + hi) / 2
    scale = np.maximum((hi - lo).max(axis=-1) / 2, _MIN_SCALE_PX)
    out = (kp - center[..., None, None, :]) / scale[..., None, None, None]
    out = np.where(ok[..., None], out, 0.0)
    return out, center, scale


def denormalize_keypoints(
    normalized: np.ndarray, center_px: np.ndarray, scale_px: np.ndarray
) -> np.ndarray:
    """Inverse of :func:`normalize_keypoints`: ``[..., T, J, 2]`` back to pixels."""
    normalized = np.asarray(normalized, dtype=np.float64)
    return normalized * np.asarray(scale_px)[..., None, None, None] + np.asarray(center_px)[
        ..., None, None, :
    ]
