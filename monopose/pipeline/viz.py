"""Pictures of results: the 2D skeleton over the photo beside front and side 3D views.

Drawn with OpenCV (fast enough for every frame of a video). The 3D views show every person in
camera space with a metric grid: the front view looks along +z (x right, y down), the side view
looks along -x (z to the right, y down). Grid lines every 0.5 m or more (as many whole metres as
the tick labels need to stay apart), labelled in metres.

The views' ranges are a :class:`PanelLimits`: fitted to each photo, or, in a video, fixed from the
first frame with people and only widened (in whole metres) when someone leaves them, so that the
views do not jump from frame to frame (:meth:`VideoWriter.add_frame`).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from monopose.core.skeleton import H36M17
from monopose.core.world_up import WorldFrame, estimate_world_frame
from monopose.io.files import atomic_write
from monopose.io.results import FrameResult, PersonResult, Prediction

__all__ = ["PanelLimits", "draw_frame", "write_png", "VideoWriter"]

_PALETTE_BGR = [(60, 180, 75), (230, 50, 25), (25, 130, 245), (200, 60, 200), (40, 200, 220),
                (120, 120, 255), (255, 160, 60), (150, 90, 40)]
_PANEL_PX = 360
_TITLE_BAND_PX = 20  # the panel's title row
# Grid spacings to choose from: the smallest whose tick labels do not touch.
_TICK_STEPS_MM = (500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0)
_TICK_FONT = cv2.FONT_HERSHEY_PLAIN
_TICK_SCALE = 0.9
_TICK_GAP_PX = 6  # free space between neighbouring tick labels
_TICK_COLOR = (130, 130, 130)
_FIT_MARGIN_MM = 300.0  # around the people of one photo
_VIDEO_MARGIN_MM = 1000.0  # around the people of a video: room to move before a widening
_VIDEO_STEP_MM = 1000.0  # video ranges are whole metres
# A video's world frame comes from its first frames with people (at most this many frames are
# held back before the pictures are written).
_WORLD_FROM_FRAMES = 10
_MAX_WAITING_FRAMES = 30
# How the 3D views are oriented: "auto" (upright, from the people), "camera", or up (x, y, z)
# in camera coordinates.
WorldUp = str | tuple[float, float, float]


def _color(i: int) -> tuple[int, int, int]:
    return _PALETTE_BGR[i % len(_PALETTE_BGR)]


def _side_color(joint: int, base: tuple[int, int, int]) -> tuple[int, int, int]:
    # Left limbs brighter, right limbs darker: the viewer can tell sides apart.
    if joint in H36M17.left:
        return tuple(min(255, int(c * 0.6 + 100)) for c in base)  # type: ignore[return-value]
    if joint in H36M17.right:
        return tuple(int(c * 0.6) for c in base)  # type: ignore[return-value]
    return base


def _points_mm(people: Sequence[PersonResult]) -> np.ndarray:
    """``[N, 3]`` the finite camera-space joints of all people, mm (unknown poses are NaN)."""
    pts = [np.asarray(p.pose_3d_abs_mm, dtype=np.float64).reshape(-1, 3) for p in people]
    allp = np.concatenate(pts) if pts else np.zeros((0, 3))
    return allp[np.isfinite(allp).all(axis=1)]


@dataclass(frozen=True)
class PanelLimits:
    """Camera-space ranges shown by the 3D panels, mm: ``(lo, hi)`` along x, y and z.

    A panel shows two of them (front: x and y, side: z and y) at one scale, centred.
    """

    x_mm: tuple[float, float]
    y_mm: tuple[float, float]
    z_mm: tuple[float, float]

    @property
    def lo_mm(self) -> np.ndarray:
        """``[3]`` lower ends (x, y, z), mm."""
        return np.array([self.x_mm[0], self.y_mm[0], self.z_mm[0]])

    @property
    def hi_mm(self) -> np.ndarray:
        """``[3]`` upper ends (x, y, z), mm."""
        return np.array([self.x_mm[1], self.y_mm[1], self.z_mm[1]])

    @classmethod
    def from_arrays(cls, lo_mm: np.ndarray, hi_mm: np.ndarray) -> PanelLimits:
        """From ``[3]`` lower and ``[3]`` upper ends (x, y, z), mm."""
        lo, hi = (float(v) for v in lo_mm), (float(v) for v in hi_mm)
        return cls(*((a, b) for a, b in zip(lo, hi, strict=True)))

    @classmethod
    def fit(cls, people: Sequence[PersonResult], margin_mm: float = _FIT_MARGIN_MM
            ) -> PanelLimits:
        """Tight ranges around the people of one picture (±1 m around the camera if none)."""
        pts = _points_mm(people)
        if not len(pts):
            return cls((-1000.0, 1000.0), (-1000.0, 1000.0), (-1000.0, 1000.0))
        return cls.from_arrays(pts.min(axis=0) - margin_mm, pts.max(axis=0) + margin_mm)

    @classmethod
    def for_video(cls, people: Sequence[PersonResult], margin_mm: float = _VIDEO_MARGIN_MM,
                  step_mm: float = _VIDEO_STEP_MM) -> PanelLimits | None:
        """Generous ranges around the people, rounded outwards to ``step_mm``; None if nobody
        has a known 3D position."""
        pts = _points_mm(people)
        if not len(pts):
            return None
        lo = np.floor((pts.min(axis=0) - margin_mm) / step_mm) * step_mm
        hi = np.ceil((pts.max(axis=0) + margin_mm) / step_mm) * step_mm
        return cls.from_arrays(lo, hi)

    def widened(self, people: Sequence[PersonResult], margin_mm: float = _VIDEO_MARGIN_MM,
                step_mm: float = _VIDEO_STEP_MM) -> PanelLimits:
        """These ranges, grown (never shrunk) on each side that a person leaves: to that
        person plus ``margin_mm``, rounded outwards to ``step_mm``. Unchanged while everyone
        is inside."""
        pts = _points_mm(people)
        lo, hi = self.lo_mm, self.hi_mm
        if not len(pts) or ((pts.min(axis=0) >= lo).all() and (pts.max(axis=0) <= hi).all()):
            return self
        out_lo = pts.min(axis=0) < lo
        out_hi = pts.max(axis=0) > hi
        new_lo = np.floor((pts.min(axis=0) - margin_mm) / step_mm) * step_mm
        new_hi = np.ceil((pts.max(axis=0) + margin_mm) / step_mm) * step_mm
        return PanelLimits.from_arrays(np.where(out_lo, np.minimum(lo, new_lo), lo),
                                       np.where(out_hi, np.maximum(hi, new_hi), hi))

    def extent(self, axes: tuple[int, int]) -> tuple[float, float, float, float]:
        """``(h_min, h_max, v_min, v_max)`` mm of the view with camera axes ``axes``."""
        lo, hi = self.lo_mm, self.hi_mm
        return (float(lo[axes[0]]), float(hi[axes[0]]), float(lo[axes[1]]), float(hi[axes[1]]))


def _draw_skeleton_2d(img: np.ndarray, person: PersonResult, color: tuple[int, int, int],
                      thickness: int) -> None:
    kp = person.keypoints_2d_px
    ok = person.keypoints_valid
    for child, parent in H36M17.bones:
        if ok[child] and ok[parent]:
            p0 = tuple(int(round(v)) for v in kp[parent])
            p1 = tuple(int(round(v)) for v in kp[child])
            cv2.line(img, p0, p1, _side_color(child, color), thickness, cv2.LINE_AA)
    for j in range(H36M17.num_joints):
        if ok[j]:
            cv2.circle(img, tuple(int(round(v)) for v in kp[j]), thickness + 1, color, -1,
                       cv2.LINE_AA)
    x0, y0, x1, y1 = (int(round(v)) for v in person.box_xyxy_px)
    cv2.rectangle(img, (x0, y0), (x1, y1), color, max(1, thickness // 2))
    label = f"#{person.person_id}" if person.person_id is not None else f"{person.score:.2f}"
    cv2.putText(img, label, (x0, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1,
                cv2.LINE_AA)


def _tick_text(value_mm: float) -> str:
    """Metres, as short as exact: ``"-1.5"``, ``"0"``, ``"2"``."""
    return f"{round(value_mm / 1000.0, 2) + 0.0:g}"  # + 0.0 turns -0 into 0


def _text_size(text: str) -> tuple[int, int, int]:
    """``(width, height, baseline)`` px of a tick label."""
    (w, h), base = cv2.getTextSize(text, _TICK_FONT, _TICK_SCALE, 1)
    return w, h, base


def _ticks_mm(lo_mm: float, hi_mm: float, step_mm: float) -> np.ndarray:
    """``[K]`` multiples of ``step_mm`` within ``[lo_mm, hi_mm]``."""
    return np.arange(math.ceil(lo_mm / step_mm), math.floor(hi_mm / step_mm) + 1) * step_mm


def _tick_step_mm(ranges_mm: Sequence[tuple[float, float]], px_per_mm: float) -> float:
    """The finest grid step whose labels (the widest of all axes) leave a gap between them."""
    for step in _TICK_STEPS_MM:
        texts = [_tick_text(v) for lo, hi in ranges_mm for v in _ticks_mm(lo, hi, step)]
        widest = max((_text_size(t)[0] for t in texts), default=0)
        if step * px_per_mm >= widest + _TICK_GAP_PX:
            return step
    return _TICK_STEPS_MM[-1]


def _view_panel(people: list[PersonResult], axes: tuple[int, int], title: str,
                extent_mm: tuple[float, float, float, float], floor: bool = False
                ) -> np.ndarray:
    """One orthographic view of all people (absolute camera space) with a metric grid.

    ``axes`` picks the horizontal and vertical camera axes (0 x, 1 y, 2 z); ``extent_mm`` is
    (h_min, h_max, v_min, v_max). ``floor``: the vertical axis is minus the height above the
    floor (world view): labels show heights and the floor (0) is drawn dark. Returns
    ``[360, 360, 3]`` uint8 BGR.
    """
    panel = np.full((_PANEL_PX, _PANEL_PX, 3), 250, np.uint8)
    h0, h1, v0, v1 = extent_mm
    span = max(h1 - h0, v1 - v0, 1.0)
    scale = (_PANEL_PX - 40) / span  # px per mm
    hc, vc = (h0 + h1) / 2, (v0 + v1) / 2

    def to_px(h: float, v: float) -> tuple[int, int]:
        return (int(round(_PANEL_PX / 2 + (h - hc) * scale)),
                int(round(_PANEL_PX / 2 + 10 + (v - vc) * scale)))

    # What the panel shows, mm (wider than the extent along its shorter side).
    h_lo, h_hi = hc - _PANEL_PX / 2 / scale, hc + _PANEL_PX / 2 / scale
    v_lo, v_hi = vc - (_PANEL_PX / 2 + 10) / scale, vc + (_PANEL_PX / 2 - 10) / scale
    step = _tick_step_mm([(h_lo, h_hi), (v_lo, v_hi)], scale)
    # Horizontal-axis labels: along the bottom, centred under their grid lines.
    bottom_px = _PANEL_PX - 4
    label_h_px = 0
    for g in _ticks_mm(h_lo, h_hi, step):
        x, _ = to_px(g, vc)
        cv2.line(panel, (x, _TITLE_BAND_PX), (x, _PANEL_PX), (220, 220, 220), 1)
        text = _tick_text(g)
        w, h, _ = _text_size(text)
        label_h_px = max(label_h_px, h)
        if w // 2 <= x <= _PANEL_PX - 1 - (w - w // 2):  # the whole label is in the panel
            cv2.putText(panel, text, (x - w // 2, bottom_px), _TICK_FONT, _TICK_SCALE,
                        _TICK_COLOR, 1, cv2.LINE_AA)
    # Vertical-axis labels: at the left, just above their grid lines, clear of the title and
    # of the bottom labels.
    for g in _ticks_mm(v_lo, v_hi, step):
        _, y = to_px(hc, g)
        if not _TITLE_BAND_PX <= y < _PANEL_PX:
            continue
        on_floor = floor and abs(g) < 1e-6
        cv2.line(panel, (0, y), (_PANEL_PX, y), (90, 90, 90) if on_floor else (220, 220, 220),
                 2 if on_floor else 1)
        text = _tick_text(-g if floor else g)
        _, h, base = _text_size(text)
        if y - 2 - h > _TITLE_BAND_PX and y - 2 + base < bottom_px - label_h_px - _TICK_GAP_PX:
            cv2.putText(panel, text, (2, y - 2), _TICK_FONT, _TICK_SCALE, _TICK_COLOR, 1,
                        cv2.LINE_AA)
    cv2.putText(panel, title, (6, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40), 1,
                cv2.LINE_AA)
    _draw_error_circles(panel, people, axes, to_px, scale)
    for i, person in enumerate(people):
        color = _color(person.person_id if person.person_id is not None else i)
        pose = np.asarray(person.pose_3d_abs_mm, dtype=np.float64)
        for child, parent in H36M17.bones:
            if not (np.isfinite(pose[parent]).all() and np.isfinite(pose[child]).all()):
                continue  # unknown absolute pose (failed root solve)
            cv2.line(panel, to_px(pose[parent, axes[0]], pose[parent, axes[1]]),
                     to_px(pose[child, axes[0]], pose[child, axes[1]]),
                     _side_color(child, color), 2, cv2.LINE_AA)
    return panel


def _draw_error_circles(panel: np.ndarray, people: list[PersonResult], axes: tuple[int, int],
                        to_px: Callable[[float, float], tuple[int, int]], px_per_mm: float
                        ) -> None:
    """Each joint's median error (``PersonResult.errors``) as a faint disc around it, and a
    note saying so when anyone has one."""
    shade = panel.copy()
    drawn = False
    for i, person in enumerate(people):
        if person.errors is None:
            continue
        color = _color(person.person_id if person.person_id is not None else i)
        light = tuple(int(255 - 0.35 * (255 - c)) for c in color)
        pose = np.asarray(person.pose_3d_abs_mm, dtype=np.float64)
        radii_mm = np.asarray(person.errors["joint_median_mm"], dtype=np.float64)
        for j in range(len(pose)):
            if np.isfinite(pose[j]).all() and np.isfinite(radii_mm[j]) and radii_mm[j] > 0:
                cv2.circle(shade, to_px(pose[j, axes[0]], pose[j, axes[1]]),
                           max(1, int(round(radii_mm[j] * px_per_mm))), light, -1, cv2.LINE_AA)
                drawn = True
    if drawn:
        cv2.addWeighted(shade, 0.3, panel, 0.7, 0.0, dst=panel)
        note = "discs: median error"
        w, _, _ = _text_size(note)
        cv2.putText(panel, note, (_PANEL_PX - w - 6, _TITLE_BAND_PX + 4), _TICK_FONT,
                    _TICK_SCALE, _TICK_COLOR, 1, cv2.LINE_AA)


def in_world_view(people: Sequence[PersonResult], world: WorldFrame) -> list[PersonResult]:
    """Copies of ``people`` whose absolute poses are in ``world`` for drawing: x right, minus
    the height above the floor, depth ahead (so the views read like camera space, upright)."""
    flip = np.array([1.0, -1.0, -1.0])
    return [dataclasses.replace(p, pose_3d_abs_mm=world.to_world(p.pose_3d_abs_mm) * flip)
            for p in people]


def draw_frame(image_rgb: np.ndarray, frame: FrameResult, limits: PanelLimits | None = None,
               world: WorldFrame | None = None) -> np.ndarray:
    """Compose the picture for one frame.

    Args:
        image_rgb: ``[H, W, 3]`` uint8 RGB photo.
        frame: The people found in it.
        limits: Ranges of the 3D views (e.g. fixed for a whole video); None fits them to the
            people of this frame. In the views' coordinates (see ``world``).
        world: Draw the views in this world frame (people upright on the floor, heights in
            metres; see :mod:`monopose.core.world_up`); None draws camera space.

    Returns:
        ``[720, W' + 360, 3]`` uint8 RGB: the photo with 2D skeletons (scaled to 720 px high) on
        the left, the front (x–y) and side (z–y) metric views stacked on the right.
    """
    canvas = cv2.cvtColor(np.ascontiguousarray(image_rgb), cv2.COLOR_RGB2BGR)
    thickness = max(2, int(round(max(canvas.shape[:2]) / 400)))
    for i, person in enumerate(frame.people):
        _draw_skeleton_2d(canvas, person, _color(person.person_id if person.person_id is not None
                                                 else i), thickness)
    target_h = 2 * _PANEL_PX
    scale = target_h / canvas.shape[0]
    canvas = cv2.resize(canvas, (max(1, int(round(canvas.shape[1] * scale))), target_h),
                        interpolation=cv2.INTER_AREA)
    people = frame.people if world is None else in_world_view(frame.people, world)
    lim = limits if limits is not None else PanelLimits.fit(people)
    if world is None:
        front = _view_panel(people, (0, 1), "front: x right, y down (m)", lim.extent((0, 1)))
        side = _view_panel(people, (2, 1), "side: z forward, y down (m)", lim.extent((2, 1)))
    else:
        front = _view_panel(people, (0, 1), "front: height above floor (m)", lim.extent((0, 1)),
                            floor=True)
        side = _view_panel(people, (2, 1), "side: depth, height (m)", lim.extent((2, 1)),
                           floor=True)
    if not frame.people:
        cv2.putText(canvas, "no person found", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (0, 0, 255), 2, cv2.LINE_AA)
    out = np.concatenate([canvas, np.concatenate([front, side], axis=0)], axis=1)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def write_png(path: Path, picture_rgb: np.ndarray) -> None:
    """Write an RGB picture as PNG atomically."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(picture_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: could not encode PNG")
    atomic_write(Path(path), lambda fh: fh.write(buf.tobytes()))


