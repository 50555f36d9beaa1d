"""The detector on the image turned by quarter turns: coordinates back, and only missed people."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.ssd import RawDetections
from monopose.detect.turned_passes import add_turned, turn_back, turn_points_back


@pytest.mark.parametrize("k", [1, 2, 3])
def test_points_of_a_turned_image_come_back(k):
    image = np.zeros((5, 7), np.uint8)  # h = 5, w = 7: not square
    image[1, 2] = 255  # pixel x = 2, y = 1: centre (2.5, 1.5)
    turned = np.rot90(image, k)
    y, x = np.argwhere(turned == 255)[0]
    back = turn_points_back(np.array([[x + 0.5, y + 0.5]]), k, (7, 5))
    np.testing.assert_allclose(back, [[2.5, 1.5]])


def test_boxes_come_back_around_their_corners():
    dets = RawDetections(np.array([[1.0, 1.0, 3.0, 2.0]]), np.array([0.9]),
                         np.array([[[1.0, 1.0], [3.0, 2.0], [2.0, 1.5], [2.0, 1.0]]]))
    back = turn_back(dets, 2, (10, 6))  # half a turn: (x, y) -> (10 - x, 6 - y)
    np.testing.assert_allclose(back.boxes, [[7.0, 4.0, 9.0, 5.0]])
    np.testing.assert_allclose(back.keypoints[0, :2], [[9.0, 5.0], [7.0, 4.0]])
    assert back.scores[0] == 0.9


def _dets(boxes, scores) -> RawDetections:
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    kps = np.repeat(boxes[:, None, :2], 4, axis=1)
    return RawDetections(boxes, np.asarray(scores, float), kps)


def test_only_people_the_upright_passes_missed_are_added():
    upright = _dets([[0, 0, 10, 10]], [0.9])
    turned = [
        _dets([[1, 1, 11, 11]], [0.95]),  # the upright person again: dropped
        _dets([[50, 50, 60, 60], [51, 50, 61, 60]], [0.6, 0.7]),  # one person seen twice
        _dets([[100, 0, 110, 10]], [0.55]),  # another person
    ]
    out = add_turned(upright, turned, 0.3)
    np.testing.assert_allclose(out.boxes[0], [0, 0, 10, 10])  # upright first, unchanged
    np.testing.assert_allclose(out.boxes[1:], [[51, 50, 61, 60], [100, 0, 110, 10]])
    np.testing.assert_allclose(out.scores, [0.9, 0.7, 0.55])
    assert add_turned(upright, [_dets([[1, 1, 11, 11]], [0.99])], 0.3) is upright
    assert len(add_turned(_dets(np.zeros((0, 4)), []), turned[2:], 0.3)) == 1


def test_a_person_found_only_turned_lands_where_they_are(monkeypatch):
    """A fake detector that only sees a marked spot when it lies in the top-left quarter of
    its input: upright it misses the spot at the bottom right; the turned passes find it,
    and the detection comes back onto the spot in the image's own pixels."""
    image = np.zeros((300, 400, 3), np.uint8)
    image[250:260, 330:340] = 255  # the spot, centre (335, 255)

    def fake_pass(self, rgb, tile_xyxy, model=None):
        h, w = rgb.shape[:2]
        ys, xs = np.nonzero(rgb[..., 0])
        cx, cy = (xs.mean() + 0.5) / w, (ys.mean() + 0.5) / h
        if cx > 0.5 or cy > 0.5:
            return RawDetections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4, 2)))
        box = np.array([[cx - 0.01, cy - 0.01, cx + 0.01, cy + 0.01]])
        return RawDetections(box, np.array([0.8]), np.tile([cx, cy], (1, 4, 1)))

    monkeypatch.setattr(BlazePoseDetector, "_detector_pass", fake_pass)
    det = BlazePoseDetector(num_threads=1, tiles="off")
    assert det.detect_people(image) == []
    found = det.detect_people(image, turned_passes=True)
    assert len(found) == 1
    np.testing.assert_allclose(found[0].keypoints_px, np.tile([335.0, 255.0], (4, 1)), atol=1e-6)
    np.testing.assert_allclose(found[0].box_xyxy_px.reshape(2, 2).mean(axis=0), [335, 255],
                               atol=1e-6)
