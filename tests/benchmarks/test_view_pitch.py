"""The view-pitch diagnostic's geometry: the best rotation it reports, the turn it scans, and
the body pitch it compares."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.bench_view_pitch import about_x, best_rotation, body_pitch_deg
from tests.core.test_world_up import _scene


def test_best_rotation_finds_a_known_turn_and_its_axis() -> None:
    rng = np.random.default_rng(0)
    pose = rng.normal(0.0, 300.0, (17, 3))
    turned = pose @ about_x(-9.0).T
    angle, axis = best_rotation(pose, turned)
    assert angle == pytest.approx(9.0, abs=1e-6)
    assert axis == pytest.approx([-1.0, 0.0, 0.0], abs=1e-6)


def test_a_positive_turn_brings_the_head_towards_the_camera_and_raises_the_pitch() -> None:
    person = _scene(0.0, 1600.0, [(0, 4000)])[0]  # standing, level camera
    rel = person - person[0]
    head_top = 10
    assert (rel @ about_x(8.0).T)[head_top, 2] < rel[head_top, 2] - 50.0  # nearer: smaller z
    level = body_pitch_deg(rel[None])[0]
    assert level == pytest.approx(0.0, abs=0.5)
    assert body_pitch_deg((rel @ about_x(8.0).T)[None])[0] == pytest.approx(8.0, abs=0.5)
