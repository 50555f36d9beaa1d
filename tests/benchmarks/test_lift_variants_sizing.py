"""bench_lift_variants sizes people as the product does, and true-2D photos as each lifter lifts."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_lift_variants import world_sized
from monopose.core.body_size import WORLD_LANDMARK_SIZE_SCALE, skeleton_size_mm


def _poses(rng: np.random.Generator, n: int = 3) -> np.ndarray:
    pose = rng.normal(0.0, 300.0, (n, 17, 3))
    return pose - pose[:, :1]


def test_renders_take_the_world_landmarks_size_times_the_shipped_scale() -> None:
    rng = np.random.default_rng(0)
    rel = _poses(rng)
    wl = 0.95 * rel + rng.normal(0.0, 10.0, rel.shape)  # within the rescale's ±40 % guard
    out = world_sized({"wl": wl, "sized": rel}, rel)
    np.testing.assert_allclose(skeleton_size_mm(out),
                               WORLD_LANDMARK_SIZE_SCALE * skeleton_size_mm(wl), rtol=1e-9)


def test_true_2d_photos_keep_each_lifters_own_size() -> None:
    rng = np.random.default_rng(1)
    first = _poses(rng)
    other = 1.3 * first + rng.normal(0.0, 10.0, first.shape)
    out = world_sized({"sized": first, "own_size": np.array(True)}, other)
    np.testing.assert_array_equal(out, other)


def test_detected_photos_take_the_size_the_pipeline_gave() -> None:
    rng = np.random.default_rng(2)
    pipeline = _poses(rng)
    other = 1.3 * pipeline + rng.normal(0.0, 10.0, pipeline.shape)
    for f in ({"sized": pipeline}, {"sized": pipeline, "own_size": np.array(False)}):
        out = world_sized(f, other)
        np.testing.assert_allclose(skeleton_size_mm(out), skeleton_size_mm(pipeline), rtol=1e-9)
        # the pose keeps its shape
        np.testing.assert_allclose(out / skeleton_size_mm(out)[:, None, None],
                                   other / skeleton_size_mm(other)[:, None, None], atol=1e-12)
