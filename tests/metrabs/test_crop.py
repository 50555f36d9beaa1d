"""Crop cameras (:mod:`monopose.metrabs.crop`) and training crops (:mod:`monopose.metrabs.augment`).

Everything is checked against plain pinhole geometry on synthetic cameras, poses and photos.
"""

from __future__ import annotations

import numpy as np
import pytest

from monopose.core.skeleton import get_layout
from monopose.metrabs.augment import AugmentConfig, crop_labels, flip_crop, make_training_crop
from monopose.metrabs.crop import (
    box_crop_camera,
    joints_box,
    look_at_rotation,
    partial_box,
)
from tests.metrabs.conftest import standing_pose

S = 256
INTR = np.array([1000.0, 1000.0, 960.0, 540.0])  # 1920×1080 photo
CENTRE = (S - 1) / 2.0


def _project(points_mm: np.ndarray, K: np.ndarray) -> np.ndarray:
    h = points_mm @ K.T
    return h[..., :2] / h[..., 2:3]


def _K(intr: np.ndarray) -> np.ndarray:
    fx, fy, cx, cy = intr
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _dot_photo(xy: tuple[float, float], size_wh: tuple[int, int], sigma: float = 4.0
               ) -> np.ndarray:
    """A black photo with one bright Gaussian dot centred at ``xy`` (sub-pixel)."""
    w, h = size_wh
    yy, xx = np.mgrid[0:h, 0:w]
    g = np.exp(-((xx - xy[0]) ** 2 + (yy - xy[1]) ** 2) / (2 * sigma**2))
    return np.repeat((255 * g).round().astype(np.uint8)[..., None], 3, axis=2)


def _centroid(image: np.ndarray) -> np.ndarray:
    m = image[..., 0].astype(np.float64)
    m = np.where(m > 0.2 * m.max(), m, 0.0)
    yy, xx = np.mgrid[0:m.shape[0], 0:m.shape[1]]
    return np.array([(m * xx).sum(), (m * yy).sum()]) / m.sum()


