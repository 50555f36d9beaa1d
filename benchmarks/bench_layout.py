"""The package layout in numbers: import circles, deferred imports, long functions, big modules,
repeated code.

Counts are read from the source (nothing is imported), with the rules of
``tests/layout/rules.py``; circles are counted twice: through module-level imports only, and
through every import including those deferred into functions (which hide circles at import
time but not in the design); imports for the type checker alone do not count. Repeated code:
runs of ``REPEAT_LINES`` consecutive code lines (stripped; blank lines, comments and import
lines left out) that stand in two or more places.

    python benchmarks/bench_layout.py monopose [OTHER_TREE/monopose ...]
"""

from __future__ import annotations

import argparse
import ast
import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the rules live in tests/
from tests.layout import rules  # noqa: E402


def _all_import_circles(package: Path) -> list[list[str]]:
    rules.PACKAGE = package
    mods = rules.modules()
    known = {m.name for m in mods}
    graph: dict[str, set[str]] = {m.name: set() for m in mods}
    for m in mods:
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            if rules._in_type_checking(m.tree, node):  # for the type checker only
                continue
            graph[m.name].update(t for t in rules._target(m, node, known)
                                 if t in known and t != m.name)
    return rules._cycles(graph)


REPEAT_LINES = 6


def repeated_runs(package: Path) -> int:
    """Distinct runs of ``REPEAT_LINES`` code lines found in more than one place."""
    places: dict[tuple[str, ...], set[tuple[str, int]]] = collections.defaultdict(set)
    for path in sorted(package.rglob("*.py")):
        lines = [(k, line.strip()) for k, line in enumerate(path.read_text().splitlines())]
        code = [(k, t) for k, t in lines if t and not t.startswith(("#", "import ", "from "))]
        for i in range(len(code) - REPEAT_LINES + 1):
            run = tuple(t for _, t in code[i:i + REPEAT_LINES])
            if sum(len(t) for t in run) > 120:  # not just brackets and short keywords
                places[run].add((str(path), code[i][0]))
    return sum(1 for where in places.values() if len(where) > 1)


def layout_counts(package: Path) -> dict[str, int | str]:
    """Violations of each kind in ``package`` (a ``monopose`` folder)."""
    rules.PACKAGE = package
    layers = rules.LAYERS
    rules.LAYERS = collections.defaultdict(int, layers)  # an older layout has other parts
    try:
        found = rules.violations()
    finally:
        rules.LAYERS = layers
    counts: collections.Counter[str] = collections.Counter()
    for line in found:
        if "import inside" in line:
            counts["imports inside functions without a reason"] += 1
        elif "import circle" in line:
            counts["import circles (module level)"] += 1
        elif "(max 500)" in line:
            counts["modules over 500 lines"] += 1
        elif "(max 80)" in line:
            counts["functions over 80 lines"] += 1
        else:
            counts["imports from a higher layer"] += 1
    counts["import circles (any import)"] = len(_all_import_circles(package))
    counts["modules"] = len(rules.modules())
    counts[f"repeated runs of {REPEAT_LINES} code lines"] = repeated_runs(package)
    out: dict[str, int | str] = dict(counts)
    parts = {m.part for m in rules.modules()}
    if not parts <= set(layers):  # another layout: its parts have no layers
        out["imports from a higher layer"] = "n/a"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("packages", nargs="+", type=Path)
    args = ap.parse_args()
    table = {str(p): layout_counts(p.resolve()) for p in args.packages}
    keys = sorted({k for c in table.values() for k in c})
    print("| | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for k in keys:
        print(f"| {k} | " + " | ".join(str(c.get(k, 0)) for c in table.values()) + " |")


if __name__ == "__main__":
    main()
