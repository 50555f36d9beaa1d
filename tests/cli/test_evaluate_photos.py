"""``monopose evaluate-photos``: the whole pipeline scored on photos with 3D ground truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from monopose.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "monopose" / "assets" / "sample_person.jpg"
# A camera unlike the default field of view, so a run that ignored the labels' intrinsics would
# place the person elsewhere.
CAMERA = {"fx": 900.0, "fy": 900.0, "cx": 300.0, "cy": 330.0}

runner = CliRunner()


def test_a_photo_labelled_with_the_pipelines_own_answer_scores_zero(tmp_path: Path) -> None:
    """Labelled with what `predict` answers under the labels' camera, the default model scores
    0 mm (the right person matched, the intrinsics used); MediaPipe's and the true-2D rows are
    scored beside it, and a broken item is skipped by name."""
    from monopose.pipeline.estimator import Estimator

    photo = tmp_path / "photos" / "person.jpg"
    photo.parent.mkdir()
    shutil.copy(SAMPLE, photo)
    person = Estimator().predict(photo, intrinsics=tuple(CAMERA.values())).frames[0].people[0]
    labels = tmp_path / "photos" / "labels.json"
    labels.write_text(json.dumps({"items": [
        {"image": "person.jpg", "layout": "h36m17", "camera": CAMERA,
         "pose3d_camera_mm": np.asarray(person.pose_3d_abs_mm).tolist(),
         "keypoints2d_px": np.asarray(person.keypoints_2d_px).tolist()},
        {"image": "absent.jpg", "camera": CAMERA, "pose3d_camera_mm": [[0, 0, 1]] * 17},
    ]}))
    out = tmp_path / "scores.json"
    result = runner.invoke(app, ["evaluate-photos", str(labels), "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    assert "labels.json item 1: image" in result.output and "absent.jpg does not exist" in (
        result.output)
    scores = json.loads(out.read_text())
    by_method = {m["method"]: m for m in scores["means"]}
    assert set(by_method) == {"mpm-lift-t1", "mediapipe-world", "mpm-lift-t1 (true 2D)"}
    own = by_method["mpm-lift-t1"]
    assert own["found"] == own["photos"] == 1
    assert own["mpjpe_mm"] < 1e-3 and own["root_error_mm"] < 1e-3
    assert own["kp2d_error_px"] < 1e-3 and own["pck150_pct"] == 100.0
    anchor = by_method["mediapipe-world"]
    assert anchor["found"] == 1 and anchor["root_error_mm"] is None
    assert 0.0 < anchor["mpjpe_mm"] < 300.0
    true_2d = by_method["mpm-lift-t1 (true 2D)"]
    assert 0.0 < true_2d["mpjpe_mm"] < 150.0 and true_2d["kp2d_error_px"] < 1e-6
    assert len(scores["photos"]) == 3 and scores["errors"] == []


def test_bad_labels_and_unknown_models_are_refused_by_name(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate-photos", str(tmp_path / "nothing.json")])
    assert result.exit_code == 2 and "nothing.json does not exist" in result.output
    shutil.copy(SAMPLE, tmp_path / "p.jpg")
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"items": [{"image": "p.jpg", "camera": CAMERA,
                                             "pose3d_camera_mm": [[0, 0, 3000]] * 17}]}))
    result = runner.invoke(app, ["evaluate-photos", str(labels), "--model", "no-such-model",
                                 "--no-anchor"])
    assert result.exit_code == 2 and "no-such-model" in result.output