def _edge_lengths(cam, box: np.ndarray) -> tuple[float, float]:
    """(horizontal, vertical) length in crop px of the box's mid-lines."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    left, right, top, bottom = cam.source_to_crop_px(
        np.array([[box[0], cy], [box[2], cy], [cx, box[1]], [cx, box[3]]]))
    return float(np.linalg.norm(right - left)), float(np.linalg.norm(bottom - top))


def _cos_off_axis(box: np.ndarray, intr: np.ndarray) -> float:
    ray = np.linalg.solve(_K(intr), [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 1.0])
    return float(ray[2] / np.linalg.norm(ray))


# ---------------------------------------------------------------------------- rotation
@pytest.mark.parametrize("ray", [(0.3, -0.2, 1.0), (-2.0, 1.0, 0.5), (0.0, 0.0, 1.0),
                                 (0.0, 0.0, -1.0), (1.0, 0.0, 0.0)])
def test_look_at_rotation_turns_the_ray_onto_the_optical_axis(ray):
    for roll in (0.0, 0.7):
        R = look_at_rotation(np.array(ray), roll)
        np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
        d = np.array(ray) / np.linalg.norm(ray)
        np.testing.assert_allclose(R @ d, [0.0, 0.0, 1.0], atol=1e-12)


def test_look_at_rotation_is_the_smallest_turn():
    # Smallest turn: a direction perpendicular to both the ray and z stays where it is.
    ray = np.array([0.4, 0.0, 1.0])
    R = look_at_rotation(ray)
    np.testing.assert_allclose(R @ [0.0, 1.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)
    angle = np.degrees(np.arccos((np.trace(R) - 1) / 2))
    assert angle == pytest.approx(np.degrees(np.arctan(0.4)))


# ---------------------------------------------------------------------------- framing
@pytest.mark.parametrize("box", [
    [860.0, 340.0, 1060.0, 740.0],      # centred, tall
    [1700.0, 340.0, 1900.0, 740.0],     # far right
    [-900.0, 300.0, -700.0, 700.0],     # outside the photo on the left (off-axis ~57°)
    [20.0, 10.0, 180.0, 410.0],         # top-left corner
])
def test_box_centre_maps_to_crop_centre(box):
    cam = box_crop_camera(INTR, np.array(box), S, padding=1.3)
    c = cam.source_to_crop_px(np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2]))
    np.testing.assert_allclose(c, [CENTRE, CENTRE], atol=1e-9)
    np.testing.assert_allclose(cam.crop_intrinsics[2:], [CENTRE, CENTRE])


def test_centred_box_side_fills_the_crop():
    box = np.array([860.0, 340.0, 1060.0, 740.0])  # 200 × 400 px around the principal point
    for padding in (1.0, 1.25):
        cam = box_crop_camera(INTR, box, S, padding=padding)
        horiz, vert = _edge_lengths(cam, box)
        assert vert == pytest.approx(S / padding, rel=1e-3)
        assert horiz == pytest.approx(S / padding / 2, rel=1e-3)


@pytest.mark.parametrize("box, tangential", [
    (np.array([-900.0, 300.0, -700.0, 700.0]), "vertical"),   # off to the left: height ⟂ radius
    (np.array([660.0, 1500.0, 1260.0, 1800.0]), "horizontal"),  # far below: width ⟂ radius
])
def test_off_centre_box_side_fills_the_crop(box, tangential):
    """Off-axis, the side perpendicular to the radius keeps its full size in the crop; the radial
    side is foreshortened by the obliquity (the compromise the crop camera documents)."""
    cos = _cos_off_axis(box, INTR)
    assert cos < 0.8  # strongly off-centre
    cam = box_crop_camera(INTR, box, S, padding=1.0)
    horiz, vert = _edge_lengths(cam, box)
    w, h = box[2] - box[0], box[3] - box[1]
    long_side = max(w, h)
    if tangential == "vertical":
        assert vert == pytest.approx(S * h / long_side, rel=0.01)
        assert horiz == pytest.approx(S * w / long_side * cos, rel=0.02)
    else:
        assert horiz == pytest.approx(S * w / long_side, rel=0.01)
        assert vert == pytest.approx(S * h / long_side * cos, rel=0.02)


def test_off_centre_person_fills_the_crop_like_a_central_one():
    """The same upright 1.8 m person at 4 m, straight ahead and 50° to the side, has the same
    height in a crop of its own joint box."""
    heights = []
    for azimuth in (0.0, np.radians(50.0)):
        head, feet = np.array([0.0, -900.0, 0.0]), np.array([0.0, 900.0, 0.0])
        centre = 4000.0 * np.array([np.sin(azimuth), 0.0, np.cos(azimuth)])
        pts = np.stack([head + centre, feet + centre])
        px = _project(pts, _K(INTR))
        box = np.array([px[:, 0].min() - 50, px[0, 1], px[:, 0].max() + 50, px[1, 1]])
        cam = box_crop_camera(INTR, box, S)
        crop_px = _project(cam.source_to_crop_points(pts), cam.K_crop)
        heights.append(np.linalg.norm(crop_px[1] - crop_px[0]))
    assert heights[1] == pytest.approx(heights[0], rel=0.01)


# ---------------------------------------------------------------------------- consistency
@pytest.mark.parametrize("roll_deg, shift", [(0.0, (0.0, 0.0)), (25.0, (0.1, -0.05)),
                                             (-15.0, (-0.1, 0.1))])
@pytest.mark.parametrize("box", [[300.0, 150.0, 460.0, 470.0], [1500.0, 600.0, 1800.0, 1000.0]])
def test_warp_agrees_with_source_to_crop_px(box, roll_deg, shift):
    rng = np.random.default_rng(int(box[0]) + int(roll_deg))
    box = np.array(box)
    cam = box_crop_camera(INTR, box, S, padding=1.2, roll_rad=np.radians(roll_deg), shift=shift)
    for _ in range(3):
        # a dot well inside the crop (its blob must not be clipped by the crop's border)
        dot = cam.crop_to_source_px(rng.uniform(40.0, S - 40.0, size=2))
        photo = _dot_photo(tuple(dot), (1920, 1080))
        found = _centroid(cam.warp(photo))
        expected = cam.source_to_crop_px(dot)
        np.testing.assert_allclose(found, expected, atol=0.35)


def test_warp_fills_outside_the_photo_with_the_border_value():
    box = np.array([-300.0, 400.0, 100.0, 800.0])  # 3/4 left of the photo
    photo = np.full((1080, 1920, 3), 200, np.uint8)
    crop = box_crop_camera(INTR, box, S).warp(photo, border_value=7)
    assert crop.shape == (S, S, 3) and crop.dtype == np.uint8
    assert (crop[:, :100] == 7).all()
    assert (crop[:, -40:] == 200).all()


@pytest.mark.parametrize("roll_deg", [0.0, 30.0])
def test_3d_through_crop_camera_equals_homography_of_projection(roll_deg):
    rng = np.random.default_rng(3)
    box = np.array([1400.0, 100.0, 1700.0, 700.0])
    cam = box_crop_camera(INTR, box, S, padding=1.1, roll_rad=np.radians(roll_deg))
    pts = rng.uniform([-3000, -2000, 2000], [3000, 2000, 9000], size=(50, 3))
    via_3d = _project(cam.source_to_crop_points(pts), cam.K_crop)
    via_h = cam.source_to_crop_px(_project(pts, _K(INTR)))
    np.testing.assert_allclose(via_3d, via_h, atol=1e-6)


def test_anisotropic_intrinsics_map_consistently():
    intr = np.array([1100.0, 900.0, 640.0, 360.0])
    box = np.array([900.0, 50.0, 1100.0, 600.0])
    cam = box_crop_camera(intr, box, S)
    pts = np.random.default_rng(0).uniform([-2000, -1500, 2500], [2000, 1500, 6000], (20, 3))
    np.testing.assert_allclose(_project(cam.source_to_crop_points(pts), cam.K_crop),
                               cam.source_to_crop_px(_project(pts, _K(intr))), atol=1e-6)
    assert cam.K_crop[0, 0] == cam.K_crop[1, 1]  # square pixels in the crop


def test_k_matrix_and_intrinsics_give_the_same_camera():
    box = np.array([200.0, 100.0, 500.0, 700.0])
    a = box_crop_camera(INTR, box, S, roll_rad=0.2)
    b = box_crop_camera(_K(INTR), box, S, roll_rad=0.2)
    np.testing.assert_allclose(a.source_to_crop_homography, b.source_to_crop_homography)


def test_positive_roll_turns_content_clockwise_on_screen():
    box = np.array([860.0, 340.0, 1060.0, 740.0])
    c = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    right_of_centre = c + [100.0, 0.0]
    photo = _dot_photo(tuple(right_of_centre), (1920, 1080))
    for roll_deg in (30.0, -30.0):
        cam = box_crop_camera(INTR, box, S, roll_rad=np.radians(roll_deg))
        for found in (cam.source_to_crop_px(right_of_centre), _centroid(cam.warp(photo))):
            d = found - CENTRE
            # On screen (y down) clockwise takes 3 o'clock towards 6 o'clock: y grows.
            angle = np.degrees(np.arctan2(d[1], d[0]))
            assert angle == pytest.approx(roll_deg, abs=0.5)


def test_round_trips():
    rng = np.random.default_rng(1)
    cam = box_crop_camera(INTR, np.array([100.0, 200.0, 400.0, 900.0]), S, padding=1.1,
                          roll_rad=-0.3, shift=(0.05, 0.1))
    px = rng.uniform(0, 1000, size=(4, 7, 2))
    np.testing.assert_allclose(cam.crop_to_source_px(cam.source_to_crop_px(px)), px, atol=1e-8)
    crop_px = rng.uniform(-50, 300, size=(30, 2))
    np.testing.assert_allclose(cam.source_to_crop_px(cam.crop_to_source_px(crop_px)), crop_px,
                               atol=1e-8)
    pts = rng.normal(0, 2000, size=(5, 17, 3))
    np.testing.assert_allclose(cam.crop_to_source_points(cam.source_to_crop_points(pts)), pts,
                               atol=1e-9)
    # a rotation keeps distances from the (shared) centre
    np.testing.assert_allclose(np.linalg.norm(cam.source_to_crop_points(pts), axis=-1),
                               np.linalg.norm(pts, axis=-1))


def test_points_behind_the_crop_camera_map_to_nan():
    box = np.array([3700.0, 400.0, 3900.0, 700.0])  # ~71° to the right
    cam = box_crop_camera(INTR, box, S)
    out = cam.source_to_crop_px(np.array([[0.0, 540.0], [3800.0, 550.0]]))
    assert np.isnan(out[0]).all()  # far left of the photo: > 90° from the crop's axis
    assert np.isfinite(out[1]).all()


@pytest.mark.parametrize("box", [[np.nan, 0, 10, 10], [0, 0, np.inf, 10], [5, 5, 5, 50],
                                 [0, 20, 30, 20], [30, 0, 10, 40], [1, 2, 3]])
def test_degenerate_box_raises(box):
    with pytest.raises(ValueError, match="box_xyxy_px"):
        box_crop_camera(INTR, np.array(box, dtype=float), S)


@pytest.mark.parametrize("padding", [0.0, -1.0, float("nan")])
def test_bad_padding_raises(padding):
    with pytest.raises(ValueError, match="padding"):
        box_crop_camera(INTR, np.array([0.0, 0.0, 10.0, 20.0]), S, padding=padding)


def test_bad_size_raises():
    with pytest.raises(ValueError, match="size_px"):
        box_crop_camera(INTR, np.array([0.0, 0.0, 10.0, 20.0]), 4)


# ---------------------------------------------------------------------------- boxes
@pytest.mark.parametrize("side", ["bottom", "top", "left", "right"])
@pytest.mark.parametrize("keep", [0.4, 0.75, 1.0])
def test_partial_box_keeps_the_share_on_the_opposite_side(side, keep):
    box = np.array([100.0, 50.0, 300.0, 450.0])
    out = partial_box(box, keep, side)
    w, h = out[2] - out[0], out[3] - out[1]
    vertical = side in ("bottom", "top")
    assert (h / 400.0 if vertical else w / 200.0) == pytest.approx(keep)
    assert (w if vertical else h) == pytest.approx(200.0 if vertical else 400.0)
    kept_edge = {"bottom": 1, "top": 3, "left": 2, "right": 0}[side]  # the uncut opposite edge
    assert out[kept_edge] == box[kept_edge]
    assert out[0] >= box[0] and out[1] >= box[1] and out[2] <= box[2] and out[3] <= box[3]


def test_partial_box_rejects_bad_arguments():
    box = np.array([0.0, 0.0, 10.0, 10.0])
    for keep in (0.0, 1.2, -0.5):
        with pytest.raises(ValueError, match="keep_fraction"):
            partial_box(box, keep, "bottom")
    with pytest.raises(ValueError, match="side"):
        partial_box(box, 0.5, "middle")


def test_joints_box_margin_and_validity():
    kp = np.array([[10.0, 20.0], [110.0, 220.0], [60.0, 100.0], [5000.0, -5000.0]])
    valid = np.array([True, True, True, False])
    np.testing.assert_allclose(joints_box(kp, valid, margin=0.1), [0.0, 0.0, 120.0, 240.0])
    kp_nan = kp.copy()
    kp_nan[3] = np.nan
    np.testing.assert_allclose(joints_box(kp_nan), [0.0, 0.0, 120.0, 240.0])
    with pytest.raises(ValueError, match="kp_px"):
        joints_box(kp, np.array([True, False, False, False]))


# ---------------------------------------------------------------------------- training crops
def _scene(seed: int, root=(300.0, -100.0, 4500.0)):
    """A labelled synthetic photo: noise image, one standing person, joints in the photo."""
    rng = np.random.default_rng(seed)
    intr = np.array([900.0, 900.0, 640.0, 360.0])
    pose = standing_pose(rng) + np.array(root)
    kp = _project(pose, _K(intr))
    image = rng.integers(0, 256, size=(720, 1280, 3), dtype=np.uint8)
    inside = ((kp >= -0.5) & (kp <= [1279.5, 719.5])).all(-1)
    return image, intr, kp, pose, inside


@pytest.mark.parametrize("seed", range(6))
def test_training_crop_labels_reproject_with_k_crop(seed):
    image, intr, kp, pose, inside = _scene(seed, root=(300.0, 950.0, 4500.0))
    assert inside.sum() == 15  # the ankles are below the photo
    tc = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(seed),
                            AugmentConfig(partial_prob=0.5))
    assert tc.image.shape == (S, S, 3) and tc.image.dtype == np.uint8
    np.testing.assert_allclose(_project(tc.pose3d_mm.astype(np.float64), tc.camera.K_crop),
                               tc.kp2d_px, atol=1e-2)
    # same rigid body: bone lengths survive the rotation (and the flip)
    parents = np.asarray(get_layout("h36m17").parents)
    perm = get_layout("h36m17").flip_permutation if tc.flipped else np.arange(17)
    bones = [np.linalg.norm(p[1:] - p[parents[1:]], axis=-1) for p in (tc.pose3d_mm, pose[perm])]
    np.testing.assert_allclose(bones[0], bones[1], atol=1e-2)
    in_crop = ((tc.kp2d_px >= -0.5) & (tc.kp2d_px <= S - 0.5)).all(-1)
    assert tc.truncation == pytest.approx(1.0 - in_crop.mean())
    np.testing.assert_array_equal(tc.in_view, in_crop & inside[
        get_layout("h36m17").flip_permutation if tc.flipped else slice(None)])


def test_unflipped_labels_are_the_photo_joints_seen_by_the_crop():
    image, intr, kp, pose, inside = _scene(1)
    tc = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(1), flip=False)
    np.testing.assert_allclose(tc.camera.crop_to_source_px(tc.kp2d_px.astype(np.float64)), kp,
                               atol=0.02)
    np.testing.assert_allclose(tc.camera.crop_to_source_points(tc.pose3d_mm), pose, atol=0.02)


def test_flip_mirrors_about_the_crop_centre_and_swaps_sides():
    image, intr, kp, pose, inside = _scene(2)
    perm = get_layout("h36m17").flip_permutation
    assert (perm != np.arange(17)).sum() == 12  # 6 left/right pairs really swap
    plain = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(5),
                               flip=False)
    flipped = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(5),
                                 flip=True)
    assert flipped.flipped and not plain.flipped
    np.testing.assert_array_equal(flipped.image, plain.image[:, ::-1])
    np.testing.assert_allclose(flipped.kp2d_px[:, 0], (S - 1) - plain.kp2d_px[perm, 0], atol=1e-3)
    np.testing.assert_allclose(flipped.kp2d_px[:, 1], plain.kp2d_px[perm, 1], atol=1e-3)
    np.testing.assert_allclose(flipped.pose3d_mm, plain.pose3d_mm[perm] * [-1, 1, 1], atol=1e-3)
    np.testing.assert_array_equal(flipped.in_view, plain.in_view[perm])
    # the flipped person's left wrist is on the right of the right wrist again: mirrored image
    lw, rw = get_layout("h36m17").index("l_wrist"), get_layout("h36m17").index("r_wrist")
    assert (plain.kp2d_px[lw, 0] > plain.kp2d_px[rw, 0]) == (flipped.kp2d_px[lw, 0]
                                                              > flipped.kp2d_px[rw, 0])


def test_flipped_labels_point_at_the_mirrored_pixels():
    """A coloured mark on the left wrist in the photo is found under the flipped crop's right
    wrist label (the person's left appears where a right side would be)."""
    image, intr, kp, pose, inside = _scene(3)
    image = np.zeros_like(image)
    lw, rw = get_layout("h36m17").index("l_wrist"), get_layout("h36m17").index("r_wrist")
    x, y = np.round(kp[lw]).astype(int)
    image[y - 6:y + 7, x - 6:x + 7] = (255, 0, 0)
    tc = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(0),
                            AugmentConfig(partial_prob=0.0), jitter=False, flip=True)
    u, v = np.round(tc.kp2d_px[rw]).astype(int)
    assert tc.image[v, u, 0] > 200
    u, v = np.round(tc.kp2d_px[lw]).astype(int)
    assert tc.image[v, u, 0] == 0


