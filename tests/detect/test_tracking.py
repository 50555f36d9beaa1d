import cv2
import numpy as np
import pytest

from monopose.detect import PoseTracker
from monopose.detect.tracking import match_boxes


def _shift(img, dx, dy):
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REPLICATE)


def test_match_boxes_hungarian():
    a = np.array([[0, 0, 10, 10], [20, 0, 30, 10]])
    b = np.array([[21, 0, 31, 10], [1, 0, 11, 10], [100, 100, 110, 110]])
    assert sorted(match_boxes(a, b, 0.3)) == [(0, 1), (1, 0)]
    assert match_boxes(a, np.zeros((0, 4)), 0.3) == []


def test_tracking_keeps_ids(detector, standing_photo):
    h, w = standing_photo.shape[:2]
    small = cv2.resize(standing_photo, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    pair = np.concatenate([small, small[:, ::-1]], axis=1)
    tracker = PoseTracker(detector, redetect_every=3)
    ids, boxes = [], []
    for t in range(5):
        people = tracker.update(_shift(pair, 3 * t, t))
        ids.append(sorted(p.track_id for p in people))
        boxes.append({p.track_id: p.box_xyxy_px for p in people})
    assert ids == [[0, 1]] * 5
    for t in range(1, 5):  # each id stays on the same person (moves by a few px only)
        for tid in (0, 1):
            assert np.abs(boxes[t][tid] - boxes[t - 1][tid]).max() < 25
    # frames 1, 2, 4 come from tracking (no detector box), frame 3 from re-detection
    tracker.reset()
    assert tracker.update(pair)[0].detector_box_xyxy_px is not None
    assert tracker.update(pair)[0].detector_box_xyxy_px is None


def test_tracking_lost_then_found(detector, standing_photo):
    tracker = PoseTracker(detector, redetect_every=100)
    blank = np.full_like(standing_photo, 127)
    first = tracker.update(standing_photo)
    assert len(first) == 1
    assert tracker.update(blank) == []
    again = tracker.update(standing_photo)
    assert [p.track_id for p in again] == [first[0].track_id]  # revived within memory


def test_tracker_rejects_bad_settings(detector):
    with pytest.raises(ValueError, match="redetect_every"):
        PoseTracker(detector, redetect_every=0)
