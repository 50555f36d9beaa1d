"""The on-the-fly sampler and the torch datasets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from monopose.core.camera import project_points
from monopose.core.skeleton import H36M17
from monopose.data.datasets import MocapBatchDataset, PoseBatchDataset, collate_samples
from monopose.data.mocap_cache import MocapCache, build_mocap_cache
from monopose.data.sampler import MocapSampler, SamplerConfig, eval_config, make_eval_batch

CLEAN = dict(noise="none", joint_drop_prob=0.0, part_mask_prob=0.0, truncation_prob=0.0,
             flip_prob=0.0, bone_scale_std=0.0, bone_asym_std=0.0,
             global_scale_range=(1.0, 1.0), child_prob=0.0)
KIND_FIELDS = {"random": "random_camera_prob", "eye": "eye_level_prob",
               "chest": "chest_level_prob", "low": "low_angle_prob", "high": "high_angle_prob"}


@pytest.fixture
def cache(tiny_mocap, tmp_path) -> MocapCache:
    build_mocap_cache([tiny_mocap], tmp_path / "c", progress=False)
    return MocapCache.load(tmp_path / "c")


def test_determinism_under_a_seed(cache) -> None:
    a = MocapSampler(cache, "train", window=5, seed=3).sample_batch(64)
    b = MocapSampler(cache, "train", window=5, seed=3).sample_batch(64)
    c = MocapSampler(cache, "train", window=5, seed=4).sample_batch(64)
    np.testing.assert_array_equal(a.keypoints_2d_px, b.keypoints_2d_px)
    np.testing.assert_array_equal(a.pose_3d_cam_mm, b.pose_3d_cam_mm)
    assert a.ids == b.ids
    assert not np.array_equal(a.keypoints_2d_px, c.keypoints_2d_px)
    assert a.keypoints_2d_px.shape == (64, 5, 17, 2) and a.valid_2d.dtype == bool


def test_ring_cameras_project_inside_the_image(cache) -> None:
    cfg = SamplerConfig(ring_prob=1.0, **CLEAN)
    batch = MocapSampler(cache, "train", 1, cfg, seed=0).sample_batch(200)
    w, h = batch.image_size_px[:, 0], batch.image_size_px[:, 1]
    kp = batch.keypoints_2d_gt_px[:, 0]
    assert batch.valid_2d.all()
    assert (kp[..., 0] >= 0).all() and (kp[..., 0] <= w[:, None]).all()
    assert (kp[..., 1] >= 0).all() and (kp[..., 1] <= h[:, None]).all()
    # H36M-like geometry: 4-5 m away, upright (head above the pelvis in the image).
    depth = batch.pose_3d_cam_mm[:, 0, 0, 2]
    assert (depth > 3500).all() and (depth < 5600).all()
    assert (kp[:, 10, 1] < kp[:, 0, 1]).all()
    # The 2D is the projection of the 3D with the recorded intrinsics and distortion.
    again = project_points(batch.pose_3d_cam_mm, batch.intrinsics[:, None, :],
                           batch.dist[:, None, :])
    np.testing.assert_allclose(again, batch.keypoints_2d_gt_px, atol=1e-2)
    np.testing.assert_array_equal(batch.keypoints_2d_px, batch.keypoints_2d_gt_px)


def test_truncation_marks_joints_outside_invalid(cache) -> None:
    cfg = SamplerConfig(**{**CLEAN, "truncation_prob": 1.0, "truncation_zoom": (2.5, 3.0)})
    batch = MocapSampler(cache, "train", 1, cfg, seed=1).sample_batch(300)
    kp = batch.keypoints_2d_gt_px
    w, h = batch.image_size_px[:, None, None, 0], batch.image_size_px[:, None, None, 1]
    outside = (kp[..., 0] < -0.5) | (kp[..., 0] > w - 0.5) | (kp[..., 1] < -0.5) | (
        kp[..., 1] > h - 0.5)
    assert outside.any()
    assert not (batch.valid_2d & outside).any()
    assert (batch.keypoints_2d_px[~batch.valid_2d] == 0).all()
    assert (batch.valid_2d.sum(-1) >= cfg.min_valid_joints).all()


def test_flip_swaps_left_and_right(cache) -> None:
    base = SamplerConfig(**CLEAN)
    sampler = MocapSampler(cache, "train", 1, base, seed=0)
    starts = sampler.starts[:50]
    a = sampler.make_batch(starts, np.random.default_rng(7))
    b = sampler.make_batch(starts, np.random.default_rng(7), base.replace(flip_prob=1.0))
    rel_a, rel_b = a.pose_3d_rel_mm[:, 0], b.pose_3d_rel_mm[:, 0]
    perm = H36M17.flip_permutation
    # b is a mirror image of a with left and right swapped: equal distances after permuting...
    da = np.linalg.norm(rel_a[:, :, None] - rel_a[:, None, :], axis=-1)
    db = np.linalg.norm(rel_b[:, :, None] - rel_b[:, None, :], axis=-1)
    np.testing.assert_allclose(db, da[:, perm][:, :, perm], atol=0.5)
    assert np.abs(db - da).max() > 10.0  # ...but not the same body labelling

    # ...and opposite orientation (the cameras are proper rotations, a mirror is not).
    def volume(rel, i, j, k):
        return np.einsum("bi,bi->b", np.cross(rel[:, i], rel[:, j]), rel[:, k])

    np.testing.assert_allclose(volume(rel_b, 13, 10, 4), -volume(rel_a, 16, 10, 1), rtol=1e-3,
                               atol=1e3)


def test_bone_scaling_keeps_derived_joints(cache) -> None:
    cfg = SamplerConfig(**{**CLEAN, "bone_scale_std": 0.1, "global_scale_range": (0.8, 1.2)})
    batch = MocapSampler(cache, "train", 3, cfg, seed=2).sample_batch(100)
    p = batch.pose_3d_cam_mm
    np.testing.assert_allclose(p[..., 0, :], 0.5 * (p[..., 1, :] + p[..., 4, :]), atol=0.05)
    np.testing.assert_allclose(p[..., 8, :], 0.5 * (p[..., 11, :] + p[..., 14, :]), atol=0.05)
    # The spine stays on the pelvis-thorax line at one fraction (the targets' proportions).
    lower, whole = p[..., 7, :] - p[..., 0, :], p[..., 8, :] - p[..., 0, :]
    norm_l, norm_w = np.linalg.norm(lower, axis=-1), np.linalg.norm(whole, axis=-1)
    assert (np.linalg.norm(np.cross(lower, whole), axis=-1) / (norm_l * norm_w)).max() < 1e-3
    assert (norm_l / norm_w).std() < 1e-3
    # Bone lengths change between samples but not within a window.
    thigh = np.linalg.norm(p[..., 2, :] - p[..., 1, :], axis=-1)
    assert thigh.std(axis=0).mean() > 5 * thigh.std(axis=1).mean()


def test_noise_and_missing_joints(cache) -> None:
    cfg = SamplerConfig(**{**CLEAN, "noise": "detector", "num_missing": 3})
    batch = MocapSampler(cache, "train", 2, cfg, seed=0).sample_batch(200)
    err = np.linalg.norm(batch.keypoints_2d_px - batch.keypoints_2d_gt_px, axis=-1)
    v = batch.valid_2d
    assert err[v].mean() > 1.0
    # Wrists are noisier than shoulders (detector profile).
    assert err[..., [13, 16]][v[..., [13, 16]]].mean() > err[..., [11, 14]][v[..., [11, 14]]].mean()
    assert (v.sum(-1) == 14).all()  # exactly 3 missing, the same over the window
    np.testing.assert_array_equal(v[:, 0], v[:, 1])


def test_window_frames_are_consecutive(cache) -> None:
    cfg = SamplerConfig(**{**CLEAN, "stride": 2})
    s = MocapSampler(cache, "train", 4, cfg, seed=0)
    b = s.sample_batch(10)
    assert all(i.count("/") == 3 for i in b.ids)
    # Consecutive samples of a window are close in 3D (same clip, 2 frames apart).
    step = np.linalg.norm(np.diff(b.pose_3d_cam_mm[:, :, 0], axis=1), axis=-1)
    assert step.max() < 200.0


def test_mixed_frame_rates(cache) -> None:
    """Each window takes its frame step from ``frame_steps``: its motion in the camera is the
    clip's motion over that many cache frames (a rigid camera keeps distances)."""
    cfg = SamplerConfig(**{**CLEAN, "frame_steps": (1, 3)})
    s = MocapSampler(cache, "train", 4, cfg, seed=0)
    starts = s.starts[np.linspace(0, len(s.starts) - 1, 40).astype(int)]
    batch, info = s.make_batch_with_info(starts, np.random.default_rng(1))
    assert set(info.frame_step.tolist()) == {1, 3}
    world = cache.poses_mm.astype(np.float64)
    for i, (start, step) in enumerate(zip(starts, info.frame_step, strict=True)):
        cam = batch.pose_3d_cam_mm[i].astype(np.float64)
        moved_cam = np.linalg.norm(cam[-1] - cam[0], axis=-1)  # [J]
        for k in (1, 3):
            moved = np.linalg.norm(world[start + 3 * k] - world[start], axis=-1)
            close = np.allclose(moved_cam, moved, atol=1.0)
            assert close == (k == step) or np.allclose(
                world[start + 9] - world[start + 3], 0.0, atol=1.0)
    with pytest.raises(ValueError, match="frame_steps"):
        SamplerConfig(frame_steps=(0, 2))
    # windows only start where the longest step still fits in the clip
    assert len(s) <= len(MocapSampler(cache, "train", 4, SamplerConfig(**CLEAN), seed=0))


