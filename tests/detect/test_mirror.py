"""The landmark network's flip test: mirrored outputs mapped back, averaged, and run in order."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monopose.core.skeleton import BLAZEPOSE33
from monopose.detect.landmarks import CROP_SIZE, decode_landmarks
from monopose.detect.mirror import (
    MIRROR_PERMUTATION,
    average_landmarks,
    decode_mirrored,
    landmark_pass,
)
from monopose.detect.types import RotatedRect

ROI = RotatedRect((310.0, 240.0), (180.0, 180.0), math.radians(25.0))


def _outputs(xy_crop: np.ndarray, world_m: np.ndarray, logits: np.ndarray,
             heat_cells: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw network outputs for 39 landmarks at ``xy_crop [39, 2]`` crop px: ``world_m [39, 3]``,
    ``logits [39, 2]`` (visibility, presence), heatmaps peaked at ``heat_cells [39, 2]`` (col,
    row) or flat and unsure (no refinement)."""
    raw = np.zeros((39, 5))
    raw[:, :2], raw[:, 2], raw[:, 3:] = xy_crop, 0.1 * xy_crop[:, 0], logits
    heat = np.full((64, 64, 39), -10.0)
    if heat_cells is not None:
        for k, (c, r) in enumerate(heat_cells):
            heat[r, c, k] = 10.0
    return raw, heat, world_m


