"""Scaling a lifted pose to the size of a trusted reference."""

from __future__ import annotations

import numpy as np

from monopose.core.body_size import rescale_to_size, skeleton_size_mm
from monopose.data.proportions import to_reference_proportions


def _pose(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pose = to_reference_proportions(rng.normal(0, 300, (17, 3)))
    return pose - pose[0]


def test_the_shape_stays_and_the_size_follows_the_reference() -> None:
    own = _pose(0)
    # A reference of another pose (and rotation, root) but 15 % larger.
    ref = 1.15 * _pose(1) @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]]) + 500
    out, factor = rescale_to_size(own[None], ref[None])
    np.testing.assert_allclose(factor, 1.15, rtol=1e-9)
    np.testing.assert_allclose(skeleton_size_mm(out), skeleton_size_mm(ref[None]), rtol=1e-9)
    np.testing.assert_allclose(out[0] / 1.15, own, atol=1e-9)


def test_implausible_or_missing_references_change_little_or_nothing() -> None:
    own = _pose(2)[None]
    _, factor = rescale_to_size(own, 5.0 * own)
    assert factor[0] == 1.4
    out, factor = rescale_to_size(own, np.full_like(own, np.nan))
    assert factor[0] == 1.0 and np.array_equal(out, own)


def test_head_joints_do_not_count() -> None:
    own = _pose(3)
    moved = own.copy()
    moved[9:11] *= 3  # neck_nose and head_top placed far away
    assert np.isclose(skeleton_size_mm(own), skeleton_size_mm(moved))
