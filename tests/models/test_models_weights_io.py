"""Saving and loading weights: round trip, wrong architecture, corrupted files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from monopose.models.weights_io import load_weights, read_metadata, save_weights


@pytest.mark.parametrize("arch", ["baseline", "poseformer", "mpm"])
def test_round_trip_gives_identical_outputs(arch: str, tmp_path: Path, small_model,
                                            random_inputs) -> None:
    model = small_model(arch)
    # Non-trivial BatchNorm statistics and weights, so a silent re-init would be caught.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    model.train()
    kp, valid = random_inputs(8, 27 if arch == "mpm" else 1)
    model(kp, valid)
    model.eval()
    path = save_weights(model, {"config": model.config}, tmp_path / "m",
                        metadata={"steps": 3})
    assert path.name == "m.safetensors" and (tmp_path / "m.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]
    loaded, meta = load_weights(tmp_path / "m.safetensors")
    assert not loaded.training
    assert meta["architecture"] == arch and meta["metadata"] == {"steps": 3}
    torch.testing.assert_close(loaded(kp, valid), model(kp, valid), rtol=0, atol=0)


def test_other_architecture_raises(tmp_path: Path, small_model) -> None:
    save_weights(small_model("baseline"), {"config": small_model("baseline").config},
                 tmp_path / "b")
    with pytest.raises(ValueError, match="expected 'mpm'"):
        load_weights(tmp_path / "b", expected_architecture="mpm")
    # A JSON that claims another architecture over the baseline tensors.
    info = json.loads((tmp_path / "b.json").read_text())
    info["architecture"] = "poseformer"
    info["config"] = small_model("poseformer").config
    (tmp_path / "b.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="architecture"):
        load_weights(tmp_path / "b")


def test_shape_mismatch_raises(tmp_path: Path, small_model) -> None:
    model = small_model("poseformer")
    save_weights(model, {"config": model.config}, tmp_path / "p")
    info = json.loads((tmp_path / "p.json").read_text())
    info["config"]["dim"] = 48
    (tmp_path / "p.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="shape mismatch"):
        load_weights(tmp_path / "p")


def test_truncated_file_raises_clear_value_error(tmp_path: Path, small_model) -> None:
    model = small_model("mpm")
    path = save_weights(model, {"config": model.config}, tmp_path / "m")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="checksum"):
        load_weights(path)
    # Without the checksum the safetensors parser itself must reject it, still as ValueError.
    info = json.loads((tmp_path / "m.json").read_text())
    del info["sha256"]
    (tmp_path / "m.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="corrupted safetensors"):
        load_weights(path)


def test_corrupted_json_and_missing_files(tmp_path: Path, small_model) -> None:
    model = small_model("baseline")
    save_weights(model, {"config": model.config}, tmp_path / "b")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(ValueError, match="not JSON"):
        read_metadata(tmp_path / "b")
    with pytest.raises(FileNotFoundError):
        load_weights(tmp_path / "absent")


def test_config_mismatch_with_module_is_refused(tmp_path: Path, small_model) -> None:
    with pytest.raises(ValueError, match="architecture"):
        save_weights(small_model("baseline"), {"architecture": "mpm", "config": {}},
                     tmp_path / "x")


def test_file_is_plain_safetensors(tmp_path: Path, small_model) -> None:
    model = small_model("baseline")
    data = save_weights(model, {"config": model.config}, tmp_path / "b").read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_len])
    assert header["__metadata__"]["architecture"] == "baseline"
    assert set(header) - {"__metadata__"} == set(model.state_dict())


def test_half_precision_storage_halves_the_file(tmp_path: Path, small_model,
                                                random_inputs) -> None:
    model = small_model("baseline", width=256)
    full = save_weights(model, {"config": model.config}, tmp_path / "full")
    half = save_weights(model, {"config": model.config}, tmp_path / "half",
                        dtype=torch.float16)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded, _ = load_weights(half)
    assert next(loaded.parameters()).dtype == torch.float32
    kp, valid = random_inputs(4, 1)
    torch.testing.assert_close(loaded(kp, valid), model(kp, valid), rtol=0, atol=5e-3)
