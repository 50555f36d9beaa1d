"""The MPI-INF-3DHP test set as a labels file for `monopose evaluate-photos`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from monopose.cli import app
from monopose.core.skeleton import convert_layout
from monopose.data.mpi3dhp import MPI3DHP_ACTIVITIES, mpi3dhp_photo_labels
from monopose.eval.photo_truth import load_photo_truths
from tests.data.test_benchmarks_formats import _write_3dhp

runner = CliRunner()


def _test_set(root: Path, n: int = 12, missing: tuple[int, ...] = ()) -> dict[str, dict]:
    """TS1 (studio) and TS5 (outdoor) with an image file per frame except ``missing`` (0-based
    frames of TS1)."""
    rng = np.random.default_rng(0)
    arrays = {}
    for seq, size in (("TS1", (2048, 2048)), ("TS5", (1920, 1080))):
        arrays[seq] = _write_3dhp(root / seq / "annot_data.mat", n, rng)
        images = root / seq / "imageSequence"
        images.mkdir()
        Image.new("L", size).save(images / "blank.jpg")
        for f in range(n):
            if not (seq == "TS1" and f in missing):
                (images / f"img_{f + 1:06d}.jpg").hardlink_to(images / "blank.jpg")
    return arrays


def test_valid_frames_become_labelled_photos_in_camera_space(tmp_path: Path) -> None:
    arrays = _test_set(tmp_path / "3dhp", missing=(4,))
    out = tmp_path / "eval" / "labels.json"
    out.parent.mkdir()
    labels = mpi3dhp_photo_labels(tmp_path / "3dhp", out.parent, ["TS1", "TS5"])
    a1 = arrays["TS1"]
    valid = [f for f in range(12) if a1["valid_frame"][f, 0] > 0.5]  # frames 1, 2, 4, 5, ...
    assert labels["missing_images"] == 1  # frame 4 is valid and has no image
    ts1 = [i for i in labels["items"] if i["source"].startswith("3dhp/TS1/")]
    assert [int(i["source"].rsplit("/", 1)[1]) for i in ts1] == [f for f in valid if f != 4]
    first = ts1[0]
    assert first["image"] == "../3dhp/TS1/imageSequence/img_000002.jpg"
    np.testing.assert_allclose(first["pose3d_camera_mm"], a1["annot3"][1, 0], atol=0.01)
    assert first["group"] == MPI3DHP_ACTIVITIES[2] and "note" not in first
    assert all(i["note"] == "lens distortion not modelled" for i in labels["items"]
               if "/TS5/" in i["source"])
    out.write_text(json.dumps(labels))
    truths = load_photo_truths(out)
    assert truths.skipped == [] and len(truths.items) == len(labels["items"])
    expected, _, _ = convert_layout(a1["annot3"][1, 0], "mpi3dhp17", "h36m17")
    np.testing.assert_allclose(truths.items[0].abs_mm, expected, atol=0.01)
    assert truths.items[0].intrinsics[2:] == (1017.39, 1043.03)
    assert truths.items[0].group == MPI3DHP_ACTIVITIES[2]
    every = mpi3dhp_photo_labels(tmp_path / "3dhp", out.parent, ["TS1"], every=2)
    assert len(every["items"]) == len(valid[::2]) - (4 in valid[::2])


def test_the_verb_writes_the_file_and_refuses_a_set_without_images(tmp_path: Path) -> None:
    _test_set(tmp_path / "3dhp")
    out = tmp_path / "labels.json"
    result = runner.invoke(app, ["data", "labels-3dhp", str(tmp_path / "3dhp"), "--out",
                                 str(out), "--sequences", "TS1", "--every", "3"])
    assert result.exit_code == 0, result.output
    assert f"{out}: 3 labelled photos" in result.output
    assert len(json.loads(out.read_text())["items"]) == 3
    bare = tmp_path / "bare"
    _write_3dhp(bare / "TS2" / "annot_data.mat", 6, np.random.default_rng(1))
    result = runner.invoke(app, ["data", "labels-3dhp", str(bare), "--out",
                                 str(tmp_path / "none.json"), "--sequences", "TS2"])
    assert result.exit_code == 1 and "no frame with its image" in result.output
    assert not (tmp_path / "none.json").exists()
    result = runner.invoke(app, ["data", "labels-3dhp", str(bare), "--out",
                                 str(tmp_path / "none.json"), "--sequences", "TS9"])
    assert result.exit_code == 1 and "TS9" in result.output
