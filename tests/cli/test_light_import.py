"""`monopose --help` stays fast: the CLI imports no torch, Lightning or LiteRT until a verb
needs them."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_loads_no_heavy_library() -> None:
    code = ("import sys, monopose.cli; "
            "print(sorted(m for m in ('torch', 'lightning', 'ai_edge_litert', 'scipy', 'cv2') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"imported by `import monopose.cli`: {out}"
