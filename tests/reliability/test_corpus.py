"""The bad-input corpus (:mod:`tests.reliability.corpus`) through the command line and the weights
loader: the documented exit code, one clear line naming the file, nothing half-written, and in a
batch the good input still finished.

Exit codes: see the table in :mod:`tests.reliability.corpus`. The command line runs in-process
(``CliRunner``); ``predict`` runs once over the whole image/video corpus, as one batch, so the
estimator loads once.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from monopose.cli import app
from tests.reliability.corpus import CASES, GOOD_PHOTO, Case, cases_for, main

runner = CliRunner()
# A piped log has no terminal width: rich then wraps at 80 columns (unless COLUMNS says more).
PIPED_ENV = {"COLUMNS": "80"}
# Predict inputs that are known not to fail although they should (none).
PREDICT_GAPS: tuple[str, ...] = ()
_ENTRY_START = re.compile(r"(failed|skipped|note|error)\b|\d+ of \d+ inputs")


def _ids(case: Case) -> str:
    return case.path


def _lines(output: str) -> list[str]:
    return [ln.strip() for ln in output.splitlines() if ln.strip()]


def _entries(output: str) -> list[str]:
    """Output lines with rich's wrapped continuation lines joined back on."""
    entries: list[str] = []
    for line in _lines(output):
        if entries and not _ENTRY_START.match(line):
            entries[-1] += " " + line
        else:
            entries.append(line)
    return entries


def _assert_one_line(result: Result, prefix: str, path: Path, expect: str) -> None:
    lines = _lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith(prefix) and str(path) in lines[0], result.output
    assert re.search(expect, lines[0], re.IGNORECASE), result.output


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    assert main([str(root)]) == 0
    return root


def test_corpus_holds_every_case_in_small_files(corpus: Path) -> None:
    for case in CASES:
        assert (corpus / case.path).is_file(), case.path
    size = sum(p.stat().st_size for p in corpus.rglob("*") if p.is_file())
    assert size < 256 * 1024
    assert main([]) == 2  # usage


# ------------------------------------------------------------------------------------- lift


@pytest.mark.parametrize("case", cases_for("lift"), ids=_ids)
def test_lift(corpus: Path, tmp_path: Path, case: Case) -> None:
    src, out = corpus / case.path, tmp_path / "lifted.npz"
    result = runner.invoke(app, ["lift", str(src), "--out", str(out)])
    assert result.exit_code == case.exit_code, result.output
    if case.exit_code == 0:
        with np.load(out) as z:
            assert np.isfinite(z["pose_3d_rel_mm"]).all()
            ok = z["root_method"] != "failed"
            assert ok.all() and np.isfinite(z["pose_3d_abs_mm"]).all()
        return
    _assert_one_line(result, "error: ", src, case.expect)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------- export-bvh


@pytest.mark.parametrize("case", cases_for("export-bvh"), ids=_ids)
def test_export_bvh(corpus: Path, tmp_path: Path, case: Case) -> None:
    src = corpus / case.path
    result = runner.invoke(app, ["export-bvh", str(src), "--out", str(tmp_path)])
    assert result.exit_code == case.exit_code, result.output
    if case.exit_code == 0:
        assert [p.suffix for p in tmp_path.iterdir()] == [".bvh"]
        return
    _assert_one_line(result, "error: " if case.exit_code == 2 else "note: ", src, case.expect)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- weights


def _forbidden(*_: object, **__: object) -> None:
    raise AssertionError("weights must never be unpickled")


@pytest.mark.parametrize("case", cases_for("weights"), ids=_ids)
def test_weights(corpus: Path, case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    import torch

    from monopose.models.weights_io import load_weights
    from monopose.zoo import load_model

    for owner, name in ((torch, "load"), (pickle, "load"), (pickle, "loads")):
        monkeypatch.setattr(owner, name, _forbidden)
    path = corpus / case.path

    def load() -> object:
        if path.parent.name == "registry":
            return load_model(path.stem, weights_dir=path.parent)[0]
        return load_weights(path)[0]

    if case.exit_code == 0:
        assert isinstance(load(), torch.nn.Module)
        return
    with pytest.raises(getattr(builtins, case.error)) as err:
        load()
    assert type(err.value).__name__ == case.error  # not a subclass such as UnicodeDecodeError
    assert path.stem in str(err.value)
    assert re.search(case.expect, str(err.value), re.IGNORECASE), err.value


def test_no_torch_load_without_weights_only() -> None:
    """Every ``torch.load`` in the package passes ``weights_only=True``; nothing imports pickle."""
    package = Path(__file__).resolve().parents[2] / "monopose"
    for source in package.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {"pickle", "dill", "joblib"} & set(names), source
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "torch"):
                flags = {k.arg: k.value for k in node.keywords}
                value = flags.get("weights_only")
                assert isinstance(value, ast.Constant) and value.value is True, \
                    f"{source}:{node.lineno}"


