"""`monopose --help` stays fast: the CLI imports no torch, Lightning or LiteRT until a verb
needs them; a photo loads nothing only videos or training need, and with the default model no
torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _imported(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Those of ``modules`` a fresh interpreter holds after running ``statement``."""
    code = (f"import json, sys; {statement}; "
            f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def test_cli_import_loads_no_heavy_library() -> None:
    found = _imported("import monopose.cli",
                      ("torch", "lightning", "ai_edge_litert", "scipy", "cv2"))
    assert found == [], f"imported by `import monopose.cli`: {found}"


def test_photo_path_loads_no_library_only_videos_or_training_need() -> None:
    """`monopose predict photo.jpg` imports what a photo needs (torch, LiteRT, OpenCV) and not
    SciPy (smoothing and tracking of videos: 0.7 s and 0.3 s) or the training data
    generator."""
    found = _imported(
        "import monopose.export.outputs, monopose.pipeline.estimator, monopose.zoo",
        ("scipy", "monopose.data.synthetic.generate", "monopose.metrabs.cache"))
    assert found == [], f"imported on the photo path: {found}"


def test_a_photo_with_the_default_model_runs_without_torch() -> None:
    """The default lifter's ONNX twin ships beside its weights: a photo needs no PyTorch, whose
    import is most of a one-photo `monopose predict`."""
    from monopose.pipeline.estimator import DEFAULT_MODEL

    photo = Path(__file__).resolve().parents[2] / "monopose" / "assets" / "sample_person.jpg"
    statement = ("from monopose.pipeline.estimator import Estimator; "
                 f"people = Estimator().predict({str(photo)!r}).frames[0].people; "
                 "assert len(people) == 1 and people[0].pose_3d_abs_mm is not None")
    found = _imported(statement, ("torch", "lightning"))
    assert found == [], f"imported predicting a photo with {DEFAULT_MODEL}: {found}"


def test_lifting_a_keypoint_file_with_the_default_model_runs_without_torch(tmp_path: Path
                                                                          ) -> None:
    import numpy as np

    src, out = tmp_path / "kp.npz", tmp_path / "poses.npz"
    rng = np.random.default_rng(0)
    np.savez(src, keypoints_2d=rng.uniform(100.0, 500.0, (3, 17, 2)))
    statement = ("from pathlib import Path; from monopose.pipeline.lift_file import lift_file; "
                 f"lift_file(Path({str(src)!r}), Path({str(out)!r}), 'mpm-lift-t1')")
    found = _imported(statement, ("torch", "lightning"))
    assert found == [], f"imported by `monopose lift`: {found}"
    assert np.load(out)["pose_3d_rel_mm"].shape == (3, 17, 3)


def test_a_video_with_the_default_model_runs_without_torch(tmp_path: Path) -> None:
    from tests.golden.outputs import make_video

    video = make_video(tmp_path / "pan.avi")
    statement = ("from monopose.pipeline.estimator import Estimator; "
                 f"frames = Estimator().predict_video({str(video)!r}).frames; "
                 "assert any(f.people for f in frames)")
    found = _imported(statement, ("torch", "lightning"))
    assert found == [], f"imported predicting a video with the default model: {found}"
