"""Patch extraction: agreement with FeatureMap.sample, border handling, flips, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from monopose.capf.dataset import cache_bytes_per_sample
from monopose.capf.features import (
    FLIP_PERMUTATION,
    LEVELS,
    check_feature_maps,
    context_inputs,
    extract_patches,
    flip_patches,
    lifter_validity,
)
from monopose.detect.types import FeatureMap, RotatedRect
from tests.capf.synthetic import make_detection, make_maps

ROI = RotatedRect((210.0, 170.0), (230.0, 230.0), 0.4)


def test_patch_centre_is_feature_map_sample(rng):
    maps = make_maps(rng, ROI)
    pts = np.asarray(ROI.center_px) + rng.uniform(-100, 100, size=(17, 2))
    patches, inside = extract_patches(maps, pts, patch=5)
    assert inside.all()
    for spec, p in zip(LEVELS, patches, strict=True):
        assert p.shape == (17, 5, 5, spec.channels)
        np.testing.assert_allclose(p[:, 2, 2], maps[spec.name].sample(pts), atol=1e-5)


def test_patch_points_follow_the_rotated_map_grid(rng):
    maps = make_maps(rng, ROI)
    pts = np.asarray(ROI.center_px)[None] + rng.uniform(-50, 50, size=(17, 2))
    patches, _ = extract_patches(maps, pts, patch=3)
    spec = LEVELS[1]
    fm = maps[spec.name]
    # patch element [a, b] sits one cell down (a=2) / right (b=2) of the joint, in map cells
    cells = pts @ fm.image_to_map[:2, :2].T + fm.image_to_map[:2, 2]
    moved = cells + np.array([1.0, 1.0])  # (col + 1, row + 1)
    moved_px = moved @ fm.map_to_image[:2, :2].T + fm.map_to_image[:2, 2]
    np.testing.assert_allclose(patches[1][:, 2, 2], fm.sample(moved_px), atol=1e-5)
    moved = cells + np.array([-1.0, 0.0])  # one column left, same row
    moved_px = moved @ fm.map_to_image[:2, :2].T + fm.map_to_image[:2, 2]
    np.testing.assert_allclose(patches[1][:, 1, 0], fm.sample(moved_px), atol=1e-5)


def test_joint_outside_crop_is_flagged_and_read_at_the_border(rng):
    maps = make_maps(rng, ROI)
    far = np.asarray(ROI.center_px) + np.array([[2000.0, 0.0], [0.0, 5.0]])
    patches, inside = extract_patches(maps, far)
    assert inside.tolist() == [False, True]
    for spec, p in zip(LEVELS, patches, strict=True):
        assert np.isfinite(p).all()
        np.testing.assert_allclose(p[0, 2, 2], maps[spec.name].sample(far[:1])[0], atol=1e-5)


def test_missing_or_wrong_maps_raise(rng):
    maps = make_maps(rng, ROI)
    pts = np.zeros((17, 2))
    with pytest.raises(ValueError, match="with_features=True"):
        extract_patches({}, pts)
    partial = dict(maps)
    del partial[LEVELS[2].name]
    with pytest.raises(ValueError, match="missing"):
        extract_patches(partial, pts)
    bad = dict(maps)
    fm = bad[LEVELS[0].name]
    bad[LEVELS[0].name] = dataclasses.replace(fm, data=fm.data[:, :, :40])
    with pytest.raises(ValueError, match="expected shape"):
        check_feature_maps(bad)
    with pytest.raises(ValueError, match="patch"):
        extract_patches(maps, pts, patch=4)
    with pytest.raises(ValueError, match="points_px"):
        extract_patches(maps, np.full((17, 2), np.nan))
    det = make_detection(rng, with_maps=False)
    with pytest.raises(ValueError, match=r"detections\[0\]"):
        context_inputs([det])


def test_flip_of_patches_matches_features_of_a_mirrored_map(rng):
    """A map mirrored left-right, read at the mirrored joints with left/right swapped, gives
    the flipped patches (per level, about the level's own mirror axis)."""
    for spec in LEVELS:
        data = rng.normal(size=(spec.side, spec.side, spec.channels)).astype(np.float32)
        to_map = np.diag([1.0 / spec.stride, 1.0 / spec.stride, 1.0])
        fm = FeatureMap(spec.name, spec.stride, spec.channels, data, to_map,
                        np.linalg.inv(to_map))
        fm_m = dataclasses.replace(fm, data=np.ascontiguousarray(data[:, ::-1]))
        pts = rng.uniform(40, 200, size=(17, 2))
        axis = (spec.side - 1) * spec.stride  # cell c <-> cell side-1-c
        pts_m = np.stack([axis - pts[:, 0], pts[:, 1]], axis=1)[FLIP_PERMUTATION]
        (p,), _ = extract_patches({spec.name: fm}, pts, levels=[spec])
        (p_m,), _ = extract_patches({spec.name: fm_m}, pts_m, levels=[spec])
        np.testing.assert_allclose(flip_patches(p), p_m, atol=1e-5)
        np.testing.assert_array_equal(flip_patches(flip_patches(p)), p)


def test_context_inputs_shapes_validity_and_empty(rng):
    dets = [make_detection(rng) for _ in range(3)]
    dets[1].visibility[:] = 0.0  # nothing passes the score threshold: the best 6 are kept
    ci = context_inputs(dets, patch=3)
    assert len(ci) == 3 and ci.keypoints_px.shape == (3, 17, 2)
    assert [p.shape for p in ci.patches] == [(3, 17, 3, 3, s.channels) for s in LEVELS]
    assert ci.valid[0].all() and ci.valid[1].sum() == 6
    np.testing.assert_array_equal(ci.valid[1], lifter_validity(dets[1]))
    empty = context_inputs([])
    assert len(empty) == 0 and empty.patches[3].shape[-1] == LEVELS[3].channels
    with pytest.raises(ValueError, match="valid"):
        context_inputs(dets, valid=np.ones((2, 17), bool))


def test_cache_size_bound():
    assert cache_bytes_per_sample(5) == 17 * 25 * sum(s.channels for s in LEVELS) * 2
    assert cache_bytes_per_sample(7) > cache_bytes_per_sample(5)
