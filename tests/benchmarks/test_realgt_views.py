"""More views of a real photo (benchmarks/realgt_views.py): each view's truth follows its pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.realgt_views import ROLL_VIEWS, VIEW_NAMES, make_views, view_of, views_table
from monopose.core.skeleton import H36M17

# A person standing upright facing the camera, camera axes (y down), pelvis at the origin, mm.
STANDING_MM = np.array([
    [0, 0, 0], [-100, 0, 0], [-100, 450, 0], [-100, 900, 0], [100, 0, 0], [100, 450, 0],
    [100, 900, 0], [0, -250, 0], [0, -500, 0], [0, -600, 0], [0, -750, 0], [170, -480, 0],
    [170, -200, 0], [170, 50, 0], [-170, -480, 0], [-170, -200, 0], [-170, 50, 0],
], dtype=np.float64)
INTRINSICS = (300.0, 300.0, 199.5, 149.5)  # fx, fy, cx, cy px of a 400 × 300 photo


@dataclass
class FakeTruth:
    """The fields of ``bench_realgt.Truth`` the views use."""

    path: Path
    abs_mm: np.ndarray
    kp2d_px: np.ndarray
    intrinsics: tuple[float, float, float, float]


def _project(abs_mm: np.ndarray, intrinsics) -> np.ndarray:
    fx, fy, cx, cy = intrinsics
    return np.stack([fx * abs_mm[:, 0] / abs_mm[:, 2] + cx,
                     fy * abs_mm[:, 1] / abs_mm[:, 2] + cy], axis=1)


def _marker(j: int) -> int:
    return 20 + 12 * j  # a grey level per joint


@pytest.fixture()
def truth(tmp_path) -> FakeTruth:
    """A photo with a 3 × 3 marker at each joint's projection, grey level per joint; the person
    stands off the optical axis, turned a little."""
    yaw = np.radians(25.0)
    rot = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    abs_mm = STANDING_MM @ rot.T + [600.0, 200.0, 6000.0]
    kp = _project(abs_mm, INTRINSICS)
    image = np.zeros((300, 400, 3), np.uint8)
    for j, (x, y) in enumerate(np.round(kp).astype(int)):
        image[y - 1:y + 2, x - 1:x + 2] = _marker(j)
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), image)
    return FakeTruth(path, abs_mm, kp, INTRINSICS)


def test_every_view_keeps_its_truth_on_its_pixels(truth, tmp_path):
    views = make_views([truth], tmp_path / "views", VIEW_NAMES + ROLL_VIEWS)
    assert [view_of(v.path.stem) for v in views] == list(VIEW_NAMES + ROLL_VIEWS)
    flip = H36M17.flip_permutation
    for view in views:
        name = view_of(view.path.stem)
        image = cv2.imread(str(view.path))
        assert image is not None
        # the view's 2D truth is its 3D truth seen by its camera
        np.testing.assert_allclose(_project(view.abs_mm, view.intrinsics), view.kp2d_px,
                                   atol=1e-6, err_msg=name)
        # the root-relative pose is the photo's, mirrored where the view is
        rel = view.abs_mm - view.abs_mm[0]
        want = truth.abs_mm - truth.abs_mm[0]
        if "mirror" in name:
            want = want[flip] * [-1.0, 1.0, 1.0]
        if name.startswith("roll"):  # the camera turned about its optical axis
            a = np.radians(float(name[4:]))
            want = want @ np.array([[np.cos(a), np.sin(a), 0], [-np.sin(a), np.cos(a), 0],
                                    [0, 0, 1]]).T
            np.testing.assert_allclose(np.linalg.norm(view.abs_mm[0]),
                                       np.linalg.norm(truth.abs_mm[0]), err_msg=name)
        np.testing.assert_allclose(rel, want, atol=1e-9, err_msg=name)
        if name == "half":
            assert image.shape[:2] == (150, 200)
            continue
        # each joint's marker lies under the view's 2D truth (left and right swap in mirrors)
        source = flip if "mirror" in name else np.arange(17)
        for j, (x, y) in enumerate(np.round(view.kp2d_px).astype(int)):
            assert image[y, x, 0] == _marker(int(source[j])), (name, H36M17.joint_names[j])


def test_crops_move_the_person_off_the_axis(truth, tmp_path):
    views = {view_of(v.path.stem): v for v in make_views([truth], tmp_path / "v",
                                                         ("centre", "corner"))}
    for v in views.values():
        assert cv2.imread(str(v.path)).shape[:2] == (150, 150)
    centre_px = views["centre"].kp2d_px.mean(axis=0)
    corner_px = views["corner"].kp2d_px.mean(axis=0)
    assert np.linalg.norm(centre_px - 75.0) < 20.0
    assert np.all(corner_px < 75.0)  # up and to the left


def test_bad_views_are_refused(truth, tmp_path):
    with pytest.raises(ValueError, match="unknown views"):
        make_views([truth], tmp_path, ("sideways",))
    big = FakeTruth(truth.path, truth.abs_mm, truth.kp2d_px * [1.0, 2.5] - [0.0, 200.0],
                    truth.intrinsics)
    with pytest.raises(ValueError, match="does not fit"):
        make_views([big], tmp_path, ("centre",))


def test_views_table_means_per_view():
    rows = [
        {"method": "m", "photo": "a@orig", "mpjpe_mm": 10.0, "p_mpjpe_mm": 8.0,
         "root_error_mm": 100.0},
        {"method": "m", "photo": "b@orig", "mpjpe_mm": 30.0, "p_mpjpe_mm": 12.0,
         "root_error_mm": 300.0},
        {"method": "m", "photo": "a@mirror", "mpjpe_mm": 50.0, "p_mpjpe_mm": 40.0,
         "root_error_mm": None},
        {"method": "m", "photo": "b@mirror"},  # nobody found
    ]
    table = views_table(rows).splitlines()
    assert table[0].startswith("| method | orig | mirror |")
    assert table[2] == "| m | 20 / 10 / 200 | 50 / 40 / none (1 found) | 30 |"
