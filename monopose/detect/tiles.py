"""Tiled person detection: overlapping tiles for people too small for the whole-image pass.

The BlazePose detector sees the whole image letterboxed to 224×224, so a person 80 px tall in a
768-px-wide frame is ~23 px in its input, below what it finds reliably. Running it again on
overlapping tiles of the image enlarges such people 2–3×. This module holds the geometry (tile
rects, tile → image mapping) and the rules that merge tile detections with the whole-image pass:

* a tile detection whose body runs across an inner tile border is dropped (a partial body; the
  overlap lets a neighbouring tile see the person whole);
* a tile detection lying mostly inside the ROI of a *large* whole-image detection is dropped
  (the whole-image pass is exact for large people; tiles would only see parts of them);
* what is left is merged with the whole-image detections by weighted NMS.

Everything is in image pixels; boxes are ``(x0, y0, x1, y1)``.
"""

from __future__ import annotations

import math

import numpy as np

from monopose.detect.roi import roi_from_alignment_points
from monopose.detect.ssd import RawDetections, weighted_nms

__all__ = [
    "TileSpec",
    "DEFAULT_OVERLAP",
    "DEFAULT_TILE_MIN_SCORE",
    "tile_grid",
    "auto_grid",
    "resolve_tiles",
    "tile_to_image",
    "image_to_tile",
    "body_extent_px",
    "cut_by_border",
    "inside_fraction",
    "gather_tiles",
    "merge_tiled",
    "with_tiles",
]

# Product defaults, chosen on the street video (``benchmarks/bench_detect.py --tiles``).
DEFAULT_OVERLAP = 0.25
# "auto": tiles whose longer side is at most this many pixels, so 80–110-px people keep about
# their size in the 224-px detector input: 4×5 tiles on 768×576. Per frame, 4×5 and 3×4 tiles
# found 3.25 real people (of ~5–7), 2×3 tiles 1.5, the whole image 0; in tracking, 4×5 tiles
# found 3.7–3.8 people per frame against 3.5 for 3×4 with fewer false people.
AUTO_TILE_PX = 200.0
# Score threshold of tile detections: on the street video, the false people (a jacket on the
# grass, a sign post, a cone; a chair in the 1-person clip) scored 0.52–0.71, the real ones
# mostly 0.86–0.99; 0.6 gave the fewest track ids with 4×5 tiles (0.5: one more, 0.7 with 3×4
# tiles: 8% fewer people found).
DEFAULT_TILE_MIN_SCORE = 0.6
# "auto" tiles an image only when its longer side exceeds this (smaller images: full pass only).
AUTO_MIN_IMAGE_PX = 480.0

TileSpec = str | tuple[int, int]


def _check_overlap(overlap: float) -> None:
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap: expected in [0, 1), got {overlap}")


def tile_grid(image_wh: tuple[int, int], rows: int, cols: int,
              overlap: float = DEFAULT_OVERLAP) -> np.ndarray:
    """Overlapping tiles covering the whole image.

    All tiles have the same size; neighbours share ``overlap`` of the tile side, and the outer
    tiles touch the image borders.

    Args:
        image_wh: ``(width, height)`` in pixels.
        rows, cols: Grid size (≥ 1 each).
        overlap: Fraction of a tile's side shared with its neighbour, in [0, 1).

    Returns:
        ``[rows * cols, 4]`` float boxes ``(x0, y0, x1, y1)`` in pixels, row-major.
    """
    w, h = float(image_wh[0]), float(image_wh[1])
    if w <= 0 or h <= 0:
        raise ValueError(f"image_wh: expected a positive size, got {image_wh}")
    if rows < 1 or cols < 1:
        raise ValueError(f"rows, cols: expected >= 1, got ({rows}, {cols})")
    _check_overlap(overlap)
    tw = w / (cols - (cols - 1) * overlap)
    th = h / (rows - (rows - 1) * overlap)
    x0 = np.arange(cols) * tw * (1.0 - overlap)
    y0 = np.arange(rows) * th * (1.0 - overlap)
    yy, xx = np.meshgrid(y0, x0, indexing="ij")
    boxes = np.stack([xx, yy, xx + tw, yy + th], axis=-1).reshape(-1, 4)
    boxes[:, 2] = np.minimum(boxes[:, 2], w)  # rounding: stay inside the image
    boxes[:, 3] = np.minimum(boxes[:, 3], h)
    return boxes


