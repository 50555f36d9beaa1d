"""Every registered model gives the same outputs on the bundled media as before the package was
reorganised (``predict_sample_person.json``, see ``outputs.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.golden import outputs

# Threads may reorder float sums; anything beyond this is a change of behaviour.
TOLERANCE = {"keypoints_2d": 0.05, "box": 0.05, "score": 1e-3, "pose_3d_rel": 0.5,
             "pose_3d_abs": 2.0}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return outputs.make_video(tmp_path_factory.mktemp("golden") / "pan.avi")


@pytest.mark.parametrize("model", outputs.MODELS)
def test_predict_unchanged(model: str, video: Path, tmp_path: Path) -> None:
    golden = json.loads(outputs.GOLDEN.read_text())[model]
    now = outputs.run_predict(model, [outputs.sample_photo(), video], tmp_path)
    assert now.keys() == golden.keys()
    for stem, frames in golden.items():
        assert len(now[stem]) == len(frames), stem
        for k, (want_people, got_people) in enumerate(zip(frames, now[stem], strict=True)):
            assert len(got_people) == len(want_people), f"{stem} frame {k}"
            for want, got in zip(want_people, got_people, strict=True):
                for key in outputs.KEYS:
                    where = f"{model} {stem} frame {k} {key}"
                    if key in TOLERANCE:
                        a = np.array(want[key], dtype=float)
                        b = np.array(got[key], dtype=float)
                        np.testing.assert_allclose(b, a, atol=TOLERANCE[key], err_msg=where)
                    else:
                        assert got[key] == want[key], where
