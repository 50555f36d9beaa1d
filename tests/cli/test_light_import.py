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


def test_photo_path_loads_no_library_only_videos_or_training_need() -> None:
    """`monopose predict photo.jpg` imports what a photo needs (torch, LiteRT, OpenCV) and not
    SciPy (smoothing and tracking of videos: 0.7 s and 0.3 s) or the training data
    generator."""
    code = ("import sys, monopose.export.outputs, monopose.pipeline.estimator, monopose.zoo; "
            "print(sorted(m for m in ('scipy', 'monopose.data.synthetic.generate', "
            "'monopose.metrabs.cache') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"imported on the photo path: {out}"