class VideoWriter:
    """Write RGB frames to an MP4 (H.264 through imageio-ffmpeg) atomically on close.

    :meth:`add_frame` draws a result with this video's own 3D ranges (:attr:`limits`): fixed
    from the first frame with people, widened only when someone leaves them.
    """

    def __init__(self, path: Path, fps: float, world: WorldFrame | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".mp4",
                                         dir=self.path.parent)
        os.close(fd)
        self._fps = fps
        self._gen: Generator[None, np.ndarray | None, None] | None = None
        self._size: tuple[int, int] | None = None
        self.limits: PanelLimits | None = None
        self.world = world  # None: the views show camera space

    def add_frame(self, image_rgb: np.ndarray, frame: FrameResult) -> None:
        """Draw one frame's result (see :func:`draw_frame`) with this video's ranges and add it.

        Args:
            image_rgb: ``[H, W, 3]`` uint8 RGB video frame.
            frame: The people found in it.
        """
        people = frame.people if self.world is None else in_world_view(frame.people, self.world)
        if self.limits is None:
            self.limits = PanelLimits.for_video(people)
        else:
            self.limits = self.limits.widened(people)
        self.add(draw_frame(image_rgb, frame, limits=self.limits, world=self.world))

    def add(self, frame_rgb: np.ndarray) -> None:
        """Add one ready picture ``[H, W, 3]`` uint8 RGB (cut to even width and height)."""
        h, w = frame_rgb.shape[:2]
        if self._gen is None:
            self._size = (w - w % 2, h - h % 2)  # libx264 needs even sizes
            self._gen = imageio_ffmpeg.write_frames(
                self._tmp, self._size, fps=self._fps, codec="libx264", quality=6,
                macro_block_size=1, pix_fmt_out="yuv420p")
            self._gen.send(None)
        assert self._size is not None
        self._gen.send(np.ascontiguousarray(frame_rgb[: self._size[1], : self._size[0]]))

    def close(self) -> None:
        if self._gen is None:
            os.unlink(self._tmp)
            return
        self._gen.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        if self._gen is not None:
            self._gen.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def add_all(self, frames: Iterable[np.ndarray]) -> None:
        for f in frames:
            self.add(f)