def test_source_selection_and_config(cache) -> None:
    s = MocapSampler(cache, "train", 1, SamplerConfig(sources=("cmu",)), seed=0)
    assert set(s.sample_batch(50).licence) == {"cmu"}
    cfg = SamplerConfig.from_dict({"noise": "gaussian", "fov_deg": [50, 60]})
    assert cfg.fov_deg == (50.0, 60.0)
    with pytest.raises(ValueError, match="unknown keys"):
        SamplerConfig.from_dict({"nosie": "none"})
    with pytest.raises(ValueError, match="noise"):
        SamplerConfig(noise="loud")
    with pytest.raises(ValueError, match="no window"):
        MocapSampler(cache, "val", window=500)


def test_eval_batch_is_fixed(cache) -> None:
    a = make_eval_batch(cache, "test", n=20, window=3, noise="detector", num_missing=2, seed=5)
    b = make_eval_batch(cache, "test", n=20, window=3, noise="detector", num_missing=2, seed=5)
    np.testing.assert_array_equal(a.keypoints_2d_px, b.keypoints_2d_px)
    assert a.ids == b.ids and a.batch_size == 20
    assert (a.valid_2d.sum(-1) == H36M17.num_joints - 2).all()
    assert {i.split("/")[0] for i in a.ids} <= {"cmu", "bandai"}


