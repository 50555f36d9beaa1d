"""Pose geometry: similarity (Procrustes) alignment and absolute 3D from 2D + root-relative 3D.

:func:`place_in_camera` is the one way a person is placed in the camera (with its fallbacks);
:func:`reconstruct_absolute` is the solve under it. :func:`procrustes_align` and
:func:`reconstruct_absolute` are vectorised over leading dimensions: poses are ``[..., J, 3]``
(mm) and 2D keypoints ``[..., J, 2]`` (px).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, overload

import numpy as np

from monopose.core.camera import intrinsics_from_matrix, pixels_to_normalized

__all__ = [
    "SimilarityTransform",
    "procrustes_align",
    "AbsoluteReconstruction",
    "reconstruct_absolute",
    "place_in_camera",
    "in_picture",
]


def _as_float(x: object, name: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a numeric array, got {type(x).__name__}") from exc


def _first_index(bad: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(bad)[0])


# ----------------------------------------------------------------------------------------------
# Procrustes


@dataclass(frozen=True, eq=False)
class SimilarityTransform:
    """``x ↦ scale · R x + translation``, batched.

    Attributes:
        scale: ``[...]``.
        rotation: ``[..., 3, 3]`` proper rotations (det = +1).
        translation: ``[..., 3]`` (mm).
    """

    scale: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Transform ``[..., J, 3]`` points."""
        p = np.asarray(points, dtype=np.float64)
        rotated = np.einsum("...ab,...jb->...ja", self.rotation, p)
        return self.scale[..., None, None] * rotated + self.translation[..., None, :]


@overload
def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = ...,
                     mask: np.ndarray | None = ..., *,
                     return_transform: Literal[False] = ...) -> np.ndarray: ...


@overload
def procrustes_align(pred: np.ndarray, gt: np.ndarray, scale: bool = ...,
                     mask: np.ndarray | None = ..., *,
                     return_transform: Literal[True]
                     ) -> tuple[np.ndarray, SimilarityTransform]: ...


def procrustes_align(
    pred: np.ndarray,
    gt: np.ndarray,
    scale: bool = True,
    mask: np.ndarray | None = None,
    *,
    return_transform: bool = False,
) -> np.ndarray | tuple[np.ndarray, SimilarityTransform]:
    """Align ``pred`` to ``gt`` per pose with the least-squares similarity transform.

    Finds ``s, R, t`` minimising ``Σ_j m_j ‖s R p_j + t − g_j‖²`` (Umeyama / Kabsch by SVD) with
    ``R`` a proper rotation: a reflection is removed by flipping the sign of the last singular
    direction, as in VideoPose3D's P-MPJPE.

    Args:
        pred: ``[..., J, 3]`` predicted poses.
        gt: ``[..., J, 3]`` target poses (same shape).
        scale: Also fit the scale (True: similarity, False: rigid).
        mask: Optional ``[..., J]`` bool; only these joints define the fit (all joints are mapped).
        return_transform: Also return the :class:`SimilarityTransform`.

    Returns:
        ``aligned [..., J, 3]`` (and the transform if asked).

    Raises:
        ValueError: on mismatched shapes, non-finite values in used joints, a pose without used
            joints, or a predicted pose with zero spread (scale undefined).
    """
    p = _as_float(pred, "pred")
    g = _as_float(gt, "gt")
    if p.ndim < 2 or p.shape[-1] != 3:
        raise ValueError(f"pred: expected shape [..., J, 3], got {p.shape}")
    if g.shape != p.shape:
        raise ValueError(f"gt: expected the shape of pred {p.shape}, got {g.shape}")
    if mask is None:
        m = np.ones(p.shape[:-1], dtype=bool)
    else:
        m = np.asarray(mask, dtype=bool)
        try:
            m = np.broadcast_to(m, p.shape[:-1])
        except ValueError:
            raise ValueError(f"mask: expected shape {p.shape[:-1]}, got {m.shape}") from None
    used_p = np.where(m[..., None], p, 0.0)
    used_g = np.where(m[..., None], g, 0.0)
    if not (np.isfinite(used_p).all() and np.isfinite(used_g).all()):
        raise ValueError("pred/gt: NaN or inf in a joint used for alignment")
    if not np.isfinite(p).all():
        raise ValueError("pred: NaN or inf (masked-out joints are transformed too)")
    w = m.astype(np.float64)
    n = w.sum(axis=-1)
    if (n < 1).any():
        raise ValueError(f"mask: pose {_first_index(n < 1)} has no joint to align on")
    mu_p = np.einsum("...j,...jd->...d", w, used_p) / n[..., None]
    mu_g = np.einsum("...j,...jd->...d", w, used_g) / n[..., None]
    p0 = (used_p - mu_p[..., None, :]) * w[..., None]
    g0 = (used_g - mu_g[..., None, :]) * w[..., None]
    cov = np.einsum("...ja,...jb->...ab", g0, p0)  # Σ w g0 p0ᵀ
    u, sv, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    u = u.copy()
    u[..., :, 2] *= d[..., None]
    rot = u @ vt
    if scale:
        var_p = (p0 * p0).sum(axis=(-2, -1))
        flat = var_p <= 1e-12 * np.maximum((g0 * g0).sum(axis=(-2, -1)), 1e-300)
        if flat.any():
            raise ValueError(
                f"pred: pose {_first_index(flat)} has no spread over the used joints, "
                "so the scale is undefined"
            )
        s = (sv[..., 0] + sv[..., 1] + d * sv[..., 2]) / var_p
    else:
        s = np.ones(p.shape[:-2])
    trans = mu_g - s[..., None] * np.einsum("...ab,...b->...a", rot, mu_p)
    tf = SimilarityTransform(scale=np.asarray(s), rotation=rot, translation=trans)
    aligned = tf.apply(p)
    if return_transform:
        return aligned, tf
    return aligned


