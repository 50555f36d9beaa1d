"""MeTRAbs-style image model: metric-scale truncation-robust heatmaps on a person crop.

The network maps a crop (or the frozen BlazePose network's feature maps of it) to a grid of
``G × G`` cells and ends in one 1×1 convolution:

* **MeTRo head** (``head="metro"``): ``J`` image-space 2D heatmaps plus ``D · J`` volumetric
  channels whose axes are *metric*: soft-argmax gives a point of a ``box_size_mm`` cube (2.2 m),
  so a joint outside the crop is still inside the cube and the scale needs no bone-length
  heuristic. Output: 2D in crop pixels (valid inside the crop) and root-relative 3D in mm.
* **2.5D head** (``head="2.5d"``, the baseline of the truncation experiment): ``D · J`` channels
  whose x, y axes are the crop's pixels and whose depth bins span ``box_size_mm`` of root-relative
  depth; a joint outside the crop cannot be represented, and the metric 3D needs the root depth
  from elsewhere (:func:`lift_25d`).

Backbones: ``"blazepose"`` reads the frozen BlazePose landmark network's 32², 16² and 8² maps of
the same 256 px crop (run by LiteRT outside torch) through a small trainable neck;
``"resnet"`` is a ResNet-style CNN on the crop pixels (:mod:`monopose.metrabs.resnet`), trained
from scratch or from user weights.

Both heads return :class:`MetrabsOutput` ``(coords2d_px [B, J, 2], coords3d_rel_mm [B, J, 3])``
in the crop camera (x right, y down, z forward); for the 2.5D head ``coords3d_rel_mm`` holds
``(0, 0, depth_rel_mm)``.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from monopose.metrabs.resnet import ResNetBackbone

__all__ = [
    "BOX_SIZE_MM",
    "DEPTH_BINS",
    "BLAZEPOSE_LEVELS",
    "LEVEL_NAMES",
    "MetrabsOutput",
    "soft_argmax",
    "BlazePoseNeck",
    "MetroHead",
    "Head25D",
    "MetrabsNet",
]

BOX_SIZE_MM = 2200.0
DEPTH_BINS = 8
# (tensor name, map side, channels) of the landmark network levels the neck reads.
BLAZEPOSE_LEVELS: tuple[tuple[str, int, int], ...] = (
    ("model_1/model/add_10/add", 32, 48),
    ("model_1/model/add_5/add", 16, 88),
    ("model_1/model/add_8/add", 8, 144),
)
LEVEL_NAMES = tuple(name for name, _, _ in BLAZEPOSE_LEVELS)


class MetrabsOutput(NamedTuple):
    """``coords2d_px [B, J, 2]`` crop pixels; ``coords3d_rel_mm [B, J, 3]`` root-relative mm."""

    coords2d_px: Tensor
    coords3d_rel_mm: Tensor


def soft_argmax(logits: Tensor, dims: int) -> Tensor:
    """Expected cell position under a softmax over the last ``dims`` axes.

    Args:
        logits: ``[B, J, *grid]`` with ``grid`` = (H, W) or (D, H, W).
        dims: 2 or 3.

    Returns:
        ``[B, J, dims]`` coordinates in [0, 1] ordered (x, y[, z]); cell ``i`` of ``n`` has its
        centre at ``(i + 0.5) / n``, so 0 and 1 are the grid's outer edges.
    """
    b, j = logits.shape[:2]
    grid = logits.shape[2:]
    prob = torch.softmax(logits.reshape(b, j, -1).float(), dim=-1).reshape(b, j, *grid)
    out = []
    # axes of the grid in (x, y, z) order: W is the last axis, then H, then D
    for axis in range(dims):
        dim = logits.dim() - 1 - axis
        n = logits.shape[dim]
        sum_dims = [d for d in range(2, logits.dim()) if d != dim]
        marginal = prob.sum(dim=sum_dims)  # [B, J, n]
        centres = (torch.arange(n, device=logits.device, dtype=prob.dtype) + 0.5) / n
        out.append((marginal * centres).sum(-1))
    return torch.stack(out, dim=-1)


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class BlazePoseNeck(nn.Module):
    """Trainable fusion of the frozen landmark network's 32², 16², 8² maps onto a 16² grid.

    Input: three NCHW tensors ``[B, 48, 32, 32]``, ``[B, 88, 16, 16]``, ``[B, 144, 8, 8]``.
    Output: ``[B, width, 16, 16]``. ``blocks`` 3×3 convolutions fuse the levels; ``separable``
    makes them depthwise-separable (~1.8× faster to train on a CPU, but weaker).
    """

    def __init__(self, width: int = 128, branch: int = 64,
                 in_channels: tuple[int, int, int] = (48, 88, 144), blocks: int = 2,
                 separable: bool = False) -> None:
        super().__init__()
        self.down = _conv_bn(in_channels[0], branch, 3, stride=2)
        self.mid = _conv_bn(in_channels[1], branch, 1)
        self.up = _conv_bn(in_channels[2], branch, 1)
        layers: list[nn.Module] = []
        cin = 3 * branch
        for _ in range(blocks):
            if separable:
                layers += [_conv_bn(cin, width, 1), _conv_bn(width, width, 3, groups=width)]
            else:
                layers.append(_conv_bn(cin, width, 3))
            cin = width
        if separable:
            layers.append(_conv_bn(width, width, 1))
        self.fuse = nn.Sequential(*layers)
        self.out_channels = width

    def forward(self, level32: Tensor, level16: Tensor, level8: Tensor) -> Tensor:
        up = F.interpolate(self.up(level8), scale_factor=2.0, mode="bilinear",
                           align_corners=False)
        return self.fuse(torch.cat([self.down(level32), self.mid(level16), up], dim=1))


class _HeatmapHead(nn.Module):
    """One 1×1 conv to ``J · (D + maps_2d)`` heatmap channels; subclasses decode them."""

    maps_2d: ClassVar[int]  # image-space 2D heatmaps per joint in front of the volumes

    def __init__(self, in_channels: int, num_joints: int = 17, depth_bins: int = DEPTH_BINS,
                 box_size_mm: float = BOX_SIZE_MM, crop_size_px: int = 256, root: int = 0
                 ) -> None:
        super().__init__()
        self.num_joints, self.depth_bins = num_joints, depth_bins
        self.box_size_mm, self.crop_size_px, self.root = box_size_mm, crop_size_px, root
        self.conv = nn.Conv2d(in_channels, num_joints * (depth_bins + self.maps_2d), 1)


class MetroHead(_HeatmapHead):
    """1×1 conv → ``J`` 2D heatmaps + ``D·J`` metric volumetric heatmaps (MeTRAbs)."""

    maps_2d: ClassVar[int] = 1

    def forward(self, x: Tensor) -> MetrabsOutput:
        b, _, h, w = x.shape
        j, d = self.num_joints, self.depth_bins
        logits = self.conv(x)
        coords2d = soft_argmax(logits[:, :j], 2) * self.crop_size_px - 0.5
        vol = logits[:, j:].reshape(b, d, j, h, w).transpose(1, 2)  # [B, J, D, H, W]
        coords3d = (soft_argmax(vol, 3) - 0.5) * self.box_size_mm
        return MetrabsOutput(coords2d, coords3d - coords3d[:, self.root:self.root + 1])


class Head25D(_HeatmapHead):
    """1×1 conv → ``D·J`` image-aligned volumetric heatmaps: x, y in crop pixels, depth bins
    over ``box_size_mm`` of root-relative depth (the classic 2.5D representation)."""

    maps_2d: ClassVar[int] = 0

    def forward(self, x: Tensor) -> MetrabsOutput:
        b, _, h, w = x.shape
        j, d = self.num_joints, self.depth_bins
        vol = self.conv(x).reshape(b, d, j, h, w).transpose(1, 2)
        c = soft_argmax(vol, 3)
        coords2d = c[..., :2] * self.crop_size_px - 0.5
        depth = (c[..., 2] - 0.5) * self.box_size_mm
        depth = depth - depth[:, self.root:self.root + 1]
        coords3d = torch.stack([torch.zeros_like(depth), torch.zeros_like(depth), depth], -1)
        return MetrabsOutput(coords2d, coords3d)


class MetrabsNet(nn.Module):
    """Backbone (+ neck) and one head; a plain ``nn.Module``.

    Args:
        backbone: ``"blazepose"`` (inputs: the three landmark-network maps, NCHW) or
            ``"resnet"`` (input: the crop ``[B, 3, S, S]`` RGB in [0, 1]).
        head: ``"metro"`` or ``"2.5d"``.
        width: Channels entering the head.
        num_joints, depth_bins, box_size_mm, crop_size_px: Head geometry.
        resnet: Keyword arguments of :class:`monopose.metrabs.resnet.ResNetBackbone`.
        neck: Keyword arguments of :class:`BlazePoseNeck` (``branch``, ``blocks``,
            ``separable``).
    """

    architecture: ClassVar[str] = "metrabs"

    def __init__(self, backbone: str = "blazepose", head: str = "metro", width: int = 128,
                 num_joints: int = 17, depth_bins: int = DEPTH_BINS,
                 box_size_mm: float = BOX_SIZE_MM, crop_size_px: int = 256,
                 resnet: dict | None = None, neck: dict | None = None) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(
            backbone=backbone, head=head, width=width, num_joints=num_joints,
            depth_bins=depth_bins, box_size_mm=box_size_mm, crop_size_px=crop_size_px,
            resnet=dict(resnet or {}), neck=dict(neck or {}))
        if backbone == "blazepose":
            self.backbone: nn.Module = BlazePoseNeck(width=width, **(neck or {}))
        elif backbone == "resnet":
            self.backbone = ResNetBackbone(out_channels=width, **(resnet or {}))
        else:
            raise ValueError(f"backbone: expected 'blazepose' or 'resnet', got {backbone!r}")
        heads = {"metro": MetroHead, "2.5d": Head25D}
        if head not in heads:
            raise ValueError(f"head: expected 'metro' or '2.5d', got {head!r}")
        self.head = heads[head](width, num_joints, depth_bins, box_size_mm, crop_size_px)
        self.backbone_name, self.head_name = backbone, head
        self.num_joints, self.crop_size_px = num_joints, crop_size_px

    def forward(self, *inputs: Tensor) -> MetrabsOutput:
        """Blazepose: ``forward(level32, level16, level8)``; resnet: ``forward(image)``."""
        return self.head(self.backbone(*inputs))