def test_iterable_dataset_with_workers(cache, tmp_path) -> None:
    path = tmp_path / "c"
    ds = MocapBatchDataset(path, "train", window=3, batch_size=8, batches_per_epoch=5, seed=1)
    runs = [list(DataLoader(ds, batch_size=None, num_workers=2)) for _ in range(2)]
    assert len(runs[0]) == 5
    for x, y in zip(*runs, strict=True):
        assert torch.equal(x["keypoints_2d_norm"], y["keypoints_2d_norm"])
    # Workers draw different samples.
    assert not torch.equal(runs[0][0]["pose_3d_rel_m"], runs[0][1]["pose_3d_rel_m"])
    batch = runs[0][0]
    assert batch["pose_3d_rel_m"].shape == (8, 3, 17, 3)
    assert torch.all(batch["pose_3d_rel_m"][..., 0, :] == 0)
    single = list(DataLoader(ds, batch_size=None, num_workers=0))
    assert len(single) == 5
    ds.set_epoch(1)
    assert not torch.equal(next(iter(ds))["pose_3d_cam_mm"], single[0]["pose_3d_cam_mm"])


def test_map_style_eval_dataset(cache) -> None:
    ds = PoseBatchDataset(make_eval_batch(cache, "val", n=10))
    assert len(ds) == 10
    loader = DataLoader(ds, batch_size=4, collate_fn=collate_samples, num_workers=0)
    first = next(iter(loader))
    assert first["keypoints_2d_px"].shape == (4, 1, 17, 2) and len(first["ids"]) == 4


