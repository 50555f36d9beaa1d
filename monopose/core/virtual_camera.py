"""Lifting in a virtual camera that looks at the person (perspective-aware lifting).

A lifter that sees only centred, scaled 2D cannot tell where the person stands relative to the
optical axis: a person at the edge of a wide-angle photo is seen from the side of the camera's
axis, and their 2D is skewed by perspective. As MeTRAbs does with its crops, the 2D keypoints
are turned into camera rays and rotated so that a virtual camera at the same centre looks
straight at the person; the lifter works there, and its 3D is rotated back:

    kp_virtual, R = to_virtual_camera(kp_px, valid, intrinsics)   # R: camera -> virtual
    pose_virtual_mm = lifter(kp_virtual)
    pose_camera_mm = from_virtual_camera(pose_virtual_mm, R)

The virtual camera's image coordinates are normalised (focal length 1, principal point 0): a
lifter normalises them further per window (:mod:`monopose.core.normalize`). Lens distortion is
not removed here (the 2D of the detector ignores it as well).
"""

from __future__ import annotations

import numpy as np

# The image's up in its own camera (OpenCV: y points down): what a lifter is told where the 2D
# was not turned, as :func:`camera_up` gives for a camera already looking at the person.
IMAGE_UP: tuple[float, float, float] = (0.0, -1.0, 0.0)

__all__ = ["IMAGE_UP", "camera_up", "look_at_rotations", "to_virtual_camera", "turn_keypoints",
           "from_virtual_camera"]


def look_at_rotations(rays: np.ndarray) -> np.ndarray:
    """Rotations ``R [..., 3, 3]`` with ``R @ ray ∥ +z``: the smallest turn (no roll added).

    Args:
        rays: ``[..., 3]`` directions in the camera (need not be unit length, ``z > 0`` typical).
    """
    d = np.asarray(rays, dtype=np.float64)
    d = d / np.linalg.norm(d, axis=-1, keepdims=True)
    # Rodrigues' formula for the axis d × z and the angle between d and z.
    axis = np.stack([d[..., 1], -d[..., 0], np.zeros_like(d[..., 0])], axis=-1)
    s = np.linalg.norm(axis, axis=-1)
    c = d[..., 2]
    k = np.divide(axis, s[..., None], out=np.zeros_like(axis), where=s[..., None] > 1e-12)
    zero = np.zeros_like(c)
    kx = np.stack([np.stack([zero, -k[..., 2], k[..., 1]], -1),
                   np.stack([k[..., 2], zero, -k[..., 0]], -1),
                   np.stack([-k[..., 1], k[..., 0], zero], -1)], axis=-2)
    eye = np.broadcast_to(np.eye(3), kx.shape)
    rot = eye + s[..., None, None] * kx + (1 - c)[..., None, None] * (kx @ kx)
    # A ray straight backwards has no unique smallest turn: half a turn about x.
    backwards = (s <= 1e-12) & (c < 0)
    return np.where(backwards[..., None, None], np.diag([1.0, -1.0, -1.0]), rot)