# ----------------------------------------------------------------------------------------------
# absolute reconstruction (MeTRAbs-style root solve)


@dataclass(frozen=True, eq=False)
class AbsoluteReconstruction:
    """Result of :func:`reconstruct_absolute`.

    Attributes:
        pose3d_abs_mm: ``[..., J, 3]`` camera-space pose (mm) = ``pose3d_rel_mm + translation_mm``.
        translation_mm: ``[..., 3]`` the solved offset (the root position for root-relative input).
        method: ``[...]`` str array, ``"perspective"`` or ``"weak_perspective"`` per pose.
        num_joints_used: ``[...]`` number of joints that constrained the solve.
    """

    pose3d_abs_mm: np.ndarray
    translation_mm: np.ndarray
    method: np.ndarray
    num_joints_used: np.ndarray


def _intrinsics_of(intrinsics: object) -> np.ndarray:
    arr = _as_float(intrinsics, "intrinsics")
    if arr.ndim >= 2 and arr.shape[-2:] == (3, 3):
        return intrinsics_from_matrix(arr, "intrinsics")
    if arr.ndim >= 1 and arr.shape[-1] == 4:
        return arr
    raise ValueError(
        f"intrinsics: expected (fx, fy, cx, cy) [..., 4] or K [..., 3, 3], got {arr.shape}"
    )


@overload
def reconstruct_absolute(
    kp2d_px: np.ndarray, pose3d_rel_mm: np.ndarray, intrinsics: np.ndarray,
    valid: np.ndarray | None = ..., dist: np.ndarray | None = ..., *,
    image_size: np.ndarray | tuple[float, float] | None = ...,
    weak_perspective_min_joints: int = ..., regularization: float = ...,
    joint_weights: np.ndarray | None = ..., return_details: Literal[False] = ...,
) -> np.ndarray: ...


@overload
def reconstruct_absolute(
    kp2d_px: np.ndarray, pose3d_rel_mm: np.ndarray, intrinsics: np.ndarray,
    valid: np.ndarray | None = ..., dist: np.ndarray | None = ..., *,
    image_size: np.ndarray | tuple[float, float] | None = ...,
    weak_perspective_min_joints: int = ..., regularization: float = ...,
    joint_weights: np.ndarray | None = ..., return_details: Literal[True],
) -> AbsoluteReconstruction: ...