def _only(kind: str, **changes) -> SamplerConfig:
    """A clean config whose cameras are all of one kind."""
    probs = {f: float(k == kind) for k, f in KIND_FIELDS.items()}
    return SamplerConfig(**{**CLEAN, **probs, "ring_prob": float(kind == "ring"), **changes})


@pytest.mark.parametrize(("kind", "height_mm", "pitch_deg"), [
    ("ring", (1500, 1700), (0, 20)),
    ("random", (300, 2800), (-89, 89)),
    ("eye", (1500, 1800), (-12, 12)),
    ("chest", (1100, 1400), (-12, 12)),
    ("low", (200, 800), (-20.5, 0.5)),
    ("high", (2500, 6000), (20, 50)),
])
def test_camera_kinds_have_their_heights_and_pitches(cache, kind, height_mm, pitch_deg) -> None:
    sampler = MocapSampler(cache, "train", 3, _only(kind), seed=0)
    starts = sampler.starts[np.random.default_rng(0).choice(len(sampler), 300)]
    batch, info = sampler.make_batch_with_info(starts, np.random.default_rng(1))
    assert set(info.kind_names()) == {kind}
    assert (info.camera_height_mm >= height_mm[0]).all()
    assert (info.camera_height_mm <= height_mm[1]).all()
    assert (info.pitch_deg >= pitch_deg[0]).all() and (info.pitch_deg <= pitch_deg[1]).all()
    if kind == "low":
        assert np.median(info.pitch_deg) < -3.0  # looking slightly up
    if kind == "high":
        assert (info.camera_distance_mm > 2500).all() and (info.camera_distance_mm < 16000).all()
    if kind in ("eye", "chest", "low"):
        assert (info.camera_distance_mm > 1400).all() and (info.camera_distance_mm < 13000).all()
    # Off-centre aims and wide lenses still keep the whole person in the image.
    assert batch.valid_2d.mean() > 0.995
    assert batch.valid_2d[:, 0].all()
    again = sampler.make_batch_with_info(starts, np.random.default_rng(1))[1]
    np.testing.assert_array_equal(again.pitch_deg, info.pitch_deg)


