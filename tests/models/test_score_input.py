"""MPM with the detector's keypoint scores as an input: inert until trained and for confident
keypoints, then read by training batches, the Lifter (flip test included) and ONNX export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from monopose.core.skeleton import H36M17
from monopose.data.sample import PoseBatch, concat_batches
from monopose.export.onnx_export import export_onnx, onnx_session, run_onnx
from monopose.lifting.batches import batch_to_tensors
from monopose.lifting.lifter import Lifter
from monopose.zoo import create_model

L_KNEE, R_KNEE = H36M17.index("l_knee"), H36M17.index("r_knee")


def _scored(small_model):  # type: ignore[no-untyped-def]
    """A small score-input MPM whose score embedding is no longer zero."""
    model = small_model("mpm", score_input=True, max_frames=1)
    with torch.no_grad():
        model.embed_score.weight.normal_(0.0, 1.0)
    return model.eval()


def test_a_new_score_embedding_changes_nothing(small_model, random_inputs) -> None:
    plain = small_model("mpm", max_frames=1).eval()
    scored = small_model("mpm", max_frames=1, score_input=True).eval()
    missing = scored.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert missing == ["embed_score.weight"]
    kp, valid = random_inputs(3, 1)
    expected = plain(kp, valid)
    for scores in (None, torch.rand(3, 1, 17), torch.zeros(3, 1, 17)):
        torch.testing.assert_close(scored(kp, valid, scores=scores), expected)
    torch.testing.assert_close(plain(kp, valid, scores=torch.zeros(3, 1, 17)), expected)


def test_a_trained_score_embedding_reads_the_scores(small_model, random_inputs) -> None:
    model = _scored(small_model)
    kp, valid = random_inputs(2, 1)
    valid[:] = True
    sure = torch.ones(2, 1, 17)
    doubt = sure.clone()
    doubt[:, :, L_KNEE] = 0.3
    assert not torch.allclose(model(kp, valid, scores=doubt), model(kp, valid, scores=sure),
                              atol=1e-4)
    # a fully confident keypoint is the same as no score at all (no bias)
    torch.testing.assert_close(model(kp, valid, scores=sure), model(kp, valid))
    # the score of a missing joint is not read: its token is the mask token
    valid[:, :, L_KNEE] = False
    torch.testing.assert_close(model(kp, valid, scores=doubt), model(kp, valid, scores=sure))
    with pytest.raises(ValueError, match="scores"):
        model(kp, valid, scores=torch.ones(2, 17))


def _poses(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 80.0, (n, 17, 2)) + [640.0, 360.0]


def test_the_lifter_gives_a_score_model_the_scores(small_model) -> None:
    kp = _poses(2)
    doubt = np.ones((2, 17))
    doubt[:, L_KNEE] = 0.2
    for model, differs in ((_scored(small_model), True), (small_model("mpm", max_frames=1),
                                                          False)):
        lifter = Lifter.from_module(model.eval(), flip=False, body_size="lifter")
        a, b = lifter.lift(kp, scores=doubt), lifter.lift(kp, scores=np.ones((2, 17)))
        assert (not np.allclose(a, b, atol=1e-3)) == differs
        np.testing.assert_allclose(b, lifter.lift(kp), atol=1e-5)


def test_the_flip_test_mirrors_the_scores(small_model) -> None:
    """Lifting a pose with a doubtful left knee, flip-averaged, equals the mirror of lifting the
    mirrored pose with a doubtful right knee: the scores follow their joints into the mirror."""
    lifter = Lifter.from_module(_scored(small_model), flip=True, body_size="lifter")
    kp = _poses(1, seed=3)
    mirrored = kp[:, list(H36M17.flip_permutation)].copy()
    mirrored[..., 0] = 1280.0 - mirrored[..., 0]
    left, right = np.ones((1, 17)), np.ones((1, 17))
    left[:, L_KNEE], right[:, R_KNEE] = 0.1, 0.1
    a = lifter.lift(kp, scores=left)
    b = lifter.lift(mirrored, scores=right)[:, list(H36M17.flip_permutation)]
    b[..., 0] *= -1.0
    np.testing.assert_allclose(a, b, atol=1e-3)


def test_the_lifter_refuses_malformed_scores(small_model) -> None:
    lifter = Lifter.from_module(_scored(small_model), flip=False, body_size="lifter")
    kp = _poses(2)
    with pytest.raises(ValueError, match=r"scores: expected shape \(2, 17\)"):
        lifter.lift(kp, scores=np.ones((2, 16)))
    with pytest.raises(ValueError, match="scores: NaN"):
        lifter.lift(kp, scores=np.full((2, 17), np.nan))
    with pytest.raises(ValueError, match="only for h36m17"):
        lifter.lift(np.zeros((2, 17, 2)) + 100.0, layout="coco17", scores=np.ones((2, 17)))


def _pose_batch(b: int, scores: np.ndarray | None = None) -> PoseBatch:
    rng = np.random.default_rng(b)
    pose = rng.normal(0.0, 300.0, (b, 1, 17, 3)) + [0.0, 0.0, 4000.0]
    kp = pose[..., :2] / pose[..., 2:] * 1000.0 + 500.0
    return PoseBatch(kp, kp, np.ones((b, 1, 17), bool), pose,
                     np.tile([1000.0, 1000.0, 500.0, 500.0], (b, 1)),
                     np.tile([1000.0, 1000.0], (b, 1)), [f"cmu/c/a/{i}" for i in range(b)],
                     scores_2d=scores)


def test_pose_batches_carry_scores() -> None:
    assert (_pose_batch(2).scores_2d == 1.0).all()  # none given: fully confident
    with pytest.raises(ValueError, match="scores_2d: expected shape"):
        _pose_batch(2, np.ones((2, 17)))
    scores = np.linspace(0.0, 1.0, 3 * 17).reshape(3, 1, 17)
    both = concat_batches([_pose_batch(2), _pose_batch(3, scores)])
    np.testing.assert_array_equal(both[[3, 4]].scores_2d, scores[1:])
    tensors = batch_to_tensors(both)
    np.testing.assert_allclose(tensors["scores"].numpy()[2:], scores, atol=1e-7)
    assert (batch_to_tensors(both, use_gt_2d=True)["scores"] == 1.0).all()  # exact 2D


def test_a_score_lifter_exports_to_onnx_with_a_scores_input(tmp_path: Path) -> None:
    module = create_model("mpm-lift-t1", dim=32, depth=1, heads=4, score_input=True).eval()
    with torch.no_grad():
        module.embed_score.weight.normal_(0.0, 1.0)
    res = export_onnx(module, tmp_path / "m.onnx", untrained=True)
    assert res.max_rel_error is not None and res.max_rel_error < 1e-4
    session = onnx_session((tmp_path / "m.onnx").read_bytes())
    assert [i.name for i in session.get_inputs()] == ["keypoints_2d", "valid", "scores"]
    rng = np.random.default_rng(0)
    kp = rng.normal(0.0, 0.5, (2, 1, 17, 2)).astype(np.float32)
    valid = np.ones((2, 1, 17), bool)
    doubt = np.ones((2, 1, 17), np.float32)
    doubt[..., L_KNEE] = 0.2
    with torch.inference_mode():
        want = module(torch.from_numpy(kp), torch.from_numpy(valid),
                      scores=torch.from_numpy(doubt)).numpy() * 1000.0
    np.testing.assert_allclose(run_onnx(session, kp, valid, doubt), want, atol=1e-2)
    assert not np.allclose(run_onnx(session, kp, valid), want, atol=1e-2)  # None: ones
