"""Tracking scores through motmetrics: matching, ignored people, track classes."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.eval.mot import BoxFrame, accumulate, classify_tracks, iou_matrix, summarize

pytest.importorskip("motmetrics", reason="motmetrics (dev extra) not installed")

A = np.array([0.0, 0.0, 10.0, 30.0])
B = np.array([50.0, 0.0, 60.0, 30.0])


def frame(ids: list[int], boxes: list[np.ndarray], ignore: list[bool] | None = None
          ) -> BoxFrame:
    return BoxFrame(np.array(ids, np.int64), np.array(boxes, float).reshape(-1, 4),
                    None if ignore is None else np.array(ignore))


def test_iou_matrix():
    iou = iou_matrix(np.array([A, B]), np.array([A, A + [5, 0, 5, 0]]))
    np.testing.assert_allclose(iou, [[1.0, 1 / 3], [0.0, 0.0]])


def test_perfect_tracks_and_an_id_swap():
    gt = [frame([0, 1], [A, B]) for _ in range(4)]
    good = [frame([7, 8], [A, B]) for _ in range(4)]
    swap = [frame([7, 8], [A, B])] * 2 + [frame([8, 7], [A, B])] * 2
    res = summarize([accumulate(gt, good), accumulate(gt, swap)], ["good", "swap"])
    assert res["good"]["idf1"] == 1.0 and res["good"]["num_switches"] == 0
    assert res["swap"]["num_switches"] == 2 and res["swap"]["idf1"] == pytest.approx(0.5)
    assert res["swap"]["mota"] == pytest.approx(0.75)


def test_ignored_people_are_neither_missed_nor_false_positives():
    gt = [frame([0, 1], [A, B], [False, True]) for _ in range(3)]
    pred = [frame([5, 6], [A, B]) for _ in range(3)]
    m = summarize([accumulate(gt, pred)], ["x"])["x"]
    assert m["num_false_positives"] == 0 and m["num_misses"] == 0 and m["recall"] == 1.0
    missing = summarize([accumulate(gt, [frame([], []) for _ in range(3)])], ["y"])["y"]
    assert missing["num_misses"] == 3  # only the required person counts


def test_track_classes():
    gt = [frame([0], [A]) for _ in range(6)]
    pred = ([frame([1], [A])] * 4 + [frame([2, 3], [A, B])] * 2)
    kinds = {c.track_id: (c.kind, c.length) for c in classify_tracks(gt, pred)}
    assert kinds == {1: ("primary", 4), 2: ("fragment", 2), 3: ("false", 2)}


def test_frame_counts_must_agree():
    with pytest.raises(ValueError, match="frames"):
        accumulate([frame([0], [A])], [])
