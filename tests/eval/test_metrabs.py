"""Evaluation helpers of the truncation experiment: 2.5D lifting, bone-length scale, tables."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from monopose.eval.metrabs import (
    lift_25d,
    root_depth_from_bones,
    truncation_split,
    truncation_table,
    variant_joint_errors,
)
from monopose.metrabs.cache import load_crop_cache
from monopose.metrabs.inference import REFERENCE_BONES_MM
from monopose.metrabs.model import MetrabsOutput
from tests.metrabs.test_train import write_tiny_cache

_PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15])


def _pose_with_reference_bones(rng: np.random.Generator) -> np.ndarray:
    """A random tree pose whose bones have exactly the reference lengths, camera frame (mm)."""
    p = np.zeros((17, 3))
    for j in range(1, 17):
        d = rng.normal(size=3)
        p[j] = p[_PARENTS[j]] + REFERENCE_BONES_MM[j - 1] * d / np.linalg.norm(d)
    return p


def test_lift_25d_inverts_the_projection() -> None:
    rng = np.random.default_rng(0)
    pose = _pose_with_reference_bones(rng)[None] + np.array([100.0, -50.0, 4000.0])
    K = np.array([[[600.0, 0, 127.5], [0, 600.0, 127.5], [0, 0, 1]]])
    kp = pose[..., :2] / pose[..., 2:] * 600.0 + 127.5
    lifted = lift_25d(kp, pose[..., 2] - pose[:, :1, 2], K, pose[:, 0, 2])
    assert np.allclose(lifted, pose, atol=1e-6)


def test_bone_prior_recovers_the_depth_of_a_reference_sized_person() -> None:
    rng = np.random.default_rng(1)
    poses, kps = [], []
    for depth in (2500.0, 6000.0):
        pose = _pose_with_reference_bones(rng) + np.array([0.0, 0.0, depth])
        poses.append(pose)
        kps.append(pose[:, :2] / pose[:, 2:] * 800.0 + 127.5)
    pose, kp = np.stack(poses), np.stack(kps)
    K = np.repeat(np.array([[[800.0, 0, 127.5], [0, 800.0, 127.5], [0, 0, 1]]]), 2, 0)
    z = root_depth_from_bones(kp, pose[..., 2] - pose[:, :1, 2], K)
    assert np.allclose(z, pose[:, 0, 2], rtol=0.01)
    # a person 20 % larger than the reference is placed much too near: the 2.5D scale problem
    big = pose.copy()
    big[0] = (pose[0] - pose[0, 0]) * 1.2 + pose[0, 0] * 1.2
    kp_big = big[..., :2] / big[..., 2:] * 800.0 + 127.5
    z_big = root_depth_from_bones(kp_big, big[..., 2] - big[:, :1, 2], K)
    assert z_big[0] / big[0, 0, 2] < 0.9


class _Oracle(nn.Module):
    """Returns the ground truth of the tiny cache, shifted for the 2.5D variant."""

    def __init__(self, data, head: str, noise_mm: float = 0.0) -> None:
        super().__init__()
        self.head_name = head
        self.kp = torch.tensor(data.kp2d_px, dtype=torch.float64)
        gt = torch.tensor(data.pose3d_mm, dtype=torch.float64)
        self.rel = gt - gt[:, :1] + noise_mm
        self.rel[:, 0] = 0
        self.i = 0

    def forward(self, *inputs):
        n = inputs[0].shape[0]
        sl = slice(self.i, self.i + n)
        self.i += n
        rel = self.rel[sl]
        if self.head_name == "2.5d":
            rel = torch.stack([torch.zeros_like(rel[..., 2]), torch.zeros_like(rel[..., 2]),
                               rel[..., 2]], -1)
        return MetrabsOutput(self.kp[sl], rel)


def test_tables_score_oracles(tmp_path) -> None:
    write_tiny_cache(tmp_path / "c", n=20)
    data = load_crop_cache(tmp_path / "c")
    data.keep_fraction[10:] = 0.6  # pretend half were cut
    models = {"metro": _Oracle(data, "metro", noise_mm=10.0), "flat": _Oracle(data, "2.5d")}
    errors = variant_joint_errors(models, data)
    assert set(errors) == {"metro", "flat (bone prior)", "flat (GT root depth)"}
    assert np.allclose(errors["flat (GT root depth)"], 0, atol=1e-2)  # float32 labels
    table = truncation_table(models, data, errors)
    # every non-root joint is off by (10, 10, 10) mm
    assert np.isclose(table["metro"][0.0], np.sqrt(300) * 16 / 17)
    split = truncation_split(data, errors)
    assert np.isnan(split["metro"][0.0][1])  # the tiny cache has every joint inside the crop


def test_consistency_check_drops_2d_that_contradicts_the_metric_3d() -> None:
    """The 2D head answers inside the crop even for joints outside it: those must not steer the
    root, and must not be reported as in view."""
    from monopose.metrabs.inference import _consistent_solve

    rng = np.random.default_rng(3)
    rel = _pose_with_reference_bones(rng)
    rel -= rel[0]
    root = np.array([150.0, 300.0, 3000.0])
    intr = np.array([1000.0, 1000.0, 320.0, 240.0])
    pose = rel + root
    kp = pose[:, :2] / pose[:, 2:] * 1000.0 + intr[2:]
    wrong = kp.copy()
    legs = np.array([1, 2, 3, 4, 5, 6])
    wrong[legs] = kp[8] + rng.normal(0, 20, (6, 2))  # the legs' 2D drawn onto the chest
    box = np.concatenate([kp.min(0), kp.max(0)])
    in_view, sol = _consistent_solve(wrong, rel, np.ones(17, bool), intr, None, box, (4000, 4000))
    assert not in_view[legs].any() and in_view[[8, 9, 10, 11, 14]].all()
    assert np.linalg.norm(sol[0][0] - root) < 1.0  # (pose_3d_abs_mm, method); root joint 0
    # with consistent 2D nothing is dropped
    in_view, sol = _consistent_solve(kp, rel, np.ones(17, bool), intr, None, box, (4000, 4000))
    assert in_view.all() and np.linalg.norm(sol[0][0] - root) < 1.0
