"""Posture labels of world poses, and the sampler drawing postures in the asked shares."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.data.postures import POSTURES, posture_of, posture_shares

THIGH_MM, SHIN_MM, TORSO_MM = 450.0, 430.0, 500.0


def _pose(pelvis_height_mm: float, thigh_dir: tuple[float, float, float],
          torso_dir: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """A Z-up h36m17 pose: pelvis at the given height, both thighs along ``thigh_dir``, shins
    straight down from the knees (clamped to the floor), torso along ``torso_dir``."""
    p = np.zeros((17, 3))
    p[0] = (0.0, 0.0, pelvis_height_mm)
    thigh = np.asarray(thigh_dir, float) / np.linalg.norm(thigh_dir)
    torso = np.asarray(torso_dir, float) / np.linalg.norm(torso_dir)
    for hip, knee, ankle, side in ((1, 2, 3, -1.0), (4, 5, 6, 1.0)):
        p[hip] = p[0] + (side * 120.0, 0.0, 0.0)
        p[knee] = p[hip] + THIGH_MM * thigh
        p[ankle] = p[knee] - (0.0, 0.0, SHIN_MM)
    for j, along in ((7, 0.5), (8, 1.0), (9, 1.15), (10, 1.35)):
        p[j] = p[0] + along * TORSO_MM * torso
    for j in range(11, 17):
        p[j] = p[8] + (0.0, 0.0, -100.0 * (j % 3))
    return p


def test_standing_sitting_floor_and_lying_are_told_apart() -> None:
    leg = THIGH_MM + SHIN_MM
    poses = np.stack([
        _pose(leg, (0, 0, -1)),                      # standing
        _pose(leg - 30, (0, 0.2, -1)),               # walking: thigh a little forward
        _pose(SHIN_MM + 20, (0, 1, -0.05)),          # on a chair: thighs level
        _pose(0.6 * leg, (0, 1, -0.4)),              # crouching
        _pose(0.2 * leg, (0, 1, 0.1)),               # on the floor
        _pose(200.0, (0, 1, 0), torso_dir=(0, 1, 0.1)),  # lying
        _pose(leg, (0, 0, -1), torso_dir=(0, 1, 1.0)),  # bending over 45°: still standing
    ])
    got = [POSTURES[k] for k in posture_of(poses)]
    assert got == ["standing", "standing", "low", "low", "floor", "lying", "standing"]
    shares = posture_shares(posture_of(poses))
    assert shares["standing"] == pytest.approx(3 / 7) and sum(shares.values()) == pytest.approx(1)


def test_posture_rules_hold_for_any_body_size_and_reject_bad_shapes() -> None:
    chair = _pose(SHIN_MM + 20, (0, 1, -0.05))
    stand = _pose(THIGH_MM + SHIN_MM, (0, 0, -1))
    for scale in (0.6, 1.0, 1.2):  # a child, an adult, a tall adult
        assert [POSTURES[k] for k in posture_of(np.stack([chair, stand]) * scale)] == [
            "low", "standing"]
    with pytest.raises(ValueError, match="world_mm"):
        posture_of(np.zeros((3, 16, 3)))


def _cache(n_standing: int, n_sitting: int):  # type: ignore[no-untyped-def]
    """A mocap cache of two train clips: people standing, then people on a chair."""
    from monopose.data.mocap_store import MocapCache

    return MocapCache(_cache_arrays(n_standing, n_sitting))


def _cache_arrays(n_standing: int, n_sitting: int) -> dict[str, np.ndarray]:
    import json

    rng = np.random.default_rng(0)
    stand = _pose(THIGH_MM + SHIN_MM, (0, 0, -1))
    chair = _pose(SHIN_MM + 20, (0, 1, -0.05))
    poses = np.concatenate([np.repeat(stand[None], n_standing, 0),
                            np.repeat(chair[None], n_sitting, 0)])
    poses = poses + rng.normal(0, 5, poses.shape)
    return {
        "poses_mm": poses.astype(np.float32), "keep": np.ones(len(poses), bool),
        "clip_start": np.array([0, n_standing]), "clip_length": np.array([n_standing, n_sitting]),
        "clip_source": np.array(["cmu", "cmu"]), "clip_split": np.array(["train", "train"]),
        "clip_name": np.array(["walk", "sit"]), "meta_json": np.array(json.dumps({}))}


def test_sampler_draws_postures_in_the_asked_shares() -> None:
    from monopose.data.sampler import MocapSampler
    from monopose.data.sampler_config import SamplerConfig

    cache = _cache(190, 10)
    sitting = {int(i) for i in range(190, 200)}
    plain = MocapSampler(cache, "train", 1, SamplerConfig(), seed=0)
    assert plain._weights is None  # as often as the mocap has them: 5 %
    weighted = MocapSampler(cache, "train", 1,
                            SamplerConfig(posture_weights={"standing": 0.6, "low": 0.4}), seed=0)
    assert weighted._weights is not None
    picks = np.random.default_rng(1).choice(len(weighted.starts), 20000, p=weighted._weights)
    share = np.isin(weighted.starts[picks], list(sitting)).mean()
    assert share == pytest.approx(0.4, abs=0.02)
    only_standing = MocapSampler(cache, "train", 1,
                                 SamplerConfig(posture_weights={"standing": 1.0}), seed=0)
    assert only_standing._weights is not None
    assert only_standing._weights[np.isin(only_standing.starts, list(sitting))].sum() == 0
    with pytest.raises(ValueError, match="posture_weights"):
        SamplerConfig(posture_weights={"sitting": 1.0})
    with pytest.raises(ValueError, match="posture_weights"):
        MocapSampler(cache, "train", 1, SamplerConfig(posture_weights={"lying": 1.0}))
    batch = weighted.sample_batch(8)
    assert batch.keypoints_2d_px.shape[0] == 8


def test_a_pose_source_and_the_render_command_keep_the_asked_postures(tmp_path) -> None:
    from typer.testing import CliRunner

    from monopose.cli import app
    from monopose.data.synthetic.poses import PoseSource

    np.savez(tmp_path / "mocap.npz", **_cache_arrays(30, 6))
    everyone = PoseSource.from_cache(tmp_path, "train")
    sitting = PoseSource.from_cache(tmp_path, "train", postures=("low", "floor", "lying"))
    assert len(sitting.ids) < len(everyone.ids)
    assert set(posture_of(sitting.poses_mm).tolist()) == {POSTURES.index("low")}
    assert set(posture_of(everyone.poses_mm).tolist()) == {0, POSTURES.index("low")}
    assert sitting.name.endswith(":low+floor+lying") and sitting.digest() != everyone.digest()
    with pytest.raises(ValueError, match="postures: expected some of"):
        PoseSource.from_cache(tmp_path, "train", postures=("sitting",))
    with pytest.raises(ValueError, match="no frames for it in postures"):
        PoseSource.from_cache(tmp_path, "train", postures=("lying",))
    res = CliRunner().invoke(app, ["data", "render", "--n", "1", "--out", str(tmp_path / "r"),
                                   "--mocap", str(tmp_path), "--postures", "low,sitting"])
    assert res.exit_code == 1 and "--postures: expected some of" in res.output
