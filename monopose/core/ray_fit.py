"""Fit lifted poses to their 2D rays: the lifted pose is a prior, the 2D is the evidence.

A lifter's root-relative pose reprojects onto its own 2D only roughly: the lifter regresses
towards poses it has seen, and the root solve (:func:`monopose.core.geometry.place_in_camera`)
then spreads the disagreement over every joint and the depth. :func:`fit_to_rays` moves each
joint and the root together, minimising per person

    Σ_valid |(p_j + T)_xy − x̂_j (p_j + T)_z|² / σ_2d²       (off its ray, mm at its depth)
    + Σ_joints |p_j − p⁰_j|² / σ_3d²                         (away from the lifted pose)
    + Σ_bones (|p_c − p_p| − L_b)² / σ_bone²                 (bone lengths changed)

over the root-relative joints ``p_j`` (the root joint stays at 0) and the root ``T``, where
``x̂_j`` is the joint's normalised image position, ``p⁰`` the lifted pose and ``L_b`` its bone
lengths (or lengths given). The first two terms are linear in ``(p, T)`` (the residual of the
first is the MeTRAbs root solve's, per joint), so Gauss-Newton on the bone term converges in
two or three steps; all people of a frame are solved at once, about 1 ms per person on one CPU
core.

The σs (``RayFitSettings``) were chosen on rendered people the lifters were not trained on
(``benchmarks/bench_lift_variants.py --tables 6``, BENCHMARKS.md "Placement: the lifted pose
fitted to its 2D rays").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["RayFitSettings", "bone_lengths", "fit_to_rays"]

# The root's own prior (mm): so weak it never competes with the 2D, it only keeps the normal
# equations regular for people whose usable joints barely spread.
_ROOT_SIGMA_MM = 1e5


@dataclass(frozen=True)
class RayFitSettings:
    """Weights of the fit's terms, as standard deviations (mm), and its Gauss-Newton steps.

    Attributes:
        sigma_2d_mm: A joint's distance from its ray, at its depth.
        sigma_3d_mm: Change of each joint relative to the root.
        sigma_bone_mm: Change of each bone's length.
        iterations: Gauss-Newton steps (the bone term is the only non-linear one).
    """

    sigma_2d_mm: float = 60.0
    sigma_3d_mm: float = 50.0
    sigma_bone_mm: float = 10.0
    iterations: int = 3

    def __post_init__(self) -> None:
        for name in ("sigma_2d_mm", "sigma_3d_mm", "sigma_bone_mm"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name}: expected a finite value > 0, got {value}")
        if self.iterations < 1:
            raise ValueError(f"iterations: expected ≥ 1, got {self.iterations}")


def fit_to_rays(normalized_xy: np.ndarray, rel_mm: np.ndarray, use: np.ndarray,
                root_mm: np.ndarray, bones: Sequence[tuple[int, int]],
                settings: RayFitSettings | None = None,
                bone_lengths_mm: np.ndarray | None = None,
                confidence: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``N`` people's lifted poses and roots to their 2D rays.

    People whose root is not finite or not in front of the camera, who have fewer than 2
    usable joints or a bone length that is not finite, are returned unchanged; so is anyone the
    fit would move behind the camera.

    Args:
        normalized_xy: ``[N, J, 2]`` undistorted normalised image coordinates ``(X/Z, Y/Z)``
            (any finite value where ``use`` is False).
        rel_mm: ``[N, J, 3]`` lifted root-relative poses (mm, joint 0 the root, at 0).
        use: ``[N, J]`` bool, the joints whose 2D is evidence.
        root_mm: ``[N, 3]`` the roots found so far (mm), e.g. the solve's.
        bones: ``(child, parent)`` joint index pairs whose lengths are kept.
        settings: the σs and steps; default :class:`RayFitSettings`.
        bone_lengths_mm: ``[N, B]`` the length each entry of ``bones`` is held to (mm);
            default: the lifted pose's own.
        confidence: ``[N, J]`` in [0, 1], each usable joint's weight in the 2D term (the
            detector's score: a guessed, hidden joint pulls the pose less); default: ones.

    Returns:
        ``(rel_mm [N, J, 3], root_mm [N, 3])``: the fitted root-relative poses (joint 0 at
        the origin) and roots.
    """
    s = settings or RayFitSettings()
    rel_in = np.asarray(rel_mm, dtype=np.float64)
    root_in = np.asarray(root_mm, dtype=np.float64)
    xy_in = np.asarray(normalized_xy, dtype=np.float64)
    use_in = np.asarray(use, dtype=bool)
    if rel_in.ndim != 3 or rel_in.shape[-1] != 3:
        raise ValueError(f"rel_mm: expected [N, J, 3], got {rel_in.shape}")
    n, j = rel_in.shape[:2]
    if xy_in.shape != (n, j, 2) or use_in.shape != (n, j) or root_in.shape != (n, 3):
        raise ValueError(f"fit_to_rays: expected normalized_xy [N, J, 2], use [N, J] and root_mm "
                         f"[N, 3] for rel_mm {rel_in.shape}, got {xy_in.shape}, {use_in.shape}, "
                         f"{root_in.shape}")
    lengths = (bone_lengths(rel_in, bones) if bone_lengths_mm is None
               else np.asarray(bone_lengths_mm, dtype=np.float64))
    if lengths.shape != (n, len(bones)):
        raise ValueError(f"bone_lengths_mm: expected [N, B] = [{n}, {len(bones)}], got "
                         f"{lengths.shape}")
    conf = (np.ones((n, j)) if confidence is None
            else np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0))
    if conf.shape != (n, j) or not np.isfinite(conf).all():
        raise ValueError(f"confidence: expected finite [N, J] = [{n}, {j}], got {conf.shape}")
    fit = (np.isfinite(root_in).all(axis=1) & (root_in[:, 2] > 0)
           & np.isfinite(rel_in).reshape(n, -1).all(axis=1) & (use_in.sum(axis=1) >= 2)
           & np.isfinite(lengths).all(axis=1))
    rel_out, root_out = rel_in.copy(), root_in.copy()
    if not fit.any():
        return rel_out, root_out
    rel_fit, root_fit = _gauss_newton(np.where(use_in[fit, :, None], xy_in[fit], 0.0),
                                      rel_in[fit], use_in[fit] * conf[fit], root_in[fit], bones,
                                      lengths[fit], s)
    depth = rel_fit[..., 2] + root_fit[:, None, 2]
    ok = (np.isfinite(rel_fit).reshape(len(rel_fit), -1).all(axis=1)
          & np.isfinite(root_fit).all(axis=1) & ((depth > 0) | ~use_in[fit]).all(axis=1))
    idx = np.flatnonzero(fit)[ok]
    rel_out[idx], root_out[idx] = rel_fit[ok], root_fit[ok]
    return rel_out, root_out


