"""Lifting a track with a window model: strided windows, each frame from its nearest centre."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monopose.lifting.lifter import Lifter
from monopose.lifting.mpm import MPMLifter


@pytest.fixture(scope="module")
def lifter() -> Lifter:
    torch.manual_seed(0)
    module = MPMLifter(num_joints=17, dim=32, depth=1, heads=4, max_frames=9, drop_path=0.0)
    return Lifter.from_module(module, flip=False)


def _track(frames: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    base = rng.normal(0, 60, (17, 2)) + 320
    drift = np.linspace(0, 80, frames)[:, None, None]
    return base[None] + drift + rng.normal(0, 2, (frames, 17, 2))


def test_stride_one_gives_every_frame_its_centred_window(lifter: Lifter) -> None:
    track = _track(20)
    out = lifter.lift_sequence(track, stride=1)
    for f in (0, 7, 19):
        idx = np.clip(np.arange(9) - 4 + f, 0, 19)
        alone = lifter.lift(track[idx][None])[0, 4]  # window [1, 9, 17, 2] → centre frame
        np.testing.assert_allclose(out[f], alone, atol=1e-3)


def test_strided_windows_cover_every_frame_with_fewer_passes(lifter: Lifter, monkeypatch
                                                            ) -> None:
    track = _track(40)
    windows: list[int] = []
    real = lifter._run_in_frame

    def count(batch, *args, **kwargs):  # type: ignore[no-untyped-def]
        windows.append(batch.shape[0])
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(lifter, "_run_in_frame", count)
    dense = lifter.lift_sequence(track, stride=1)
    strided = lifter.lift_sequence(track)  # default: a third of the window (3 frames)
    assert windows == [40, 14]  # centres 0, 3, ..., 39
    assert strided.shape == dense.shape == (40, 17, 3) and np.isfinite(strided).all()
    # Frames on a window centre are lifted exactly as with their own window.
    np.testing.assert_allclose(strided[::3], dense[::3], atol=1e-3)
    with pytest.raises(ValueError, match="stride"):
        lifter.lift_sequence(track, stride=10)


def test_causal_lifting_reads_no_later_frame(lifter: Lifter) -> None:
    """Causal mode: each frame is the last of its own window, and changing later frames
    leaves earlier outputs as they were."""
    track = _track(20)
    out = lifter.lift_sequence(track, causal=True)
    for f in (0, 5, 19):
        idx = np.clip(np.arange(9) - 8 + f, 0, 19)
        alone = lifter.lift(track[idx][None])[0, 8]  # the window ending at f → its last frame
        np.testing.assert_allclose(out[f], alone, atol=1e-3)
    changed = track.copy()
    changed[12:] += 40.0
    again = lifter.lift_sequence(changed, causal=True)
    np.testing.assert_allclose(again[:12], out[:12], atol=1e-4)
    assert not np.allclose(again[12:], out[12:], atol=1.0)
    centred = lifter.lift_sequence(changed, stride=1)
    assert not np.allclose(centred[8:12], out[8:12], atol=1.0)  # centred windows look ahead
    with pytest.raises(ValueError, match="causal"):
        lifter.lift_sequence(track, causal=True, stride=3)
    causal_lifter = Lifter.from_module(lifter.module, flip=False, causal=True)
    np.testing.assert_allclose(causal_lifter.lift_sequence(track), out, atol=1e-5)
