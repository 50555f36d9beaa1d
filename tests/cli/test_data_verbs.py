"""`monopose data capf-features` and `metrabs-crops`: the cache builders as CLI verbs."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from monopose.cli import app


def test_feature_cache_verbs_name_a_folder_without_renders(tmp_path: Path) -> None:
    empty = tmp_path / "renders"
    empty.mkdir()
    runner = CliRunner()
    res = runner.invoke(app, ["data", "capf-features", str(empty), str(tmp_path / "f")])
    assert res.exit_code == 1 and str(empty) in res.output and "shard" in res.output
    res = runner.invoke(app, ["data", "metrabs-crops", str(empty), "--out", str(tmp_path / "c")])
    assert res.exit_code == 1 and str(empty) in res.output
    assert not (tmp_path / "f").exists() and not (tmp_path / "c").exists()


def test_metrabs_crops_checks_its_options(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["data", "metrabs-crops", str(tmp_path), "--out", str(tmp_path),
                              "--part", "3"])
    assert res.exit_code == 2 and "--part" in res.output
    res = runner.invoke(app, ["data", "metrabs-crops", str(tmp_path), "--out", str(tmp_path),
                              "--mode", "test"])
    assert res.exit_code == 2 and "--mode" in res.output
