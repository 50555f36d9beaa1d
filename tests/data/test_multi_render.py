"""Multi-person synthetic images: scene layout, depth compositing, labels, shards.

The layout and compositing tests need nothing optional; the rendering tests need the render
extra (anny, moderngl), a headless GL context and the anny cache, and skip otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from monopose.data.synthetic.generate import PoseSource
from monopose.data.synthetic.multi import (
    MultiSceneConfig,
    ScenePerson,
    composite_by_depth,
    read_multi_shard,
    sample_layout,
    write_multi_dataset,
)
from monopose.data.synthetic.scene import place_camera

# h36m17 standing pose, world mm, Z up, facing −y.
STAND = np.array([
    [0, 0, 950], [-100, 0, 950], [-105, 0, 520], [-110, 20, 90],
    [100, 0, 950], [105, 0, 520], [110, 20, 90],
    [0, 0, 1180], [0, 0, 1420], [0, -50, 1570], [0, 0, 1720],
    [170, 0, 1400], [190, 0, 1120], [200, -20, 870],
    [-170, 0, 1400], [-190, 0, 1120], [-200, -20, 870],
], dtype=np.float64)


def poses(n: int, seed: int = 0) -> PoseSource:
    """Standing people with the wrists and elbows moved a little."""
    rng = np.random.default_rng(seed)
    p = np.repeat(STAND[None], n, axis=0)
    p[:, [12, 13, 15, 16]] += rng.normal(0.0, 40.0, (n, 4, 3))
    return PoseSource(p, [f"test/clip/stand/{i}" for i in range(n)], name="stand")


# ----------------------------------------------------------------------------------------------
# no body model needed


def test_layout_keeps_people_apart_in_range_and_in_front():
    cfg = MultiSceneConfig()
    size = (640, 480)
    for s in range(40):
        lay = sample_layout(np.random.default_rng(s), 4, size, cfg)
        pos = lay.positions_mm
        assert 1 <= len(pos) <= 4 and lay.yaws_rad.shape == (len(pos),)
        gaps = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(len(pos)) * 1e9
        assert gaps.min() >= cfg.min_separation_mm
        cam = lay.camera
        centre = -cam.R.T @ cam.t  # camera position in the world
        assert cfg.camera_height_mm[0] <= centre[2] <= cfg.camera_height_mm[1]
        d = np.linalg.norm(pos - centre[:2], axis=1)
        assert (d >= cfg.distance_mm[0] - 1e-6).all() and (d <= cfg.distance_mm[1] + 1e-6).all()
        fov = 2 * np.degrees(np.arctan(0.5 * max(size) / cam.intrinsics[0]))
        assert cfg.fov_deg[0] - 1e-6 <= fov <= cfg.fov_deg[1] + 1e-6
        pelvis = cam.to_camera(np.c_[pos, np.full(len(pos), 950.0)])
        assert (pelvis[:, 2] > 0).all()


def test_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="distance_mm"):
        MultiSceneConfig(distance_mm=(9000.0, 2500.0))
    with pytest.raises(ValueError, match="min_people"):
        MultiSceneConfig(people=(2, 3), min_people=4)


def test_composite_nearest_layer_wins_per_pixel():
    h, w = 8, 10
    rgb = np.zeros((2, h, w, 3), np.uint8)
    rgb[0, ..., 0] = 200  # red layer
    rgb[1, ..., 2] = 200  # blue layer
    alpha = np.zeros((2, h, w), np.float32)
    depth = np.full((2, h, w), np.inf, np.float32)
    alpha[0], depth[0] = 1.0, 3000.0  # red everywhere at 3 m
    alpha[1, :, :5], depth[1, :, :5] = 1.0, 2000.0  # blue on the left at 2 m ...
    alpha[1, :, 5:], depth[1, :, 5:] = 1.0, 4000.0  # ... and behind red on the right
    alpha[1, 0, 0] = 0.5  # a soft edge pixel
    bg = np.full((h, w, 3), 50, np.uint8)
    img, d, owner = composite_by_depth(rgb, alpha, depth, bg)
    assert (owner[:, :5] == 1).all() and (owner[:, 5:] == 0).all()
    np.testing.assert_array_equal(d[:, :5], 2000.0)
    np.testing.assert_array_equal(d[:, 5:], 3000.0)
    assert img[3, 2, 2] == pytest.approx(200) and img[3, 2, 0] == pytest.approx(0)
    assert img[3, 7, 0] == pytest.approx(200) and img[3, 7, 2] == pytest.approx(0)
    # half-covered nearer pixel: half blue over the red behind it
    assert img[0, 0, 2] == pytest.approx(100) and img[0, 0, 0] == pytest.approx(100)
    # a layer order does not matter
    img2, _, owner2 = composite_by_depth(rgb[::-1], alpha[::-1], depth[::-1], bg)
    np.testing.assert_allclose(img2, img)
    np.testing.assert_array_equal(owner2, 1 - owner)


def test_composite_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="alpha"):
        composite_by_depth(np.zeros((1, 4, 4, 3), np.uint8), np.zeros((1, 4, 5)),
                           np.zeros((1, 4, 4)), np.zeros((4, 4, 3), np.uint8))


# ----------------------------------------------------------------------------------------------
# rendering (render extra + anny cache)


@pytest.fixture(scope="module")
def body(render_body):
    return render_body


@pytest.fixture(scope="module")
def renderer(body):
    from monopose.data.synthetic.multi import MultiRenderer

    cfg = MultiSceneConfig(people=(2, 2), min_people=2)
    r = MultiRenderer(poses(8), (200, 150), seed=3, config=cfg, use_photos=False, body=body)
    yield r
    r.close()


def test_nearer_person_occludes_the_farther_one(renderer):
    size = (200, 150)
    near_xy, far_xy = np.array([0.0, 3000.0]), np.array([0.0, 6000.0])
    people = []
    for k, xy in enumerate((near_xy, far_xy)):
        v, j = renderer.pose_person(STAND, np.full(6, 0.5), 0.0, xy)
        people.append(ScenePerson(v, j, id=f"p{k}"))
    # camera at the origin looking along +y at chest height: the near body hides the far one
    target = np.array([0.0, 4500.0, 1000.0])
    cam = place_camera(target[None], size, distance_mm=4500.0, height_mm=1300.0,
                       azimuth_deg=-90.0, focal_px=160.0, fill=None, look_at_mm=target)
    sample = renderer.render_scene(people, cam, np.random.default_rng(0), keep_depth=True)
    near, far = sample.people
    for p, person in zip(sample.people, people, strict=True):
        # camera-space joints are the world joints moved by (R, t); 2D are their projections
        np.testing.assert_allclose(p.pose3d_cam_mm, cam.to_camera(person.joints_world_mm),
                                   atol=0.05)
        fx, fy, cx, cy = sample.intrinsics
        z = p.pose3d_cam_mm[:, 2]
        np.testing.assert_allclose(p.kp2d_px[:, 0], fx * p.pose3d_cam_mm[:, 0] / z + cx, atol=1e-3)
        np.testing.assert_allclose(p.kp2d_px[:, 1], fy * p.pose3d_cam_mm[:, 1] / z + cy, atol=1e-3)
        assert p.inside.sum() >= 15
    assert near.occluded_fraction == 0.0
    assert near.visible.sum() >= 10
    assert far.occluded_fraction > 0.6
    assert far.visible.sum() <= 3
    # alone, the far person is visible: the occlusion comes from the other body
    alone = renderer.render_scene([people[1]], cam, np.random.default_rng(0)).people[0]
    assert alone.visible.sum() >= 10 and alone.occluded_fraction == 0.0
    # visible joints of the near person land on its own pixels of the instance map
    ins = sample.instances
    for u, v in np.rint(near.kp2d_px[near.visible]).astype(int):
        assert (ins[max(v - 1, 0):v + 2, max(u - 1, 0):u + 2] == 1).any()
    assert sample.depth_mm is not None
    assert np.isfinite(sample.depth_mm[ins > 0]).all() and np.isinf(sample.depth_mm[ins == 0]).all()


def test_random_samples_are_deterministic_and_labelled(renderer):
    a = renderer.render_sample(5)
    b = renderer.render_sample(5)
    assert len(a.people) == 2 and a.index == 5
    np.testing.assert_array_equal(a.image, b.image)
    for pa, pb in zip(a.people, b.people, strict=True):
        np.testing.assert_array_equal(pa.pose3d_cam_mm, pb.pose3d_cam_mm)
        assert pa.inside.sum() >= 8
        # people stand on the floor (world z = 0) at least 800 mm apart
        assert -1.0 < pa.pose3d_world_mm[:, 2].min() < 150.0
    d = np.linalg.norm(a.people[0].pose3d_world_mm[0, :2] - a.people[1].pose3d_world_mm[0, :2])
    assert d >= 800.0 - 1e-3
    assert not np.array_equal(renderer.render_sample(6).image, a.image)


def test_shards_round_trip_and_resume(renderer, body, tmp_path):
    out = tmp_path / "multi"
    kw = dict(size_wh=(200, 150), seed=3, shard_size=2, config=renderer.config,
              use_photos=False, body=body)
    rep = write_multi_dataset(out, 3, renderer.poses, **kw)
    assert (rep.num_shards, rep.shards_written, rep.shards_skipped) == (2, 2, 0)
    assert rep.people_histogram == {2: 3}
    shard = read_multi_shard(out / "shard-00001.npz")
    assert len(shard) == 1 and shard.arrays["person_offsets"].tolist() == [0, 2]
    fresh = renderer.render_sample(2)
    img = shard.image(0)
    assert img.shape == (150, 200, 3)
    assert np.abs(img.astype(float) - fresh.image).mean() < 4.0  # JPEG
    np.testing.assert_array_equal(shard.instances(0), fresh.instances)
    for stored, new in zip(shard.people(0), fresh.people, strict=True):
        np.testing.assert_array_equal(stored.pose3d_cam_mm, new.pose3d_cam_mm)
        np.testing.assert_array_equal(stored.kp2d_px, new.kp2d_px)
        np.testing.assert_array_equal(stored.visible, new.visible)
        assert stored.id == new.id and stored.occluded_fraction == pytest.approx(
            new.occluded_fraction)
    np.testing.assert_array_equal(shard.intrinsics(0), fresh.intrinsics)

    first = (out / "shard-00000.npz").stat().st_mtime_ns
    again = write_multi_dataset(out, 3, renderer.poses, **kw)
    assert (again.shards_written, again.shards_skipped) == (0, 2)
    (out / "shard-00001.npz").unlink()
    resumed = write_multi_dataset(out, 3, renderer.poses, **kw)
    assert (resumed.shards_written, resumed.shards_skipped) == (1, 1)
    assert (out / "shard-00000.npz").stat().st_mtime_ns == first
    with pytest.raises(ValueError, match="other settings"):
        write_multi_dataset(out, 3, renderer.poses, **{**kw, "seed": 4})
