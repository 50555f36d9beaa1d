"""The batch runner: outputs per input, broken inputs skipped and reported, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from monopose.export.outputs import writers_for
from monopose.io.results import CameraInfo, FrameResult, PersonResult, Prediction
from monopose.io.schema import read_result_json
from monopose.io.video import VideoFrames
from monopose.pipeline.batch import run_batch


def _person(pid: int, t: float) -> PersonResult:
    rng = np.random.default_rng(pid)
    rel = rng.normal(0, 200, (17, 3))
    rel[0] = 0
    absolute = rel + np.array([300.0 * pid + 10 * t, 0.0, 4000.0])
    kp = 500 * absolute[:, :2] / absolute[:, 2:] + 32
    return PersonResult(np.array([0, 0, 20, 40.0]), 0.9, kp, np.ones(17), np.ones(17, bool),
                        rel, absolute, "perspective", pid)


class _StandInEstimator:
    """Returns two people per frame; reads inputs like the real one (so bad files fail)."""

    model_name = "stand-in"
    camera = CameraInfo(500, 500, 32, 24, 64, 48, "default_fov", 55.0)

    def predict(self, image: np.ndarray, path: Path | None = None, **_: object) -> Prediction:
        assert isinstance(image, np.ndarray)  # decoded once, by the batch
        frame = FrameResult(0, None, [_person(0, 0), _person(1, 0)])
        return Prediction(str(path), "image", self.model_name, self.camera, [frame])

    def predict_video(self, video: VideoFrames, on_frame=None, **_: object
                      ) -> Prediction:  # type: ignore[no-untyped-def]
        frames = []
        for item in video:
            if not isinstance(item, tuple):
                continue
            i, rgb = item
            frame = FrameResult(i, i / 10, [_person(0, i), _person(1, i)])
            frames.append(frame)
            if on_frame is not None:
                on_frame(i, rgb, frame)
        return Prediction(str(video.path), "video", self.model_name, self.camera, frames,
                          fps=10.0)


def _video(path: Path, n: int = 8) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    return path


def test_every_output_for_images_and_videos(tmp_path: Path) -> None:
    Image.new("RGB", (64, 48), (90, 120, 30)).save(tmp_path / "a.jpg")
    video = _video(tmp_path / "clip.avi")
    out = tmp_path / "out"
    report = run_batch(_StandInEstimator(), [tmp_path / "a.jpg", video], out,  # type: ignore[arg-type]
                       writers=writers_for(("png", "html"), bvh=True), npz=True)
    assert report.ok and report.people == 2 and report.person_frames == 2 * 8
    assert report.video_frames == 8
    names = sorted(p.name for p in out.iterdir())
    for expected in ("a.json", "a.npz", "a.png", "a.html", "clip.json", "clip.npz", "clip.mp4",
                     "clip.html", "clip_person0.bvh", "clip_person1.bvh"):
        assert expected in names
    assert not [n for n in names if n.startswith(".")]  # no temp files left
    back = read_result_json(out / "clip.json")
    assert len(back["frames"]) == 8 and back["frames"][3]["people"][1]["person_id"] == 1
    assert "<script" in (out / "a.html").read_text()


def test_broken_inputs_are_reported_and_the_rest_done(tmp_path: Path) -> None:
    Image.new("RGB", (64, 48)).save(tmp_path / "good.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not a jpeg")
    (tmp_path / "bad.mp4").write_bytes(b"nope" * 50)
    out = tmp_path / "out"
    report = run_batch(_StandInEstimator(),  # type: ignore[arg-type]
                       [tmp_path / "bad.jpg", tmp_path / "bad.mp4", tmp_path / "good.jpg"], out,
                       writers=writers_for(("png",)))
    assert not report.ok and len(report.failed) == 2
    assert any("bad.jpg" in m for m in report.failed) and any("bad.mp4" in m for m in report.failed)
    assert sorted(p.name for p in out.iterdir()) == ["good.json", "good.png"]


def test_unknown_viz_format_is_refused() -> None:
    with pytest.raises(ValueError, match="viz"):
        writers_for(("gif",))


def test_same_stem_inputs_get_distinct_outputs(tmp_path: Path) -> None:
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        Image.new("RGB", (64, 48)).save(tmp_path / sub / "photo.jpg")
    report = run_batch(_StandInEstimator(),  # type: ignore[arg-type]
                       [tmp_path / "x" / "photo.jpg", tmp_path / "y" / "photo.jpg"], tmp_path / "o")
    assert report.ok
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["photo.json", "photo_2.json"]


def test_each_input_is_decoded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import monopose.pipeline.batch as batch

    Image.new("RGB", (64, 48), (90, 120, 30)).save(tmp_path / "a.jpg")
    video = _video(tmp_path / "clip.avi", n=5)
    calls: list[str] = []
    real_read, real_open = batch.read_image, batch.open_video
    monkeypatch.setattr(batch, "read_image", lambda p: calls.append(f"read {p.name}")
                        or real_read(p))
    monkeypatch.setattr(batch, "open_video", lambda p, **k: calls.append(f"open {p.name}")
                        or real_open(p, **k))
    out = tmp_path / "out"
    report = run_batch(_StandInEstimator(), [tmp_path / "a.jpg", video], out,  # type: ignore[arg-type]
                       writers=writers_for(("png", "html")))
    assert report.ok
    assert calls == ["read a.jpg", "open clip.avi"]  # pictures drawn from the same frames
    assert {"a.png", "a.html", "clip.mp4", "clip.html"} <= {p.name for p in out.iterdir()}