def to_virtual_camera(keypoints_px: np.ndarray, valid: np.ndarray | None,
                      intrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2D keypoints as seen by a camera turned towards the person.

    The virtual camera looks along the ray through the centre of the box of the valid joints of
    the whole window (so all frames share one rotation and the motion is kept).

    Args:
        keypoints_px: ``[..., T, J, 2]`` pixels.
        valid: ``[..., T, J]`` bool or None (all valid); invalid joints come out as 0.
        intrinsics: ``[..., 4]`` ``(fx, fy, cx, cy)`` per window (broadcast over T and J).

    Returns:
        ``(keypoints_virtual [..., T, J, 2], R [..., 3, 3])``: normalised coordinates in the
        virtual camera, and the rotation from the camera to it (``X_virtual = R @ X_camera``).
    """
    kp = np.asarray(keypoints_px, dtype=np.float64)
    if kp.ndim < 3 or kp.shape[-1] != 2:
        raise ValueError(f"keypoints_px: expected [..., T, J, 2], got {kp.shape}")
    ok = np.ones(kp.shape[:-1], bool) if valid is None else np.asarray(valid, dtype=bool)
    intr = np.asarray(intrinsics, dtype=np.float64)
    if intr.shape[-1] != 4:
        raise ValueError(f"intrinsics: expected [..., 4], got {intr.shape}")
    if not np.isfinite(intr).all() or (intr[..., :2] <= 0).any():
        raise ValueError("intrinsics: expected finite values with fx, fy > 0")
    intr = intr[..., None, None, :]  # over T and J
    xn = (kp[..., 0] - intr[..., 2]) / intr[..., 0]
    yn = (kp[..., 1] - intr[..., 3]) / intr[..., 1]
    flat_ok = ok.reshape(*ok.shape[:-2], -1)
    any_ok = flat_ok.any(axis=-1)
    fx = np.where(flat_ok, xn.reshape(flat_ok.shape), np.nan)
    fy = np.where(flat_ok, yn.reshape(flat_ok.shape), np.nan)
    with np.errstate(all="ignore"):  # windows without valid joints look straight ahead
        centre_x = np.where(any_ok, (np.nanmin(fx, -1) + np.nanmax(fx, -1)) / 2, 0.0)
        centre_y = np.where(any_ok, (np.nanmin(fy, -1) + np.nanmax(fy, -1)) / 2, 0.0)
    rot = look_at_rotations(np.stack([centre_x, centre_y, np.ones_like(centre_x)], axis=-1))
    out = _turn(xn, yn, rot)
    return np.where(ok[..., None], out, 0.0), rot


def turn_keypoints(keypoints_px: np.ndarray, intrinsics: np.ndarray, rotation: np.ndarray
                   ) -> np.ndarray:
    """``[..., T, J, 2]`` pixels seen by the virtual camera ``rotation [..., 3, 3]``
    (normalised coordinates), for ``intrinsics [..., 4]``: the same turn as for other points."""
    kp = np.asarray(keypoints_px, dtype=np.float64)
    intr = np.asarray(intrinsics, dtype=np.float64)[..., None, None, :]
    return _turn((kp[..., 0] - intr[..., 2]) / intr[..., 0],
                 (kp[..., 1] - intr[..., 3]) / intr[..., 1], np.asarray(rotation))


def _turn(xn: np.ndarray, yn: np.ndarray, rot: np.ndarray) -> np.ndarray:
    rays = np.stack([xn, yn, np.ones_like(xn)], axis=-1)  # [..., T, J, 3]
    turned = np.einsum("...ab,...tjb->...tja", rot, rays)
    return turned[..., :2] / turned[..., 2:3]


def from_virtual_camera(points_virtual: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """3D points ``[..., T, J, 3]`` (or ``[..., J, 3]``) from the virtual camera back to the
    camera, for rotations ``[..., 3, 3]`` from :func:`to_virtual_camera`."""
    pts = np.asarray(points_virtual, dtype=np.float64)
    rot = np.asarray(rotation, dtype=np.float64)
    extra = pts.ndim - 1 - (rot.ndim - 2)  # point axes beyond the rotation's batch axes
    rot = rot.reshape(rot.shape[:-2] + (1,) * (extra - 1) + (3, 3)) if extra > 1 else rot
    # X_camera = R^T X_virtual, i.e. row vectors times R.
    return pts @ rot


def camera_up(rotation: np.ndarray) -> np.ndarray:
    """The image's up direction (the camera's ``-y``) seen by the virtual camera
    ``rotation [..., 3, 3]``: ``[..., 3]`` unit vectors, ``(0, -1, 0)`` for a camera that
    already looks at the person. Where the camera is held level, this is the world's up."""
    return -np.asarray(rotation, dtype=np.float64)[..., :, 1]
