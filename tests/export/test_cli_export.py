"""The export-bvh and export-onnx command functions (registered by the CLI)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from typer.testing import CliRunner

from monopose.cli.export import export_bvh, export_onnx
from monopose.io.schema import write_json_atomic
from tests.export.synthetic import make_prediction, random_poses

app = typer.Typer()
app.command("export-bvh")(export_bvh)
app.command("export-onnx")(export_onnx)
runner = CliRunner()


def test_export_bvh_cli(tmp_path: Path, camera) -> None:
    pred = make_prediction({4: random_poses(8, np.random.default_rng(0))}, camera)
    write_json_atomic(tmp_path / "clip.json", pred.to_json())
    res = runner.invoke(app, ["export-bvh", str(tmp_path / "clip.json"), "--out",
                              str(tmp_path / "motion.bvh")])
    assert res.exit_code == 0, res.output
    assert "round trip" in res.output and (tmp_path / "motion.bvh").is_file()


def test_export_bvh_cli_bad_input(tmp_path: Path, camera) -> None:
    payload = make_prediction({1: random_poses(2, np.random.default_rng(1))}, camera).to_json()
    payload["schema_version"] = "9.9"
    write_json_atomic(tmp_path / "v.json", payload)
    res = runner.invoke(app, ["export-bvh", str(tmp_path / "v.json"), "--out",
                              str(tmp_path / "v.bvh")])
    assert res.exit_code == 2 and "schema_version" in res.output
    res = runner.invoke(app, ["export-bvh", str(tmp_path / "v.json"), "--out",
                              str(tmp_path / "v.bvh"), "--smoothing", "median"])
    assert res.exit_code == 2 and "smoothing" in res.output


def test_export_onnx_cli_unknown_name(tmp_path: Path) -> None:
    res = runner.invoke(app, ["export-onnx", "nope", "--out", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2
    assert "nope" in res.output and "mpm-lift-t1" in res.output


def test_export_onnx_cli_untrained(tmp_path: Path) -> None:
    res = runner.invoke(app, ["export-onnx", "poseformer-t1", "--out", str(tmp_path / "p.onnx"),
                              "--weights-dir", str(tmp_path), "--untrained"])
    assert res.exit_code == 0, res.output
    assert "randomly initialised" in res.output and (tmp_path / "p.onnx").is_file()
