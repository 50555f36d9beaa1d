"""Labels of photos with 3D ground truth (monopose.eval.photo_truth): what is read, what is
skipped and why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monopose.core.projection import project_points
from monopose.core.skeleton import H36M17, LAYOUTS, convert_layout
from monopose.eval.photo_truth import load_photo_truths

CAMERA = {"fx": 1000.0, "fy": 990.0, "cx": 320.0, "cy": 240.0}
MPI17 = LAYOUTS["mpi3dhp17"]


def _pose_mm(joints: int, seed: int = 0) -> np.ndarray:
    """``[joints, 3]`` points about 4 m in front of the camera, mm."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 300.0, (joints, 3)) + [100.0, 200.0, 4000.0]


def _write(tmp_path: Path, items: list, images: tuple[str, ...] = ("a.jpg",)) -> Path:
    for name in images:
        Image.new("RGB", (640, 480)).save(tmp_path / name)
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"items": items}))
    return path


def _item(image: str = "a.jpg", layout: str = "h36m17", **extra: object) -> dict:
    joints = len(LAYOUTS[{"mpi_inf_3dhp_17": "mpi3dhp17"}.get(layout, layout)].joint_names)
    return {"image": image, "layout": layout, "camera": CAMERA,
            "pose3d_camera_mm": _pose_mm(joints).tolist(), **extra}


def test_mpi3dhp_items_become_h36m17_with_projected_2d(tmp_path: Path) -> None:
    labels = _write(tmp_path, [_item(layout="mpi_inf_3dhp_17")])
    truths = load_photo_truths(labels)
    assert truths.skipped == [] and len(truths.items) == 1
    t = truths.items[0]
    expected, _, _ = convert_layout(_pose_mm(17), "mpi3dhp17", "h36m17")
    np.testing.assert_allclose(t.abs_mm, expected)
    # the mpi pelvis (index 14) is the h36m17 root
    np.testing.assert_allclose(t.abs_mm[H36M17.root], _pose_mm(17)[MPI17.joint_names.index(
        "pelvis")])
    np.testing.assert_allclose(t.kp2d_px, project_points(expected, np.asarray(t.intrinsics)),
                               atol=1e-6)
    assert t.intrinsics == (1000.0, 990.0, 320.0, 240.0)
    assert t.path == tmp_path / "a.jpg" and t.label == "a"
    np.testing.assert_allclose(t.rel_mm[0], 0.0)


def test_given_2d_is_kept_and_several_people_of_one_photo_are_told_apart(tmp_path: Path) -> None:
    kp = np.random.default_rng(3).uniform(0, 400, (17, 2))
    labels = _write(tmp_path, [_item(keypoints2d_px=kp.tolist()), _item()])
    first, second = load_photo_truths(labels).items
    np.testing.assert_allclose(first.kp2d_px, kp)
    assert (first.label, second.label) == ("a", "a#2")


@pytest.mark.parametrize(("change", "said"), [
    ({"image": "missing.jpg"}, "missing.jpg does not exist"),
    ({"layout": "smpl24"}, "layout 'smpl24' is unknown; expected one of"),
    ({"pose3d_camera_mm": [[0.0, 0.0, 1.0]] * 5}, "expected shape [17, 3]"),
    ({"pose3d_camera_mm": (_pose_mm(17) * [1, 1, -1]).tolist()}, "z > 0"),
    ({"camera": {"fx": 1000.0}}, "camera: expected an object with fx, fy, cx, cy"),
    ({"camera": {**CAMERA, "fx": -5.0}}, "fx, fy > 0"),
    ({"camera": {**CAMERA, "fx": 2.0}}, "not a plausible focal length for a 640x480 image"),
    ({"camera": {**CAMERA, "cx": 5000.0}}, "camera: cx"),
    ({"image": "text.jpg"}, "text.jpg is not a readable image"),
    ({"keypoints2d_px": [[1.0, 2.0]] * 17 + [[1.0, None]]}, "keypoints2d_px"),
])
def test_a_broken_item_is_skipped_with_a_note_and_the_rest_read(tmp_path: Path, change: dict,
                                                                said: str) -> None:
    (tmp_path / "text.jpg").write_text("not an image")
    labels = _write(tmp_path, [{**_item(), **change}, _item()])
    truths = load_photo_truths(labels)
    assert len(truths.items) == 1 and len(truths.skipped) == 1
    assert "labels.json item 0" in truths.skipped[0] and said in truths.skipped[0]


def test_a_labels_file_that_cannot_be_used_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.json does not exist"):
        load_photo_truths(tmp_path / "nothing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json is not JSON"):
        load_photo_truths(bad)
    bad.write_text(json.dumps({"items": []}))
    with pytest.raises(ValueError, match="non-empty 'items' list"):
        load_photo_truths(bad)
    labels = _write(tmp_path, [{"image": "a.jpg"}])
    with pytest.raises(ValueError, match="no item .* could be read: .*missing pose3d_camera_mm"):
        load_photo_truths(labels)


def test_human36m_raw_joints_are_reduced_to_h36m17(tmp_path: Path) -> None:
    from monopose.data.h36m import H36M32_TO_17

    raw = _pose_mm(32, seed=5)
    labels = _write(tmp_path, [{"image": "a.jpg", "layout": "h36m32", "camera": CAMERA,
                                "pose3d_camera_mm": raw.tolist()}])
    t = load_photo_truths(labels).items[0]
    np.testing.assert_allclose(t.abs_mm, raw[list(H36M32_TO_17)])
    np.testing.assert_allclose(t.kp2d_px, project_points(t.abs_mm, np.asarray(t.intrinsics)),
                               atol=1e-6)
