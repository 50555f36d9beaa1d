"""The BlazePose-33 → h36m17 keypoint map: fixed, fitted and shipped."""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import BLAZEPOSE33, H36M17, convert_layout
from monopose.detect.keypoint_map import (
    SUPPORT,
    KeypointMap,
    fit_keypoint_map,
    fixed_keypoint_map,
    load_keypoint_map,
    resolve_keypoint_map,
    save_keypoint_map,
)


def _people(n: int, seed: int) -> np.ndarray:
    """``[n, 33, 2]`` random but body-like point sets (a template plus jitter, random scale)."""
    rng = np.random.default_rng(seed)
    template = rng.normal(0.0, 1.0, (33, 2))
    scale = rng.uniform(50, 400, (n, 1, 1))
    return (template + rng.normal(0.0, 0.3, (n, 33, 2))) * scale + rng.uniform(0, 500, (n, 1, 2))


def _support_mask() -> np.ndarray:
    mask = np.zeros((17, 33), bool)
    for j, names in SUPPORT.items():
        for k in names:
            mask[H36M17.index(j), BLAZEPOSE33.index(k)] = True
    return mask | (np.abs(fixed_keypoint_map().weights) > 0)


def test_fixed_map_is_the_skeleton_conversion():
    pts = _people(5, 0)
    ref, _, _ = convert_layout(pts, "blazepose33", "h36m17")
    np.testing.assert_allclose(fixed_keypoint_map().apply(pts), ref, atol=1e-9)


def test_fit_recovers_a_known_affine_map():
    """Targets made by a known mirror-symmetric map within the support are recovered."""
    rng = np.random.default_rng(1)
    true_w = np.where(_support_mask(), rng.uniform(0.0, 1.0, (17, 33)), 0.0)
    fb, fh = list(BLAZEPOSE33.flip_permutation), list(H36M17.flip_permutation)
    true_w = 0.5 * (true_w + true_w[fh][:, fb])  # left and right mirror each other
    true_w /= true_w.sum(axis=1, keepdims=True)
    src = _people(600, 2)
    tgt = np.einsum("jk,nkd->njd", true_w, src)
    size = np.linalg.norm(src.max(1) - src.min(1), axis=-1)
    kmap = fit_keypoint_map(src, tgt, np.ones((600, 17), bool), size, ridge=1e-9)
    np.testing.assert_allclose(kmap.weights, true_w, atol=1e-4)
    assert kmap.name == "learned"
    np.testing.assert_allclose(kmap.apply(src), tgt, atol=1e-3)


def test_fit_with_noise_beats_the_fixed_map_on_held_out_people():
    rng = np.random.default_rng(3)
    fixed = fixed_keypoint_map()
    shift = np.zeros((17, 33))
    shift[H36M17.index("l_hip"), BLAZEPOSE33.index("l_hip")] = 0.3  # hips wider than BlazePose's
    shift[H36M17.index("l_hip"), BLAZEPOSE33.index("r_hip")] = -0.3
    shift[H36M17.index("r_hip"), BLAZEPOSE33.index("r_hip")] = 0.3
    shift[H36M17.index("r_hip"), BLAZEPOSE33.index("l_hip")] = -0.3
    true_w = fixed.weights + shift
    src = _people(900, 4)
    tgt = np.einsum("jk,nkd->njd", true_w, src) + rng.normal(0, 1.0, (900, 17, 2))
    size = np.linalg.norm(src.max(1) - src.min(1), axis=-1)
    kmap = fit_keypoint_map(src[:600], tgt[:600], np.ones((600, 17), bool), size[:600],
                            ridge=1e-6)
    err = lambda m: np.linalg.norm(m.apply(src[600:]) - tgt[600:], axis=-1).mean()  # noqa: E731
    assert err(kmap) < 0.5 * err(fixed)


def test_map_checks_its_inputs(tmp_path):
    with pytest.raises(ValueError, match="sum to 1"):
        KeypointMap(np.zeros((17, 33)), np.zeros((17, 33), bool))
    with pytest.raises(ValueError, match=r"\[17, 33\]"):
        KeypointMap(np.ones((17, 32)) / 32, np.zeros((17, 32), bool))
    with pytest.raises(ValueError, match="keypoint_map"):
        resolve_keypoint_map("best")
    with pytest.raises(ValueError, match="samples"):
        src = _people(10, 5)
        fit_keypoint_map(src, src[:, :17], np.ones((10, 17), bool), np.ones(10))
    with pytest.raises(FileNotFoundError, match="no file"):
        load_keypoint_map(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"source": "coco17", "target": "h36m17"}')
    with pytest.raises(ValueError, match="bad.json"):
        load_keypoint_map(bad)


def test_save_load_round_trip_and_validity(tmp_path):
    fixed = fixed_keypoint_map()
    save_keypoint_map(fixed, tmp_path / "m.json")
    back = load_keypoint_map(tmp_path / "m.json")
    np.testing.assert_allclose(back.weights, fixed.weights, atol=1e-6)
    present = np.ones(33, bool)
    present[BLAZEPOSE33.index("l_ear")] = False
    valid = back.valid(present)
    assert not valid[H36M17.index("neck_nose")] and valid[H36M17.index("l_knee")]


def test_shipped_map_is_learned_and_mirror_symmetric():
    kmap = load_keypoint_map()
    assert kmap.name == "learned" and kmap.provenance["samples"] > 1000
    fb, fh = list(BLAZEPOSE33.flip_permutation), list(H36M17.flip_permutation)
    np.testing.assert_allclose(kmap.weights[fh][:, fb], kmap.weights, atol=0.02)
    # it moves the hips outwards from BlazePose's: Human3.6M's hip joints are wider apart
    # (a frontal standing person, image y down, facing the camera: left side at +x)
    person = {"l_hip": (90, 0), "r_hip": (-90, 0), "l_shoulder": (170, -480),
              "r_shoulder": (-170, -480), "l_knee": (95, 420), "r_knee": (-95, 420),
              "l_ankle": (100, 820), "r_ankle": (-100, 820), "l_heel": (100, 850),
              "r_heel": (-100, 850), "l_foot_index": (110, 870), "r_foot_index": (-110, 870),
              "l_elbow": (220, -220), "r_elbow": (-220, -220), "l_wrist": (240, 20),
              "r_wrist": (-240, 20), "nose": (0, -650), "l_eye_inner": (12, -675),
              "l_eye": (25, -675), "l_eye_outer": (38, -675), "r_eye_inner": (-12, -675),
              "r_eye": (-25, -675), "r_eye_outer": (-38, -675), "l_ear": (70, -660),
              "r_ear": (-70, -660), "mouth_l": (20, -620), "mouth_r": (-20, -620)}
    pts = np.zeros((33, 2))
    for name, xy in person.items():
        pts[BLAZEPOSE33.index(name)] = xy
    for name in ("pinky", "index", "thumb"):
        pts[BLAZEPOSE33.index(f"l_{name}")] = (245, 60)
        pts[BLAZEPOSE33.index(f"r_{name}")] = (-245, 60)
    out = kmap.apply(pts)
    hip_width = out[H36M17.index("l_hip"), 0] - out[H36M17.index("r_hip"), 0]
    assert hip_width > 1.1 * 180.0
    # the neck/nose goes below BlazePose's nose level (towards the chin)
    assert out[H36M17.index("neck_nose"), 1] > pts[BLAZEPOSE33.index("nose"), 1]
    assert resolve_keypoint_map("learned").name == "learned"
