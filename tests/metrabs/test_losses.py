"""MeTRAbs losses (:mod:`monopose.metrabs.losses`): the differentiable root solve and the terms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monopose.metrabs.losses import metrabs_losses, predicted_in_crop, solve_root_torch
from monopose.metrabs.model import BOX_SIZE_MM, MetrabsOutput
from tests.metrabs.conftest import standing_pose

S = 256
PX_TO_M = BOX_SIZE_MM / S / 1000.0


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    h = points @ K.T
    return h[..., :2] / h[..., 2:3]


def _random_case(rng: np.random.Generator, b: int):
    """``b`` random rotated poses, random K, T at 3–8 m: (kp [B,17,2], rel, K, T) float64."""
    rels, Ks, Ts, kps = [], [], [], []
    for _ in range(b):
        rel = standing_pose(rng) @ _random_rotation(rng).T
        f = rng.uniform(500, 1500)
        K = np.array([[f * rng.uniform(0.9, 1.1), 0, rng.uniform(200, 500)],
                      [0, f, rng.uniform(200, 500)], [0, 0, 1.0]])
        T = np.array([rng.uniform(-1000, 1000), rng.uniform(-800, 800), rng.uniform(3000, 8000)])
        rels.append(rel)
        Ks.append(K)
        Ts.append(T)
        kps.append(_project(rel + T, K))
    return tuple(torch.tensor(np.stack(a)) for a in (kps, rels, Ks, Ts))


# ---------------------------------------------------------------------------- root solve
def test_solve_root_recovers_the_translation_exactly():
    kp, rel, K, T = _random_case(np.random.default_rng(0), 16)
    got = solve_root_torch(kp, rel, K, torch.ones(16, 17), regularization=0.0)
    torch.testing.assert_close(got, T, atol=1e-6, rtol=0)


def test_solve_root_default_regularisation_is_negligible():
    kp, rel, K, T = _random_case(np.random.default_rng(1), 16)
    got = solve_root_torch(kp, rel, K, torch.ones(16, 17))
    assert (got - T).norm(dim=-1).max() < 1.5  # mm, at 3–8 m
    got32 = solve_root_torch(kp.float(), rel.float(), K.float(), torch.ones(16, 17))
    assert (got32.double() - T).norm(dim=-1).max() < 3.0


def test_solve_root_ignores_downweighted_joints_with_wrong_2d():
    """MeTRAbs weights joints predicted outside the crop 1e-4: their 2D (up to 100 px off in a
    256 px crop) barely moves the root."""
    rng = np.random.default_rng(2)
    batch = _crop_batch(8, b=16, dtype=torch.float64)
    kp, gt, K = batch["kp2d_px"], batch["pose3d_mm"], batch["K"]
    rel, T = gt - gt[:, :1], gt[:, 0]
    weights = torch.ones(16, 17, dtype=torch.float64)
    bad = torch.tensor([3, 6, 13, 16, 10])
    weights[:, bad] = 1e-4
    wrong = kp.clone()
    wrong[:, bad] += torch.tensor(rng.uniform(-100, 100, size=(16, len(bad), 2)))
    got = solve_root_torch(wrong, rel, K, weights)
    assert (got - T).norm(dim=-1).max() < 5.0
    # the same wrong 2D at full weight moves the root a lot: the weights are what protects it
    naive = solve_root_torch(wrong, rel, K, torch.ones_like(weights))
    assert (naive - T).norm(dim=-1).max() > 100.0


def test_solve_root_gradients_reach_2d_and_3d():
    kp, rel, K, T = _random_case(np.random.default_rng(3), 4)
    kp = kp.clone().requires_grad_(True)
    rel = rel.clone().requires_grad_(True)
    got = solve_root_torch(kp + 3.0, rel, K, torch.ones(4, 17))
    (got - T).abs().sum().backward()
    for g in (kp.grad, rel.grad):
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0
    # d T_x / d u: moving every joint right by 1 px moves the root right by ~ z / fx
    base = solve_root_torch(kp.detach(), rel.detach(), K, torch.ones(4, 17))
    shifted = solve_root_torch(kp.detach() + torch.tensor([1.0, 0.0]), rel.detach(), K,
                               torch.ones(4, 17))
    expected = T[:, 2] / K[:, 0, 0]
    torch.testing.assert_close(shifted[:, 0] - base[:, 0], expected, rtol=0.05, atol=0)


# ---------------------------------------------------------------------------- loss terms
def _crop_batch(seed: int, b: int = 4, dtype=torch.float32):
    """Crop-camera labels of people standing ~4 m away who fill a 256 px crop."""
    rng = np.random.default_rng(seed)
    f = 256 * 4200.0 / 2400.0  # a 2.4 m tall field of view at 4.2 m
    K = np.array([[f, 0, (S - 1) / 2], [0, f, (S - 1) / 2], [0, 0, 1.0]])
    poses, kps = [], []
    for _ in range(b):
        pose = standing_pose(rng) + np.array([rng.uniform(-50, 50), -50.0, rng.uniform(4000, 4400)])
        poses.append(pose)
        kps.append(_project(pose, K))
    kp = torch.tensor(np.stack(kps), dtype=dtype)
    assert ((kp > 20) & (kp < S - 20)).all()  # every joint well inside the crop
    return {"kp2d_px": kp, "pose3d_mm": torch.tensor(np.stack(poses), dtype=dtype),
            "in_view": torch.ones(b, 17, dtype=torch.bool),
            "K": torch.tensor(np.stack([K] * b), dtype=dtype)}


def _perfect_output(batch: dict) -> MetrabsOutput:
    gt = batch["pose3d_mm"]
    return MetrabsOutput(batch["kp2d_px"].clone(), gt - gt[:, :1])


def test_perfect_prediction_has_zero_loss_with_the_absolute_term():
    batch = _crop_batch(0)
    parts = metrabs_losses(_perfect_output(batch), batch, "metro", step=1000)
    assert set(parts) == {"proj2d", "rel3d", "abs3d", "loss"}
    for k in ("proj2d", "rel3d"):
        assert float(parts[k]) == pytest.approx(0.0, abs=1e-7)
    assert float(parts["abs3d"]) < 1e-4  # < 0.1 mm mean error of the solved absolute pose


def test_absolute_term_starts_at_abs_start_step_and_only_for_metro():
    batch = _crop_batch(1)
    out = _perfect_output(batch)
    out = MetrabsOutput(out.coords2d_px + 4.0, out.coords3d_rel_mm * 1.05)
    before = metrabs_losses(out, batch, "metro", step=99, abs_start_step=100)
    at = metrabs_losses(out, batch, "metro", step=100, abs_start_step=100)
    assert "abs3d" not in before and "abs3d" in at
    assert float(at["abs3d"]) > 0.005  # 5 % too big and 4 px off: the solved root is off
    torch.testing.assert_close(at["loss"], before["loss"] + at["abs3d"])
    torch.testing.assert_close(before["loss"], before["rel3d"] + before["proj2d"])
    weighted = metrabs_losses(out, batch, "metro", step=100, abs_start_step=100, abs3d=0.25,
                              rel3d=2.0, proj2d=0.5)
    torch.testing.assert_close(weighted["loss"], 2.0 * at["rel3d"] + 0.5 * at["proj2d"]
                               + 0.25 * at["abs3d"])
    off = metrabs_losses(out, batch, "metro", step=10_000, abs3d=0.0)
    assert "abs3d" not in off
    d25 = metrabs_losses(out, batch, "2.5d", step=10_000, abs_start_step=0)
    assert "abs3d" not in d25


def test_proj2d_is_the_mean_absolute_pixel_error_in_metres_over_in_view_joints():
    batch = _crop_batch(2)
    out = _perfect_output(batch)
    shifted = MetrabsOutput(out.coords2d_px + torch.tensor([6.0, 0.0]), out.coords3d_rel_mm)
    parts = metrabs_losses(shifted, batch, "metro", step=0)
    # |dx| = 6, |dy| = 0: mean over coordinates 3 px
    assert float(parts["proj2d"]) == pytest.approx(3.0 * PX_TO_M, rel=1e-5)


def test_proj2d_ignores_out_of_view_joints():
    batch = _crop_batch(3)
    batch["in_view"][:, [3, 6, 13]] = False
    out = MetrabsOutput(batch["kp2d_px"] + 2.0, _perfect_output(batch).coords3d_rel_mm)
    ref = metrabs_losses(out, batch, "metro", step=0)
    moved = dict(batch)
    moved["kp2d_px"] = batch["kp2d_px"].clone()
    moved["kp2d_px"][:, [3, 6, 13]] += 500.0  # wildly different targets for unseen joints
    same = metrabs_losses(out, moved, "metro", step=0)
    torch.testing.assert_close(same["proj2d"], ref["proj2d"])
    assert float(ref["proj2d"]) == pytest.approx(2.0 * PX_TO_M, rel=1e-5)
    seen = dict(batch)
    seen["kp2d_px"] = batch["kp2d_px"].clone()
    seen["kp2d_px"][:, 0] += 50.0  # an in-view joint's target does count
    assert float(metrabs_losses(out, seen, "metro", step=0)["proj2d"]) > float(ref["proj2d"])


def test_rel3d_is_root_relative_and_25d_uses_depth_only():
    batch = _crop_batch(4)
    out = _perfect_output(batch)
    far = dict(batch)
    far["pose3d_mm"] = batch["pose3d_mm"] + torch.tensor([300.0, -200.0, 1500.0])
    parts = metrabs_losses(out, far, "metro", step=0)
    assert float(parts["rel3d"]) == pytest.approx(0.0, abs=1e-6)
    wrong_xy = MetrabsOutput(out.coords2d_px, out.coords3d_rel_mm + torch.tensor([100.0, 0, 0]))
    wrong_xy.coords3d_rel_mm[:, 0] = 0.0
    # 100 mm on x of 16 of 17 joints, averaged over 3 coordinates, in metres
    assert float(metrabs_losses(wrong_xy, batch, "metro", step=0)["rel3d"]) == pytest.approx(
        0.1 * 16 / 17 / 3, rel=1e-4)
    assert float(metrabs_losses(wrong_xy, batch, "2.5d", step=0)["rel3d"]) == pytest.approx(
        0.0, abs=1e-6)
    wrong_z = MetrabsOutput(out.coords2d_px, out.coords3d_rel_mm * torch.tensor([1.0, 1.0, 2.0]))
    assert float(metrabs_losses(wrong_z, batch, "2.5d", step=0)["rel3d"]) > 0.0


def test_absolute_term_weights_joints_predicted_inside_the_crop():
    """Joints predicted at the crop's border barely count in the root solve: spoiling their 2D
    (which the head cannot locate there anyway) leaves the absolute term near zero."""
    batch = _crop_batch(5)
    out = _perfect_output(batch)
    kp = out.coords2d_px.clone()
    kp[:, [3, 6]] = torch.tensor([2.0, 254.0])  # ankles predicted at the border, far off
    spoiled = MetrabsOutput(kp, out.coords3d_rel_mm)
    assert not predicted_in_crop(kp, S)[:, [3, 6]].any()
    parts = metrabs_losses(spoiled, batch, "metro", step=10_000)
    assert float(parts["abs3d"]) < 0.002  # < 2 mm


def test_absolute_term_is_clipped_per_coordinate():
    batch = _crop_batch(6)
    out = _perfect_output(batch)
    huge = MetrabsOutput(out.coords2d_px, out.coords3d_rel_mm * 40.0)
    parts = metrabs_losses(huge, batch, "metro", step=10_000)
    assert float(parts["abs3d"]) <= 2.0 + 1e-6


def test_absolute_term_gradient_reaches_both_outputs():
    batch = _crop_batch(7)
    out = _perfect_output(batch)
    c2 = (out.coords2d_px + 3.0).requires_grad_(True)
    c3 = (out.coords3d_rel_mm * 1.1).requires_grad_(True)
    parts = metrabs_losses(MetrabsOutput(c2, c3), batch, "metro", step=10_000, rel3d=0.0,
                           proj2d=0.0)
    parts["loss"].backward()
    assert c2.grad is not None and c2.grad.abs().sum() > 0
    assert c3.grad is not None and c3.grad.abs().sum() > 0


def test_predicted_in_crop_margin():
    c = torch.tensor([[[15.4, 100.0], [15.6, 100.0], [100.0, 239.4], [100.0, 239.6]]])
    np.testing.assert_array_equal(predicted_in_crop(c, S, margin_px=16.0)[0].numpy(),
                                  [False, True, True, False])
