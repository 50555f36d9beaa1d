"""The person detector on the image turned by quarter turns, for people it misses upright.

BlazePose's detector finds a person by the face and predicts the hip → shoulder axis from it.
It was trained on people roughly upright in the picture: a man bent over with his head to the
side, a person lying down, or an upright person in a photo held tilted can score just under
its threshold (0.48 against 0.5 for the realgt man bent over, in the photo turned by 15°),
while the same pixels turned by a quarter turn score 0.6–0.8. The turned passes run the
detector on the whole image turned by 90°, 180° and 270° (:func:`numpy.rot90`), map the
detections back, and add those that do not overlap a person the upright passes found
(:func:`add_turned`): people found upright keep exactly their detections. The landmark network
then judges every added person as it judges the others (presence, turned crops).

Coordinates are continuous pixels (a pixel ``i`` covers ``[i, i + 1)``), as the detector's
normalised outputs scaled by the image size are.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from monopose.detect.ssd import RawDetections, iou_xyxy

__all__ = ["QUARTER_TURNS", "turn_points_back", "turn_back", "add_turned", "turned_detections"]

QUARTER_TURNS = (1, 2, 3)  # numpy.rot90's k: counter-clockwise quarter turns


def turn_points_back(points_px: np.ndarray, k: int, image_wh: tuple[int, int]) -> np.ndarray:
    """Points of ``numpy.rot90(image, k)`` in the pixels of ``image`` (``image_wh``: its size).

    Args:
        points_px: ``[..., 2]`` (x, y) in the turned image, continuous pixels.

    Returns:
        ``[..., 2]`` the same points in the image as it is.
    """
    pts = np.array(points_px, dtype=np.float64)
    w, h = image_wh
    for step in range(k % 4, 0, -1):
        # one counter-clockwise quarter turn of an image of width ``wp`` (its own width before
        # that turn): (x, y) in the turned image was (wp - y, x) before it
        wp = w if step % 2 == 1 else h
        pts = np.stack([wp - pts[..., 1], pts[..., 0]], axis=-1)
    return pts


def turn_back(dets: RawDetections, k: int, image_wh: tuple[int, int]) -> RawDetections:
    """Detections in pixels of ``numpy.rot90(image, k)`` mapped onto ``image``: keypoints point
    by point, each box as the box around its four turned corners."""
    corners = dets.boxes.reshape(-1, 2, 2)
    x0, y0, x1, y1 = corners[:, 0, 0], corners[:, 0, 1], corners[:, 1, 0], corners[:, 1, 1]
    four = np.stack([np.stack([x0, y0], -1), np.stack([x1, y0], -1), np.stack([x0, y1], -1),
                     np.stack([x1, y1], -1)], axis=1)  # [K, 4, 2]
    back = turn_points_back(four, k, image_wh)
    boxes = np.concatenate([back.min(axis=1), back.max(axis=1)], axis=1).reshape(-1, 4)
    return RawDetections(boxes, dets.scores.copy(),
                         turn_points_back(dets.keypoints, k, image_wh))


def add_turned(upright: RawDetections, turned: list[RawDetections], iou_threshold: float
               ) -> RawDetections:
    """``upright`` with the turned passes' detections that overlap none of its boxes (IoU at
    most ``iou_threshold``), the surest first; among the turned passes, a detection that
    overlaps a surer one is one person seen twice and is dropped (hard NMS: averaging the
    alignment points of two turns would mix two guesses of the body's axis).

    Returns:
        ``upright`` (the same object) when nothing is added, else upright's detections followed
        by the added ones, best first among the added.
    """
    turned = [t for t in turned if len(t)]
    if not turned:
        return upright
    pool = RawDetections(np.concatenate([t.boxes.reshape(-1, 4) for t in turned]),
                         np.concatenate([t.scores for t in turned]),
                         np.concatenate([t.keypoints for t in turned]))
    kept: list[int] = []
    taken = upright.boxes.reshape(-1, 4)
    for i in np.argsort(-pool.scores, kind="stable"):
        if len(taken) and iou_xyxy(pool.boxes[i], taken).max() > iou_threshold:
            continue
        kept.append(int(i))
        taken = np.concatenate([taken, pool.boxes[i][None]])
    if not kept:
        return upright
    return RawDetections(np.concatenate([upright.boxes.reshape(-1, 4), pool.boxes[kept]]),
                         np.concatenate([upright.scores, pool.scores[kept]]),
                         np.concatenate([upright.keypoints.reshape(
                             len(upright), *pool.keypoints.shape[1:]), pool.keypoints[kept]]))


def turned_detections(whole_pass: Callable[[np.ndarray], RawDetections], rgb: np.ndarray
                      ) -> list[RawDetections]:
    """The detector's whole-image pass (``whole_pass``: an RGB image → detections in its
    pixels) on ``rgb`` turned by each of :data:`QUARTER_TURNS`, mapped back onto ``rgb``."""
    wh = (rgb.shape[1], rgb.shape[0])
    return [turn_back(whole_pass(np.ascontiguousarray(np.rot90(rgb, k))), k, wh)
            for k in QUARTER_TURNS]
