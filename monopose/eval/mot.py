"""Multi-object tracking scores with ``motmetrics`` (CLEAR MOT and identity metrics).

Matching is by box IoU (xyxy px): a ground-truth person and a track can be matched in a frame when
their boxes overlap by at least ``iou_threshold`` (0.5 by default, the MOTChallenge value);
``motmetrics`` then keeps matches over time and counts ID switches, fragmentations, misses and
false positives, and IDF1 (global one-to-one identity matching).

Ground truth people that are barely in the picture (fewer than ``min_visible_joints`` visible
joints) are *ignored*: a track matched to one of them (Hungarian on IoU, same threshold) is
dropped for that frame instead of counting as a false positive, and missing them is no miss.

Track classification (for a minimum track length): a predicted track is *true* when at least half
of its frames are matched to one person, and that person's *primary* track when it covers the most
frames of that person; other true tracks are *fragments*; the rest are *false*.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["BoxFrame", "iou_matrix", "ground_truth_frames", "accumulate", "summarize",
           "classify_tracks", "TrackClass", "MOT_METRICS"]

MOT_METRICS = ("idf1", "mota", "motp", "num_switches", "num_fragmentations", "recall",
               "precision", "num_false_positives", "num_misses", "num_objects",
               "num_unique_objects", "mostly_tracked", "mostly_lost")


@dataclass
class BoxFrame:
    """Boxes of one frame: ``ids [N]`` int, ``boxes_xyxy_px [N, 4]``, ``ignore [N]`` bool
    (ground truth only: people not required to be found)."""

    ids: np.ndarray
    boxes_xyxy_px: np.ndarray
    ignore: np.ndarray | None = None

    @staticmethod
    def empty() -> BoxFrame:
        return BoxFrame(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, bool))


def iou_matrix(a_xyxy: np.ndarray, b_xyxy: np.ndarray) -> np.ndarray:
    """``[A, B]`` IoU of two box sets ``[A, 4]``, ``[B, 4]`` (xyxy px)."""
    a = np.asarray(a_xyxy, dtype=np.float64).reshape(-1, 1, 4)
    b = np.asarray(b_xyxy, dtype=np.float64).reshape(1, -1, 4)
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def ground_truth_frames(labels: dict[str, np.ndarray], num_frames: int,
                        box_key: str = "box_xyxy_px", min_visible_joints: int = 6
                        ) -> list[BoxFrame]:
    """Per-frame ground truth from the label arrays of one rendered video
    (:func:`monopose.data.synthetic.multi_video.read_video_labels`)."""
    frames = np.asarray(labels["frame"])
    out = []
    for t in range(num_frames):
        rows = np.flatnonzero(frames == t)
        if len(rows) == 0:
            out.append(BoxFrame.empty())
            continue
        n_vis = np.asarray(labels["visible"])[rows].sum(axis=1)
        out.append(BoxFrame(np.asarray(labels["person_id"])[rows].astype(np.int64),
                            np.asarray(labels[box_key])[rows].astype(np.float64),
                            n_vis < min_visible_joints))
    return out


def _matches(gt: np.ndarray, pred: np.ndarray, iou_threshold: float) -> list[tuple[int, int]]:
    if len(gt) == 0 or len(pred) == 0:
        return []
    iou = iou_matrix(gt, pred)
    rows, cols = linear_sum_assignment(-iou)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)
            if iou[i, j] >= iou_threshold]


def accumulate(gt: Sequence[BoxFrame], pred: Sequence[BoxFrame], iou_threshold: float = 0.5
               ) -> object:
    """A ``motmetrics.MOTAccumulator`` over the frames (``len(gt) == len(pred)``).

    Raises:
        ValueError: different frame counts.
    """
    import motmetrics as mm  # optional: dev extra (evaluation only)

    if len(gt) != len(pred):
        raise ValueError(f"pred: expected {len(gt)} frames, got {len(pred)}")
    acc = mm.MOTAccumulator(auto_id=True)
    for g, p in zip(gt, pred, strict=True):
        ignore = g.ignore if g.ignore is not None else np.zeros(len(g.ids), bool)
        keep_p = np.ones(len(p.ids), bool)
        for i, j in _matches(g.boxes_xyxy_px, p.boxes_xyxy_px, iou_threshold):
            if ignore[i]:
                keep_p[j] = False
        g_ids, g_boxes = g.ids[~ignore], g.boxes_xyxy_px[~ignore]
        p_ids, p_boxes = p.ids[keep_p], p.boxes_xyxy_px[keep_p]
        iou = iou_matrix(g_boxes, p_boxes)
        dist = np.where(iou >= iou_threshold, 1.0 - iou, np.nan)
        acc.update(g_ids.tolist(), p_ids.tolist(), dist)
    return acc


def summarize(accumulators: Sequence[object], names: Sequence[str],
              metrics: Sequence[str] = MOT_METRICS) -> dict[str, dict[str, float]]:
    """``{name: {metric: value}}`` per accumulator plus ``"OVERALL"`` (events pooled)."""
    import motmetrics as mm  # optional: dev extra (evaluation only)

    mh = mm.metrics.create()
    df = mh.compute_many(list(accumulators), metrics=list(metrics), names=list(names),
                         generate_overall=len(names) > 1)
    return {str(n): {m: float(df.loc[n, m]) for m in metrics} for n in df.index}


@dataclass
class TrackClass:
    """One predicted track: its id, length (frames present), kind (``"primary"``,
    ``"fragment"`` or ``"false"``) and the person it follows (−1 for false tracks)."""

    track_id: int
    length: int
    kind: str
    person_id: int


def classify_tracks(gt: Sequence[BoxFrame], pred: Sequence[BoxFrame],
                    iou_threshold: float = 0.5) -> list[TrackClass]:
    """Classify every predicted track (see the module docstring); ignored people count as
    people here (a track on a barely visible person is not false)."""
    length: Counter[int] = Counter()
    hits: dict[int, Counter[int]] = defaultdict(Counter)
    for g, p in zip(gt, pred, strict=True):
        length.update(int(i) for i in p.ids)
        for i, j in _matches(g.boxes_xyxy_px, p.boxes_xyxy_px, iou_threshold):
            hits[int(p.ids[j])][int(g.ids[i])] += 1
    best: dict[int, tuple[int, int]] = {}  # track → (person, matched frames)
    for tid, c in hits.items():
        person, n = c.most_common(1)[0]
        if n >= 0.5 * length[tid]:
            best[tid] = (person, n)
    primary: dict[int, tuple[int, int]] = {}  # person → (matched frames, track)
    for tid, (person, n) in best.items():
        if person not in primary or n > primary[person][0]:
            primary[person] = (n, tid)
    primaries = {tid for _, tid in primary.values()}
    out = []
    for tid, n_frames in sorted(length.items()):
        if tid not in best:
            out.append(TrackClass(tid, n_frames, "false", -1))
        else:
            kind = "primary" if tid in primaries else "fragment"
            out.append(TrackClass(tid, n_frames, kind, best[tid][0]))
    return out
