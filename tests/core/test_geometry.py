"""Tests for monopose.core.geometry: Procrustes alignment and absolute reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from monopose.core.camera import intrinsics_to_matrix, project_points
from monopose.core.geometry import procrustes_align, reconstruct_absolute

H36M_INTR = np.array([1145.049, 1143.781, 512.542, 515.451])
H36M_DIST = np.array([-0.20710, 0.24778, -0.00308, -0.00098, -0.00142])
H36M_SIZE = (1000, 1002)

# A standing person in H36M-17 order, camera axes (y down), pelvis at the origin (mm).
STANDING = np.array([
    [0, 0, 0], [-130, 0, 0], [-130, 450, 0], [-130, 880, 0], [130, 0, 0], [130, 450, 0],
    [130, 880, 0], [0, -230, 0], [0, -480, 0], [0, -580, -30], [0, -750, 0], [170, -450, 0],
    [200, -200, 0], [220, 30, 0], [-170, -450, 0], [-200, -200, 0], [-220, 30, 0],
], dtype=float)

SETTINGS = settings(deadline=None, max_examples=30)


def _poses(rng: np.random.Generator, n: int) -> np.ndarray:
    """``[n, 17, 3]`` root-relative poses: the standing pose, turned about the vertical axis
    by a random angle, with 30 mm joint jitter."""
    yaw = Rotation.from_euler("y", rng.uniform(0, 360, (n, 1)), degrees=True).as_matrix()
    poses = np.einsum("bij,kj->bki", yaw, STANDING) + rng.normal(0, 30, (n, 17, 3))
    return poses - poses[:, :1]


def _roots(rng: np.random.Generator, n: int, depth: tuple[float, float]) -> np.ndarray:
    z = rng.uniform(*depth, n)
    return np.stack([rng.uniform(-0.1, 0.1, n) * z, rng.uniform(-0.05, 0.05, n) * z, z], -1)


# ---------------------------------------------------------------------------------------------
# Procrustes


def _reference_procrustes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Frame-by-frame similarity Procrustes written from VideoPose3D's P-MPJPE formula
    (Frobenius-normalised point sets, R = V Uᵀ, reflection fixed on the last singular vector)."""
    out = np.empty_like(pred)
    for i in range(pred.shape[0]):
        mu_x, mu_y = gt[i].mean(0), pred[i].mean(0)
        x0, y0 = gt[i] - mu_x, pred[i] - mu_y
        nx, ny = np.linalg.norm(x0), np.linalg.norm(y0)
        x0, y0 = x0 / nx, y0 / ny
        u, s, vt = np.linalg.svd(x0.T @ y0)
        v = vt.T
        r = v @ u.T
        if np.linalg.det(r) < 0:
            v[:, -1] *= -1
            s[-1] *= -1
            r = v @ u.T
        a = s.sum() * nx / ny
        out[i] = a * pred[i] @ r + (mu_x - a * mu_y @ r)
    return out


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.05, 20.0),
       shift=st.floats(-5000, 5000))
def test_procrustes_recovers_similarity(seed: int, scale: float, shift: float) -> None:
    rng = np.random.default_rng(seed)
    pred = rng.normal(0, 300, (4, 17, 3))
    rot = Rotation.random(4, random_state=seed).as_matrix()
    t = rng.normal(shift, 100, (4, 3))
    gt = scale * np.einsum("bij,bkj->bki", rot, pred) + t[:, None]
    aligned, tf = procrustes_align(pred, gt, return_transform=True)
    np.testing.assert_allclose(aligned, gt, atol=1e-6 * max(1.0, abs(shift), scale * 300))
    np.testing.assert_allclose(tf.scale, scale, rtol=1e-9)
    np.testing.assert_allclose(tf.rotation, rot, atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(tf.rotation), 1.0)


