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


@pytest.mark.parametrize("revive", [True, False])
def test_track_dropped_as_duplicate_can_come_back(detector, standing_photo, revive):
    """A track that drifts onto someone already tracked is dropped as a duplicate; it is kept
    among the lost tracks (its id revivable) unless ``revive_duplicates=False``."""
    h, w = standing_photo.shape[:2]
    small = cv2.resize(standing_photo, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    pair = np.concatenate([small, small[:, ::-1]], axis=1)
    tracker = PoseTracker(detector, redetect_every=100, revive_duplicates=revive)
    assert sorted(p.track_id for p in tracker.update(pair)) == [0, 1]
    tracker._active[1].roi = tracker._active[0].roi  # id 1 slid onto person 0
    people = tracker.update(pair)
    assert [p.track_id for p in people] == [0]
    lost = {t.track_id: t for t in tracker._lost}
    assert (1 in lost) == revive
    if revive:  # kept as it was before this frame
        assert lost[1].last_frame == 0


def test_memory_follows_the_frame_rate():
    from monopose.detect.tracking import TRACK_MEMORY_S, memory_frames_for

    assert memory_frames_for(10.0) == round(10 * TRACK_MEMORY_S)
    assert memory_frames_for(30.0) == 3 * memory_frames_for(10.0)
    assert memory_frames_for(None) == memory_frames_for(float("nan")) == 15


@pytest.mark.parametrize("frac", [None, 0.1])
def test_people_side_by_side_both_kept(detector, standing_photo, frac):
    """Two people close side by side: their square landmark ROIs overlap by IoU > 0.5, so the
    earlier ROI rule (the detector's ``duplicate_frac=None``) drops one of them once tracking;
    landmark distance keeps both."""
    from monopose.detect import BlazePoseDetector
    from monopose.detect.ssd import iou_xyxy

    h, w = standing_photo.shape[:2]
    small = cv2.resize(standing_photo, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    narrow = small[:, w // 5: w // 2 - w // 5]
    pair = np.concatenate([narrow, narrow[:, ::-1]], axis=1)
    tracker = PoseTracker(detector if frac is not None else BlazePoseDetector(duplicate_frac=None))
    first = tracker.update(pair)
    assert len(first) == 2
    rois = [p.roi.bounding_box_xyxy_px for p in first]
    assert iou_xyxy(rois[0], np.array(rois[1:]))[0] > 0.5
    assert len(tracker.update(pair)) == (1 if frac is None else 2)


def test_a_new_person_in_an_upside_down_crop_is_tracked_upright(monkeypatch, standing_photo):
    """A detector crop turned upside down (as BlazePose's detector gives some bent-over people)
    starts a track through the surest quarter turn, so the track follows the right pose."""
    import math

    from monopose.detect import BlazePoseDetector, RotatedRect

    det = BlazePoseDetector(num_threads=1, tiles="off", max_people=1)
    upright = PoseTracker(det).update(standing_photo)[0]
    real = BlazePoseDetector.roi_from_detection

    def upside_down(d):
        roi = real(d)
        return RotatedRect(roi.center_px, roi.size_px, roi.rotation_rad + math.pi)

    monkeypatch.setattr(BlazePoseDetector, "roi_from_detection", staticmethod(upside_down))
    tracker = PoseTracker(det)
    first = tracker.update(standing_photo)[0]
    turn = math.remainder(first.roi.rotation_rad - upright.roi.rotation_rad, 2 * math.pi)
    assert abs(turn) < 1e-6
    np.testing.assert_allclose(first.keypoints_px, upright.keypoints_px, atol=1e-6)
    second = tracker.update(standing_photo)[0]
    assert second.track_id == first.track_id
    size = np.ptp(upright.keypoints_h36m_px, axis=0).max()
    assert np.abs(second.keypoints_h36m_px - upright.keypoints_h36m_px).max() < 0.05 * size
    no_turns = PoseTracker(BlazePoseDetector(num_threads=1, tiles="off", max_people=1,
                                             turn_rois=False, min_presence=0.0))
    stuck = no_turns.update(standing_photo)
    assert not stuck or abs(math.remainder(stuck[0].roi.rotation_rad
                                           - upright.roi.rotation_rad, 2 * math.pi)) > 3.0


def test_the_tiled_search_looks_turned_only_while_nobody_is_tracked(monkeypatch, detector,
                                                                   standing_photo):
    from monopose.detect import BlazePoseDetector

    real = BlazePoseDetector.detect_people
    asked: list[tuple[bool, bool]] = []  # (tiled, turned) per detector call

    def spy(self, image, tiles=None, force_tiles=False, turned_passes=False):
        asked.append((force_tiles, turned_passes))
        return real(self, image, tiles=tiles, force_tiles=force_tiles,
                    turned_passes=turned_passes)

    monkeypatch.setattr(BlazePoseDetector, "detect_people", spy)
    tracker = PoseTracker(detector, redetect_every=2, tile_every=2, tile_every_large=2)
    blank = np.full_like(standing_photo, 127)
    assert tracker.update(blank) == []  # frame 1: nobody; tiled and turned
    assert tracker.update(blank) == []  # frame 2: nobody, whole image only
    assert len(tracker.update(standing_photo)) == 1  # frame 3: tiled again, still turned
    tracker.update(standing_photo)  # frame 4: re-detection while tracked; frame 5 tiled
    tracker.update(standing_photo)
    tracker.update(standing_photo)  # frame 6
    assert asked[:3] == [(True, True), (False, False), (True, True)]
    assert (True, False) in asked[3:] and all(not turned for _, turned in asked[3:])
