import cv2
import numpy as np
import pytest

from monopose.detect import BlazePoseDetector, PersonDetection
from monopose.detect.blazepose import find_mediapipe_model


def _check_person(p: PersonDetection, shape):
    h, w = shape[:2]
    assert p.keypoints_px.shape == (33, 2) and p.world_landmarks_m.shape == (33, 3)
    assert p.keypoints_h36m_px.shape == (17, 2) and p.keypoints_coco_px.shape == (17, 2)
    assert p.derived_h36m[0] and not p.derived_h36m[1]  # pelvis derived, r_hip copied
    assert not p.derived_coco.any()
    x0, y0, x1, y1 = p.box_xyxy_px
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert 0.5 <= p.presence_score <= 1.0


def test_one_person(detector, standing_photo):
    people = detector.detect(standing_photo)
    assert len(people) == 1
    p = people[0]
    _check_person(p, standing_photo.shape)
    # pelvis (h36m) is the hip midpoint; hips sit below the shoulders in an upright photo
    assert np.allclose(p.keypoints_h36m_px, detector.keypoint_map.apply(p.keypoints_px))
    assert np.allclose(p.keypoints_h36m_px[0], p.keypoints_px[[23, 24]].mean(0), atol=5.0)
    assert p.keypoints_px[[23, 24], 1].mean() > p.keypoints_px[[11, 12], 1].mean()
    # world landmarks: metres, hip-centred
    assert np.linalg.norm(p.world_landmarks_m[[23, 24]].mean(0)) < 0.05
    assert 0.2 < np.linalg.norm(p.world_landmarks_m[11] - p.world_landmarks_m[12]) < 0.6


def test_agrees_with_mediapipe_legacy(detector, standing_photo):
    mp = pytest.importorskip("mediapipe")
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        ref = pose.process(standing_photo)
    assert ref.pose_landmarks is not None
    h, w = standing_photo.shape[:2]
    ref_px = np.array([[lm.x * w, lm.y * h] for lm in ref.pose_landmarks.landmark])
    ref_world = np.array([[lm.x, lm.y, lm.z] for lm in ref.pose_world_landmarks.landmark])
    # MediaPipe's single look through the detector's crop: the same maths, the same numbers
    from monopose.detect import BlazePoseDetector

    one_look = BlazePoseDetector(refine_rois=False)
    people = one_look.detect(standing_photo)
    dist = [np.median(np.linalg.norm(p.keypoints_px - ref_px, axis=1)) for p in people]
    best = people[int(np.argmin(dist))]
    assert min(dist) <= 2.0
    assert np.median(np.linalg.norm(best.world_landmarks_m - ref_world, axis=1)) < 0.01
    # the default's second look through the landmarks' own crop moves keypoints a little
    refined = detector.detect(standing_photo)
    assert len(refined) == len(people)
    assert np.median(np.linalg.norm(refined[0].keypoints_px - ref_px, axis=1)) <= 8.0


