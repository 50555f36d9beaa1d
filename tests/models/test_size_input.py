"""MPM with the angular-size input: inert until trained, then read by training and inference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from monopose.lifting.batches import batch_to_tensors
from monopose.lifting.lifter import Lifter
from monopose.lifting.mpm import ANGULAR_SIZE_REF


def _sized(small_model):  # type: ignore[no-untyped-def]
    """A small size-input MPM whose size embedding is no longer zero."""
    model = small_model("mpm", size_input=True, max_frames=1)
    with torch.no_grad():
        model.embed_size.weight.normal_(0.0, 1.0)
    return model


def test_a_new_size_embedding_changes_nothing(small_model, random_inputs) -> None:
    plain = small_model("mpm", max_frames=1)
    sized = small_model("mpm", max_frames=1, size_input=True)
    missing = sized.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["embed_size.bias", "embed_size.weight"]
    kp, valid = random_inputs(3, 1)
    expected = plain(kp, valid)
    for size in (None, torch.full((3,), 0.05), torch.full((3,), 0.8)):
        torch.testing.assert_close(sized(kp, valid, size), expected)
    torch.testing.assert_close(plain(kp, valid, torch.full((3,), 0.8)), expected)  # ignored


def test_a_trained_size_embedding_reads_the_size(small_model, random_inputs) -> None:
    model = _sized(small_model)
    kp, valid = random_inputs(2, 1)
    near, far = model(kp, valid, torch.full((2,), 0.6)), model(kp, valid, torch.full((2,), 0.05))
    assert not torch.allclose(near, far, atol=1e-4)
    torch.testing.assert_close(model(kp, valid, torch.full((2,), ANGULAR_SIZE_REF)),
                               model(kp, valid))  # None: the reference size
    with pytest.raises(ValueError, match="angular_size"):
        model(kp, valid, torch.ones(3))


def _batch(distance_mm: float, fx: float = 1000.0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    pose = rng.normal(0.0, 300.0, (17, 3)) + [0.0, 0.0, distance_mm]
    intr = np.array([fx, fx, 640.0, 360.0])
    kp = pose[:, :2] / pose[:, 2:] * fx + intr[2:]
    fields = ["keypoints_2d_px", "keypoints_2d_gt_px", "valid_2d", "pose_3d_cam_mm", "intrinsics"]
    return dataclasses.make_dataclass("B", fields)(
        kp[None, None], kp[None, None], np.ones((1, 1, 17), bool), pose[None, None], intr[None])


def test_training_batches_carry_the_angular_size() -> None:
    for frame in ("virtual_camera", "image"):
        near = batch_to_tensors(_batch(2000.0), input_frame=frame)["angular_size"]
        far = batch_to_tensors(_batch(8000.0), input_frame=frame)["angular_size"]
        assert near.shape == (1,) and 3.0 < float(near / far) < 5.0  # 4× nearer, 4× larger
        # in focal lengths: the same person through a longer lens has the same angular size
        longer = batch_to_tensors(_batch(2000.0, fx=3000.0), input_frame=frame)["angular_size"]
        assert float(longer / near) == pytest.approx(1.0, rel=0.05)


def test_the_lifter_gives_the_model_its_angular_size(small_model) -> None:
    rng = np.random.default_rng(1)
    kp = rng.normal(0.0, 80.0, (1, 17, 2)) + [640.0, 360.0]
    kp -= (kp.min(axis=1) + kp.max(axis=1))[:, None] / 2 - [640.0, 360.0]  # box centred
    wide, tele = np.array([500.0, 500.0, 640.0, 360.0]), np.array([4000.0, 4000.0, 640.0, 360.0])
    for model, differs in ((_sized(small_model), True), (small_model("mpm", max_frames=1), False)):
        lifter = Lifter.from_module(model, flip=False, body_size="lifter",
                                    input_frame="virtual_camera")
        a, b = lifter.lift(kp, intrinsics=wide), lifter.lift(kp, intrinsics=tele)
        assert (not np.allclose(a, b, atol=1e-3)) == differs
