"""The Context-Aware PoseFormer module and the context inference path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monopose.capf.cards import CAPF_T1_CONFIG
from monopose.capf.features import FLIP_PERMUTATION, ContextInputs, flip_patches
from monopose.capf.inference import lift_context_inputs, lift_with_context
from monopose.capf.model import ContextAwarePoseFormer, DeformableContext
from monopose.lifting.poseformer import PoseFormerLifter
from monopose.models.weights_io import load_weights, save_weights
from monopose.zoo import build_model
from tests.capf.synthetic import make_detection

CH = (6, 5, 7, 4)
SMALL = dict(level_channels=list(CH), patch=3, dim=16, context_heads=2, context_points=2,
             fusion_depth=1, joint_depth=1, heads=2, drop_path=0.0)


def inputs(b: int, seed: int = 0, patch: int = 3):
    g = torch.Generator().manual_seed(seed)
    kp = torch.rand(b, 1, 17, 2, generator=g) * 2 - 1
    valid = torch.ones(b, 1, 17, dtype=torch.bool)
    feats = [torch.randn(b, 17, patch, patch, c, generator=g) for c in CH]
    return kp, valid, feats, torch.ones(b, 17, dtype=torch.bool)


def test_shapes_root_and_registry_config():
    model = ContextAwarePoseFormer(**SMALL)
    out = model(*inputs(3))
    assert out.shape == (3, 1, 17, 3)
    assert torch.all(out[:, :, 0] == 0)
    big = build_model("capf", CAPF_T1_CONFIG)
    kp, valid, _, fv = inputs(2)
    feats = [torch.randn(2, 17, 5, 5, c, dtype=torch.float16) for c in (48, 48, 88, 144)]
    assert big(kp, valid, feats, fv).shape == (2, 1, 17, 3)


def test_offsets_are_bounded_to_the_patch():
    block = DeformableContext(dim=8, channels=3, patch=5, heads=2, points=3)
    with torch.no_grad():
        block.offsets.weight.normal_(std=50.0)
    loc = block.sampling_locations(torch.randn(64, 8) * 100)
    assert loc.shape == (64, 2, 3, 2)
    assert loc.abs().max() <= 1.0
    assert loc.abs().max() > 0.9  # large inputs reach the patch edge, not beyond


def test_deformable_samples_stay_inside_patch_values():
    """With a patch whose values are the column index, every sample lies in [0, P - 1]."""
    block = DeformableContext(dim=4, channels=1, patch=5, heads=1, points=4)
    with torch.no_grad():
        block.value.weight.fill_(1.0)
        block.value.bias.zero_()
        block.offsets.weight.normal_(std=10.0)
    col = torch.arange(5.0).view(1, 1, 5, 1).expand(8, 5, 5, 1)
    q = block.norm_q(torch.randn(8, 4))
    grid = block.sampling_locations(q).reshape(8, 4, 1, 2)
    values = block.value(col).permute(0, 3, 1, 2)
    s = torch.nn.functional.grid_sample(values, grid, align_corners=True)
    assert s.min() >= 0.0 and s.max() <= 4.0


def test_gradients_reach_context_parameters():
    model = ContextAwarePoseFormer(**SMALL)
    kp, valid, feats, fv = inputs(4)
    with torch.no_grad():  # leave the zero init so attention and offsets get gradients
        for blk in model.context:
            blk.attn.weight.normal_(std=0.1)
    model(kp, valid, feats, fv).pow(2).sum().backward()
    for name in ("feat_proj.0.weight", "context.3.offsets.weight", "context.1.attn.weight",
                 "context.2.value.weight", "coord_embed.proj.weight", "head.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_joint_without_context_ignores_its_patches():
    model = ContextAwarePoseFormer(**SMALL).eval()
    kp, valid, feats, fv = inputs(2)
    fv[:, 5] = False
    changed = [f.clone() for f in feats]
    for f in changed:
        f[:, 5] = 1e3
    with torch.no_grad():
        a = model(kp, valid, feats, fv)
        b = model(kp, valid, changed, fv)
        c = model(kp, valid, changed, torch.ones_like(fv))
    torch.testing.assert_close(a, b)
    assert (a - c).abs().max() > 1e-4


def test_tiny_overfit_uses_the_features():
    """Depth (z) is a function of a feature channel only: a fit needs the context."""
    torch.manual_seed(0)
    model = ContextAwarePoseFormer(**SMALL)
    kp, valid, feats, fv = inputs(16, seed=3)
    kp = kp[:1].expand(16, -1, -1, -1).contiguous()  # the same 2D pose for every sample
    target = torch.zeros(16, 1, 17, 3)
    target[..., 2] = 0.3 * feats[2][:, :, 1, 1, 0][:, None]
    target = target - target[:, :, :1]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(150):
        err = (model(kp, valid, feats, fv) - target).norm(dim=-1).mean()
        first = first if first is not None else float(err.detach())
        opt.zero_grad()
        err.backward()
        opt.step()
    assert float(err.detach()) < 0.25 * first


def test_missing_or_wrong_features_raise():
    model = ContextAwarePoseFormer(**SMALL)
    kp, valid, feats, fv = inputs(2)
    with pytest.raises(ValueError, match="lift_with_context"):
        model(kp, valid)
    with pytest.raises(ValueError, match="levels"):
        model(kp, valid, feats[:3], fv)
    with pytest.raises(ValueError, match=r"features\[1\]"):
        model(kp, valid, [feats[0], feats[1][..., :2], feats[2], feats[3]], fv)
    with pytest.raises(ValueError, match="feature_valid"):
        model(kp, valid, feats, fv[:, :5])
    with pytest.raises(ValueError, match="frames"):
        model(kp.expand(2, 3, 17, 2), valid.expand(2, 3, 17), feats, fv)


def _mirror(ci: ContextInputs) -> ContextInputs:
    kp = ci.keypoints_px.copy()
    kp[..., 0] = -kp[..., 0]
    p = FLIP_PERMUTATION
    return ContextInputs(kp[:, p], ci.valid[:, p], [flip_patches(x) for x in ci.patches],
                         ci.inside[:, p])


def test_flip_averaged_inference_is_mirror_equivariant(rng):
    model = ContextAwarePoseFormer(**SMALL)
    n = 3
    ci = ContextInputs(rng.uniform(0, 300, size=(n, 17, 2)), rng.random((n, 17)) > 0.2,
                       [rng.normal(size=(n, 17, 3, 3, c)).astype(np.float32) for c in CH],
                       rng.random((n, 17)) > 0.1)
    out = lift_context_inputs(ci, model, flip=True)
    out_m = lift_context_inputs(_mirror(ci), model, flip=True)
    mirrored = out[:, FLIP_PERMUTATION] * np.array([-1.0, 1.0, 1.0])
    np.testing.assert_allclose(out_m, mirrored, atol=1e-4)
    assert model.training  # the caller's mode is restored


def test_lift_with_context_detections(rng, tmp_path):
    model = build_model("capf", {**CAPF_T1_CONFIG, "dim": 16, "joint_depth": 1,
                                 "fusion_depth": 1, "heads": 2})
    dets = [make_detection(rng), make_detection(rng)]
    dets[1].keypoints_h36m_px[3] += 5000.0  # far outside the crop: flagged, still lifted
    out = lift_with_context(dets, model)
    assert out.shape == (2, 17, 3) and np.isfinite(out).all() and np.all(out[:, 0] == 0)
    assert lift_with_context([], model).shape == (0, 17, 3)
    with pytest.raises(ValueError, match="with_features=True"):
        lift_with_context([make_detection(rng, with_maps=False)], model)
    ctx_free = PoseFormerLifter(dim=16, depth=1, heads=2)
    assert lift_with_context([make_detection(rng, with_maps=False)], ctx_free).shape == (1, 17, 3)
    save_weights(model, {"architecture": "capf"}, tmp_path / "m")
    loaded, _ = load_weights(tmp_path / "m", expected_architecture="capf")
    np.testing.assert_allclose(lift_with_context(dets, loaded), out, atol=1e-6)