def check_world_up(world_up: WorldUp) -> WorldUp:
    """``world_up`` when it is ``"auto"``, ``"camera"`` or an ``(x, y, z)`` vector.

    Raises:
        ValueError: naming ``world_up`` (``--world-up``) otherwise.
    """
    if isinstance(world_up, str) and world_up not in ("auto", "camera"):
        raise ValueError(f"world_up (--world-up): expected 'auto', 'camera' or x,y,z, got "
                         f"{world_up!r}")
    return world_up


def world_frame_of(frames: Sequence[FrameResult], world_up: WorldUp) -> WorldFrame | None:
    """The world frame for pictures of ``frames``: None for camera-space pictures
    (``world_up="camera"``), else estimated from the people (``"auto"``) or from a given up
    vector in camera coordinates (see :func:`monopose.core.world_up.estimate_world_frame`)."""
    if check_world_up(world_up) == "camera":
        return None
    people = [p for f in frames for p in f.people]
    poses = [np.asarray(p.pose_3d_abs_mm, dtype=np.float64) for p in people]
    stacked = np.stack(poses) if poses else np.zeros((0, 17, 3))
    # a video's track is one person's evidence; a photo's people (no id) each their own
    ids = np.array([-1 if p.person_id is None else p.person_id for p in people], dtype=np.int64)
    up = None if isinstance(world_up, str) else np.asarray(world_up, dtype=np.float64)
    return estimate_world_frame(stacked, up_cam=up, person_ids=ids)