def test_procrustes_matches_reference_and_fixes_reflection() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (50, 17, 3))
    pred = gt + rng.normal(0, 80, gt.shape)
    pred[::2, :, 0] *= -1  # every other prediction is mirrored: needs the reflection fix
    ours, tf = procrustes_align(pred, gt, return_transform=True)
    np.testing.assert_allclose(ours, _reference_procrustes(pred, gt), atol=1e-8)
    assert np.all(np.linalg.det(tf.rotation) > 0.999999)
    # A mirrored pose cannot be aligned perfectly by a proper rotation.
    assert np.linalg.norm(ours[0] - gt[0], axis=-1).mean() > 50.0


def test_procrustes_is_optimal_and_masked_joints_do_not_matter() -> None:
    rng = np.random.default_rng(1)
    gt = rng.normal(0, 300, (3, 17, 3))
    pred = gt + rng.normal(0, 50, gt.shape)
    aligned, tf = procrustes_align(pred, gt, return_transform=True)
    best = ((aligned - gt) ** 2).sum()
    for _ in range(20):  # small perturbations of the optimum never do better
        d_rot = Rotation.from_rotvec(rng.normal(0, 0.01, (3, 3))).as_matrix()
        moved = (tf.scale[:, None, None] * (1 + rng.normal(0, 0.01, (3, 1, 1)))
                 * np.einsum("bij,bjk,blk->bli", d_rot, tf.rotation, pred)
                 + tf.translation[:, None] + rng.normal(0, 1, (3, 1, 3)))
        assert ((moved - gt) ** 2).sum() >= best
    mask = np.ones((3, 17), dtype=bool)
    mask[:, 5] = False
    garbage = pred.copy()
    garbage[:, 5] = 1e6
    gt_nan = gt.copy()
    gt_nan[:, 5] = np.nan
    a1 = procrustes_align(pred, gt, mask=mask)
    a2 = procrustes_align(garbage, gt_nan, mask=mask)
    np.testing.assert_allclose(a1[:, mask[0]], a2[:, mask[0]], atol=1e-9)
    rigid = procrustes_align(3.0 * pred, gt, scale=False)
    np.testing.assert_allclose(np.linalg.norm(rigid - rigid.mean(1, keepdims=True)),
                               3.0 * np.linalg.norm(pred - pred.mean(1, keepdims=True)))


def test_procrustes_bad_input() -> None:
    with pytest.raises(ValueError, match="gt: expected the shape of pred"):
        procrustes_align(np.zeros((17, 3)), np.zeros((16, 3)))
    with pytest.raises(ValueError, match="pred: expected shape"):
        procrustes_align(np.zeros((17, 2)), np.zeros((17, 2)))
    with pytest.raises(ValueError, match="NaN"):
        procrustes_align(np.full((17, 3), np.nan), np.zeros((17, 3)))
    with pytest.raises(ValueError, match="no spread"):
        procrustes_align(np.ones((2, 17, 3)), np.random.default_rng(0).normal(size=(2, 17, 3)))
    with pytest.raises(ValueError, match="mask"):
        procrustes_align(np.zeros((17, 3)), np.zeros((17, 3)), mask=np.zeros(17, dtype=bool))


# ---------------------------------------------------------------------------------------------
# absolute reconstruction


def test_reconstruct_exact_on_noise_free_projections() -> None:
    rng = np.random.default_rng(2)
    B = 64
    rel = _poses(rng, B)
    root = _roots(rng, B, (2000.0, 12000.0))
    # Every sample has its own camera, with distortion.
    intr = H36M_INTR * rng.uniform(0.7, 1.3, (B, 1))
    dist = H36M_DIST * rng.uniform(0.5, 1.0, (B, 1))
    kp = project_points(rel + root[:, None], intr, dist)
    res = reconstruct_absolute(kp, rel, intr, dist=dist, return_details=True)
    rel_err = np.linalg.norm(res.translation_mm - root, axis=-1) / np.linalg.norm(root, axis=-1)
    assert rel_err.max() < 1e-6
    np.testing.assert_allclose(res.pose3d_abs_mm, rel + root[:, None], rtol=1e-6, atol=1e-3)
    assert (res.method == "perspective").all() and (res.num_joints_used == 17).all()
    # K instead of (fx, fy, cx, cy) gives the same answer; so does a per-sample loop.
    same = reconstruct_absolute(kp, rel, intrinsics_to_matrix(intr), dist=dist)
    np.testing.assert_allclose(same, res.pose3d_abs_mm, atol=1e-6)
    one = reconstruct_absolute(kp[7], rel[7], intr[7], dist=dist[7])
    np.testing.assert_allclose(one, res.pose3d_abs_mm[7], atol=1e-6)