def bone_lengths(rel_mm: np.ndarray, bones: Sequence[tuple[int, int]]) -> np.ndarray:
    """``[..., B]`` mm: the length of each ``(child, parent)`` bone of ``rel_mm [..., J, 3]``."""
    pose = np.asarray(rel_mm, dtype=np.float64)
    child = [c for c, _ in bones]
    parent = [p for _, p in bones]
    return np.linalg.norm(pose[..., child, :] - pose[..., parent, :], axis=-1)


def _gauss_newton(xy: np.ndarray, rel0: np.ndarray, use: np.ndarray, root0: np.ndarray,
                  bones: Sequence[tuple[int, int]], length0: np.ndarray, s: RayFitSettings
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The minimisation of :func:`fit_to_rays` for ``M`` people that can be fitted (arrays as
    there; ``use [M, J]`` each joint's 2D weight, 0 for unusable ones; ``length0 [M, B]`` the
    lengths the bones are held to). Unknowns
    ``q [M, 3 (J - 1) + 3]``: joints 1..J-1, then the root."""
    m, n_joints = rel0.shape[:2]
    n_par = 3 * n_joints
    root_col = n_par - 3

    def col(joint: int) -> int:  # first column of a joint (joint 0 is fixed at the origin)
        return 3 * (joint - 1)

    def pose_of(q: np.ndarray) -> np.ndarray:  # [M, J, 3], joint 0 at the origin
        return np.concatenate([np.zeros((m, 1, 3)), q[:, :root_col].reshape(m, -1, 3)], axis=1)

    # Linear rows: each usable joint's two ray residuals (p_j + T)_c − x̂_jc (p_j + T)_z.
    sw = np.sqrt(use.astype(np.float64)) / s.sigma_2d_mm
    a2d = np.zeros((m, n_joints, 2, n_par))
    for jt in range(n_joints):
        for c in range(2):
            cols = [root_col + c, root_col + 2] + ([col(jt) + c, col(jt) + 2] if jt else [])
            coef = np.stack([sw[:, jt], -xy[:, jt, c] * sw[:, jt]] * (2 if jt else 1), axis=-1)
            a2d[:, jt, c, cols] = coef
    a2d = a2d.reshape(m, 2 * n_joints, n_par)
    normal_lin = np.einsum("mri,mrj->mij", a2d, a2d)
    prior = np.r_[np.full(n_par - 3, 1.0 / s.sigma_3d_mm ** 2), np.full(3, _ROOT_SIGMA_MM ** -2)]
    normal_lin += np.diag(prior)[None]
    q0 = np.concatenate([rel0[:, 1:].reshape(m, -1), root0], axis=1)
    rhs_lin = q0 * prior  # the priors pull towards the lifted pose and the starting root

    child = np.array([c for c, _ in bones])
    parent = np.array([p for _, p in bones])
    q = q0
    for _ in range(s.iterations):
        pose = pose_of(q)
        d = pose[:, child] - pose[:, parent]
        length = np.linalg.norm(d, axis=-1)
        unit = d / np.maximum(length, 1e-9)[..., None] / s.sigma_bone_mm
        jac = np.zeros((m, len(child), n_par))  # d(length / σ_bone) / dq
        for k, (c, p) in enumerate(zip(child, parent, strict=True)):
            if c:
                jac[:, k, col(c):col(c) + 3] += unit[:, k]
            if p:
                jac[:, k, col(p):col(p) + 3] -= unit[:, k]
        # linearised bone residual: (length − length0) / σ + jac (q' − q)
        target = np.einsum("mki,mi->mk", jac, q) - (length - length0) / s.sigma_bone_mm
        normal = normal_lin + np.einsum("mki,mkj->mij", jac, jac)
        rhs = rhs_lin + np.einsum("mki,mk->mi", jac, target)
        q = np.linalg.solve(normal, rhs[..., None])[..., 0]
    return pose_of(q), q[:, root_col:]