def test_flip_crop_twice_is_identity():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (S, S, 3), dtype=np.uint8)
    kp, pose, iv = rng.uniform(0, S, (17, 2)), rng.normal(0, 500, (17, 3)), rng.random(17) > 0.3
    once = flip_crop(img, kp, pose, iv)
    twice = flip_crop(*once)
    for a, b in zip(twice, (img, kp, pose, iv), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-9)


def test_crop_labels_mark_joints_outside_the_photo_out_of_view():
    image, intr, kp, pose, _ = _scene(4)
    cam = box_crop_camera(intr, joints_box(kp), S, padding=1.1)
    inside = np.ones(17, bool)
    inside[[3, 6]] = False  # ankles cut off by the photo's edge
    kp_c, _, in_view = crop_labels(cam, pose, inside)
    assert ((kp_c >= 0) & (kp_c <= S - 1)).all()  # the whole body is in the crop ...
    np.testing.assert_array_equal(in_view, inside)  # ... but only photo pixels are "in view"


@pytest.mark.parametrize("side", ["bottom", "top"])
def test_partial_visibility_truncates_the_body(side):
    image, intr, kp, pose, inside = _scene(6, root=(0.0, 0.0, 5000.0))
    trunc = {}
    for keep in (1.0, 0.6):
        tc = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(0),
                                keep_fraction=keep, side=side, jitter=False, flip=False)
        trunc[keep] = tc.truncation
    assert trunc[1.0] == 0.0
    assert trunc[0.6] >= 0.15


@pytest.mark.parametrize("side", ["left", "right"])
def test_side_cuts_truncate_an_upright_body(side):
    image, intr, kp, pose, inside = _scene(6, root=(0.0, 0.0, 5000.0))
    tc = make_training_crop(image, intr, kp, pose, inside, np.random.default_rng(0),
                            keep_fraction=0.6, side=side, jitter=False, flip=False)
    assert tc.truncation >= 0.15
