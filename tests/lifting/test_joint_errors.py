"""How far off each lifted joint is likely to be (monopose.lifting.joint_errors)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from monopose.core.rotations import axis_angle_to_matrix
from monopose.data.postures import POSTURES
from monopose.io.results import PersonResult
from monopose.lifting.floor_gate import FloorGatedLifter
from monopose.lifting.joint_errors import (
    OFFSET_MM,
    ErrorFeatures,
    JointErrorModel,
    error_features,
    error_model_path,
    load_error_model,
    world_disagreement_mm,
)
from monopose.lifting.lifter import Lifter
from monopose.models.interface import FramePeople
from monopose.models.weights_meta import SHIPPED_WEIGHTS_DIR
from tests.lifting.test_floor_gate import INTRINSICS, SIT_MM, STAND_MM, _pixels, _seen_from_side


def _rel(world_mm: np.ndarray) -> np.ndarray:
    cam = _seen_from_side(world_mm)
    return cam - cam[0]


def test_world_landmarks_turned_and_sized_onto_the_pose_disagree_only_where_they_differ() -> None:
    pose = _rel(STAND_MM)[None]
    turn = axis_angle_to_matrix(np.array([0.3, -1.1, 0.4]))
    world = (0.8 * pose[0] + [5.0, -40.0, 7.0]) @ turn.T  # smaller, turned, another root
    assert np.abs(world_disagreement_mm(pose, world[None])).max() < 1e-6
    moved = world.copy()
    moved[13] += 250.0 * turn @ np.array([0.0, 0.0, 1.0])  # the left wrist elsewhere
    d = world_disagreement_mm(pose, moved[None])[0]
    assert d.argmax() == 13 and d[13] > 150.0
    unknown = np.full((1, 17, 3), np.nan)
    assert np.isnan(world_disagreement_mm(pose, unknown)).all()


def test_features_measure_the_flip_tests_halves_and_keep_scores() -> None:
    lifted = _rel(STAND_MM)[None]
    direct = lifted.copy()
    direct[0, 3, 2] += 30.0  # the average lies 30 mm from one half: the halves 60 mm apart
    scores = np.full((1, 17), 0.7)
    f = error_features(lifted, direct, None, scores)
    assert f.flip_mm[0, 3] == pytest.approx(60.0) and f.flip_mm[0, 4] == 0.0
    assert np.isnan(f.world_mm).all() and np.isnan(f.second_mm).all() and (f.score == 0.7).all()
    second = lifted.copy()
    second[0, 13, 0] += 80.0
    f = error_features(np.concatenate([lifted, _rel(SIT_MM)[None]]),
                       np.concatenate([direct, _rel(SIT_MM)[None]]), None,
                       np.full((2, 17), 0.7), np.concatenate([second, _rel(SIT_MM)[None]]))
    assert f.second_mm[0, 13] == pytest.approx(80.0) and f.second_mm[1].max() == 0.0
    assert [POSTURES[k] for k in f.posture] == ["standing", "floor"]


def _synthetic(n: int, rng: np.random.Generator) -> tuple[ErrorFeatures, np.ndarray]:
    """People whose errors grow with the flip disagreement: log(e + OFFSET) = a_j + 0.5 ·
    log(flip + 5) + N(0, 0.3²)."""
    flip = rng.uniform(0.0, 200.0, (n, 17))
    feats = ErrorFeatures(flip, rng.uniform(0.0, 100.0, (n, 17)), rng.uniform(0.2, 1.0, (n, 17)),
                          rng.uniform(0.0, 100.0, (n, 17)), rng.integers(0, 3, n))
    a = np.linspace(2.0, 3.5, 17)
    err = np.exp(a + 0.5 * np.log(flip + 5.0) + rng.normal(0.0, 0.3, (n, 17))) - OFFSET_MM
    return feats, np.maximum(err, 0.0)


def test_fitted_model_finds_the_slope_and_its_bounds_hold_on_new_people() -> None:
    rng = np.random.default_rng(0)
    feats, err = _synthetic(3000, rng)
    depth = rng.uniform(2000.0, 8000.0, 3000)
    model = JointErrorModel.fit(feats, err, 0.1 * depth * rng.uniform(0.0, 2.0, 3000), depth)
    assert model.slopes[0] == pytest.approx(0.5, abs=0.03)
    assert np.abs(model.slopes[1:]).max() < 0.05  # the features the errors do not follow
    new_feats, new_err = _synthetic(3000, rng)
    est = model.predict(new_feats, np.full(3000, 4000.0))
    under_median = (new_err[:, 1:] <= est.joint_median_mm[:, 1:]).mean()
    under_p90 = (new_err[:, 1:] <= est.joint_p90_mm[:, 1:]).mean()
    assert 0.46 < under_median < 0.54 and 0.87 < under_p90 < 0.93
    assert (est.joint_median_mm[:, 0] == 0).all()
    assert model.root_fraction[0] == pytest.approx(0.1, abs=0.01)
    assert est.root_median_mm == pytest.approx(np.full(3000, 4000.0 * model.root_fraction[0]))


def test_unknown_world_landmarks_take_their_fitted_mean() -> None:
    rng = np.random.default_rng(1)
    feats, err = _synthetic(500, rng)
    model = JointErrorModel.fit(feats, err, np.ones(500), np.full(500, 1000.0))
    world_at_mean = np.full((2, 17), np.exp(model.means["world"]) - 20.0)
    second_at_mean = np.full((2, 17), np.exp(model.means["second"]) - 5.0)
    posture = feats.posture[:2]
    known = ErrorFeatures(feats.flip_mm[:2], world_at_mean, feats.score[:2], second_at_mean,
                          posture)
    unknown = ErrorFeatures(feats.flip_mm[:2], np.full((2, 17), np.nan), feats.score[:2],
                            np.full((2, 17), np.nan), posture)
    depth = np.array([3000.0, np.nan])
    a, b = model.predict(known, depth), model.predict(unknown, depth)
    assert np.allclose(a.joint_p90_mm, b.joint_p90_mm)
    assert np.isnan(b.root_median_mm[1])  # a person not placed has no root estimate
    with pytest.raises(ValueError, match="world: unknown values"):
        unknown.matrix()


def test_model_round_trips_through_json_and_bad_files_are_named(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    feats, err = _synthetic(200, rng)
    model = JointErrorModel.fit(feats, err, np.ones(200), np.full(200, 1000.0), {"x": 1})
    back = JointErrorModel.from_json(json.loads(json.dumps(model.to_json())))
    est_a = model.predict(feats, np.full(200, 1000.0))
    est_b = back.predict(feats, np.full(200, 1000.0))
    assert np.allclose(est_a.joint_p90_mm, est_b.joint_p90_mm, rtol=1e-4)
    payload = model.to_json()
    payload["features"] = ["flip"]
    with pytest.raises(ValueError, match="somewhere.json: not a joint error model"):
        JointErrorModel.from_json(payload, "somewhere.json")
    with pytest.raises(ValueError, match="errors"):
        JointErrorModel.fit(feats, err[:10], np.ones(10), np.ones(10))


def test_error_model_belongs_to_the_weights_it_was_fitted_for(tmp_path: Path) -> None:
    assert load_error_model("no-such-lifter", tmp_path) is None
    shipped = load_error_model("mpm-lift-t1")
    assert shipped is not None, ("the shipped mpm-lift-t1 error model is missing or fitted for "
                                 "other weights: run benchmarks/fit_joint_errors.py --save")
    shutil.copy(SHIPPED_WEIGHTS_DIR / "mpm-lift-t1.safetensors", tmp_path)
    shutil.copy(error_model_path("mpm-lift-t1"), tmp_path)
    payload = json.loads(error_model_path("mpm-lift-t1", tmp_path).read_text())
    assert load_error_model("mpm-lift-t1", tmp_path) is None  # its second lifter is not there
    shutil.copy(SHIPPED_WEIGHTS_DIR / "mpm-lift-t1-floorsit.safetensors", tmp_path)
    assert load_error_model("mpm-lift-t1", tmp_path) is not None
    for key in ("weights_sha256", "second_sha256"):  # fitted for other weights: stale
        stale = json.loads(json.dumps(payload))
        stale["provenance"][key] = "0" * 64
        error_model_path("mpm-lift-t1", tmp_path).write_text(json.dumps(stale))
        assert load_error_model("mpm-lift-t1", tmp_path) is None
    older = {**payload, "features": ["flip", "world", "score"]}  # an older model
    error_model_path("mpm-lift-t1", tmp_path).write_text(json.dumps(older))
    assert load_error_model("mpm-lift-t1", tmp_path) is None
    error_model_path("mpm-lift-t1", tmp_path).write_text("{not json")
    with pytest.raises(ValueError, match="unreadable error model"):
        load_error_model("mpm-lift-t1", tmp_path)


def _frame(worlds: list[np.ndarray]) -> FramePeople:
    cams = [_seen_from_side(w) for w in worlds]
    kp = np.stack([_pixels(c) for c in cams])
    dets = [SimpleNamespace(world_landmarks_m=np.zeros((33, 3)) + 0.001 * k) for k in
            range(len(worlds))]
    return FramePeople(None, dets, INTRINSICS, (1280, 720), kp, np.full((len(worlds), 17), 0.9),
                       np.ones((len(worlds), 17), bool))


def test_the_shipped_lifter_estimates_its_errors_and_the_json_carries_them() -> None:
    lifter = Lifter("mpm-lift-t1")
    poses = lifter.predict(_frame([STAND_MM, SIT_MM]))
    est = poses.errors
    assert est is not None and est.joint_median_mm.shape == (2, 17)
    assert (est.joint_p90_mm[:, 1:] > est.joint_median_mm[:, 1:]).all()
    assert (est.joint_median_mm[:, 1:] > 0).all() and (est.joint_median_mm[:, 0] == 0).all()
    # the root's bound grows with the distance it was placed at
    ratio = est.root_p90_mm / poses.pose_3d_abs_mm[:, 0, 2]
    assert np.allclose(ratio, ratio[0])
    person = PersonResult(np.zeros(4), 1.0, poses.keypoints_2d_px[0], poses.keypoint_scores[0],
                          poses.keypoints_valid[0], poses.pose_3d_rel_mm[0],
                          poses.pose_3d_abs_mm[0], "perspective", errors=est.person(0))
    out = person.to_json()["error_estimate"]
    assert len(out["joint_p90_mm"]) == 17 and out["root_p90_mm"] > out["root_median_mm"] > 0
    person.pose_3d_abs_mm = person.pose_3d_abs_mm + [0.0, 0.0, 1e9]  # too far: a failed root
    assert person.drop_nonfinite() is not None
    out = person.to_json()["error_estimate"]
    assert out["root_median_mm"] is None and out["joint_p90_mm"][3] is not None


def test_no_estimate_without_the_flip_test_and_none_for_people_handed_over() -> None:
    frame = _frame([STAND_MM, SIT_MM])
    assert Lifter("mpm-lift-t1", flip=False).predict(frame).errors is None
    # fitted with the default sizing and placement: other settings get none
    assert Lifter("mpm-lift-t1", placement="solve").predict(frame).errors is None
    base, floor = Lifter("mpm-lift-t1"), Lifter("mpm-lift-t1-floorsit")
    gated = FloorGatedLifter(base, floor)
    assert base.second is floor  # the error model's second opinion: the same network
    poses = gated.predict(frame)
    assert poses.errors is not None
    handed = gated.last_handed_over
    assert handed.tolist() == [False, True]
    assert np.isfinite(poses.errors.joint_p90_mm[0]).all()
    assert np.isnan(poses.errors.joint_p90_mm[1]).all()


@pytest.mark.parametrize(("landmarks", "crops", "expected"),
                         [("heavy", 5, True), ("heavy", 1, False), ("full", 1, False)])
def test_photos_carry_the_estimate_only_with_the_keypoints_it_was_fitted_on(
        landmarks: str, crops: int, expected: bool) -> None:
    from monopose.pipeline.estimator import Estimator

    kp = _pixels(_seen_from_side(STAND_MM))
    det = SimpleNamespace(keypoints_h36m_px=kp, keypoint_score=np.full(33, 0.9),
                          valid_h36m=np.ones(17, bool), box_xyxy_px=np.array([0, 0, 10, 10.0]),
                          detection_score=0.9, presence_score=0.95, track_id=None,
                          world_landmarks_m=np.zeros((33, 3)))
    detector = SimpleNamespace(detect=lambda *a, **k: [det], landmark_model=landmarks,
                               landmark_crops=crops)
    est = Estimator("mpm-lift-t1", pose_model=Lifter("mpm-lift-t1"),
                    detector=detector)  # type: ignore[arg-type]
    pred = est.predict(np.zeros((720, 1280, 3), np.uint8), intrinsics=tuple(INTRINSICS))
    person = pred.to_json()["frames"][0]["people"][0]
    assert ("error_estimate" in person) is expected


def test_videos_get_a_lifter_without_the_error_model_and_its_cost() -> None:
    from monopose.pipeline.estimator import Estimator

    detector = SimpleNamespace(detect=lambda *a, **k: [], landmark_model="heavy",
                               landmark_crops=5)
    est = Estimator("mpm-lift-t1", detector=detector)  # type: ignore[arg-type]
    assert isinstance(est.model, Lifter) and est.model.error_model is not None
    videos = est.video_model
    assert videos is not est.model and isinstance(videos, Lifter)
    assert videos.error_model is None and videos.card is not None
    assert videos.card.name == "mpm-lift-t1"
