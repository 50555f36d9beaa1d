"""Mapping BVH rigs to H36M-17 and the world frame."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import H36M17
from monopose.data.bvh import forward_kinematics, parse_bvh, read_bvh
from monopose.data.mocap import (
    HEAD_TOP_FROM_EYES_CM,
    MAPPINGS,
    MappingError,
    bvh_to_world_mm,
    detect_source,
    map_to_h36m17,
)

J = H36M17.index


def _facing_checks(world_mm: np.ndarray, forward_xy: np.ndarray) -> None:
    """Anatomy in the Z-up world: head above thorax above pelvis above knees above ankles;
    the person's left joints on the left of the facing direction ``forward_xy [F, 2]``."""
    p = world_mm
    z = p[..., 2]
    assert (z[:, J("head_top")] > z[:, J("neck_nose")]).all()
    assert (z[:, J("neck_nose")] > z[:, J("thorax")]).all()
    assert (z[:, J("thorax")] > z[:, J("pelvis")]).all()
    assert (z[:, J("l_knee")] < z[:, J("l_hip")]).all()
    assert (z[:, J("l_ankle")] < z[:, J("l_knee")]).all()
    fwd3 = np.concatenate([forward_xy, np.zeros((len(p), 1))], axis=1)
    left_dir = np.cross([0.0, 0.0, 1.0], fwd3)  # up × forward = left
    for a, b in (("l_hip", "r_hip"), ("l_shoulder", "r_shoulder"), ("l_wrist", "r_wrist")):
        side = np.einsum("fi,fi->f", left_dir, p[:, J(a)] - p[:, J(b)])
        assert np.mean(side > 0) > 0.9, (a, b)


def _toe_forward(motion, source: str) -> np.ndarray:
    """Facing from the feet (ankle → toes), independent of the mapping under test."""
    names = {"cmu": ["CC_Base_L_Foot", "CC_Base_L_ToeBase", "CC_Base_R_Foot", "CC_Base_R_ToeBase"],
             "bandai": ["Foot_L", "Toes_L", "Foot_R", "Toes_R"]}[source]
    p = forward_kinematics(motion, names, position_mode=MAPPINGS[source].position_mode)
    fwd = bvh_to_world_mm(p[:, 1] - p[:, 0] + p[:, 3] - p[:, 2])
    return fwd[:, :2]


def test_cmu_like_rest_pose_by_hand(mocapfx) -> None:
    tree = mocapfx.cmu_tree()
    from_tree = parse_bvh(mocapfx.write_tree(tree, np.zeros((1, _n_channels(tree)))))
    out = map_to_h36m17(from_tree, MAPPINGS["cmu"])[0]
    # Hip offset (0,100,0) + thigh (±9,-5,0): hips at (±9, 95, 0); pelvis is their midpoint.
    np.testing.assert_allclose(out[J("l_hip")], [9, 95, 0])
    np.testing.assert_allclose(out[J("pelvis")], [0, 95, 0])
    np.testing.assert_allclose(out[J("l_ankle")], [9, 5, 0])
    # Shoulders: spine top (0,130,0) + clavicle (±5.4, 20, 0) + upper arm (±12.6, 0, 0).
    np.testing.assert_allclose(out[J("l_shoulder")], [18, 150, 0])
    np.testing.assert_allclose(out[J("thorax")], [0, 150, 0])
    np.testing.assert_allclose(out[J("spine")], [0, 122.5, 0])
    # Eyes at head (0,164,0) + (±3.3, 8, 8); head top = eyes + 11 up - 5 forward.
    up, fwd = HEAD_TOP_FROM_EYES_CM
    np.testing.assert_allclose(out[J("head_top")], [0, 172 + up, 8 + fwd])
    np.testing.assert_allclose(out[J("neck_nose")], [0, 169, 5.5])


def _n_channels(tree) -> int:
    _, _, _, ch, children = tree
    return (len(ch.split()) if ch else 0) + sum(_n_channels(c) for c in children)


def test_cmu_root_positions_are_added_to_the_offset(mocapfx) -> None:
    tree = mocapfx.cmu_tree()
    frames = np.zeros((2, _n_channels(tree)))
    frames[1, :3] = [10, -20, 30]
    out = map_to_h36m17(parse_bvh(mocapfx.write_tree(tree, frames)), MAPPINGS["cmu"])
    np.testing.assert_allclose(out[1, J("pelvis")] - out[0, J("pelvis")], [10, -20, 30])


