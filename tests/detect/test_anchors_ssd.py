import numpy as np
import pytest

from monopose.detect.anchors import SsdAnchorOptions, ssd_anchors
from monopose.detect.ssd import (
    DecodeOptions,
    RawDetections,
    decode_detections,
    remove_letterbox,
    weighted_nms,
)


def test_anchor_count_and_layout():
    a = ssd_anchors()
    assert a.shape == (2254, 4)
    # 28x28 grid with 2 anchors per cell, then 14x14x2, then 7x7x6 (three stride-32 layers).
    assert np.allclose(a[0, :2], [0.5 / 28, 0.5 / 28]) and np.allclose(a[1, :2], a[0, :2])
    assert np.allclose(a[2, :2], [1.5 / 28, 0.5 / 28])  # next column, same row
    assert np.allclose(a[56, :2], [0.5 / 28, 1.5 / 28])  # next row
    assert np.allclose(a[1568, :2], [0.5 / 14, 0.5 / 14])
    last = a[1568 + 392:]
    assert last.shape[0] == 7 * 7 * 6
    assert np.allclose(last[:6, :2], [0.5 / 7, 0.5 / 7])
    assert np.allclose(last[6, :2], [1.5 / 7, 0.5 / 7])
    assert np.all(a[:, 2:] == 1.0)  # fixed anchor size


def test_anchor_sizes_when_not_fixed():
    a = ssd_anchors(SsdAnchorOptions(fixed_anchor_size=False))
    assert a.shape == (2254, 4)
    assert np.isclose(a[0, 2], 0.1484375)  # first layer, aspect 1 → min_scale
    assert a[1, 2] > a[0, 2]  # interpolated anchor is larger


def _raw(n=2254):
    boxes = np.zeros((n, 12), np.float32)
    scores = np.full(n, -10.0, np.float32)
    return boxes, scores


def test_decode_hand_constructed_output():
    anchors = ssd_anchors()
    boxes, scores = _raw()
    i = 1568 + 14 * 3 * 2 + 5 * 2  # row 3, column 5 of the 14x14 grid
    ax, ay = anchors[i, :2]
    # box centred 22.4 px right of the anchor (0.1 normalised), 44.8 x 22.4 px
    boxes[i, :4] = [22.4, -11.2, 44.8, 22.4]
    boxes[i, 4:] = [0, 0, 0, 112, 22.4, 0, 0, 0]
    scores[i] = 2.0
    scores[7] = -0.5  # sigmoid 0.38 < 0.5: dropped
    d = decode_detections(boxes, scores, anchors)
    assert len(d) == 1
    assert np.isclose(d.scores[0], 1 / (1 + np.exp(-2.0)))
    cx, cy = ax + 0.1, ay - 0.05
    assert np.allclose(d.boxes[0], [cx - 0.1, cy - 0.05, cx + 0.1, cy + 0.05], atol=1e-6)
    assert np.allclose(d.keypoints[0, 0], [ax, ay])
    assert np.allclose(d.keypoints[0, 1], [ax, ay + 0.5])
    assert np.allclose(d.keypoints[0, 2], [ax + 0.1, ay])


def test_decode_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="raw_scores"):
        decode_detections(np.zeros((2254, 12)), np.zeros(10), ssd_anchors())
    with pytest.raises(ValueError, match="raw_boxes"):
        decode_detections(np.zeros((2254, 10)), np.zeros(2254), ssd_anchors(), DecodeOptions())


def test_weighted_nms_merges_overlaps_and_keeps_separate():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]])
    scores = np.array([0.9, 0.6, 0.7])
    kps = np.stack([b.reshape(2, 2) for b in boxes])
    out = weighted_nms(RawDetections(boxes, scores, kps), 0.3)
    assert len(out) == 2
    assert np.isclose(out.scores[0], 0.9) and np.isclose(out.scores[1], 0.7)
    expected_x0 = (0.1 * 0.9 + 0.12 * 0.6) / 1.5
    assert np.isclose(out.boxes[0, 0], expected_x0)
    assert np.isclose(out.keypoints[0, 0, 0], expected_x0)
    assert np.allclose(out.boxes[1], boxes[2])


def test_letterbox_removal_inverts_padding():
    # Landscape 2:1 image letterboxed to a square: a quarter of padding above and below.
    pts = np.array([[[0.5, 0.25], [1.0, 0.75]]])
    d = RawDetections(np.array([[0.0, 0.25, 1.0, 0.75]]), np.array([0.9]), pts)
    out = remove_letterbox(d, (0.0, 0.25, 0.0, 0.25))
    assert np.allclose(out.boxes[0], [0, 0, 1, 1])
    assert np.allclose(out.keypoints[0], [[0.5, 0.0], [1.0, 1.0]])
