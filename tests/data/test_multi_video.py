"""Multi-person synthetic videos: path planning (no body model) and a tiny render with labels.

The planning tests need nothing optional; the render test needs the render extra (anny,
moderngl), a headless GL context and the anny cache, and skips otherwise.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from monopose.data.mocap_cache import MocapCache
from monopose.data.synthetic.multi_video import (
    box_from_points,
    read_video_labels,
    video_name,
    write_video_dataset,
)
from monopose.data.synthetic.video_plan import VideoConfig, plan_video, walking_clips
from tests.data.test_multi_render import STAND as STAND_MM

STAND = STAND_MM.astype(np.float32)  # h36m17 standing pose, world mm, Z up


def tiny_cache(n_frames: int = 60) -> MocapCache:
    """Two walking clips (1.2 m/s along −y, +x) and one standing clip, 30 fps."""
    t = np.arange(n_frames, dtype=np.float32) / 30.0
    walk_y = STAND[None] + np.stack([np.zeros_like(t), -1200.0 * t, np.zeros_like(t)],
                                    -1)[:, None]
    walk_x = STAND[None] + np.stack([1200.0 * t, np.zeros_like(t), np.zeros_like(t)],
                                    -1)[:, None]
    stand = np.repeat(STAND[None], n_frames, axis=0)
    poses = np.concatenate([walk_y, walk_x, stand]).astype(np.float32)
    return MocapCache({
        "poses_mm": poses, "keep": np.ones(len(poses), bool),
        "clip_start": np.array([0, n_frames, 2 * n_frames]),
        "clip_length": np.array([n_frames] * 3),
        "clip_source": np.array(["test"] * 3), "clip_split": np.array(["val"] * 3),
        "clip_name": np.array(["walk_y", "walk_x", "stand"]),
        "meta_json": np.array(json.dumps({"hash": "tiny"})),
    })


def test_walking_and_static_clips_are_told_apart():
    walk, static = walking_clips(tiny_cache(), VideoConfig(num_frames=20))
    assert walk.tolist() == [0, 1] and static.tolist() == [2]


def test_plans_walk_across_the_view_in_front_of_the_camera():
    cache = tiny_cache()
    cfg = VideoConfig(num_frames=20, people=(2, 4), static_prob=0.0)
    walk, static = walking_clips(cache, cfg)
    for seed in range(5):
        plan = plan_video(np.random.default_rng(seed), cache, walk, static, (320, 240), cfg)
        assert 2 <= len(plan.people) <= 4 and plan.fps == 15.0
        for i, p in enumerate(plan.people):
            assert p.floor_xy_mm.shape == (20, 2) and p.poses_mm.shape == (20, 17, 3)
            step = p.floor_xy_mm[-1] - p.floor_xy_mm[0]
            # Across the view: the camera looks along +x, so mostly along y.
            assert abs(step[1]) > abs(step[0])
            cam_joints = plan.camera.to_camera(p.joints_world_mm())
            assert cam_joints[..., 2].min() > 0
            for q in plan.people[i + 1:]:
                gap = np.linalg.norm(p.floor_xy_mm - q.floor_xy_mm, axis=1).min()
                assert gap >= cfg.min_separation_mm


def test_plans_are_deterministic():
    cache = tiny_cache()
    cfg = VideoConfig(num_frames=20)
    walk, static = walking_clips(cache, cfg)
    a = plan_video(np.random.default_rng([3, 1]), cache, walk, static, (320, 240), cfg)
    b = plan_video(np.random.default_rng([3, 1]), cache, walk, static, (320, 240), cfg)
    assert len(a.people) == len(b.people)
    for p, q in zip(a.people, b.people, strict=True):
        np.testing.assert_array_equal(p.floor_xy_mm, q.floor_xy_mm)


def test_box_from_points_clips_to_the_image():
    box = box_from_points(np.array([[-10.0, 5.0], [50.0, 300.0]]), (100, 200))
    np.testing.assert_array_equal(box, [0, 5, 50, 200])
    np.testing.assert_array_equal(box_from_points(np.zeros((0, 2)), (100, 200)), np.zeros(4))


# ----------------------------------------------------------------------------------------------
# rendering (render extra + anny cache)


@pytest.fixture(scope="module")
def body(render_body):
    return render_body


def test_tiny_video_labels_are_consistent_and_resumable(body, tmp_path):
    cfg = VideoConfig(num_frames=8, people=(2, 2), static_prob=0.0, min_frames_in_view=4)
    rep = write_video_dataset(tmp_path, 1, tiny_cache(), (160, 120), seed=1, config=cfg,
                              use_photos=False, body=body)
    assert rep.written == 1
    lab = read_video_labels(tmp_path / f"{video_name(0)}.npz")
    assert int(lab["num_frames"]) == 8 and float(lab["fps"]) == 15.0
    assert set(lab["person_id"].tolist()) <= {0, 1} and len(lab["clip"]) == 2
    for t in range(8):  # each person at most once per frame
        ids = lab["person_id"][lab["frame"] == t]
        assert len(ids) == len(set(ids.tolist()))
    for r in range(len(lab["frame"])):
        box = lab["box_xyxy_px"][r]
        kp = lab["kp2d_px"][r][lab["visible"][r]]
        # Visible joints lie within the silhouette box (1 px slack for rounding).
        assert (kp >= box[:2] - 1.5).all() and (kp <= box[2:] + 1.5).all()
        assert 0.0 <= lab["occluded_fraction"][r] <= 1.0
        assert lab["visible_px"][r] <= lab["silhouette_px"][r]
    again = write_video_dataset(tmp_path, 1, tiny_cache(), (160, 120), seed=1, config=cfg,
                                use_photos=False, body=body)
    assert (again.written, again.skipped) == (0, 1)
    cap = cv2.VideoCapture(str(tmp_path / f"{video_name(0)}.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == 8
