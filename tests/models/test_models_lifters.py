"""Behaviour of the lifting modules: shapes, root, masking of invalid joints, input checks."""

from __future__ import annotations

import pytest
import torch

from monopose.lifting.mpm import MPMLifter, STBlock

ARCHS = ["baseline", "poseformer", "mpm"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("t", [1, 27])
def test_shape_and_root_is_exactly_zero(arch: str, t: int, small_model, random_inputs) -> None:
    model = small_model(arch)
    kp, valid = random_inputs(3, t)
    out = model(kp, valid)
    assert out.shape == (3, t, 17, 3)
    assert torch.equal(out[..., 0, :], torch.zeros(3, t, 3))
    assert out[..., 1:, :].abs().sum() > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_invalid_joint_coordinates_are_ignored(arch: str, small_model, random_inputs) -> None:
    model = small_model(arch)
    kp, valid = random_inputs(2, 27 if arch == "mpm" else 1, seed=1)
    valid[:, :, 5] = False
    ref = model(kp, valid)
    kp2 = kp.clone()
    kp2[:, :, 5] = torch.tensor([7.0, -3.0])
    kp2[0, 0, 5] = float("nan")
    torch.testing.assert_close(model(kp2, valid), ref, rtol=0, atol=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_valid_mask_changes_the_prediction(arch: str, small_model, random_inputs) -> None:
    # The mask must reach the network: hiding a joint (same coordinates) changes the output.
    model = small_model(arch)
    kp, _ = random_inputs(1, 1, seed=2)
    full = torch.ones(1, 1, 17, dtype=torch.bool)
    hidden = full.clone()
    hidden[..., 12] = False
    assert not torch.allclose(model(kp, full), model(kp, hidden))


@pytest.mark.parametrize("arch", ARCHS)
def test_bad_inputs_raise(arch: str, small_model, random_inputs) -> None:
    model = small_model(arch)
    kp, valid = random_inputs(1, 1)
    valid[:] = True
    bad = kp.clone()
    bad[0, 0, 3, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(bad, valid)
    with pytest.raises(ValueError, match="16"):
        model(kp[:, :, :16], valid[:, :, :16])
    with pytest.raises(ValueError, match="valid"):
        model(kp, valid[:, :, :10])
    with pytest.raises(ValueError, match=r"\[B, T, J, 2\]"):
        model(kp[0], valid[0])


def test_mpm_rejects_windows_longer_than_max_frames(small_model, random_inputs) -> None:
    model = small_model("mpm", max_frames=9)
    kp, valid = random_inputs(1, 10)
    with pytest.raises(ValueError, match="at most 9 frames"):
        model(kp, valid)


def test_mpm_shorter_window_is_supported(small_model, random_inputs) -> None:
    model = small_model("mpm")
    kp, valid = random_inputs(2, 9)
    assert model(kp, valid).shape == (2, 9, 17, 3)


def test_stblock_single_frame_is_pure_spatial() -> None:
    torch.manual_seed(0)
    block = STBlock(16, 4).eval()
    x = torch.randn(2, 1, 17, 16)
    torch.testing.assert_close(block(x), block.spatial(x[:, 0])[:, None])
    single = STBlock(16, 4, temporal=False)
    assert single.temporal is None
    with pytest.raises(ValueError, match="single-frame"):
        single(torch.randn(1, 3, 17, 16))


def test_single_frame_mpm_has_no_temporal_parameters() -> None:
    t1 = MPMLifter(dim=32, depth=2, heads=4, max_frames=1)
    t27 = MPMLifter(dim=32, depth=2, heads=4, max_frames=27)
    names = {n for n, _ in t1.named_parameters()}
    assert not any(".temporal." in n for n in names) and "frame_mask_token" not in names
    assert sum(p.numel() for p in t27.parameters()) > sum(p.numel() for p in t1.parameters())


def test_complete_3d_keeps_observed_joints_and_ignores_missing_ones(small_model) -> None:
    model = small_model("mpm")
    g = torch.Generator().manual_seed(3)
    pose = torch.randn(2, 27, 17, 3, generator=g) * 0.3
    pose[..., 0, :] = 0
    valid = torch.ones(2, 27, 17, dtype=torch.bool)
    valid[:, :, [14, 15, 16]] = False
    out = model.complete_3d(pose, valid)
    assert out.shape == pose.shape
    torch.testing.assert_close(out[valid], pose[valid])
    assert torch.equal(out[..., 0, :], torch.zeros(2, 27, 3))
    moved = pose.clone()
    moved[:, :, [14, 15, 16]] += 5.0
    torch.testing.assert_close(model.complete_3d(moved, valid), out, rtol=0, atol=0)
    raw = model.complete_3d(pose, valid, keep_observed=False)
    assert not torch.allclose(raw[valid], pose[valid])


def test_forward_pretrain_shapes_and_masked_frames_are_hidden(small_model) -> None:
    model = small_model("mpm")
    g = torch.Generator().manual_seed(4)
    kp = torch.randn(2, 27, 17, 2, generator=g)
    pose = torch.randn(2, 27, 17, 3, generator=g)
    m2 = torch.rand(2, 27, 17, generator=g) < 0.3
    m3 = torch.rand(2, 27, 17, generator=g) < 0.3
    fm = torch.zeros(2, 27, dtype=torch.bool)
    fm[0, :16] = True
    fm[1, 5:21] = True
    r2, r3, lifted = model.forward_pretrain(kp, m2, pose, m3, fm)
    assert r2.shape == (2, 27, 17, 2) and r3.shape == lifted.shape == (2, 27, 17, 3)
    assert torch.equal(lifted[..., 0, :], torch.zeros(2, 27, 3))
    # Hidden frames and hidden joints never reach the network.
    kp2, pose2 = kp.clone(), pose.clone()
    kp2[fm] += 3.0
    pose2[fm] -= 2.0
    kp2[m2] = float("nan")
    pose2[m3] = 9.0
    for a, b in zip(model.forward_pretrain(kp2, m2, pose2, m3, fm), (r2, r3, lifted), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_frame_dropping_matches_attention_masking(small_model) -> None:
    # Equal counts per sample use the gather path; unequal counts the attention-mask path.
    model = small_model("mpm")
    g = torch.Generator().manual_seed(5)
    kp = torch.randn(2, 27, 17, 2, generator=g)
    pose = torch.randn(2, 27, 17, 3, generator=g)
    none = torch.zeros(2, 27, 17, dtype=torch.bool)
    fm = torch.zeros(2, 27, dtype=torch.bool)
    fm[0, ::2] = True  # 14 hidden
    fm[1, :20] = True  # 20 hidden
    mixed = model.forward_pretrain(kp, none, pose, none, fm)
    for i in range(2):
        alone = model.forward_pretrain(kp[i : i + 1], none[:1], pose[i : i + 1], none[:1],
                                       fm[i : i + 1])
        for a, b in zip(mixed, alone, strict=True):
            torch.testing.assert_close(a[i : i + 1], b, rtol=1e-5, atol=1e-5)


def test_forward_pretrain_rejects_fully_masked_sample(small_model) -> None:
    model = small_model("mpm")
    kp, pose = torch.zeros(1, 27, 17, 2), torch.zeros(1, 27, 17, 3)
    none = torch.zeros(1, 27, 17, dtype=torch.bool)
    with pytest.raises(ValueError, match="visible frame"):
        model.forward_pretrain(kp, none, pose, none, torch.ones(1, 27, dtype=torch.bool))
