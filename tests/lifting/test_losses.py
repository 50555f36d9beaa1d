"""The lifting losses: each against the metric it stands for, written out again."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monopose.core.skeleton import get_layout
from monopose.lifting.losses import (
    bone_length_loss,
    bone_vector_loss,
    depth_weighted,
    mpjpe_loss,
    velocity_loss,
)
from monopose.train.config import ConfigError, config_from_dict

BONES = get_layout("h36m17").bones


def _poses(seed: int, shape: tuple[int, ...] = (4, 2)) -> torch.Tensor:
    """``[*shape, 17, 3]`` random poses (mm)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, 17, 3, generator=g, dtype=torch.float64) * 200.0


def test_mpjpe_loss_is_the_mean_joint_distance_and_honours_the_mask() -> None:
    pred, gt = _poses(0), _poses(1)
    dist = np.linalg.norm(pred.numpy() - gt.numpy(), axis=-1)
    assert float(mpjpe_loss(pred, gt)) == pytest.approx(dist.mean())
    mask = torch.zeros(4, 2, 17, dtype=torch.bool)
    mask[..., :5] = True
    assert float(mpjpe_loss(pred, gt, mask)) == pytest.approx(dist[..., :5].mean())
    with pytest.raises(ValueError, match="pred"):
        mpjpe_loss(pred[..., :2], gt)


def test_bone_vector_loss_scores_each_limb_where_it_hangs() -> None:
    gt = _poses(2)
    child = [c for c, _ in BONES]
    parent = [p for _, p in BONES]
    pred = gt + 30.0  # a pose moved as a whole: every bone unchanged
    assert float(bone_vector_loss(pred, gt, BONES)) == pytest.approx(0.0, abs=1e-9)
    assert float(mpjpe_loss(pred, gt)) > 50.0
    pred = _poses(3)
    want = np.linalg.norm((pred[..., child, :] - pred[..., parent, :]).numpy()
                          - (gt[..., child, :] - gt[..., parent, :]).numpy(), axis=-1).mean()
    assert float(bone_vector_loss(pred, gt, BONES)) == pytest.approx(want)
    # a bone turned around keeps its length (no bone-length loss) but not its vector
    flipped = gt.clone()
    wrist, elbow = next((c, p) for c, p in BONES if c == get_layout("h36m17").index("r_wrist"))
    flipped[..., wrist, :] = 2 * gt[..., elbow, :] - gt[..., wrist, :]
    assert float(bone_length_loss(flipped, gt, BONES)) == pytest.approx(0.0, abs=1e-9)
    assert float(bone_vector_loss(flipped, gt, BONES)) > 1.0


def test_bone_vector_loss_has_gradients_for_every_boned_joint() -> None:
    pred = _poses(4).requires_grad_(True)
    bone_vector_loss(pred, _poses(5), BONES).backward()
    assert pred.grad is not None and bool((pred.grad.abs().sum(dim=(0, 1, 3)) > 0).all())


def test_depth_weight_counts_depth_errors_that_many_times() -> None:
    gt = _poses(6)
    off_z, off_x = gt.clone(), gt.clone()
    off_z[..., 2] += 10.0
    off_x[..., 0] += 10.0
    for w in (1.0, 2.0, 0.5):
        assert float(mpjpe_loss(depth_weighted(off_z, w), depth_weighted(gt, w))) == \
            pytest.approx(10.0 * w)
        assert float(mpjpe_loss(depth_weighted(off_x, w), depth_weighted(gt, w))) == \
            pytest.approx(10.0)
    assert depth_weighted(gt, 1.0) is gt


def test_velocity_loss_is_the_mpjpe_of_frame_differences() -> None:
    pred, gt = _poses(7, (2, 5)), _poses(8, (2, 5))
    want = np.linalg.norm(np.diff(pred.numpy(), axis=1) - np.diff(gt.numpy(), axis=1),
                          axis=-1).mean()
    assert float(velocity_loss(pred, gt)) == pytest.approx(want)
    assert float(velocity_loss(pred[:, :1], gt[:, :1])) == 0.0


def test_depth_weight_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="loss.depth_weight"):
        config_from_dict({"name": "x", "loss": {"depth_weight": 0.0}})
    assert config_from_dict({"name": "x", "loss": {"depth_weight": 2.0,
                                                   "bone_vector": 1.0}}).loss.bone_vector == 1.0
