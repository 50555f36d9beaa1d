"""Pictures of results: the 2D skeleton over the photo beside front and side 3D views.

Drawn with OpenCV (fast enough for every frame of a video). The 3D views show every person in
camera space with a metric grid: the front view looks along +z (x right, y down), the side view
looks along -x (z to the right, y down). Grid lines every 500 mm, labelled in metres.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from monopose.core.skeleton import H36M17
from monopose.pipeline.results import FrameResult, PersonResult

__all__ = ["draw_frame", "write_png", "VideoWriter"]

_PALETTE_BGR = [(60, 180, 75), (230, 50, 25), (25, 130, 245), (200, 60, 200), (40, 200, 220),
                (120, 120, 255), (255, 160, 60), (150, 90, 40)]
_GRID_MM = 500.0
_PANEL_PX = 360


def _color(i: int) -> tuple[int, int, int]:
    return _PALETTE_BGR[i % len(_PALETTE_BGR)]


def _side_color(joint: int, base: tuple[int, int, int]) -> tuple[int, int, int]:
    # Left limbs brighter, right limbs darker: the viewer can tell sides apart.
    if joint in H36M17.left:
        return tuple(min(255, int(c * 0.6 + 100)) for c in base)  # type: ignore[return-value]
    if joint in H36M17.right:
        return tuple(int(c * 0.6) for c in base)  # type: ignore[return-value]
    return base


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


def _view_panel(people: list[PersonResult], axes: tuple[int, int], title: str,
                extent_mm: tuple[float, float, float, float]) -> np.ndarray:
    """One orthographic view of all people (absolute camera space) with a metric grid.

    ``axes`` picks the horizontal and vertical camera axes (0 x, 1 y, 2 z); ``extent_mm`` is
    (h_min, h_max, v_min, v_max).
    """
    panel = np.full((_PANEL_PX, _PANEL_PX, 3), 250, np.uint8)
    h0, h1, v0, v1 = extent_mm
    span = max(h1 - h0, v1 - v0)
    scale = (_PANEL_PX - 40) / span
    hc, vc = (h0 + h1) / 2, (v0 + v1) / 2

    def to_px(h: float, v: float) -> tuple[int, int]:
        return (int(round(_PANEL_PX / 2 + (h - hc) * scale)),
                int(round(_PANEL_PX / 2 + 10 + (v - vc) * scale)))

    half = span / 2
    for g in np.arange(np.floor((hc - half) / _GRID_MM), np.ceil((hc + half) / _GRID_MM) + 1):
        x, _ = to_px(g * _GRID_MM, vc)
        cv2.line(panel, (x, 20), (x, _PANEL_PX), (220, 220, 220), 1)
        cv2.putText(panel, f"{g * _GRID_MM / 1000:.1f}", (x + 2, _PANEL_PX - 4),
                    cv2.FONT_HERSHEY_PLAIN, 0.8, (150, 150, 150), 1)
    for g in np.arange(np.floor((vc - half) / _GRID_MM), np.ceil((vc + half) / _GRID_MM) + 1):
        _, y = to_px(hc, g * _GRID_MM)
        if 20 <= y < _PANEL_PX:
            cv2.line(panel, (0, y), (_PANEL_PX, y), (220, 220, 220), 1)
            cv2.putText(panel, f"{g * _GRID_MM / 1000:.1f}", (2, y - 2), cv2.FONT_HERSHEY_PLAIN,
                        0.8, (150, 150, 150), 1)
    cv2.putText(panel, title, (6, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40), 1,
                cv2.LINE_AA)
    for i, person in enumerate(people):
        color = _color(person.person_id if person.person_id is not None else i)
        pose = person.pose_3d_abs_mm
        for child, parent in H36M17.bones:
            cv2.line(panel, to_px(pose[parent, axes[0]], pose[parent, axes[1]]),
                     to_px(pose[child, axes[0]], pose[child, axes[1]]),
                     _side_color(child, color), 2, cv2.LINE_AA)
    return panel


def _extent(people: list[PersonResult], axes: tuple[int, int]) -> tuple[float, float, float, float]:
    if not people:
        return (-1000.0, 1000.0, -1000.0, 1000.0)
    pts = np.concatenate([p.pose_3d_abs_mm for p in people])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    pad = 300.0
    return (lo[axes[0]] - pad, hi[axes[0]] + pad, lo[axes[1]] - pad, hi[axes[1]] + pad)


def draw_frame(image_rgb: np.ndarray, frame: FrameResult) -> np.ndarray:
    """Compose the picture for one frame.

    Args:
        image_rgb: ``[H, W, 3]`` uint8 RGB photo.
        frame: The people found in it.

    Returns:
        ``[H', W', 3]`` uint8 RGB: the photo with 2D skeletons (scaled to 720 px high) on the left,
        the front (x–y) and side (z–y) metric views stacked on the right.
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
    front = _view_panel(frame.people, (0, 1), "front: x right, y down (m)",
                        _extent(frame.people, (0, 1)))
    side = _view_panel(frame.people, (2, 1), "side: z forward, y down (m)",
                       _extent(frame.people, (2, 1)))
    if not frame.people:
        cv2.putText(canvas, "no person found", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (0, 0, 255), 2, cv2.LINE_AA)
    out = np.concatenate([canvas, np.concatenate([front, side], axis=0)], axis=1)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB)


def write_png(path: Path, picture_rgb: np.ndarray) -> None:
    """Write an RGB picture as PNG atomically."""
    from monopose.fileio import atomic_write

    ok, buf = cv2.imencode(".png", cv2.cvtColor(picture_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError(f"{path}: could not encode PNG")
    atomic_write(Path(path), lambda fh: fh.write(buf.tobytes()))


class VideoWriter:
    """Write RGB frames to an MP4 (H.264 through imageio-ffmpeg) atomically on close."""

    def __init__(self, path: Path, fps: float) -> None:
        import os
        import tempfile

        import imageio_ffmpeg

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".mp4",
                                         dir=self.path.parent)
        os.close(fd)
        self._fps = fps
        self._ffmpeg = imageio_ffmpeg
        self._gen = None
        self._size: tuple[int, int] | None = None

    def add(self, frame_rgb: np.ndarray) -> None:
        h, w = frame_rgb.shape[:2]
        if self._gen is None:
            self._size = (w - w % 2, h - h % 2)  # libx264 needs even sizes
            self._gen = self._ffmpeg.write_frames(
                self._tmp, self._size, fps=self._fps, codec="libx264", quality=6,
                macro_block_size=1, pix_fmt_out="yuv420p")
            self._gen.send(None)
        assert self._size is not None
        self._gen.send(np.ascontiguousarray(frame_rgb[: self._size[1], : self._size[0]]))

    def close(self) -> None:
        import os

        if self._gen is None:
            os.unlink(self._tmp)
            return
        self._gen.close()
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self._tmp, 0o666 & ~umask)
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        import os

        if self._gen is not None:
            self._gen.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def add_all(self, frames: Iterable[np.ndarray]) -> None:
        for f in frames:
            self.add(f)
