"""BlazePose Heavy: the file fetched whole and checked, refused clearly when missing, and used
only for the final look (landmarks), never for finding people or for feature maps."""

from __future__ import annotations

import hashlib
import io
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest

from monopose.detect import heavy
from monopose.detect.heavy import (
    HEAVY_FILE_NAME,
    HEAVY_SIZE_BYTES,
    MODELS_DIR_ENV,
    check_landmark_model,
    fetch_heavy_model,
    find_heavy_model,
    heavy_model_path,
)


def _package(tmp_path: Path, members: dict[str, bytes]) -> str:
    """A ``.tgz`` like an npm package with ``members``; its ``file://`` address."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "pose.tgz"
    path.write_bytes(buf.getvalue())
    return path.as_uri()


def test_unknown_landmark_model_is_refused_by_name() -> None:
    assert check_landmark_model("heavy") == "heavy"
    with pytest.raises(ValueError, match="landmark_model: expected one of auto, full, heavy"):
        check_landmark_model("huge")


def test_missing_heavy_file_names_the_path_and_the_fetch_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert heavy_model_path() == tmp_path / HEAVY_FILE_NAME
    with pytest.raises(FileNotFoundError, match="monopose fetch-models") as err:
        find_heavy_model()
    assert str(tmp_path) in str(err.value)
    from monopose.detect.blazepose import BlazePoseDetector

    with pytest.raises(FileNotFoundError, match="landmark model 'heavy'"):
        BlazePoseDetector(landmark_model="heavy")


def test_fetch_writes_the_checked_file_whole(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    model = b"tflite bytes" * 100
    monkeypatch.setattr(heavy, "HEAVY_SHA256", hashlib.sha256(model).hexdigest())
    url = _package(tmp_path, {"package/README.md": b"x", f"package/{HEAVY_FILE_NAME}": model})
    dest = tmp_path / "models" / HEAVY_FILE_NAME
    assert fetch_heavy_model(url, dest) == dest
    assert dest.read_bytes() == model
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert [p.name for p in dest.parent.iterdir()] == [HEAVY_FILE_NAME]  # no temp file left
    (tmp_path / "pose.tgz").unlink()  # a good file present: nothing is downloaded
    assert fetch_heavy_model(url, dest) == dest


@pytest.mark.parametrize("members, words", [
    ({f"package/{HEAVY_FILE_NAME}": b"not the model"}, "SHA-256"),
    ({"package/pose_landmark_full.tflite": b"x"}, "is not the @mediapipe/pose package"),
])
def test_fetch_refuses_a_wrong_package_and_writes_nothing(
        tmp_path: Path, members: dict[str, bytes], words: str) -> None:
    dest = tmp_path / "models" / HEAVY_FILE_NAME
    with pytest.raises(RuntimeError, match=words):
        fetch_heavy_model(_package(tmp_path, members), dest)
    assert not dest.exists()
    assert not dest.parent.exists() or not any(dest.parent.iterdir())


def test_fetch_names_an_address_it_cannot_read(tmp_path: Path) -> None:
    url = (tmp_path / "absent.tgz").as_uri()
    with pytest.raises(RuntimeError, match="could not download .*absent.tgz"):
        fetch_heavy_model(url, tmp_path / HEAVY_FILE_NAME)


@pytest.fixture(scope="module")
def heavy_detector():
    from monopose.detect.blazepose import BlazePoseDetector

    try:
        find_heavy_model()
    except FileNotFoundError:
        pytest.skip("BlazePose Heavy not fetched (`monopose fetch-models`)")
    return BlazePoseDetector(landmark_model="heavy")


def test_heavy_changes_the_landmarks_only(detector, heavy_detector, standing_photo) -> None:
    """Same person found (the full network finds and keeps people), the same presence and the
    same feature maps; the keypoints are the heavy network's (close to the full one's, not
    equal) and the world landmarks the mean of both networks'."""
    from monopose.detect.landmarks import CROP_SIZE
    from monopose.detect.litert_model import LiteRTModel
    from monopose.detect.mirror import landmark_pass
    from monopose.detect.roi import crop_image

    full = detector.detect(standing_photo, with_features=True)
    big = heavy_detector.detect(standing_photo, with_features=True)
    assert len(full) == len(big) == 1
    a, b = full[0], big[0]
    assert b.presence_score == pytest.approx(a.presence_score)
    np.testing.assert_allclose(b.roi.center_px, a.roi.center_px)
    for name, fmap in a.feature_maps.items():
        np.testing.assert_array_equal(b.feature_maps[name].data, fmap.data)
    height_px = np.ptp(a.keypoints_px[:, 1])
    shift_px = np.linalg.norm(b.keypoints_px - a.keypoints_px, axis=1)
    assert shift_px.max() > 0.5  # another network answered
    assert np.median(shift_px) < 0.03 * height_px  # about the same body
    crop = crop_image(standing_photo, b.roi, (CROP_SIZE, CROP_SIZE), border="replicate")
    _, own = landmark_pass(LiteRTModel(find_heavy_model(), 1, preserve_all=False), crop, b.roi,
                           False)
    np.testing.assert_allclose(own.keypoints_px, b.keypoints_px, atol=1e-3)
    np.testing.assert_allclose(b.world_landmarks_m, 0.5 * (a.world_landmarks_m + own.world_m),
                               atol=1e-5)
    assert not np.allclose(own.world_m, a.world_landmarks_m, atol=1e-3)


