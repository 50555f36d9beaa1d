"""Test-time crops of the final landmark look: where the crops lie, what they average, and who
asks for them (the detector's `landmark_crops`, the Estimator's `num_aug` / `--tta`)."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.detect.crop_tta import (
    CROP_JITTER,
    MAX_LANDMARK_CROPS,
    check_landmark_crops,
    jittered_rois,
    look_through_crops,
)
from monopose.detect.landmarks import CROP_SIZE, LandmarkOutput, mean_landmarks
from monopose.detect.mirror import landmark_pass
from monopose.detect.roi import crop_image
from monopose.detect.types import RotatedRect

ROI = RotatedRect((300.0, 200.0), (100.0, 100.0), np.pi / 2)


def test_the_first_crop_is_the_roi_itself_and_the_rest_scale_and_shift() -> None:
    rois = jittered_rois(ROI, MAX_LANDMARK_CROPS)
    assert len(rois) == MAX_LANDMARK_CROPS and rois[0] == ROI
    assert jittered_rois(ROI, 1) == [ROI]
    for rect, (scale, dx, dy) in zip(rois, CROP_JITTER, strict=False):
        assert rect.rotation_rad == ROI.rotation_rad
        assert rect.size_px == pytest.approx((100.0 * scale, 100.0 * scale))
        offset = np.subtract(rect.center_px, ROI.center_px)
        assert np.hypot(*offset) == pytest.approx(100.0 * np.hypot(dx, dy))
    assert rois[1].center_px == rois[2].center_px == ROI.center_px
    # a shift of (+4 %, +4 %) along a crop turned by 90°: its x is the image's y, its y the
    # image's -x
    assert rois[3].center_px == pytest.approx((300.0 - 4.0, 200.0 + 4.0))
    assert rois[4].center_px == pytest.approx((300.0 + 4.0, 200.0 - 4.0))


@pytest.mark.parametrize("bad", [0, MAX_LANDMARK_CROPS + 1, 2.5, True, "3"])
def test_a_bad_number_of_crops_is_named(bad) -> None:
    with pytest.raises(ValueError, match=f"landmark_crops: expected 1 to {MAX_LANDMARK_CROPS}"):
        check_landmark_crops(bad)
    with pytest.raises(ValueError, match="expected 1 to"):
        jittered_rois(ROI, bad)


def test_mean_landmarks_averages_every_field() -> None:
    def output(v: float) -> LandmarkOutput:
        return LandmarkOutput(np.full((33, 2), v), np.full(33, v), np.full(33, v),
                              np.full(33, v), np.full((2, 2), v), np.full((33, 3), v))

    mean = mean_landmarks([output(1.0), output(2.0), output(6.0)])
    for field in ("keypoints_px", "z_px", "visibility", "presence", "auxiliary_px", "world_m"):
        np.testing.assert_allclose(getattr(mean, field), 3.0)
    with pytest.raises(ValueError, match="at least one"):
        mean_landmarks([])


def test_crops_average_the_networks_answers(detector, standing_photo) -> None:
    """One crop is the plain look; three are the mean of the three looks, about the same body
    but not the same keypoints."""
    person = detector.detect(standing_photo)[0]
    model = detector._landmark
    crop = crop_image(standing_photo, person.roi, (CROP_SIZE, CROP_SIZE), border="replicate")
    plain = landmark_pass(model, crop, person.roi)[1]
    one = look_through_crops(model, standing_photo, person.roi, 1)
    np.testing.assert_allclose(one.keypoints_px, plain.keypoints_px)
    three = look_through_crops(model, standing_photo, person.roi, 3)
    looks = [landmark_pass(model, crop_image(standing_photo, r, (CROP_SIZE, CROP_SIZE),
                                             border="replicate"), r)[1]
             for r in jittered_rois(person.roi, 3)]
    np.testing.assert_allclose(three.keypoints_px, np.mean([lk.keypoints_px for lk in looks], 0),
                               atol=1e-6)
    height_px = np.ptp(plain.keypoints_px[:, 1])
    shift_px = np.linalg.norm(three.keypoints_px - plain.keypoints_px, axis=1)
    assert shift_px.max() > 0.5 and np.median(shift_px) < 0.02 * height_px


def test_the_detector_changes_only_the_final_keypoints(detector, standing_photo) -> None:
    """`landmark_crops` keeps the person, ROI and presence the detector chose; the keypoints
    are the crops' mean."""
    from monopose.detect.blazepose import BlazePoseDetector

    with pytest.raises(ValueError, match="landmark_crops: expected 1 to 8"):
        BlazePoseDetector(landmark_crops=0)
    plain = detector.detect(standing_photo)[0]
    three = BlazePoseDetector(landmark_crops=3).detect(standing_photo)[0]
    assert three.presence_score == pytest.approx(plain.presence_score)
    np.testing.assert_allclose(three.roi.center_px, plain.roi.center_px)
    expected = look_through_crops(detector._landmark, standing_photo, plain.roi, 3)
    np.testing.assert_allclose(three.keypoints_px, expected.keypoints_px, atol=1e-4)
    assert not np.allclose(three.keypoints_px, plain.keypoints_px, atol=0.5)


