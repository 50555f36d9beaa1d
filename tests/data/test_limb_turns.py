"""Limb turns: arms and legs swung as rigid chains, above the floor, off by default."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.rotations import axis_angle_to_matrix
from monopose.core.skeleton import H36M17
from monopose.data.limb_turns import LIMBS, turn_limbs
from tests.data.test_postures import SHIN_MM, THIGH_MM, _cache, _pose


def _bone_lengths(world: np.ndarray) -> np.ndarray:
    parents = np.array(H36M17.parents)
    return np.linalg.norm(world[..., 1:, :] - world[..., parents[1:], :], axis=-1)


def _windows(n: int, frames: int = 3) -> np.ndarray:
    """``[n, frames, 17, 3]`` standing people whose legs and arms swing a little per frame."""
    rng = np.random.default_rng(7)
    stand = _pose(THIGH_MM + SHIN_MM, (0, 0, -1))
    out = np.repeat(np.repeat(stand[None, None], n, 0), frames, 1)
    for t in range(frames):  # a walk: each frame the right leg swings further forward
        rot = axis_angle_to_matrix(np.array([[0.15 * t, 0.0, 0.0]]))[0]
        hip = out[:, t, 1:2]
        out[:, t, 2:4] = (out[:, t, 2:4] - hip) @ rot.T + hip
    return out + rng.normal(0.0, 1.0, out.shape)


def test_turned_limbs_keep_every_bone_and_the_rest_of_the_body() -> None:
    world = _windows(400)
    out, turned = turn_limbs(world, np.random.default_rng(1), prob=0.5, max_deg=60.0)
    assert out.shape == world.shape and turned.shape == (400, len(LIMBS))
    assert 0.3 < turned.mean() < 0.6  # about half of the limbs, a few refused at the floor
    assert np.allclose(_bone_lengths(out), _bone_lengths(world), atol=1e-6)
    moved_joints = set()
    for k, (root, joints) in enumerate(LIMBS.values()):
        moved = np.abs(out[:, :, list(joints)] - world[:, :, list(joints)]).max(axis=(1, 2, 3))
        assert (moved[~turned[:, k]] == 0).all()
        assert (moved[turned[:, k]] > 1.0).mean() > 0.95
        # the limb turned by at most max_deg, by the same rotation in every frame
        v0 = world[:, :, joints[0]] - world[:, :, root]
        v1 = out[:, :, joints[0]] - out[:, :, root]
        cos = (v0 * v1).sum(-1) / np.linalg.norm(v0, axis=-1) / np.linalg.norm(v1, axis=-1)
        assert np.degrees(np.arccos(np.clip(cos, -1, 1))).max() <= 60.0 + 1e-6
        rel_before = np.linalg.norm((world[:, 0, joints[1]] - world[:, 0, root])
                                    - (world[:, -1, joints[1]] - world[:, -1, root]), axis=-1)
        rel_after = np.linalg.norm((out[:, 0, joints[1]] - out[:, 0, root])
                                   - (out[:, -1, joints[1]] - out[:, -1, root]), axis=-1)
        assert np.allclose(rel_before, rel_after, atol=1e-6)  # the swing over the window stays
        moved_joints |= set(joints)
    rest = sorted(set(range(17)) - moved_joints)
    assert np.array_equal(out[:, :, rest], world[:, :, rest])


def test_no_turn_pushes_a_joint_into_the_floor() -> None:
    # people sitting on the floor with legs stretched: most leg turns would go below it
    sitting = np.repeat(_pose(80.0, (0, 1, 0.0))[None, None], 300, 0)
    sitting[..., 2] -= sitting[..., 2].min()  # the lowest joint on the floor
    out, turned = turn_limbs(sitting, np.random.default_rng(2), prob=1.0, max_deg=90.0,
                             floor_margin_mm=30.0)
    assert out[..., 2].min() >= -30.0 - 1e-9
    legs = [list(LIMBS).index("right_leg"), list(LIMBS).index("left_leg")]
    assert 0.2 < turned[:, legs].mean() < 0.9  # some go up, the rest are refused
    assert turned[:, legs].mean() < turned[:, [0, 1, 2, 3]].mean() + 1e-9


def test_off_by_default_and_the_sampler_draws_as_before() -> None:
    from monopose.data.sampler import MocapSampler
    from monopose.data.sampler_config import SamplerConfig

    world = _windows(10)
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    out, turned = turn_limbs(world, rng, prob=0.0, max_deg=60.0)
    assert np.array_equal(out, world) and not turned.any()
    assert rng.bit_generator.state == state  # nothing drawn

    cache = _cache(50, 10)
    starts = np.arange(0, 60, 3)
    rigid = {"flip_prob": 0.0, "bone_scale_std": 0.0, "bone_asym_std": 0.0,
             "global_scale_range": (1.0, 1.0), "child_prob": 0.0}

    def batch(cfg: SamplerConfig):  # type: ignore[no-untyped-def]
        return MocapSampler(cache, "train", 1, cfg).make_batch(starts, np.random.default_rng(4))

    def distances(p: np.ndarray) -> np.ndarray:  # joint-to-joint, whatever the camera
        return np.linalg.norm(p[..., :, None, :] - p[..., None, :, :], axis=-1)

    plain, same = batch(SamplerConfig()), batch(SamplerConfig(limb_turn_prob=0.0))
    assert np.array_equal(plain.pose_3d_cam_mm, same.pose_3d_cam_mm)
    truth = distances(cache.poses_mm[starts][:, None].astype(np.float64))
    still = batch(SamplerConfig(**rigid)).pose_3d_cam_mm.astype(np.float64)
    assert np.allclose(distances(still), truth, atol=0.1)
    turned = batch(SamplerConfig(**rigid, limb_turn_prob=1.0, limb_turn_max_deg=90.0))
    pose = turned.pose_3d_cam_mm.astype(np.float64)
    assert np.allclose(_bone_lengths(pose), _bone_lengths(cache.poses_mm[starts][:, None]),
                       atol=0.1)
    head, ankles = H36M17.index("head_top"), [H36M17.index("r_ankle"), H36M17.index("l_ankle")]
    change = np.abs(distances(pose) - truth)[..., head, ankles]
    assert (change.max(axis=(1, 2)) > 50.0).mean() > 0.5  # the legs point elsewhere
    with pytest.raises(ValueError, match="limb_turn_prob"):
        SamplerConfig(limb_turn_prob=1.5)
    with pytest.raises(ValueError, match="limb_turn_max_deg"):
        SamplerConfig(limb_turn_max_deg=200.0)
