"""Floor sits: the mocap's upper bodies on legs laid out on the floor, off by default."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import H36M17
from monopose.data.floor_sits import SIT_KINDS, _lift_arms, sit_on_floor
from monopose.data.postures import POSTURES, posture_of
from tests.data.test_postures import _cache

THIGH_MM, SHIN_MM = 440.0, 450.0
UPPER_ARM_MM, FOREARM_MM = 280.0, 250.0
LEGS = ((1, 2, 3), (4, 5, 6))
TRUNK = [H36M17.index(n) for n in ("spine", "thorax", "neck_nose", "head_top", "l_shoulder",
                                   "r_shoulder")]


def _bone_lengths(world: np.ndarray) -> np.ndarray:
    parents = np.array(H36M17.parents)
    return np.linalg.norm(world[..., 1:, :] - world[..., parents[1:], :], axis=-1)


def _standing(frames: int, n: int) -> np.ndarray:
    """``[n, frames, 17, 3]`` people standing and facing +y (Z-up, floor at 0), arms hanging,
    each turned to its own heading and swinging its arms a little from frame to frame."""
    p = np.zeros((17, 3))
    p[0] = (0.0, 0.0, 117.0 + THIGH_MM + SHIN_MM)
    for (hip, knee, ankle), side in zip(LEGS, (1.0, -1.0), strict=True):  # right hip at +x
        p[hip] = p[0] + (side * 120.0, 0.0, 0.0)
        p[knee] = p[hip] - (0.0, 0.0, THIGH_MM)
        p[ankle] = p[knee] - (0.0, 0.0, SHIN_MM)
    for j, up_mm in ((7, 230.0), (8, 480.0), (9, 560.0), (10, 720.0)):
        p[j] = p[0] + (0.0, 15.0 if j == 9 else 0.0, up_mm)
    for (s, e, w), side in (((11, 12, 13), -1.0), ((14, 15, 16), 1.0)):
        p[s] = p[8] + (side * 170.0, 0.0, -20.0)
        p[e] = p[s] - (0.0, 0.0, UPPER_ARM_MM)
        p[w] = p[e] - (0.0, 0.0, FOREARM_MM)
    rng = np.random.default_rng(5)
    out = np.empty((n, frames, 17, 3))
    for i in range(n):
        a = rng.uniform(-np.pi, np.pi)
        rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
        for t in range(frames):
            q = p.copy()
            q[[12, 13, 15, 16], 1] += 20.0 * t  # the arms swing forward
            out[i, t] = q @ rot.T + (rng.uniform(-2000, 2000), rng.uniform(-2000, 2000), 0.0)
    return out


def test_floor_sits_keep_every_bone_and_sit_everyone_on_the_floor() -> None:
    world = _standing(3, 600)
    out, kinds = sit_on_floor(world, np.random.default_rng(1), prob=1.0)
    assert out.shape == world.shape and (kinds >= 0).all()
    assert set(np.unique(kinds)) == set(range(len(SIT_KINDS)))
    assert np.allclose(_bone_lengths(out), _bone_lengths(world), atol=1e-6)
    # the trunk and head move as one piece: their joint-to-joint distances stay
    d = lambda p: np.linalg.norm(p[..., TRUNK, None, :] - p[..., None, TRUNK, :], axis=-1)  # noqa: E731
    assert np.allclose(d(out), d(world), atol=1e-6)
    assert out[..., 2].min() >= 25.0  # nothing in the floor
    labels = posture_of(out[:, 0])
    upright_kneel = kinds == SIT_KINDS.index("kneel")
    assert (labels[~upright_kneel] == POSTURES.index("floor")).all()
    assert np.isin(labels[upright_kneel], [POSTURES.index("floor"), POSTURES.index("low")]).all()
    # the pelvis and legs stay put over the window; the arms move as captured
    legs = [0, 1, 2, 3, 4, 5, 6]
    assert np.allclose(out[:, 1:, legs], out[:, :1, legs])
    assert (np.abs(out[:, 2, 13] - out[:, 0, 13]).max(axis=-1) > 1.0).mean() > 0.5
    # the pelvis stays where the person stood
    assert np.allclose(out[:, 0, 0, :2], world[:, 0, 0, :2])


def test_each_kind_lays_the_legs_out_its_own_way() -> None:
    world = _standing(1, 1200)
    out, kinds = sit_on_floor(world, np.random.default_rng(2), prob=1.0)
    p = out[:, 0]
    lateral = p[:, 1] - p[:, 4]
    lateral[:, 2] = 0
    lateral /= np.linalg.norm(lateral, axis=-1, keepdims=True)
    forward = np.cross([0.0, 0.0, 1.0], lateral)
    # the way the person faces is kept: standing, the nose is in front of the thorax
    assert (np.einsum("ni,ni->n", world[:, 0, 9] - world[:, 0, 8], forward) > 0).all()

    def ahead(j: int) -> np.ndarray:  # mm in front of the pelvis
        return np.einsum("ni,ni->n", p[:, j] - p[:, 0], forward)

    pelvis_z, knee_z = p[:, 0, 2], p[:, [2, 5], 2]
    k = {name: kinds == i for i, name in enumerate(SIT_KINDS)}
    assert (pelvis_z[k["long"] | k["bent"] | k["crossed"]] < 200.0).all()
    # stretched legs: knees low, ankles far out in front
    assert (knee_z[k["long"]] < pelvis_z[k["long"], None] + 0.3 * THIGH_MM).all()
    assert (np.minimum(ahead(3), ahead(6))[k["long"]] > 0.6 * (THIGH_MM + SHIN_MM)).all()
    # knees up: both knees well over the pelvis; mixed: exactly one
    assert (knee_z[k["bent"]] > pelvis_z[k["bent"], None] + 150.0).all()
    up = knee_z > pelvis_z[:, None] + 150.0
    assert (up[k["mixed"]].sum(axis=1) == 1).all()
    # crossed: the shins come back across, the ankles nearer the middle than the knees
    side = lambda j: np.abs(np.einsum("ni,ni->n", p[:, j] - p[:, 0], lateral))  # noqa: E731
    assert (side(3)[k["crossed"]] < side(2)[k["crossed"]]).all()
    assert (side(6)[k["crossed"]] < side(5)[k["crossed"]]).all()
    # kneeling: knees on the floor, ankles behind them; on the heels the pelvis is low
    for name in ("heels", "kneel"):
        assert (knee_z[k[name]] < 100.0).all()
        assert (ahead(3)[k[name]] < ahead(2)[k[name]]).all()
    assert (pelvis_z[k["heels"]] < 0.5 * THIGH_MM + 150.0).all()
    assert (pelvis_z[k["kneel"]] > 0.8 * THIGH_MM).all()


def test_arms_reaching_into_the_floor_are_swung_up_onto_it() -> None:
    pose = _standing(1, 4)[:, 0]
    pose[..., 2] -= pose[:, 0:1, 2] - 20.0  # the pelvis 20 mm up: the hands in the floor
    assert pose[:, [13, 16], 2].max() < 0.0
    lifted = _lift_arms(pose, clearance_mm=30.0)
    assert lifted[:, [12, 13, 15, 16], 2].min() >= 30.0 - 1e-6
    assert np.allclose(_bone_lengths(lifted), _bone_lengths(pose))
    rest = [j for j in range(17) if j not in (12, 13, 15, 16)]
    assert np.array_equal(lifted[:, rest], pose[:, rest])
    # an arm already clear of the floor is left alone
    high = pose.copy()
    high[..., 2] += 1000.0
    assert np.array_equal(_lift_arms(high, 30.0), high)


def test_off_by_default_and_the_sampler_draws_as_before() -> None:
    from monopose.data.sampler import MocapSampler
    from monopose.data.sampler_config import SamplerConfig

    world = _standing(2, 10)
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    out, kinds = sit_on_floor(world, rng, prob=0.0)
    assert np.array_equal(out, world) and (kinds == -1).all()
    assert rng.bit_generator.state == state  # nothing drawn

    cache = _cache(60, 0)
    starts = np.arange(0, 60, 3)

    def batch(cfg: SamplerConfig):  # type: ignore[no-untyped-def]
        return MocapSampler(cache, "train", 1, cfg).make_batch(starts, np.random.default_rng(4))

    plain, same = batch(SamplerConfig()), batch(SamplerConfig(floor_sit_prob=0.0))
    assert np.array_equal(plain.pose_3d_cam_mm, same.pose_3d_cam_mm)
    rigid = {"flip_prob": 0.0, "bone_scale_std": 0.0, "bone_asym_std": 0.0,
             "global_scale_range": (1.0, 1.0), "child_prob": 0.0}
    sat = batch(SamplerConfig(**rigid, floor_sit_prob=1.0)).pose_3d_cam_mm.astype(np.float64)
    stood = batch(SamplerConfig(**rigid)).pose_3d_cam_mm.astype(np.float64)
    assert np.allclose(_bone_lengths(sat), _bone_lengths(stood), atol=0.1)
    head, ankles = H36M17.index("head_top"), [H36M17.index("r_ankle"), H36M17.index("l_ankle")]
    reach = lambda p: np.linalg.norm(p[:, 0, ankles] - p[:, 0, head, None], axis=-1).max(1)  # noqa: E731
    ratio = reach(sat) / reach(stood)  # folded up: head and feet nearer
    assert np.median(ratio) < 0.75 and ratio.max() < 0.95
    with pytest.raises(ValueError, match="floor_sit_prob"):
        SamplerConfig(floor_sit_prob=1.5)


def test_a_pose_source_sat_on_the_floor_for_rendering(tmp_path) -> None:
    from monopose.data.synthetic.poses import PoseSource
    from tests.data.test_postures import _cache_arrays

    np.savez(tmp_path / "mocap.npz", **_cache_arrays(30, 0))
    standing = PoseSource.from_cache(tmp_path, "train")
    sat = standing.sat_on_floor(seed=3)
    assert sat.poses_mm.shape == standing.poses_mm.shape
    assert (posture_of(sat.poses_mm) != POSTURES.index("standing")).all()
    assert np.allclose(_bone_lengths(sat.poses_mm), _bone_lengths(standing.poses_mm), atol=0.01)
    assert all(a == f"{b}/floor-sit" for a, b in zip(sat.ids, standing.ids, strict=True))
    assert sat.name.endswith(":floor-sits") and sat.digest() != standing.digest()
    assert np.array_equal(standing.sat_on_floor(seed=3).poses_mm, sat.poses_mm)  # seeded