def test_tta_reaches_the_landmark_look_of_keypoint_models_only() -> None:
    from monopose.pipeline.estimator import Estimator

    assert Estimator(num_aug=3, landmark_model="full").detector.landmark_crops == 3
    assert Estimator(landmark_model="full").detector.landmark_crops == 1
    metrabs = Estimator(model="metrabs-blazepose", num_aug=3, landmark_model="full")
    assert metrabs.detector.landmark_crops == 1  # MeTRAbs augments its own crops
    assert metrabs.video_crops == 1
    assert Estimator(num_aug=3, landmark_model="full").video_crops == 3


def test_photos_default_to_several_crops_with_the_heavy_network_only() -> None:
    """Photos of keypoint models take PHOTO_LANDMARK_CROPS crops of BlazePose Heavy's final
    look unless `--tta` says otherwise; videos and models trained on the full network's
    outputs take one."""
    from monopose.detect import heavy
    from monopose.pipeline import estimator
    from monopose.pipeline.photo_search import PHOTO_LANDMARK_CROPS

    try:
        heavy.find_heavy_model()
    except FileNotFoundError:
        pytest.skip("BlazePose Heavy not fetched (`monopose fetch-models`)")
    est = estimator.Estimator()
    assert est.detector.landmark_model == "heavy"
    assert est.detector.landmark_crops == PHOTO_LANDMARK_CROPS > 1
    assert est.video_crops == 1
    assert estimator.Estimator(num_aug=1).detector.landmark_crops == 1
    capf = estimator.Estimator(model="capf-blazepose-t1")
    assert capf.detector.landmark_model == "full" and capf.detector.landmark_crops == 1


def test_the_tracker_takes_its_own_number_of_crops(detector, standing_photo) -> None:
    """A tracker's final look uses its `final_look_crops`, whatever the detector's photo
    setting."""
    from monopose.detect.tracking import PoseTracker

    with pytest.raises(ValueError, match="final_look_crops: expected 1 to 8"):
        PoseTracker(detector, final_look_crops=9)
    plain = PoseTracker(detector, final_look=True).update(standing_photo)[0]
    three = PoseTracker(detector, final_look=True, final_look_crops=3).update(standing_photo)[0]
    expected = look_through_crops(detector._landmark, standing_photo, three.roi, 3)
    np.testing.assert_allclose(three.keypoints_px, expected.keypoints_px, atol=1e-4)
    assert not np.allclose(three.keypoints_px, plain.keypoints_px, atol=0.5)


def test_photo_crops_rule() -> None:
    from monopose.pipeline.photo_search import PHOTO_LANDMARK_CROPS, photo_landmark_crops

    assert photo_landmark_crops(None, True, "heavy") == PHOTO_LANDMARK_CROPS
    assert photo_landmark_crops(None, True, "full") == 1
    assert photo_landmark_crops(2, True, "full") == 2
    assert photo_landmark_crops(1, True, "heavy") == 1
    assert photo_landmark_crops(4, False, "heavy") == 1  # MeTRAbs: its own crops
