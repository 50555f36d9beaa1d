"""The world-up benchmark's old rule, kept to compare against: right for standing people, far
off for a floor sitter, where the product's rule stays near the level camera."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_world_up import LEVEL_UP, angle_deg, before_up, now_up
from tests.core.test_world_up import _camera, _floor_sitter_y_up, _scene


def test_the_old_rule_tilts_with_a_floor_sitter_and_the_new_one_does_not() -> None:
    standing = _scene(0.0, 1600.0, [(0, 4000)])[0]
    assert float(angle_deg(before_up(standing), LEVEL_UP)) < 1.0
    rotation, t = _camera(0.0, 1500.0)
    sitter = (_floor_sitter_y_up(10.0) + np.array([0.0, 0.0, -4000.0])) @ rotation.T + t
    assert float(angle_deg(before_up(sitter), LEVEL_UP)) > 30.0  # the legs point forward
    assert float(angle_deg(now_up(sitter), LEVEL_UP)) < 5.0
