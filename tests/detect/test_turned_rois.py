"""Turned landmark ROIs: a person the upright ROI doubts is looked at again turned."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.landmarks import LandmarkOutput
from monopose.detect.recrop import (
    TURN_PRESENCE_TIE,
    TURNED_MIN_PRESENCE,
    choose_turn,
    mirror_disagreement,
)
from monopose.detect.types import RotatedRect


def _with_presence(monkeypatch, det: BlazePoseDetector, presence_by_turn: dict[int, float]):
    """Make the landmark network's presence depend on the ROI's turn from the detector's ROI
    (quarter turns), keeping its real landmarks; records the turns it was asked about."""
    real = BlazePoseDetector.landmarks_for_roi
    upright: dict[str, float] = {}
    asked: list[int] = []

    def fake(self, image, roi, with_features=False):
        res = real(self, image, roi, with_features)
        base = upright.setdefault("rad", roi.rotation_rad)
        turn = round((roi.rotation_rad - base) / (math.pi / 2)) % 4
        asked.append(turn)
        return dataclasses.replace(res, presence_score=presence_by_turn.get(turn, 0.0))

    monkeypatch.setattr(BlazePoseDetector, "landmarks_for_roi", fake)
    return asked


def test_a_doubted_person_is_found_turned(monkeypatch, standing_photo):
    det = BlazePoseDetector(num_threads=1, tiles="off", max_people=1, refine_rois=False)
    asked = _with_presence(monkeypatch, det, {0: 0.1, 1: 0.2, 2: 0.97, 3: 0.85})
    people = det.detect(standing_photo)
    assert asked == [0, 1, 2, 3] and len(people) == 1
    upright = det.roi_from_detection(det.detect_people(standing_photo)[0])
    turned = people[0].roi.rotation_rad - upright.rotation_rad
    assert turned == pytest.approx(math.pi)  # the surest turn wins (no other within the tie)
    assert people[0].presence_score == pytest.approx(0.97)
    # the keypoints come back in the photo's frame: world landmarks turn with the ROI
    assert np.isfinite(people[0].keypoints_h36m_px).all()


def test_turns_need_a_sure_network_and_the_option(monkeypatch, standing_photo):
    unsure = TURNED_MIN_PRESENCE - 0.05
    det = BlazePoseDetector(num_threads=1, tiles="off", max_people=1)
    _with_presence(monkeypatch, det, {0: 0.1, 1: unsure, 2: unsure, 3: unsure})
    assert det.detect(standing_photo) == []
    off = BlazePoseDetector(num_threads=1, tiles="off", max_people=1, turn_rois=False)
    asked = _with_presence(monkeypatch, off, {0: 0.1, 2: 0.99})
    assert off.detect(standing_photo) == [] and asked == [0]


def test_a_sure_upright_person_is_not_turned(monkeypatch, standing_photo):
    det = BlazePoseDetector(num_threads=1, tiles="off", max_people=1, refine_rois=False)
    asked = _with_presence(monkeypatch, det, {0: 0.8, 1: 1.0, 2: 1.0, 3: 1.0})
    people = det.detect(standing_photo)
    assert asked == [0] and len(people) == 1 and people[0].presence_score == pytest.approx(0.8)


def _roi(rotation_deg: float) -> RotatedRect:
    return RotatedRect(np.array([100.0, 100.0]), (80.0, 80.0), math.radians(rotation_deg))


@pytest.mark.parametrize(("presences", "rotation_deg", "turn"), [
    ((0.8, 1.0, 1.0, 1.0), 10.0, 0),  # sure and upright: never turned
    ((0.8, 1.0, 1.0, 1.0), -80.0, 0),  # lying sideways is upright enough
    ((0.97, 0.9, 0.95, 0.9999), 179.0, 3),  # upside down: the surest turn
    ((0.97, 0.9, 0.95, 0.9999), -120.0, 3),
    ((0.99, 0.9, 0.95, 0.98), 179.0, 0),  # upside down but surest as it is
    ((0.1, 0.2, 0.97, 0.95), 0.0, 2),  # doubted: a sure turn
    ((0.1, 0.2, 0.85, 0.5), 0.0, 0),  # doubted: turns not sure enough
    ((0.1, 0.2, 0.85, 0.5), 179.0, 0),  # both: a doubted crop still needs a sure turn
])
def test_choose_turn(presences, rotation_deg, turn):
    assert choose_turn(presences, _roi(rotation_deg), 0.3) == turn


def test_choose_turn_needs_four_presences():
    with pytest.raises(ValueError, match="presences: expected 4"):
        choose_turn([0.5, 0.5], _roi(0.0), 0.3)


def test_an_upside_down_detector_roi_is_turned_upright(monkeypatch, standing_photo):
    """The real network on the sample photo: a detector ROI turned upside down (as BlazePose's
    detector gives for some bent-over people) comes back upright, with the same keypoints."""
    det = BlazePoseDetector(num_threads=1, tiles="off", max_people=1)
    upright = det.detect(standing_photo)[0]
    real = BlazePoseDetector.roi_from_detection

    def upside_down(d):
        roi = real(d)
        return RotatedRect(roi.center_px, roi.size_px, roi.rotation_rad + math.pi)

    monkeypatch.setattr(BlazePoseDetector, "roi_from_detection", staticmethod(upside_down))
    person = det.detect(standing_photo)[0]
    turn = math.remainder(person.roi.rotation_rad - upright.roi.rotation_rad, 2 * math.pi)
    assert abs(turn) < 1e-6
    size = np.ptp(upright.keypoints_h36m_px, axis=0).max()
    assert np.abs(person.keypoints_h36m_px - upright.keypoints_h36m_px).max() < 0.02 * size
    off = BlazePoseDetector(num_threads=1, tiles="off", max_people=1, turn_rois=False)
    kept = off.detect(standing_photo, min_presence=0.0)
    assert not kept or abs(math.remainder(kept[0].roi.rotation_rad - upright.roi.rotation_rad,
                                          2 * math.pi)) > 3.0


@pytest.mark.parametrize(("presences", "disagreements", "rotation_deg", "turn"), [
    # all about as sure (presence saturates): the answer its mirror repeats wins
    ((0.998, 0.91, 1.0, 1.0), (0.01, 0.09, 0.10, 0.04), 94.0, 0),
    ((0.04, 0.999, 0.995, 0.96), (0.07, 0.08, 0.01, 0.02), 92.0, 2),
    # a turn clearly surer than the rest wins whatever its mirror says
    ((0.06, 0.44, 0.5, 1.0), (0.10, 0.10, 0.01, 0.04), 171.0, 3),
    # never turned when upright and sure, whatever the mirror says
    ((0.8, 1.0, 1.0, 1.0), (0.5, 0.01, 0.01, 0.01), 10.0, 0),
    # a doubted crop still needs a turn at least TURNED_MIN_PRESENCE sure
    ((0.1, 0.2, 0.85, 0.8), (0.1, 0.1, 0.01, 0.01), 0.0, 0),
])
def test_choose_turn_breaks_presence_ties_by_the_mirror(presences, disagreements, rotation_deg,
                                                       turn):
    assert choose_turn(presences, _roi(rotation_deg), 0.3, disagreements) == turn


def test_the_tie_is_the_documented_margin():
    near, far = 1.0 - 0.5 * TURN_PRESENCE_TIE, 1.0 - 1.5 * TURN_PRESENCE_TIE
    calm = (0.05, 0.05, 0.05, 0.01)
    assert choose_turn((0.1, 1.0, 0.2, near), _roi(179.0), 0.3, calm) == 3
    assert choose_turn((0.1, 1.0, 0.2, far), _roi(179.0), 0.3, calm) == 1
    with pytest.raises(ValueError, match="disagreements: expected 4"):
        choose_turn((0.1, 1.0, 0.2, near), _roi(179.0), 0.3, (0.1, 0.2))


def _landmarks(points_px: np.ndarray) -> LandmarkOutput:
    n = len(points_px)
    return LandmarkOutput(points_px, np.zeros(n), np.ones(n), np.ones(n), np.zeros((2, 2)),
                          np.zeros((n, 3)))


def test_mirror_disagreement_is_a_fraction_of_the_roi():
    pts = np.random.default_rng(0).uniform(0, 200, (33, 2))
    shifted = pts + [3.0, 4.0]  # 5 px each
    assert mirror_disagreement(_landmarks(pts), _landmarks(pts), _roi(0.0)) == 0.0
    assert mirror_disagreement(_landmarks(pts), _landmarks(shifted), _roi(0.0)) == \
        pytest.approx(5.0 / 80.0)


def test_presence_ties_go_to_the_crop_the_mirror_agrees_with(monkeypatch, standing_photo):
    """The real network on the sample photo, with every turn's presence faked to the same 0.999
    (as for S8 of the realgt photos, where presence cannot tell the turns apart): a detector ROI
    turned upside down or sideways comes back upright, because the network's answers for an
    upright crop and its mirror agree and those for a turned crop do not."""
    det = BlazePoseDetector(num_threads=1, tiles="off", max_people=1, refine_rois=False)
    upright = det.detect(standing_photo)[0]
    real = BlazePoseDetector.roi_from_detection
    for quarter in (1, 2, 3):
        def turned(d, quarter=quarter):
            roi = real(d)
            # a quarter turn a little past 90° from upright counts as upside down
            return RotatedRect(roi.center_px, roi.size_px, roi.rotation_rad
                               + quarter * math.pi / 2 + (-0.15 if quarter == 3 else 0.15))

        monkeypatch.setattr(BlazePoseDetector, "roi_from_detection", staticmethod(turned))
        _with_presence(monkeypatch, det, {0: 0.999, 1: 0.999, 2: 0.999, 3: 0.999})
        person = det.detect(standing_photo)[0]
        monkeypatch.undo()
        turn = math.remainder(person.roi.rotation_rad - upright.roi.rotation_rad, 2 * math.pi)
        assert abs(turn) < 0.16, (quarter, math.degrees(turn))