def auto_grid(image_wh: tuple[int, int], tile_px: float = AUTO_TILE_PX,
              overlap: float = DEFAULT_OVERLAP) -> tuple[int, int]:
    """The smallest ``(rows, cols)`` whose tiles are at most ``tile_px`` on each side."""
    _check_overlap(overlap)
    if tile_px <= 0:
        raise ValueError(f"tile_px: expected > 0, got {tile_px}")
    w, h = float(image_wh[0]), float(image_wh[1])

    def count(side: float) -> int:
        # n tiles of size s cover side when s * (n - (n - 1) * overlap) >= side
        if side <= tile_px:
            return 1
        return max(1, math.ceil((side / tile_px - overlap) / (1.0 - overlap) - 1e-9))

    return count(h), count(w)


def resolve_tiles(tiles: TileSpec, image_wh: tuple[int, int], overlap: float = DEFAULT_OVERLAP,
                  force: bool = False) -> tuple[int, int] | None:
    """The grid to use for ``tiles`` (``"auto"``, ``"off"`` or ``(rows, cols)``), or None.

    Args:
        force: With ``"auto"``, tile even images that are not large (the tracker's re-detection:
            people in video are often far away).
    """
    if isinstance(tiles, str):
        if tiles == "off":
            return None
        if tiles != "auto":
            raise ValueError(f"tiles: expected 'auto', 'off' or (rows, cols), got {tiles!r}")
        if not force and max(image_wh) <= AUTO_MIN_IMAGE_PX:
            return None
        grid = auto_grid(image_wh, AUTO_TILE_PX, overlap)
        return None if grid == (1, 1) else grid
    if (not isinstance(tiles, tuple) or len(tiles) != 2
            or not all(isinstance(v, int) and v >= 1 for v in tiles)):
        raise ValueError(f"tiles: expected 'auto', 'off' or (rows, cols) ints >= 1, got {tiles!r}")
    return None if tiles == (1, 1) else (int(tiles[0]), int(tiles[1]))


def tile_to_image(points: np.ndarray, tile_xyxy: np.ndarray) -> np.ndarray:
    """Tile-normalised points ``[..., 2]`` (0..1 across the tile) → image pixels."""
    t = np.asarray(tile_xyxy, dtype=np.float64)
    return np.asarray(points, dtype=np.float64) * (t[2:] - t[:2]) + t[:2]


def image_to_tile(points_px: np.ndarray, tile_xyxy: np.ndarray) -> np.ndarray:
    """Image pixels ``[..., 2]`` → tile-normalised points (inverse of :func:`tile_to_image`)."""
    t = np.asarray(tile_xyxy, dtype=np.float64)
    return (np.asarray(points_px, dtype=np.float64) - t[:2]) / (t[2:] - t[:2])


def body_extent_px(keypoints_px: np.ndarray) -> np.ndarray:
    """Rough body box from detector keypoints: ``[K, 4, 2]`` → ``[K, 4]`` xyxy.

    The hip centre (keypoint 0) and the full-body scale point (keypoint 1, above the head) give
    the body axis; the body reaches about as far below the hips as the scale point is above
    them, and a third of that to each side.
    """
    kp = np.asarray(keypoints_px, dtype=np.float64).reshape(-1, 4, 2)
    hip, axis = kp[:, 0], kp[:, 1] - kp[:, 0]
    perp = np.stack([-axis[:, 1], axis[:, 0]], axis=1) / 3.0
    pts = np.stack([hip + axis + perp, hip + axis - perp, hip - axis + perp, hip - axis - perp], 1)
    return np.concatenate([pts.min(axis=1), pts.max(axis=1)], axis=1)


def cut_by_border(extent_xyxy: np.ndarray, tile_xyxy: np.ndarray, image_wh: tuple[int, int],
                  max_outside: float = 0.5) -> np.ndarray:
    """Which bodies run across an inner tile border (image borders do not count).

    Args:
        extent_xyxy: ``[K, 4]`` body boxes (:func:`body_extent_px`).
        max_outside: Largest fraction of the body's width (height) allowed beyond a vertical
            (horizontal) inner border.

    Returns:
        ``[K]`` bool.
    """
    e = np.asarray(extent_xyxy, dtype=np.float64).reshape(-1, 4)
    t = np.asarray(tile_xyxy, dtype=np.float64)
    w, h = float(image_wh[0]), float(image_wh[1])
    size = np.maximum(np.stack([e[:, 2] - e[:, 0], e[:, 3] - e[:, 1]], 1), 1e-9)
    eps = 1e-6
    out_left = np.clip(t[0] - e[:, 0], 0, None) if t[0] > eps else np.zeros(len(e))
    out_top = np.clip(t[1] - e[:, 1], 0, None) if t[1] > eps else np.zeros(len(e))
    out_right = np.clip(e[:, 2] - t[2], 0, None) if t[2] < w - eps else np.zeros(len(e))
    out_bottom = np.clip(e[:, 3] - t[3], 0, None) if t[3] < h - eps else np.zeros(len(e))
    frac_x = (out_left + out_right) / size[:, 0]
    frac_y = (out_top + out_bottom) / size[:, 1]
    return np.asarray((frac_x > max_outside) | (frac_y > max_outside))


