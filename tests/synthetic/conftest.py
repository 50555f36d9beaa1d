"""Fixtures of the synthetic-data tests: a GL context check, the anny body and test poses.

The anny body is loaded once per session from the one per-machine cache folder
(``ANNY_CACHE_DIR`` or ``~/.cache/monopose/anny``); building that cache the first time takes
~40 s (longer on a busy machine).
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def gl_available() -> None:
    pytest.importorskip("moderngl", reason="optional render extra (moderngl) not installed")
    from monopose.data.synthetic.render import MeshRenderer

    try:
        MeshRenderer(np.array([[0, 1, 2]])).release()
    except Exception as exc:  # no EGL / llvmpipe on this machine
        pytest.skip(f"no headless OpenGL context: {exc}")


@pytest.fixture(scope="session")
def anny_cache():
    """The session's anny cache folder (shared by every test that needs the body)."""
    pytest.importorskip("anny", reason="optional render extra (anny) not installed")
    from monopose.data.synthetic.body import anny_cache_dir

    return anny_cache_dir()


@pytest.fixture(scope="session")
def body(anny_cache, gl_available):
    from monopose.data.synthetic.body import load_body_model

    return load_body_model(anny_cache)


def _rotate(v: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_rotvec(axis / np.linalg.norm(axis) * angle).apply(v)


def make_poses(n: int, seed: int = 0, max_bend_deg: float = 70.0) -> np.ndarray:
    """``[n, 17, 3]`` h36m17 world poses (mm, Z up): a standing person with random limb
    rotations (bone lengths kept) and a random heading."""
    rng = np.random.default_rng(seed)
    base = np.array([
        [0, 0, 950], [-100, 0, 950], [-105, 0, 520], [-110, 20, 90],
        [100, 0, 950], [105, 0, 520], [110, 20, 90],
        [0, 0, 1180], [0, 0, 1420], [0, -50, 1570], [0, 0, 1720],
        [170, 0, 1400], [190, 0, 1120], [200, -20, 870],
        [-170, 0, 1400], [-190, 0, 1120], [-200, -20, 870],
    ], dtype=np.float64)
    chains = ((1, 2, 3), (4, 5, 6), (11, 12, 13), (14, 15, 16))
    out = np.empty((n, 17, 3))
    for i in range(n):
        p = base.copy()
        for a, b, c in chains:
            ang = np.deg2rad(rng.uniform(0, max_bend_deg))
            rb = _rotate(p[[b, c]] - p[a], rng.normal(size=3), ang) + p[a]
            p[b], p[c] = rb
            p[c] = _rotate(p[c] - p[b], rng.normal(size=3), np.deg2rad(rng.uniform(0, 60))) + p[b]
        heading = rng.uniform(0, 2 * np.pi)
        p = _rotate(p, np.array([0.0, 0.0, 1.0]), heading)
        out[i] = p + np.array([rng.uniform(-500, 500), rng.uniform(-500, 500), 0.0])
    return out


@pytest.fixture(name="make_poses", scope="session")
def make_poses_fixture():
    """The :func:`make_poses` helper."""
    return make_poses
