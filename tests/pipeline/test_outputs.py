"""Result JSON/NPZ writing, intrinsics resolution, input collection and pictures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monopose.io.images import as_rgb, read_image
from monopose.io.intrinsics import resolve_intrinsics
from monopose.io.results import CameraInfo, FrameResult, PersonResult, Prediction
from monopose.io.schema import SCHEMA_VERSION, read_result_json, write_json_atomic
from monopose.pipeline.batch import collect_inputs, prediction_arrays
from monopose.pipeline.viz import draw_frame


def _person(pid: int | None, shift_mm: float = 0.0) -> PersonResult:
    rng = np.random.default_rng(pid or 0)
    rel = rng.normal(0, 200, (17, 3))
    rel[0] = 0
    absolute = rel + np.array([shift_mm, 0.0, 4000.0])
    kp = 500 * absolute[:, :2] / absolute[:, 2:] + 320
    return PersonResult(np.array([10, 20, 200, 400.0]), 0.9, kp, np.full(17, 0.8),
                        np.ones(17, bool), rel, absolute, "perspective", pid)


def _prediction(people: list[PersonResult]) -> Prediction:
    cam = CameraInfo(500, 500, 320, 240, 640, 480, "default_fov", 55.0)
    return Prediction("x.jpg", "image", "baseline-t1", cam, [FrameResult(0, None, people)])


def test_json_round_trip_keeps_poses(tmp_path: Path) -> None:
    pred = _prediction([_person(1), _person(2, 800)])
    write_json_atomic(tmp_path / "r.json", pred.to_json())
    back = read_result_json(tmp_path / "r.json")
    assert back["schema_version"] == SCHEMA_VERSION and back["units"] == "mm"
    assert back["layout"] == "h36m17" and len(back["joint_names"]) == 17
    got = np.array(back["frames"][0]["people"][1]["pose_3d_abs"])
    np.testing.assert_allclose(got, pred.frames[0].people[1].pose_3d_abs_mm, atol=0.05)
    assert back["camera"]["source"] == "default_fov"


def test_read_result_rejects_other_schema_and_missing_keys(tmp_path: Path) -> None:
    payload = _prediction([_person(1)]).to_json()
    payload["schema_version"] = "0.9"
    (tmp_path / "old.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="old.json.*schema_version"):
        read_result_json(tmp_path / "old.json")
    payload = _prediction([_person(1)]).to_json()
    del payload["frames"][0]["people"][0]["pose_3d_abs"]
    (tmp_path / "bad.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match="pose_3d_abs"):
        read_result_json(tmp_path / "bad.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(ValueError, match="junk.json"):
        read_result_json(tmp_path / "junk.json")


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    class Unserialisable:
        pass

    with pytest.raises(TypeError):
        write_json_atomic(tmp_path / "x.json", {"a": Unserialisable()})
    assert list(tmp_path.iterdir()) == []


def test_npz_arrays_have_one_row_per_person() -> None:
    arrays = prediction_arrays(_prediction([_person(3), _person(4)]))
    assert arrays["pose_3d_abs_mm"].shape == (2, 17, 3)
    assert arrays["person_id"].tolist() == [3, 4]
    empty = prediction_arrays(_prediction([]))
    assert empty["pose_3d_rel_mm"].shape == (0, 17, 3)


def test_intrinsics_order_given_file_exif_default(tmp_path: Path) -> None:
    cam = resolve_intrinsics(640, 480, intrinsics=(700, 710, 300, 200))
    assert (cam.source, cam.fx, cam.cy) == ("given", 700, 200)
    f = tmp_path / "k.json"
    f.write_text(json.dumps({"fx": 800, "fy": 800, "cx": 320, "cy": 240}))
    assert resolve_intrinsics(640, 480, intrinsics_file=f).source == "file"
    f.write_text(json.dumps({"fx": 800}))
    with pytest.raises(ValueError, match="k.json.*fy"):
        resolve_intrinsics(640, 480, intrinsics_file=f)
    # A 35 mm-equivalent focal length of 36 mm means f = the longer image side in pixels.
    img = tmp_path / "exif.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 36
    Image.new("RGB", (640, 480)).save(img, exif=exif)
    cam = resolve_intrinsics(640, 480, image_path=img)
    assert cam.source == "exif" and cam.fx == pytest.approx(640)
    plain = tmp_path / "plain.jpg"
    Image.new("RGB", (640, 480)).save(plain)
    cam = resolve_intrinsics(640, 480, image_path=plain)
    assert cam.source == "default_fov"
    assert cam.fx == pytest.approx(320 / math.tan(math.radians(27.5)))


def test_collect_inputs_reports_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "imgs" / "a.png")
    (tmp_path / "notes.txt").write_text("hi")
    inputs, problems = collect_inputs([tmp_path / "imgs", tmp_path / "empty",
                                       tmp_path / "notes.txt", tmp_path / "missing.jpg"])
    assert inputs == [tmp_path / "imgs" / "a.png"]
    assert len(problems) == 3
    assert any("empty" in p and "no image" in p for p in problems)
    assert any("notes.txt" in p and "unsupported" in p for p in problems)
    assert any("missing.jpg" in p for p in problems)


def test_read_image_errors_and_conversions(tmp_path: Path) -> None:
    (tmp_path / "zero.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="zero.jpg.*empty"):
        read_image(tmp_path / "zero.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"not an image at all")
    with pytest.raises(ValueError, match="junk.jpg.*not a readable image"):
        read_image(tmp_path / "junk.jpg")
    assert as_rgb(np.zeros((5, 7), np.uint8)).shape == (5, 7, 3)
    assert as_rgb(np.zeros((5, 7, 4), np.uint8)).shape == (5, 7, 3)
    with pytest.raises(ValueError, match="empty"):
        as_rgb(np.zeros((0, 7, 3), np.uint8))


def test_draw_frame_marks_people() -> None:
    photo = np.full((480, 640, 3), 255, np.uint8)
    blank = draw_frame(photo, FrameResult(0, None, []))
    drawn = draw_frame(photo, FrameResult(0, None, [_person(1)]))
    assert drawn.shape == blank.shape and drawn.dtype == np.uint8
    # The skeleton changes the photo part and the 3D panels.
    assert (drawn != blank).any(axis=2).sum() > 500
