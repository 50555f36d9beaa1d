"""Every Python entry point and CLI verb the README shows exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monopose.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def _imports() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for block in _blocks("python"):
        for line in block.splitlines():
            m = re.match(r"\s*from (monopose[\w.]*) import ([\w, ]+)", line)
            if m:
                found += [(m.group(1), name.strip()) for name in m.group(2).split(",")]
            m = re.match(r"\s*import (monopose[\w.]*)", line)
            if m:
                found.append((m.group(1), None))
    return found


@pytest.mark.parametrize(("module", "name"), _imports())
def test_readme_python_imports_resolve(module: str, name: str | None) -> None:
    mod = importlib.import_module(module)
    if name is not None:
        assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), (module, name)


def _verbs() -> list[list[str]]:
    verbs = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            m = re.match(r"\s*monopose ([a-z0-9-]+)(?: ([a-z0-9-]+))?", line)
            if m:
                verbs.append([w for w in m.groups() if w and not w.startswith("-")])
    return verbs


def test_readme_shows_python_and_cli() -> None:
    assert len(_imports()) >= 2 and len(_verbs()) >= 10


@pytest.mark.parametrize("verb", _verbs(), ids=" ".join)
def test_readme_cli_verbs_exist(verb: list[str]) -> None:
    words = verb if verb[0] == "data" else verb[:1]
    result = CliRunner().invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
