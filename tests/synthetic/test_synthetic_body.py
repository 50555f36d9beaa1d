"""Retargeting, labels against pixels, determinism, truncation and resuming (needs anny).

The body model is loaded once per session (see conftest.py); each test renders a handful of
samples, so the file runs in well under a minute once anny's cache exists.
"""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import H36M17
from monopose.data.synthetic.generate import (
    PoseSource,
    SyntheticRenderer,
    read_shard,
    shard_name,
    write_dataset,
)
from monopose.data.synthetic.scene import SceneConfig, place_camera

PARENTS = np.array(H36M17.parents)
LIMB_BONES = (2, 3, 5, 6, 12, 13, 15, 16)  # bones ending at knees, ankles, elbows, wrists
LIMB_JOINTS = (2, 3, 5, 6, 12, 13, 15, 16)


def _angles_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cos = (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


@pytest.fixture(scope="module")
def poses(make_poses) -> PoseSource:
    p = make_poses(12, seed=11)
    return PoseSource(p, [f"test/clip/act/{i}" for i in range(len(p))], name="test")


@pytest.fixture(scope="module")
def renderer(body, poses):
    r = SyntheticRenderer(poses, size=128, seed=4, body=body,
                          config=SceneConfig(truncation_prob=0.0))
    yield r
    r.close()


def test_retargeting_reproduces_bone_directions(body, make_poses):
    from monopose.data.synthetic.body import random_phenotypes
    from monopose.data.synthetic.retarget import retarget_h36m17

    rng = np.random.default_rng(0)
    limb, torso, pelvis_err = [], [], []
    for target in make_poses(8, seed=5):
        rest = body.rest(random_phenotypes(rng))
        ret = retarget_h36m17(body, rest, target)
        posed = body.pose(rest, ret.rotations, ret.root_m)
        j = body.rig_h36m17_mm(posed)  # retargeting aligns the rig's bones
        ang = _angles_deg(j[1:] - j[PARENTS[1:]], target[1:] - target[PARENTS[1:]])
        limb.append(ang[np.array(LIMB_BONES) - 1])
        torso.append(_angles_deg(j[8] - j[0], target[8] - target[0]))
        pelvis_err.append(np.linalg.norm(j[0] - target[0]))
    assert np.max(limb) < 0.5  # limb directions are aligned exactly
    assert np.max(torso) < 1.0
    assert np.max(pelvis_err) < 1.0  # mm


def test_labels_follow_human36m_placement_at_the_body_size(body, make_poses):
    """Hips, shoulders, neck and head sit at Human3.6M's lengths times the body's limb scale;
    knees, ankles, elbows, wrists stay on the body; the upper arm keeps the rig's length."""
    from monopose.data.proportions import H36M_BONE_LENGTHS_MM, bone_lengths_mm, limb_scale
    from monopose.data.synthetic.body import random_phenotypes
    from monopose.data.synthetic.retarget import retarget_h36m17

    rng = np.random.default_rng(1)
    for target in make_poses(4, seed=6):
        rest = body.rest(random_phenotypes(rng))
        ret = retarget_h36m17(body, rest, target)
        posed = body.pose(rest, ret.rotations, ret.root_m)
        rig, lab = body.rig_h36m17_mm(posed), body.h36m17_mm(posed)
        s = float(limb_scale(rig))
        got = bone_lengths_mm(lab)
        for name in ("r_hip", "l_hip", "spine", "thorax", "neck_nose", "head_top",
                     "l_shoulder", "r_shoulder"):
            assert got[name] == pytest.approx(H36M_BONE_LENGTHS_MM[name] * s, rel=1e-6), name
        for j in (2, 3, 5, 6, 12, 13, 15, 16):  # knees, ankles, elbows, wrists
            np.testing.assert_allclose(lab[j], rig[j])
        np.testing.assert_allclose(lab[0], rig[0], atol=1e-9)  # pelvis
        rig_len = bone_lengths_mm(rig)
        for name in ("l_elbow", "r_elbow"):
            assert abs(got[name] - rig_len[name]) < 0.05 * rig_len[name]
        assert (rig_len["r_hip"] < got["r_hip"]) or s < 0.8  # the rig's hips are narrower


def test_retarget_rejects_bad_targets(body):
    from monopose.data.synthetic.body import random_phenotypes
    from monopose.data.synthetic.retarget import retarget_h36m17

    rest = body.rest(random_phenotypes(np.random.default_rng(0)))
    with pytest.raises(ValueError, match="target_mm"):
        retarget_h36m17(body, rest, np.zeros((16, 3)))
    with pytest.raises(ValueError, match="target_mm"):
        retarget_h36m17(body, rest, np.full((17, 3), np.nan))


def test_labels_and_pixels_agree(renderer):
    hits, total = 0, 0
    for i in range(6):
        s = renderer.render_sample(i)
        assert s.valid_2d.all()  # no truncation in this configuration
        # GT 3D and 2D are consistent with the stored intrinsics
        fx, fy, cx, cy = s.intrinsics
        p = s.pose_3d_cam_mm
        np.testing.assert_allclose(s.keypoints_2d_px[:, 0], fx * p[:, 0] / p[:, 2] + cx,
                                   atol=1e-3)
        # visible limb joints fall on the body's mask (within one pixel)
        grown = s.mask.copy()
        grown[1:] |= s.mask[:-1]
        grown[:-1] |= s.mask[1:]
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
        for j in LIMB_JOINTS:
            if s.visible[j]:
                u, v = np.rint(s.keypoints_2d_px[j]).astype(int)
                total += 1
                hits += bool(grown[v, u])
        assert s.mask.sum() > 200
    assert total >= 20
    assert hits == total


def test_occluded_joint_is_flagged(renderer, body):
    """A camera straight behind a person with the arms in front of the chest: the wrists are
    hidden by the torso, the head top and the hips are not."""
    from monopose.data.synthetic.body import random_phenotypes
    from monopose.data.synthetic.retarget import retarget_h36m17

    t = np.array([
        [0, 0, 950], [-100, 0, 950], [-100, 0, 520], [-100, 20, 90],
        [100, 0, 950], [100, 0, 520], [100, 20, 90],
        [0, 0, 1180], [0, 0, 1420], [0, -50, 1570], [0, 0, 1720],
        [170, 0, 1400], [170, -250, 1250], [30, -300, 1250],
        [-170, 0, 1400], [-170, -250, 1250], [-30, -300, 1250],
    ], dtype=np.float64)  # facing −y, forearms across the chest
    rest = body.rest(random_phenotypes(np.random.default_rng(1)))
    ret = retarget_h36m17(body, rest, t)
    posed = body.pose(rest, ret.rotations, ret.root_m)
    joints = body.h36m17_mm(posed)
    cam = place_camera(posed.vertices_mm, (128, 128), distance_mm=3000, height_mm=1250,
                       azimuth_deg=90.0, fill=0.8, fill_exact=True)  # camera at +y: behind
    s = renderer.render_view(posed.vertices_mm, joints, cam, np.random.default_rng(0))
    assert s.valid_2d.all()
    assert not s.visible[13] and not s.visible[16]
    assert s.visible[10] and s.visible[1] and s.visible[4]  # head top, hips


def test_crop_that_cuts_the_legs_flags_them(renderer, body, poses):
    from monopose.data.synthetic.body import random_phenotypes
    from monopose.data.synthetic.retarget import retarget_h36m17

    target = poses.poses_mm[0]
    rest = body.rest(random_phenotypes(np.random.default_rng(2)))
    ret = retarget_h36m17(body, rest, target)
    posed = body.pose(rest, ret.rotations, ret.root_m)
    joints = body.h36m17_mm(posed)
    upright = target.copy()
    cam = place_camera(posed.vertices_mm, (128, 128), distance_mm=3500, height_mm=1000,
                       azimuth_deg=0.0, fill=0.9, fill_exact=True)
    uv = cam.project(cam.to_camera(joints))
    # zoom 2× about the hips' pixel row moved to the bottom edge: everything below the hips
    # leaves the image
    f = cam.intrinsics[0] * 2.0
    hip_v = uv[[1, 4], 1].max()
    cy = 127.0 - 2.0 * (hip_v - cam.intrinsics[3]) - 3.0
    cam.intrinsics = np.array([f, f, cam.intrinsics[2], cy])
    s = renderer.render_view(posed.vertices_mm, joints, cam, np.random.default_rng(0))
    below = joints[:, 2] < min(joints[1, 2], joints[4, 2]) - 150.0  # well below the hips
    assert upright.shape == (17, 3)
    assert below[[2, 3, 5, 6]].any()
    assert s.truncated[below].all()
    assert not s.visible[below].any()
    assert not s.truncated[[1, 4, 10]].any()
    assert (s.truncated == ~s.valid_2d).all()


def test_same_seed_same_bytes(renderer, body, poses):
    a = renderer.render_sample(3)
    b = renderer.render_sample(3)
    other = SyntheticRenderer(poses, size=128, seed=4, body=body,
                              config=SceneConfig(truncation_prob=0.0))
    c = other.render_sample(3)
    other.close()
    assert a.image.tobytes() == b.image.tobytes() == c.image.tobytes()
    np.testing.assert_array_equal(a.keypoints_2d_px, c.keypoints_2d_px)
    assert renderer.render_sample(4).image.tobytes() != a.image.tobytes()


def test_dataset_resumes_and_round_trips(tmp_path, body, poses):
    kwargs = {"poses": poses, "size": 64, "seed": 9, "shard_size": 2, "progress": False,
              "body": body}
    rep = write_dataset(tmp_path, 5, **kwargs)
    assert (rep.num_shards, rep.shards_written, rep.shards_skipped) == (3, 3, 0)
    first = (tmp_path / shard_name(0)).read_bytes()
    kept = (tmp_path / shard_name(0)).stat().st_mtime_ns
    (tmp_path / shard_name(1)).unlink()
    rep = write_dataset(tmp_path, 5, **kwargs)
    assert (rep.shards_written, rep.shards_skipped) == (1, 2)
    assert (tmp_path / shard_name(0)).stat().st_mtime_ns == kept
    assert (tmp_path / shard_name(0)).read_bytes() == first

    shard = read_shard(tmp_path / shard_name(2))
    assert len(shard) == 1 and shard.batch.keypoints_2d_px.shape == (1, 1, 17, 2)
    img, mask = shard.image(0), shard.mask(0)
    assert img.shape == (64, 64, 3) and mask.shape == (64, 64) and mask.any()
    assert shard.batch.ids[0].startswith("test/")
    # other settings in the same folder are refused, not mixed
    with pytest.raises(ValueError, match="other settings"):
        write_dataset(tmp_path, 5, **{**kwargs, "seed": 10})


@pytest.mark.slow
def test_worker_processes_render_the_same_bytes(tmp_path, body, poses, anny_cache):
    kwargs = {"poses": poses, "size": 64, "seed": 2, "shard_size": 2, "progress": False,
              "cache_dir": anny_cache}
    write_dataset(tmp_path / "one", 4, body=body, **kwargs)
    write_dataset(tmp_path / "two", 4, workers=2, **kwargs)
    for k in range(2):
        a = read_shard(tmp_path / "one" / shard_name(k)).extras["image_bytes"]
        b = read_shard(tmp_path / "two" / shard_name(k)).extras["image_bytes"]
        assert a.tobytes() == b.tobytes()
