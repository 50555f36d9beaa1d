"""ONNX export: parity with PyTorch (mm outputs, dynamic batch) and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from monopose.export.onnx_export import (
    export_onnx,
    onnx_session,
    random_normalised_poses,
    run_onnx,
)
from monopose.zoo import create_model


@pytest.mark.parametrize("name", ["baseline-t1", "mpm-lift-t1"])
def test_onnx_matches_pytorch_in_mm(tmp_path: Path, name: str) -> None:
    torch.manual_seed(0)
    module = create_model(name).eval()
    res = export_onnx(module, tmp_path / f"{name}.onnx")
    assert res.path.is_file() and res.window == 1 and not res.trained
    assert res.max_rel_error is not None and res.max_rel_error < 1e-4
    # Independent check on other held-out inputs and batch sizes (dynamic batch).
    session = onnx_session(res.path)
    rng = np.random.default_rng(99)
    for batch in (1, 5, 33):
        kp, valid = random_normalised_poses(batch, 1, rng, missing_fraction=0.15)
        assert (~valid).any()
        with torch.inference_mode():
            ref_m = module(torch.from_numpy(kp), torch.from_numpy(valid)).numpy()
        got_mm = run_onnx(session, kp, valid)
        assert got_mm.shape == (batch, 1, 17, 3)
        scale = np.abs(ref_m * 1000).max()
        assert np.abs(got_mm - ref_m * 1000.0).max() <= 1e-4 * scale
        np.testing.assert_allclose(got_mm[..., 0, :], 0.0, atol=1e-3)  # root-relative


def test_onnx_metadata_and_io_names(tmp_path: Path) -> None:
    import onnx

    res = export_onnx(create_model("baseline-t1", width=64).eval(), tmp_path / "m.onnx")
    proto = onnx.load(str(res.path))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["window"] == "1" and meta["trained"] == "false" and "mm" in meta["output_units"]
    assert [i.name for i in proto.graph.input] == ["keypoints_2d", "valid"]
    assert proto.graph.output[0].name == "pose_3d_mm"
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 17, 2]


def test_unknown_model_name_lists_registered_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="baseline-t1") as info:
        export_onnx("no-such-lifter", tmp_path / "x.onnx")
    assert "no-such-lifter" in str(info.value) and "mpm-lift-t27" in str(info.value)
    assert not (tmp_path / "x.onnx").exists()


def test_unwritable_path_fails_before_export(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="out"):
        export_onnx(create_model("baseline-t1", width=32), blocker / "m.onnx")


def test_missing_weights_need_untrained_flag(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="untrained"):
        export_onnx("mpm-lift-t1", tmp_path / "m.onnx", weights_dir=tmp_path)


def test_trained_weights_parity_if_present(tmp_path: Path) -> None:
    """Optional: shipped weights (skipped until they exist)."""
    from monopose.zoo import available

    if not available("baseline-t1"):
        pytest.skip("no trained baseline-t1 weights yet")
    res = export_onnx("baseline-t1", tmp_path / "b.onnx")
    assert res.trained and res.max_rel_error is not None and res.max_rel_error < 1e-4


def test_a_size_input_lifter_is_refused_by_name(tmp_path: Path) -> None:
    module = create_model("mpm-lift-t1", dim=32, depth=1, heads=4, size_input=True).eval()
    with pytest.raises(ValueError, match="angular size"):
        export_onnx(module, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
