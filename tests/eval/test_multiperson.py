"""MuPoTS-style matching and scoring on constructed people with known errors."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.camera import project_points
from monopose.core.skeleton import H36M17
from monopose.eval.multiperson import (
    MUPOTS_MATCH_JOINTS_H36M17,
    MUPOTS_PCK_JOINTS_H36M17,
    MultiPersonFrame,
    match_people,
    score_multiperson,
)

INTR = np.array([1000.0, 1000.0, 320.0, 240.0])

# A standing h36m17 skeleton, pelvis at the origin, camera axes (y down), mm.
BASE = np.array([
    [0, 0, 0], [-100, 0, 0], [-105, 430, 0], [-110, 860, 20],
    [100, 0, 0], [105, 430, 0], [110, 860, 20],
    [0, -230, 0], [0, -470, 0], [0, -620, -50], [0, -770, 0],
    [170, -450, 0], [190, -170, 0], [200, 80, -20],
    [-170, -450, 0], [-190, -170, 0], [-200, 80, -20],
], dtype=np.float64)


def person(rng: np.random.Generator, root_mm) -> np.ndarray:
    """``[17, 3]`` camera-space pose: the base skeleton, jittered, with its pelvis at root."""
    return BASE + rng.normal(0.0, 20.0, BASE.shape) * (np.arange(17) > 0)[:, None] + root_mm


def frame(gt3d: np.ndarray, pred3d: np.ndarray, group="a", **kw) -> MultiPersonFrame:
    gt3d = np.asarray(gt3d, dtype=np.float64).reshape(-1, 17, 3)
    pred3d = np.asarray(pred3d, dtype=np.float64).reshape(-1, 17, 3)
    return MultiPersonFrame(pred_kp2d_px=project_points(pred3d, INTR), pred_pose3d_mm=pred3d,
                            gt_kp2d_px=project_points(gt3d, INTR), gt_pose3d_mm=gt3d,
                            group=group, **kw)


# ----------------------------------------------------------------------------------------------
# matching


def test_default_joints_follow_mupots_in_h36m17():
    names = [H36M17.joint_names[j] for j in MUPOTS_MATCH_JOINTS_H36M17]
    assert "thorax" in names and len(names) == 13
    for excluded in ("pelvis", "spine", "neck_nose", "head_top"):
        assert excluded not in names
    assert set(MUPOTS_PCK_JOINTS_H36M17) - set(MUPOTS_MATCH_JOINTS_H36M17) == {10}


def test_matching_finds_each_person_among_shuffled_jittered_candidates():
    rng = np.random.default_rng(0)
    roots = [(-1500, 0, 5000), (0, 100, 4000), (1500, 0, 6000), (800, 0, 9000)]
    gt = np.stack([person(rng, r) for r in roots])
    gt2d = project_points(gt, INTR)
    perm = rng.permutation(len(gt))
    pred2d = gt2d[perm] + rng.uniform(-15, 15, gt2d.shape)
    # a distractor far from everybody
    pred2d = np.concatenate([pred2d, gt2d[:1] + np.array([300.0, 200.0])])
    m = match_people(pred2d, gt2d)
    np.testing.assert_array_equal(m, np.argsort(perm))


def test_far_candidate_is_ignored_and_the_test_is_per_axis():
    rng = np.random.default_rng(1)
    gt2d = project_points(person(rng, (0, 0, 4000))[None], INTR)
    # 100 px away: no joint within 40 px → unmatched
    assert match_people(gt2d + np.array([100.0, 0.0]), gt2d).tolist() == [-1]
    # 30 px in both x and y (42 px Euclidean) still counts: the bound is per axis
    assert match_people(gt2d + np.array([30.0, 30.0]), gt2d).tolist() == [0]
    # strict bound: exactly 40 px does not count, 39.9 does
    assert match_people(gt2d + np.array([0.0, 40.0]), gt2d).tolist() == [-1]
    assert match_people(gt2d + np.array([0.0, 39.9]), gt2d).tolist() == [0]


def test_greedy_order_first_ground_truth_takes_a_shared_candidate():
    rng = np.random.default_rng(2)
    a = project_points(person(rng, (0, 0, 4000)), INTR)
    b = a + np.array([200.0, 0.0])
    # the candidate lies on b except for the left arm and leg, which lie on a
    cand = b.copy()
    cand[[4, 5, 6, 11, 12, 13]] = a[[4, 5, 6, 11, 12, 13]]
    gt = np.stack([a, b])
    # a is visited first and takes the candidate although it fits b better
    assert match_people(cand[None], gt).tolist() == [0, -1]
    assert match_people(cand[None], gt[::-1]).tolist() == [0, -1]  # b first: b takes it
    # with a second candidate on b, both are matched; b gets the remaining one
    assert match_people(np.stack([cand, b]), gt).tolist() == [0, 1]


def test_ties_go_to_the_lower_prediction_index_and_unmatched_when_no_predictions():
    rng = np.random.default_rng(3)
    g = project_points(person(rng, (0, 0, 4000)), INTR)
    assert match_people(np.stack([g + 1.0, g - 1.0]), g[None]).tolist() == [0]
    assert match_people(np.zeros((0, 17, 2)), g[None]).tolist() == [-1]
    assert match_people(g[None], np.zeros((0, 17, 2))).shape == (0,)


def test_invalid_and_missing_joints_do_not_count():
    rng = np.random.default_rng(4)
    g = project_points(person(rng, (0, 0, 4000)), INTR)
    pred = g + np.array([100.0, 0.0])
    pred[1] = g[1]  # one close joint (r_hip) is enough to match
    assert match_people(pred[None], g[None]).tolist() == [0]
    valid = np.ones((1, 17), dtype=bool)
    valid[0, 1] = False
    assert match_people(pred[None], g[None], valid).tolist() == [-1]
    nan_pred = pred.copy()
    nan_pred[1] = np.nan
    assert match_people(nan_pred[None], g[None]).tolist() == [-1]
    # a joint outside the considered set does not count either
    assert match_people(pred[None], g[None], joints=[2, 3]).tolist() == [-1]


def test_matching_rejects_bad_arguments():
    g = np.zeros((1, 17, 2))
    with pytest.raises(ValueError, match="gt_kp2d_px"):
        match_people(np.zeros((1, 17, 2)), np.zeros((1, 16, 2)))
    with pytest.raises(ValueError, match="pred_kp2d_px"):
        match_people(np.zeros((17, 2)), g)
    with pytest.raises(ValueError, match="gt_valid"):
        match_people(g, g, np.ones((1, 16), dtype=bool))
    with pytest.raises(ValueError, match="joints"):
        match_people(g, g, joints=[17])
    with pytest.raises(ValueError, match="threshold_px"):
        match_people(g, g, threshold_px=0.0)


# ----------------------------------------------------------------------------------------------
# scores


def test_translated_prediction_is_perfect_root_relative_and_wrong_in_absolute_terms():
    rng = np.random.default_rng(5)
    gt = np.stack([person(rng, (-800, 0, 5000)), person(rng, (900, 0, 6000))])
    pred = gt + np.array([0.0, 0.0, 200.0])  # 200 mm deeper: 2D moves by < 40 px
    s = score_multiperson([frame(gt, pred)])
    p = s.pooled
    assert p.recall == 100.0 and p.num_matched == 2
    assert p.pck_rootrel == 100.0
    assert p.auc_rootrel == pytest.approx(100.0 * 30 / 31)  # zero error fails only the 0 mm step
    assert p.pck_abs == 0.0 and p.auc_abs == 0.0
    assert p.mrpe_mm == pytest.approx(200.0)
    assert p.mpjpe_abs_mm == pytest.approx(200.0)
    assert p.mpjpe_rootrel_mm == pytest.approx(0.0, abs=1e-9)
    # 100 mm is inside the 150 mm threshold
    s100 = score_multiperson([frame(gt, gt + np.array([0.0, 100.0, 0.0]))])
    assert s100.pooled.pck_abs == 100.0 and s100.pooled.mrpe_mm == pytest.approx(100.0)


def test_root_relative_errors_on_some_joints_and_misses():
    rng = np.random.default_rng(6)
    gt = np.stack([person(rng, (-900, 0, 5000)), person(rng, (900, 0, 5000))])
    pred = gt[:1].copy()
    pred[0, [13, 16]] += np.array([0.0, 0.0, 200.0])  # both wrists 200 mm off
    s = score_multiperson([frame(gt, pred)])
    p = s.pooled
    assert s.matches[0].tolist() == [0, -1]
    assert p.recall == 50.0
    assert p.pck_rootrel == pytest.approx(100.0 * 12 / 14)
    assert p.pck_all_annotated == pytest.approx(100.0 * 12 / 14 * 0.5)
    assert p.mpjpe_rootrel_mm == pytest.approx(400.0 / 14)
    assert p.mrpe_mm == pytest.approx(0.0)


def test_pooled_versus_group_mean():
    rng = np.random.default_rng(7)
    shift = np.array([200.0, 0.0, 0.0])
    one = person(rng, (0, 0, 5000))[None]
    three = np.stack([person(rng, (x, 0, 6000)) for x in (-2000, 0, 2000)])
    frames = [frame(one, one, group="seq1"), frame(three, three + shift, group="seq2")]
    s = score_multiperson(frames)
    assert s.pooled.mrpe_mm == pytest.approx(600.0 / 4)
    assert s.group_mean.mrpe_mm == pytest.approx((0.0 + 200.0) / 2)
    assert s.pooled.pck_abs == pytest.approx(25.0)
    assert s.group_mean.pck_abs == pytest.approx(50.0)
    assert list(s.per_group) == ["seq1", "seq2"]
    assert s.per_group["seq2"].num_annotated == 3
    assert set(s.summary()) >= {"mrpe_mm", "group_mean/mrpe_mm"}


def test_group_without_detections():
    rng = np.random.default_rng(8)
    g = person(rng, (0, 0, 5000))[None]
    frames = [frame(g, g, group="hit"), frame(g, np.zeros((0, 17, 3)), group="miss")]
    s = score_multiperson(frames)
    miss = s.per_group["miss"]
    assert miss.recall == 0.0 and miss.pck_all_annotated == 0.0 and np.isnan(miss.pck_rootrel)
    assert s.group_mean.recall == 50.0
    assert s.group_mean.pck_rootrel == 100.0  # the empty group is left out of matched metrics
    assert s.group_mean.pck_all_annotated == 50.0  # ... but counts as 0 here
    assert s.pooled.recall == 50.0


def test_bone_rescaling_removes_a_global_scale_error():
    rng = np.random.default_rng(9)
    gt = np.stack([person(rng, (0, 0, 5000))])
    root = gt[:, :1]
    pred = root + 1.25 * (gt - root)  # every bone 25 % too long, pelvis exact
    plain = score_multiperson([frame(gt, pred)])
    scaled = score_multiperson([frame(gt, pred)], rescale=True)
    assert plain.pooled.mpjpe_rootrel_mm > 50.0
    assert scaled.pooled.mpjpe_rootrel_mm == pytest.approx(0.0, abs=1e-6)
    assert scaled.pooled.pck_rootrel == 100.0 and scaled.rescaled
    assert scaled.pooled.mrpe_mm == pytest.approx(0.0, abs=1e-9)


def test_scoring_rejects_bad_frames():
    z = np.zeros((1, 17, 3))
    with pytest.raises(ValueError, match="frames"):
        score_multiperson([])
    with pytest.raises(ValueError, match="pred_pose3d_mm"):
        MultiPersonFrame(np.zeros((2, 17, 2)), z, np.zeros((1, 17, 2)), z)
    with pytest.raises(ValueError, match="gt_pose3d_mm"):
        MultiPersonFrame(np.zeros((1, 17, 2)), z, np.zeros((1, 17, 2)), np.zeros((2, 17, 3)))
    with pytest.raises(ValueError, match="frames"):
        score_multiperson([MultiPersonFrame(np.zeros((1, 17, 2)), z, np.zeros((0, 17, 2)),
                                            np.zeros((0, 17, 3)))])
    with pytest.raises(ValueError, match="joints"):
        score_multiperson([frame(z + 1000, z + 1000)], joints=[40])
