"""Reading videos frame by frame, tolerating files that end early or break in the middle."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

__all__ = ["VideoInfo", "VideoFrames", "open_video", "iterate_video"]


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    width: int
    height: int
    frame_count: int  # as declared by the container; may be wrong


def _still_image_format(path: Path) -> str | None:
    """The format name when ``path`` is a still image (OpenCV opens those as 1-frame videos)."""
    try:
        with Image.open(path) as im:
            if getattr(im, "n_frames", 1) > 1:  # animated GIF/WebP: a video of sorts
                return None
            return str(im.format or "still")
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def iterate_video(path: Path, max_frames: int | None = None
                  ) -> Iterator[VideoInfo | tuple[int, np.ndarray] | str]:
    """Yield the :class:`VideoInfo` first, then ``(index, frame_rgb [H, W, 3] uint8)`` per frame.

    When the stream stops before the declared frame count, a final warning string is yielded.

    Raises:
        ValueError: naming the file when it is missing or cannot be opened as a video.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")
    still = _still_image_format(path)
    if still is not None:
        raise ValueError(f"{path}: this is a {still} image, not a video; give it an image "
                         "suffix (.jpg, .png, ...)")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise ValueError(f"{path}: not a readable video")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        if width <= 0 or height <= 0:
            raise ValueError(f"{path}: the video reports no frame size")
        yield VideoInfo(fps if fps > 0 else 25.0, width, height, count)
        index = 0
        while max_frames is None or index < max_frames:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                if count > 0 and index < count - 1:
                    yield (f"{path}: the video ended at frame {index} of {count} declared "
                           f"(truncated or corrupt); kept the frames read")
                break
            yield index, np.ascontiguousarray(bgr[..., ::-1])
            index += 1
    finally:
        cap.release()


@dataclass
class VideoFrames:
    """An opened video: its :class:`VideoInfo` at once, its frames (each decoded once) on
    iteration, as ``(index, frame_rgb [H, W, 3] uint8)`` and possibly a final warning string.

    Iterate it once: the estimator reads the frames and hands each to the pictures.
    """

    path: Path
    info: VideoInfo
    _reader: Iterator[VideoInfo | tuple[int, np.ndarray] | str] = field(repr=False)

    def __iter__(self) -> Iterator[tuple[int, np.ndarray] | str]:
        for item in self._reader:
            assert not isinstance(item, VideoInfo)
            yield item

    def close(self) -> None:
        """Release the decoder (also done when the frames run out)."""
        close = getattr(self._reader, "close", None)
        if close is not None:
            close()


def open_video(path: str | Path, max_frames: int | None = None) -> VideoFrames:
    """Open ``path`` and read its header (:func:`iterate_video` does the checks).

    Raises:
        ValueError: naming the file when it is missing or cannot be opened as a video.
    """
    reader = iterate_video(Path(path), max_frames=max_frames)
    info = next(reader)
    assert isinstance(info, VideoInfo)
    return VideoFrames(Path(path), info, reader)