def test_two_people_side_by_side(detector, standing_photo):
    h, w = standing_photo.shape[:2]
    small = cv2.resize(standing_photo, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    pair = np.concatenate([small, small[:, ::-1]], axis=1)
    people = detector.detect(pair)
    assert len(people) == 2
    cx = sorted(p.box_xyxy_px[[0, 2]].mean() for p in people)
    half = pair.shape[1] / 2
    assert cx[0] < half < cx[1]


def test_nobody_gives_empty_list(detector, empty_scene_photo):
    assert detector.detect(empty_scene_photo) == []
    assert detector.detect(np.zeros((64, 48, 3), np.uint8)) == []


def test_grayscale_and_rgba_inputs(detector, standing_photo):
    small = cv2.resize(standing_photo, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    rgba = np.concatenate([small, np.full(small.shape[:2] + (1,), 255, np.uint8)], axis=2)
    p_rgb = detector.detect(small)
    p_gray = detector.detect(gray)
    p_gray1 = detector.detect(gray[..., None])
    p_rgba = detector.detect(rgba)
    assert len(p_gray) == len(p_gray1) == len(p_rgba) == 1
    assert np.allclose(p_rgba[0].keypoints_px, p_rgb[0].keypoints_px)
    assert np.allclose(p_gray[0].keypoints_px, p_gray1[0].keypoints_px)


def test_bad_inputs(detector, tmp_path):
    with pytest.raises(ValueError, match="empty"):
        detector.detect(np.zeros((0, 10, 3), np.uint8))
    with pytest.raises(ValueError, match="expected"):
        detector.detect(np.zeros((10, 10, 2), np.uint8))
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    with pytest.raises(ValueError, match="broken.jpg"):
        detector.detect(bad)
    with pytest.raises(FileNotFoundError, match="missing.png"):
        detector.detect(tmp_path / "missing.png")


def test_missing_model_file_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        BlazePoseDetector(landmark_path=tmp_path / "nope.tflite")
    with pytest.raises(FileNotFoundError, match="no_such_model.tflite"):
        find_mediapipe_model("pose_landmark/no_such_model.tflite")


def test_path_input_and_detect_many(detector, standing_photo, tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), cv2.cvtColor(standing_photo, cv2.COLOR_RGB2BGR))
    results = list(detector.detect_many([path, standing_photo]))
    assert [len(r) for r in results] == [1, 1]
    assert np.allclose(results[0][0].keypoints_px, results[1][0].keypoints_px)


def test_feature_maps(detector, standing_photo):
    people = detector.detect(standing_photo, with_features=True)
    assert len(people) == 1
    maps = people[0].feature_maps
    assert [m.stride for m in maps.values()] == [4, 8, 16, 32]
    for m in maps.values():
        side = 256 // m.stride
        assert m.data.shape == (side, side, m.channels) and m.data.dtype == np.float32
        assert np.allclose(m.map_to_image @ m.image_to_map, np.eye(3))
        centre = m.image_to_map @ np.array([*people[0].roi.center_px, 1.0])
        assert np.allclose(centre[:2], [side / 2, side / 2])
        f = m.sample(people[0].keypoints_px[:3])
        assert f.shape == (3, m.channels) and np.isfinite(f).all()
    # keypoints do not depend on whether features are read
    plain = detector.detect(standing_photo)[0]
    assert np.allclose(plain.keypoints_px, people[0].keypoints_px, atol=1e-3)
    infos = detector.available_feature_maps()
    assert {i.stride for i in infos} == {4, 8, 16, 32}


def test_unknown_feature_maps_are_named(standing_photo):
    from monopose.detect import BlazePoseDetector

    det = BlazePoseDetector(num_threads=1, feature_maps=("no/such/tensor",))
    assert det.detect(standing_photo)  # without features the names are never read
    with pytest.raises(ValueError, match=r"feature_maps: unknown tensor\(s\) \['no/such/tensor'\]"):
        det.detect(standing_photo, with_features=True)
    crop = np.zeros((256, 256, 3), np.uint8)
    with pytest.raises(ValueError, match=r"names: unknown tensor\(s\) \['bogus'\]"):
        det.crop_features(crop, ["bogus"])
    with pytest.raises(ValueError, match=r"crop_rgb: expected a \[256, 256, 3\] uint8"):
        det.crop_features(crop[:128], [det.available_feature_maps()[0].name])


def test_crop_features_match_the_detectors_maps(detector, standing_photo):
    """The activations of a ready crop are those the detector reads through the same ROI."""
    from monopose.detect.landmarks import CROP_SIZE
    from monopose.detect.roi import crop_image

    person = detector.detect(standing_photo, with_features=True)[0]
    crop = crop_image(standing_photo, person.roi, (CROP_SIZE, CROP_SIZE), border="replicate")
    name = detector.feature_map_names[1]
    presence, maps = detector.crop_features(crop, [name])
    assert 0.5 < presence <= 1.0
    assert np.allclose(maps[name], person.feature_maps[name].data, atol=1e-4)


def test_batched_crops_match_one_by_one(detector, standing_photo):
    """Several ROIs run side by side on single-threaded copies give, in order, what the
    detector's own network gives for each; tiles likewise."""
    from monopose.detect.types import RotatedRect

    person = detector.detect(standing_photo)[0]
    roi = person.roi
    rois = [roi, RotatedRect((roi.center_px[0] + 15.0, roi.center_px[1]), roi.size_px, 0.1),
            RotatedRect(roi.center_px, (roi.size_px[0] * 0.8, roi.size_px[1] * 0.8), 0.0)]
    batched = detector.landmarks_for_rois(standing_photo, rois)
    single = [detector.landmarks_for_roi(standing_photo, r) for r in rois]
    assert detector._landmark_pool is not None and detector._landmark_pool.workers == 2
    for b, s in zip(batched, single, strict=True):
        assert abs(b.presence_score - s.presence_score) < 1e-3
        np.testing.assert_allclose(b.landmarks.keypoints_px, s.landmarks.keypoints_px, atol=0.05)
    assert not np.allclose(batched[0].landmarks.keypoints_px, batched[1].landmarks.keypoints_px)
    tiles = detector.tile_boxes(standing_photo.shape[1::-1], (2, 2), force=True)
    side_by_side = detector._tile_passes(standing_photo, tiles)
    in_turn = [detector._detector_pass(standing_photo, t) for t in tiles]
    for a, b in zip(side_by_side, in_turn, strict=True):
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-4)


def test_two_people_close_side_by_side(detector, standing_photo):
    """People close enough that their landmark ROIs overlap by IoU > 0.5 are both kept; the
    earlier ROI-overlap rule kept one."""
    h, w = standing_photo.shape[:2]
    small = cv2.resize(standing_photo, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    narrow = small[:, w // 4 - 40: w // 4 + 40]  # the person, 80 px wide
    pair = np.concatenate([narrow, narrow[:, ::-1]], axis=1)
    assert len(detector.detect(pair)) == 2
    old_rule = BlazePoseDetector(duplicate_frac=None)
    assert len(old_rule.detect(pair)) == 1
    with pytest.raises(ValueError, match="duplicate_frac"):
        BlazePoseDetector(duplicate_frac=1.5)