def test_reconstruct_under_2d_noise() -> None:
    # σ = 2 px 2D noise, person at 4 m, H36M camera. Measured on 2000 poses (seed 0): mean root
    # error 12.5 mm, 95th percentile 28.7 mm, max 66 mm; the bounds leave a margin.
    rng = np.random.default_rng(3)
    B = 400
    rel = _poses(rng, B)
    root = _roots(rng, B, (4000.0, 4000.0))
    kp = project_points(rel + root[:, None], H36M_INTR, H36M_DIST)
    kp = kp + rng.normal(0, 2.0, kp.shape)
    out = reconstruct_absolute(kp, rel, H36M_INTR, dist=H36M_DIST)
    err = np.linalg.norm(out[:, 0] - root, axis=-1)
    assert err.mean() < 20.0
    assert np.percentile(err, 95) < 45.0
    # Ignoring the distortion would be clearly worse: the model is used.
    plain = reconstruct_absolute(kp, rel, H36M_INTR)
    assert np.linalg.norm(plain[:, 0] - root, axis=-1).mean() > err.mean()


def test_joint_weights_leave_exact_solves_alone_and_discount_bad_joints() -> None:
    rng = np.random.default_rng(5)
    B = 32
    rel = _poses(rng, B)
    root = _roots(rng, B, (3000.0, 6000.0))
    kp = project_points(rel + root[:, None], H36M_INTR)
    weights = np.linspace(1.0, 0.2, 17)
    exact = reconstruct_absolute(kp, rel, H36M_INTR, joint_weights=weights)
    np.testing.assert_allclose(exact[:, 0], root, rtol=1e-6)
    # Joints 13..16 (an arm) lifted wrongly: weighting them down keeps the root nearer.
    wrong = rel.copy()
    wrong[:, 13:] += rng.normal(0.0, 150.0, (B, 4, 3))
    plain = reconstruct_absolute(kp, wrong, H36M_INTR)[:, 0]
    low = np.ones(17)
    low[13:] = 0.05
    weighted = reconstruct_absolute(kp, wrong, H36M_INTR, joint_weights=low)[:, 0]
    assert np.linalg.norm(weighted - root, axis=-1).mean() < \
        0.5 * np.linalg.norm(plain - root, axis=-1).mean()
    for bad in (np.ones(16), np.r_[np.ones(16), 0.0], np.r_[np.ones(16), np.nan]):
        with pytest.raises(ValueError, match="joint_weights"):
            reconstruct_absolute(kp, rel, H36M_INTR, joint_weights=bad)


