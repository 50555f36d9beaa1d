"""MeTRAbs image model (:mod:`monopose.metrabs.model`): soft-argmax, heads, network, weights."""

from __future__ import annotations

import pytest
import torch

from monopose.metrabs.model import (
    BLAZEPOSE_LEVELS,
    BOX_SIZE_MM,
    DEPTH_BINS,
    BlazePoseNeck,
    Head25D,
    MetroHead,
    soft_argmax,
)
from monopose.models.weights_io import load_weights, save_weights
from monopose.zoo import build_model

J = 17


def _peaked(shape: tuple[int, ...], index: tuple[int, ...], height: float = 60.0) -> torch.Tensor:
    logits = torch.zeros(shape)
    logits[(0, 0, *index)] = height
    return logits


def _blazepose_inputs(b: int, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, side, side, generator=g) for _, side, c in BLAZEPOSE_LEVELS]


def _set_bias(head: torch.nn.Module, channel_values: dict[int, float]) -> None:
    """Zero the head's 1×1 conv and put constant logits on some channels (a fixed heatmap)."""
    with torch.no_grad():
        head.conv.weight.zero_()
        head.conv.bias.zero_()
        for c, v in channel_values.items():
            head.conv.bias[c] = v


# ---------------------------------------------------------------------------- soft-argmax
@pytest.mark.parametrize("index", [(0, 0, 0), (2, 4, 6), (1, 3, 0), (0, 1, 5)])
def test_soft_argmax_3d_returns_the_peak_cell_centre_in_xyz_order(index):
    d, h, w = 3, 5, 7  # non-cubic so a swapped axis cannot pass
    out = soft_argmax(_peaked((1, 2, d, h, w), index), 3)
    assert out.shape == (1, 2, 3)
    k, i, j = index
    expected = torch.tensor([(j + 0.5) / w, (i + 0.5) / h, (k + 0.5) / d])
    torch.testing.assert_close(out[0, 0], expected, atol=1e-6, rtol=0)
    # the other joint's flat logits give the grid's middle on every axis
    torch.testing.assert_close(out[0, 1], torch.full((3,), 0.5), atol=1e-6, rtol=0)


def test_soft_argmax_2d_returns_the_peak_cell_centre():
    out = soft_argmax(_peaked((1, 1, 4, 9), (3, 1)), 2)
    torch.testing.assert_close(out[0, 0], torch.tensor([1.5 / 9, 3.5 / 4]), atol=1e-6, rtol=0)


def test_soft_argmax_stays_inside_the_grid_edges_and_is_differentiable():
    logits = (torch.randn(3, 5, 4, 6, 8) * 30).requires_grad_(True)
    out = soft_argmax(logits, 3)
    lo = torch.tensor([0.5 / 8, 0.5 / 6, 0.5 / 4])
    assert (out >= lo - 1e-6).all() and (out <= 1 - lo + 1e-6).all()
    out.sum().backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


# ---------------------------------------------------------------------------- heads
def test_metro_head_is_root_relative_and_inside_the_metric_cube():
    torch.manual_seed(0)
    head = MetroHead(32)
    with torch.no_grad():
        head.conv.weight.mul_(50.0)  # saturated heatmaps: points pushed towards the cube's faces
    out = head(torch.randn(4, 32, 16, 16))
    assert out.coords2d_px.shape == (4, J, 2) and out.coords3d_rel_mm.shape == (4, J, 3)
    assert (out.coords3d_rel_mm[:, 0] == 0).all()
    # every joint is a point of one 2.2 m cube: spreads per axis within its side
    spread = out.coords3d_rel_mm.amax(1) - out.coords3d_rel_mm.amin(1)
    assert (spread <= BOX_SIZE_MM * (1 - 1 / 16) + 1e-3).all()
    assert spread.max() > 0.5 * BOX_SIZE_MM  # the saturated heatmaps really reached far
    assert (out.coords2d_px >= -0.5).all() and (out.coords2d_px <= 255.5).all()


def test_metro_head_places_a_joint_at_the_metric_cube_corner():
    j, d, h, w = J, DEPTH_BINS, 16, 16
    head = MetroHead(8)
    # volumetric channel (depth k, joint q) is j + k * J + q; root in bin 0, joint 5 in bin d-1
    _set_bias(head, {j + 0 * J + 0: 40.0, j + (d - 1) * J + 5: 40.0})
    with torch.no_grad():
        out = head(torch.zeros(1, 8, h, w))
    # a bias is the same in every cell, so x, y stay in the middle; only depth separates
    z5 = out.coords3d_rel_mm[0, 5, 2]
    assert float(z5) == pytest.approx(BOX_SIZE_MM * (d - 1) / d, rel=1e-4)
    torch.testing.assert_close(out.coords3d_rel_mm[0, 5, :2], torch.zeros(2), atol=1e-3, rtol=0)


def test_metro_3d_does_not_depend_on_the_crop_but_25d_xy_does():
    torch.manual_seed(1)
    x = torch.randn(2, 16, 16, 16)
    m256, m512 = MetroHead(16, crop_size_px=256), MetroHead(16, crop_size_px=512)
    m512.load_state_dict(m256.state_dict())
    a, b = m256(x), m512(x)
    torch.testing.assert_close(a.coords3d_rel_mm, b.coords3d_rel_mm)  # metric: same mm
    torch.testing.assert_close(b.coords2d_px + 0.5, 2 * (a.coords2d_px + 0.5))
    h256, h512 = Head25D(16, crop_size_px=256), Head25D(16, crop_size_px=512)
    h512.load_state_dict(h256.state_dict())
    c, e = h256(x), h512(x)
    torch.testing.assert_close(e.coords2d_px + 0.5, 2 * (c.coords2d_px + 0.5))
    torch.testing.assert_close(c.coords3d_rel_mm, e.coords3d_rel_mm)


