"""The package obeys its layout rules (see ``rules.py``: layers, no import circle, deferred
imports only for heavy or optional dependencies, module and function sizes)."""

from __future__ import annotations

from tests.layout import rules


def test_the_package_obeys_the_layout_rules() -> None:
    problems = rules.violations()
    assert not problems, "\n".join(problems)


def test_the_rules_see_a_violation(tmp_path, monkeypatch) -> None:
    pkg = tmp_path / "monopose"
    (pkg / "core").mkdir(parents=True)
    (pkg / "cli").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "__init__.py").write_text("")
    (pkg / "cli" / "__init__.py").write_text("")
    (pkg / "cli" / "a.py").write_text("import monopose.core.b\n")
    (pkg / "core" / "b.py").write_text(
        "import monopose.cli.a\n\n\ndef f():\n    import json\n" + "    x = 1\n" * 90)
    monkeypatch.setattr(rules, "PACKAGE", pkg)
    found = "\n".join(rules.violations())
    assert "core (layer 0) imports monopose.cli.a (layer 11)" in found
    assert "import circle: monopose.cli.a -> monopose.core.b" in found
    assert "import inside f: import json" in found
    assert "f: 92 lines" in found
