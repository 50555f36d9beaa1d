"""MPM: masked pose modelling with one shared 2D/3D spatio-temporal transformer.

Reimplementation of the idea of Zhang et al., "MPM: A Unified 2D-3D Human Pose Representation via
Masked Pose Modeling" (arXiv 2306.17201), with joint tokens instead of the original per-frame
vectors, so a missing joint is a missing token.

Architecture (all widths C = ``dim``)::

    2D [B,T,J,2] -- embed_2d (2D mask token) --\\                      /--> 2D decoder [B,T,J,2]
                                                 >-- shared encoder --<
    3D [B,T,J,3] -- embed_3d (3D mask token) --/   (depth x STBlock) \\--> 3D decoder [B,T,J,3]

* :class:`STBlock`: factorised attention - a pre-norm transformer block across the J joints of
  each frame, then one across the T frames of each joint. For ``T == 1`` the temporal half is
  skipped, so the model is a pure spatial transformer on images.
* Temporal positional embeddings (encoder and decoder) are learned, ``max_frames`` long; a
  shorter window uses the centred slice.
* Decoders: ``decoder_depth`` STBlocks + LayerNorm + Linear to 2 or 3 per joint; the 3D decoder
  serves both 3D reconstruction and lifting, so 2D and 3D meet in one latent space.

Masking (pretraining, MAE-style):

* Masked joints: their token is replaced by the learned 2D or 3D mask token *at the encoder
  input*; the coordinates of a masked joint never enter the network.
* Masked frames (``frame_mask``): the encoder does **not** see them. When every sample masks the
  same number of frames they are dropped from the encoder's sequence; otherwise they stay in the
  sequence but no token may attend to them (equivalent for the visible frames). Before decoding,
  every masked frame's tokens are replaced by the learned temporal mask token, and the decoders
  (which see all frames) reconstruct them.

Lifting (:meth:`MPMLifter.forward`) is 2D encoder -> shared encoder -> 3D decoder; joints marked
invalid become 2D mask tokens, so occluded 2D lifts directly. For ``T > 1`` every frame is
predicted; inference uses the centre frame.

There is no refine stage: the original code's refine module back-projects with the ground-truth
root depth (also at test time). Nothing here uses ground-truth root depth or camera parameters;
outputs are root-relative metres with the root joint exactly zero.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from monopose.core.virtual_camera import IMAGE_UP
from monopose.lifting.poseformer import JointTokenEmbedding
from monopose.models.common import (
    check_lifter_inputs,
    check_pose_3d_inputs,
    make_root_relative,
)
from monopose.models.layers import TransformerBlock

__all__ = ["ANGULAR_SIZE_REF", "STBlock", "PoseDecoder", "MPMLifter"]

# A window's angular size is the half side of its 2D box in focal lengths (the scale of
# :func:`monopose.core.normalize.normalize_keypoints` in the virtual camera): about 0.2 for an
# adult standing 4-5 m away. The size input is its log relative to this.
ANGULAR_SIZE_REF = 0.2


class STBlock(nn.Module):
    """Factorised spatio-temporal block on ``[B, T, J, C]``: attention across joints, then across
    frames (skipped when ``T == 1``; not built at all with ``temporal=False``)."""

    def __init__(
        self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0,
        drop_path: float = 0.0, temporal: bool = True,
    ) -> None:
        super().__init__()
        self.spatial = TransformerBlock(dim, heads, mlp_ratio, dropout, drop_path)
        self.temporal = (
            TransformerBlock(dim, heads, mlp_ratio, dropout, drop_path) if temporal else None
        )

    def forward(self, x: Tensor, frame_valid: Tensor | None = None) -> Tensor:
        """``x [B, T, J, C]``; ``frame_valid [B, T]`` bool limits which frames can be attended."""
        b, t, j, c = x.shape
        x = self.spatial(x.reshape(b * t, j, c)).reshape(b, t, j, c)
        if t == 1:
            return x
        if self.temporal is None:
            raise ValueError(f"x: this block is single-frame (temporal=False), got T={t}")
        xt = x.permute(0, 2, 1, 3).reshape(b * j, t, c)
        key_valid = None
        if frame_valid is not None:
            key_valid = frame_valid[:, None, :].expand(b, j, t).reshape(b * j, t)
        xt = self.temporal(xt, key_valid)
        return xt.reshape(b, j, t, c).permute(0, 2, 1, 3)


class PoseDecoder(nn.Module):
    """Light decoder: ``depth`` STBlocks + LayerNorm + per-joint Linear(C -> out_dim)."""

    def __init__(
        self, dim: int, out_dim: int, depth: int, heads: int, mlp_ratio: float, dropout: float,
        temporal: bool = True,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [STBlock(dim, heads, mlp_ratio, dropout, temporal=temporal) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, out_dim)

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))


class MPMLifter(nn.Module):
    """Masked pose model: 2D->3D lifting, 3D completion and masked 2D/3D pretraining.

    Args:
        num_joints: J (17 for h36m17).
        dim: token width C.
        depth: shared spatio-temporal blocks.
        heads: attention heads.
        mlp_ratio: MLP hidden width / C.
        max_frames: longest window T (size of the temporal positional embeddings).
        decoder_depth: STBlocks in each decoder (0 = linear heads).
        dropout: dropout in attention and MLP.
        drop_path: largest stochastic-depth rate in the shared encoder.
        root: root joint index (exactly zero in 3D outputs).
        size_input: also take each window's angular size (:data:`ANGULAR_SIZE_REF`): the
            normalised 2D alone cannot tell how strong the perspective is (a near camera
            distorts, a far one hardly). Its embedding starts at zero, so weights trained
            without it lift the same until fine-tuned.
        score_input: also take the detector's confidence in each keypoint (``scores [B, T, J]``
            in [0, 1], BlazePose's visibility × presence): a hidden knee that the detector guesses
            errs several times more than a seen one (BENCHMARKS.md). Each joint token gets an
            embedding of ``1 - score`` (and its square) that starts at zero and is zero for a
            score of 1, so weights trained without it lift the same, and a pose without scores
            lifts as a fully confident one.
        up_input: also take the image's up direction seen by the virtual camera
            (``camera_up [B, 3]``, unit; :func:`~monopose.core.virtual_camera.camera_up`): the
            virtual camera that looks at the person forgets where the person was in the
            picture, and with it how the photo's camera was held (most are near level). Its
            embedding starts at zero, so weights trained without it lift the same until
            fine-tuned.
    """

    architecture: ClassVar[str] = "mpm"

    def __init__(
        self,
        num_joints: int = 17,
        dim: int = 128,
        depth: int = 4,
        heads: int = 8,
        mlp_ratio: float = 2.0,
        max_frames: int = 1,
        decoder_depth: int = 1,
        dropout: float = 0.0,
        drop_path: float = 0.1,
        root: int = 0,
        size_input: bool = False,
        score_input: bool = False,
        up_input: bool = False,
    ) -> None:
        super().__init__()
        if max_frames < 1:
            raise ValueError(f"max_frames: expected >= 1, got {max_frames}")
        self.config: dict[str, Any] = dict(
            num_joints=num_joints, dim=dim, depth=depth, heads=heads, mlp_ratio=mlp_ratio,
            max_frames=max_frames, decoder_depth=decoder_depth, dropout=dropout,
            drop_path=drop_path, root=root, size_input=size_input, score_input=score_input,
            up_input=up_input,
        )
        self.num_joints = num_joints
        self.root = root
        self.max_frames: int | None = max_frames
        self.embed_2d = JointTokenEmbedding(2, dim, num_joints)  # its mask token = 2D mask token
        self.embed_3d = JointTokenEmbedding(3, dim, num_joints)  # its mask token = 3D mask token
        self.size_input = bool(size_input)
        self.embed_size = nn.Linear(1, dim) if size_input else None
        if self.embed_size is not None:
            nn.init.zeros_(self.embed_size.weight)
            nn.init.zeros_(self.embed_size.bias)
        self.up_input = bool(up_input)
        self.embed_up = nn.Linear(3, dim) if up_input else None
        if self.embed_up is not None:
            nn.init.zeros_(self.embed_up.weight)
            nn.init.zeros_(self.embed_up.bias)
        self.score_input = bool(score_input)
        # no bias: a fully confident keypoint (the sampler's 2D) keeps its token exactly
        self.embed_score = nn.Linear(2, dim, bias=False) if score_input else None
        if self.embed_score is not None:
            nn.init.zeros_(self.embed_score.weight)
        # A single-frame model has no temporal attention and no temporal mask token (nothing
        # would train them); a window model has both.
        temporal = max_frames > 1
        self.temporal_embed = nn.Parameter(torch.zeros(max_frames, dim))
        rates = torch.linspace(0, drop_path, depth).tolist() if depth else []
        self.encoder = nn.ModuleList(
            [STBlock(dim, heads, mlp_ratio, dropout, r, temporal=temporal) for r in rates]
        )
        self.encoder_norm = nn.LayerNorm(dim)
        self.frame_mask_token = nn.Parameter(torch.zeros(dim)) if temporal else None
        self.decoder_temporal_embed = nn.Parameter(torch.zeros(max_frames, dim))
        self.decoder_2d = PoseDecoder(dim, 2, decoder_depth, heads, mlp_ratio, dropout, temporal)
        self.decoder_3d = PoseDecoder(dim, 3, decoder_depth, heads, mlp_ratio, dropout, temporal)
        for p in (self.temporal_embed, self.frame_mask_token, self.decoder_temporal_embed):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)

    # -- public API ---------------------------------------------------------------------------

    def forward(self, keypoints_2d: Tensor, valid: Tensor | None = None,
                angular_size: Tensor | None = None, scores: Tensor | None = None,
                camera_up: Tensor | None = None) -> Tensor:
        """Lift ``keypoints_2d [B, T, J, 2]`` (normalised) with ``valid [B, T, J]`` (bool; False =
        missing, replaced by the 2D mask token) to root-relative 3D ``[B, T, J, 3]`` in metres
        (root exactly 0; every frame predicted). ``angular_size [B]``: each window's
        normalisation scale in focal lengths (used with ``size_input``; None: the reference
        size :data:`ANGULAR_SIZE_REF`). ``scores [B, T, J]``: the detector's confidence per
        keypoint (used with ``score_input``; None: every keypoint fully confident).
        ``camera_up [B, 3]``: the image's up seen by the virtual camera (used with ``up_input``;
        None: ``(0, -1, 0)``, a camera looking straight at the person)."""
        ok = check_lifter_inputs(keypoints_2d, valid, self.num_joints, self.max_frames)
        tokens = self._with_size(self.embed_2d(keypoints_2d, ok), angular_size)
        tokens = self._with_up(tokens, camera_up)
        tokens = self._with_scores(tokens, ok, scores)
        latent = self._encode(tokens, None)
        return make_root_relative(self._decode(latent, self.decoder_3d), self.root)

    def complete_3d(
        self, pose_3d_m: Tensor, valid_3d: Tensor | None = None, keep_observed: bool = True
    ) -> Tensor:
        """Fill in missing joints of a root-relative 3D pose.

        Args:
            pose_3d_m: ``[B, T, J, 3]`` root-relative metres.
            valid_3d: ``[B, T, J]`` bool, False where the joint is missing.
            keep_observed: return the given joints unchanged and only the missing ones predicted.

        Returns:
            ``[B, T, J, 3]`` root-relative metres (root exactly 0).
        """
        ok = check_pose_3d_inputs(pose_3d_m, valid_3d, self.num_joints, self.max_frames)
        latent = self._encode(self.embed_3d(pose_3d_m, ok), None)
        pred = make_root_relative(self._decode(latent, self.decoder_3d), self.root)
        if keep_observed:
            pred = make_root_relative(torch.where(ok[..., None], pose_3d_m, pred), self.root)
        return pred

    def forward_pretrain(
        self,
        keypoints_2d: Tensor,
        mask_2d: Tensor,
        pose_3d_m: Tensor,
        mask_3d: Tensor,
        frame_mask: Tensor | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Masked 2D and masked 3D pose modelling (one pass over both streams).

        Args:
            keypoints_2d: ``[B, T, J, 2]`` normalised 2D.
            mask_2d: ``[B, T, J]`` bool, True = joint hidden (replaced by the 2D mask token);
                OR in joints that are missing in the data.
            pose_3d_m: ``[B, T, J, 3]`` root-relative 3D in metres.
            mask_3d: ``[B, T, J]`` bool, True = joint hidden (replaced by the 3D mask token).
            frame_mask: ``[B, T]`` bool, True = frame hidden from the encoder in both streams
                (see the module docstring); None = no temporal masking. At least one frame per
                sample must stay visible.

        Returns:
            ``(recon_2d [B,T,J,2]`` normalised, ``recon_3d_from_3d [B,T,J,3]`` metres,
            ``lifted_3d_from_2d [B,T,J,3]`` metres)``; 3D outputs are root-relative (root 0).
            All joints and frames are predicted; the loss may weight masked ones.
        """
        visible_2d = check_lifter_inputs(
            keypoints_2d, ~mask_2d.to(torch.bool), self.num_joints, self.max_frames
        )
        visible_3d = check_pose_3d_inputs(
            pose_3d_m, ~mask_3d.to(torch.bool), self.num_joints, self.max_frames
        )
        if tuple(keypoints_2d.shape[:3]) != tuple(pose_3d_m.shape[:3]):
            raise ValueError(
                f"pose_3d_m: expected [B, T, J] = {tuple(keypoints_2d.shape[:3])}, "
                f"got {tuple(pose_3d_m.shape[:3])}"
            )
        if frame_mask is not None:
            b, t = keypoints_2d.shape[:2]
            if tuple(frame_mask.shape) != (b, t):
                raise ValueError(
                    f"frame_mask: expected shape {(b, t)}, got {tuple(frame_mask.shape)}"
                )
            frame_mask = frame_mask.to(torch.bool)
            if frame_mask.all(dim=1).any():
                raise ValueError("frame_mask: every sample needs at least one visible frame")
        latent_2d = self._encode(self.embed_2d(keypoints_2d, visible_2d), frame_mask)
        latent_3d = self._encode(self.embed_3d(pose_3d_m, visible_3d), frame_mask)
        recon_2d = self._decode(latent_2d, self.decoder_2d)
        lifted = make_root_relative(self._decode(latent_2d, self.decoder_3d), self.root)
        recon_3d = make_root_relative(self._decode(latent_3d, self.decoder_3d), self.root)
        return recon_2d, recon_3d, lifted

    # -- internals ----------------------------------------------------------------------------

    def _with_size(self, tokens: Tensor, angular_size: Tensor | None) -> Tensor:
        """``tokens [B, T, J, C]`` plus the embedding of the windows' log angular size (a
        model without ``size_input`` ignores it)."""
        if self.embed_size is None:
            return tokens
        b = tokens.shape[0]
        if angular_size is None:
            log_size = torch.zeros(b, 1, dtype=tokens.dtype, device=tokens.device)
        else:
            size = angular_size.to(tokens.dtype).reshape(-1, 1)
            if size.shape[0] != b:
                raise ValueError(f"angular_size: expected [{b}], got {tuple(angular_size.shape)}")
            log_size = torch.log(size.clamp_min(1e-4) / ANGULAR_SIZE_REF)
        return tokens + self.embed_size(log_size)[:, None, None, :]

    def _with_up(self, tokens: Tensor, camera_up: Tensor | None) -> Tensor:
        """``tokens [B, T, J, C]`` plus the embedding of the image's up in the virtual camera
        (a model without ``up_input`` ignores it)."""
        if self.embed_up is None:
            return tokens
        b = tokens.shape[0]
        if camera_up is None:
            up = tokens.new_tensor(IMAGE_UP).expand(b, 3)
        else:
            up = camera_up.to(tokens.dtype)
            if tuple(up.shape) != (b, 3):
                raise ValueError(f"camera_up: expected [{b}, 3], got {tuple(camera_up.shape)}")
        return tokens + self.embed_up(up)[:, None, None, :]

    def _with_scores(self, tokens: Tensor, ok: Tensor, scores: Tensor | None) -> Tensor:
        """``tokens [B, T, J, C]`` plus the embedding of each keypoint's doubt ``1 - score``
        (zero for missing joints, whose token is the mask token; a model without
        ``score_input`` ignores the scores)."""
        if self.embed_score is None or scores is None:
            return tokens
        if tuple(scores.shape) != tuple(tokens.shape[:3]):
            raise ValueError(f"scores: expected {list(tokens.shape[:3])}, "
                             f"got {list(scores.shape)}")
        doubt = torch.where(ok, 1.0 - scores.to(tokens.dtype).clamp(0.0, 1.0), 0.0)
        return tokens + self.embed_score(torch.stack([doubt, doubt * doubt], dim=-1))

    def _time_slice(self, table: Tensor, t: int) -> Tensor:
        """Centred ``t`` rows of a ``[max_frames, C]`` positional table, shaped ``[1, t, 1, C]``."""
        start = (table.shape[0] - t) // 2
        return table[start : start + t][None, :, None, :]

    def _encode(self, tokens: Tensor, frame_mask: Tensor | None) -> Tensor:
        """Shared encoder: ``[B, T, J, C] -> [B, T, J, C]``; masked frames come out as the
        temporal mask token."""
        b, t, j, c = tokens.shape
        x = tokens + self._time_slice(self.temporal_embed, t)
        if frame_mask is None or not bool(frame_mask.any()):
            for block in self.encoder:
                x = block(x)
            return self.encoder_norm(x)
        if self.frame_mask_token is None:
            raise ValueError("frame_mask: a single-frame model (max_frames=1) cannot mask frames")
        counts = (~frame_mask).sum(dim=1)
        if bool((counts == counts[0]).all()):
            # Same number of visible frames everywhere: drop masked frames from the sequence.
            order = torch.argsort(frame_mask.to(torch.int8), dim=1, stable=True)
            keep = order[:, : int(counts[0])][:, :, None, None].expand(-1, -1, j, c)
            xv = torch.gather(x, 1, keep)
            for block in self.encoder:
                xv = block(xv)
            base = self.frame_mask_token.expand(b, t, j, c).to(xv.dtype)
            return torch.scatter(base, 1, keep, self.encoder_norm(xv))
        for block in self.encoder:
            x = block(x, ~frame_mask)
        x = self.encoder_norm(x)
        return torch.where(frame_mask[:, :, None, None], self.frame_mask_token, x)

    def _decode(self, latent: Tensor, decoder: PoseDecoder) -> Tensor:
        return decoder(latent + self._time_slice(self.decoder_temporal_embed, latent.shape[1]))