def test_camera_kind_shares_and_config(cache) -> None:
    cfg = SamplerConfig(**CLEAN)
    probs = cfg.camera_kind_probs()
    assert probs == pytest.approx({"ring": 0.2, "random": 0.15, "eye": 0.25, "chest": 0.2,
                                   "low": 0.1, "high": 0.1})
    sampler = MocapSampler(cache, "train", 1, cfg, seed=0)
    kinds = np.array(sampler.make_batch_with_info(
        sampler.starts[np.random.default_rng(0).choice(len(sampler), 4000)],
        np.random.default_rng(0))[1].kind_names())
    for name, p in probs.items():
        assert abs((kinds == name).mean() - p) < 0.03, name
    # ring_prob stays absolute; the other kinds share the rest in proportion.
    half = SamplerConfig(ring_prob=0.5).camera_kind_probs()
    assert half["ring"] == 0.5 and half["eye"] == pytest.approx(0.25 / 0.8 * 0.5)
    with pytest.raises(ValueError, match="high_pitch_deg"):
        SamplerConfig(high_pitch_deg=(-5.0, 30.0))
    with pytest.raises(ValueError, match="camera kind"):
        SamplerConfig(ring_prob=0.5, **{f: 0.0 for f in KIND_FIELDS.values()})
    # Old YAML sections (keys of the earlier config) load, and the config round-trips.
    old = {"ring_prob": 0.3, "distance_mm": [2500, 7000], "height_mm": [300, 2800],
           "fov_deg": [40, 75], "look_at_jitter_mm": 250.0, "global_scale_range": [0.9, 1.1]}
    loaded = SamplerConfig.from_dict(old)
    assert loaded.ring_prob == 0.3 and loaded.global_scale_range == (0.9, 1.1)
    assert SamplerConfig.from_dict(loaded.to_dict()) == loaded


def test_people_appear_off_centre(cache) -> None:
    sampler = MocapSampler(cache, "train", 1, SamplerConfig(**CLEAN), seed=0)
    starts = sampler.starts[np.random.default_rng(0).choice(len(sampler), 2000)]
    batch, info = sampler.make_batch_with_info(starts, np.random.default_rng(3))
    half = batch.image_size_px / 2.0
    off = np.abs(batch.keypoints_2d_gt_px[:, 0, 0] - half) / half  # pelvis, of the half-size
    ring = info.camera_kind == 0
    assert (off[~ring, 0] > 0.3).mean() > 0.35
    assert (off[~ring, 0] > 0.6).mean() > 0.05
    assert (off[~ring, 1] > 0.3).mean() > 0.15
    assert (off[ring, 0] > 0.3).mean() < 0.05  # the H36M-like ring stays centred
    assert batch.valid_2d.all()


def test_stature_mixture_of_adults_and_children(cache) -> None:
    cfg = SamplerConfig(**{**CLEAN, "child_prob": 0.2})
    sampler = MocapSampler(cache, "train", 1, cfg, seed=0)
    starts = sampler.starts[np.random.default_rng(0).choice(len(sampler), 3000)]
    batch, info = sampler.make_batch_with_info(starts, np.random.default_rng(4))
    g = info.global_scale
    child = g < 0.88
    assert abs(child.mean() - 0.2) < 0.03
    assert g.min() >= 0.6 and g.max() <= 1.12
    assert ((g >= 0.88) & (g <= 1.12)).mean() > 0.77
    assert (g < 0.7).mean() > 0.03  # small children (under ~1.2 m) occur
    # Children: relatively larger heads and shorter legs.
    p = batch.pose_3d_cam_mm[:, 0].astype(np.float64)

    def bone(a: int, b: int) -> np.ndarray:
        return np.linalg.norm(p[:, a] - p[:, b], axis=-1)

    head_to_leg = bone(10, 9) / (bone(1, 2) + bone(2, 3))
    small, adult = g < 0.7, g >= 0.88
    assert np.median(head_to_leg[small]) > 1.2 * np.median(head_to_leg[adult])
    torso_to_leg = (bone(0, 7) + bone(7, 8)) / (bone(1, 2) + bone(2, 3))
    assert np.median(torso_to_leg[small]) > np.median(torso_to_leg[adult])


def test_eval_config_keeps_the_earlier_cameras(cache) -> None:
    cfg = eval_config()
    assert set(cfg.camera_kind_probs().items()) >= {("ring", 0.3), ("random", 0.7)}
    assert cfg.child_prob == 0.0 and cfg.aim_offset_frac == 0.0
    sampler = MocapSampler(cache, "test", 1, cfg, seed=0)
    _, info = sampler.make_batch_with_info(sampler.starts[:50], np.random.default_rng(0))
    assert set(info.kind_names()) <= {"ring", "random"} and (info.global_scale == 1.0).all()
