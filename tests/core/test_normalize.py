"""Tests for monopose.core.normalize: the lifter input convention."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monopose.core.normalize import denormalize_keypoints, normalize_keypoints

SETTINGS = settings(deadline=None, max_examples=30)


def test_hand_worked_window() -> None:
    # One frame, box x ∈ [100, 300], y ∈ [50, 150]: centre (200, 100), half longer side 100.
    kp = np.array([[[100.0, 50.0], [300.0, 150.0], [200.0, 100.0]]])
    norm, centre, scale = normalize_keypoints(kp)
    np.testing.assert_allclose(centre, [200.0, 100.0])
    assert scale == pytest.approx(100.0)
    np.testing.assert_allclose(norm[0], [[-1.0, -0.5], [1.0, 0.5], [0.0, 0.0]])


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), frames=st.integers(1, 9))
def test_round_trip_and_unit_box(seed: int, frames: int) -> None:
    rng = np.random.default_rng(seed)
    kp = rng.uniform(-200, 2000, (3, frames, 17, 2))
    valid = rng.random((3, frames, 17)) > 0.3
    valid[:, 0, 0] = True
    norm, centre, scale = normalize_keypoints(kp, valid)
    assert norm.shape == kp.shape and centre.shape == (3, 2) and scale.shape == (3,)
    back = denormalize_keypoints(norm, centre, scale)
    np.testing.assert_allclose(back[valid], kp[valid], atol=1e-9)
    assert (norm[~valid] == 0).all()
    # The valid joints of each window fill [-1, 1] along the longer side.
    for b in range(3):
        pts = norm[b][valid[b]]
        assert np.abs(pts).max() == pytest.approx(1.0)
        assert (pts.max(0) + pts.min(0)) == pytest.approx(np.zeros(2), abs=1e-9)


def test_invalid_joints_do_not_move_the_box() -> None:
    rng = np.random.default_rng(1)
    kp = rng.uniform(0, 500, (4, 17, 2))
    valid = np.ones((4, 17), dtype=bool)
    valid[:, 3] = False
    far = kp.copy()
    far[:, 3] = 1e5
    a = normalize_keypoints(kp, valid)
    b = normalize_keypoints(far, valid)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match=r"keypoints_px: expected shape \[\.\.\., T, J, 2\]"):
        normalize_keypoints(np.zeros((17, 2)))
    with pytest.raises(ValueError, match="valid: expected shape"):
        normalize_keypoints(np.zeros((2, 17, 2)), np.ones((2, 16), dtype=bool))
    nan = np.zeros((2, 17, 2))
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        normalize_keypoints(nan)
    with pytest.raises(ValueError, match="no valid joint"):
        normalize_keypoints(np.zeros((2, 17, 2)), np.zeros((2, 17), dtype=bool))