def inside_fraction(boxes_xyxy: np.ndarray, region_xyxy: np.ndarray) -> np.ndarray:
    """Fraction of each box's area inside a region: ``[K, 4]``, ``[4]`` → ``[K]``."""
    b = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    r = np.asarray(region_xyxy, dtype=np.float64)
    iw = np.clip(np.minimum(b[:, 2], r[2]) - np.maximum(b[:, 0], r[0]), 0, None)
    ih = np.clip(np.minimum(b[:, 3], r[3]) - np.maximum(b[:, 1], r[1]), 0, None)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.where(area > 0, iw * ih / np.where(area > 0, area, 1.0), 0.0)


def gather_tiles(tile_boxes: np.ndarray, passes: list[RawDetections], image_wh: tuple[int, int],
                 min_score: float, nms_iou: float) -> RawDetections | None:
    """The tiles' detections in image pixels, after their NMS: each tile's own (normalised to
    the tile) kept where the body is not cut by the tile's border and the score reaches
    ``min_score``.

    Args:
        tile_boxes: ``[T, 4]`` xyxy px.
        passes: per tile, the detector's detections normalised to the tile.

    Returns:
        The kept detections, or None when no tile kept any.
    """
    parts = []
    for tile, t in zip(tile_boxes, passes, strict=True):
        if not len(t):
            continue
        kps = tile_to_image(t.keypoints, tile)
        ok = ~cut_by_border(body_extent_px(kps), tile, image_wh) & (t.scores >= min_score)
        if ok.any():
            boxes = tile_to_image(t.boxes.reshape(-1, 2, 2), tile).reshape(-1, 4)
            parts.append(RawDetections(boxes[ok], t.scores[ok], kps[ok]))
    if not parts:
        return None
    return weighted_nms(RawDetections(np.concatenate([p.boxes for p in parts]),
                                      np.concatenate([p.scores for p in parts]),
                                      np.concatenate([p.keypoints for p in parts])), nms_iou)


def merge_tiled(full: RawDetections, tiled: RawDetections, full_rois_xyxy: np.ndarray,
                large_roi_px: float, nms_iou: float, max_inside: float = 0.5) -> RawDetections:
    """Merge whole-image and tile detections (all in image pixels).

    Args:
        full: Whole-image detections after NMS.
        tiled: Tile detections after per-tile NMS and border checks.
        full_rois_xyxy: ``[len(full), 4]`` bounding boxes of the whole-image detections' ROIs.
        large_roi_px: Whole-image detections whose ROI side is at least this are "large": the
            tile detections whose body lies mostly inside their ROI are dropped.
        nms_iou: IoU for the final weighted NMS.
        max_inside: "Mostly inside" = more than this fraction of the body box.

    Returns:
        The merged detections, best first. When no tile detection survives, ``full`` itself
        (so the whole-image result is unchanged).
    """
    keep = np.ones(len(tiled), dtype=bool)
    if len(tiled) and len(full):
        extent = body_extent_px(tiled.keypoints)
        rois = np.asarray(full_rois_xyxy, dtype=np.float64).reshape(-1, 4)
        for roi in rois:
            if min(roi[2] - roi[0], roi[3] - roi[1]) < large_roi_px:
                continue
            keep &= inside_fraction(extent, roi) <= max_inside
    if not keep.any():
        return full
    extra = RawDetections(tiled.boxes[keep], tiled.scores[keep], tiled.keypoints[keep])
    both = RawDetections(np.concatenate([full.boxes.reshape(-1, 4), extra.boxes]),
                         np.concatenate([full.scores, extra.scores]),
                         np.concatenate([full.keypoints.reshape(-1, *extra.keypoints.shape[1:]),
                                         extra.keypoints]))
    return weighted_nms(both, nms_iou)


def with_tiles(full: RawDetections, tiled: RawDetections | None, tile_boxes: np.ndarray,
               nms_iou: float) -> RawDetections:
    """The whole-image detections merged with the tiles' (:func:`gather_tiles`; None: none)
    by :func:`merge_tiled`: a whole-image person whose ROI is at least half a tile's side is
    "large", and tile detections mostly inside its ROI are dropped."""
    if tiled is None:
        return full
    rois = np.array([roi_from_alignment_points(k[0], k[1]).bounding_box_xyxy_px
                     for k in full.keypoints]).reshape(-1, 4)
    large = 0.5 * float(np.min(tile_boxes[:, 2:] - tile_boxes[:, :2]))
    return merge_tiled(full, tiled, rois, large, nms_iou)
