"""Temporal lifting of tracked people as a video's frames arrive, each frame a few frames late.

A temporal lifter (window ``T > 1``) needs frames after the one it lifts. :class:`TrackLifting`
holds each frame until its people's windows are complete, lifts every window once and hands
frames back in order with their final 3D, so pictures drawn frame by frame show the temporal
model's poses and no person is lifted twice.

The result is the same as lifting each person's whole track at the end with
:meth:`monopose.lifting.lifter.Lifter.lift_sequence`: a window every ``stride`` frames of a
track (and one at its last frame), edges padded by repeating the first/last frame, each frame
from the window whose centre is nearest. A frame waits ``stride + T // 2`` frames (0.7 s at
30 fps for ``T = 27``): by then either its person's nearest window is complete or the track has
ended, and both decide the same window as the whole track would. In causal mode every frame is
the last of its own window and nothing waits. With ``size_factors`` a person keeps one size
along a track (the median of the per-frame sizes so far), not a size per frame.

A track is a run of consecutive frames with the same ``track_id``; a person seen again after a
gap starts a new run. People without a ``track_id`` are lifted as a static window.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from monopose.core.placement import check_placement
from monopose.lifting.lifter import window_stride
from monopose.models.interface import FramePeople, PeoplePoses, place_people

__all__ = ["TemporalLifter", "TrackLifting", "LiftedFrame"]


class TemporalLifter(Protocol):
    """What :class:`TrackLifting` needs of a model (``Lifter`` provides it)."""

    @property
    def window(self) -> int: ...

    def lift(self, keypoints_2d_px: np.ndarray, valid: np.ndarray | None = None, *,
             intrinsics: np.ndarray | None = None) -> np.ndarray: ...


@dataclass(eq=False)
class _Run:
    """One person's consecutive frames: 2D so far, and the windows already lifted."""

    keypoints_px: list[np.ndarray] = field(default_factory=list)  # [17, 2] each
    valid: list[np.ndarray] = field(default_factory=list)  # [17] bool each
    ended: bool = False
    lifted: dict[int, np.ndarray] = field(default_factory=dict)  # centre -> [T, 17, 3] mm
    next_centre: int = 0  # the first regular centre not yet lifted ahead
    # size factors of the frames handed back, kept sorted: the median costs no sort per frame
    sorted_sizes: list[float] = field(default_factory=list)

    def median_size(self, factor: float) -> float:
        """Add one frame's size ``factor``; the median over the run's frames so far."""
        bisect.insort(self.sorted_sizes, factor)
        n = len(self.sorted_sizes)
        return 0.5 * (self.sorted_sizes[(n - 1) // 2] + self.sorted_sizes[n // 2])


@dataclass(eq=False)
class _Waiting:
    index: int
    image_rgb: np.ndarray | None
    people: FramePeople
    places: list[tuple[_Run, int]]  # per person: its run and its position in the run


@dataclass(frozen=True, eq=False)
class LiftedFrame:
    """A frame handed back: its index and image as pushed, its people and their 3D."""

    index: int
    image_rgb: np.ndarray | None
    people: FramePeople
    poses: PeoplePoses


class TrackLifting:
    """Lift tracked people with a temporal model, frame by frame, ``delay`` frames late.

    Args:
        model: A temporal lifter (``window > 1``).
        stride: Frames between the windows of a track (default ``window // 3``); each frame
            costs ``1 / stride`` of a window.
        causal: Each frame is the last of its own window (no later frame is read, no delay;
            a window per frame).
        batch: Windows lifted together: a window is lifted as soon as its frames are known, in
            batches of this many (one network pass over several windows costs less per window).
        size_factors: ``(rel_mm [N, 17, 3], detections) -> [N]`` factors to a trusted body size
            per frame (e.g. :meth:`monopose.lifting.lifter.Lifter.size_factors`); each person is
            scaled by the median factor of their track so far, so a body keeps its size from
            frame to frame. None: the model's own size.
        placement: how each frame's people are placed in the camera (see
            :mod:`monopose.core.placement`).

    Call :meth:`push` for each frame in order and :meth:`finish` after the last; both return the
    frames now complete, in order.
    """

    def __init__(self, model: TemporalLifter, stride: int | None = None,
                 causal: bool = False, batch: int = 8,
                 size_factors: Callable[[np.ndarray, Sequence[Any]], np.ndarray] | None = None,
                 placement: str = "solve") -> None:
        self.model = model
        self.placement = check_placement(placement)
        self.window = int(model.window)
        if self.window < 2:
            raise ValueError(f"model: a temporal lifter (window > 1) is needed, got window "
                             f"{self.window}")
        self.causal = causal
        self.stride = window_stride(self.window, stride, causal)  # as Lifter.lift_sequence
        self.delay = 0 if causal else self.stride + self.window // 2
        self.batch = max(1, int(batch))
        self.size_factors = size_factors
        self._runs: dict[int, _Run] = {}  # track id -> its run through the latest frame
        self._waiting: deque[_Waiting] = deque()
        self._ahead: list[tuple[_Run, int]] = []  # complete windows not lifted yet
        self._intrinsics: np.ndarray | None = None

    def push(self, index: int, image_rgb: np.ndarray | None, people: FramePeople
             ) -> list[LiftedFrame]:
        """Add the next frame; its people's ``detections[i].track_id`` name their tracks."""
        places: list[tuple[_Run, int]] = []
        seen: dict[int, _Run] = {}
        for i in range(len(people)):
            track = people.detections[i].track_id if i < len(people.detections) else None
            run = self._runs.get(track) if track is not None else None
            if run is None or track in seen:  # a new track, a gap, or no id: a new run
                run = _Run()
            if track is not None and track not in seen:
                seen[track] = run
            run.keypoints_px.append(np.asarray(people.keypoints_px[i], dtype=np.float64))
            run.valid.append(np.asarray(people.valid[i], dtype=bool))
            if track is None:
                run.ended = True
            places.append((run, len(run.keypoints_px) - 1))
        for track, run in self._runs.items():
            if track not in seen:
                run.ended = True
        self._runs = seen
        self._intrinsics = people.intrinsics
        if not self.causal:
            self._queue_complete_windows()
        self._waiting.append(_Waiting(index, image_rgb, people, places))
        done = []
        while len(self._waiting) > self.delay:
            done.append(self._lift(self._waiting.popleft()))
        return done

    def finish(self) -> list[LiftedFrame]:
        """The frames still waiting, now that no frame follows."""
        for run in self._runs.values():
            run.ended = True
        self._runs = {}
        done = [self._lift(w) for w in self._waiting]
        self._waiting.clear()
        return done

    # ----------------------------------------------------------------------------- internals
    def _queue_complete_windows(self) -> None:
        """Queue the regular windows whose frames are now all known; lift a batch of them."""
        for run in self._runs.values():
            while run.next_centre + self.window // 2 < len(run.keypoints_px):
                self._ahead.append((run, run.next_centre))
                run.next_centre += self.stride
        if len(self._ahead) >= self.batch:
            self._lift_windows([])

    def _lift_windows(self, needed: list[tuple[_Run, int]]) -> None:
        """Lift ``needed`` and the queued windows in one pass (each once)."""
        todo: dict[tuple[int, int], tuple[_Run, int]] = {}
        for run, centre in needed + self._ahead:
            if centre not in run.lifted:
                todo.setdefault((id(run), centre), (run, centre))
        self._ahead = []
        if not todo:
            return
        windows = [(run, centre, self._frames_of(run, centre)) for run, centre in todo.values()]
        kp = np.stack([np.stack([run.keypoints_px[i] for i in idx]) for run, _, idx in windows])
        ok = np.stack([np.stack([run.valid[i] for i in idx]) for run, _, idx in windows])
        out = self.model.lift(kp, ok, intrinsics=self._intrinsics)  # [M, T, 17, 3]
        for (run, centre, _), lifted in zip(windows, out, strict=True):
            run.lifted[centre] = lifted

    def _centre(self, run: _Run, pos: int) -> int:
        """The centre of the window that frame ``pos`` of ``run`` takes its 3D from (as
        ``lift_sequence`` picks it: the nearest, the earlier one on a tie)."""
        if self.causal:
            return pos
        n = len(run.keypoints_px)
        lower = (pos // self.stride) * self.stride
        candidates = [lower]
        if lower + self.stride < n:
            candidates.append(lower + self.stride)
        if run.ended and n - 1 not in candidates and n - 1 > lower:
            candidates.append(n - 1)  # a whole track also has a window at its last frame
        return min(candidates, key=lambda c: (abs(c - pos), c))

    def _frames_of(self, run: _Run, centre: int) -> np.ndarray:
        """``[T]`` positions in ``run`` of the window for ``centre`` (padded at the edges)."""
        if self.causal:
            offsets = np.arange(-self.window + 1, 1)
        else:
            offsets = np.arange(self.window) - self.window // 2
        return np.clip(centre + offsets, 0, len(run.keypoints_px) - 1)

    def _lift(self, frame: _Waiting) -> LiftedFrame:
        centres = [self._centre(run, pos) for run, pos in frame.places]
        needed = [(run, c) for (run, _), c in zip(frame.places, centres, strict=True)
                  if c not in run.lifted]
        if needed:
            self._lift_windows(needed)
        at = (self.window - 1) if self.causal else self.window // 2
        rel_mm = np.zeros((len(centres), 17, 3))
        for k, ((run, pos), centre) in enumerate(zip(frame.places, centres, strict=True)):
            rel_mm[k] = run.lifted[centre][pos - centre + at]
        for run, pos in frame.places:
            # windows no later frame of this run can take (their centres are behind it)
            for old in [c for c in run.lifted if c < pos - self.stride]:
                del run.lifted[old]
        if self.size_factors is not None and len(rel_mm):
            factors = self.size_factors(rel_mm, frame.people.detections)
            for k, (run, _) in enumerate(frame.places):
                rel_mm[k] *= run.median_size(float(factors[k]))
        poses = (place_people(frame.people, rel_mm, placement=self.placement)
                 if len(frame.people) else PeoplePoses.empty())
        return LiftedFrame(frame.index, frame.image_rgb, frame.people, poses)
