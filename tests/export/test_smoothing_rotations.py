"""Smoothing filters and Euler-angle helpers used by the BVH export."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from monopose.core.rotations import euler_to_matrix
from monopose.export.rotations import continuous_euler, matrix_to_euler
from monopose.export.smoothing import jitter, smooth_positions


def _noisy_walk(rng: np.random.Generator, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / 30.0
    clean = np.zeros((n, 17, 3))
    clean[..., 0] = 300 * np.sin(2 * np.pi * 0.5 * t)[:, None] + np.arange(17) * 10
    clean[..., 1] = 100 * np.cos(2 * np.pi * 0.8 * t)[:, None]
    clean[..., 2] = 4000 + 200 * t[:, None]
    return clean, clean + rng.normal(0, 15, clean.shape)


@pytest.mark.parametrize("method", ["savgol", "one_euro"])
def test_smoothing_reduces_jitter_and_error(method: str) -> None:
    clean, noisy = _noisy_walk(np.random.default_rng(0))
    smooth = smooth_positions(noisy, 30.0, method)
    assert jitter(smooth) < 0.5 * jitter(noisy)
    err_noisy = np.linalg.norm(noisy - clean, axis=-1).mean()
    err_smooth = np.linalg.norm(smooth - clean, axis=-1).mean()
    assert err_smooth < err_noisy


def test_smoothing_off_is_identity_and_keeps_gaps() -> None:
    clean, noisy = _noisy_walk(np.random.default_rng(1))
    np.testing.assert_array_equal(smooth_positions(noisy, 30.0, "off"), noisy)
    noisy[40:45, 3] = np.nan
    for method in ("savgol", "one_euro"):
        out = smooth_positions(noisy, 30.0, method)
        assert np.isnan(out[40:45, 3]).all()
        assert np.isfinite(out[:40]).all() and np.isfinite(out[45:]).all()
    with pytest.raises(ValueError, match="method"):
        smooth_positions(noisy, 30.0, "kalman")
    with pytest.raises(ValueError, match="fps"):
        smooth_positions(noisy, 0.0, "savgol")


@pytest.mark.parametrize("axes", list(itertools.permutations(range(3))))
def test_euler_solutions_reproduce_the_matrix(axes: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(2)
    angles = rng.uniform(-180, 180, (200, 3))
    angles[:10, 1] = 90.0  # gimbal lock
    r = euler_to_matrix(angles, axes)
    for sol in matrix_to_euler(r, axes):
        np.testing.assert_allclose(euler_to_matrix(np.rad2deg(sol), axes), r, atol=1e-9)


def test_continuous_euler_unwraps_a_spin() -> None:
    yaw = np.linspace(0, 6 * np.pi, 400)  # three turns
    r = euler_to_matrix(np.stack([np.zeros_like(yaw), np.zeros_like(yaw), np.rad2deg(yaw)],
                                 -1), (2, 0, 1))
    e = continuous_euler(r, (2, 0, 1))
    assert np.abs(np.diff(e, axis=0)).max() < 0.1
    np.testing.assert_allclose(e[-1, 2], 6 * np.pi, atol=1e-6)