def reconstruct_absolute(
    kp2d_px: np.ndarray,
    pose3d_rel_mm: np.ndarray,
    intrinsics: np.ndarray,
    valid: np.ndarray | None = None,
    dist: np.ndarray | None = None,
    *,
    image_size: np.ndarray | tuple[float, float] | None = None,
    weak_perspective_min_joints: int = 4,
    regularization: float = 1e-9,
    joint_weights: np.ndarray | None = None,
    return_details: bool = False,
) -> np.ndarray | AbsoluteReconstruction:
    """Place a root-relative 3D pose in camera space so that it reprojects onto 2D keypoints.

    The MeTRAbs root solve: with undistorted normalised coordinates ``(x̂_j, ŷ_j)`` of the 2D
    keypoints and the relative pose ``p_j``, the translation ``T`` satisfies
    ``x̂_j (p_jz + T_z) = p_jx + T_x`` (same for y), which is linear in ``T``; it is solved by
    least squares over the *usable* joints (valid, finite after undistortion, and inside the image
    when ``image_size`` is given). The columns are equilibrated and a tiny Tikhonov term
    (``regularization``, relative to the equilibrated normal matrix) pulls ``T`` towards the
    weak-perspective estimate, which keeps nearly degenerate systems finite without biasing
    well-posed ones.

    With fewer than ``weak_perspective_min_joints`` usable joints (but at least 2), the weak-
    perspective estimate is used instead: depth of the mean point = ``s3d / s2d`` (RMS spreads of
    the 3D x,y and of the normalised 2D, i.e. ``f · s3d / s2d_px``), x, y from the means.

    Args:
        kp2d_px: ``[..., J, 2]`` pixel keypoints (distorted, as seen in the image).
        pose3d_rel_mm: ``[..., J, 3]`` relative pose (mm); leading dims broadcast with kp2d.
        intrinsics: ``[..., 4]`` ``(fx, fy, cx, cy)`` or ``[..., 3, 3]`` K.
        valid: optional ``[..., J]`` bool; invalid 2D joints may hold NaN.
        dist: optional ``[..., 5]`` distortion ``(k1, k2, k3, p1, p2)``.
        image_size: optional ``(W, H)`` or ``[..., 2]`` px; joints outside the image are dropped.
        weak_perspective_min_joints: fewest usable joints for the perspective solve (≥ 2).
        regularization: Tikhonov weight (≥ 0), relative to the unit-diagonal normal matrix.
        joint_weights: optional ``[J]`` weights (> 0) of the joints in the perspective solve.
        return_details: return an :class:`AbsoluteReconstruction` instead of the pose alone.

    Returns:
        ``pose3d_abs_mm [..., J, 3]`` or an :class:`AbsoluteReconstruction`.

    Raises:
        ValueError: on bad shapes or values, fewer than 2 usable joints or no 2D spread in a
            pose, or a solution that puts a usable joint at depth ≤ 0 (behind the camera).
    """
    kp, rel, intr, ok = _solve_inputs(kp2d_px, pose3d_rel_mm, intrinsics, valid,
                                      weak_perspective_min_joints, regularization)
    kp = np.where(ok[..., None], kp, 0.0)
    if image_size is not None:
        ok = ok & _inside_image(kp, image_size, ok.shape[:-1])
    xy = pixels_to_normalized(kp, intr, dist, on_failure="nan")
    ok = ok & np.isfinite(xy).all(axis=-1)
    xy = np.where(ok[..., None], xy, 0.0)

    w = ok.astype(np.float64)
    n = w.sum(axis=-1)
    if (n < 2).any():
        raise ValueError(
            f"valid: pose {_first_index(n < 2)} has fewer than 2 usable joints "
            "(valid, inside the image, undistortable); its position cannot be solved"
        )
    t_wp = _weak_perspective_translation(xy, rel, w, n)
    wp = _weighted(w, joint_weights)
    t_persp = _perspective_translation(xy, rel, wp, wp.sum(axis=-1), t_wp, regularization)
    use_persp = n >= weak_perspective_min_joints
    trans = np.where(use_persp[..., None], t_persp, t_wp)
    depth = rel[..., 2] + trans[..., None, 2]
    behind = ((depth <= 0) & ok).any(axis=-1)
    if behind.any():
        raise ValueError(
            f"kp2d_px/pose3d_rel_mm: the solution for pose {_first_index(behind)} puts joints "
            "at depth ≤ 0 (behind the camera); the 2D and 3D poses are inconsistent"
        )
    pose_abs = rel + trans[..., None, :]
    if not return_details:
        return pose_abs
    method = np.where(use_persp, "perspective", "weak_perspective")
    return AbsoluteReconstruction(pose_abs, trans, method, n.astype(np.int64))


def _weighted(w: np.ndarray, joint_weights: object | None) -> np.ndarray:
    """``w [..., J]`` times the checked per-joint weights ``[J]`` of the perspective solve."""
    if joint_weights is None:
        return w
    jw = _as_float(joint_weights, "joint_weights")
    if jw.shape != w.shape[-1:] or not (np.isfinite(jw).all() and (jw > 0).all()):
        raise ValueError(f"joint_weights: expected {w.shape[-1]} finite values > 0, got shape "
                         f"{jw.shape}")
    return w * jw


