"""Set-up: what `make demo` installs, and package metadata without deprecated forms."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def test_license_is_an_spdx_string_not_a_deprecated_table() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(meta["project"]["license"], str)
    # setuptools accepts the SPDX string form from version 77 on.
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in meta["build-system"]["requires"])


def _recipe(makefile: str, target: str) -> str:
    """The recipe lines of ``target`` (a rule may name a stamp file)."""
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)*)", makefile, re.M)
    assert match, target
    return match.group(1)


def test_make_demo_installs_the_package_without_dev_or_render_extras() -> None:
    makefile = (ROOT / "Makefile").read_text()
    demo_prereq = re.search(r"^demo:\s*(\S+)", makefile, re.M)
    assert demo_prereq and demo_prereq.group(1) == "$(STAMP)"
    base = _recipe(makefile, "$(STAMP)")
    assert "-e ." in base and "[dev" not in base and "render" not in base
    test_prereq = re.search(r"^test:\s*(\S+)", makefile, re.M)
    assert test_prereq and "dev,render" in _recipe(makefile, test_prereq.group(1))
