"""The posture benchmark's floor-sit set: held-out upper bodies sat on the floor."""

from __future__ import annotations

import json

import numpy as np

from benchmarks.bench_postures import floor_sit_set
from monopose.core.skeleton import H36M17
from tests.data.test_postures import _cache_arrays


def test_floor_sit_set_folds_the_held_out_people_up() -> None:
    from monopose.data.mocap_store import MocapCache

    arrays = _cache_arrays(40, 0)
    arrays["clip_start"], arrays["clip_length"] = np.array([0, 20]), np.array([20, 20])
    arrays["clip_split"] = np.array(["train", "test"])
    arrays["meta_json"] = np.array(json.dumps({}))
    cache = MocapCache(arrays)
    kp, valid, intr, rel = floor_sit_set(cache, ["test"], 8, seed=0)
    assert kp.shape == (8, 17, 2) and valid.shape == (8, 17) and intr.shape == (8, 4)
    assert np.allclose(rel[:, 0], 0.0)
    # camera-space truth: the head is much nearer the ankles than standing (1.5 m)
    head, ankles = H36M17.index("head_top"), [H36M17.index("r_ankle"), H36M17.index("l_ankle")]
    reach = np.linalg.norm(rel[:, ankles] - rel[:, head, None], axis=-1).max(axis=1)
    assert np.median(reach) < 1200.0
    assert np.isfinite(kp[valid]).all() and valid.mean() > 0.8
    # sets are fixed: the same seed gives the same inputs
    again = floor_sit_set(cache, ["test"], 8, seed=0)
    assert np.array_equal(again[0], kp)
