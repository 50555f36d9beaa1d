"""The bundled sample photo through the default pipeline: the standing man comes out standing
upright and of an adult's size (the real-photo targets that need no ground truth)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from monopose.core.body_size import WORLD_LANDMARK_SIZE_SCALE, skeleton_size_mm
from monopose.core.skeleton import H36M17
from monopose.detect.keypoint_map import resolve_keypoint_map
from monopose.pipeline.estimator import Estimator
from monopose.pipeline.photo_search import PHOTO_MIN_PRESENCE

SAMPLE = Path(__file__).resolve().parents[2] / "monopose" / "assets" / "sample_person.jpg"


@pytest.fixture(scope="module")
def person():  # type: ignore[no-untyped-def]
    est = Estimator(num_threads=1)
    people = est.predict(SAMPLE).frames[0].people
    assert len(people) == 1
    return est, people[0]


def test_the_standing_man_is_upright_and_of_an_adults_size(person) -> None:
    _, p = person
    rel = p.pose_3d_rel_mm
    up = -np.array([0.0, 1.0, 0.0])  # a level photo: up is the camera's -y
    ankles = rel[[H36M17.index("l_ankle"), H36M17.index("r_ankle")]].mean(0)
    height_mm = float((rel[H36M17.index("head_top")] - ankles) @ up)
    assert 1500.0 <= height_mm <= 1800.0
    torso = rel[H36M17.index("thorax")] - rel[H36M17.index("pelvis")]
    lean_deg = np.degrees(np.arccos(torso @ up / np.linalg.norm(torso)))
    assert lean_deg < 5.0


def test_world_landmark_sizing_removes_their_bias(person) -> None:
    """The lifted pose takes the world landmarks' size times the scale fitted on renders."""
    est, p = person
    detected = est.detector.detect(SAMPLE, min_presence=PHOTO_MIN_PRESENCE)
    assert len(detected) == 1
    world_mm = resolve_keypoint_map("learned").apply(1000.0 * detected[0].world_landmarks_m)
    want = WORLD_LANDMARK_SIZE_SCALE * skeleton_size_mm(world_mm)
    assert WORLD_LANDMARK_SIZE_SCALE > 1.0
    # The ray fit keeps bone lengths as a soft term (σ 10 mm), so the size moves a little.
    np.testing.assert_allclose(skeleton_size_mm(p.pose_3d_rel_mm), want, rtol=2e-3)
