"""The ONNX twin of a lifter's weights stands in for them only while it was made from them, and
lifts as the PyTorch module does."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from torch import nn

from monopose.lifting.lifter import Lifter
from monopose.lifting.networks import OnnxNetwork, TorchNetwork
from monopose.lifting.onnx_twin import SOURCE_SHA_KEY, find_twin, twin_path
from monopose.models.weights_meta import SHIPPED_WEIGHTS_DIR
from monopose.zoo import load_model

NAME = "mpm-lift-t1"  # the default for photos, whose twin ships


def _poses_px(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``[n, 17, 2]`` px of people at random places in a 1280×720 picture, some joints
    missing."""
    from monopose.export.onnx_export import random_normalised_poses

    rng = np.random.default_rng(seed)
    norm, valid = random_normalised_poses(n, 1, rng)
    centre = rng.uniform([150, 150], [1130, 570], (n, 1, 2))
    return norm[:, 0] * rng.uniform(80, 300, (n, 1, 1)) + centre, valid[:, 0]


def _copy_weights(tmp: Path) -> Path:
    for suffix in (".safetensors", ".json", ".onnx"):
        shutil.copy(SHIPPED_WEIGHTS_DIR / f"{NAME}{suffix}", tmp / f"{NAME}{suffix}")
    return tmp


@pytest.mark.parametrize(("name", "window"), [(NAME, 1), ("mpm-lift-t27", 27),
                                              ("mpm-lift-t1-floorsit", 1)])
def test_the_shipped_twins_ship_with_their_weights_card(name: str, window: int) -> None:
    """The defaults for photos and videos and the lifter for people on the floor; a twin made
    again after the weights change."""
    twin = find_twin(name)
    assert twin is not None, f"{twin_path(name)} missing or not made from the shipped weights"
    _, card = load_model(name)
    assert twin.card.to_dict() == card.to_dict()
    assert twin.network.max_frames == window and twin.network.num_joints == 17


@pytest.mark.parametrize(("name", "flip"), [(NAME, True), (NAME, False),
                                            ("mpm-lift-t1-floorsit", True)])
def test_the_twin_lifts_as_the_module_does(name: str, flip: bool) -> None:
    kp, valid = _poses_px(40, seed=3)
    intrinsics = np.array([900.0, 900.0, 640.0, 360.0])
    twin, torch_lifter = Lifter(name), Lifter(name, backend="torch")
    assert isinstance(twin.network, OnnxNetwork)
    assert isinstance(torch_lifter.network, TorchNetwork)
    for intr in (None, intrinsics):  # the virtual camera turns each person's 2D
        a = twin.lift(kp, valid, flip=flip, intrinsics=intr)
        b = torch_lifter.lift(kp, valid, flip=flip, intrinsics=intr)
        assert np.abs(a - b).max() < 0.01  # mm
    # the flip test does change the answer, so the comparison above saw it work
    assert np.abs(twin.lift(kp, valid, flip=True) - twin.lift(kp, valid, flip=False)).max() > 1.0


@pytest.mark.parametrize("causal", [False, True])
def test_the_temporal_twin_lifts_tracks_as_the_module_does(causal: bool) -> None:
    kp, valid = _poses_px(1, seed=5)
    drift = np.cumsum(np.random.default_rng(6).normal(0.0, 2.0, (40, 17, 2)), axis=0)
    track = kp[0] + drift  # [40, 17, 2] px, a person moving a little
    intrinsics = np.array([900.0, 900.0, 640.0, 360.0])
    twin = Lifter("mpm-lift-t27")
    assert isinstance(twin.network, OnnxNetwork)
    a = twin.lift_sequence(track, np.repeat(valid, 40, axis=0), intrinsics=intrinsics,
                           causal=causal)
    b = Lifter("mpm-lift-t27", backend="torch").lift_sequence(
        track, np.repeat(valid, 40, axis=0), intrinsics=intrinsics, causal=causal)
    assert a.shape == (40, 17, 3) and np.abs(a - b).max() < 0.01  # mm


def test_a_twin_not_made_from_the_weights_is_not_used(tmp_path: Path) -> None:
    folder = _copy_weights(tmp_path)
    assert find_twin(NAME, folder) is not None
    proto = onnx.load(str(folder / f"{NAME}.onnx"))
    for entry in proto.metadata_props:
        if entry.key == SOURCE_SHA_KEY:
            entry.value = "0" * 64  # made from other weights (stale after retraining)
    onnx.save(proto, str(folder / f"{NAME}.onnx"))
    assert find_twin(NAME, folder) is None
    lifter = Lifter(NAME, folder)  # the weights themselves, through PyTorch
    assert isinstance(lifter.network, TorchNetwork)
    with pytest.raises(FileNotFoundError, match=f"{NAME}.onnx"):
        Lifter(NAME, folder, backend="onnx")


def test_a_broken_twin_or_changed_weights_fall_back_to_the_weights(tmp_path: Path) -> None:
    folder = _copy_weights(tmp_path)
    (folder / f"{NAME}.onnx").write_bytes(b"not an onnx file")
    assert find_twin(NAME, folder) is None
    assert isinstance(Lifter(NAME, folder).network, TorchNetwork)
    folder = _copy_weights(tmp_path)
    with open(folder / f"{NAME}.safetensors", "r+b") as fh:  # a bit flipped in the tensors
        fh.seek(-8, 2)
        byte = fh.read(1)
        fh.seek(-8, 2)
        fh.write(bytes([byte[0] ^ 1]))
    assert find_twin(NAME, folder) is None
    with pytest.raises(ValueError, match="checksum mismatch"):  # PyTorch's loader says why
        Lifter(NAME, folder)


def test_backend_is_checked_and_the_module_loads_on_demand() -> None:
    with pytest.raises(ValueError, match="backend"):
        Lifter(NAME, backend="tensorflow")
    lifter = Lifter(NAME)
    assert isinstance(lifter.network, OnnxNetwork)
    assert isinstance(lifter.module, nn.Module)  # for export and evaluation of the network
