"""Context-Aware PoseFormer (CA-PF): one 2D pose plus the frozen detector's features around it.

Per joint, ``1 + L`` tokens of width C: a coordinate token (``JointTokenEmbedding`` of the
normalised 2D keypoint) and one token per feature level (the level's feature at the joint,
LayerNorm + ``Linear(C_l -> C)``). A learned positional embedding ``[1 + L, J, C]`` is added.

1. **Deformable context**, one block per level: the query ``LayerNorm(level token + coordinate
   token)`` predicts, for ``H`` heads × ``K`` points, offsets (``tanh``, so bounded to the ±r
   cells of the cached patch) and attention weights (softmax over the K points of a head); the
   level's patch, projected to ``C / H`` per cell, is sampled bilinearly at those points, the
   points weighted and summed per head, the heads concatenated (→ C); residual, then an MLP with
   a residual. Init as in the authors' code: zero offset weights, offset bias along evenly spaced
   directions growing with the point index, zero attention weights (uniform attention).
2. **Per-joint fusion**: transformer blocks across the ``1 + L`` tokens of each joint.
3. **Across joints**: the ``1 + L`` tokens of a joint are concatenated (width ``(1 + L)·C``)
   and transformer blocks attend across the J joints.
4. **Head**: LayerNorm + Linear → root-relative 3D in metres (root exactly zero).

A joint outside the detector's crop (``feature_valid`` False) gets learned mask tokens instead of
its level tokens, and its deformable update is zeroed; an invalid 2D joint gets the coordinate mask
token, as in the other lifters. The detector is never fine-tuned: the model only sees cached or
freshly extracted patches (``monopose.capf.features``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from monopose.lifting.poseformer import JointTokenEmbedding, SpatialTransformer
from monopose.models.common import check_lifter_inputs, make_root_relative
from monopose.models.layers import DropPath, Mlp

__all__ = ["DeformableContext", "ContextAwarePoseFormer", "DEFAULT_LEVEL_CHANNELS"]

DEFAULT_LEVEL_CHANNELS: tuple[int, ...] = (48, 48, 88, 144)


class DeformableContext(nn.Module):
    """Deformable sampling of one level's patch around each joint.

    Args:
        dim: token width C.
        channels: the level's channels C_l.
        patch: patch side P (odd); offsets are bounded to ±(P // 2) cells.
        heads: H (C divisible by H).
        points: K sampling points per head.
        mlp_ratio: MLP hidden width / C.
        drop_path: stochastic depth of both residual branches.
    """

    def __init__(self, dim: int, channels: int, patch: int, heads: int = 4, points: int = 4,
                 mlp_ratio: float = 2.0, drop_path: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim: {dim} is not divisible by heads={heads}")
        self.heads, self.points, self.patch = heads, points, patch
        self.norm_q = nn.LayerNorm(dim)
        self.offsets = nn.Linear(dim, heads * points * 2)
        self.attn = nn.Linear(dim, heads * points)
        self.value = nn.Linear(channels, dim // heads)
        self.norm_mlp = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.drop_path = DropPath(drop_path)
        self._reset()

    def _reset(self) -> None:
        nn.init.zeros_(self.offsets.weight)
        # directions evenly spaced per head, radius growing with the point index; in units of
        # the bound (tanh output), atanh keeps the initial points where intended
        ang = torch.arange(self.heads, dtype=torch.float32) * (2 * math.pi / self.heads)
        dirs = torch.stack([ang.cos(), ang.sin()], -1)  # [H, 2]
        radius = (torch.arange(self.points, dtype=torch.float32) + 1) / (self.points + 1)
        init = 0.5 * dirs[:, None, :] * radius[None, :, None]  # [H, K, 2], |init| < 0.5
        with torch.no_grad():
            self.offsets.bias.copy_(torch.atanh(init).reshape(-1))
        nn.init.zeros_(self.attn.weight)
        nn.init.zeros_(self.attn.bias)

    def sampling_locations(self, query: Tensor) -> Tensor:
        """``query [N, C]`` (normalised) -> offsets ``[N, H, K, 2]`` in ``[-1, 1]`` patch units
        (x = columns, y = rows; ±1 = ±r cells)."""
        return torch.tanh(self.offsets(query)).reshape(-1, self.heads, self.points, 2)

    def forward(self, token: Tensor, coord: Tensor, patches: Tensor, ok: Tensor) -> Tensor:
        """Update level tokens.

        Args:
            token: ``[N, C]`` level tokens (N = batch × joints).
            coord: ``[N, C]`` coordinate tokens.
            patches: ``[N, P, P, C_l]`` (normalised) patch of this level per joint.
            ok: ``[N]`` bool; False = no context for this joint (update zeroed).

        Returns:
            ``[N, C]`` updated tokens.
        """
        n = token.shape[0]
        q = self.norm_q(token + coord)
        loc = self.sampling_locations(q)  # [N, H, K, 2]
        weights = self.attn(q).reshape(n, self.heads, self.points).softmax(-1)
        values = self.value(patches).permute(0, 3, 1, 2)  # [N, C/H, P, P]
        grid = loc.reshape(n, self.heads * self.points, 1, 2)
        sampled = F.grid_sample(values, grid, mode="bilinear", padding_mode="border",
                                align_corners=True)  # [N, C/H, H*K, 1]
        sampled = sampled.reshape(n, -1, self.heads, self.points)
        out = (sampled * weights[:, None]).sum(-1)  # [N, C/H, H]
        out = out.permute(0, 2, 1).reshape(n, -1)  # heads concatenated -> [N, C]
        out = torch.where(ok[:, None], out, torch.zeros((), dtype=out.dtype))
        token = token + self.drop_path(out)
        return token + self.drop_path(self.mlp(self.norm_mlp(token)))


class ContextAwarePoseFormer(nn.Module):
    """Single-frame lifter reading the detector's features around each joint.

    Args:
        num_joints: J.
        level_channels: channels of each feature level, in the order of the patches passed.
        patch: cached patch side P (odd).
        dim: token width C.
        context_heads, context_points: deformable heads H and points per head K.
        fusion_depth: transformer blocks across the ``1 + L`` tokens of a joint.
        joint_depth: transformer blocks across joints (width ``(1 + L)·C``).
        heads: attention heads of the transformer blocks.
        mlp_ratio: MLP hidden width / width.
        dropout: dropout in the transformer blocks.
        drop_path: largest stochastic-depth rate.
        root: root joint index.
    """

    architecture: ClassVar[str] = "capf"
    needs_context: ClassVar[bool] = True

    def __init__(
        self,
        num_joints: int = 17,
        level_channels: Sequence[int] = DEFAULT_LEVEL_CHANNELS,
        patch: int = 5,
        dim: int = 64,
        context_heads: int = 4,
        context_points: int = 4,
        fusion_depth: int = 2,
        joint_depth: int = 3,
        heads: int = 8,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
        drop_path: float = 0.1,
        root: int = 0,
    ) -> None:
        super().__init__()
        level_channels = [int(c) for c in level_channels]
        if not level_channels:
            raise ValueError("level_channels: expected at least one feature level")
        if patch < 1 or patch % 2 == 0:
            raise ValueError(f"patch: expected an odd side >= 1, got {patch}")
        self.config: dict[str, Any] = dict(
            num_joints=num_joints, level_channels=level_channels, patch=patch, dim=dim,
            context_heads=context_heads, context_points=context_points,
            fusion_depth=fusion_depth, joint_depth=joint_depth, heads=heads,
            mlp_ratio=mlp_ratio, dropout=dropout, drop_path=drop_path, root=root,
        )
        self.num_joints, self.root, self.patch = num_joints, root, patch
        self.level_channels = level_channels
        self.max_frames: int | None = 1
        n_lvl = len(level_channels)
        self.coord_embed = JointTokenEmbedding(2, dim, num_joints)
        self.feat_norm = nn.ModuleList([nn.LayerNorm(c) for c in level_channels])
        self.feat_proj = nn.ModuleList([nn.Linear(c, dim) for c in level_channels])
        self.feat_mask = nn.Parameter(torch.zeros(n_lvl, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1 + n_lvl, num_joints, dim))
        nn.init.trunc_normal_(self.feat_mask, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.context = nn.ModuleList([
            DeformableContext(dim, c, patch, context_heads, context_points, mlp_ratio,
                              drop_path * 0.5)
            for c in level_channels
        ])
        self.fusion = SpatialTransformer(dim, fusion_depth, heads, mlp_ratio, dropout, drop_path)
        width = (1 + n_lvl) * dim
        self.joints = SpatialTransformer(width, joint_depth, heads, mlp_ratio, dropout, drop_path)
        self.head = nn.Linear(width, 3)

    def check_context(self, features: Sequence[Tensor] | None, feature_valid: Tensor | None,
                      batch: int) -> tuple[list[Tensor], Tensor]:
        """Validate ``features`` (one ``[B, J, P, P, C_l]`` per level) and ``feature_valid``."""
        if features is None:
            raise ValueError("features: the context model needs the detector's feature patches "
                             "(see monopose.capf.inference.lift_with_context)")
        feats = list(features)
        if len(feats) != len(self.level_channels):
            raise ValueError(f"features: expected {len(self.level_channels)} levels, "
                             f"got {len(feats)}")
        p, j = self.patch, self.num_joints
        for i, (f, c) in enumerate(zip(feats, self.level_channels, strict=True)):
            if tuple(f.shape) != (batch, j, p, p, c):
                raise ValueError(f"features[{i}]: expected shape {(batch, j, p, p, c)}, "
                                 f"got {tuple(f.shape)}")
        if feature_valid is None:
            ok = torch.ones(batch, j, dtype=torch.bool, device=feats[0].device)
        else:
            if tuple(feature_valid.shape) != (batch, j):
                raise ValueError(f"feature_valid: expected shape {(batch, j)}, "
                                 f"got {tuple(feature_valid.shape)}")
            ok = feature_valid.to(torch.bool)
        return feats, ok

    def forward(self, keypoints_2d: Tensor, valid: Tensor | None = None,
                features: Sequence[Tensor] | None = None,
                feature_valid: Tensor | None = None) -> Tensor:
        """Lift one pose with context.

        Args:
            keypoints_2d: ``[B, 1, J, 2]`` normalised 2D (``monopose.core.normalize``).
            valid: ``[B, 1, J]`` bool.
            features: per level ``[B, J, P, P, C_l]`` patches (float16 or float32).
            feature_valid: ``[B, J]`` bool; False = joint outside the detector's crop.

        Returns:
            ``[B, 1, J, 3]`` root-relative 3D in metres (root exactly 0).
        """
        ok2d = check_lifter_inputs(keypoints_2d, valid, self.num_joints, max_frames=1)
        b, _, j, _ = keypoints_2d.shape
        feats, okf = self.check_context(features, feature_valid, b)
        dtype = keypoints_2d.dtype
        coord = self.coord_embed(keypoints_2d[:, 0], ok2d[:, 0])  # [B, J, C]
        okf_flat = okf.reshape(b * j)
        coord_flat = (coord + self.pos_embed[0]).reshape(b * j, -1)
        tokens = [coord_flat]
        for lvl, f in enumerate(feats):
            f = self.feat_norm[lvl](f.to(dtype))  # [B, J, P, P, C_l]
            r = self.patch // 2
            tok = self.feat_proj[lvl](f[:, :, r, r])  # the feature at the joint
            tok = torch.where(okf[..., None], tok, self.feat_mask[lvl]) + self.pos_embed[1 + lvl]
            tok = tok.reshape(b * j, -1)
            tok = self.context[lvl](tok, coord_flat, f.reshape(b * j, *f.shape[2:]), okf_flat)
            tokens.append(tok)
        x = torch.stack(tokens, dim=1)  # [B*J, 1+L, C]
        x = self.fusion(x)
        x = self.joints(x.reshape(b, j, -1))  # [B, J, (1+L)*C]
        out = self.head(x).reshape(b, 1, j, 3)
        return make_root_relative(out, self.root)
