"""Video reading: whole files, files cut short, and files that are not videos."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from monopose.io.video import VideoInfo, iterate_video


def _write_avi(path: Path, n: int) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(n):
        frame = np.full((48, 64, 3), i * 10 % 255, np.uint8)
        writer.write(frame)
    writer.release()


def test_reads_every_frame(tmp_path: Path) -> None:
    _write_avi(tmp_path / "v.avi", 12)
    items = list(iterate_video(tmp_path / "v.avi"))
    assert isinstance(items[0], VideoInfo) and items[0].width == 64 and items[0].fps == 10
    frames = [it for it in items[1:] if isinstance(it, tuple)]
    assert len(frames) == 12 and frames[0][1].shape == (48, 64, 3)
    assert not any(isinstance(it, str) for it in items)


def test_truncated_file_keeps_frames_and_warns(tmp_path: Path) -> None:
    _write_avi(tmp_path / "v.avi", 30)
    data = (tmp_path / "v.avi").read_bytes()
    (tmp_path / "cut.avi").write_bytes(data[: len(data) // 2])
    items = list(iterate_video(tmp_path / "cut.avi"))
    frames = [it for it in items[1:] if isinstance(it, tuple)]
    warnings = [it for it in items if isinstance(it, str)]
    assert 0 < len(frames) < 30
    assert warnings and "cut.avi" in warnings[0] and "ended" in warnings[0]


def test_not_a_video(tmp_path: Path) -> None:
    (tmp_path / "x.mp4").write_bytes(b"garbage" * 100)
    with pytest.raises(ValueError, match="x.mp4"):
        next(iterate_video(tmp_path / "x.mp4"))
    (tmp_path / "e.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match="e.mp4.*empty"):
        next(iterate_video(tmp_path / "e.mp4"))


def test_open_video_reads_the_header_once_and_each_frame_once(tmp_path):
    from monopose.io.video import open_video

    _write_avi(tmp_path / "v.avi", 4)
    video = open_video(tmp_path / "v.avi", max_frames=3)
    assert (video.info.width, video.info.height) == (64, 48)
    frames = list(video)
    assert [f[0] for f in frames] == [0, 1, 2]
    assert list(video) == []  # the frames were handed on, not kept
