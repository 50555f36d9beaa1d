"""Fully connected residual lifter in the style of Martinez et al. (ICCV 2017).

One frame at a time: the 2J normalised coordinates plus a J-wide valid-mask channel go through
``Linear(3J -> width)``, ``num_blocks`` residual blocks (each two Linear-BN-ReLU-Dropout layers)
and ``Linear(width -> 3J)``. Invalid joints are zeroed and flagged in the mask channel, so the
model can be trained to lift occluded 2D. A window ``T > 1`` is folded into the batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from monopose.models.common import check_lifter_inputs, make_root_relative, zero_invalid

__all__ = ["BaselineLifter", "ResidualBlock"]


class ResidualBlock(nn.Module):
    """``x + (Linear-BN-ReLU-Dropout) x 2`` on ``[N, width]`` features."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(2):
            layers += [
                nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)
            ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class BaselineLifter(nn.Module):
    """Single-frame MLP lifter.

    Args:
        num_joints: J (17 for h36m17).
        width: hidden width (1024 in the paper).
        num_blocks: residual blocks (2 in the paper).
        dropout: dropout probability inside the blocks.
        root: index of the root joint (set to exactly zero in the output).
    """

    architecture: ClassVar[str] = "baseline"

    def __init__(
        self,
        num_joints: int = 17,
        width: int = 1024,
        num_blocks: int = 2,
        dropout: float = 0.25,
        root: int = 0,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(
            num_joints=num_joints, width=width, num_blocks=num_blocks, dropout=dropout, root=root
        )
        self.num_joints = num_joints
        self.root = root
        self.max_frames: int | None = None  # frames are independent; any T works
        self.stem = nn.Sequential(
            nn.Linear(3 * num_joints, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout)
        )
        self.blocks = nn.Sequential(*[ResidualBlock(width, dropout) for _ in range(num_blocks)])
        self.head = nn.Linear(width, 3 * num_joints)

    def forward(self, keypoints_2d: Tensor, valid: Tensor | None = None) -> Tensor:
        """Lift ``keypoints_2d [B, T, J, 2]`` (normalised) with ``valid [B, T, J]`` (bool) to
        root-relative 3D ``[B, T, J, 3]`` in metres (root exactly 0)."""
        ok = check_lifter_inputs(keypoints_2d, valid, self.num_joints)
        b, t, j, _ = keypoints_2d.shape
        coords = zero_invalid(keypoints_2d, ok).reshape(b * t, 2 * j)
        x = torch.cat([coords, ok.reshape(b * t, j).to(coords.dtype)], dim=1)
        y = self.head(self.blocks(self.stem(x)))
        return make_root_relative(y.reshape(b, t, j, 3), self.root)