def test_auto_takes_heavy_where_fetched_and_says_so_where_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Estimator's default: heavy when fetched; else the full network, said in each photo's
    warnings; the JSON names the network either way. A network asked for by name adds no note."""
    from monopose.detect.heavy import NOT_FETCHED_NOTE, resolve_landmark_model
    from monopose.pipeline.estimator import Estimator

    blank = np.zeros((64, 64, 3), np.uint8)
    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    assert resolve_landmark_model("auto") == "full"
    pred = Estimator().predict(blank)
    assert NOT_FETCHED_NOTE in pred.warnings and pred.to_json()["landmarks"] == "full"
    pred = Estimator(landmark_model="full").predict(blank)
    assert NOT_FETCHED_NOTE not in pred.warnings and pred.to_json()["landmarks"] == "full"
    (tmp_path / HEAVY_FILE_NAME).write_bytes(b"")  # a broken copy is not the heavy network
    assert resolve_landmark_model("auto") == "full"
    with pytest.raises(FileNotFoundError, match="not found or incomplete"):
        find_heavy_model()
    with (tmp_path / HEAVY_FILE_NAME).open("wb") as f:  # the right size: taken as fetched
        f.truncate(HEAVY_SIZE_BYTES)
    assert resolve_landmark_model("auto") == "heavy"
    monkeypatch.delenv(MODELS_DIR_ENV)
    try:
        find_heavy_model()
    except FileNotFoundError:
        return
    pred = Estimator().predict(blank)
    assert pred.warnings == [] and pred.to_json()["landmarks"] == "heavy"
    assert pred.to_json()["landmark_crops"] == 5
    assert Estimator(num_aug=2).predict(blank).to_json()["landmark_crops"] == 2


def test_models_trained_on_the_full_networks_outputs_keep_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under auto, CA-PF and MeTRAbs (trained on the full network's outputs of rendered people)
    keep the full network, with no note; asked by name, they get what was asked."""
    from monopose.pipeline.estimator import Estimator

    monkeypatch.setenv(MODELS_DIR_ENV, str(tmp_path))
    blank = np.zeros((64, 64, 3), np.uint8)
    for name in ("capf-blazepose-t1", "metrabs-blazepose"):
        pred = Estimator(model=name).predict(blank)
        assert pred.warnings == [] and pred.landmarks == "full"
    with pytest.raises(FileNotFoundError, match="fetch-models"):
        Estimator(model="capf-blazepose-t1", landmark_model="heavy")


