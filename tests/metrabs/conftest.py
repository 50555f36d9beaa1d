"""Shared fixtures of the MeTRAbs tests: one torch thread, and a standing test person."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def standing_pose(rng: np.random.Generator, jitter_mm: float = 15.0) -> np.ndarray:
    """``[17, 3]`` mm, h36m17, pelvis at 0, upright facing the camera (camera axes, y down)."""
    base = np.array([
        [0, 0, 0], [-110, 0, 0], [-120, 430, 20], [-120, 880, 0], [110, 0, 0], [120, 430, 20],
        [120, 880, 0], [0, -230, 10], [0, -470, 0], [0, -580, -60], [0, -770, 0],
        [170, -450, 0], [200, -180, 30], [220, 60, 40], [-170, -450, 0], [-200, -180, 30],
        [-220, 60, 40]], dtype=np.float64)
    pose = base + rng.normal(0.0, jitter_mm, base.shape)
    return pose - pose[:1]
