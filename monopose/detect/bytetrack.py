"""Stable person ids from per-frame detections with ByteTrack (Roboflow's ``trackers``).

:class:`ByteTrackAssigner` takes the people found in each frame (:class:`PersonDetection`, e.g.
from :meth:`BlazePoseDetector.detect`) and sets their ``track_id``: a Kalman filter predicts each
track's box, detections are matched to the predictions by IoU (Hungarian), first the confident
ones, then the less confident ones (ByteTrack's second stage keeps half-occluded people on their
track), and confident leftovers start new tracks. Lost tracks are kept for
``lost_track_buffer`` frames (at 30 fps, scaled by ``frame_rate``). A new track gets its id on
its second matched frame at the earliest (``minimum_consecutive_frames``); before that its person
has ``track_id = None``.

The box is :attr:`PersonDetection.box_xyxy_px` (around the present keypoints), the score the
detector's confidence (the landmark model's presence score for people whose ROI came from
tracking, which have no detector score).

Needs ``trackers`` (``pip install supervision==0.31.2 && pip install --no-deps trackers==2.6.1``:
its own requirement ``opencv-python`` would clash with the ``opencv-contrib-python`` that
monopose already installs, which provides the same ``cv2``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from monopose.detect.types import PersonDetection

__all__ = ["ByteTrackAssigner", "detection_score"]


def detection_score(person: PersonDetection) -> float:
    """The confidence ByteTrack sees: the detector score, else the presence score."""
    s = float(person.detection_score)
    return s if math.isfinite(s) else float(person.presence_score)


class ByteTrackAssigner:
    """Assign stable ``track_id``s to per-frame person detections (see the module docstring).

    Args:
        frame_rate: Video frame rate, fps (scales ``lost_track_buffer``).
        lost_track_buffer: Frames (at 30 fps) a lost track is kept for re-association.
        track_activation_threshold: Minimum score for a detection to start a track.
        high_conf_det_threshold: Scores from here up go to the first association stage.
        minimum_iou_threshold: Minimum box IoU between a predicted track box and a detection.
        minimum_consecutive_frames: Frames a new track must be matched before it gets an id.
        keep_unassigned: Return people without an id too (``track_id = None``), e.g. a
            newcomer's first frames; by default they are left out.

    Raises:
        ImportError: ``trackers`` is not installed.
    """

    def __init__(self, frame_rate: float = 30.0, lost_track_buffer: int = 30,
                 track_activation_threshold: float = 0.6, high_conf_det_threshold: float = 0.6,
                 minimum_iou_threshold: float = 0.1, minimum_consecutive_frames: int = 2,
                 keep_unassigned: bool = False) -> None:
        from trackers import ByteTrackTracker  # optional: trackers (see the module docstring)

        if frame_rate <= 0:
            raise ValueError(f"frame_rate: expected > 0 fps, got {frame_rate}")
        self.keep_unassigned = keep_unassigned
        self.frame_rate = float(frame_rate)
        self.lost_track_buffer = int(lost_track_buffer)
        self.track_activation_threshold = float(track_activation_threshold)
        self.high_conf_det_threshold = float(high_conf_det_threshold)
        self.minimum_iou_threshold = float(minimum_iou_threshold)
        self.minimum_consecutive_frames = int(minimum_consecutive_frames)
        self._cls = ByteTrackTracker
        self.reset()

    def reset(self) -> None:
        """Forget every track (start of a new video)."""
        self._tracker = self._cls(
            lost_track_buffer=self.lost_track_buffer, frame_rate=self.frame_rate,
            track_activation_threshold=self.track_activation_threshold,
            high_conf_det_threshold=self.high_conf_det_threshold,
            minimum_iou_threshold=self.minimum_iou_threshold,
            minimum_consecutive_frames=self.minimum_consecutive_frames)

    def update(self, people: Sequence[PersonDetection]) -> list[PersonDetection]:
        """Process the next frame's people.

        Returns:
            Copies of ``people`` (input order) with ``track_id`` set; people without an id are
            left out unless ``keep_unassigned``.
        """
        import supervision as sv  # optional: trackers' box container (see the module docstring)

        boxes = np.array([p.box_xyxy_px for p in people], dtype=np.float32).reshape(-1, 4)
        scores = np.array([detection_score(p) for p in people], dtype=np.float32)
        dets = sv.Detections(xyxy=boxes, confidence=scores,
                             class_id=np.zeros(len(people), dtype=int),
                             data={"index": np.arange(len(people))})
        tracked = self._tracker.update(dets)
        ids: dict[int, int] = {}
        if tracked.tracker_id is not None and "index" in tracked.data:  # empty frames: none
            for k, tid in zip(np.asarray(tracked.data["index"]), tracked.tracker_id, strict=True):
                if int(tid) >= 0:
                    ids[int(k)] = int(tid)
        out = []
        for k, person in enumerate(people):
            if k in ids or self.keep_unassigned:
                out.append(dataclasses.replace(person, track_id=ids.get(k)))
        return out
