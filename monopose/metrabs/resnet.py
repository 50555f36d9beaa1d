"""ResNet-style CNN backbone for image models, in plain torch.

:class:`ResNetBackbone` maps a square RGB crop ``[B, 3, S, S]`` in [0, 1] to a feature map
``[B, out_channels, S / output_stride, S / output_stride]``. It normalises the pixels itself
(fixed ImageNet mean/std), so callers feed plain [0, 1] images.

* Layout: a 7×7 stem (``stem_stride`` 1, 2 or 4; 4 adds the usual 3×3 max-pool), then one stage
  per entry of ``layers``; stage ``i`` has ``layers[i]`` residual blocks of width ``widths[i]``
  and halves the resolution except the first. Basic blocks (two 3×3) or bottleneck blocks
  (1×1, 3×3, 1×1 with 4× expansion, stride on the 3×3): ``(2, 2, 2, 2)`` basic = ResNet-18,
  ``(3, 4, 6, 3)`` basic = ResNet-34, ``(3, 4, 6, 3)`` bottleneck = ResNet-50.
* ``output_stride``: once the resolution reaches it, later stages keep their stride at 1 and
  dilate their 3×3 convolutions instead (atrous, as MeTRAbs uses to get a finer heatmap grid
  without changing the weights), so the default layout ends at S/16 instead of S/32.
* A 1×1 conv + BatchNorm + ReLU projects the last stage to ``out_channels``.
* Init: Kaiming (fan-out, ReLU) for convolutions; each residual block's last BatchNorm starts
  with γ = 0, so every block starts as the identity (stable training from scratch).

Pretrained ImageNet weights are not shipped; train from scratch or load your own with
:func:`load_backbone_weights`. Parameter names follow the common ResNet convention (``conv1``,
``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``, ...), so an ImageNet ResNet state dict
of the same layout loads with ``strict=False`` (its classifier keys are reported as unexpected,
the projection keys as missing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import torch
from safetensors.torch import load_file
from torch import Tensor, nn

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BasicBlock",
    "Bottleneck",
    "ResNetBackbone",
    "LoadedKeys",
    "load_backbone_weights",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)


def _downsample(cin: int, cout: int, stride: int) -> nn.Module | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with a shortcut; output channels = ``planes``."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, 1, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, planes, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + shortcut)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3 (strided/dilated), 1×1 expand; output channels = ``4 · planes``."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, cout, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + shortcut)


class ResNetBackbone(nn.Module):
    """ResNet feature extractor ending in a 1×1 projection (see the module docstring).

    Args:
        out_channels: Channels of the output map.
        layers: Residual blocks per stage (one entry per stage).
        widths: Block width per stage (bottleneck blocks output 4× this).
        bottleneck: Bottleneck blocks instead of basic blocks.
        stem_stride: Downsampling of the stem: 1, 2 or 4.
        output_stride: Total downsampling of the output map; must be
            ``stem_stride · 2^k`` with ``0 <= k < len(layers)``.

    Input: ``[B, 3, S, S]`` float RGB in [0, 1]. Output: ``[B, out_channels, S/os, S/os]``
    (rounded up when ``S`` is not a multiple of ``os``).
    """

    mean: Tensor
    std: Tensor

    def __init__(self, out_channels: int = 128, layers: tuple[int, ...] = (2, 2, 2, 2),
                 widths: tuple[int, ...] = (64, 128, 256, 512), bottleneck: bool = False,
                 stem_stride: int = 4, output_stride: int = 16) -> None:
        super().__init__()
        layers, widths = tuple(int(n) for n in layers), tuple(int(w) for w in widths)
        if not layers or any(n < 1 for n in layers):
            raise ValueError(f"layers: expected a non-empty tuple of ints >= 1, got {layers}")
        if len(widths) != len(layers) or any(w < 1 for w in widths):
            raise ValueError(f"widths: expected {len(layers)} ints >= 1 (one per stage), "
                             f"got {widths}")
        if int(out_channels) < 1:
            raise ValueError(f"out_channels: expected >= 1, got {out_channels}")
        if stem_stride not in (1, 2, 4):
            raise ValueError(f"stem_stride: expected 1, 2 or 4, got {stem_stride}")
        reachable = [stem_stride * 2**k for k in range(len(layers))]
        if output_stride not in reachable:
            raise ValueError(f"output_stride: expected one of {reachable} for stem_stride="
                             f"{stem_stride} and {len(layers)} stages, got {output_stride}")
        self.out_channels = int(out_channels)
        self.output_stride = int(output_stride)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1),
                             persistent=False)

        stem_width = widths[0]
        self.conv1 = nn.Conv2d(3, stem_width, 7, 2 if stem_stride > 1 else 1, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool: nn.Module = (nn.MaxPool2d(3, 2, 1) if stem_stride == 4 else nn.Identity())

        block: type[BasicBlock] | type[Bottleneck] = Bottleneck if bottleneck else BasicBlock
        cin, stride_so_far, dilation = stem_width, stem_stride, 1
        self.stage_names: list[str] = []
        for i, (n, w) in enumerate(zip(layers, widths, strict=True)):
            stride = 1 if i == 0 else 2
            first_dilation = dilation
            if stride > 1 and stride_so_far >= output_stride:
                # Keep the resolution: trade this stage's stride for dilation.
                dilation *= stride
                stride = 1
            stride_so_far *= stride
            blocks = [block(cin, w, stride, first_dilation)]
            cin = w * block.expansion
            blocks += [block(cin, w, 1, dilation) for _ in range(n - 1)]
            name = f"layer{i + 1}"
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        self.feature_channels = cin
        self.proj = nn.Sequential(nn.Conv2d(cin, self.out_channels, 1, bias=False),
                                  nn.BatchNorm2d(self.out_channels), nn.ReLU(inplace=True))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, (BasicBlock, Bottleneck)):
                nn.init.zeros_(m.last_bn.weight)

    def forward(self, image: Tensor) -> Tensor:
        """``image [B, 3, S, S]`` RGB in [0, 1] → ``[B, out_channels, S/os, S/os]``."""
        if image.dim() != 4 or image.shape[1] != 3:
            raise ValueError(f"image: expected [B, 3, S, S] RGB in [0, 1], got "
                             f"{tuple(image.shape)}")
        x = (image - self.mean) / self.std
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for name in self.stage_names:
            x = getattr(self, name)(x)
        return self.proj(x)


class LoadedKeys(NamedTuple):
    """Keys of a weight file that did not match the module (``strict=False`` loads)."""

    missing: list[str]
    unexpected: list[str]


def _read_state_dict(path: Path) -> dict[str, Tensor]:
    if path.suffix == ".safetensors":
        try:
            return dict(load_file(str(path), device="cpu"))
        except Exception as err:  # the library raises its own error types
            raise ValueError(f"{path}: not a readable .safetensors weight file ({err})") from err
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors, zip errors, forbidden globals
        raise ValueError(f"{path}: not a torch state dict file readable with weights_only=True "
                         f"({type(err).__name__}: {err})") from err
    # Training checkpoints nest the weights.
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()):
        raise ValueError(f"{path}: expected a mapping of parameter names to tensors, got "
                         f"{type(obj).__name__}")
    return dict(obj)


def _preview(keys: Sequence[str], n: int = 20) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f", … ({len(keys) - n} more)" if len(keys) > n else "")


def load_backbone_weights(module: nn.Module, path: str | Path, strict: bool = True,
                          prefix: str = "") -> LoadedKeys:
    """Load a user's weight file into ``module`` (typically a :class:`ResNetBackbone`).

    Args:
        module: The module to fill (in place).
        path: ``.safetensors`` file, or a torch file holding a state dict (or a checkpoint dict
            with a ``"state_dict"`` entry), read with ``weights_only=True`` (no arbitrary
            objects are unpickled).
        strict: Require the file's keys to match the module's exactly.
        prefix: Use only the file's keys starting with this (e.g. ``"backbone."`` for a saved
            :class:`~monopose.metrabs.model.MetrabsNet`), with the prefix removed.

    Returns:
        :class:`LoadedKeys` (missing, unexpected): empty lists for a strict load.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: unreadable file, shape mismatches, or (strict) missing/unexpected keys;
            the message names the file and lists the keys.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"path: weight file {p} does not exist")
    state = _read_state_dict(p)
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f"{k} (file {tuple(v.shape)}, module {tuple(own[k].shape)})"
                  for k, v in state.items() if k in own and v.shape != own[k].shape]
    if mismatched or (strict and (missing or unexpected)):
        problems = [f"shape mismatch for {len(mismatched)} key(s) [{_preview(mismatched)}]"
                    ] if mismatched else []
        if strict or mismatched:
            problems += [f"missing {len(missing)} key(s) [{_preview(missing)}]",
                         f"unexpected {len(unexpected)} key(s) [{_preview(unexpected)}]"]
        raise ValueError(f"{p}: weights do not match the module (strict={strict}): "
                         + "; ".join(problems))
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)
    return LoadedKeys(missing, unexpected)
