"""The command line: argument handling that is the CLI's own (the work is tested in the API)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from monopose.cli import _bare_viz_means_png, app

runner = CliRunner()


def test_bare_viz_becomes_png_and_formats_pass_through() -> None:
    assert _bare_viz_means_png(["predict", "a.jpg", "--viz"]) == ["predict", "a.jpg", "--viz",
                                                                  "png"]
    assert _bare_viz_means_png(["predict", "--viz", "a.jpg"]) == ["predict", "--viz", "png",
                                                                  "a.jpg"]
    assert _bare_viz_means_png(["predict", "--viz", "html", "a.jpg"]) == ["predict", "--viz",
                                                                          "html", "a.jpg"]
    assert _bare_viz_means_png(["--viz", "png,html"]) == ["--viz", "png,html"]


def test_models_lists_every_registered_model_with_licence() -> None:
    from monopose.models.registry import list_models

    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for card in list_models():
        assert card.name in result.output
    assert "commercial" in result.output


def test_predict_rejects_bad_options_and_missing_inputs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(tmp_path / "nothing.jpg"), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2 and "nothing.jpg" in result.output
    result = runner.invoke(app, ["predict", str(tmp_path), "--viz", "gif"])
    assert result.exit_code != 0 and "gif" in result.output
    result = runner.invoke(app, ["predict", str(tmp_path), "--intrinsics", "1,2,3"])
    assert result.exit_code != 0 and "fx,fy,cx,cy" in result.output