def _solve_inputs(kp2d_px: object, pose3d_rel_mm: object, intrinsics: object,
                  valid: object, weak_perspective_min_joints: int, regularization: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked inputs of :func:`reconstruct_absolute`, broadcast to common leading dims:
    ``(kp [..., J, 2] px, rel [..., J, 3] mm, intrinsics [..., 4], valid [..., J])``."""
    kp = _as_float(kp2d_px, "kp2d_px")
    rel = _as_float(pose3d_rel_mm, "pose3d_rel_mm")
    if kp.ndim < 2 or kp.shape[-1] != 2:
        raise ValueError(f"kp2d_px: expected shape [..., J, 2], got {kp.shape}")
    if rel.ndim < 2 or rel.shape[-1] != 3:
        raise ValueError(f"pose3d_rel_mm: expected shape [..., J, 3], got {rel.shape}")
    if kp.shape[-2] != rel.shape[-2]:
        raise ValueError(
            f"pose3d_rel_mm: expected {kp.shape[-2]} joints like kp2d_px, got {rel.shape[-2]}"
        )
    if not np.isfinite(rel).all():
        raise ValueError("pose3d_rel_mm: contains NaN or inf")
    if weak_perspective_min_joints < 2:
        raise ValueError(
            "weak_perspective_min_joints: expected an integer ≥ 2, "
            f"got {weak_perspective_min_joints}"
        )
    if not (np.isfinite(regularization) and regularization >= 0):
        raise ValueError(f"regularization: expected a finite value ≥ 0, got {regularization}")
    intr = _intrinsics_of(intrinsics)
    try:
        lead = np.broadcast_shapes(kp.shape[:-2], rel.shape[:-2], intr.shape[:-1])
    except ValueError:
        raise ValueError(
            f"kp2d_px/pose3d_rel_mm/intrinsics: leading shapes {kp.shape[:-2]}, "
            f"{rel.shape[:-2]}, {intr.shape[:-1]} do not broadcast"
        ) from None
    n_joints = kp.shape[-2]
    kp = np.broadcast_to(kp, lead + (n_joints, 2))
    rel = np.broadcast_to(rel, lead + (n_joints, 3))
    if valid is None:
        ok = np.ones(lead + (n_joints,), dtype=bool)
    else:
        ok = np.asarray(valid, dtype=bool)
        try:
            ok = np.broadcast_to(ok, lead + (n_joints,))
        except ValueError:
            raise ValueError(
                f"valid: expected shape {lead + (n_joints,)}, got {ok.shape}"
            ) from None
    if not np.isfinite(kp[ok]).all():
        raise ValueError("kp2d_px: NaN or inf in a joint marked valid")
    return kp, rel, intr, ok


def _inside_image(kp_px: np.ndarray, image_size: object, lead: tuple[int, ...]) -> np.ndarray:
    """``[..., J]`` joints inside ``image_size`` ``(W, H)`` / ``[..., 2]`` px (pixel centres on
    integers, so the image spans ``-0.5 .. W - 0.5``)."""
    size = _as_float(image_size, "image_size")
    if size.ndim < 1 or size.shape[-1] != 2 or not (np.isfinite(size).all() and
                                                      (size > 0).all()):
        raise ValueError(f"image_size: expected positive (W, H) [..., 2], got {size}")
    try:
        size = np.broadcast_to(size[..., None, :], lead + (kp_px.shape[-2], 2))
    except ValueError:
        raise ValueError(
            f"image_size: leading shape {size.shape[:-1]} does not broadcast to {lead}"
        ) from None
    return np.asarray(((kp_px >= -0.5) & (kp_px <= size - 0.5)).all(axis=-1))


def _weak_perspective_translation(xy: np.ndarray, rel: np.ndarray, w: np.ndarray,
                                  n: np.ndarray) -> np.ndarray:
    """``[..., 3]`` mm: depth of the mean point = RMS 3D x/y spread over normalised 2D spread,
    x and y from the means (weights ``w [..., J]``, ``n = Σ w``)."""
    m2 = np.einsum("...j,...jd->...d", w, xy) / n[..., None]
    m3 = np.einsum("...j,...jd->...d", w, rel) / n[..., None]
    d2 = (xy - m2[..., None, :]) * w[..., None]
    d3 = (rel[..., :2] - m3[..., None, :2]) * w[..., None]
    s2 = np.sqrt((d2 * d2).sum(axis=(-2, -1)) / n)
    s3 = np.sqrt((d3 * d3).sum(axis=(-2, -1)) / n)
    flat = s2 <= 1e-9
    if flat.any():
        raise ValueError(
            f"kp2d_px: the usable joints of pose {_first_index(flat)} coincide in 2D; "
            "the depth is undefined"
        )
    if (s3 <= 0).any():
        raise ValueError(
            f"pose3d_rel_mm: pose {_first_index(s3 <= 0)} has no x/y spread over the usable joints"
        )
    depth_wp = s3 / s2
    return np.concatenate([m2 * depth_wp[..., None] - m3[..., :2],
                           (depth_wp - m3[..., 2])[..., None]], axis=-1)


def _perspective_translation(xy: np.ndarray, rel: np.ndarray, w: np.ndarray, n: np.ndarray,
                             t_wp: np.ndarray, regularization: float) -> np.ndarray:
    """``[..., 3]`` mm: weighted least squares of the rows ``[1, 0, -x̂]·T = x̂ z - x`` and
    ``[0, 1, -ŷ]·T = ŷ z - y``, equilibrated, with a Tikhonov pull towards ``t_wp``."""
    xh, yh = xy[..., 0], xy[..., 1]
    bx = xh * rel[..., 2] - rel[..., 0]
    by = yh * rel[..., 2] - rel[..., 1]
    sw = n
    swx = (w * xh).sum(-1)
    swy = (w * yh).sum(-1)
    swr = (w * (xh * xh + yh * yh)).sum(-1)
    normal = np.zeros(n.shape + (3, 3))
    normal[..., 0, 0] = sw
    normal[..., 1, 1] = sw
    normal[..., 0, 2] = normal[..., 2, 0] = -swx
    normal[..., 1, 2] = normal[..., 2, 1] = -swy
    normal[..., 2, 2] = swr
    rhs = np.stack([(w * bx).sum(-1), (w * by).sum(-1), -(w * (xh * bx + yh * by)).sum(-1)],
                   axis=-1)
    c = np.sqrt(np.diagonal(normal, axis1=-2, axis2=-1))  # column equilibration
    ns = normal / (c[..., :, None] * c[..., None, :])
    rs = rhs / c + regularization * (c * t_wp)
    ns = ns + regularization * np.eye(3)
    return np.linalg.solve(ns, rs[..., None])[..., 0] / c


def in_picture(kp_px: np.ndarray, image_size_wh: tuple[int, int]) -> np.ndarray:
    """``[..., J]`` bool: keypoints ``[..., J, 2]`` px with ``0 <= x < W`` and ``0 <= y < H``
    (False for NaN)."""
    w, h = image_size_wh
    with np.errstate(invalid="ignore"):
        return np.asarray((kp_px[..., 0] >= 0) & (kp_px[..., 0] < w) & (kp_px[..., 1] >= 0)
                          & (kp_px[..., 1] < h))


def place_in_camera(kp_px: np.ndarray, rel_mm: np.ndarray, valid: np.ndarray,
                    intrinsics: np.ndarray, image_size_wh: tuple[int, int] | None = None,
                    dist: np.ndarray | None = None, joint_weights: np.ndarray | None = None
                    ) -> tuple[np.ndarray, str]:
    """One person's absolute camera-space pose ``[J, 3]`` mm and the ``root_method`` used.

    Solves (:func:`reconstruct_absolute`) with the valid joints inside the image
    (``0 <= x < W``, ``0 <= y < H``); if that is impossible (fewer than 2 joints, no 2D spread,
    or a solution behind the camera), with every valid joint; if that fails too, the absolute
    pose is unknown (NaN) and the method is ``"failed"``. Never raises on such poses.

    Args:
        kp_px: ``[J, 2]`` pixels (invalid joints may hold NaN).
        rel_mm: ``[J, 3]`` root-relative 3D, mm.
        valid: ``[J]`` bool.
        intrinsics: ``(fx, fy, cx, cy)`` px.
        image_size_wh: ``(W, H)`` px; None: every joint counts as inside.
        dist: optional ``(k1, k2, k3, p1, p2)`` lens distortion.
        joint_weights: optional ``[J]`` weights of the joints in the perspective solve.

    Returns:
        ``(pose_3d_abs_mm [J, 3], method)``, method ``"perspective"``, ``"weak_perspective"``
        or ``"failed"``.
    """
    valid = np.asarray(valid, dtype=bool)
    if image_size_wh is None:
        attempts = [valid]
    else:
        attempts = [valid & in_picture(kp_px, image_size_wh), valid]
    for use in attempts:
        if use.sum() < 2:
            continue
        try:
            solve = reconstruct_absolute(kp_px, rel_mm, intrinsics, valid=use, dist=dist,
                                         joint_weights=joint_weights, return_details=True)
        except ValueError:
            continue
        return solve.pose3d_abs_mm, str(solve.method)
    return np.full(np.shape(rel_mm), np.nan), "failed"
