"""Where is up, and where is the floor? A world frame from the people themselves.

A camera looking down on a street sees upright walkers tilted in camera space. The people tell
us the way up and the floor:

* **Bodies, by posture**: a standing person's trunk (pelvis → thorax) and legs (ankle → hip)
  point up; of anyone else (sitting, bending, on the floor) only the trunk says anything, and
  less surely. Each person is one piece of evidence, its weight set by its posture.
* **Cameras are held nearly level**: photos rarely roll about the optical axis and mostly
  look near the horizon. This prior is what a lone sitter, bender or floor sitter is weighed
  against: their legs do not point up, and their trunk is often far from it
  (:func:`up_from_bodies`; BENCHMARKS.md, "World up").
* **Feet over time**: the lower ankle of every person in every frame lies a few centimetres
  above the floor. With enough spread (several people, or people walking), a plane fitted to
  those points gives up as its normal, more precisely than the bodies, and the floor's height.

Or up is given (``--world-up``, in camera coordinates, like MeTRAbs' ``world_up_vector``) and only
the floor is estimated.

The world frame (:class:`WorldFrame`) has y up, the origin on the floor below the camera, x along
the camera's right projected onto the floor, z = x × y (towards the camera's back):
``p_world = R_world_from_cam @ p_cam + t_world_mm``. Pure numpy; poses are ``[..., 17, 3]`` mm
in OpenCV camera space (x right, y down, z forward), layout ``h36m17``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monopose.core.virtual_camera import IMAGE_UP

__all__ = ["ANKLE_HEIGHT_MM", "WorldFrame", "body_up_evidence", "estimate_world_frame",
           "floor_from_feet", "roll_pitch_deg", "standing", "up_from_bodies"]

# Height of the ankle joint above the sole (Human3.6M's ankle is at the malleolus).
ANKLE_HEIGHT_MM = 80.0
# A plane is trusted when enough feet lie more than half this far off the feet's main line.
MIN_FLOOR_SPREAD_MM = 400.0
# Feet further than this from the median floor height are not on the floor (steps, chairs,
# jumps, bad 3D).
FLOOR_INLIER_MM = 150.0
# A fitted floor normal further than this from the bodies' up is not trusted (sloped crowd,
# people on stairs, bad 3D).
MAX_FLOOR_TILT_DEG = 25.0
# People further than this from the running estimate are outliers (bad 3D, someone lying).
_OUTLIER_DEG = 35.0
# Evidence further than this from a level camera is not used (a trunk lying flat says nothing).
_MAX_EVIDENCE_DEG = 60.0
# Standing: both legs (ankle → hip) within this of the trunk and stretched to this share of
# thigh + shin.
STANDING_MAX_LEG_DEG = 30.0
STANDING_MIN_LEG_STRETCH = 0.9
# Spread (degrees, of roll and of pitch) of one person's evidence about up, as measured with
# the default lifter on held-out renders (BENCHMARKS.md, "World up"): a standing person's trunk
# and legs (pitch, along the depth the lifter guesses, spreads more than roll), anyone else's
# trunk.
STANDING_UP_SIGMA_DEG = (3.0, 5.0)
OTHER_UP_SIGMA_DEG = (15.0, 15.0)
# The level-camera prior: roll and pitch about 0, with these spreads (the training sampler's
# cameras as drawn for photos, docs/sampler.md: roll σ 3°, level kinds ±10° of pitch).
CAMERA_ROLL_SIGMA_DEG = 4.0
CAMERA_PITCH_SIGMA_DEG = 10.0

_PELVIS, _R_HIP, _R_KNEE, _R_ANKLE, _L_HIP, _L_KNEE, _L_ANKLE, _THORAX = 0, 1, 2, 3, 4, 5, 6, 8
_LEGS = ((_R_HIP, _R_KNEE, _R_ANKLE), (_L_HIP, _L_KNEE, _L_ANKLE))
_CAMERA_UP = np.array(IMAGE_UP)  # OpenCV y points down


@dataclass(frozen=True)
class WorldFrame:
    """A world frame with y up and the floor at y = 0.

    Attributes:
        up_cam: ``[3]`` unit vector, the world's up in camera coordinates.
        camera_height_mm: Height of the camera centre above the floor.
        R_world_from_cam: ``[3, 3]`` rotation.
        t_world_mm: ``[3]`` translation (``p_world = R @ p_cam + t``).
        up_source: ``"given"``, ``"floor"`` (plane of the feet) or ``"bodies"`` (upright
            bodies); ``"camera"`` when nothing could be estimated (the camera is assumed level).
        floor_source: ``"feet"`` or ``"none"`` (no foot seen: the floor is put 1.6 m below the
            camera).
        num_poses: How many poses the estimate used.
    """

    up_cam: np.ndarray
    camera_height_mm: float
    R_world_from_cam: np.ndarray
    t_world_mm: np.ndarray
    up_source: str
    floor_source: str
    num_poses: int

    def to_world(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` camera-space mm → world mm (y up, floor at 0)."""
        return np.asarray(points_cam_mm, dtype=np.float64) @ self.R_world_from_cam.T + \
            self.t_world_mm

    @property
    def tilt_deg(self) -> float:
        """Angle between the camera's own up (-y) and the world's up: the camera's pitch/roll."""
        return float(np.degrees(np.arccos(np.clip(self.up_cam @ _CAMERA_UP, -1.0, 1.0))))

    def to_json(self) -> dict:
        return {
            "up_camera": np.round(self.up_cam, 5).tolist(),
            "camera_height_mm": round(self.camera_height_mm, 1),
            "R_world_from_camera": np.round(self.R_world_from_cam, 6).tolist(),
            "t_world_mm": np.round(self.t_world_mm, 1).tolist(),
            "up_source": self.up_source,
            "floor_source": self.floor_source,
            "num_poses": self.num_poses,
        }


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def roll_pitch_deg(up_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The camera's roll (about the optical axis) and pitch (looking down > 0), degrees, that
    up ``[..., 3]`` in camera coordinates says."""
    u = _unit(up_cam)
    roll = np.degrees(np.arctan2(u[..., 0], -u[..., 1]))
    return roll, np.degrees(np.arcsin(np.clip(-u[..., 2], -1.0, 1.0)))


def _up_from_roll_pitch(roll_deg: float, pitch_deg: float) -> np.ndarray:
    r, p = np.radians(roll_deg), np.radians(pitch_deg)
    return np.array([np.sin(r) * np.cos(p), -np.cos(r) * np.cos(p), -np.sin(p)])


def _angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(np.sum(_unit(a) * _unit(b), axis=-1), -1.0, 1.0)))


def standing(poses_cam_mm: np.ndarray) -> np.ndarray:
    """``[N]`` bool: both legs stretched and along the trunk (a standing or walking person).

    Args:
        poses_cam_mm: ``[N, 17, 3]`` poses (only directions and bone ratios count).
    """
    p = np.asarray(poses_cam_mm, dtype=np.float64).reshape(-1, 17, 3)
    trunk = _unit(p[:, _THORAX] - p[:, _PELVIS])
    out = np.ones(len(p), bool)
    for hip, knee, ankle in _LEGS:
        leg = p[:, hip] - p[:, ankle]
        bones = np.linalg.norm(p[:, hip] - p[:, knee], axis=-1) \
            + np.linalg.norm(p[:, knee] - p[:, ankle], axis=-1)
        stretch = np.linalg.norm(leg, axis=-1) / np.where(bones > 0, bones, np.inf)
        along = np.sum(_unit(leg) * trunk, axis=-1) > np.cos(np.radians(STANDING_MAX_LEG_DEG))
        out &= along & (stretch > STANDING_MIN_LEG_STRETCH)
    return out


def body_up_evidence(poses_cam_mm: np.ndarray, person_ids: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """What the people say about up: one direction and spread per person.

    A standing pose gives its trunk + legs (:data:`STANDING_UP_SIGMA_DEG`), any other its trunk
    (:data:`OTHER_UP_SIGMA_DEG`). The poses of one person (a video's track) are averaged,
    weighted by their precision, into one piece of evidence: frames of one person share its
    lean, so more of them do not make it surer.

    Args:
        poses_cam_mm: ``[N, 17, 3]`` poses (non-finite ones are skipped).
        person_ids: ``[N]`` int, the person of each pose (-1: a person of its own); default:
            every pose is a person.

    Returns:
        ``(directions [P, 3] unit, sigma_deg [P, 2])``: the spread of roll and of pitch,
        P ≥ 0.
    """
    p = np.asarray(poses_cam_mm, dtype=np.float64).reshape(-1, 17, 3)
    ids = np.arange(len(p)) if person_ids is None else np.asarray(person_ids).reshape(-1)
    ids = np.where(ids < 0, -1 - np.arange(len(p)), ids)  # -1 → a person of its own
    trunk = p[:, _THORAX] - p[:, _PELVIS]
    legs = sum(_unit(p[:, hip] - p[:, ankle]) for hip, _, ankle in _LEGS)
    stand = standing(p)
    direction = np.where(stand[:, None], _unit(trunk) + legs, _unit(trunk))
    ok = np.isfinite(direction).all(axis=1) & (np.linalg.norm(trunk, axis=1) > 100.0)
    weight = np.where(stand[:, None], np.array(STANDING_UP_SIGMA_DEG),
                      np.array(OTHER_UP_SIGMA_DEG)) ** -2.0  # [N, 2]
    directions, sigmas = [], []
    for person in np.unique(ids[ok]):
        mine = ok & (ids == person)
        w = weight[mine].mean(axis=1, keepdims=True)
        directions.append(_unit((w * _unit(direction[mine])).sum(axis=0)))
        sigmas.append(weight[mine].mean(axis=0) ** -0.5)
    return np.reshape(directions, (-1, 3)), np.reshape(sigmas, (-1, 2))


def up_from_bodies(poses_cam_mm: np.ndarray, person_ids: np.ndarray | None = None
                   ) -> np.ndarray | None:
    """Up in camera coordinates from the people and a level-camera prior, or None without any
    usable pose.

    Roll and pitch are each the precision-weighted mean of the people's
    (:func:`body_up_evidence`) and the prior's (0 ± :data:`CAMERA_ROLL_SIGMA_DEG`,
    0 ± :data:`CAMERA_PITCH_SIGMA_DEG`). Evidence over :data:`_MAX_EVIDENCE_DEG` from level
    is dropped, then people over :data:`_OUTLIER_DEG` from the estimate, twice. So one standing
    person moves up most of the way to their body, a crowd all the way, and a lone floor sitter
    little.

    Args:
        poses_cam_mm: ``[N, 17, 3]`` poses (absolute or root-relative; only directions count).
        person_ids: ``[N]`` the person of each pose (see :func:`body_up_evidence`).

    Returns:
        ``[3]`` unit vector.
    """
    directions, sigma_deg = body_up_evidence(poses_cam_mm, person_ids)
    if len(directions) == 0:
        return None
    roll, pitch = roll_pitch_deg(directions)
    keep = _angle_deg(directions, _CAMERA_UP) <= _MAX_EVIDENCE_DEG
    up = _CAMERA_UP.astype(np.float64)
    for _ in range(3):
        w_roll, w_pitch = np.where(keep[:, None], sigma_deg ** -2.0, 0.0).T
        up = _up_from_roll_pitch(
            float((w_roll * roll).sum() / (w_roll.sum() + CAMERA_ROLL_SIGMA_DEG ** -2.0)),
            float((w_pitch * pitch).sum() / (w_pitch.sum() + CAMERA_PITCH_SIGMA_DEG ** -2.0)))
        near = keep & (_angle_deg(directions, up) <= _OUTLIER_DEG)
        if near.sum() == 0 or (near == keep).all():
            break
        keep = near
    return up


def _foot_points(poses_abs_mm: np.ndarray, up_cam: np.ndarray) -> np.ndarray:
    """The lower ankle (along ``up_cam``) of every finite pose: ``[M, 3]`` mm."""
    ankles = poses_abs_mm[:, [_R_ANKLE, _L_ANKLE]]  # [N, 2, 3]
    ok = np.isfinite(ankles).all(axis=(1, 2))
    ankles = ankles[ok]
    lower = np.argmin(ankles @ up_cam, axis=1)
    return ankles[np.arange(len(ankles)), lower]


def floor_from_feet(foot_points_mm: np.ndarray, up_cam: np.ndarray, fit_plane: bool = True
                    ) -> tuple[np.ndarray, float, bool]:
    """Fit the floor to the feet.

    Args:
        foot_points_mm: ``[M, 3]`` lower-ankle positions in camera space.
        up_cam: ``[3]`` the up estimate the plane must roughly agree with.
        fit_plane: False keeps ``up_cam`` (a given up) and only finds the floor's height.

    Returns:
        ``(up, camera_height_mm, plane_used)``: the plane's normal when the feet spread enough
        and it agrees with ``up_cam`` (else ``up_cam``), and the camera's height above the floor
        (the feet's median height along up, less the ankle's height above the sole).
    """
    up = up_cam
    used = False
    for _ in range(2):  # fit on the feet near the floor, then again with the fitted normal
        heights = foot_points_mm @ up
        near = np.abs(heights - np.median(heights)) < FLOOR_INLIER_MM
        if not fit_plane or near.sum() < 3:
            break
        centred = foot_points_mm[near] - foot_points_mm[near].mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        # Enough feet well off the feet's main line: people in a row span no floor.
        off_line = int((np.abs(centred @ vt[1]) > MIN_FLOOR_SPREAD_MM / 2).sum())
        normal = vt[2] if vt[2] @ up_cam > 0 else -vt[2]
        agree = normal @ up_cam > np.cos(np.radians(MAX_FLOOR_TILT_DEG))
        if off_line < max(3, 0.2 * near.sum()) or not agree:
            break
        up, used = normal, True
    heights = foot_points_mm @ up  # negative: the feet are below the camera
    return up, float(-np.median(heights) + ANKLE_HEIGHT_MM), used


def _frame(up_cam: np.ndarray, camera_height_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """``(R_world_from_cam, t_world_mm)`` for y = up, x = the camera's right on the floor."""
    y = _unit(up_cam)
    x = np.array([1.0, 0.0, 0.0]) - y[0] * y
    if np.linalg.norm(x) < 1e-6:  # looking straight up or down along x: use the optical axis
        x = np.array([0.0, 0.0, 1.0]) - y[2] * y
    x = _unit(x)
    z = np.cross(x, y)
    rotation = np.stack([x, y, z])
    return rotation, np.array([0.0, camera_height_mm, 0.0])


def estimate_world_frame(poses_abs_mm: np.ndarray, up_cam: np.ndarray | None = None,
                         person_ids: np.ndarray | None = None) -> WorldFrame:
    """A world frame (y up, floor at 0) from every person's absolute pose.

    Args:
        poses_abs_mm: ``[N, 17, 3]`` absolute camera-space poses of every person in every frame
            (non-finite poses are skipped).
        up_cam: ``[3]`` up in camera coordinates if known (normalised here); else estimated
            (:func:`up_from_bodies`).
        person_ids: ``[N]`` the person of each pose (a video's track ids; -1 or None: each
            pose a person of its own).

    Returns:
        The :class:`WorldFrame`; with no usable pose and no ``up_cam``, the camera is taken as
        level and 1.6 m above the floor.

    Raises:
        ValueError: on a wrong shape or a zero/non-finite ``up_cam``.
    """
    poses = np.asarray(poses_abs_mm, dtype=np.float64)
    if poses.ndim != 3 or poses.shape[1:] != (17, 3):
        raise ValueError(f"poses_abs_mm: expected [N, 17, 3], got {poses.shape}")
    finite = np.isfinite(poses).all(axis=(1, 2))
    poses = poses[finite]
    ids = None if person_ids is None else np.asarray(person_ids).reshape(-1)[finite]
    if up_cam is not None:
        given = np.asarray(up_cam, dtype=np.float64).reshape(-1)
        if given.shape != (3,) or not np.isfinite(given).all() or np.linalg.norm(given) == 0:
            raise ValueError(f"up_cam (--world-up): expected 3 finite numbers, not all zero, "
                             f"got {up_cam!r}")
        up, up_source = _unit(given), "given"
    else:
        bodies = up_from_bodies(poses, ids) if len(poses) else None
        up, up_source = (bodies, "bodies") if bodies is not None else (_CAMERA_UP, "camera")
    if len(poses) == 0:
        rotation, t = _frame(up, 1600.0)
        return WorldFrame(up, 1600.0, rotation, t, up_source, "none", 0)
    feet = _foot_points(poses, up)
    up, height, plane = floor_from_feet(feet, up, fit_plane=up_source == "bodies")
    if plane:
        up_source = "floor"
    rotation, t = _frame(up, height)
    return WorldFrame(up, height, rotation, t, up_source, "feet", len(poses))