def _person(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xy = rng.uniform(40, 216, (39, 2))
    world = rng.normal(0, 0.4, (39, 3))
    logits = rng.normal(0, 2, (39, 2))
    return xy, world, logits


def _mirrored(xy: np.ndarray, world: np.ndarray, logits: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a mirror-symmetric network answers for the mirrored crop."""
    perm = MIRROR_PERMUTATION
    xy_m = xy[perm].copy()
    xy_m[:, 0] = CROP_SIZE - xy_m[:, 0]
    world_m = world[perm] * np.array([-1.0, 1.0, 1.0])
    return xy_m, world_m, logits[perm]


def test_permutation_swaps_body_sides_and_keeps_alignment_points():
    perm = MIRROR_PERMUTATION
    assert len(perm) == 39 and (perm[perm] == np.arange(39)).all()
    names = BLAZEPOSE33.joint_names
    assert names[perm[names.index("l_knee")]] == "r_knee"
    assert perm[0] == 0 and (perm[33:] == np.arange(33, 39)).all()


def test_a_symmetric_answer_maps_back_onto_the_crop():
    xy, world, logits = _person(np.random.default_rng(0))
    ref = decode_landmarks(*_outputs(xy, world, logits, None), ROI)
    back = decode_mirrored(*_outputs(*_mirrored(xy, world, logits), None), ROI)
    np.testing.assert_allclose(back.keypoints_px, ref.keypoints_px, atol=1e-9)
    np.testing.assert_allclose(back.auxiliary_px, ref.auxiliary_px, atol=1e-9)
    np.testing.assert_allclose(back.world_m, ref.world_m, atol=1e-12)
    np.testing.assert_allclose(back.visibility, ref.visibility)
    np.testing.assert_allclose(back.presence, ref.presence)


def test_heatmap_refined_landmarks_map_back_without_a_cell_shift():
    # The refinement reads heatmap cell c as c / 64 of the crop: a landmark at cell c is at
    # cell 64 − c in the mirror, which flipping the heatmap array (63 − c) would miss by a cell.
    rng = np.random.default_rng(1)
    xy, world, logits = _person(rng)
    cells = rng.integers(12, 52, (39, 2))
    xy = cells * 4.0  # the regressed point at each peak: the refinement window centres on it
    ref = decode_landmarks(*_outputs(xy, world, logits, cells), ROI)
    xy_m, world_m, logits_m = _mirrored(xy, world, logits)
    cells_m = cells[MIRROR_PERMUTATION].copy()
    cells_m[:, 0] = 64 - cells_m[:, 0]
    back = decode_mirrored(*_outputs(xy_m, world_m, logits_m, cells_m), ROI)
    np.testing.assert_allclose(back.keypoints_px, ref.keypoints_px, atol=1e-6)


def test_average_is_field_by_field():
    rng = np.random.default_rng(2)
    a = decode_landmarks(*_outputs(*_person(rng), None), ROI)
    b = decode_landmarks(*_outputs(*_person(rng), None), ROI)
    mean = average_landmarks(a, b)
    for field in ("keypoints_px", "z_px", "visibility", "presence", "auxiliary_px", "world_m"):
        np.testing.assert_allclose(getattr(mean, field),
                                   0.5 * (getattr(a, field) + getattr(b, field)))


class _SymmetricNetwork:
    """A stand-in landmark network that answers one person, mirror-symmetrically, and
    remembers its inputs."""

    def __init__(self, crop: np.ndarray, presence_logit: float = 2.0) -> None:
        self.crop = crop
        rng = np.random.default_rng(3)
        self.person = _person(rng)
        self.presence_logit = presence_logit
        self.inputs: list[np.ndarray] = []
        self._out: dict[str, np.ndarray] = {}

    def run(self, tensor: np.ndarray) -> None:
        self.inputs.append(tensor)
        image = np.rint(tensor[0] * 255).astype(np.uint8)
        mirrored = not np.array_equal(image, self.crop)
        assert not mirrored or np.array_equal(image, self.crop[:, ::-1])
        xy, world, logits = _mirrored(*self.person) if mirrored else self.person
        if mirrored:
            xy = xy + np.array([2.0, 0.0])  # an answer that differs from the crop's own
        raw, heat, world = _outputs(xy, world, logits, None)
        presence = self.presence_logit + (1.0 if mirrored else 0.0)
        self._out = {"Identity": raw.reshape(1, -1), "Identity_1": np.array([[presence]]),
                     "Identity_3": heat[None], "Identity_4": world.reshape(1, -1)}

    def get(self, name: str) -> np.ndarray:
        return self._out[name]


def test_landmark_pass_runs_the_mirror_first_and_averages():
    crop = np.random.default_rng(4).integers(0, 255, (CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    net = _SymmetricNetwork(crop)
    presence, once = landmark_pass(net, crop, ROI)  # type: ignore[arg-type]
    assert len(net.inputs) == 1 and presence == pytest.approx(2.0)
    net.inputs.clear()
    presence2, both = landmark_pass(net, crop, ROI, mirror=True)  # type: ignore[arg-type]
    assert len(net.inputs) == 2
    # the crop's own run comes last, so the network's activations are the crop's
    np.testing.assert_array_equal(np.rint(net.inputs[-1][0] * 255).astype(np.uint8), crop)
    assert presence2 == pytest.approx(2.5)
    # the mirrored answer was 2 crop px to the right of the mirror of the crop's own: mapped
    # back it lies 2 crop px to the left, and the mean 1 crop px to the left of the crop's own
    shift = np.array([1.0, 0.0]) * ROI.size_px[0] / CROP_SIZE
    rot = np.array([[math.cos(ROI.rotation_rad), -math.sin(ROI.rotation_rad)],
                    [math.sin(ROI.rotation_rad), math.cos(ROI.rotation_rad)]])
    np.testing.assert_allclose(both.keypoints_px, once.keypoints_px - shift @ rot.T, atol=1e-9)
    np.testing.assert_allclose(both.world_m, once.world_m, atol=1e-12)


def test_detector_mirror_test_on_a_real_photo(standing_photo):
    from monopose.detect import BlazePoseDetector

    plain = BlazePoseDetector(num_threads=1).detect(standing_photo)
    flipped = BlazePoseDetector(num_threads=1, mirror_test=True).detect(standing_photo)
    assert len(plain) == len(flipped) == 1
    size = np.ptp(plain[0].keypoints_px, axis=0).max()
    diff = np.linalg.norm(flipped[0].keypoints_px - plain[0].keypoints_px, axis=1)
    # the two answers agree on a clearly seen standing person, and the flip test moved them
    assert np.median(diff) < 0.02 * size
    assert diff.max() > 0.0
    np.testing.assert_array_equal(flipped[0].world_landmarks_m.shape, (33, 3))


def test_feature_maps_are_the_crops_own_with_the_flip_test(detector, standing_photo):
    from monopose.detect import BlazePoseDetector

    roi = detector.detect(standing_photo)[0].roi
    flipped = BlazePoseDetector(num_threads=1, mirror_test=True)
    plain = detector.landmarks_for_roi(standing_photo, roi, with_features=True)
    both = flipped.landmarks_for_roi(standing_photo, roi, with_features=True)
    assert plain.feature_maps.keys() == both.feature_maps.keys()
    for name, fmap in plain.feature_maps.items():
        np.testing.assert_array_equal(both.feature_maps[name].data, fmap.data)
    # while the landmarks are the average of the crop's and the mirror's
    assert not np.allclose(both.landmarks.keypoints_px, plain.landmarks.keypoints_px)
