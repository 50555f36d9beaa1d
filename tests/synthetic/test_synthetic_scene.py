"""Cameras, scene settings and the dataset writer's argument checks (no anny)."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.data.synthetic.generate import PoseSource, write_dataset
from monopose.data.synthetic.scene import SceneConfig, place_camera, random_camera


@pytest.fixture
def pts(make_poses) -> np.ndarray:
    return make_poses(1, seed=3)[0]


def test_place_camera_fits_and_centres_the_body(pts):
    cam = place_camera(pts, (200, 100), distance_mm=4000, height_mm=1200, azimuth_deg=30,
                       fill=0.8, fill_exact=True)
    uv = cam.project(cam.to_camera(pts))
    span = np.abs(uv - [99.5, 49.5]).max(axis=0) / [100.0, 50.0]
    assert span.max() == pytest.approx(0.8, abs=1e-6)
    assert (cam.to_camera(pts)[:, 2] > 0).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"focal_px": 0.0}, "focal_px"),
    ({"focal_px": -100.0}, "focal_px"),
    ({"fov_deg": 0.0}, "fov_deg"),
    ({"distance_mm": 0.0}, "distance_mm"),
    ({"distance_mm": 60.0}, "in front of the camera"),  # the camera stands inside the body
    ({"size_wh": (0, 64)}, "size_wh"),
])
def test_place_camera_rejects_impossible_settings(pts, kwargs, match):
    args = {"size_wh": (64, 64), "distance_mm": 3000.0, "height_mm": 1000.0,
            "azimuth_deg": 0.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        place_camera(pts, **args)


def test_person_behind_the_camera_raises(pts):
    centre = pts.mean(axis=0)
    # the camera stands between the body and the point it looks at
    behind = centre + np.array([8000.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="in front of the camera"):
        place_camera(pts, (64, 64), distance_mm=3000, height_mm=1000, azimuth_deg=180.0,
                     look_at_mm=behind)


def test_scene_config_validates():
    with pytest.raises(ValueError, match="distance_mm"):
        SceneConfig(distance_mm=(-1.0, 10.0))
    with pytest.raises(ValueError, match="fill"):
        SceneConfig(fill=(0.9, 0.5))
    with pytest.raises(ValueError, match="truncation_prob"):
        SceneConfig(truncation_prob=2.0)


def test_truncating_crops_keep_some_joints_and_cut_others(pts):
    cfg = SceneConfig(truncation_prob=1.0)
    cut = 0
    for seed in range(10):
        cam = random_camera(np.random.default_rng(seed), pts, (128, 128), cfg,
                            joints_world_mm=pts)
        uv = cam.project(cam.to_camera(pts))
        inside = ((uv >= -0.5) & (uv <= 127.5)).all(axis=1)
        assert inside.sum() >= cfg.min_joints_inside
        cut += cam.truncated_crop and not inside.all()
    assert cut >= 5


def test_empty_pose_source_and_bad_writer_arguments(tmp_path, make_poses):
    with pytest.raises(ValueError, match="empty"):
        PoseSource(np.zeros((0, 17, 3)), [])
    with pytest.raises(ValueError, match=r"\[N, 17, 3\]"):
        PoseSource(np.zeros((3, 16, 3)), ["a"] * 3)
    poses = PoseSource(make_poses(2), ["test/c/a/0", "test/c/a/1"])
    for kwargs, match in (({"n": 0}, "n:"), ({"size": 0}, "size"), ({"workers": 0}, "workers"),
                          ({"shard_size": 0}, "shard_size"), ({"split": "dev"}, "split")):
        args = {"n": 4, **kwargs}
        with pytest.raises(ValueError, match=match):
            write_dataset(tmp_path, poses=poses, progress=False, **args)
