"""Temporal lifting as frames arrive: the same 3D as lifting whole tracks, frames in order,
each window lifted once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from monopose.lifting.lifter import Lifter
from monopose.lifting.mpm import MPMLifter
from monopose.models.interface import FramePeople
from monopose.pipeline.track_lifting import TrackLifting

INTRINSICS = np.array([500.0, 500.0, 320.0, 240.0])
FRAMES = 50
# track id -> the frames it is seen in (gaps start new runs; None: a person without an id)
PRESENCE: dict[int | None, list[int]] = {
    1: list(range(0, 40)),
    2: list(range(5, 15)) + list(range(20, 46)),   # leaves and comes back
    3: list(range(30, FRAMES)),                      # still there at the end
    4: [12],                                         # one frame only
    None: [3, 4, 25],
}


@pytest.fixture(scope="module")
def lifter() -> Lifter:
    torch.manual_seed(0)
    module = MPMLifter(num_joints=17, dim=32, depth=1, heads=4, max_frames=9, drop_path=0.0)
    return Lifter.from_module(module, flip=False)


def _tracks() -> dict[int | None, np.ndarray]:
    """Per id ``[FRAMES, 17, 2]`` px: a moving, jittering pose."""
    rng = np.random.default_rng(3)
    out: dict[int | None, np.ndarray] = {}
    for k, track in enumerate(PRESENCE):
        base = rng.normal(0, 50, (17, 2)) + 240 + 30 * k
        drift = np.linspace(0, 90, FRAMES)[:, None, None] * rng.normal(size=2)
        out[track] = base[None] + drift + rng.normal(0, 3, (FRAMES, 17, 2))
    return out


def _frame(f: int, tracks: dict[int | None, np.ndarray]) -> FramePeople:
    ids = [t for t, seen in PRESENCE.items() if f in seen]
    kp = np.stack([tracks[t][f] for t in ids]) if ids else np.zeros((0, 17, 2))
    valid = np.ones(kp.shape[:2], bool)
    if ids and 1 in ids:
        valid[ids.index(1), (f % 17)] = False  # a missing joint travels with its window
    return FramePeople(None, [SimpleNamespace(track_id=t, frame=f) for t in ids], INTRINSICS,
                       (640, 480),
                       kp, np.ones(kp.shape[:2]), valid)


def _stream(lifter: Lifter, **kwargs: object) -> tuple[TrackLifting, list]:
    tracks = _tracks()
    lifting = TrackLifting(lifter, **kwargs)  # type: ignore[arg-type]
    done = []
    for f in range(FRAMES):
        done += lifting.push(f, None, _frame(f, tracks))
    done += lifting.finish()
    return lifting, done


def _runs(frames: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for f in frames:
        if runs and runs[-1][-1] == f - 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return runs


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2}, {"stride": 9}, {"causal": True}])
def test_same_3d_as_lifting_whole_tracks(lifter: Lifter, kwargs: dict) -> None:
    tracks = _tracks()
    _, done = _stream(lifter, **kwargs)
    by_frame = {d.index: d for d in done}
    for track, seen in PRESENCE.items():
        runs = _runs(seen) if track is not None else [[f] for f in seen]
        for run in runs:
            frames_people = [_frame(f, tracks) for f in run]
            rows = [[d.track_id for d in fp.detections].index(track) for fp in frames_people]
            kp = np.stack([fp.keypoints_px[r] for fp, r in zip(frames_people, rows, strict=True)])
            ok = np.stack([fp.valid[r] for fp, r in zip(frames_people, rows, strict=True)])
            whole = lifter.lift_sequence(kp, ok, intrinsics=INTRINSICS,
                                         stride=kwargs.get("stride"),
                                         causal=kwargs.get("causal"))
            got = np.stack([by_frame[f].poses.pose_3d_rel_mm[r]
                            for f, r in zip(run, rows, strict=True)])
            np.testing.assert_allclose(got, whole, atol=1e-3, err_msg=f"track {track} {run[0]}")


def test_frames_come_back_in_order_once_and_late_by_the_delay(lifter: Lifter) -> None:
    tracks = _tracks()
    lifting = TrackLifting(lifter)
    assert lifting.delay == 3 + 9 // 2  # stride (window // 3) + half a window
    handed: list[int] = []
    for f in range(FRAMES):
        handed += [d.index for d in lifting.push(f, None, _frame(f, tracks))]
        assert handed == list(range(max(0, f + 1 - lifting.delay)))
    handed += [d.index for d in lifting.finish()]
    assert handed == list(range(FRAMES))
    assert TrackLifting(lifter, causal=True).delay == 0


def test_each_window_is_lifted_once(lifter: Lifter, monkeypatch: pytest.MonkeyPatch) -> None:
    lifted: list[int] = []
    real = lifter.lift

    def counting(kp, valid=None, **kw):  # type: ignore[no-untyped-def]
        lifted.append(len(kp))
        return real(kp, valid, **kw)

    monkeypatch.setattr(lifter, "lift", counting)
    _, done = _stream(lifter)
    person_frames = sum(len(d.people) for d in done)
    # each run: a window every 3 frames and one at its last frame
    expected = sum(len(range(0, len(r), 3)) + (0 if (len(r) - 1) % 3 == 0 else 1)
                   for t, seen in PRESENCE.items()
                   for r in (_runs(seen) if t is not None else [[f] for f in seen]))
    assert sum(lifted) == expected
    assert sum(lifted) < person_frames / 2
    assert len(lifted) < 0.6 * sum(lifted)  # complete windows go through the network together


def test_rejects_single_frame_models_and_strided_causal_lifting(lifter: Lifter) -> None:
    single = Lifter.from_module(MPMLifter(num_joints=17, dim=32, depth=1, heads=4,
                                          max_frames=1, drop_path=0.0))
    with pytest.raises(ValueError, match="window"):
        TrackLifting(single)
    with pytest.raises(ValueError, match="stride"):
        TrackLifting(lifter, stride=3, causal=True)
    with pytest.raises(ValueError, match="stride"):
        TrackLifting(lifter, stride=10)
    with pytest.raises(ValueError, match="placement: expected one of"):
        TrackLifting(lifter, placement="fit")


def test_videos_default_to_the_temporal_lifter_photos_to_the_single_frame_one() -> None:
    from monopose.pipeline.estimator import DEFAULT_MODEL, DEFAULT_VIDEO_MODEL, Estimator

    est = Estimator(num_threads=1)
    assert est.model_name == DEFAULT_MODEL and est.model.window == 1
    assert est.model.flip is True  # type: ignore[attr-defined]
    videos = est.video_model
    assert videos.card is not None and videos.card.name == DEFAULT_VIDEO_MODEL
    assert videos.window > 1 and videos.flip is False  # type: ignore[attr-defined]
    assert est.video_model is videos  # loaded once
    # A named model serves photos and videos (for videos without the photos' error model);
    # an explicit flip test holds for both.
    named = Estimator(model="mpm-lift-t1", num_threads=1)
    assert named.video_model.card is not None and named.video_model.card.name == "mpm-lift-t1"
    assert named.video_model.window == 1 and named.video_model.flip is True  # type: ignore
    flipped = Estimator(model=DEFAULT_VIDEO_MODEL, flip_test=True, num_threads=1)
    assert flipped.video_model.flip is True  # type: ignore[attr-defined]
    # Photos are fitted to their rays; temporal lifters' video frames are solved (smoother).
    assert est.model.placement == "ray_fit" and est.video_placement == "solve"  # type: ignore
    with pytest.raises(ValueError, match="video_placement: expected one of"):
        Estimator(video_placement="fit", num_threads=1)


def test_a_body_keeps_one_size_along_its_track(lifter: Lifter) -> None:
    """Per-frame size factors (e.g. from world landmarks) become the running median per track."""
    per_frame = np.random.default_rng(5).uniform(0.8, 1.25, FRAMES)  # one factor per frame

    def size_factors(rel_mm: np.ndarray, detections: list) -> np.ndarray:
        return np.array([per_frame[d.frame] for d in detections])

    _, plain = _stream(lifter)
    _, sized = _stream(lifter, size_factors=size_factors)
    ratios = []
    for f in PRESENCE[1]:  # frames 0..39, one run
        row = [d.track_id for d in plain[f].people.detections].index(1)
        a = plain[f].poses.pose_3d_rel_mm[row]
        b = sized[f].poses.pose_3d_rel_mm[row]
        ratios.append(np.linalg.norm(b) / np.linalg.norm(a))
        np.testing.assert_allclose(ratios[-1], np.median(per_frame[: f + 1]), rtol=1e-6)
    assert np.std(ratios[10:]) < np.std(per_frame[10:40])  # steadier than frame by frame


def test_frames_are_placed_as_asked(lifter: Lifter) -> None:
    """``placement="ray_fit"`` places each frame's people as place_people does: the lifted
    poses of the default ("solve") fitted to that frame's 2D."""
    from monopose.models.interface import place_people

    tracks = _tracks()
    _, solved = _stream(lifter)
    _, fitted = _stream(lifter, placement="ray_fit")
    moved = 0.0
    for s, f in zip(solved, fitted, strict=True):
        if not len(s.people):
            continue
        want = place_people(_frame(s.index, tracks), s.poses.pose_3d_rel_mm, placement="ray_fit")
        np.testing.assert_allclose(f.poses.pose_3d_abs_mm, want.pose_3d_abs_mm, atol=1e-6)
        moved = max(moved, float(np.abs(f.poses.pose_3d_rel_mm - s.poses.pose_3d_rel_mm).max()))
    assert moved > 1.0
