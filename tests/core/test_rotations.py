"""Euler compositions, rotation fitting and quaternions (numpy)."""

from __future__ import annotations

import numpy as np

from monopose.core.rotations import (
    axis_angle_to_matrix,
    euler_to_matrix,
    kabsch_rotation,
    matrix_to_quaternion,
    quaternion_continuity,
    swing_rotation,
)


def test_euler_composition_order() -> None:
    a = np.array([20.0, -35.0, 50.0])
    r = euler_to_matrix(a, [2, 0, 1])
    rz = euler_to_matrix(a[:1], [2])
    rx = euler_to_matrix(a[1:2], [0])
    ry = euler_to_matrix(a[2:], [1])
    np.testing.assert_allclose(r, rz @ rx @ ry, atol=1e-12)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)


def test_swing_and_kabsch_are_proper_rotations() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    b[:3] = -a[:3]  # opposite directions
    r = swing_rotation(a, b)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    ua, ub = (v / np.linalg.norm(v, axis=-1, keepdims=True) for v in (a, b))
    np.testing.assert_allclose(np.einsum("nij,nj->ni", r, ua), ub, atol=1e-9)
    truth = euler_to_matrix(rng.uniform(-180, 180, (20, 3)), (0, 1, 2))
    src = rng.normal(size=(20, 3, 3))
    dst = np.einsum("nij,nkj->nki", truth, src)
    np.testing.assert_allclose(kabsch_rotation(src, dst), truth, atol=1e-9)
    mirrored = dst * [-1, 1, 1]  # a reflection is never returned
    np.testing.assert_allclose(np.linalg.det(kabsch_rotation(src, mirrored)), 1.0, atol=1e-9)


def test_quaternion_sign_continuity() -> None:
    yaw = np.linspace(0, 4 * np.pi, 100)
    r = euler_to_matrix(np.rad2deg(np.stack([yaw, yaw * 0, yaw * 0], -1)), (2, 0, 1))
    q = matrix_to_quaternion(r)
    assert (np.sum(q[1:] * q[:-1], -1) < 0).any()  # canonical (w >= 0) form flips sign
    qc = quaternion_continuity(q)
    assert (np.sum(qc[1:] * qc[:-1], -1) > 0).all()
    np.testing.assert_allclose(np.abs(np.sum(qc * q, -1)), 1.0, atol=1e-9)


def test_axis_angle_matrices_are_rotations_by_the_asked_angle() -> None:
    aa = np.random.default_rng(0).normal(size=(50, 3))
    r = axis_angle_to_matrix(aa)
    assert np.allclose(r @ np.swapaxes(r, 1, 2), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(r), 1.0)
    cos = (np.trace(r, axis1=1, axis2=2) - 1) / 2
    assert np.allclose(np.arccos(np.clip(cos, -1, 1)), np.linalg.norm(aa, axis=1) % (2 * np.pi))
    axis = aa / np.linalg.norm(aa, axis=1, keepdims=True)
    assert np.allclose(np.einsum("nij,nj->ni", r, axis), axis)  # the axis stays put