# ---------------------------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def batch(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """``predict`` over the whole image/video folder: broken files and one good photo."""
    out = tmp_path_factory.mktemp("predict_out")
    result = runner.invoke(app, ["predict", str(corpus / "predict"), "--out", str(out), "--npz",
                                 "--viz", "png"], env=PIPED_ENV)
    return result, out


def _broken_predict_cases(with_gaps: bool) -> list[Case]:
    return [c for c in cases_for("predict", broken_only=True)
            if with_gaps or Path(c.path).name not in PREDICT_GAPS]


def test_predict_batch_reports_each_broken_file_and_finishes_the_good_one(
        corpus: Path, batch: tuple[Result, Path]) -> None:
    from monopose.io.schema import read_result_json

    result, out = batch
    assert result.exit_code == 1, result.output
    good = read_result_json(out / Path(GOOD_PHOTO).with_suffix(".json"))
    assert good["frames"][0]["people"], "the good photo shows a person"
    failed = [e for e in _entries(result.output) if e.startswith("failed ")]
    for case in _broken_predict_cases(with_gaps=False):
        path = corpus / case.path
        mine = [e for e in failed if e.startswith(f"failed {path}:")]
        assert len(mine) == 1, (case.path, result.output)
        assert re.search(case.expect, mine[0], re.IGNORECASE), mine[0]
    # Nothing half-written: the good photo's outputs, complete, and no temporary files.
    stems = {Path(GOOD_PHOTO).stem} | {Path(g).stem for g in PREDICT_GAPS}
    written = sorted(p.name for p in out.iterdir())
    assert all(Path(n).stem in stems and not n.startswith(".") for n in written), written
    assert {f"{Path(GOOD_PHOTO).stem}{s}" for s in (".json", ".npz", ".png")} <= set(written)


def test_predict_refuses_an_image_named_as_a_video(corpus: Path,
                                                   batch: tuple[Result, Path]) -> None:
    result, _ = batch
    path = corpus / "predict" / "image_renamed.mp4"
    mine = [e for e in _entries(result.output) if e.startswith(f"failed {path}:")]
    assert len(mine) == 1 and re.search("image", mine[0].split(":", 1)[1]), result.output


def test_predict_failure_is_one_line_when_piped(corpus: Path,
                                                batch: tuple[Result, Path]) -> None:
    result, _ = batch
    raw_lines = set(_lines(result.output))
    for case in _broken_predict_cases(with_gaps=False):
        path = corpus / case.path
        mine = [e for e in _entries(result.output) if e.startswith(f"failed {path}:")]
        assert len(mine) == 1 and mine[0] in raw_lines, result.output


def test_predict_single_unreadable_input_exits_1(corpus: Path, tmp_path: Path) -> None:
    """A lone unreadable input counts as 'some inputs failed' (1), not as bad usage (2)."""
    src = corpus / "predict" / "empty.jpg"
    result = runner.invoke(app, ["predict", str(src), "--out", str(tmp_path)], env=PIPED_ENV)
    assert result.exit_code == 1, result.output
    assert any(e.startswith(f"failed {src}:") for e in _entries(result.output))
    assert list(tmp_path.iterdir()) == []


def test_predict_nothing_to_do_exits_2(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    result = runner.invoke(app, ["predict", str(notes), "--out", str(tmp_path / "out")],
                           env=PIPED_ENV)
    assert result.exit_code == 2, result.output
    assert "nothing to do" in result.output and "notes.txt" in result.output
    assert not (tmp_path / "out").exists()
