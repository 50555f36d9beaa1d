"""ByteTrackAssigner: stable ids from per-frame person boxes (no models needed)."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.detect.types import PersonDetection, RotatedRect

pytest.importorskip("trackers", reason="optional tracker package (trackers) not installed")

from monopose.detect.bytetrack import ByteTrackAssigner, detection_score  # noqa: E402


def person(x0_px: float, y0_px: float, score: float, w_px: float = 40.0,
           h_px: float = 120.0) -> PersonDetection:
    """A person box with placeholder keypoints (only the box and the score matter here)."""
    z33, z17 = np.zeros(33), np.zeros(17, bool)
    return PersonDetection(
        box_xyxy_px=np.array([x0_px, y0_px, x0_px + w_px, y0_px + h_px]),
        detection_score=score, presence_score=0.9, keypoints_px=np.zeros((33, 2)),
        keypoints_z_px=z33, visibility=z33, presence=z33, world_landmarks_m=np.zeros((33, 3)),
        roi=RotatedRect((0.0, 0.0), (1.0, 1.0), 0.0), keypoints_h36m_px=np.zeros((17, 2)),
        valid_h36m=z17, derived_h36m=z17, keypoints_coco_px=np.zeros((17, 2)), valid_coco=z17,
        derived_coco=z17)


def crossing(n_frames: int = 40, hidden: range = range(18, 22)
             ) -> list[tuple[list[PersonDetection], list[str]]]:
    """Two people walking towards each other at 8 px/frame; the farther one (``"b"``, higher
    in the picture) is hidden behind the nearer one during ``hidden`` and detected with a low
    score just before and after."""
    frames = []
    for t in range(n_frames):
        a = person(20.0 + 8.0 * t, 200.0, 0.9)
        people, names = [a], ["a"]
        if t not in hidden:
            near = min(abs(t - hidden.start), abs(t - hidden.stop + 1)) <= 2
            people.append(person(340.0 - 8.0 * t, 190.0, 0.5 if near else 0.85, 36, 110))
            names.append("b")
        frames.append((people, names))
    return frames


def test_ids_survive_a_crossing_with_occlusion():
    tracker = ByteTrackAssigner(frame_rate=15.0)
    seen: dict[str, set[int]] = {"a": set(), "b": set()}
    for people, names in crossing():
        out = tracker.update(people)
        by_box = {tuple(p.box_xyxy_px): p.track_id for p in out}
        for p, name in zip(people, names, strict=True):
            tid = by_box.get(tuple(p.box_xyxy_px))
            if tid is not None:
                seen[name].add(tid)
    assert len(seen["a"]) == 1 and len(seen["b"]) == 1
    assert seen["a"] != seen["b"]


def test_output_keeps_input_order_and_copies():
    tracker = ByteTrackAssigner(minimum_consecutive_frames=1, keep_unassigned=True)
    people = [person(10.0, 10.0, 0.9), person(300.0, 10.0, 0.9)]
    first = tracker.update(people)  # a new track gets its id on its second frame
    assert [p.track_id for p in first] == [None, None]
    out = tracker.update(people)
    assert [p.box_xyxy_px[0] for p in out] == [10.0, 300.0]
    assert all(p.track_id is not None for p in out) and out[0].track_id != out[1].track_id
    assert all(p.track_id is None for p in people)  # inputs untouched


def test_low_scores_continue_tracks_but_do_not_start_them():
    tracker = ByteTrackAssigner(minimum_consecutive_frames=1, keep_unassigned=True)
    tracker.update([person(10.0, 10.0, 0.9)])
    first = tracker.update([person(11.0, 10.0, 0.9)])[0].track_id
    assert first is not None
    out = tracker.update([person(12.0, 10.0, 0.4), person(300.0, 10.0, 0.4)])
    assert out[0].track_id == first and out[1].track_id is None
    assert tracker.update([person(300.0, 10.0, 0.4)] * 1)[0].track_id is None
    tracker.reset()
    tracker.update([person(10.0, 10.0, 0.9)])
    assert tracker.update([person(11.0, 10.0, 0.9)])[0].track_id == first  # ids restart


def test_empty_frames_keep_tracks_alive():
    tracker = ByteTrackAssigner(frame_rate=15.0)
    assert tracker.update([]) == []
    for x in (10.0, 14.0):
        out = tracker.update([person(x, 10.0, 0.9)])
    tid = out[0].track_id
    assert tid is not None and tracker.update([]) == [] and tracker.update([]) == []
    assert tracker.update([person(26.0, 10.0, 0.9)])[0].track_id == tid


def test_score_falls_back_to_presence_for_tracked_rois():
    p = person(0.0, 0.0, float("nan"))
    assert detection_score(p) == pytest.approx(0.9)
    assert detection_score(person(0.0, 0.0, 0.7)) == pytest.approx(0.7)


def test_rejects_a_bad_frame_rate():
    with pytest.raises(ValueError, match="frame_rate"):
        ByteTrackAssigner(frame_rate=0.0)
