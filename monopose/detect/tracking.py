"""Video mode: track every person across frames with BlazePose.

As in MediaPipe's video mode, a tracked person's next ROI comes from the current landmarks
(auxiliary landmarks 33/34: hip centre and scale point, then ×1.25 and squared), so the detector
is skipped while tracking holds. A track is lost when the pose presence drops below the
threshold. Unlike MediaPipe (one person), the detector also runs every ``redetect_every`` frames
and whenever a track was lost or nobody is tracked (whole image only), and every ``tile_every``
frames on overlapping tiles too, to pick up people too small for the whole-image pass (see
:mod:`monopose.detect.tiles`); while everyone tracked is large (close-up video), the tiled
pass runs only every ``tile_every_large`` frames. While nobody is tracked, that tiled search
also looks at the frame turned by quarter turns (:mod:`monopose.detect.turned_passes`).
Detections are assigned to the current tracks
(Hungarian on ROI-box IoU) and the unassigned ones start tracks, reviving a recently lost track's
id (lost for up to ``TRACK_MEMORY_S``, or dropped as a duplicate) when they overlap where it
would be now. Two tracks on one person (the detector's duplicate rule) keep the older id.
MediaPipe's one-euro smoothing of the auxiliary landmarks is not applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.crop_tta import check_landmark_crops
from monopose.detect.duplicates import is_duplicate
from monopose.detect.landmarks import LandmarkResult
from monopose.detect.recrop import is_upside_down, landmark_roi
from monopose.detect.ssd import iou_xyxy
from monopose.detect.tiles import TileSpec, body_extent_px, inside_fraction, resolve_tiles
from monopose.detect.types import Detection, PersonDetection, RotatedRect
from monopose.io.images import ImageInput, load_image

__all__ = ["PoseTracker", "match_boxes", "memory_frames_for", "TILE_EVERY", "TILE_EVERY_LARGE",
           "TRACK_MEMORY_S"]

# Tiled re-detection period, frames (chosen on the street video: ``benchmarks/bench_detect.py``).
TILE_EVERY = 10
# ... and while everyone tracked is large (a close-up: newcomers big enough for the whole-image
# pass, which still runs every ``redetect_every`` frames). Tiling a 1080×720 frame costs ~36
# detector passes: every 80 frames that made a 1-person clip 1.65× MediaPipe's time per frame.
TILE_EVERY_LARGE = 200
# How long a lost track's id can be revived, seconds (docs/tracking.md: on the street video a
# person hidden behind a group for 2 s came back under a new id with the earlier 15 frames).
TRACK_MEMORY_S = 3.0


def memory_frames_for(fps: float | None, seconds: float = TRACK_MEMORY_S) -> int:
    """``PoseTracker.memory_frames`` for a video at ``fps`` (15 frames when the rate is
    unknown)."""
    if fps is None or not np.isfinite(fps) or fps <= 0:
        return 15
    return max(1, int(round(seconds * fps)))


def match_boxes(boxes_a: np.ndarray, boxes_b: np.ndarray, min_iou: float
                ) -> list[tuple[int, int]]:
    """Optimal one-to-one matching of two box sets by IoU (Hungarian).

    Args:
        boxes_a: ``[A, 4]`` xyxy.
        boxes_b: ``[B, 4]`` xyxy.
        min_iou: Pairs with a lower IoU are not matched.

    Returns:
        ``(i, j)`` index pairs.
    """
    boxes_a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    boxes_b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    if len(boxes_a) == 0 or len(boxes_b) == 0:
        return []
    from scipy.optimize import linear_sum_assignment  # heavy: 0.3 s of import, videos only

    iou = np.stack([iou_xyxy(a, boxes_b) for a in boxes_a])
    rows, cols = linear_sum_assignment(-iou)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if iou[i, j] >= min_iou]


@dataclass
class _Track:
    track_id: int
    roi: RotatedRect  # ROI for the next frame
    last_frame: int
    velocity_px: tuple[float, float] = (0.0, 0.0)  # ROI centre motion per frame

    def follow(self, roi: RotatedRect, frame: int) -> _Track:
        """The track one frame later, with its new ROI (velocity smoothed)."""
        vx = roi.center_px[0] - self.roi.center_px[0]
        vy = roi.center_px[1] - self.roi.center_px[1]
        a = 0.5
        vel = (a * vx + (1 - a) * self.velocity_px[0], a * vy + (1 - a) * self.velocity_px[1])
        return _Track(self.track_id, roi, frame, vel)

    def predicted_box(self, frame: int) -> np.ndarray:
        """The last ROI's box moved on at constant velocity to ``frame`` (lost tracks)."""
        dt = frame - self.last_frame
        shift = np.array(self.velocity_px) * dt
        return self.roi.bounding_box_xyxy_px + np.concatenate([shift, shift])


