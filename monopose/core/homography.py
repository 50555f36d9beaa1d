"""Image homographies (crop, resize) acting on pixel coordinates, pixel centres on integers
(see :mod:`monopose.core.camera`)."""

from __future__ import annotations

import numpy as np

from monopose.core.checks import as_float, broadcast_shape, check_finite, check_last

__all__ = ["crop_homography", "resize_homography", "invert_homography", "apply_homography"]


def crop_homography(box_xywh: np.ndarray, out_size_wh: tuple[float, float] | np.ndarray
                    ) -> np.ndarray:
    """Homography that maps image px → crop px for cropping ``box_xywh`` to ``out_size_wh``.

    The box ``(x, y, w, h)`` is a region in image pixel coordinates (pixel centres on integers),
    mapped onto the whole output image, i.e. onto ``[-0.5, W_out - 0.5] × [-0.5, H_out - 0.5]``;
    the box covering a whole ``W × H`` image is ``(-0.5, -0.5, W, H)``. The aspect ratio is not
    preserved if the box and the output differ in aspect. Use the result both for keypoints
    (:func:`apply_homography`) and for the pixels (``cv2.warpPerspective(img, H, out_size_wh)``)
    so that they stay consistent.

    Args:
        box_xywh: ``[..., 4]`` boxes (px), ``w, h > 0``.
        out_size_wh: ``(W_out, H_out)`` (px), positive.

    Returns:
        ``[..., 3, 3]`` homographies.
    """
    box = as_float(box_xywh, "box_xywh")
    check_last(box, 4, "box_xywh", "[..., 4] (x, y, w, h)")
    check_finite(box, "box_xywh")
    if (box[..., 2:] <= 0).any():
        raise ValueError(f"box_xywh: expected w, h > 0, got min {box[..., 2:].min()}")
    out = as_float(out_size_wh, "out_size_wh")
    if out.shape != (2,) or not np.isfinite(out).all() or (out <= 0).any():
        raise ValueError(f"out_size_wh: expected two positive sizes (W, H), got {out_size_wh!r}")
    sx = out[0] / box[..., 2]
    sy = out[1] / box[..., 3]
    H = np.zeros(box.shape[:-1] + (3, 3))
    H[..., 0, 0] = sx
    H[..., 0, 2] = -box[..., 0] * sx - 0.5
    H[..., 1, 1] = sy
    H[..., 1, 2] = -box[..., 1] * sy - 0.5
    H[..., 2, 2] = 1.0
    return H


def resize_homography(in_size_wh: tuple[float, float] | np.ndarray,
                      out_size_wh: tuple[float, float] | np.ndarray) -> np.ndarray:
    """Homography ``[3, 3]`` for resizing a whole ``in_size_wh`` image to ``out_size_wh``
    (the same map as ``cv2.resize``)."""
    ins = as_float(in_size_wh, "in_size_wh")
    if ins.shape != (2,) or not np.isfinite(ins).all() or (ins <= 0).any():
        raise ValueError(f"in_size_wh: expected two positive sizes (W, H), got {in_size_wh!r}")
    return crop_homography(np.array([-0.5, -0.5, ins[0], ins[1]]), out_size_wh)


def invert_homography(H: np.ndarray) -> np.ndarray:
    """Inverse of homographies ``[..., 3, 3]`` (e.g. crop px → image px)."""
    h = as_float(H, "H")
    if h.ndim < 2 or h.shape[-2:] != (3, 3):
        raise ValueError(f"H: expected shape [..., 3, 3], got {h.shape}")
    check_finite(h, "H")
    sv = np.linalg.svd(h, compute_uv=False)
    if (sv[..., -1] <= 1e-13 * sv[..., 0]).any():
        raise ValueError("H: a homography is singular and has no inverse")
    return np.linalg.inv(h)


def apply_homography(H: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Map pixel coordinates through homographies.

    Args:
        H: ``[..., 3, 3]``; its leading dims broadcast against ``px``'s leading dims without N.
        px: ``[..., N, 2]`` points, or a single point ``[2]``.

    Returns:
        Mapped points, shape of ``px`` broadcast with H's leading dims.

    Raises:
        ValueError: on wrong shapes, non-finite input, or a point mapped to infinity.
    """
    h = as_float(H, "H")
    if h.ndim < 2 or h.shape[-2:] != (3, 3):
        raise ValueError(f"H: expected shape [..., 3, 3], got {h.shape}")
    check_finite(h, "H")
    p = as_float(px, "px")
    check_last(p, 2, "px", "[..., N, 2] or [2]")
    check_finite(p, "px")
    single = p.ndim == 1
    if single:
        p = p[None]
    broadcast_shape(h.shape[:-2], p.shape[:-2], names="H/px")
    hh = h[..., None, :, :]  # [..., 1, 3, 3] against points [..., N]
    x, y = p[..., 0], p[..., 1]
    w = hh[..., 2, 0] * x + hh[..., 2, 1] * y + hh[..., 2, 2]
    if (np.abs(w) < 1e-12).any():
        raise ValueError("px: a point maps to infinity under H (on its vanishing line)")
    u = (hh[..., 0, 0] * x + hh[..., 0, 1] * y + hh[..., 0, 2]) / w
    v = (hh[..., 1, 0] * x + hh[..., 1, 1] * y + hh[..., 1, 2]) / w
    out = np.stack([u, v], axis=-1)
    return out[..., 0, :] if single else out
