"""The inference wrapper: units, layouts, flip averaging, sliding windows, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monopose.core.skeleton import convert_layout, flip_pose, get_layout
from monopose.lifting.lifter import Lifter


def _people(n: int, j: int = 17, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(100, 500, size=(n, j, 2))


@pytest.fixture
def lifter(small_model) -> Lifter:
    return Lifter.from_module(small_model("poseformer"))


@pytest.fixture
def temporal_lifter(small_model) -> Lifter:
    return Lifter.from_module(small_model("mpm", max_frames=9))


def test_lift_returns_mm_of_the_model_output(lifter: Lifter) -> None:
    kp = _people(5)
    out = lifter.lift(kp, flip=False)
    assert out.shape == (5, 17, 3) and out.dtype == np.float64
    assert np.all(out[:, 0] == 0)
    # Same as normalising by hand and calling the module, times 1000.
    lo, hi = kp.min(1), kp.max(1)
    norm = (kp - (lo + hi)[:, None] / 2) / ((hi - lo).max(-1) / 2)[:, None, None]
    with torch.no_grad():
        ref = lifter.module(torch.tensor(norm[:, None], dtype=torch.float32), None)[:, 0]
    np.testing.assert_allclose(out, ref.numpy() * 1000, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("name", ["lifter", "temporal_lifter"])
def test_flip_averaged_lift_is_mirror_equivariant(name: str, request) -> None:
    lift: Lifter = request.getfixturevalue(name)
    kp = _people(4, seed=1)
    valid = np.ones((4, 17), bool)
    valid[0, [2, 13]] = False
    width = 640
    out = lift.lift(kp, valid, flip=True)
    mirrored = flip_pose(kp, "h36m17", image_width_px=width)
    valid_m = valid[:, get_layout("h36m17").flip_permutation]
    out_m = lift.lift(mirrored, valid_m, flip=True)
    np.testing.assert_allclose(out_m, flip_pose(out, "h36m17"), atol=1e-3)
    # Without averaging the untrained model is not equivariant (the test would be vacuous).
    assert not np.allclose(lift.lift(mirrored, valid_m, flip=False),
                           flip_pose(lift.lift(kp, valid, flip=False), "h36m17"), atol=1e-3)


def test_other_layouts_are_converted(lifter: Lifter) -> None:
    coco = _people(3, 17, seed=2)
    out = lifter.lift(coco, layout="coco17")
    h36m, valid, _ = convert_layout(coco, "coco17", "h36m17")
    np.testing.assert_allclose(out, lifter.lift(h36m, valid), atol=1e-6)
    blaze = _people(3, 33, seed=3)
    assert lifter.lift(blaze, layout="blazepose33").shape == (3, 17, 3)
    # BlazePose keypoints go through the detector's learned map, as `monopose predict` does
    from monopose.detect.keypoint_map import resolve_keypoint_map

    kmap = resolve_keypoint_map("learned")
    np.testing.assert_allclose(lifter.lift(blaze, layout="blazepose33"),
                               lifter.lift(kmap.apply(blaze)), atol=1e-6)


def test_invalid_joints_do_not_matter_and_nan_in_valid_raises(lifter: Lifter) -> None:
    kp = _people(2)
    valid = np.ones((2, 17), bool)
    valid[:, 6] = False
    ref = lifter.lift(kp, valid)
    kp2 = kp.copy()
    kp2[:, 6] = np.nan
    np.testing.assert_array_equal(lifter.lift(kp2, valid), ref)
    with pytest.raises(ValueError, match="NaN"):
        lifter.lift(kp2)
    with pytest.raises(ValueError, match="17 joints"):
        lifter.lift(kp[:, :15])
    with pytest.raises(ValueError, match="33 joints"):
        lifter.lift(kp, layout="blazepose33")
    with pytest.raises(ValueError, match="no valid joint"):
        lifter.lift(kp, np.zeros((2, 17), bool))


def test_windows_and_sequences(temporal_lifter: Lifter) -> None:
    rng = np.random.default_rng(4)
    track = 300 + np.cumsum(rng.normal(0, 2, size=(20, 17, 2)), axis=0)
    track += rng.uniform(-80, 80, size=(1, 17, 2))
    seq = temporal_lifter.lift_sequence(track, stride=1)  # every frame its own window
    assert seq.shape == (20, 17, 3) and np.all(seq[:, 0] == 0)
    # Frame 10's centred window is frames 6..14: the same as lifting that window directly.
    win = temporal_lifter.lift(track[None, 6:15])
    assert win.shape == (1, 9, 17, 3)
    np.testing.assert_allclose(seq[10], win[0, 4], atol=1e-3)
    # Edge padding: frame 0's window repeats frame 0 four times.
    padded = np.concatenate([np.repeat(track[:1], 4, 0), track[:5]])[None]
    np.testing.assert_allclose(seq[0], temporal_lifter.lift(padded)[0, 4], atol=1e-3)
    assert temporal_lifter.lift_sequence(track[:3]).shape == (3, 17, 3)
    with pytest.raises(ValueError, match="at most 9 frames"):
        temporal_lifter.lift(track[None])
    # A single pose goes through the temporal model as a static window.
    assert temporal_lifter.lift(track[:2]).shape == (2, 17, 3)


def test_single_frame_lift_sequence(lifter: Lifter) -> None:
    track = _people(6, seed=5)
    np.testing.assert_allclose(lifter.lift_sequence(track), lifter.lift(track))


def test_lifter_by_registered_name(tmp_path) -> None:
    from monopose.models.weights_io import save_weights
    from monopose.zoo import create_model, get_card, weights_path

    name = "poseformer-t1"
    torch.manual_seed(0)
    model = create_model(name).eval()
    save_weights(model, get_card(name), weights_path(name, tmp_path))
    by_name = Lifter(name, weights_dir=tmp_path)
    assert by_name.card is not None and by_name.card.name == name and by_name.window == 1
    kp = _people(3, seed=6)
    np.testing.assert_allclose(by_name.lift(kp), Lifter.from_module(model).lift(kp), atol=1e-9)
    with pytest.raises(FileNotFoundError):
        Lifter("mpm-lift-t27", weights_dir=tmp_path)


def test_causal_option_reaches_the_temporal_lifter():
    """`monopose predict --causal` → Estimator → load_pose_model → the lifter's default."""
    from monopose.pipeline.estimator import Estimator
    from monopose.zoo import load_pose_model

    assert load_pose_model("mpm-lift-t27", causal=True).causal is True
    assert load_pose_model("mpm-lift-t27").causal is False
    est = Estimator(model="mpm-lift-t27", causal=True)
    assert est.model.causal is True  # type: ignore[attr-defined]