class PoseTracker:
    """Multi-person BlazePose tracking over consecutive frames.

    Args:
        detector: The loaded models (shared, not copied).
        redetect_every: Run the whole-image detector at least every this many frames (new
            people).
        tile_every: Run the tiled detector every this many frames (small newcomers); 0 never.
        tile_every_large: The tiled detector's period while at least one person is tracked
            and every tracked ROI is at least ``large_fraction`` of the frame's longer side.
        large_fraction: See ``tile_every_large``.
        tiles: Tiling of those re-detections: ``"auto"`` (the detector's automatic grid, even
            for small frames), ``"off"`` or ``(rows, cols)``.
        match_iou: Minimum ROI-box IoU to assign a detection to a track.
        memory_frames: A lost track's id can be revived for this many frames (see
            :func:`memory_frames_for`).
        revive_duplicates: A track dropped because it drifted onto someone already tracked
            is kept as lost (from where it last was), so its id can come back; otherwise it
            is forgotten.
        with_features: Also return feature maps (see :meth:`BlazePoseDetector.detect`).
        final_look: Give each tracked person the detector's final look
            (:meth:`BlazePoseDetector.final_looks`: BlazePose GHUM Heavy's keypoints where the
            detector has it). The full network still finds, follows and crops every person, so
            the tracks are the same; only the keypoints (and world landmarks) change.
        final_look_crops: Crops averaged in that final look (1 .. 8;
            :mod:`monopose.detect.crop_tta`).
    """

    def __init__(self, detector: BlazePoseDetector, redetect_every: int = 10,
                 match_iou: float = 0.3, memory_frames: int = 15,
                 with_features: bool = False, tile_every: int = TILE_EVERY,
                 tiles: TileSpec = "auto", tile_every_large: int = TILE_EVERY_LARGE,
                 large_fraction: float = 0.35, revive_duplicates: bool = True,
                 final_look: bool = False, final_look_crops: int = 1) -> None:
        if redetect_every < 1:
            raise ValueError(f"redetect_every: expected >= 1, got {redetect_every}")
        if tile_every < 0:
            raise ValueError(f"tile_every: expected >= 0 (0 = never), got {tile_every}")
        if tile_every_large < tile_every:
            raise ValueError(f"tile_every_large: expected >= tile_every ({tile_every}), "
                             f"got {tile_every_large}")
        resolve_tiles(tiles, (1000, 1000))  # validates
        self.detector = detector
        self.redetect_every = int(redetect_every)
        self.tile_every = int(tile_every)
        self.tile_every_large = int(tile_every_large)
        self.large_fraction = float(large_fraction)
        self.tiles: TileSpec = tiles
        self.match_iou = float(match_iou)
        if memory_frames < 0:
            raise ValueError(f"memory_frames: expected >= 0, got {memory_frames}")
        self.memory_frames = int(memory_frames)
        self.revive_duplicates = bool(revive_duplicates)
        self.with_features = with_features
        self.final_look = bool(final_look)
        self.final_look_crops = check_landmark_crops(final_look_crops, "final_look_crops")
        self.reset()

    def reset(self) -> None:
        """Forget every track (start of a new video)."""
        self._active: list[_Track] = []
        self._lost: list[_Track] = []
        self._frame = -1
        self._last_tiled = -(1 << 30)
        self._next_id = 0

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _run_many(self, rgb: np.ndarray, rois: list[RotatedRect], track_ids: list[int],
                  detections: list[Detection | None]
                  ) -> list[tuple[PersonDetection, RotatedRect] | None]:
        """The landmark network on every ROI (side by side, see
        :meth:`BlazePoseDetector.landmarks_for_rois`): per ROI the person and the next ROI, or
        None when the network doubts a person is there."""
        results = self.detector.landmarks_for_rois(rgb, rois, self.with_features)
        h, w = rgb.shape[:2]
        found: list[tuple[LandmarkResult, RotatedRect, int, Detection | None] | None] = []
        for res, roi, tid, det in zip(results, rois, track_ids, detections, strict=True):
            if det is not None and self.detector.turn_rois and is_upside_down(roi):
                # a new person in a detector crop upside down (bent over): the surest turn,
                # as on photos; doubted crops are not turned here, to keep videos fast
                roi, res = self.detector.turned_look(rgb, roi, res, self.detector.min_presence,
                                                     self.with_features)
            found.append(None if res.presence_score < self.detector.min_presence
                         else (res, roi, tid, det))
        kept = [f for f in found if f is not None]
        lms = [res for res, _, _, _ in kept]
        # the next crops follow the full network's landmarks, as without the final look
        nexts = [landmark_roi(res) for res in lms]
        if self.final_look:
            lms = self.detector.final_looks(rgb, [roi for _, roi, _, _ in kept], lms,
                                            self.final_look_crops)
        people = iter([(self.detector.make_person(lm, roi, (w, h), det, tid), nxt)
                       for lm, (_, roi, tid, det), nxt in zip(lms, kept, nexts, strict=True)])
        return [None if f is None else next(people) for f in found]

    def update(self, image: ImageInput) -> list[PersonDetection]:
        """Process the next frame.

        Returns:
            The people in this frame, each with a ``track_id`` stable across frames.
        """
        rgb = load_image(image)
        self._frame += 1
        t = self._frame
        people: list[PersonDetection] = []
        next_rois: list[RotatedRect] = []
        active: list[_Track] = []
        before: list[_Track | None] = []  # each active track as it was last frame
        lost_now = False
        followed = self._run_many(rgb, [tr.roi for tr in self._active],
                                  [tr.track_id for tr in self._active], [None] * len(self._active))
        for track, out in zip(self._active, followed, strict=True):
            if out is None:
                lost_now = True
                self._lost.append(track)
                continue
            people.append(out[0])
            next_rois.append(out[1])
            active.append(track.follow(out[1], t))
            before.append(track)
        self._lost = [tr for tr in self._lost if t - tr.last_frame <= self.memory_frames]

        tiled = self._tiles_due(t, next_rois, max(rgb.shape[:2]))
        if tiled:
            self._last_tiled = t
        if tiled or lost_now or not active or t % self.redetect_every == 0:
            # nobody tracked: the tiled search also looks at the frame turned by quarter
            # turns, for a person the upright detector misses (bent over, lying, tilted)
            dets = self.detector.detect_people(rgb, tiles=self.tiles if tiled else "off",
                                               force_tiles=tiled,
                                               turned_passes=tiled and not next_rois)
            det_rois = [self.detector.roi_from_detection(d) for d in dets]
            det_boxes = np.array([r.bounding_box_xyxy_px for r in det_rois]).reshape(-1, 4)
            cur_boxes = np.array([r.bounding_box_xyxy_px for r in next_rois]).reshape(-1, 4)
            taken = {j for _, j in match_boxes(cur_boxes, det_boxes, self.match_iou)}
            free = [j for j in range(len(dets)) if j not in taken]
            if tiled and next_rois:
                free = [j for j in free if not self._inside_large_track(dets[j], next_rois, rgb)]
            # Small people walk out of their last ROI within a few frames: match lost tracks
            # where they would be now.
            lost_boxes = np.array([tr.predicted_box(t) for tr in self._lost]).reshape(-1, 4)
            revive = {j_free: i for i, j_free in (
                (i, free[j]) for i, j in match_boxes(lost_boxes, det_boxes[free], self.match_iou))}
            revived: set[int] = set()
            known = {j: self._lost[revive[j]].track_id for j in free if j in revive}
            started = self._run_many(rgb, [det_rois[j] for j in free],
                                     [known.get(j, -1) for j in free], [dets[j] for j in free])
            for j, out in zip(free, started, strict=True):
                tid = known.get(j)
                if out is None:
                    continue
                person, nxt = out
                if self._duplicates(person, nxt, people, next_rois):
                    continue  # the landmarks converged onto someone already tracked
                if tid is None:
                    tid = self._new_id()
                else:
                    revived.add(tid)
                person.track_id = tid
                people.append(person)
                next_rois.append(nxt)
                active.append(_Track(tid, nxt, t))
                before.append(None)
            self._lost = [tr for tr in self._lost if tr.track_id not in revived]

        # Two tracks that drifted onto one person: keep the older id.
        keep = self._deduplicate(people, next_rois)
        if self.revive_duplicates:
            kept = set(keep)
            self._lost += [tr for i, tr in enumerate(before) if i not in kept and tr is not None]
        self._active = [active[i] for i in keep]
        return [people[i] for i in keep]

    def _tiles_due(self, t: int, rois: list[RotatedRect], long_side_px: int) -> bool:
        if self.tile_every == 0:
            return False
        large = bool(rois) and all(
            min(r.size_px) >= self.large_fraction * long_side_px for r in rois)
        return t - self._last_tiled >= (self.tile_every_large if large else self.tile_every)

    def _inside_large_track(self, det: Detection, rois: list[RotatedRect],
                            rgb: np.ndarray) -> bool:
        """A tile detection lying mostly inside a large tracked person (a part of them)."""
        h, w = rgb.shape[:2]
        tiles = self.detector.tile_boxes((w, h), self.tiles, force=True)
        if not len(tiles):
            return False
        large = 0.5 * float(np.min(tiles[:, 2:] - tiles[:, :2]))
        extent = body_extent_px(det.keypoints_px[None])
        for roi in rois:
            if min(roi.size_px) >= large and inside_fraction(
                    extent, roi.bounding_box_xyxy_px)[0] > 0.5:
                return True
        return False

    def _duplicates(self, person: PersonDetection, roi: RotatedRect,
                    people: list[PersonDetection], rois: list[RotatedRect]) -> bool:
        """Whether ``person`` (next landmark ROI ``roi``) is one of ``people``, by the
        detector's rule (``duplicate_frac`` / ``duplicate_iou``)."""
        return is_duplicate(person, roi.bounding_box_xyxy_px, people,
                            [r.bounding_box_xyxy_px for r in rois],
                            self.detector.duplicate_frac, self.detector.duplicate_iou)

    def _deduplicate(self, people: list[PersonDetection], rois: list[RotatedRect]
                     ) -> list[int]:
        """Indices of the people to keep: of two tracks on one person, the older id."""
        big = 1 << 30
        order = sorted(range(len(people)), key=lambda i: big if people[i].track_id is None
                       else int(people[i].track_id or 0))
        kept: list[int] = []
        for i in order:
            if kept and self._duplicates(people[i], rois[i], [people[k] for k in kept],
                                         [rois[k] for k in kept]):
                continue
            kept.append(i)
        return sorted(kept)

    def track(self, frames: Iterable[ImageInput]) -> Iterator[list[PersonDetection]]:
        """Lazily run :meth:`update` over a sequence of frames (call :meth:`reset` between
        videos)."""
        for frame in frames:
            yield self.update(frame)
