"""Single-frame PoseFormer-style lifter (spatial transformer over joint tokens).

Each joint is a token: ``Linear(2 -> C)`` of its normalised 2D position plus a learned per-joint
positional embedding; a missing joint's token is a learned mask token (plus the same positional
embedding, so the model knows *which* joint is missing). Pre-norm transformer blocks attend
across the J joints of one frame, and a per-joint head predicts its 3D position. A window
``T > 1`` is folded into the batch: every frame is lifted on its own.

:class:`JointTokenEmbedding` and :class:`SpatialTransformer` are the reusable parts (the MPM
encoder and the Context-Aware PoseFormer build on them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from monopose.models.common import check_lifter_inputs, make_root_relative
from monopose.models.layers import TransformerBlock

__all__ = ["JointTokenEmbedding", "SpatialTransformer", "PoseFormerLifter"]


class JointTokenEmbedding(nn.Module):
    """Embed per-joint coordinates ``[..., J, in_dim]`` into tokens ``[..., J, dim]``.

    ``valid [..., J]`` (bool) selects between ``Linear(coords)`` and a learned mask token, so the
    coordinates of an invalid joint never reach the network; a learned positional embedding per
    joint is added to every token.
    """

    def __init__(self, in_dim: int, dim: int, num_joints: int) -> None:
        super().__init__()
        self.in_dim = in_dim
        self.proj = nn.Linear(in_dim, dim)
        self.mask_token = nn.Parameter(torch.zeros(dim))
        self.joint_embed = nn.Parameter(torch.zeros(num_joints, dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.joint_embed, std=0.02)

    def forward(self, coords: Tensor, valid: Tensor) -> Tensor:
        safe = torch.where(valid[..., None], coords, torch.zeros((), dtype=coords.dtype))
        tokens = torch.where(valid[..., None], self.proj(safe), self.mask_token)
        return tokens + self.joint_embed


class SpatialTransformer(nn.Module):
    """A stack of pre-norm transformer blocks over joint tokens ``[N, J, C]`` + a final LayerNorm.

    Args:
        dim: token width C.
        depth: number of blocks.
        heads: attention heads.
        mlp_ratio: MLP hidden width / C.
        dropout: dropout in attention and MLP.
        drop_path: largest stochastic-depth rate (linearly increasing over the blocks).
    """

    def __init__(
        self, dim: int, depth: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        rates = torch.linspace(0, drop_path, depth).tolist() if depth else []
        self.blocks = nn.ModuleList(
            [TransformerBlock(dim, heads, mlp_ratio, dropout, r) for r in rates]
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: Tensor) -> Tensor:
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)


class PoseFormerLifter(nn.Module):
    """Single-frame spatial-transformer lifter.

    Args:
        num_joints: J (17 for h36m17).
        dim: token width C.
        depth: transformer blocks.
        heads: attention heads.
        mlp_ratio: MLP hidden width / C.
        dropout: dropout in attention and MLP.
        drop_path: largest stochastic-depth rate.
        root: root joint index (exactly zero in the output).
    """

    architecture: ClassVar[str] = "poseformer"

    def __init__(
        self,
        num_joints: int = 17,
        dim: int = 64,
        depth: int = 4,
        heads: int = 8,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
        drop_path: float = 0.1,
        root: int = 0,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = dict(
            num_joints=num_joints, dim=dim, depth=depth, heads=heads, mlp_ratio=mlp_ratio,
            dropout=dropout, drop_path=drop_path, root=root,
        )
        self.num_joints = num_joints
        self.root = root
        self.max_frames: int | None = None
        self.embed = JointTokenEmbedding(2, dim, num_joints)
        self.encoder = SpatialTransformer(dim, depth, heads, mlp_ratio, dropout, drop_path)
        self.head = nn.Linear(dim, 3)

    def forward(self, keypoints_2d: Tensor, valid: Tensor | None = None) -> Tensor:
        """Lift ``keypoints_2d [B, T, J, 2]`` (normalised) with ``valid [B, T, J]`` (bool) to
        root-relative 3D ``[B, T, J, 3]`` in metres (root exactly 0)."""
        ok = check_lifter_inputs(keypoints_2d, valid, self.num_joints)
        b, t, j, _ = keypoints_2d.shape
        tokens = self.embed(keypoints_2d.reshape(b * t, j, 2), ok.reshape(b * t, j))
        out = self.head(self.encoder(tokens)).reshape(b, t, j, 3)
        return make_root_relative(out, self.root)
