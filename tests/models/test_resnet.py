"""ResNet backbone: shapes, layouts, gradient flow, weight files, and a short overfit run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from monopose.metrabs.model import MetrabsNet
from monopose.metrabs.resnet import (
    BasicBlock,
    Bottleneck,
    ResNetBackbone,
    load_backbone_weights,
)

TINY = dict(layers=(1, 1, 1, 1), widths=(8, 16, 16, 32))


def _params(m: torch.nn.Module, skip: str | None = "proj.") -> int:
    return sum(p.numel() for k, p in m.named_parameters()
               if skip is None or not k.startswith(skip))


@pytest.mark.parametrize("side", [256, 192])
def test_output_is_one_sixteenth_of_the_input(side: int) -> None:
    torch.manual_seed(0)
    m = ResNetBackbone(out_channels=24, **TINY).eval()
    with torch.no_grad():
        out = m(torch.rand(2, 3, side, side))
    assert out.shape == (2, 24, side // 16, side // 16)
    assert torch.isfinite(out).all()


def test_output_stride_trades_stride_for_dilation() -> None:
    kw = dict(layers=(1, 1, 2, 2), widths=(8, 16, 16, 32))
    m32 = ResNetBackbone(out_channels=8, output_stride=32, **kw).eval()
    m16 = ResNetBackbone(out_channels=8, output_stride=16, **kw).eval()
    m8 = ResNetBackbone(out_channels=8, output_stride=8, **kw).eval()
    x = torch.rand(1, 3, 128, 128)
    with torch.no_grad():
        assert m32(x).shape[-1] == 4 and m16(x).shape[-1] == 8 and m8(x).shape[-1] == 16
    # same weights, different resolution: dilation keeps the parameter layout unchanged
    assert m32.state_dict().keys() == m16.state_dict().keys()
    assert m16.layer4[0].conv1.stride == (1, 1) and m16.layer4[1].conv2.dilation == (2, 2)
    assert m8.layer3[1].conv2.dilation == (2, 2) and m8.layer4[1].conv2.dilation == (4, 4)
    assert m32.layer4[0].conv1.stride == (2, 2) and m32.layer4[1].conv2.dilation == (1, 1)
    with pytest.raises(ValueError, match="output_stride"):
        ResNetBackbone(output_stride=12)


def test_gradients_reach_the_stem() -> None:
    torch.manual_seed(0)
    m = ResNetBackbone(out_channels=16, **TINY)
    out = m(torch.rand(2, 3, 64, 64))
    (out * torch.randn_like(out)).sum().backward()
    assert m.conv1.weight.grad is not None
    assert m.conv1.weight.grad.abs().sum() > 0
    # zero-initialised last γ: at first only that γ learns, the branch's convs follow
    assert m.layer1[0].bn2.weight.grad.abs().sum() > 0
    assert m.layer1[0].conv1.weight.grad.abs().sum() == 0


def test_residual_blocks_start_as_identity_branches() -> None:
    m = ResNetBackbone(layers=(3, 4, 6, 3), bottleneck=True)
    blocks = [b for b in m.modules() if isinstance(b, (BasicBlock, Bottleneck))]
    assert len(blocks) == 16
    assert all(torch.all(b.last_bn.weight == 0) for b in blocks)
    assert torch.all(m.proj[1].weight == 1)


# Published parameter counts of ResNet-18/34/50 minus their 1000-way classifier.
LAYOUTS = {
    "resnet18": (dict(layers=(2, 2, 2, 2)), BasicBlock, 11_689_512 - 513_000, 512),
    "resnet34": (dict(layers=(3, 4, 6, 3)), BasicBlock, 21_797_672 - 513_000, 512),
    "resnet50": (dict(layers=(3, 4, 6, 3), bottleneck=True), Bottleneck,
                 25_557_032 - 2_049_000, 2048),
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_standard_layouts(name: str) -> None:
    kwargs, block, reference, channels = LAYOUTS[name]
    m = ResNetBackbone(out_channels=32, **kwargs).eval()
    assert m.feature_channels == channels
    assert all(isinstance(b, block) for b in m.layer2)
    assert _params(m) == reference
    assert _params(m, skip=None) - _params(m) == channels * 32 + 2 * 32  # 1×1 conv + BN
    with torch.no_grad():
        assert m(torch.rand(1, 3, 64, 64)).shape == (1, 32, 4, 4)


def test_bottleneck_widens_blocks_four_times() -> None:
    basic = ResNetBackbone(layers=(1, 1), widths=(16, 32), output_stride=8)
    bottle = ResNetBackbone(layers=(1, 1), widths=(16, 32), bottleneck=True, output_stride=8)
    assert basic.feature_channels == 32 and bottle.feature_channels == 128
    assert bottle.layer2[0].conv3.out_channels == 128


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="widths"):
        ResNetBackbone(layers=(2, 2), widths=(8, 16, 32))
    with pytest.raises(ValueError, match="stem_stride"):
        ResNetBackbone(stem_stride=3)
    with pytest.raises(ValueError, match="image"):
        ResNetBackbone(**TINY)(torch.rand(1, 1, 64, 64))


def _perturbed(m: torch.nn.Module) -> None:
    """Move every saved float tensor away from its initial value (running stats stay > 0)."""
    with torch.no_grad():
        for v in m.state_dict().values():
            if v.dtype.is_floating_point:
                v.add_(0.1 * torch.rand_like(v))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_weight_round_trip(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(0)
    src = ResNetBackbone(out_channels=8, **TINY)
    _perturbed(src)
    path = tmp_path / f"weights{suffix}"
    state = {k: v.contiguous() for k, v in src.state_dict().items()}
    if suffix == ".safetensors":
        save_file(state, str(path))
    else:
        torch.save({"state_dict": state, "epoch": 3}, path)
    dst = ResNetBackbone(out_channels=8, **TINY)
    x = torch.rand(1, 3, 64, 64)
    src.eval(), dst.eval()
    with torch.no_grad():
        assert not torch.allclose(src(x), dst(x))
        keys = load_backbone_weights(dst, path)
        assert keys.missing == [] and keys.unexpected == []
        torch.testing.assert_close(dst(x), src(x))


def test_prefix_selects_the_backbone_of_a_saved_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = MetrabsNet(backbone="resnet", width=8, resnet=TINY)
    _perturbed(net)
    path = tmp_path / "net.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    dst = ResNetBackbone(out_channels=8, **TINY)
    with pytest.raises(ValueError, match="unexpected"):
        load_backbone_weights(dst, path)
    load_backbone_weights(dst, path, prefix="backbone.")
    torch.testing.assert_close(dst.conv1.weight, net.backbone.conv1.weight)


def test_mismatched_file_names_file_and_keys(tmp_path: Path) -> None:
    src = ResNetBackbone(out_channels=8, layers=(1, 1, 1), widths=(8, 16, 16))
    path = tmp_path / "three_stages.safetensors"
    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(path))
    dst = ResNetBackbone(out_channels=8, **TINY)
    before = dst.layer1[0].conv1.weight.clone()
    with pytest.raises(ValueError) as info:
        load_backbone_weights(dst, path)
    msg = str(info.value)
    assert str(path) in msg and "missing" in msg and "layer4.0.conv1.weight" in msg
    torch.testing.assert_close(dst.layer1[0].conv1.weight, before)  # nothing loaded

    # non-strict: loads the overlap, reports the rest (proj differs in shape → still an error)
    extra = tmp_path / "extra.safetensors"
    state = {k: v.contiguous() for k, v in dst.state_dict().items() if not k.startswith("proj")}
    state["fc.weight"] = torch.zeros(10, 32)
    state["layer1.0.conv1.weight"] = torch.ones_like(state["layer1.0.conv1.weight"])
    save_file(state, str(extra))
    keys = load_backbone_weights(dst, extra, strict=False)
    assert keys.unexpected == ["fc.weight"]
    assert keys.missing and all(k.startswith("proj.") for k in keys.missing)
    assert torch.all(dst.layer1[0].conv1.weight == 1)

    wide = ResNetBackbone(out_channels=16, **TINY)
    shaped = tmp_path / "wide.safetensors"
    save_file({k: v.contiguous() for k, v in wide.state_dict().items()}, str(shaped))
    with pytest.raises(ValueError, match="shape mismatch.*proj.0.weight"):
        load_backbone_weights(dst, shaped, strict=False)


def test_unreadable_files_raise_value_error(tmp_path: Path) -> None:
    m = ResNetBackbone(out_channels=8, **TINY)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a weight file")
    with pytest.raises(ValueError, match="junk.safetensors"):
        load_backbone_weights(m, junk)
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.pt"):
        load_backbone_weights(m, text)
    # an arbitrary pickled object is refused rather than executed/unpickled
    obj = tmp_path / "object.pt"
    torch.save({"weights": Path("x")}, obj)
    with pytest.raises(ValueError, match="object.pt"):
        load_backbone_weights(m, obj)
    with pytest.raises(FileNotFoundError, match="absent.pt"):
        load_backbone_weights(m, tmp_path / "absent.pt")


def test_metrabs_resnet_overfits_a_tiny_set() -> None:
    torch.manual_seed(0)
    side = 128
    net = MetrabsNet(backbone="resnet", head="metro", width=32, crop_size_px=side,
                     resnet=dict(layers=(1, 1, 1, 1), widths=(16, 32, 64, 128)))
    images = torch.rand(4, 3, side, side)
    target2d = torch.rand(4, 17, 2) * (side - 32) + 16
    target3d = (torch.rand(4, 17, 3) - 0.5) * 1000.0
    target3d = target3d - target3d[:, :1]

    def loss_fn() -> torch.Tensor:
        out = net(images)
        # MeTRAbs scales: 3D in metres, 2D in crop pixels × (box mm / crop px) in metres
        l3 = (out.coords3d_rel_mm - target3d).abs().mean() / 1000.0
        l2 = (out.coords2d_px - target2d).abs().mean() * (2200.0 / side) / 1000.0
        return l3 + l2

    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    net.train()
    with torch.no_grad():
        first = float(loss_fn())
    for _ in range(60):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    with torch.no_grad():
        last = float(loss_fn())
    assert last < 0.3 * first, (first, last)
