"""Depth compositing of separately rendered layers (one per person) over one background."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["composite_by_depth"]


def composite_by_depth(rgb: np.ndarray, alpha: np.ndarray, depth_mm: np.ndarray,
                       background: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Blend separately rendered layers per pixel, from the farthest surface to the nearest.

    Anti-aliased edge pixels (``alpha > 0`` but no depth) take the nearest depth of their 3×3
    neighbourhood, so a silhouette blends over what lies behind it.

    Args:
        rgb: ``[P, H, W, 3]`` uint8 layer colours.
        alpha: ``[P, H, W]`` coverage in [0, 1].
        depth_mm: ``[P, H, W]`` camera z (``inf`` where the layer is empty).
        background: ``[H, W, 3]`` uint8.

    Returns:
        ``image [H, W, 3]`` float32 (0–255), ``depth_mm [H, W]`` (nearest layer, ``inf`` on the
        background), ``owner [H, W]`` int (index of the nearest layer, −1 on the background).

    Raises:
        ValueError: inconsistent shapes.
    """
    c = np.asarray(rgb)
    a = np.asarray(alpha, dtype=np.float32)
    d = np.asarray(depth_mm, dtype=np.float32)
    bg = np.asarray(background)
    if c.ndim != 4 or c.shape[-1] != 3:
        raise ValueError(f"rgb: expected [P, H, W, 3], got {c.shape}")
    if a.shape != c.shape[:3] or d.shape != c.shape[:3]:
        raise ValueError(f"alpha/depth_mm: expected {c.shape[:3]}, got {a.shape}/{d.shape}")
    if bg.shape != c.shape[1:]:
        raise ValueError(f"background: expected {c.shape[1:]}, got {bg.shape}")
    img = bg.astype(np.float32)
    if len(c) == 0:
        h, w = bg.shape[:2]
        return img, np.full((h, w), np.inf, np.float32), np.full((h, w), -1, np.int64)
    kernel = np.ones((3, 3), np.uint8)
    d_edge = np.empty_like(d)
    for k in range(len(d)):
        grown = cv2.erode(np.where(np.isfinite(d[k]), d[k], np.float32(1e30)), kernel)
        d_edge[k] = np.where(np.isfinite(d[k]), d[k], grown)
    order = np.argsort(-d_edge, axis=0, kind="stable")  # farthest first
    for k in range(len(c)):
        idx = order[k]
        ak = np.take_along_axis(a, idx[None], axis=0)[0][..., None]
        ck = np.take_along_axis(c, idx[None, ..., None], axis=0)[0].astype(np.float32)
        img = ak * ck + (1.0 - ak) * img
    nearest = d.min(axis=0)
    owner = np.where(np.isfinite(nearest), d.argmin(axis=0), -1)
    return img, nearest, owner