def test_metro_2d_and_3d_come_from_separate_heatmaps():
    """The 2D heatmap can sit in a crop corner while the metric volume puts the joint elsewhere:
    the 3D is not tied to the crop's pixels."""
    head = MetroHead(4)
    _set_bias(head, {})
    x = torch.zeros(1, 4, 16, 16)
    base = head(x)
    with torch.no_grad():
        # a spatial pattern only the 2D channel of joint 3 sees
        head.conv.weight[3, 0] = 1.0
    x[0, 0, 0, 0] = 80.0
    moved = head(x)
    assert moved.coords2d_px[0, 3].tolist() == pytest.approx([7.5, 7.5], abs=1e-3)
    assert base.coords2d_px[0, 3].tolist() == pytest.approx([127.5, 127.5], abs=1e-3)
    torch.testing.assert_close(moved.coords3d_rel_mm, base.coords3d_rel_mm)


def test_head25d_is_bounded_by_the_crop():
    torch.manual_seed(2)
    head = Head25D(32)
    with torch.no_grad():
        head.conv.weight.mul_(60.0)
    out = head(torch.randn(3, 32, 16, 16))
    c2 = out.coords2d_px
    assert (c2 >= -0.5).all() and (c2 <= 255.5).all()
    assert (c2.amax((0, 1)) - c2.amin((0, 1)) > 128).all()  # saturated: spread over the crop
    assert (out.coords3d_rel_mm[..., :2] == 0).all()
    assert (out.coords3d_rel_mm[:, 0, 2] == 0).all()
    assert (out.coords3d_rel_mm[..., 2].abs() <= BOX_SIZE_MM).all()


def test_head25d_depth_bins_span_the_box():
    head = Head25D(4)
    d = DEPTH_BINS
    # channel (depth k, joint q) is k * J + q: root in the nearest bin, joint 2 in the farthest
    _set_bias(head, {0 * J + 0: 40.0, (d - 1) * J + 2: 40.0})
    with torch.no_grad():
        out = head(torch.zeros(1, 4, 16, 16))
    assert float(out.coords3d_rel_mm[0, 2, 2]) == pytest.approx(BOX_SIZE_MM * (d - 1) / d,
                                                                 rel=1e-4)


# ---------------------------------------------------------------------------- network
def test_blazepose_neck_fuses_the_three_levels_onto_16x16():
    torch.manual_seed(0)
    neck = BlazePoseNeck(width=24, branch=8).eval()
    inputs = _blazepose_inputs(2)
    assert neck(*inputs).shape == (2, 24, 16, 16)
    # every level reaches the output
    for k in range(3):
        changed = [t.clone() for t in inputs]
        changed[k] = changed[k] + 1.0
        assert not torch.allclose(neck(*changed), neck(*inputs))


@pytest.mark.parametrize("head", ["metro", "2.5d"])
def test_metrabs_net_forward_shapes(head):
    torch.manual_seed(0)
    model = build_model("metrabs", {"backbone": "blazepose", "head": head, "width": 32}).eval()
    assert model.backbone_name == "blazepose" and model.head_name == head
    with torch.no_grad():
        out = model(*_blazepose_inputs(3))
    assert out.coords2d_px.shape == (3, J, 2) and out.coords3d_rel_mm.shape == (3, J, 3)
    assert torch.isfinite(out.coords2d_px).all() and torch.isfinite(out.coords3d_rel_mm).all()
    # batch items are independent in eval mode
    with torch.no_grad():
        single = model(*[t[1:2] for t in _blazepose_inputs(3)])
    torch.testing.assert_close(single.coords3d_rel_mm[0], out.coords3d_rel_mm[1],
                               atol=1e-3, rtol=1e-4)


def test_metrabs_net_resnet_backbone_forward_shapes():
    torch.manual_seed(0)
    model = build_model("metrabs", {"backbone": "resnet", "width": 16, "crop_size_px": 64,
                                    "resnet": {"layers": [1, 1], "widths": [8, 16],
                                               "output_stride": 8}}).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 64))
    assert out.coords2d_px.shape == (2, J, 2) and out.coords3d_rel_mm.shape == (2, J, 3)
    assert (out.coords2d_px <= 63.5).all()


def test_save_load_round_trips_outputs(tmp_path):
    torch.manual_seed(3)
    model = build_model("metrabs", {"width": 32, "depth_bins": 6})
    inputs = _blazepose_inputs(2, seed=4)
    model.train()
    with torch.no_grad():
        model(*inputs)  # move the BatchNorm running statistics off their defaults
    model.eval()
    with torch.no_grad():
        expected = model(*inputs)
    save_weights(model, {"architecture": "metrabs", "config": model.config}, tmp_path / "m")
    loaded, _ = load_weights(tmp_path / "m", expected_architecture="metrabs")
    assert loaded.config == model.config and not loaded.training
    with torch.no_grad():
        got = loaded(*inputs)
    torch.testing.assert_close(got.coords2d_px, expected.coords2d_px)
    torch.testing.assert_close(got.coords3d_rel_mm, expected.coords3d_rel_mm)
    fresh = build_model("metrabs", {"width": 32, "depth_bins": 6}).eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(*inputs).coords3d_rel_mm, expected.coords3d_rel_mm)


@pytest.mark.parametrize("config, name", [({"backbone": "vgg"}, "backbone"),
                                          ({"head": "3d"}, "head")])
def test_bad_backbone_or_head_raises(config, name):
    with pytest.raises(ValueError, match=name):
        build_model("metrabs", config)