def test_bandai_like_rig_is_upright_and_sided(mocapfx) -> None:
    rng = np.random.default_rng(1)
    text = mocapfx.write_tree(mocapfx.bandai_tree(), mocapfx.bandai_frames(5, rng))
    world = bvh_to_world_mm(map_to_h36m17(parse_bvh(text), MAPPINGS["bandai"]))
    _facing_checks(world, np.tile([0.0, -1.0], (len(world), 1)))  # the rig faces BVH +z
    # Without noise: Hips at 90 cm; the legs hang 5+40+40 cm below them.
    clean = mocapfx.bandai_frames(1, rng)
    clean[:, 12:] = np.where(np.arange(clean.shape[1] - 12) % 6 >= 3, 0.0, clean[:, 12:])
    w = bvh_to_world_mm(map_to_h36m17(parse_bvh(mocapfx.write_tree(mocapfx.bandai_tree(),
                                                                    clean)),
                                      MAPPINGS["bandai"]))[0]
    np.testing.assert_allclose(w[J("l_ankle"), 2], 50.0, atol=1e-6)
    np.testing.assert_allclose(w[J("l_hip")], [70.0, 0.0, 850.0], atol=1e-6)


def test_cmu_like_random_motion_keeps_sides(mocapfx) -> None:
    rng = np.random.default_rng(2)
    text = mocapfx.write_tree(mocapfx.cmu_tree(), mocapfx.cmu_frames(10, rng))
    world = bvh_to_world_mm(map_to_h36m17(parse_bvh(text), MAPPINGS["cmu"]))
    _facing_checks(world, np.tile([0.0, -1.0], (len(world), 1)))


def test_missing_joint_is_named(mocapfx) -> None:
    text = mocapfx.write_tree(mocapfx.cmu_tree(), np.zeros((1, _n_channels(mocapfx.cmu_tree()))))
    text = text.replace("CC_Base_L_Calf", "CC_Base_L_Shin")
    with pytest.raises(MappingError, match="CC_Base_L_Calf"):
        map_to_h36m17(parse_bvh(text, "x.bvh"), MAPPINGS["cmu"])


def test_detect_source() -> None:
    assert detect_source("/data/mocap/cmu/bvh/001_01.bvh.gz") == "cmu"
    assert detect_source("/x/Bandai/dataset-1/a.bvh", []) == "bandai"
    assert detect_source("/x/a.bvh", ["joint_Root", "Hips"]) == "bandai"
    with pytest.raises(MappingError):
        detect_source("/x/a.bvh", ["Root"])


def test_world_axes() -> None:
    # BVH y (up) becomes world z; BVH z (forward) becomes world -y; cm → mm.
    np.testing.assert_allclose(bvh_to_world_mm([[1.0, 2.0, 3.0]]), [[10.0, -30.0, 20.0]])


@pytest.mark.parametrize(("rel", "source"), [
    ("cmu/bvh/007_12.bvh.gz", "cmu"),
    ("bandai/dataset-1/dataset-1_bow_normal_001.bvh.gz", "bandai"),
])
def test_real_files_are_plausible(shared_mocap_dir, rel: str, source: str) -> None:
    path = shared_mocap_dir / rel
    if not path.exists():
        pytest.skip(f"{path} not found")
    motion = read_bvh(path)
    world = bvh_to_world_mm(map_to_h36m17(motion, MAPPINGS[source]))
    _facing_checks(world, _toe_forward(motion, source))
    # Stature: head top above the floor, in a plausible human range.
    top = np.percentile(world[:, J("head_top"), 2], 90)
    assert 1500.0 < top < 1950.0
    bones = {H36M17.joint_names[c]: np.linalg.norm(world[:, c] - world[:, p], axis=-1).mean()
             for c, p in H36M17.bones}
    assert 330 < bones["l_knee"] < 520 and 330 < bones["r_ankle"] < 520
    assert abs(bones["l_knee"] - bones["r_knee"]) < 5.0
    assert 200 < bones["l_elbow"] < 320
