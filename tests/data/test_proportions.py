"""Human3.6M proportions for the mocap targets."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import H36M17
from monopose.data.proportions import (
    H36M_BONE_LENGTHS_MM,
    bone_lengths_mm,
    keep_lowest_ankle,
    to_reference_proportions,
)


def _rig_poses(n: int = 5) -> np.ndarray:
    """Random poses with rig-like narrow hips and shoulders (Z up, feet near the floor)."""
    rng = np.random.default_rng(0)
    poses = np.zeros((n, 17, 3))
    for j, p in enumerate(H36M17.parents):
        if p >= 0:
            d = rng.normal(0, 1, (n, 3))
            d /= np.linalg.norm(d, axis=-1, keepdims=True)
            poses[:, j] = poses[:, p] + rng.uniform(60, 400, (n, 1)) * d
    poses[..., 2] += 900
    return poses


def test_every_bone_gets_the_reference_length_and_keeps_its_direction() -> None:
    rig = _rig_poses()
    out = to_reference_proportions(rig)
    lengths = bone_lengths_mm(out)
    for name, ref in H36M_BONE_LENGTHS_MM.items():
        np.testing.assert_allclose(lengths[name], ref, rtol=1e-9)
    for j, p in enumerate(H36M17.parents):
        if p < 0:
            continue
        a = rig[:, j] - rig[:, p]
        b = out[:, j] - out[:, p]
        cos = (a * b).sum(-1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        np.testing.assert_allclose(cos, 1.0, atol=1e-12)
    np.testing.assert_allclose(out[:, 0], rig[:, 0])


def test_reference_lengths_are_human36m_proportions() -> None:
    # Hips wider than a rig's femur heads; legs longer than the torso; shoulders ~ hips.
    ref = H36M_BONE_LENGTHS_MM
    assert 120 < ref["r_hip"] < 145 and 140 < ref["l_shoulder"] < 160
    assert ref["r_knee"] + ref["r_ankle"] > ref["spine"] + ref["thorax"]
    stature_mm = (ref["r_knee"] + ref["r_ankle"] + ref["spine"] + ref["thorax"]
                  + ref["neck_nose"] + ref["head_top"])
    assert 1550 < stature_mm < 1750


def test_feet_stay_on_the_floor_after_the_change() -> None:
    rig = _rig_poses(20)
    out = keep_lowest_ankle(rig, to_reference_proportions(rig))
    ankles = [H36M17.index("l_ankle"), H36M17.index("r_ankle")]
    assert np.isclose(out[:, ankles, 2].min(), rig[:, ankles, 2].min())
    # One shift for the whole clip: the pose itself is unchanged.
    np.testing.assert_allclose(np.diff(out - to_reference_proportions(rig), axis=0), 0,
                               atol=1e-9)


def test_place_h36m_trunk_keeps_limbs_and_sets_trunk_lengths():
    from monopose.data.proportions import (
        H36M_BONE_LENGTHS_MM,
        bone_lengths_mm,
        limb_scale,
        place_h36m_trunk,
    )

    rng = np.random.default_rng(3)
    rig = rng.normal(0.0, 300.0, (5, 17, 3))
    out = place_h36m_trunk(rig, scale=1.1)
    got = bone_lengths_mm(out)
    for name in ("r_hip", "l_hip", "spine", "thorax", "neck_nose", "head_top"):
        np.testing.assert_allclose(got[name], 1.1 * H36M_BONE_LENGTHS_MM[name], rtol=1e-9)
    for name in ("l_shoulder", "r_shoulder"):  # on the circle, or the fallback: same length
        np.testing.assert_allclose(got[name], 1.1 * H36M_BONE_LENGTHS_MM[name], rtol=1e-6)
    for j in (0, 2, 3, 5, 6, 12, 13, 15, 16):
        np.testing.assert_allclose(out[:, j], rig[:, j])
    # limb_scale: the reference skeleton scaled by k measures k
    from monopose.core.skeleton import H36M17
    ref = np.zeros((17, 3))
    for j, p in enumerate(H36M17.parents):
        if p >= 0:
            ref[j] = ref[p] + [0.0, 0.0, H36M_BONE_LENGTHS_MM[H36M17.joint_names[j]]]
    np.testing.assert_allclose(limb_scale(np.stack([ref, 0.8 * ref])), [1.0, 0.8])
    with pytest.raises(ValueError, match="rig_mm"):
        place_h36m_trunk(np.zeros((16, 3)))
