"""Tests for monopose.core.skeleton: layouts, conversions and mirroring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monopose.core.skeleton import (
    LAYOUTS,
    convert_layout,
    flip_pose,
    get_conversion,
    get_layout,
)

SETTINGS = settings(deadline=None, max_examples=25)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_layouts_are_trees(name: str) -> None:
    lay = get_layout(name)
    assert lay.parents[lay.root] == -1
    for j in range(lay.num_joints):  # every joint reaches the root without cycles
        seen, k = set(), j
        while k != -1:
            assert k not in seen
            seen.add(k)
            k = lay.parents[k]
    perm = lay.flip_permutation
    np.testing.assert_array_equal(perm[perm], np.arange(lay.num_joints))
    for left, right in zip(lay.left, lay.right, strict=True):
        assert _mirror_name(lay.joint_names[left]) == lay.joint_names[right]


def _mirror_name(name: str) -> str:
    if name.startswith("l_"):
        return "r_" + name[2:]
    if name.endswith("_l"):
        return name[:-2] + "_r"
    return name


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), dim=st.sampled_from([2, 3]))
def test_h36m17_mpi3dhp17_round_trip_is_exact(seed: int, dim: int) -> None:
    pts = np.random.default_rng(seed).normal(0, 500, (3, 17, dim))
    mpi, valid, derived = convert_layout(pts, "h36m17", "mpi3dhp17")
    assert valid.all() and not derived.any()
    back, valid_back, _ = convert_layout(mpi, "mpi3dhp17", "h36m17")
    assert valid_back.all()
    np.testing.assert_array_equal(back, pts)
    # Names follow: the H36M thorax is the 3DHP neck, neck/nose is the 3DHP head.
    h36m, mpi17 = get_layout("h36m17"), get_layout("mpi3dhp17")
    np.testing.assert_array_equal(mpi[:, mpi17.index("neck")], pts[:, h36m.index("thorax")])
    np.testing.assert_array_equal(mpi[:, mpi17.index("head")], pts[:, h36m.index("neck_nose")])
    np.testing.assert_array_equal(mpi[:, 14], pts[:, 0])  # pelvis is the root of both


def test_mpi3dhp28_to_h36m17_picks_the_right_joints() -> None:
    # Each 28-joint source encodes its own index, so the output says where it came from.
    src = np.repeat(np.arange(28, dtype=float)[:, None], 3, axis=1)
    out, valid, derived = convert_layout(src, "mpi3dhp28", "h36m17")
    assert valid.all() and not derived.any()
    mpi28, h36m = get_layout("mpi3dhp28"), get_layout("h36m17")
    expected_source = {
        "pelvis": "pelvis", "r_hip": "r_hip", "r_knee": "r_knee", "r_ankle": "r_ankle",
        "l_hip": "l_hip", "l_knee": "l_knee", "l_ankle": "l_ankle", "spine": "spine",
        "thorax": "neck", "neck_nose": "head", "head_top": "head_top",
        "l_shoulder": "l_shoulder", "l_elbow": "l_elbow", "l_wrist": "l_wrist",
        "r_shoulder": "r_shoulder", "r_elbow": "r_elbow", "r_wrist": "r_wrist",
    }
    for target, source in expected_source.items():
        assert out[h36m.index(target), 0] == mpi28.index(source), target
    # The published 0-based selection 28 → 17 (test order).
    sel = [7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6]
    mpi17, _, _ = convert_layout(src, "mpi3dhp28", "mpi3dhp17")
    np.testing.assert_array_equal(mpi17[:, 0], sel)
    # An invalid source joint makes exactly its target invalid.
    valid28 = np.ones(28, dtype=bool)
    valid28[mpi28.index("l_wrist")] = False
    _, v, _ = convert_layout(src, "mpi3dhp28", "h36m17", valid=valid28)
    assert not v[h36m.index("l_wrist")] and v.sum() == 16


def test_blazepose33_to_h36m17_derives_pelvis() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 1000, (2, 33, 2))
    blaze, h36m = get_layout("blazepose33"), get_layout("h36m17")
    out, valid, derived = convert_layout(src, "blazepose33", "h36m17")
    mid_hip = (src[:, blaze.index("l_hip")] + src[:, blaze.index("r_hip")]) / 2
    np.testing.assert_allclose(out[:, h36m.index("pelvis")], mid_hip)
    assert derived[h36m.index("pelvis")] and derived[h36m.index("thorax")]
    assert not derived[h36m.index("r_knee")]
    np.testing.assert_array_equal(out[:, h36m.index("r_knee")], src[:, blaze.index("r_knee")])
    assert valid.all()
    # Affine combinations commute with translation (pixels and mm alike).
    shifted, _, _ = convert_layout(src + [30.0, -7.0], "blazepose33", "h36m17")
    np.testing.assert_allclose(shifted, out + [30.0, -7.0])
    # Losing a hip loses the pelvis (and spine), not the knees.
    vis = np.ones((2, 33), dtype=bool)
    vis[:, blaze.index("r_hip")] = False
    _, v, _ = convert_layout(src, "blazepose33", "h36m17", valid=vis)
    assert not v[:, h36m.index("pelvis")].any() and not v[:, h36m.index("spine")].any()
    assert v[:, h36m.index("r_knee")].all()
    conv = get_conversion("blazepose33", "h36m17")
    np.testing.assert_allclose(conv.weights.sum(axis=1)[conv.available], 1.0)


@SETTINGS
@given(name=st.sampled_from(sorted(LAYOUTS)), seed=st.integers(0, 2**31 - 1),
       width=st.one_of(st.none(), st.integers(1, 4000)))
def test_flip_is_an_involution(name: str, seed: int, width: int | None) -> None:
    lay = get_layout(name)
    pose = np.random.default_rng(seed).normal(0, 500, (2, lay.num_joints, 3))
    once = flip_pose(pose, name, width)
    assert not np.allclose(once, pose)
    np.testing.assert_allclose(flip_pose(once, name, width), pose, atol=1e-9)


def test_flip_swaps_sides() -> None:
    h36m = get_layout("h36m17")
    pose = np.random.default_rng(1).normal(0, 500, (17, 3))
    out = flip_pose(pose, "h36m17")
    li, ri = h36m.index("l_wrist"), h36m.index("r_wrist")
    np.testing.assert_array_equal(out[ri], pose[li] * [-1, 1, 1])
    px = flip_pose(pose[:, :2], "h36m17", image_width_px=640)
    np.testing.assert_allclose(px[ri, 0], 639 - pose[li, 0])


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown joint layout"):
        get_layout("smpl24")
    with pytest.raises(ValueError, match=r"points: expected shape \[\.\.\., 17, D\]"):
        convert_layout(np.zeros((16, 3)), "h36m17", "mpi3dhp17")
    with pytest.raises(ValueError, match="valid: expected shape"):
        convert_layout(np.zeros((17, 3)), "h36m17", "mpi3dhp17", valid=np.ones(16, dtype=bool))
    with pytest.raises(ValueError, match="no conversion"):
        get_conversion("h36m17", "mpi3dhp28")
    with pytest.raises(ValueError, match="pose: expected shape"):
        flip_pose(np.zeros((33, 3)), "h36m17")
