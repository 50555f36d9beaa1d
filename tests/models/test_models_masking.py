"""Pretraining and occlusion masks: ratios, determinism, body parts with the right sides."""

from __future__ import annotations

import pytest
import torch

from monopose.core.skeleton import H36M17
from monopose.lifting import masking as mk


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("frames", [1, 27, 81])
def test_pretrain_mask_ratio_is_about_72_percent(frames: int) -> None:
    m = mk.pretrain_masks(256, frames, 17, gen())
    for joint_mask in (m.mask_2d, m.mask_3d):
        ratio = mk.masked_fraction(joint_mask, m.frame_mask)
        assert 0.69 <= ratio <= 0.74, ratio
    if frames == 1:
        assert not m.frame_mask.any()
        assert (m.mask_2d.sum(-1) == mk.PRETRAIN_SPATIAL_JOINTS_T1).all()
    else:
        assert (m.frame_mask.sum(1) == round(0.6 * frames)).all()
        assert (m.mask_2d.sum(-1) == mk.PRETRAIN_SPATIAL_JOINTS).all()
    # 2D and 3D streams are drawn independently.
    assert not torch.equal(m.mask_2d, m.mask_3d)


def test_masks_are_reproducible_and_vary_with_the_seed() -> None:
    a = mk.pretrain_masks(8, 27, 17, gen(1))
    b = mk.pretrain_masks(8, 27, 17, gen(1))
    c = mk.pretrain_masks(8, 27, 17, gen(2))
    assert torch.equal(a.mask_2d, b.mask_2d) and torch.equal(a.frame_mask, b.frame_mask)
    assert not torch.equal(a.mask_2d, c.mask_2d)


def test_spatial_mask_draws_every_joint_uniformly() -> None:
    m = mk.spatial_mask(2000, 1, 17, 5, gen())
    per_joint = m.float().mean(dim=(0, 1))
    assert torch.allclose(per_joint, torch.full((17,), 5 / 17), atol=0.04)


def test_temporal_mask_keeps_a_frame_and_rejects_bad_ratio() -> None:
    assert mk.temporal_mask(4, 2, 0.9, gen()).sum(1).tolist() == [1, 1, 1, 1]
    assert not mk.temporal_mask(4, 1, 0.6, gen()).any()
    with pytest.raises(ValueError, match="ratio"):
        mk.temporal_mask(4, 27, 1.0, gen())


@pytest.mark.parametrize("part,side,kind", [
    ("right_leg", "r_", ("hip", "knee", "ankle")),
    ("left_leg", "l_", ("hip", "knee", "ankle")),
    ("right_arm", "r_", ("shoulder", "elbow", "wrist")),
    ("left_arm", "l_", ("shoulder", "elbow", "wrist")),
])
def test_body_parts_select_joints_of_the_named_side(part: str, side: str, kind: tuple) -> None:
    mask = mk.body_part_mask(3, 5, part)
    assert mask.shape == (3, 5, 17)
    assert (mask == mask[:1, :1]).all()  # a tube: same joints everywhere
    names = sorted(H36M17.joint_names[j] for j in torch.nonzero(mask[0, 0]).flatten().tolist())
    assert names == sorted(side + k for k in kind)


def test_combined_parts_and_mpm_code_order() -> None:
    def names(part: str) -> set[str]:
        return {H36M17.joint_names[j] for j in mk.BODY_PARTS[part]}

    assert names("legs") == names("left_leg") | names("right_leg")
    assert names("arms") == names("left_arm") | names("right_arm")
    assert names("right_limbs") == names("right_leg") | names("right_arm")
    assert names("left_limbs") == names("left_leg") | names("left_arm")
    assert [mk.BODY_PARTS[p] for p in mk.COMPLETION_PARTS] == [
        (1, 2, 3), (14, 15, 16), (11, 12, 13), (4, 5, 6)]
    with pytest.raises(ValueError, match="part"):
        mk.body_part_mask(1, 1, "tail")


def test_random_body_part_mask_uses_each_part() -> None:
    mask = mk.random_body_part_mask(400, 3, mk.COMPLETION_PARTS, generator=gen())
    rows = {tuple(torch.nonzero(r).flatten().tolist()) for r in mask[:, 0]}
    assert rows == {mk.BODY_PARTS[p] for p in mk.COMPLETION_PARTS}
    assert (mask == mask[:, :1]).all()


@pytest.mark.parametrize("k", [2, 4, 6])
def test_random_joint_mask_hides_exactly_k(k: int) -> None:
    tube = mk.random_joint_mask(64, 9, k, generator=gen())
    assert (tube.sum(-1) == k).all() and (tube == tube[:, :1]).all()
    free = mk.random_joint_mask(64, 9, k, generator=gen(), tube=False)
    assert (free.sum(-1) == k).all() and not (free == free[:, :1]).all()
    with pytest.raises(ValueError, match="k"):
        mk.random_joint_mask(1, 1, 18)
