"""MeTRAbs training losses and the differentiable root solve.

All terms are L1 in metres (the MeTRAbs convention), computed in the crop camera:

* ``rel3d``: root-relative 3D of the head vs ground truth (for the 2.5D head: its
  root-relative depth only, since its x, y are image coordinates);
* ``proj2d``: the 2D output on in-view joints, crop pixels × 2.2 m / 256 px;
* ``abs3d`` (after a warm-up): the absolute pose reconstructed from the head's own 2D and
  relative 3D (:func:`solve_root_torch`, joints predicted inside the crop weighted 1, others
  1e-4) vs ground truth — this teaches the two heads to agree, which is what makes the absolute
  pose accurate.
"""

from __future__ import annotations

import torch
from torch import Tensor

from monopose.metrabs.model import BOX_SIZE_MM, MetrabsOutput

__all__ = ["solve_root_torch", "predicted_in_crop", "metrabs_losses"]


def predicted_in_crop(coords2d_px: Tensor, crop_size_px: int, margin_px: float = 16.0) -> Tensor:
    """``[B, J]`` bool: 2D prediction at least ``margin_px`` inside the crop (MeTRAbs keeps
    one training stride from the border: soft-argmax cannot reach the edge itself)."""
    lo, hi = margin_px - 0.5, crop_size_px - 0.5 - margin_px
    return ((coords2d_px >= lo) & (coords2d_px <= hi)).all(-1)


def solve_root_torch(coords2d_px: Tensor, rel_mm: Tensor, K: Tensor, weights: Tensor,
                     regularization: float = 1e-6) -> Tensor:
    """Translation ``T [B, 3]`` (mm) with ``K (rel_j + T) ~ (u_j, v_j, 1)`` in weighted least
    squares (the linear MeTRAbs root solve), differentiable.

    Args:
        coords2d_px: ``[B, J, 2]`` pixels of the camera ``K``.
        rel_mm: ``[B, J, 3]`` relative pose (mm).
        K: ``[B, 3, 3]`` intrinsics.
        weights: ``[B, J]`` non-negative joint weights.
        regularization: Tikhonov weight on the (metre-scaled) normal matrix diagonal.
    """
    xn = (coords2d_px[..., 0] - K[:, None, 0, 2]) / K[:, None, 0, 0]
    yn = (coords2d_px[..., 1] - K[:, None, 1, 2]) / K[:, None, 1, 1]
    p = rel_mm / 1000.0
    one, zero = torch.ones_like(xn), torch.zeros_like(xn)
    ax = torch.stack([one, zero, -xn], -1)  # [B, J, 3]
    ay = torch.stack([zero, one, -yn], -1)
    bx = xn * p[..., 2] - p[..., 0]
    by = yn * p[..., 2] - p[..., 1]
    A = torch.cat([ax, ay], 1)  # [B, 2J, 3]
    b = torch.cat([bx, by], 1)
    w = torch.cat([weights, weights], 1)[..., None]
    ata = (A * w).transpose(1, 2) @ A
    atb = (A * w).transpose(1, 2) @ b[..., None]
    eye = torch.eye(3, dtype=A.dtype, device=A.device)
    T = torch.linalg.solve(ata + regularization * eye, atb)[..., 0]
    return T * 1000.0


def metrabs_losses(out: MetrabsOutput, batch: dict, head: str, step: int,
                   rel3d: float = 1.0, proj2d: float = 1.0, abs3d: float = 1.0,
                   abs_start_step: int = 500, crop_size_px: int = 256) -> dict[str, Tensor]:
    """The weighted loss and its parts (see the module docstring).

    Args:
        out: Model output.
        batch: ``kp2d_px [B,J,2]``, ``pose3d_mm [B,J,3]``, ``in_view [B,J]``, ``K [B,3,3]``.
        head: ``"metro"`` or ``"2.5d"``.
        step: Global step (the absolute term starts at ``abs_start_step``; MeTRo only).
    """
    gt = batch["pose3d_mm"]
    gt_rel = gt - gt[:, :1]
    in_view = batch["in_view"].float()
    px_to_m = BOX_SIZE_MM / crop_size_px / 1000.0
    n_view = in_view.sum().clamp(min=1.0)
    l2d = ((out.coords2d_px - batch["kp2d_px"]).abs().sum(-1) * in_view).sum() / (2 * n_view)
    parts = {"proj2d": l2d * px_to_m}
    if head == "metro":
        parts["rel3d"] = (out.coords3d_rel_mm - gt_rel).abs().mean() / 1000.0
    else:
        parts["rel3d"] = (out.coords3d_rel_mm[..., 2] - gt_rel[..., 2]).abs().mean() / 1000.0
    loss = rel3d * parts["rel3d"] + proj2d * parts["proj2d"]
    if head == "metro" and abs3d > 0 and step >= abs_start_step:
        w = predicted_in_crop(out.coords2d_px.detach(), crop_size_px).float() + 1e-4
        T = solve_root_torch(out.coords2d_px, out.coords3d_rel_mm, batch["K"], w)
        pred_abs = out.coords3d_rel_mm + T[:, None]
        # A wild early solve (a few joints in view) must not dominate: clip per-coordinate errors.
        parts["abs3d"] = ((pred_abs - gt).abs() / 1000.0).clamp(max=2.0).mean()
        loss = loss + abs3d * parts["abs3d"]
    parts["loss"] = loss
    return parts
