"""The house rules of the package layout, checked on the source (no imports of the package).

* Layers: a module imports only from its own layer or lower ones (``LAYERS``); families do not
  import each other, except that CA-PF builds on the lifters.
* No import circle between modules.
* No import inside a function, except where a heavy or optional dependency justifies it, said
  in a comment on the line or the line before (``# heavy: Lightning``, ``# optional: anny``).
* No module over ``MAX_MODULE_LINES`` lines, no function over ``MAX_FUNCTION_LINES`` lines.

``python -m tests.layout.rules`` prints every violation.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "monopose"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80

# Layer of each top-level part of the package: lower numbers are further down.
LAYERS: dict[str, int] = {
    "__init__": 0, "core": 0,
    "io": 1,
    "data": 2, "detect": 2,
    "models": 3,
    "train": 4,
    "lifting": 5, "metrabs": 5, "capf": 6,
    "zoo": 7,
    "eval": 8,
    "pipeline": 9,
    "export": 10,
    "cli": 11,
}
# Same-layer parts that may not import each other (the families are independent).
SEPARATE = {frozenset({"lifting", "metrabs"}), frozenset({"capf", "metrabs"})}
EXCUSE = ("# heavy", "# optional")


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "monopose.core.camera"
    path: Path
    tree: ast.Module
    lines: list[str]

    @property
    def part(self) -> str:
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else "__init__"


def modules() -> list[Module]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1] if len(parts) > 1 else parts
        text = path.read_text()
        out.append(Module(".".join(parts), path, ast.parse(text), text.splitlines()))
    return out


def _target(module: Module, node: ast.ImportFrom | ast.Import, known: set[str]) -> list[str]:
    """The package modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "monopose"]
    if node.level:
        base = module.name.split(".")
        if module.path.name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - node.level + 1]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != "monopose":
        return []
    names = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in known]
    return names or [source]


def _part(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def violations() -> list[str]:
    mods = modules()
    known = {m.name for m in mods}
    found: list[str] = []
    graph: dict[str, set[str]] = {m.name: set() for m in mods}
    for m in mods:
        rel = m.path.relative_to(PACKAGE.parent)
        if len(m.lines) > MAX_MODULE_LINES:
            found.append(f"{rel}: {len(m.lines)} lines (max {MAX_MODULE_LINES})")
        inner: set[int] = set()
        for fn in _functions(m.tree):
            length = (fn.end_lineno or fn.lineno) - fn.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(f"{rel}:{fn.lineno} {fn.name}: {length} lines "
                             f"(max {MAX_FUNCTION_LINES})")
            for sub in ast.walk(fn):
                if isinstance(sub, ast.Import | ast.ImportFrom):
                    inner.add(id(sub))
                    line = m.lines[sub.lineno - 1]
                    if not any(e in said for said in _block(m.lines, sub.lineno)
                               for e in EXCUSE):
                        found.append(f"{rel}:{sub.lineno} import inside {fn.name}: "
                                     f"{line.strip()}")
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            for target in _target(m, node, known):
                if target == m.name or target not in known:
                    continue
                if _in_type_checking(m.tree, node):
                    continue
                if id(node) not in inner:  # a deferred import cannot close a circle at import
                    graph[m.name].add(target)
                a, b = m.part, _part(target)
                if a != b and (LAYERS[b] > LAYERS[a] or frozenset({a, b}) in SEPARATE):
                    found.append(f"{rel}:{node.lineno} {a} (layer {LAYERS[a]}) imports "
                                 f"{target} (layer {LAYERS[b]})")
    found += [f"import circle: {' -> '.join(c)}" for c in _cycles(graph)]
    return found


def _block(lines: list[str], lineno: int) -> list[str]:
    """The import's line and the comment or imports above it: a comment before a block of
    deferred imports speaks for the whole block."""
    out = [lines[lineno - 1]]
    k = lineno - 2
    while k >= 0:
        text = lines[k].strip()
        out.append(text)
        if not (text.startswith(("import ", "from ", "#")) or text.endswith((",", "(")) or
                text.startswith(")") or (text and text[0].isalpha() and text.endswith(","))):
            break
        if text.startswith("#"):
            break
        k -= 1
    return out


def _in_type_checking(tree: ast.Module, node: ast.AST) -> bool:
    for top in tree.body:
        if (isinstance(top, ast.If) and isinstance(top.test, ast.Name)
                and top.test.id == "TYPE_CHECKING"):
            if any(sub is node for sub in ast.walk(top)):
                return True
    return False


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return comps


if __name__ == "__main__":
    problems = violations()
    print("\n".join(problems) or "no violations")
    print(f"{len(problems)} violations")
