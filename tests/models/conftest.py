"""Fixtures for the lifting-model tests: small model configs so every test runs in seconds."""

from __future__ import annotations

import pytest
import torch

from monopose.zoo import build_model

SMALL_CONFIGS = {
    "baseline": dict(width=64, num_blocks=2, dropout=0.1),
    "poseformer": dict(dim=32, depth=2, heads=4),
    "mpm": dict(dim=32, depth=2, heads=4, max_frames=27),
}


@pytest.fixture(autouse=True)
def _one_thread():  # type: ignore[no-untyped-def]
    # Tiny models: one thread is fastest and immune to oversubscription on a shared machine.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _small_model(arch: str, **overrides: object) -> torch.nn.Module:
    """An untrained small model in eval mode, deterministically initialised."""
    torch.manual_seed(0)
    return build_model(arch, {**SMALL_CONFIGS[arch], **overrides}).eval()


def _random_inputs(b: int, t: int, j: int = 17, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    kp = torch.rand(b, t, j, 2, generator=g) * 2 - 1
    valid = torch.rand(b, t, j, generator=g) > 0.2
    return kp, valid


@pytest.fixture
def small_model():  # type: ignore[no-untyped-def]
    """Factory ``small_model(arch, **overrides)``."""
    return _small_model


@pytest.fixture
def random_inputs():  # type: ignore[no-untyped-def]
    """Factory ``random_inputs(b, t, j=17, seed=0) -> (keypoints [B,T,J,2], valid [B,T,J])``."""
    return _random_inputs
