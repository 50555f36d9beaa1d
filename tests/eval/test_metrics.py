"""Tests for monopose.eval.metrics: hand-worked cases, invariances and the benchmark protocols."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from monopose.eval.metrics import (
    AUC_THRESHOLDS_MM,
    H36M17_LIMB_GROUPS,
    H36M17_PART_GROUPS,
    MPI3DHP_PCK_GROUPS,
    MUPOTS_BONES,
    auc,
    auc_from_errors,
    average_by_group,
    joint_errors,
    mpi3dhp_pck_auc,
    mpjpe,
    mpjpe_per_sample,
    mrpe,
    mupots_pck_auc,
    n_mpjpe,
    n_mpjpe_per_sample,
    p_mpjpe,
    p_mpjpe_per_sample,
    pck,
    pck_from_errors,
    per_group_error,
    per_joint_error,
    rescale_bones,
)

SETTINGS = settings(deadline=None, max_examples=30)


def _offsets(rng: np.random.Generator, lengths: np.ndarray) -> np.ndarray:
    """Vectors of the given lengths in random directions."""
    d = rng.normal(size=lengths.shape + (3,))
    return d / np.linalg.norm(d, axis=-1, keepdims=True) * lengths[..., None]


# ---------------------------------------------------------------------------------------------
# hand-worked cases


def test_mpjpe_two_joint_example() -> None:
    # Joint 1 is off by (3, 4, 0) → 5 mm; the root is exact → MPJPE = (0 + 5) / 2.
    gt = np.array([[0.0, 0.0, 0.0], [100.0, 0.0, 0.0]])
    pred = np.array([[0.0, 0.0, 0.0], [103.0, 4.0, 0.0]])
    assert mpjpe(pred, gt) == pytest.approx(2.5)
    # Shifting the prediction does not change the root-relative error...
    assert mpjpe(pred + [10.0, 0.0, 0.0], gt) == pytest.approx(2.5)
    # ...but does change the absolute one: (10 + |(13, 4, 0)|) / 2.
    assert mpjpe(pred + [10.0, 0.0, 0.0], gt, root=None) == pytest.approx(
        (10 + math.hypot(13, 4)) / 2)
    # With the root at joint 1 instead, joint 0 carries the (-3, -4, 0) error.
    np.testing.assert_allclose(joint_errors(pred, gt, root=1), [5.0, 0.0])
    # Masking joint 1 out leaves only the exact root.
    assert mpjpe(pred, gt, mask=np.array([True, False])) == 0.0


def test_n_mpjpe_two_joint_example() -> None:
    # s = <p, g> / <p, p> = (2·1) / (2·2) = 0.5 → s·p1 = (1, 0, 0) vs (1, 1, 0): error 1 → mean 0.5.
    gt = np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    pred = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    assert n_mpjpe(pred, gt) == pytest.approx(0.5)
    assert mpjpe(pred, gt) == pytest.approx(math.hypot(1, 1) / 2)


def test_p_mpjpe_three_joint_example() -> None:
    # gt is an isoceles triangle; pred is the same triangle, rotated, scaled by 3, shifted and
    # with its apex moved by d along the symmetry axis. After optimal alignment of a symmetric
    # configuration the residuals lie on the axis: apex d·2/3, base joints d/3 each, before
    # scale; Procrustes also rescales by the least-squares factor, computed here by hand.
    gt = np.array([[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    d = 0.3
    moved = gt + np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, d, 0.0]])
    rot = Rotation.from_euler("xyz", [10, 20, 30], degrees=True).as_matrix()
    pred = 3.0 * moved @ rot.T + [5.0, -7.0, 2.0]
    # Centred: gt0 y = (-2/3, -2/3, 4/3); moved0 y = (-(2+d)/3, -(2+d)/3, 2(2+d)/3);
    # s = <m0, g0> / <m0, m0> over x and y; residual r = s·m0 - g0.
    g0 = gt - gt.mean(0)
    m0 = moved - moved.mean(0)
    s = (m0 * g0).sum() / (m0 * m0).sum()
    expected = np.linalg.norm(s * m0 - g0, axis=-1).mean()
    assert expected > 0.01
    assert p_mpjpe(pred, gt) == pytest.approx(expected, rel=1e-9)


def test_mrpe_and_per_joint() -> None:
    gt = np.zeros((2, 3, 3))
    pred = gt.copy()
    pred[0, 0] = [3.0, 4.0, 0.0]  # root error 5 in frame 0
    pred[1, 2] = [0.0, 0.0, 8.0]  # joint 2 error 8 in frame 1
    assert mrpe(pred, gt) == pytest.approx(2.5)
    assert mrpe(pred, gt, root=2) == pytest.approx(4.0)
    # Root-relative: frame 0 moves joints 1, 2 by -(3, 4, 0) → 5 each; frame 1 joint 2 → 8.
    np.testing.assert_allclose(per_joint_error(pred, gt), [0.0, 2.5, 6.5])
    np.testing.assert_allclose(mpjpe_per_sample(pred, gt), [10 / 3, 8 / 3])


def test_group_breakdowns_cover_h36m17() -> None:
    for groups in (H36M17_PART_GROUPS, H36M17_LIMB_GROUPS):
        joints = [j for g in groups.values() for j in g]
        assert len(joints) == len(set(joints))
    assert sorted(j for g in H36M17_PART_GROUPS.values() for j in g) == list(range(17))
    gt = np.zeros((4, 17, 3))
    pred = gt.copy()
    pred[:, 13, 0] = 40.0  # left wrist off by 40 mm
    parts = per_group_error(pred, gt)
    assert parts["arms"] == pytest.approx(40.0 / 6)
    assert parts["legs"] == parts["torso"] == parts["head"] == 0.0
    limbs = per_group_error(pred, gt, H36M17_LIMB_GROUPS)
    assert limbs["wrist"] == pytest.approx(20.0) and limbs["elbow"] == 0.0
    with pytest.raises(ValueError, match="groups"):
        per_group_error(pred, gt, {"bad": (17,)})


def test_average_by_group_both_conventions() -> None:
    errors = np.array([1.0, 2.0, 3.0, 10.0])
    labels = ["walk", "walk", "walk", "sit"]
    mean_of_means, means = average_by_group(errors, labels)
    assert means == {"walk": 2.0, "sit": 10.0}
    assert mean_of_means == pytest.approx(6.0)
    assert errors.mean() == pytest.approx(4.0)  # the frame-wise convention differs
    assert average_by_group(errors, np.array(labels))[1] == means
    with pytest.raises(ValueError, match="group_labels"):
        average_by_group(errors, labels[:3])
    with pytest.raises(ValueError, match="errors_per_frame"):
        average_by_group(np.array([1.0, np.nan]), ["a", "b"])


# ---------------------------------------------------------------------------------------------
# invariances


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.1, 10.0), shift=st.floats(-3e3, 3e3))
def test_p_mpjpe_invariant_to_similarity_of_prediction(seed: int, scale: float,
                                                       shift: float) -> None:
    rng = np.random.default_rng(seed)
    gt = rng.normal(0, 300, (5, 17, 3))
    pred = gt + rng.normal(0, 40, gt.shape)
    rot = Rotation.random(5, random_state=seed).as_matrix()
    moved = scale * np.einsum("bij,bkj->bki", rot, pred) + rng.normal(shift, 10, (5, 1, 3))
    base = p_mpjpe_per_sample(pred, gt)
    np.testing.assert_allclose(p_mpjpe_per_sample(moved, gt), base, rtol=1e-7, atol=1e-7)
    # And it is zero for an exact similarity of the ground truth.
    exact = scale * np.einsum("bij,bkj->bki", rot, gt) + shift
    assert p_mpjpe(exact, gt) < 1e-6 * max(1.0, abs(shift))
    # Alignment can only help compared with centring alone.
    assert p_mpjpe(pred, gt) <= mpjpe(pred - pred.mean(-2, keepdims=True),
                                      gt - gt.mean(-2, keepdims=True), root=None) + 1e-9


@SETTINGS
@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.1, 10.0))
def test_n_mpjpe_invariant_to_scale(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    gt = rng.normal(0, 300, (5, 17, 3))
    pred = gt + rng.normal(0, 40, gt.shape)
    np.testing.assert_allclose(n_mpjpe_per_sample(scale * pred, gt), n_mpjpe_per_sample(pred, gt),
                               rtol=1e-9)
    assert n_mpjpe(scale * gt, gt) < 1e-9
    # Not invariant to rotation, unlike P-MPJPE.
    rot = Rotation.from_euler("y", 90, degrees=True).as_matrix()
    assert n_mpjpe(gt @ rot.T, gt) > 10.0


# ---------------------------------------------------------------------------------------------
# PCK / AUC


def test_pck_auc_on_uniform_errors() -> None:
    # Errors evenly spread over [0, 300) mm: PCK@150 = 50 %, PCK(t) = t/300, so the AUC over
    # t = 0..150 is mean(t)/300 = 75/300 = 25 %.
    n = 6000
    e = (np.arange(n) + 0.5) * 300.0 / n
    assert pck_from_errors(e) == pytest.approx(50.0)
    assert auc_from_errors(e) == pytest.approx(25.0)
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 300, (n, 1, 3))
    pred = gt + _offsets(rng, e[:, None])
    assert pck(pred, gt, root=None) == pytest.approx(50.0)
    assert auc(pred, gt, root=None) == pytest.approx(25.0)
    # Random uniform errors: close to 50 %.
    e_rand = rng.uniform(0, 300, 20000)
    assert abs(pck_from_errors(e_rand) - 50.0) < 1.5


def test_pck_is_strict_and_auc_uses_31_thresholds() -> None:
    assert len(AUC_THRESHOLDS_MM) == 31 and AUC_THRESHOLDS_MM[-1] == 150.0
    assert pck_from_errors(np.array([150.0])) == 0.0
    assert pck_from_errors(np.array([149.999])) == 100.0
    # An error of exactly 0 passes every threshold but 0: AUC = 30/31.
    assert auc_from_errors(np.array([0.0])) == pytest.approx(100 * 30 / 31)
    # MeTRAbs' closed form: mean(max(0, 1 - floor(e/150·30 + 1)/31)).
    e = np.random.default_rng(1).exponential(60.0, 5000)
    closed = 100 * np.maximum(0, 1 - np.floor(e / 150 * 30 + 1) / 31).mean()
    assert auc_from_errors(e) == pytest.approx(closed, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# MPI-INF-3DHP and MuPoTS protocols


def test_mpi3dhp_protocol_groups_and_totals() -> None:
    assert sorted(j for g in MPI3DHP_PCK_GROUPS.values() for j in g) == list(range(14))
    rng = np.random.default_rng(2)
    gt = rng.normal(0, 300, (10, 17, 3))
    lengths = np.full((10, 17), 10.0)
    lengths[:, 0] = 200.0  # head top always fails
    lengths[:5, 4] = 160.0  # right wrist fails in half the frames
    lengths[:, 15:] = 500.0  # spine and head are not part of the PCK set
    lengths[:, 14] = 0.0
    # A global offset is removed by the pelvis centring.
    pred_rel = gt + _offsets(rng, lengths) + np.array([1000.0, -50.0, 300.0])
    scores = mpi3dhp_pck_auc(pred_rel, gt)
    assert scores.pck_per_group["head"] == 0.0
    assert scores.pck_per_group["wrist"] == pytest.approx(75.0)
    assert scores.pck_per_group["knee"] == 100.0
    # Joint-weighted total: 12 passing joints + 0.5 of one → 12.5 / 14.
    assert scores.pck == pytest.approx(100 * 12.5 / 14)
    errs = joint_errors(pred_rel, gt, root=14)[:, :14]
    assert scores.auc == pytest.approx(auc_from_errors(errs))
    assert scores.mpjpe == pytest.approx(joint_errors(pred_rel, gt, root=14).mean())
    with pytest.raises(ValueError, match="17, 3"):
        mpi3dhp_pck_auc(gt[:, :16], gt[:, :16])


def test_rescale_bones_gives_gt_lengths_and_keeps_directions() -> None:
    rng = np.random.default_rng(3)
    gt = rng.normal(0, 300, (6, 17, 3))
    pred = gt + rng.normal(0, 50, gt.shape)
    out = rescale_bones(pred, gt)
    for child, parent in MUPOTS_BONES:
        np.testing.assert_allclose(np.linalg.norm(out[:, child] - out[:, parent], axis=-1),
                                   np.linalg.norm(gt[:, child] - gt[:, parent], axis=-1))
        d_out = out[:, child] - out[:, parent]
        d_pred = pred[:, child] - pred[:, parent]
        cos = (d_out * d_pred).sum(-1) / np.linalg.norm(d_out, axis=-1) / np.linalg.norm(
            d_pred, axis=-1)
        np.testing.assert_allclose(cos, 1.0)
    np.testing.assert_allclose(out[:, 14], pred[:, 14])
    # A uniformly scaled prediction becomes the ground truth exactly.
    scaled = 1.3 * (gt - gt[:, 14:15]) + gt[:, 14:15]
    np.testing.assert_allclose(rescale_bones(scaled, gt), gt, atol=1e-9)
    pck_raw, _ = mupots_pck_auc(1.5 * gt, gt, rescale=False)
    pck_resc, auc_resc = mupots_pck_auc(1.5 * gt, gt, rescale=True)
    assert pck_resc == 100.0 and auc_resc == pytest.approx(100 * 30 / 31)
    assert pck_raw < 100.0
    bad = pred.copy()
    bad[:, 15] = bad[:, 14]
    with pytest.raises(ValueError, match="zero length"):
        rescale_bones(bad, gt)


# ---------------------------------------------------------------------------------------------
# bad input


def test_bad_input_raises_with_argument_names() -> None:
    gt = np.zeros((4, 17, 3))
    with pytest.raises(ValueError, match="gt: expected 17 joints"):
        mpjpe(gt, np.zeros((4, 16, 3)))
    with pytest.raises(ValueError, match="gt: expected the shape of pred"):
        mpjpe(gt, np.zeros((3, 17, 3)))
    with pytest.raises(ValueError, match=r"pred: expected shape \[\.\.\., J, 3\]"):
        mpjpe(np.zeros((4, 17, 4)), np.zeros((4, 17, 4)))
    nan = gt.copy()
    nan[0, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        mpjpe(nan, gt)
    mask = np.ones((4, 17), dtype=bool)
    mask[0, 3] = False
    assert mpjpe(nan, gt, mask=mask) == 0.0  # masked-out NaN is fine
    with pytest.raises(ValueError, match="mask: expected shape"):
        mpjpe(gt, gt, mask=np.ones((4, 16), dtype=bool))
    with pytest.raises(ValueError, match="mask: expected a bool"):
        mpjpe(gt, gt, mask=np.ones((4, 17)))
    nan_root = gt.copy()
    nan_root[1, 0] = np.nan
    no_root = mask.copy()
    no_root[1, 0] = False
    with pytest.raises(ValueError, match="root joint 0 must be finite"):
        mpjpe(nan_root, gt, mask=no_root)
    # The root anchors the centring even when it is not scored.
    shifted = gt.copy()
    shifted[:, 0, 0] += 10.0
    assert mpjpe(shifted, gt, mask=np.arange(17) > 0) == pytest.approx(10.0)
    with pytest.raises(ValueError, match="root"):
        mpjpe(gt, gt, root=17)
    with pytest.raises(ValueError, match="scale is undefined"):
        n_mpjpe(gt, gt + 1.0)
    with pytest.raises(ValueError, match="errors_mm"):
        pck_from_errors(np.array([-1.0]))
    with pytest.raises(ValueError, match="mask: no joint selected"):
        mpjpe(gt, gt, mask=np.zeros((4, 17), dtype=bool), root=None)
