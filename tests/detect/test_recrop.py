"""The second look at each person through the crop the first look's landmarks give."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from monopose.detect.blazepose import BlazePoseDetector
from monopose.detect.recrop import keep_refined, landmark_roi
from monopose.detect.roi import roi_from_alignment_points


def test_the_second_look_goes_through_the_landmarks_crop(standing_photo) -> None:
    once = BlazePoseDetector(num_threads=1, tiles="off", refine_rois=False)
    twice = BlazePoseDetector(num_threads=1, tiles="off")
    first, second = once.detect(standing_photo), twice.detect(standing_photo)
    assert len(first) == len(second) == 1
    detector_roi = once.roi_from_detection(once.detect_people(standing_photo)[0])
    np.testing.assert_allclose(first[0].roi.center_px, detector_roi.center_px)
    aux = first[0].auxiliary_px
    want = roi_from_alignment_points(aux[0], aux[1])
    np.testing.assert_allclose(second[0].roi.center_px, want.center_px)
    np.testing.assert_allclose(second[0].roi.size_px, want.size_px)
    assert not np.allclose(second[0].roi.center_px, detector_roi.center_px)
    # the same person, a little better framed
    size = np.ptp(first[0].keypoints_h36m_px, axis=0).max()
    assert np.abs(second[0].keypoints_h36m_px - first[0].keypoints_h36m_px).max() < 0.05 * size


def test_a_doubted_second_look_keeps_the_first(monkeypatch, standing_photo) -> None:
    det = BlazePoseDetector(num_threads=1, tiles="off")
    real = BlazePoseDetector.landmarks_for_rois
    calls = []

    def doubt_the_second(self, image, rois, with_features=False):
        calls.append(len(rois))
        out = real(self, image, rois, with_features)
        return out if len(calls) == 1 else [dataclasses.replace(r, presence_score=0.1)
                                            for r in out]

    monkeypatch.setattr(BlazePoseDetector, "landmarks_for_rois", doubt_the_second)
    people = det.detect(standing_photo)
    assert calls == [1, 1] and len(people) == 1 and people[0].presence_score > 0.5
    detector_roi = det.roi_from_detection(det.detect_people(standing_photo)[0])
    np.testing.assert_allclose(people[0].roi.center_px, detector_roi.center_px)


def test_keep_refined_and_landmark_roi() -> None:
    first, second = object(), object()

    class _Result:
        def __init__(self, presence: float) -> None:
            self.presence_score = presence

    a, b = _Result(0.9), _Result(0.4)
    assert keep_refined(first, a, second, b, 0.3) == (second, b)  # type: ignore[arg-type]
    assert keep_refined(first, a, second, b, 0.5) == (first, a)  # type: ignore[arg-type]

    @dataclasses.dataclass
    class _Landmarks:
        auxiliary_px: np.ndarray

    @dataclasses.dataclass
    class _WithLandmarks:
        landmarks: _Landmarks

    hips, above_head = np.array([100.0, 200.0]), np.array([100.0, 50.0])
    roi = landmark_roi(_WithLandmarks(_Landmarks(np.stack([hips, above_head]))))  # type: ignore[arg-type]
    np.testing.assert_allclose(roi.center_px, hips)
    assert roi.rotation_rad == pytest.approx(0.0, abs=1e-9)  # upright body, upright crop