def test_tracked_people_get_the_final_look_on_the_same_tracks(heavy_detector,
                                                               standing_photo) -> None:
    """A tracker with the final look follows the same crops and ids as one without it (the
    full network still tracks); only the keypoints change, to the heavy network's own answer
    through the person's crop."""
    from monopose.detect.heavy import heavy_landmarks
    from monopose.detect.tracking import PoseTracker

    plain, looked = PoseTracker(heavy_detector), PoseTracker(heavy_detector, final_look=True)
    for _ in range(3):
        (a,), (b,) = plain.update(standing_photo), looked.update(standing_photo)
        assert a.track_id == b.track_id
        np.testing.assert_allclose(b.roi.center_px, a.roi.center_px)
        assert b.presence_score == pytest.approx(a.presence_score)
        shift_px = np.linalg.norm(b.keypoints_px - a.keypoints_px, axis=1)
        assert shift_px.max() > 0.5
        assert np.median(shift_px) < 0.03 * np.ptp(a.keypoints_px[:, 1])
        own = heavy_landmarks(heavy_detector._heavy.model, standing_photo, b.roi, False)
        np.testing.assert_allclose(own.keypoints_px, b.keypoints_px, atol=1e-3)


def test_videos_take_the_heavy_look_only_when_asked_by_name(
        heavy_detector, standing_photo, tmp_path: Path) -> None:
    """``landmark_model="heavy"`` gives tracked people the heavy keypoints and says so in the
    result; the default (``auto``) tracks videos with the full network."""
    import cv2

    from monopose.pipeline.estimator import Estimator

    video = tmp_path / "clip.avi"
    small = cv2.resize(standing_photo, (540, 360))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (540, 360))
    for _ in range(3):
        writer.write(small[..., ::-1])
    writer.release()
    asked = Estimator(model="mpm-lift-t1", landmark_model="heavy", detector=heavy_detector)
    auto = Estimator(model="mpm-lift-t1", detector=heavy_detector)
    got, plain = asked.predict_video(video), auto.predict_video(video)
    assert got.to_json()["landmarks"] == "heavy" and plain.to_json()["landmarks"] == "full"
    assert got.to_json()["landmark_crops"] == plain.to_json()["landmark_crops"] == 1
    a, b = plain.frames[-1].people[0], got.frames[-1].people[0]
    assert not np.allclose(a.keypoints_2d_px, b.keypoints_2d_px, atol=0.5)


def test_each_of_several_people_gets_the_heavy_answer_through_their_own_crop(
        heavy_detector, standing_photo) -> None:
    """Two people in one image: each person's keypoints are what the heavy network answers
    through that person's kept crop, in the detector's order (not the other's)."""
    from monopose.detect.heavy import heavy_landmarks

    pair = np.ascontiguousarray(np.concatenate([standing_photo, standing_photo[:, ::-1]],
                                               axis=1))
    people = heavy_detector.detect(pair)
    assert len(people) == 2
    for person in people:
        own = heavy_landmarks(heavy_detector._heavy.model, pair, person.roi, False)
        np.testing.assert_allclose(own.keypoints_px, person.keypoints_px, atol=1e-3)


def test_heavy_look_through_several_crops(heavy_detector, standing_photo) -> None:
    """`landmark_crops` averages the heavy network's answers over the crops around the kept
    ROI; the person, ROI and presence stay those of the plain heavy look."""
    from monopose.detect.blazepose import BlazePoseDetector
    from monopose.detect.heavy import heavy_landmarks

    plain = heavy_detector.detect(standing_photo)[0]
    three = BlazePoseDetector(landmark_model="heavy", landmark_crops=3).detect(standing_photo)[0]
    assert three.presence_score == pytest.approx(plain.presence_score)
    own = heavy_landmarks(heavy_detector._heavy.model, standing_photo, plain.roi, False, 3)
    np.testing.assert_allclose(three.keypoints_px, own.keypoints_px, atol=1e-4)
    assert not np.allclose(three.keypoints_px, plain.keypoints_px, atol=0.5)
