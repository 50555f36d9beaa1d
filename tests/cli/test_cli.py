"""The command line: argument handling that is the CLI's own (the work is tested in the API)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
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
    from monopose.zoo import list_models

    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for card in list_models():
        assert card.name in result.output
    assert "commercial" in result.output
    assert "BlazePose landmark networks (Apache-2.0)" in result.output
    # every model's 2D goes through the learned keypoint map: its data's licence is said too
    text = " ".join(result.output.split())
    assert "Learned BlazePose → h36m17 keypoint map" in text
    assert "Bandai Namco mocap (CMU mocap terms + CC BY-NC 4.0: non-commercial use only)" in text


def test_models_says_whether_blazepose_heavy_is_fetched(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONOPOSE_MODELS_DIR", str(tmp_path))
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0 and "heavy, not fetched: run `monopose fetch-models`" in (
        " ".join(result.output.split()))


def test_predict_rejects_bad_options_and_missing_inputs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["predict", str(tmp_path / "nothing.jpg"), "--out",
                                 str(tmp_path / "o")])
    assert result.exit_code == 2 and "nothing.jpg" in result.output
    result = runner.invoke(app, ["predict", str(tmp_path), "--viz", "gif"])
    assert result.exit_code != 0 and "gif" in result.output
    result = runner.invoke(app, ["predict", str(tmp_path), "--intrinsics", "1,2,3"])
    assert result.exit_code != 0 and "fx,fy,cx,cy" in result.output


def test_viz_takes_its_value_unambiguously(tmp_path: Path) -> None:
    assert _bare_viz_means_png(["--viz", "foo", "a.jpg"]) == ["--viz", "foo", "a.jpg"]
    assert _bare_viz_means_png(["--viz", "./holiday"]) == ["--viz", "png", "./holiday"]
    (tmp_path / "holiday").mkdir()
    assert _bare_viz_means_png(["--viz", str(tmp_path / "holiday")])[1] == "png"
    result = runner.invoke(app, ["predict", str(tmp_path), "--viz", "foo"])
    assert result.exit_code == 2 and "unknown format foo" in result.output


@pytest.mark.parametrize("args, words", [
    (["--tta", "0"], "--tta"),
    (["--tta", "9"], "--tta"),
    (["--max-frames", "0"], "--max-frames"),
    (["--intrinsics", "inf,inf,inf,inf"], "finite"),
    (["--intrinsics", "nan,500,320,240"], "finite"),
    (["--intrinsics", "-5,500,320,240"], "fx, fy > 0"),
])
def test_numeric_options_are_range_checked(tmp_path: Path, args: list[str], words: str) -> None:
    result = runner.invoke(app, ["predict", str(tmp_path), *args])
    assert result.exit_code == 2 and words in result.output, result.output


def test_lift_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    import numpy as np

    src = tmp_path / "kp.npz"
    np.savez(src, keypoints_2d=np.zeros((1, 17, 2)))
    before = src.read_bytes()
    result = runner.invoke(app, ["lift", str(src), "--out", str(tmp_path / "." / "kp.npz")])
    assert result.exit_code == 2 and "refusing to overwrite" in result.output
    assert src.read_bytes() == before


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import typer.main

    click_group = typer.main.get_command(group)  # type: ignore[arg-type]
    out = []
    for name, cmd in click_group.commands.items():  # type: ignore[attr-defined]
        if hasattr(cmd, "commands"):
            out += [prefix + (name, sub) for sub in cmd.commands]
        else:
            out.append(prefix + (name,))
    return out


def test_help_shows_no_type_for_flags_and_keeps_bracketed_text() -> None:
    commands = _commands(app)
    assert ("data", "render") in commands and ("predict",) in commands
    for cmd in commands:
        result = runner.invoke(app, [*cmd, "--help"])
        assert result.exit_code == 0, cmd
        assert "<bool>" not in result.output, cmd
    render_help = runner.invoke(app, ["data", "render", "--help"]).output
    assert "monopose[render]" in render_help.replace("'", "").replace(" ", "")


def test_models_marks_the_default_and_says_what_each_was_trained_on() -> None:
    from monopose.pipeline.estimator import DEFAULT_MODEL

    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    marked = [ln for ln in lines if " * " in ln.replace("│", " ") and "default" not in ln]
    assert len(marked) == 1 and DEFAULT_MODEL in marked[0]
    rows = {card: next(ln for ln in lines if card in ln) for card in
            ("capf-blazepose-t1", "metrabs-blazepose", "mpm-lift-t1-scratch")}
    assert "rendered" in rows["capf-blazepose-t1"] and "rendered" in rows["metrabs-blazepose"]
    assert "projected" in rows["mpm-lift-t1-scratch"]


def test_unknown_body_size_source_is_refused(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--out",
                                 str(tmp_path / "o"), "--body-size", "guess"])
    assert result.exit_code == 2 and "body_size" in result.output
    assert not (tmp_path / "o").exists()


def test_turned_passes_option(tmp_path: Path, monkeypatch) -> None:
    """--turned-passes reaches the estimator (fallback by default); an unknown mode is refused
    with exit 2, naming the option, and nothing written."""
    from PIL import Image

    import monopose.pipeline.estimator as estimator_module

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--out",
                                 str(tmp_path / "o"), "--turned-passes", "sometimes"])
    assert result.exit_code == 2 and "turned_passes: expected" in result.output
    assert not (tmp_path / "o").exists()
    seen: list[str] = []
    real_init = estimator_module.Estimator.__init__

    def spy(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs.get("turned_passes", "fallback"))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(estimator_module.Estimator, "__init__", spy)
    for given, expected in (([], "fallback"), (["--turned-passes", "always"], "always")):
        result = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--out",
                                     str(tmp_path / "o2"), *given])
        assert result.exit_code == 0, result.output
        assert seen[-1] == expected


def test_placement_option(tmp_path: Path) -> None:
    """--placement reaches the lifter (ray_fit by default); an unknown name is refused with
    exit 2 and nothing written, by predict and by lift."""
    from PIL import Image

    from monopose.pipeline.estimator import Estimator

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--out",
                                 str(tmp_path / "o"), "--placement", "guess"])
    assert result.exit_code == 2 and "placement: expected one of ray_fit, solve" in result.output
    assert not (tmp_path / "o").exists()
    np.savez(tmp_path / "kp.npz", keypoints_2d=np.zeros((1, 17, 2)))
    result = runner.invoke(app, ["lift", str(tmp_path / "kp.npz"), "--out",
                                 str(tmp_path / "out.npz"), "--placement", "guess"])
    assert result.exit_code == 2 and "placement: expected one of" in result.output
    assert not (tmp_path / "out.npz").exists()
    detector = SimpleNamespace()
    assert Estimator(detector=detector).model.placement == "ray_fit"  # type: ignore[arg-type]
    assert Estimator(placement="solve", detector=detector  # type: ignore[arg-type]
                     ).model.placement == "solve"


def test_keypoint_map_option(tmp_path: Path) -> None:
    """--keypoint-map picks the detector's BlazePose → h36m17 map; an unknown name is refused
    with exit 2 and nothing written."""
    from PIL import Image

    from monopose.pipeline.estimator import Estimator

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    result = runner.invoke(app, ["predict", str(tmp_path / "a.png"), "--out",
                                 str(tmp_path / "o"), "--keypoint-map", "guess"])
    assert result.exit_code == 2 and "keypoint_map" in result.output
    assert not (tmp_path / "o").exists()
    assert Estimator(keypoint_map="fixed").detector.keypoint_map.name == "fixed"
    assert Estimator().detector.keypoint_map.name == "learned"


def test_landmarks_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--landmarks: an unknown network is refused by name, a heavy network not fetched says how
    to fetch it; exit 2 and nothing written either way."""
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    args = ["predict", str(tmp_path / "a.png"), "--out", str(tmp_path / "o"), "--landmarks"]
    result = runner.invoke(app, [*args, "guess"])
    assert result.exit_code == 2
    assert "landmark_model: expected one of auto, full, heavy" in result.output
    monkeypatch.setenv("MONOPOSE_MODELS_DIR", str(tmp_path / "empty"))
    result = runner.invoke(app, [*args, "heavy"])
    assert result.exit_code == 2 and "monopose fetch-models" in result.output
    assert not (tmp_path / "o").exists()


def test_models_says_which_models_run_without_torch() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    cells = {}
    for line in result.output.splitlines():
        parts = [c.strip() for c in line.split("│")]
        if len(parts) > 5 and parts[1]:
            cells[parts[1].rstrip(" *")] = parts[5]  # name -> weights
    assert "+ ONNX" in cells["mpm-lift-t1"] and "+ ONNX" in cells["mpm-lift-t27"]
    assert "+ ONNX" not in cells["mpm-lift-t1-scratch"]
    assert "+ ONNX" not in cells["capf-blazepose-t1"]
