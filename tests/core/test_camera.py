"""Tests for monopose.core.camera: projection, distortion, cameras and homographies."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from monopose.core.camera import (
    Camera,
    apply_homography,
    crop_homography,
    dist_from_opencv,
    dist_to_opencv,
    distort_points,
    intrinsics_from_fov,
    intrinsics_to_matrix,
    invert_homography,
    project_points,
    project_points_torch,
    resize_homography,
    undistort_points,
    unproject_points,
)

# Human3.6M camera 54138969 and MPI-INF-3DHP TS5/TS6 (published calibrations).
H36M_INTR = np.array([1145.049, 1143.781, 512.542, 515.451])
H36M_DIST = np.array([-0.20710, 0.24778, -0.00308, -0.00098, -0.00142])
H36M_SIZE = (1000, 1002)
TS5_INTR = np.array([1683.98, 1672.59, 939.86, 560.14])
TS5_DIST = np.array([-0.27686, 0.13113, -0.04932, -0.00036, -0.00115])
TS5_SIZE = (1920, 1080)
CAMERAS = {
    "h36m": (H36M_INTR, H36M_DIST, H36M_SIZE),
    "ts5": (TS5_INTR, TS5_DIST, TS5_SIZE),
}

SETTINGS = settings(deadline=None, max_examples=30)


def _points_in_view(rng: np.random.Generator, intr: np.ndarray, size: tuple[int, int], n: int,
                    depth: tuple[float, float] = (1500.0, 8000.0)) -> np.ndarray:
    """Camera-space points whose *undistorted* projection lies inside the image."""
    u = rng.uniform(-0.5, size[0] - 0.5, n)
    v = rng.uniform(-0.5, size[1] - 0.5, n)
    z = rng.uniform(*depth, n)
    return np.stack([(u - intr[2]) / intr[0] * z, (v - intr[3]) / intr[1] * z, z], axis=-1)


def _image_grid(size: tuple[int, int], nx: int = 97, ny: int = 61) -> np.ndarray:
    u, v = np.meshgrid(np.linspace(-0.5, size[0] - 0.5, nx), np.linspace(-0.5, size[1] - 0.5, ny))
    return np.stack([u, v], axis=-1).reshape(-1, 2)


# ---------------------------------------------------------------------------------------------
# projection and distortion


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_project_matches_opencv(name: str) -> None:
    intr, dist, size = CAMERAS[name]
    pts = _points_in_view(np.random.default_rng(0), intr, size, 400)
    ours = project_points(pts, intr, dist)
    theirs, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), intrinsics_to_matrix(intr),
                                  dist_to_opencv(dist))
    assert np.abs(ours - theirs[:, 0]).max() < 1e-6


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_undistort_round_trip_over_whole_image(name: str) -> None:
    # Every distorted pixel of the image, corners included, must invert to 0.01 px.
    intr, dist, size = CAMERAS[name]
    grid = _image_grid(size)
    und = undistort_points(grid, intr, dist)
    assert np.abs(distort_points(und, intr, dist) - grid).max() <= 0.01
    # The correction is not trivial: corner pixels move by many pixels.
    assert np.abs(und - grid).max() > 20.0


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_undistort_agrees_with_opencv(name: str) -> None:
    intr, dist, size = CAMERAS[name]
    grid = _image_grid(size, 21, 13)
    K = intrinsics_to_matrix(intr)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-14)
    theirs = cv2.undistortPoints(grid[:, None], K, dist_to_opencv(dist), None, K, criteria=crit)
    assert np.abs(undistort_points(grid, intr, dist) - theirs[:, 0]).max() < 0.01


@pytest.mark.parametrize("name", sorted(CAMERAS))
def test_project_unproject_round_trip(name: str) -> None:
    intr, dist, size = CAMERAS[name]
    pts = _points_in_view(np.random.default_rng(1), intr, size, 500)
    px = project_points(pts, intr, dist)
    back = unproject_points(px, pts[:, 2], intr, dist)
    reproj = project_points(back, intr, dist)
    assert np.abs(reproj - px).max() <= 0.01
    assert np.abs(back - pts).max() < 1e-3  # mm


@SETTINGS
@given(
    fov=st.floats(40.0, 65.0),
    wide=st.booleans(),
    k1=st.floats(-0.3, 0.0),
    k2=st.floats(0.0, 0.3),
    k3=st.floats(-0.05, 0.05),
    p1=st.floats(-0.002, 0.002),
    p2=st.floats(-0.002, 0.002),
    seed=st.integers(0, 2**31 - 1),
)
def test_round_trip_random_cameras(fov: float, wide: bool, k1: float, k2: float, k3: float,
                                   p1: float, p2: float, seed: int) -> None:
    size = (1920, 1080) if wide else (1080, 1350)
    intr = intrinsics_from_fov(*size, fov_deg=fov)
    dist = np.array([k1, k2, k3, p1, p2])
    pts = _points_in_view(np.random.default_rng(seed), intr, size, 200)
    px = project_points(pts, intr, dist)
    back = unproject_points(px, pts[:, 2], intr, dist)
    assert np.abs(project_points(back, intr, dist) - px).max() <= 0.01


def test_undistort_reports_points_that_cannot_be_inverted() -> None:
    # Far outside the image, a barrel lens model folds over: no ray maps there.
    intr, dist, _ = CAMERAS["ts5"]
    far = np.array([[939.86 + 4 * 1683.98, 560.14]])
    with pytest.raises(ValueError, match="px"):
        undistort_points(far, intr, dist)
    out = undistort_points(far, intr, dist, on_failure="nan")
    assert np.isnan(out).all()


def test_batched_cameras_broadcast() -> None:
    rng = np.random.default_rng(2)
    B, J = 6, 17
    intr = np.stack([intrinsics_from_fov(1000 + 100 * b, 800, 40 + 5 * b) for b in range(B)])
    dist = rng.uniform(-0.01, 0.01, (B, 5))
    pts = rng.normal(0, 300, (B, J, 3)) + [0, 0, 4000]
    batched = project_points(pts, intr, dist)
    looped = np.stack([project_points(pts[b], intr[b], dist[b]) for b in range(B)])
    assert batched.shape == (B, J, 2)
    np.testing.assert_allclose(batched, looped, rtol=0, atol=1e-9)
    # [B, T, J, 3] poses with per-sample cameras need an explicit time axis on the cameras.
    seq = np.repeat(pts[:, None], 3, axis=1)
    out = project_points(seq, intr[:, None], dist[:, None])
    np.testing.assert_allclose(out, np.repeat(batched[:, None], 3, axis=1), atol=1e-9)
    und = undistort_points(batched, intr, dist)
    np.testing.assert_allclose(und, project_points(pts, intr), atol=1e-6)


def test_project_points_torch_matches_numpy_and_has_gradients() -> None:
    rng = np.random.default_rng(3)
    pts = rng.normal(0, 300, (4, 17, 3)) + [0, 0, 4000]
    intr = np.stack([H36M_INTR, TS5_INTR, H36M_INTR, TS5_INTR])
    dist = np.stack([H36M_DIST, TS5_DIST, np.zeros(5), TS5_DIST])
    ref = project_points(pts, intr, dist)
    t_pts = torch.tensor(pts, requires_grad=True)
    out = project_points_torch(t_pts, torch.tensor(intr), torch.tensor(dist))
    np.testing.assert_allclose(out.detach().numpy(), ref, atol=1e-9)
    out.sum().backward()
    assert t_pts.grad is not None and torch.isfinite(t_pts.grad).all()
    with pytest.raises(ValueError, match="points_cam_mm"):
        project_points_torch(-t_pts.detach(), torch.tensor(intr))
    clamped = project_points_torch(-t_pts.detach(), torch.tensor(intr), min_depth_mm=100.0)
    assert torch.isfinite(clamped).all()


def test_behind_camera_and_bad_arguments() -> None:
    pts = np.array([[0.0, 0.0, 1000.0], [10.0, 0.0, -5.0]])
    with pytest.raises(ValueError, match="points_cam_mm.*z > 0"):
        project_points(pts, H36M_INTR)
    assert np.isfinite(project_points(pts, H36M_INTR, min_depth_mm=1.0)).all()
    with pytest.raises(ValueError, match=r"points_cam_mm: expected shape \[\.\.\., J, 3\]"):
        project_points(np.zeros((17, 2)), H36M_INTR)
    with pytest.raises(ValueError, match="intrinsics"):
        project_points(pts[:1], np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="intrinsics.*> 0"):
        project_points(pts[:1], np.array([-1.0, 1.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="dist"):
        project_points(pts[:1], H36M_INTR, np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        project_points(np.array([[np.nan, 0.0, 1.0]]), H36M_INTR)
    with pytest.raises(ValueError, match="do not broadcast"):
        project_points(np.ones((3, 17, 3)), np.ones((2, 4)))
    with pytest.raises(ValueError, match="depth_mm.*> 0"):
        unproject_points(np.zeros((1, 2)), np.array([0.0]), H36M_INTR)
    with pytest.raises(ValueError, match="depth_mm.*> 0"):
        Camera.from_fov(640, 480).unproject(np.zeros(2), -1.0)


def test_dist_order_conversion_round_trip() -> None:
    d = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_array_equal(dist_to_opencv(d), [0.1, 0.2, 0.4, 0.5, 0.3])
    np.testing.assert_array_equal(dist_from_opencv(dist_to_opencv(d)), d)
    np.testing.assert_array_equal(dist_from_opencv([0.1, 0.2, 0.4, 0.5]), [0.1, 0.2, 0, 0.4, 0.5])
    with pytest.raises(ValueError, match="coeffs"):
        dist_from_opencv([0.1, 0.2, 0.4, 0.5, 0.3, 0.01, 0, 0])


# ---------------------------------------------------------------------------------------------
# field of view


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (500, 500)])
def test_fov_spans_the_longer_side(size: tuple[int, int]) -> None:
    fov = 55.0
    cam = Camera.from_fov(*size, fov_deg=fov)
    half = np.tan(np.radians(fov / 2))
    long_axis = int(size[1] > size[0])
    ray = np.zeros((2, 3))
    ray[:, 2] = 1000.0
    ray[0, long_axis] = -half * 1000.0
    ray[1, long_axis] = half * 1000.0
    px = cam.project(ray)
    # The two rays at ±fov/2 hit the two image edges of the longer side.
    np.testing.assert_allclose(px[:, long_axis], [-0.5, size[long_axis] - 0.5], atol=1e-9)
    np.testing.assert_allclose(px[:, 1 - long_axis], (size[1 - long_axis] - 1) / 2, atol=1e-9)
    with pytest.raises(ValueError, match="fov_deg"):
        intrinsics_from_fov(*size, fov_deg=180.0)
    with pytest.raises(ValueError, match="width"):
        intrinsics_from_fov(0, 10)


# ---------------------------------------------------------------------------------------------
# Camera type


def _camera_with_pose(seed: int = 0) -> Camera:
    from scipy.spatial.transform import Rotation

    R = Rotation.random(random_state=seed).as_matrix()
    return Camera(*TS5_INTR, dist=TS5_DIST, R=R, t=np.array([100.0, -200.0, 3000.0]),
                  width=1920, height=1080)


def test_camera_world_camera_round_trip_and_projection() -> None:
    cam = _camera_with_pose()
    rng = np.random.default_rng(4)
    world = rng.normal(0, 500, (5, 17, 3))
    cam_pts = cam.world_to_camera(world)
    np.testing.assert_allclose(cam.camera_to_world(cam_pts), world, atol=1e-9)
    np.testing.assert_allclose(cam_pts, world @ cam.R.T + cam.t, atol=1e-9)
    np.testing.assert_allclose(cam.K() @ np.array([0.0, 0.0, 1.0]), [cam.cx, cam.cy, 1.0])
    pts = _points_in_view(rng, cam.intrinsics, (1920, 1080), 50)
    px = cam.project(pts)
    np.testing.assert_allclose(px, project_points(pts, cam.intrinsics, cam.dist))
    np.testing.assert_allclose(cam.unproject(px, pts[:, 2]), pts, atol=1e-3)
    np.testing.assert_allclose(cam.undistort_points(px), project_points(pts, cam.intrinsics),
                               atol=1e-5)


def test_camera_is_immutable_and_validated() -> None:
    cam = _camera_with_pose()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cam.fx = 1.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        cam.dist[0] = 1.0
    with pytest.raises(ValueError, match="R: expected a rotation"):
        Camera(1000, 1000, 500, 500, R=np.diag([1.0, 1.0, -1.0]))
    with pytest.raises(ValueError, match=r"dist: expected shape"):
        Camera(1000, 1000, 500, 500, dist=np.zeros(4))
    with pytest.raises(ValueError, match=r"t: expected shape \(3,\)"):
        Camera(1000, 1000, 500, 500, t=np.zeros(2))
    with pytest.raises(ValueError, match="width"):
        Camera(1000, 1000, 500, 500, width=-3, height=10)
    with pytest.raises(ValueError, match="fx, fy"):
        Camera(0, 1000, 500, 500)


def test_cropped_camera_matches_homography() -> None:
    cam = _camera_with_pose()
    box = np.array([700.0, 200.0, 400.0, 600.0])
    crop_cam = cam.cropped(box, (256, 384))
    H = crop_homography(box, (256, 384))
    pts = _points_in_view(np.random.default_rng(5), cam.intrinsics, (1920, 1080), 50)
    np.testing.assert_allclose(crop_cam.project(pts), apply_homography(H, cam.project(pts)),
                               atol=1e-9)
    assert (crop_cam.width, crop_cam.height) == (256, 384)
    small = cam.resized((960, 540))
    np.testing.assert_allclose(
        small.project(pts), apply_homography(resize_homography((1920, 1080), (960, 540)),
                                             cam.project(pts)), atol=1e-9)


# ---------------------------------------------------------------------------------------------
# homographies


@SETTINGS
@given(
    x=st.floats(-200, 1500), y=st.floats(-200, 900), w=st.floats(10, 800), h=st.floats(10, 800),
    out_w=st.integers(16, 512), out_h=st.integers(16, 512), seed=st.integers(0, 2**31 - 1),
)
def test_crop_homography_round_trip(x: float, y: float, w: float, h: float, out_w: int,
                                    out_h: int, seed: int) -> None:
    H = crop_homography(np.array([x, y, w, h]), (out_w, out_h))
    pts = np.random.default_rng(seed).uniform(-1000, 3000, (20, 2))
    crop_px = apply_homography(H, pts)
    np.testing.assert_allclose(apply_homography(invert_homography(H), crop_px), pts, atol=1e-6)
    # Box corners land on the crop's outer edges.
    corners = np.array([[x, y], [x + w, y + h]])
    np.testing.assert_allclose(apply_homography(H, corners),
                               [[-0.5, -0.5], [out_w - 0.5, out_h - 0.5]], atol=1e-6)


def test_crop_homography_matches_opencv_warp() -> None:
    # On a linear ramp, bilinear warping is exact: the crop pixel (i, j) holds the image x
    # coordinate that the inverse homography maps it to.
    W, Himg = 320, 240
    ramp_x = np.tile(np.arange(W, dtype=np.float32), (Himg, 1))
    ramp_y = np.tile(np.arange(Himg, dtype=np.float32)[:, None], (1, W))
    box = np.array([40.3, 30.7, 150.0, 120.0])
    H = crop_homography(box, (100, 80))
    warped_x = cv2.warpPerspective(ramp_x, H, (100, 80), flags=cv2.INTER_LINEAR)
    warped_y = cv2.warpPerspective(ramp_y, H, (100, 80), flags=cv2.INTER_LINEAR)
    jj, ii = np.mgrid[0:80, 0:100]
    crop_px = np.stack([ii, jj], axis=-1).reshape(-1, 2).astype(float)
    src = apply_homography(invert_homography(H), crop_px)
    np.testing.assert_allclose(warped_x.reshape(-1), src[:, 0], atol=0.02)
    np.testing.assert_allclose(warped_y.reshape(-1), src[:, 1], atol=0.02)
    # And resize_homography reproduces cv2.resize (pixel-centre convention).
    small = cv2.resize(ramp_x, (128, 96), interpolation=cv2.INTER_LINEAR)
    Hr = resize_homography((W, Himg), (128, 96))
    src_r = apply_homography(invert_homography(Hr), np.stack(
        [np.arange(1, 127, dtype=float), np.full(126, 40.0)], axis=-1))
    np.testing.assert_allclose(small[40, 1:127], src_r[:, 0], atol=0.02)


def test_homographies_batched_and_errors() -> None:
    boxes = np.array([[0.0, 0.0, 100.0, 100.0], [50.0, 20.0, 200.0, 100.0]])
    Hs = crop_homography(boxes, (64, 64))
    assert Hs.shape == (2, 3, 3)
    pts = np.array([[[10.0, 10.0]], [[60.0, 30.0]]])
    out = apply_homography(Hs, pts)
    np.testing.assert_allclose(out[1, 0], apply_homography(Hs[1], pts[1, 0]))
    with pytest.raises(ValueError, match="box_xywh"):
        crop_homography(np.array([0.0, 0.0, -1.0, 10.0]), (64, 64))
    with pytest.raises(ValueError, match="out_size_wh"):
        crop_homography(np.array([0.0, 0.0, 1.0, 10.0]), (0, 64))
    with pytest.raises(ValueError, match="singular"):
        invert_homography(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="px"):
        apply_homography(np.eye(3), np.zeros((3, 3)))
