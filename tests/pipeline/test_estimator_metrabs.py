"""The shipped MeTRAbs model through the product: Estimator, every CLI verb, JSON, ONNX.

Uses the bundled CC0 sample photo (one standing person, level camera) and the shipped weights.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from monopose.cli import app
from monopose.zoo import available

SAMPLE = Path(str(resources.files("monopose") / "assets" / "sample_person.jpg"))
MODEL = "metrabs-blazepose"

pytestmark = pytest.mark.skipif(not available(MODEL), reason=f"no shipped weights for {MODEL}")
runner = CliRunner()


@pytest.fixture(scope="module")
def estimator():
    from monopose.pipeline.estimator import Estimator

    torch.set_num_threads(1)
    return Estimator(model=MODEL, num_threads=1)


def _rgb() -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(SAMPLE)), cv2.COLOR_BGR2RGB)


def test_sample_photo_gives_one_metric_person(estimator) -> None:
    pred = estimator.predict(SAMPLE)
    people = pred.frames[0].people
    assert len(people) == 1
    p = people[0]
    assert p.root_method == "perspective"
    assert np.isfinite(p.pose_3d_abs_mm).all() and np.allclose(p.pose_3d_rel_mm[0], 0)
    # a standing adult: head top to ankles 1.3-2.1 m, 1.5-15 m in front of the camera
    height = np.linalg.norm(p.pose_3d_rel_mm[10] - p.pose_3d_rel_mm[[3, 6]].mean(0))
    assert 1300 < height < 2100
    assert 1500 < p.pose_3d_abs_mm[0, 2] < 15000
    # its own 2D lies on the person the detector found
    x0, y0, x1, y1 = p.box_xyxy_px
    m = 0.15 * (y1 - y0)  # MeTRAbs' own 2D may differ from the detector's by a margin
    inside = ((p.keypoints_2d_px[:, 0] > x0 - m) & (p.keypoints_2d_px[:, 0] < x1 + m)
              & (p.keypoints_2d_px[:, 1] > y0 - m) & (p.keypoints_2d_px[:, 1] < y1 + m))
    assert inside[p.keypoints_valid].all() and p.keypoints_valid.sum() >= 12


def test_absolute_pose_reprojects_onto_its_2d(estimator) -> None:
    pred = estimator.predict(SAMPLE)
    p = pred.frames[0].people[0]
    fx, fy, cx, cy = pred.camera.intrinsics
    proj = p.pose_3d_abs_mm[:, :2] / p.pose_3d_abs_mm[:, 2:] * [fx, fy] + [cx, cy]
    err = np.linalg.norm(proj - p.keypoints_2d_px, axis=-1)[p.keypoints_valid]
    assert np.median(err) < 0.05 * (p.box_xyxy_px[3] - p.box_xyxy_px[1])


def test_test_time_augmentation_agrees_with_the_plain_crop() -> None:
    from monopose.metrabs.inference import MetrabsEstimator

    torch.set_num_threads(1)
    rgb = _rgb()
    h, w = rgb.shape[:2]
    f = 0.5 * max(w, h) / np.tan(np.deg2rad(55) / 2)
    intr = np.array([f, f, (w - 1) / 2, (h - 1) / 2])
    box = np.array([0.3 * w, 0.05 * h, 0.7 * w, 0.98 * h])
    one, _ = MetrabsEstimator(MODEL, num_aug=1).predict_boxes(rgb, box[None], intr)
    five, _ = MetrabsEstimator(MODEL, num_aug=5).predict_boxes(rgb, box[None], intr)
    gap = np.linalg.norm(one[0].pose_3d_rel_mm - five[0].pose_3d_rel_mm, axis=-1).mean()
    assert 0 < gap < 120  # averaging changes the pose, but not into another one


def test_box_without_a_person_is_skipped_with_a_warning() -> None:
    from monopose.metrabs.inference import MetrabsEstimator

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    people, warnings = MetrabsEstimator(MODEL).predict_boxes(
        noise, np.array([[50, 20, 250, 280], [10, 10, 10, 50]]), (400, 400, 200, 150))
    assert people == []
    assert any("box 0" in m and "no person" in m for m in warnings)
    assert any("box 1" in m and "positive width" in m for m in warnings)


def test_cli_predict_json_has_absolute_people(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(SAMPLE), "--model", MODEL, "--tta", "2",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "sample_person.json").read_text())
    assert data["model"] == MODEL
    person = data["frames"][0]["people"][0]
    assert person["root_method"] == "perspective"
    assert all(v is not None for joint in person["pose_3d_abs"] for v in joint)


def test_cli_lift_refuses_an_image_model(tmp_path: Path) -> None:
    np.savez(tmp_path / "kp.npz", keypoints_2d=np.zeros((2, 17, 2)), layout="h36m17")
    result = runner.invoke(app, ["lift", str(tmp_path / "kp.npz"), "--out",
                                 str(tmp_path / "o.npz"), "--model", MODEL])
    assert result.exit_code == 2
    assert "image model" in result.output


def test_cli_export_onnx_matches_pytorch(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export-onnx", MODEL, "--out", str(tmp_path / "m.onnx")])
    assert result.exit_code == 0, result.output
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["level32", "level16", "level8"]
    assert [o.name for o in sess.get_outputs()] == ["keypoints_2d_crop_px", "pose_3d_rel_mm"]


def test_cli_evaluate_on_a_crop_cache(tmp_path: Path) -> None:
    from tests.metrabs.test_train import write_tiny_cache

    write_tiny_cache(tmp_path / "crops", n=16)
    result = runner.invoke(app, ["evaluate", MODEL, "--data", str(tmp_path / "crops")])
    assert result.exit_code == 0, result.output
    assert "0 % cut off: MPJPE" in result.output
    result = runner.invoke(app, ["evaluate", MODEL, "--data", str(tmp_path)])
    assert result.exit_code == 2 and "neither" in result.output


def test_video_people_keep_ids(estimator, tmp_path: Path) -> None:
    rgb = _rgb()
    h, w = rgb.shape[:2]
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
    for k in range(3):  # the person slides right a little
        frame = np.roll(rgb, 4 * k, axis=1)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    pred = estimator.predict_video(path)
    ids = [[p.person_id for p in f.people] for f in pred.frames]
    assert len(pred.frames) == 3 and all(len(i) == 1 for i in ids)
    assert len({i[0] for i in ids}) == 1


def test_unknown_intrinsics_default_to_a_55_degree_camera() -> None:
    from monopose.core.camera import intrinsics_from_fov
    from monopose.metrabs.inference import MetrabsEstimator

    rgb = _rgb()
    h, w = rgb.shape[:2]
    box = np.array([[0.3 * w, 0.05 * h, 0.7 * w, 0.98 * h]])
    est = MetrabsEstimator(MODEL)
    implicit, _ = est.predict_boxes(rgb, box)
    explicit, _ = est.predict_boxes(rgb, box, intrinsics_from_fov(w, h, 55.0))
    assert np.allclose(implicit[0].pose_3d_abs_mm, explicit[0].pose_3d_abs_mm)