def test_reconstruct_with_half_the_joints_outside_the_image() -> None:
    rng = np.random.default_rng(4)
    B = 32
    rel = _poses(rng, B)
    root = _roots(rng, B, (2500.0, 3500.0))
    # The pelvis just below the bottom edge: hips, legs and hands leave the image.
    root[:, 1] = 0.45 * root[:, 2]
    kp = project_points(rel + root[:, None], H36M_INTR)
    outside = (kp[..., 1] > H36M_SIZE[1] - 0.5)
    assert outside[:, [0, 2, 3, 5, 6]].all() and outside.sum(-1).min() >= 7
    assert outside.mean() >= 0.45
    # A 2D detector puts truncated joints somewhere on the border.
    kp_det = kp.copy()
    kp_det[..., 1] = np.minimum(kp_det[..., 1], H36M_SIZE[1] + 40.0)
    res = reconstruct_absolute(kp_det, rel, H36M_INTR, image_size=H36M_SIZE,
                               return_details=True)
    assert np.abs(res.translation_mm - root).max() < 1e-4
    assert (res.num_joints_used == 17 - outside.sum(-1)).all()
    # Without the image bounds the clamped joints corrupt the solve.
    naive = reconstruct_absolute(kp_det, rel, H36M_INTR)
    assert np.abs(naive[:, 0] - root).max() > 10.0
    # Half the joints marked invalid (NaN 2D) works too.
    valid = np.zeros((B, 17), dtype=bool)
    valid[:, ::2] = True
    kp_nan = np.where(valid[..., None], kp, np.nan)
    half = reconstruct_absolute(kp_nan, rel, H36M_INTR, valid=valid)
    np.testing.assert_allclose(half[:, 0], root, atol=1e-4)


def test_reconstruct_falls_back_to_weak_perspective() -> None:
    rng = np.random.default_rng(5)
    rel = _poses(rng, 8)
    root = _roots(rng, 8, (3000.0, 6000.0))
    kp = project_points(rel + root[:, None], H36M_INTR)
    valid = np.zeros((8, 17), dtype=bool)
    valid[:, [0, 10, 13, 16]] = True  # pelvis, head top and both wrists
    res = reconstruct_absolute(kp, rel, H36M_INTR, valid=valid, weak_perspective_min_joints=5,
                               return_details=True)
    assert (res.method == "weak_perspective").all() and (res.num_joints_used == 4).all()
    # Approximate but sensible: within 10 % of the distance.
    rel_err = np.linalg.norm(res.translation_mm - root, axis=-1) / root[:, 2]
    assert rel_err.max() < 0.10
    full = reconstruct_absolute(kp, rel, H36M_INTR, valid=valid, return_details=True)
    assert (full.method == "perspective").all()
    np.testing.assert_allclose(full.translation_mm, root, rtol=1e-6)


def test_reconstruct_bad_input() -> None:
    rng = np.random.default_rng(6)
    rel = _poses(rng, 1)[0]
    root = np.array([0.0, 0.0, 4000.0])
    kp = project_points(rel + root, H36M_INTR)
    with pytest.raises(ValueError, match="pose3d_rel_mm: expected 17 joints"):
        reconstruct_absolute(kp, rel[:16], H36M_INTR)
    with pytest.raises(ValueError, match=r"kp2d_px: expected shape \[\.\.\., J, 2\]"):
        reconstruct_absolute(rel, rel, H36M_INTR)
    with pytest.raises(ValueError, match="intrinsics"):
        reconstruct_absolute(kp, rel, np.eye(2))
    bad = kp.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="kp2d_px: NaN"):
        reconstruct_absolute(bad, rel, H36M_INTR)
    with pytest.raises(ValueError, match="fewer than 2 usable joints"):
        reconstruct_absolute(kp, rel, H36M_INTR, valid=np.eye(17, dtype=bool)[0])
    with pytest.raises(ValueError, match="coincide in 2D"):
        reconstruct_absolute(np.zeros((17, 2)) + 500, rel, H36M_INTR)
    with pytest.raises(ValueError, match="valid: expected shape"):
        reconstruct_absolute(kp, rel, H36M_INTR, valid=np.ones(16, dtype=bool))
    # 2D that only a person behind the camera would produce.
    behind = rel + np.array([0.0, 0.0, -4000.0])
    xy = behind[:, :2] / behind[:, 2:]
    kp_behind = xy * H36M_INTR[:2] + H36M_INTR[2:]
    with pytest.raises(ValueError, match="behind the camera"):
        reconstruct_absolute(kp_behind, rel, H36M_INTR)
