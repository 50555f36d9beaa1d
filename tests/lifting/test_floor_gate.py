"""People on the floor handed to the floor-sit lifter (monopose.lifting.floor_gate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from monopose.cli import app
from monopose.lifting.floor_gate import FloorGatedLifter, on_the_floor
from monopose.lifting.lifter import Lifter

# World poses (h36m17, mm; x right, y forward, z up): sitting on the floor with the legs
# stretched out, and standing.
SIT_MM = np.array([
    [0, 0, 130], [-110, 0, 120], [-110, 430, 90], [-110, 860, 60], [110, 0, 120],
    [110, 430, 90], [110, 860, 60], [0, -20, 370], [0, -30, 620], [0, -10, 720], [0, -30, 880],
    [170, -30, 590], [200, 60, 340], [220, 150, 120], [-170, -30, 590], [-200, 60, 340],
    [-220, 150, 120]], dtype=np.float64)
STAND_MM = np.array([
    [0, 0, 950], [-110, 0, 940], [-110, 0, 500], [-110, 0, 80], [110, 0, 940], [110, 0, 500],
    [110, 0, 80], [0, 0, 1190], [0, 0, 1440], [0, 20, 1540], [0, 0, 1700], [170, 0, 1410],
    [190, 0, 1130], [200, 0, 880], [-170, 0, 1410], [-190, 0, 1130], [-200, 0, 880]],
    dtype=np.float64)
INTRINSICS = np.array([1000.0, 1000.0, 640.0, 360.0])


def _seen_from_side(world_mm: np.ndarray, pitch_deg: float = 20.0) -> np.ndarray:
    """``[17, 3]`` camera-space pose (x right, y down, z ahead) seen from 3 m to the person's
    side, 1.6 m up, looking down ``pitch_deg``."""
    centre = np.array([3000.0, 0.0, 1600.0])
    p = np.radians(pitch_deg)
    ahead = np.array([-np.cos(p), 0.0, -np.sin(p)])
    right = np.cross(ahead, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    return (world_mm - centre) @ np.stack([right, np.cross(ahead, right), ahead]).T


def _pixels(cam_mm: np.ndarray) -> np.ndarray:
    return cam_mm[..., :2] / cam_mm[..., 2:] * INTRINSICS[:2] + INTRINSICS[2:]


def test_floor_sitters_are_told_from_standing_and_lying_people() -> None:
    lying = STAND_MM[:, [0, 2, 1]] * [1, 1, 0.1]  # the standing body laid along y
    poses = np.stack([_seen_from_side(p) for p in (SIT_MM, STAND_MM, lying, SIT_MM)])
    poses[3, 5] = np.nan
    assert on_the_floor(poses).tolist() == [True, False, False, False]
    assert on_the_floor(np.zeros((0, 17, 3))).shape == (0,)


class _Fake:
    """A single-frame lifter that answers ``answers`` and records its calls."""

    window = 1
    card = None

    def __init__(self, answers: np.ndarray) -> None:
        self.answers, self.calls = answers, []

    def lift(self, kp, valid=None, layout="h36m17", flip=None, batch_size=None,  # type: ignore[no-untyped-def]
             intrinsics=None, scores=None):
        self.calls.append((np.asarray(kp), valid, intrinsics, scores))
        return self.answers[: len(kp)].copy()

    def lift_sequence(self, track, valid=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        return "base's track"


def test_only_the_people_on_the_floor_are_lifted_again_with_their_own_rows() -> None:
    sit, stand = _seen_from_side(SIT_MM), _seen_from_side(STAND_MM)
    base = _Fake(np.stack([stand, sit, stand]) - 0.0)
    marker = np.full((1, 17, 3), 7.0)
    floor = _Fake(marker)
    gated = FloorGatedLifter(base, floor)  # type: ignore[arg-type]
    kp = np.arange(3 * 17 * 2, dtype=np.float64).reshape(3, 17, 2)
    valid = np.ones((3, 17), bool)
    valid[1, 4] = False
    intrinsics = np.arange(12, dtype=np.float64).reshape(3, 4)
    scores = np.linspace(0, 1, 51).reshape(3, 17)
    out = gated.lift(kp, valid, intrinsics=intrinsics, scores=scores)
    np.testing.assert_array_equal(out[1], marker[0])
    np.testing.assert_array_equal(out[[0, 2]], np.stack([stand, stand]))
    (f_kp, f_valid, f_intr, f_scores), = floor.calls
    np.testing.assert_array_equal(f_kp, kp[[1]])
    np.testing.assert_array_equal(f_valid, valid[[1]])
    np.testing.assert_array_equal(f_intr, intrinsics[[1]])
    np.testing.assert_array_equal(f_scores, scores[[1]])
    gated.lift(kp, intrinsics=INTRINSICS)  # one camera for all: passed on whole
    np.testing.assert_array_equal(floor.calls[-1][2], INTRINSICS)
    assert gated.lift_sequence(kp[0]) == "base's track" and gated.window == 1


def test_the_shipped_lifters_hand_a_floor_sitter_over_and_keep_a_standing_person() -> None:
    base, floor = Lifter("mpm-lift-t1"), Lifter("mpm-lift-t1-floorsit")
    kp = _pixels(np.stack([_seen_from_side(SIT_MM), _seen_from_side(STAND_MM)]))
    out = FloorGatedLifter(base, floor).lift(kp, intrinsics=INTRINSICS)
    np.testing.assert_allclose(out[0], floor.lift(kp[:1], intrinsics=INTRINSICS)[0])
    np.testing.assert_allclose(out[1], base.lift(kp[1:], intrinsics=INTRINSICS)[0])
    assert np.abs(out[0] - base.lift(kp[:1], intrinsics=INTRINSICS)[0]).max() > 10.0


def test_photos_hand_over_when_asked_and_videos_never() -> None:
    from monopose.pipeline.estimator import Estimator

    assert isinstance(Estimator().model, Lifter)
    est = Estimator(model="mpm-lift-t1", floor_lifter=True)
    assert isinstance(est.model, FloorGatedLifter)
    assert isinstance(est.video_model, Lifter)
    assert isinstance(Estimator(model="poseformer-t1", floor_lifter=True).model, Lifter)


def test_lift_hands_over_by_default(tmp_path: Path) -> None:
    src = tmp_path / "kp.npz"
    kp = _pixels(np.stack([_seen_from_side(SIT_MM), _seen_from_side(STAND_MM)]))
    np.savez(src, keypoints_2d=kp)
    runner = CliRunner()
    outs = {}
    for flag in ("--floor-lifter", "--no-floor-lifter"):
        out = tmp_path / f"{flag}.npz"
        result = runner.invoke(app, ["lift", str(src), "--out", str(out), flag])
        assert result.exit_code == 0, result.output
        outs[flag] = np.load(out)["pose_3d_rel_mm"]
        if flag == "--floor-lifter":
            assert "1 on the floor, lifted by mpm-lift-t1-floorsit" in result.output
            assert np.load(out)["lifted_by"].tolist() == ["mpm-lift-t1-floorsit", "mpm-lift-t1"]
        else:
            assert "lifted_by" not in np.load(out)
    floor = Lifter("mpm-lift-t1-floorsit").lift(kp[:1])[0]
    base = Lifter("mpm-lift-t1").lift(kp)
    np.testing.assert_allclose(outs["--floor-lifter"][0], floor, atol=1e-3)
    np.testing.assert_allclose(outs["--no-floor-lifter"], base, atol=1e-3)
    np.testing.assert_allclose(outs["--floor-lifter"][1], base[1], atol=1e-3)
