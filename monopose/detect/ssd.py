"""Decoding of the person detector's raw outputs.

Follows MediaPipe's pose detection graph: ``TensorsToDetectionsCalculator`` (x/y/w/h scale 224,
box and keypoints as (x, y) offsets from the anchor, sigmoid score with clipping at ±100,
minimum score 0.5), ``NonMaxSuppressionCalculator`` (WEIGHTED, IoU > 0.3 merges) and
``DetectionLetterboxRemovalCalculator``.

Shapes: ``raw_boxes [N, 12]`` = (cx, cy, w, h, kp0x, kp0y, …, kp3x, kp3y) in 224-px units,
``raw_scores [N]`` logits, ``anchors [N, 4]`` = (cx, cy, w, h) normalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monopose.detect.types import Detection

__all__ = [
    "DecodeOptions",
    "RawDetections",
    "decode_detections",
    "weighted_nms",
    "iou_xyxy",
    "remove_letterbox",
]


@dataclass(frozen=True)
class DecodeOptions:
    """MediaPipe's ``TensorsToDetectionsCalculatorOptions`` for the pose detector."""

    scale_xywh: tuple[float, float, float, float] = (224.0, 224.0, 224.0, 224.0)
    num_keypoints: int = 4
    score_clipping: float = 100.0
    min_score: float = 0.5


@dataclass
class RawDetections:
    """Detections in normalised coordinates of some frame.

    Attributes:
        boxes: ``[K, 4]`` (x0, y0, x1, y1).
        scores: ``[K]`` in [0, 1].
        keypoints: ``[K, P, 2]`` (x, y).
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def as_detections(self, max_people: int | None = None) -> list[Detection]:
        """The first ``max_people`` (all: None) as :class:`Detection` objects (image pixels)."""
        n = len(self) if max_people is None else min(len(self), max_people)
        return [Detection(box_xyxy_px=np.asarray(self.boxes[i], dtype=np.float64),
                          score=float(self.scores[i]),
                          keypoints_px=np.asarray(self.keypoints[i], dtype=np.float64))
                for i in range(n)]


def decode_detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
                      options: DecodeOptions = DecodeOptions()) -> RawDetections:
    """Turn raw detector outputs into scored boxes and keypoints (before NMS).

    Returns:
        Detections with score ≥ ``options.min_score`` and non-negative size, in the detector's
        normalised input frame (the letterboxed square), sorted by descending score.
    """
    raw_boxes = np.asarray(raw_boxes, dtype=np.float32).reshape(len(anchors), -1)
    raw_scores = np.asarray(raw_scores, dtype=np.float32).reshape(-1)
    n_coords = 4 + 2 * options.num_keypoints
    if raw_boxes.shape[1] != n_coords:
        raise ValueError(f"raw_boxes: expected [N, {n_coords}], got {raw_boxes.shape}")
    if raw_scores.shape[0] != len(anchors):
        raise ValueError(f"raw_scores: expected [{len(anchors)}], got {raw_scores.shape}")
    logits = np.clip(raw_scores.astype(np.float64), -options.score_clipping,
                     options.score_clipping)
    scores = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(scores >= options.min_score)
    sx, sy, sw, sh = options.scale_xywh
    a = anchors[keep]
    r = raw_boxes[keep]
    cx = r[:, 0] / sx * a[:, 2] + a[:, 0]
    cy = r[:, 1] / sy * a[:, 3] + a[:, 1]
    w = r[:, 2] / sw * a[:, 2]
    h = r[:, 3] / sh * a[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kp = r[:, 4:].reshape(-1, options.num_keypoints, 2)
    kp = np.stack([kp[..., 0] / sx * a[:, None, 2] + a[:, None, 0],
                   kp[..., 1] / sy * a[:, None, 3] + a[:, None, 1]], axis=-1)
    ok = (w >= 0) & (h >= 0)
    order = np.argsort(-scores[keep][ok], kind="stable")
    return RawDetections(boxes[ok][order], scores[keep][ok][order], kp[ok][order])


def iou_xyxy(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box ``[4]`` with boxes ``[K, 4]`` (x0, y0, x1, y1) → ``[K]``."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    ix0 = np.maximum(box[0], boxes[:, 0])
    iy0 = np.maximum(box[1], boxes[:, 1])
    ix1 = np.minimum(box[2], boxes[:, 2])
    iy1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where((inter > 0) & (union > 0), inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(dets: RawDetections, iou_threshold: float = 0.3) -> RawDetections:
    """MediaPipe's WEIGHTED non-maximum suppression.

    The best remaining detection absorbs every remaining detection whose IoU with it exceeds
    ``iou_threshold`` (itself included); its box and keypoints become the score-weighted mean of
    the absorbed ones, its score stays the best score.
    """
    order = np.argsort(-dets.scores, kind="stable")
    remaining = list(order)
    boxes, scores, kps = [], [], []
    while remaining:
        idx = np.asarray(remaining)
        best = idx[0]
        overlap = iou_xyxy(dets.boxes[best], dets.boxes[idx]) > iou_threshold
        members = idx[overlap]
        if len(members) == 0:  # degenerate (empty) box: keep as is
            members = idx[:1]
            overlap = np.zeros(len(idx), bool)
            overlap[0] = True
        w = dets.scores[members].astype(np.float64)
        boxes.append((dets.boxes[members] * w[:, None]).sum(0) / w.sum())
        kps.append((dets.keypoints[members] * w[:, None, None]).sum(0) / w.sum())
        scores.append(dets.scores[best])
        remaining = list(idx[~overlap])
    if not scores:
        return RawDetections(np.zeros((0, 4)), np.zeros(0), dets.keypoints[:0])
    return RawDetections(np.asarray(boxes), np.asarray(scores), np.asarray(kps))


def remove_letterbox(dets: RawDetections, padding_ltrb: tuple[float, float, float, float]
                     ) -> RawDetections:
    """Map detections from the letterboxed frame back to the normalised image frame.

    Args:
        padding_ltrb: Normalised padding (left, top, right, bottom) of the letterbox.
    """
    left, top, right, bottom = padding_ltrb
    sx = 1.0 - left - right
    sy = 1.0 - top - bottom
    off = np.array([left, top])
    scale = np.array([sx, sy])
    boxes = (dets.boxes.reshape(-1, 2, 2) - off) / scale
    kps = (dets.keypoints - off) / scale
    return RawDetections(boxes.reshape(-1, 4), dets.scores.copy(), kps)