class PictureOutput:
    """The pictures of one input (``monopose predict --viz png``): a PNG of a photo, an MP4 of a
    video with fixed 3D ranges. Follows :class:`monopose.pipeline.batch.InputWriter`.

    The 3D views stand people on the floor (``world_up="auto"``: the way up and the floor
    estimated from the people, :func:`monopose.core.world_up.estimate_world_frame`; a video's
    from its first frames with people, so frames can be written as they come), or use a given
    up vector in camera coordinates, or show camera space (``"camera"``).

    Args:
        stem_path: Output path without suffix (``<out>/<stem>``).
        fps: Frames per second of a video; None for a photo.
        world_up: ``"auto"``, ``"camera"`` or ``(x, y, z)`` up in camera coordinates.
        world: A photo's world frame when already known (the batch estimates it once for the
            JSON and the pictures); None estimates it here.
    """

    def __init__(self, stem_path: Path, fps: float | None, world_up: WorldUp = "auto",
                 world: WorldFrame | None = None) -> None:
        self._world_up = check_world_up(world_up)
        self._world = world
        self._png = None if fps is not None else stem_path.with_suffix(".png")
        self._picture: np.ndarray | None = None
        self._video = VideoWriter(stem_path.with_suffix(".mp4"), fps) if fps is not None else None
        self._waiting: list[tuple[np.ndarray, FrameResult]] | None = []  # frames before the world

    def add(self, frame_rgb: np.ndarray, frame: FrameResult) -> None:
        if self._video is None:
            world = self._world if self._world is not None else world_frame_of(
                [frame], self._world_up)
            self._picture = draw_frame(frame_rgb, frame, world=world)
        elif self._waiting is None:
            self._video.add_frame(frame_rgb, frame)
        else:
            self._waiting.append((frame_rgb, frame))
            with_people = sum(1 for _, f in self._waiting if f.people)
            if with_people >= _WORLD_FROM_FRAMES or len(self._waiting) >= _MAX_WAITING_FRAMES:
                self._flush()

    def _flush(self) -> None:
        assert self._video is not None and self._waiting is not None
        self._video.world = world_frame_of([f for _, f in self._waiting], self._world_up)
        waiting, self._waiting = self._waiting, None
        for rgb, frame in waiting:
            self._video.add_frame(rgb, frame)

    def finish(self, prediction: Prediction, warnings: list[str]) -> list[Path]:
        if self._video is not None:
            if self._waiting is not None:
                self._flush()
            self._video.close()
            return [self._video.path]
        if self._png is None or self._picture is None:
            return []
        write_png(self._png, self._picture)
        return [self._png]

    def abort(self) -> None:
        if self._video is not None:
            self._video.abort()
