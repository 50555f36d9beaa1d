"""Outputs of ``monopose predict`` on the bundled media, reduced to the numbers a user sees.

The golden file ``predict_sample_person.json`` beside this module was recorded with
``python -m tests.golden.outputs record`` before the package was reorganised (one package per
method family); ``test_golden.py`` checks that every registered model still gives the same
keypoints, 3D and placement on the bundled photo and on a short video made from it.
``mpm-lift-t27`` was re-recorded (``record mpm-lift-t27``) when it was retrained and its tracks
became lifted with strided windows. Every model was re-recorded when the detector's h36m17
keypoints began to come from the learned BlazePose → h36m17 map
(:mod:`monopose.detect.keypoint_map`), and again after models were retrained. ``mpm-lift-t27``
was re-recorded when temporal lifters on videos began to take a window every half window
without the flip test (the video defaults; ``monopose.pipeline.track_lifting``). Every lifter was
re-recorded when world-landmark sizing began to remove the landmarks' size bias
(``monopose.core.body_size.WORLD_LANDMARK_SIZE_SCALE``), and every model when photos began to
get a second landmark look through the crop the first look's landmarks give
(``BlazePoseDetector(refine_rois=True)``). ``mpm-lift-t1`` was re-recorded after its second
posture stage (``monopose/train/configs/mpm-lift-t1-postures2.yaml``), its third
(``mpm-lift-t1-postures3.yaml``) and when its weights became the average of three runs of that
stage (``monopose soup``). Every lifter was re-recorded when people began to be placed by
the fit of the lifted pose to its 2D rays (``monopose.core.placement``, ``--placement
ray_fit``). ``mpm-lift-t1-floorsit`` was recorded when it was registered, and again when its
weights became the average of two runs trained with the detector's own 2D on rendered people
(``monopose/train/configs/mpm-lift-t1-floorsit-detected.yaml``), and again when they became
the average of two runs on BlazePose Heavy's keypoints of them
(``mpm-lift-t1-floorsit-heavy.yaml``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np

GOLDEN = Path(__file__).resolve().parent / "predict_sample_person.json"
MODELS = ("baseline-t1", "poseformer-t1", "mpm-lift-t1", "mpm-lift-t27", "mpm-lift-t1-floorsit",
          "mpm-lift-t1-scratch",
          "capf-blazepose-t1", "poseformer-ctxfree-synth", "metrabs-blazepose")
VIDEO_FRAMES = 6
# What a user reads of each person (the JSON's own names; units in the file's "units").
KEYS = ("person_id", "box", "score", "keypoints_2d", "valid", "pose_3d_rel", "pose_3d_abs",
        "root_method")


def sample_photo() -> Path:
    return Path(str(resources.files("monopose") / "assets" / "sample_person.jpg"))


def make_video(path: Path) -> Path:
    """A short MJPG video of the bundled photo panning 8 px per frame (lossless enough to be
    decoded identically every time)."""
    import cv2

    bgr = cv2.imread(str(sample_photo()))
    h, w = bgr.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w - 48, h))
    for k in range(VIDEO_FRAMES):
        writer.write(np.ascontiguousarray(bgr[:, 8 * k: 8 * k + w - 48]))
    writer.release()
    return path


def reduce(result: dict) -> list[list[dict]]:
    """Per frame, per person: the values a user reads."""
    frames = []
    for frame in result["frames"]:
        people = []
        for p in frame["people"]:
            people.append({key: p[key] for key in KEYS})
        frames.append(people)
    return frames


def run_predict(model: str, inputs: list[Path], out: Path) -> dict[str, list[list[dict]]]:
    """Run the CLI as a user would; ``{input stem: reduced frames}``. With the full landmark
    network, so that the outputs do not depend on whether BlazePose Heavy was fetched
    (``tests/detect/test_heavy.py`` covers the heavy look)."""
    cli = [sys.executable, "-c", "from monopose.cli import main; main()"]
    subprocess.run([*cli, "predict", *map(str, inputs), "--model", model, "--out", str(out),
                    "--landmarks", "full"], check=True, capture_output=True)
    return {p.stem: reduce(json.loads((out / f"{p.stem}.json").read_text())) for p in inputs}


if __name__ == "__main__" and sys.argv[1:2] == ["record"]:
    import tempfile

    # `record` re-records every model; `record NAME ...` only those (e.g. after retraining one).
    names = sys.argv[2:] or list(MODELS)
    golden = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = [sample_photo(), make_video(work / "pan.avi")]
        for name in names:
            golden[name] = run_predict(name, inputs, work / name)
    GOLDEN.write_text(json.dumps({m: golden[m] for m in MODELS}, separators=(",", ":")))
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes): {', '.join(names)}")
