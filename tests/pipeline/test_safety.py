"""Inputs are never written, intrinsics are checked at the boundary, and written JSON is strict."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monopose.export.outputs import writers_for
from monopose.io.files import refuse_overwriting_inputs, same_file
from monopose.io.intrinsics import check_intrinsics, resolve_intrinsics
from monopose.io.results import CameraInfo, FrameResult, Prediction
from monopose.io.schema import read_result_json, write_json_atomic
from monopose.pipeline.batch import run_batch
from tests.pipeline.test_batch import _person, _StandInEstimator, _video


def _strict_load(path: Path) -> object:
    """A JSON parser that refuses NaN and Infinity, as browsers and most languages do."""
    def refuse(name: str) -> None:
        raise AssertionError(f"{path} holds {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


# ------------------------------------------------------------------ inputs are never written
def test_picture_of_a_png_in_its_own_folder_does_not_replace_the_photo(tmp_path: Path) -> None:
    photo = tmp_path / "x.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(photo)
    before = photo.read_bytes()
    report = run_batch(_StandInEstimator(), [photo], tmp_path, writers=writers_for(("png",)))  # type: ignore[arg-type]
    assert report.ok, report.failed
    assert photo.read_bytes() == before
    assert (tmp_path / "x_monopose.png").is_file() and (tmp_path / "x_monopose.json").is_file()


def test_video_output_does_not_replace_an_mp4_input_reached_by_a_symlink(tmp_path: Path) -> None:
    clip = _video(tmp_path / "clip.avi")
    mp4_input = tmp_path / "walk.mp4"
    mp4_input.write_bytes(clip.read_bytes())  # an input named like the MP4 picture of 'walk'
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(mp4_input, out / "walk.mp4")
    before = mp4_input.read_bytes()
    report = run_batch(_StandInEstimator(), [out / "walk.mp4"], out, writers=writers_for(("png",)))  # type: ignore[arg-type]
    assert report.ok, report.failed
    assert mp4_input.read_bytes() == before
    assert (out / "walk_monopose.mp4").is_file()


def test_refuse_overwriting_inputs_sees_through_links_and_dots(tmp_path: Path) -> None:
    src = tmp_path / "k.npz"
    src.write_bytes(b"x")
    os.link(src, tmp_path / "hard.npz")
    assert same_file(tmp_path / "sub" / ".." / "k.npz", src)
    for out in (src, tmp_path / "hard.npz", tmp_path / "." / "k.npz"):
        with pytest.raises(ValueError, match="refusing to overwrite"):
            refuse_overwriting_inputs(out, [src], "--out")
    assert refuse_overwriting_inputs(tmp_path / "other.npz", [src]) == tmp_path / "other.npz"


# ------------------------------------------------------------------ intrinsics
@pytest.mark.parametrize("values, words", [
    ((math.inf,) * 4, "finite"),
    ((math.nan, 500, 320, 240), "finite"),
    ((1e12, 1e12, 320, 240), "plausible focal length"),
    ((0.5, 0.5, 320, 240), "plausible focal length"),
    ((500, 500, -5000, 99999), "far outside"),
    ((500, 5000, 320, 240), "square"),
])
def test_implausible_intrinsics_are_refused_with_the_reason(values: tuple, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        resolve_intrinsics(640, 480, intrinsics=values)


def test_plausible_intrinsics_pass_unchanged() -> None:
    assert check_intrinsics(700, 710, 300, 200, 640, 480) == (700, 710, 300, 200)
    assert resolve_intrinsics(640, 480, intrinsics=(1500, 1500, 960, 540)).source == "given"
    # A long tele lens and an off-centre principal point are still cameras.
    check_intrinsics(20000, 20000, -100, 600, 640, 480)


def test_intrinsics_file_with_infinity_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "cam.json"
    f.write_text('{"fx": Infinity, "fy": 500, "cx": 320, "cy": 240}')
    with pytest.raises(ValueError, match="cam.json"):
        resolve_intrinsics(640, 480, intrinsics_file=f)


# ------------------------------------------------------------------ strict JSON
def _camera() -> CameraInfo:
    return CameraInfo(500, 500, 32, 24, 64, 48, "given")


def test_non_finite_results_become_failed_with_a_reason() -> None:
    person = _person(0, 0)
    person.pose_3d_abs_mm[3, 1] = np.inf
    assert "not finite" in (person.drop_nonfinite() or "")
    assert person.root_method == "failed" and np.isnan(person.pose_3d_abs_mm).all()
    far = _person(1, 0)
    far.pose_3d_abs_mm[:, 2] += 4.4e6  # 4.4 km
    assert "4404" in (far.drop_nonfinite() or "")
    assert far.root_method == "failed"
    fine = _person(2, 0)
    assert fine.drop_nonfinite() is None and fine.root_method == "perspective"


def test_every_written_json_parses_strictly(tmp_path: Path) -> None:
    person = _person(0, 0)
    person.pose_3d_abs_mm[:] = np.inf  # not yet checked: to_json must still write null
    person.pose_3d_rel_mm[2] = -np.inf
    person.score = float("nan")
    pred = Prediction("a.jpg", "image", "m", _camera(), [FrameResult(0, None, [person])])
    write_json_atomic(tmp_path / "a.json", pred.to_json())
    data = _strict_load(tmp_path / "a.json")
    assert isinstance(data, dict)
    people = data["frames"][0]["people"]
    assert people[0]["pose_3d_abs"][0] == [None, None, None] and people[0]["score"] is None
    read_result_json(tmp_path / "a.json")


def test_a_payload_with_nan_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        write_json_atomic(tmp_path / "b.json", {"x": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_reading_a_result_with_nan_literals_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "r.json"
    f.write_text('{"schema_version": "1.0", "x": NaN}')
    with pytest.raises(ValueError, match="r.json"):
        read_result_json(f)


# ------------------------------------------------------------------ progress and summary
def test_video_progress_counts_frames_and_summary_words(tmp_path: Path) -> None:
    clip = _video(tmp_path / "clip.avi", n=6)
    seen: list[tuple[int, int | None]] = []
    report = run_batch(_StandInEstimator(), [clip], tmp_path / "o",  # type: ignore[arg-type]
                       on_frame_progress=lambda p, done, total: seen.append((done, total)))
    assert seen == [(k, 6) for k in range(1, 7)]
    assert report.person_frames == 12 and report.video_frames == 6 and report.people == 0
    line = report.summary(1, tmp_path / "o")
    assert "12 person detections over 6 video frames" in line and "outputs in" in line
    for f in report.written:
        if f.suffix == ".json":
            _strict_load(f)


def test_summary_does_not_claim_outputs_when_nothing_was_written(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    report = run_batch(_StandInEstimator(), [bad], tmp_path / "never")  # type: ignore[arg-type]
    assert not report.ok
    line = report.summary(1, tmp_path / "never")
    assert "nothing written" in line and "0 of 1" in line and "outputs in" not in line
