"""Gradients flow: small models fit a handful of fixed poses; pretraining reaches every weight."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from monopose.core.normalize import normalize_keypoints
from monopose.lifting.masking import pretrain_masks
from monopose.zoo import build_model


def _fixed_poses(n: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random root-relative 3D poses (m) and their normalised perspective projections,
    repeated 8 times so BatchNorm's running variance matches the batch variance."""
    rng = np.random.default_rng(seed)
    pose = rng.normal(0, 0.3, size=(n, 1, 17, 3))
    pose -= pose[..., :1, :]
    cam = pose + np.array([0.0, 0.0, 4.0])
    px = 1000 * cam[..., :2] / cam[..., 2:] + 500
    norm, _, _ = normalize_keypoints(px)
    kp = torch.tensor(norm, dtype=torch.float32).repeat(8, 1, 1, 1)
    return kp, torch.tensor(pose, dtype=torch.float32).repeat(8, 1, 1, 1)


@pytest.mark.parametrize("arch,config", [
    ("baseline", dict(width=128, dropout=0.0)),
    ("poseformer", dict(dim=32, depth=2, heads=4, drop_path=0.0)),
    ("mpm", dict(dim=32, depth=2, heads=4, max_frames=1, drop_path=0.0)),
])
def test_small_model_overfits_eight_poses(arch: str, config: dict) -> None:
    torch.manual_seed(0)
    kp, pose = _fixed_poses()
    model = build_model(arch, config).train()
    steps = 300
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=steps)
    start = time.perf_counter()

    def mpjpe_mm() -> float:
        with torch.no_grad():
            return float((model(kp, None) - pose).norm(dim=-1).mean()) * 1000

    initial = mpjpe_mm()
    for _ in range(steps):
        loss = (model(kp, None) - pose).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():  # let BatchNorm running statistics settle on the final weights
        for _ in range(30):
            model(kp, None)
    model.eval()
    final = mpjpe_mm()
    assert final < 20.0 and final < initial / 10, (initial, final)
    # a budget guard for the suite, loose enough for a loaded shared machine
    assert time.perf_counter() - start < 90.0


def test_pretraining_reaches_every_parameter() -> None:
    torch.manual_seed(0)
    model = build_model("mpm", dict(dim=32, depth=2, heads=4, max_frames=9)).train()
    g = torch.Generator().manual_seed(0)
    masks = pretrain_masks(4, 9, 17, g)
    kp, pose = torch.randn(4, 9, 17, 2), torch.randn(4, 9, 17, 3) * 0.3
    r2, r3, lifted = model.forward_pretrain(kp, masks.mask_2d, pose, masks.mask_3d,
                                            masks.frame_mask)
    loss = (r2 - kp).norm(dim=-1).mean() + (r3 - pose).norm(dim=-1).mean()
    loss = loss + (lifted - pose).norm(dim=-1).mean()
    loss.backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert not silent, silent
