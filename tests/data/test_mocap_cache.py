"""Building the mocap cache: splits, bad files, rebuild only on change, source selection."""

from __future__ import annotations

import os

import numpy as np
import pytest

from monopose.data.mocap_cache import MocapCache, build_mocap_cache, dedup_mask


def test_build_splits_sources_and_rates(tiny_mocap, tmp_path) -> None:
    rep = build_mocap_cache([tiny_mocap], tmp_path / "c", progress=False)
    assert rep.rebuilt and rep.num_clips == 6 and not rep.skipped
    cache = MocapCache.load(tmp_path / "c")
    by_name = dict(zip(cache.clip_name, cache.clip_split, strict=True))
    assert by_name["001_01"] == "train" and by_name["003_01"] == "val"
    assert by_name["007_01"] == "test"
    assert by_name["dataset-1_walk_normal_001"] == "train"
    assert by_name["dataset-1_bye_normal_001"] == "val"
    assert by_name["dataset-1_guide_normal_001"] == "test"
    # CMU 60 fps → 30 fps: every 2nd frame; Bandai 30 fps kept whole.
    k = list(cache.clip_name).index("001_01")
    assert cache.clip_length[k] == 45 and cache.clip_fps[k] == pytest.approx(30.0, rel=1e-3)
    np.testing.assert_array_equal(
        cache.frame_index[cache.clip_start[k]: cache.clip_start[k] + 3], [0, 2, 4])
    assert set(cache.clip_source) == {"cmu", "bandai"}
    assert cache.poses_mm.dtype == np.float32 and cache.poses_mm.shape[1:] == (17, 3)
    # Each clip starts with its pelvis over the world origin.
    first = cache.poses_mm[cache.clip_start]
    np.testing.assert_allclose(first[:, 0, :2], 0.0, atol=1e-3)


def test_rebuild_only_when_sources_change(tiny_mocap, tmp_path) -> None:
    out = tmp_path / "c"
    assert build_mocap_cache([tiny_mocap], out, progress=False).rebuilt
    mtime = (out / "mocap.npz").stat().st_mtime_ns
    assert not build_mocap_cache([tiny_mocap], out, progress=False).rebuilt
    assert (out / "mocap.npz").stat().st_mtime_ns == mtime
    # Different options or a touched file trigger a rebuild.
    assert build_mocap_cache([tiny_mocap], out, dedup_mm=5.0, progress=False).rebuilt
    f = next(tiny_mocap.rglob("003_01.bvh.gz"))
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert build_mocap_cache([tiny_mocap], out, dedup_mm=5.0, progress=False).rebuilt
    assert build_mocap_cache([tiny_mocap], out, dedup_mm=5.0, force=True,
                             progress=False).rebuilt


def test_bad_files_are_skipped_and_reported(tiny_mocap, tmp_path, mocapfx) -> None:
    bad = tiny_mocap / "cmu" / "bvh"
    (bad / "002_01.bvh").write_text("")
    good = next(tiny_mocap.rglob("001_01.bvh.gz")).read_bytes()
    (bad / "002_02.bvh.gz").write_bytes(good[: len(good) // 2])
    text = mocapfx.write_tree(mocapfx.cmu_tree(), mocapfx.cmu_frames(4, np.random.default_rng(0)))
    mocapfx.write(bad / "002_03.bvh", text.replace("CC_Base_R_Hand", "CC_Base_R_Paw"))
    mocapfx.write(bad / "002_04.bvh", text.replace("Frames: 4", "Frames: 9"))
    rep = build_mocap_cache([tiny_mocap], tmp_path / "c", progress=False)
    assert rep.num_clips == 6
    reasons = {os.path.basename(n): r for n, r in rep.skipped}
    assert set(reasons) == {"002_01.bvh", "002_02.bvh.gz", "002_03.bvh", "002_04.bvh"}
    assert "empty" in reasons["002_01.bvh"]
    assert "CC_Base_R_Hand" in reasons["002_03.bvh"]
    assert "truncated" in reasons["002_04.bvh"]
    # The report survives in the cache.
    again = build_mocap_cache([tiny_mocap], tmp_path / "c", progress=False)
    assert not again.rebuilt and len(again.skipped) == 4


def test_include_selects_licences(tiny_mocap, tmp_path) -> None:
    build_mocap_cache([tiny_mocap], tmp_path / "c", include=["cmu"], progress=False)
    cache = MocapCache.load(tmp_path / "c")
    assert set(cache.clip_source) == {"cmu"}
    with pytest.raises(ValueError, match="include"):
        build_mocap_cache([tiny_mocap], tmp_path / "d", include=["mixamo"], progress=False)


def test_missing_sources_are_clear(tmp_path, monkeypatch) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_mocap_cache([tmp_path / "nowhere"], tmp_path / "c", progress=False)
    monkeypatch.setenv("MONOPOSE_SHARED", str(tmp_path / "no_shared"))
    with pytest.raises(FileNotFoundError, match="MONOPOSE_SHARED"):
        build_mocap_cache(None, tmp_path / "c", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .bvh"):
        build_mocap_cache([tmp_path / "empty"], tmp_path / "c", progress=False)


def test_dedup_mask_and_windows(tiny_mocap, tmp_path) -> None:
    poses = np.zeros((6, 17, 3))
    poses[:, 5, 0] = [0, 5, 10, 25, 26, 60]  # one joint moves; root fixed
    np.testing.assert_array_equal(dedup_mask(poses, 20.0), [1, 0, 0, 1, 0, 1])
    # Translating the whole body does not count as motion (root-relative).
    moved = poses[:1].repeat(4, 0) + np.arange(4)[:, None, None] * 100.0
    np.testing.assert_array_equal(dedup_mask(moved, 20.0), [1, 0, 0, 0])
    build_mocap_cache([tiny_mocap], tmp_path / "c", progress=False)
    cache = MocapCache.load(tmp_path / "c")
    clips = cache.select_clips("train")
    starts = cache.window_starts(clips, window=10, stride=2)
    # Every window lies inside one clip.
    last = starts + 18
    assert (cache.frame_clip[starts] == cache.frame_clip[last]).all()
    single = cache.window_starts(clips, 1, single_frame_index=True)
    assert cache.keep[single].all() and len(single) <= cache.clip_length[clips].sum()


def test_cli_builds_and_reports(tiny_mocap, tmp_path) -> None:
    import typer
    from typer.testing import CliRunner

    from monopose.cli.data import app

    root = typer.Typer()
    root.add_typer(app, name="data")
    (tiny_mocap / "cmu" / "bvh" / "009_01.bvh").write_text("HIERARCHY\nROOT x\n{\n")
    out = tmp_path / "cli"
    res = CliRunner().invoke(root, ["data", "mocap", str(tiny_mocap), "--out", str(out),
                                    "--include", "cmu"])
    assert res.exit_code == 0, res.output
    assert "built" in res.output and "009_01.bvh" in res.output
    assert (out / "mocap.npz").exists()
    res = CliRunner().invoke(root, ["data", "mocap", str(tmp_path / "nope"), "--out", str(out)])
    assert res.exit_code == 1 and "does not exist" in res.output
