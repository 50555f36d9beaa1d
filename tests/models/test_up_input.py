"""MPM with the image's up as an input: inert until trained, computed from the virtual camera's
turn in training and inference alike, and mirrored with the flip test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from monopose.core.virtual_camera import camera_up, look_at_rotations, to_virtual_camera
from monopose.lifting.batches import batch_to_tensors
from monopose.lifting.lifter import Lifter


def _upright(small_model):  # type: ignore[no-untyped-def]
    """A small up-input MPM whose up embedding is no longer zero."""
    model = small_model("mpm", up_input=True, max_frames=1)
    with torch.no_grad():
        model.embed_up.weight.normal_(0.0, 1.0)
    return model


def test_the_image_up_seen_by_a_turned_camera() -> None:
    """Straight ahead it is the image's up; a camera turned down towards a person low in the
    picture sees the image's up tilted towards itself; turning sideways keeps it."""
    rot = look_at_rotations(np.array([[0.0, 0.0, 1.0], [0.0, 0.4, 1.0], [0.5, 0.0, 1.0]]))
    up = camera_up(rot)
    np.testing.assert_allclose(np.linalg.norm(up, axis=1), 1.0)
    np.testing.assert_allclose(up[0], [0.0, -1.0, 0.0], atol=1e-12)
    pitch = np.arctan(0.4)
    np.testing.assert_allclose(up[1], [0.0, -np.cos(pitch), -np.sin(pitch)], atol=1e-12)
    np.testing.assert_allclose(up[2], [0.0, -1.0, 0.0], atol=1e-12)


def test_a_new_up_embedding_changes_nothing(small_model, random_inputs) -> None:
    plain = small_model("mpm", max_frames=1)
    upright = small_model("mpm", max_frames=1, up_input=True)
    missing = upright.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["embed_up.bias", "embed_up.weight"]
    kp, valid = random_inputs(3, 1)
    expected = plain(kp, valid)
    tilted = torch.tensor([[0.0, -0.9, -0.4359]] * 3)
    for up in (None, tilted):
        torch.testing.assert_close(upright(kp, valid, camera_up=up), expected)
    torch.testing.assert_close(plain(kp, valid, camera_up=tilted), expected)  # ignored


def test_a_trained_up_embedding_reads_the_up(small_model, random_inputs) -> None:
    model = _upright(small_model)
    kp, valid = random_inputs(2, 1)
    level = model(kp, valid, camera_up=torch.tensor([[0.0, -1.0, 0.0]] * 2))
    tilted = model(kp, valid, camera_up=torch.tensor([[0.0, -0.8, -0.6]] * 2))
    assert not torch.allclose(level, tilted, atol=1e-4)
    torch.testing.assert_close(model(kp, valid), level)  # None: straight ahead
    with pytest.raises(ValueError, match="camera_up"):
        model(kp, valid, camera_up=torch.ones(3, 3))


def _batch(offset_mm: tuple[float, float]):  # type: ignore[no-untyped-def]
    """One person 4 m away, ``offset_mm`` off the optical axis (x right, y down)."""
    rng = np.random.default_rng(0)
    pose = rng.normal(0.0, 300.0, (17, 3)) + [*offset_mm, 4000.0]
    intr = np.array([1000.0, 1000.0, 640.0, 360.0])
    kp = pose[:, :2] / pose[:, 2:] * 1000.0 + intr[2:]
    fields = ["keypoints_2d_px", "keypoints_2d_gt_px", "valid_2d", "pose_3d_cam_mm", "intrinsics"]
    return dataclasses.make_dataclass("B", fields)(
        kp[None, None], kp[None, None], np.ones((1, 1, 17), bool), pose[None, None], intr[None])


def test_training_batches_carry_the_up_of_their_virtual_camera() -> None:
    """The same person low in the picture or centred: the virtual camera's up differs as its
    turn; the image frame keeps the image's up."""
    low = _batch((0.0, 1600.0))
    got = batch_to_tensors(low, input_frame="virtual_camera")["camera_up"].numpy()
    _, rot = to_virtual_camera(low.keypoints_2d_px, None, low.intrinsics)
    np.testing.assert_allclose(got, camera_up(rot), atol=1e-6)
    assert got[0, 2] < -0.2  # looking down at the person
    image = batch_to_tensors(low, input_frame="image")["camera_up"].numpy()
    np.testing.assert_allclose(image, [[0.0, -1.0, 0.0]])


def test_the_lifter_gives_the_model_the_up_and_mirrors_it(small_model) -> None:
    """Inference gives the model the up of the photo's geometry (that of the virtual camera's
    turn); the flip test feeds the mirrored input the mirrored up, so a person on the right
    lifts as the mirror of the same person on the left."""
    rng = np.random.default_rng(1)
    kp = rng.normal(0.0, 60.0, (1, 17, 2))
    intr = np.array([800.0, 800.0, 640.0, 360.0])
    right = kp + [940.0, 610.0]  # right of and below the centre
    model = _upright(small_model)
    seen: list[torch.Tensor] = []
    forward = model.forward

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["camera_up"])
        return forward(*args, **kwargs)

    model.forward = spy  # type: ignore[method-assign]
    lifter = Lifter.from_module(model, flip=True, body_size="lifter",
                                input_frame="virtual_camera")
    a = lifter.lift(right, intrinsics=intr)
    _, rot = to_virtual_camera(right[:, None], None, intr[None])
    want = camera_up(rot)[0]
    assert want[2] < -0.2 and abs(want[0]) > 0.01  # looked at from above and from the side
    np.testing.assert_allclose(seen[0][0].numpy(), want, atol=1e-6)
    np.testing.assert_allclose(seen[0][1].numpy(), want * [-1, 1, 1], atol=1e-6)
    perm = lifter.layout.flip_permutation
    left = right[:, perm].copy()
    left[..., 0] = 2 * 640.0 - left[..., 0]
    mirrored = lifter.lift(left, intrinsics=intr)[:, perm].copy()
    mirrored[..., 0] *= -1
    np.testing.assert_allclose(a, mirrored, atol=1e-3)


def test_an_up_lifter_exports_to_onnx_with_a_camera_up_input(tmp_path) -> None:
    from monopose.export.onnx_export import export_onnx, onnx_session, run_onnx
    from monopose.zoo import create_model

    module = create_model("mpm-lift-t1", dim=32, depth=1, heads=4, up_input=True).eval()
    with torch.no_grad():
        module.embed_up.weight.normal_(0.0, 1.0)
    res = export_onnx(module, tmp_path / "m.onnx", untrained=True)
    assert res.max_rel_error is not None and res.max_rel_error < 1e-4
    session = onnx_session((tmp_path / "m.onnx").read_bytes())
    assert [i.name for i in session.get_inputs()] == ["keypoints_2d", "valid", "camera_up"]
    rng = np.random.default_rng(0)
    kp = rng.normal(0.0, 0.5, (2, 1, 17, 2)).astype(np.float32)
    valid = np.ones((2, 1, 17), bool)
    tilted = camera_up(look_at_rotations(np.array([[0.3, 0.5, 1.0], [-0.2, 0.1, 1.0]])))
    with torch.inference_mode():
        want = module(torch.from_numpy(kp), torch.from_numpy(valid),
                      camera_up=torch.from_numpy(tilted.astype(np.float32))).numpy() * 1000.0
    np.testing.assert_allclose(run_onnx(session, kp, valid, camera_up=tilted), want, atol=1e-2)
    assert not np.allclose(run_onnx(session, kp, valid), want, atol=1e-2)  # None: straight
