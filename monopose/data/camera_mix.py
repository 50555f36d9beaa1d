"""Static virtual cameras as in real photos and videos: a mixture of camera kinds.

Kinds (:data:`CAMERA_KINDS`); each has a probability in
:class:`~monopose.data.sampler.SamplerConfig` (see :func:`camera_kind_probs`):

* ``ring``: Human3.6M-like, 4 azimuths 90° apart, ~1.6 m high, 4–5 m away, H36M lens and
  distortion, looking at the window's mean pelvis (what the benchmark datasets look like);
* ``random``: any azimuth, height 0.3–2.8 m, 2.5–7 m away, looking at the pelvis
  ± ``look_at_jitter_mm``;
* ``eye`` / ``chest``: a handheld camera at eye (1.5–1.8 m) or chest (1.1–1.4 m) height held
  nearly level (pitch uniform in ``level_pitch_deg``, ±10°), so the person is often off-centre
  vertically; a near person makes it tilt just enough to keep the body within
  :data:`LEVEL_MAX_OFF_AXIS_DEG` of the axis;
* ``low``: on a table or the ground (0.2–0.8 m), looking slightly up (``low_pitch_deg``);
* ``high``: surveillance-like, 2.5–6 m high, 3–15 m away, aimed at a random height of the body
  and looking down 20–50°.

``eye``, ``chest`` and ``low`` draw the horizontal distance log-normally (median 3.5 m, clipped
to 1.5–12 m, so most of the mass is at 2–6 m); ``eye``, ``chest``, ``low`` and ``high`` draw
the field of view from ``photo_fov_deg`` (30–90°, telephoto phones to action cams).

People off the optical axis: every kind but ``ring`` turns by a random yaw (and, for ``random``
and ``high``, pitch) so that its aim point lands anywhere within ``aim_offset_frac`` of the
half-width and half-height from the image centre (uniform); the pitch of ``high`` is then
limited smoothly to its range. :func:`project_views` reduces the focal length when the person
would not fit (around the image centre), which keeps an off-centre person off-centre, touching
the margin instead of leaving the image.

Angles: ``pitch`` is the look-down angle of the optical axis (positive: looking down), degrees.
The world is Z-up in mm with the floor at z = 0; camera axes are OpenCV's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from monopose.core.camera import project_points

if TYPE_CHECKING:
    from monopose.data.sampler_config import SamplerConfig

__all__ = ["CAMERA_KINDS", "CameraDraw", "Views", "camera_kind_probs", "draw_cameras",
           "project_views", "fit_focal_px", "look_at", "draw_uniform", "H36M_FOV_DEG",
           "H36M_DIST", "LEVEL_MAX_OFF_AXIS_DEG", "LEGACY_CAMERAS"]

CAMERA_KINDS: tuple[str, ...] = ("ring", "random", "eye", "chest", "low", "high")
RING, RANDOM, EYE, CHEST, LOW, HIGH = range(len(CAMERA_KINDS))

# H36M-like lens (REFERENCE §2.3, averaged): focal ≈ 1147 px on a 1000 px image ≈ 47° FOV.
H36M_FOV_DEG = 47.1
H36M_DIST = (-0.202, 0.240, -0.002, -0.0004, -0.0017)

# Level cameras (eye, chest, low) tilt toward a near body only as far as needed to keep it
# within this angle of the axis vertically (a 90° field of view then still holds it).
LEVEL_MAX_OFF_AXIS_DEG = 40.0

# The earlier cameras (ring or random, aimed at the pelvis): SamplerConfig fields.
LEGACY_CAMERAS: dict[str, float] = dict(
    ring_prob=0.3, random_camera_prob=1.0, eye_level_prob=0.0, chest_level_prob=0.0,
    low_angle_prob=0.0, high_angle_prob=0.0, aim_offset_frac=0.0,
)

# Config fields holding the weight of each kind but ring (ring_prob is absolute).
_WEIGHT_FIELDS: dict[str, str] = {
    "random": "random_camera_prob", "eye": "eye_level_prob", "chest": "chest_level_prob",
    "low": "low_angle_prob", "high": "high_angle_prob",
}


def camera_kind_probs(cfg: SamplerConfig) -> dict[str, float]:
    """Probability of every camera kind.

    ``ring_prob`` is absolute (as it always was); the other kinds share ``1 - ring_prob`` in
    proportion to their ``*_prob`` fields, which are their probabilities as written when they
    add up to ``1 - ring_prob`` (the defaults do).
    """
    weights = {k: float(getattr(cfg, f)) for k, f in _WEIGHT_FIELDS.items()}
    total = sum(weights.values())
    rest = 1.0 - float(cfg.ring_prob)
    if rest > 0 and total <= 0:
        raise ValueError("SamplerConfig: ring_prob < 1 needs a positive probability on some "
                         f"other camera kind ({', '.join(_WEIGHT_FIELDS.values())})")
    probs = {"ring": float(cfg.ring_prob)}
    probs.update({k: rest * w / total if total > 0 else 0.0 for k, w in weights.items()})
    return probs


@dataclass
class CameraDraw:
    """One static camera per sample.

    Attributes:
        kind: ``[B]`` index into :data:`CAMERA_KINDS`.
        position_mm: ``[B, 3]`` camera centre in the world.
        rotation: ``[B, 3, 3]`` world→camera (OpenCV axes).
        fov_deg: ``[B]`` field of view across the longer image side, before any fit.
        turned: ``[B]`` the camera was turned away from its target (an aim offset, a drawn or
            a limited pitch), so the person may sit anywhere in the image.
    """

    kind: np.ndarray
    position_mm: np.ndarray
    rotation: np.ndarray
    fov_deg: np.ndarray
    turned: np.ndarray

    @property
    def ring(self) -> np.ndarray:
        return self.kind == RING

    @property
    def pitch_deg(self) -> np.ndarray:
        """``[B]`` look-down angle of the optical axis (positive: looking down)."""
        return np.rad2deg(np.arcsin(np.clip(-self.rotation[:, 2, 2], -1.0, 1.0)))


def draw_uniform(rng: np.random.Generator, lohi: tuple[float, float], n: int) -> np.ndarray:
    """``[n]`` uniform draws in ``lohi``; no draw when the range is a single value."""
    return rng.uniform(lohi[0], lohi[1], n) if lohi[1] > lohi[0] else np.full(n, lohi[0])


def look_at(cam_pos: np.ndarray, target: np.ndarray, roll_rad: np.ndarray) -> np.ndarray:
    """World→camera rotations ``[B, 3, 3]`` (OpenCV axes) for a Z-up world."""
    fwd = target - cam_pos
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    up = np.array([0.0, 0.0, 1.0])
    right = np.cross(fwd, up)
    norm = np.linalg.norm(right, axis=-1, keepdims=True)
    # Looking straight down/up: any horizontal right vector will do.
    right = np.where(norm > 1e-6, right / np.maximum(norm, 1e-12), np.array([1.0, 0.0, 0.0]))
    down = np.cross(fwd, right)
    c, s = np.cos(roll_rad)[:, None], np.sin(roll_rad)[:, None]
    right_r = c * right + s * down
    down_r = -s * right + c * down
    return np.stack([right_r, down_r, fwd], axis=1)


def _squash(x: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> np.ndarray:
    """Smooth limit of ``x`` to ``(lo, hi)``: about the identity near the middle, no pile-up
    at the limits as a clip would make."""
    mid, half = 0.5 * (lo + hi), np.maximum(0.5 * (hi - lo), 1e-9)
    return mid + half * np.tanh((x - mid) / half)


def _kind_cumulative(cfg: SamplerConfig) -> np.ndarray:
    """Cumulative kind probabilities; the last kind with mass absorbs rounding."""
    p = camera_kind_probs(cfg)
    cum = np.cumsum([p[k] for k in CAMERA_KINDS])
    last = max(i for i, k in enumerate(CAMERA_KINDS) if p[k] > 0)
    cum[last:] = np.inf
    return cum


def draw_cameras(cfg: SamplerConfig, rng: np.random.Generator, world_mm: np.ndarray,
                 image_wh: np.ndarray) -> CameraDraw:
    """Cameras for a batch of windows.

    Args:
        cfg: Sampler settings (camera kinds, ranges, aim offsets).
        rng: Generator. The ring and random kinds draw in the same order as before the other
            kinds existed, and extra draws happen only when needed, so configurations with only
            those two kinds and no aim offset (the fixed evaluation sets) are unchanged.
        world_mm: ``[B, T, J, 3]`` world poses (Z up, floor at 0), joint 0 the pelvis.
        image_wh: ``[B, 2]`` image (width, height) in px.
    """
    b = int(world_mm.shape[0])
    w, h = image_wh[:, 0], image_wh[:, 1]
    kind = np.searchsorted(_kind_cumulative(cfg), rng.random(b), side="right")
    ring = kind == RING
    photo = kind >= EYE
    pelvis = world_mm[:, :, 0]  # [B, T, 3]
    centre = pelvis.mean(axis=1)
    excursion = np.linalg.norm((pelvis - centre[:, None])[..., :2], axis=-1).max(axis=1)
    z = world_mm[..., 2].mean(axis=1)  # [B, J] joint heights over the window
    z_lo, z_hi = z.min(axis=1), z.max(axis=1)

    az = np.where(
        ring,
        np.deg2rad(45.0 + 90.0 * rng.integers(4, size=b)
                   + rng.normal(0.0, cfg.ring_azimuth_jitter_deg, b)),
        rng.uniform(0.0, 2 * np.pi, b),
    )
    dist_mm = np.where(ring, draw_uniform(rng, cfg.ring_distance_mm, b),
                       draw_uniform(rng, cfg.distance_mm, b))  # horizontal
    height_mm = np.where(ring, draw_uniform(rng, cfg.ring_height_mm, b),
                         draw_uniform(rng, cfg.height_mm, b))
    target = centre + rng.normal(0.0, cfg.look_at_jitter_mm, (b, 3)) * np.array([1, 1, 0.5])
    roll = np.deg2rad(rng.normal(0.0, cfg.roll_std_deg, b))
    fov = np.where(ring, H36M_FOV_DEG, draw_uniform(rng, cfg.fov_deg, b))
    level_pitch = np.zeros(b)  # eye, chest, low: drawn look-down angle, degrees

    if photo.any():
        dist_mm, height_mm, target, fov, level_pitch = _place_photo_cameras(
            cfg, rng, kind, centre, z_lo, z_hi, dist_mm, height_mm, target, fov)

    dist_mm = np.maximum(dist_mm, excursion + 1500.0)
    cam_pos = np.stack([centre[:, 0] + dist_mm * np.cos(az),
                        centre[:, 1] + dist_mm * np.sin(az), height_mm], axis=-1)

    offset = np.zeros((b, 2))  # aim point in the image, fraction of the half-width / -height
    if cfg.aim_offset_frac > 0 and not ring.all():
        offset = rng.uniform(-cfg.aim_offset_frac, cfg.aim_offset_frac, (b, 2))
        offset[ring] = 0.0
    turn = photo | (offset != 0).any(axis=1)
    if turn.any():
        fwd = _turned_axis(cfg, kind, target - cam_pos, offset, fov, w, h,
                           (level_pitch, height_mm, dist_mm, z_lo, z_hi))
        target = np.where(turn[:, None], cam_pos + 1000.0 * fwd, target)
    rot = look_at(cam_pos, target, roll)
    return CameraDraw(kind=kind, position_mm=cam_pos, rotation=rot, fov_deg=fov, turned=turn)


def _place_photo_cameras(
    cfg: SamplerConfig, rng: np.random.Generator, kind: np.ndarray, centre: np.ndarray,
    z_lo: np.ndarray, z_hi: np.ndarray, dist_mm: np.ndarray, height_mm: np.ndarray,
    target: np.ndarray, fov: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distance, height, target and field of view of the eye, chest, low and high cameras
    (the other samples keep the values passed in), and the drawn pitch of the level ones.

    Shapes: ``kind, z_lo, z_hi, dist_mm, height_mm, fov [B]``, ``centre, target [B, 3]`` (mm,
    degrees). Returns ``(dist_mm, height_mm, target, fov, level_pitch)``.
    """
    b = len(kind)
    photo = kind >= EYE
    log_d = rng.normal(np.log(cfg.photo_distance_median_mm), cfg.photo_distance_log_std, b)
    d_photo = np.clip(np.exp(log_d), *cfg.photo_distance_mm)
    kind_height = np.select(
        [kind == EYE, kind == CHEST, kind == LOW],
        [draw_uniform(rng, cfg.eye_height_mm, b), draw_uniform(rng, cfg.chest_height_mm, b),
         draw_uniform(rng, cfg.low_height_mm, b)],
        draw_uniform(rng, cfg.high_height_mm, b),
    )
    level_pitch = np.where(kind == LOW, draw_uniform(rng, cfg.low_pitch_deg, b),
                           draw_uniform(rng, cfg.level_pitch_deg, b))
    # High cameras aim at a random height of the body; the distance follows from the height
    # and a wanted look-down angle, with the slant distance kept within high_distance_mm.
    aim_z = z_lo + rng.random(b) * (z_hi - z_lo)
    drop = np.maximum(kind_height - aim_z, 100.0)
    slant = np.clip(drop / np.sin(np.deg2rad(draw_uniform(rng, cfg.high_pitch_deg, b))),
                    *cfg.high_distance_mm)
    d_high = np.sqrt(np.maximum(slant**2 - drop**2, 0.0))
    dist_mm = np.where(photo, np.where(kind == HIGH, d_high, d_photo), dist_mm)
    height_mm = np.where(photo, kind_height, height_mm)
    target = np.where(photo[:, None], np.stack([centre[:, 0], centre[:, 1], aim_z], -1),
                      target)
    fov = np.where(photo, draw_uniform(rng, cfg.photo_fov_deg, b), fov)
    return dist_mm, height_mm, target, fov, level_pitch


def _turned_axis(
    cfg: SamplerConfig, kind: np.ndarray, d: np.ndarray, offset: np.ndarray, fov: np.ndarray,
    w: np.ndarray, h: np.ndarray,
    level: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Unit optical axes ``[B, 3]`` of cameras turned so the target ``d = target - position``
    ``[B, 3]`` (mm) lands at ``offset [B, 2]`` (fraction of the half-width / -height); high
    cameras' pitch is limited to its range and level ones use :func:`_fit_level_pitch`, whose
    arguments ``(pitch_deg, height_mm, dist_mm, z_lo_mm, z_hi_mm)`` are ``level``."""
    photo = kind >= EYE
    yaw = np.arctan2(d[:, 1], d[:, 0])
    down = -np.rad2deg(np.arctan2(d[:, 2], np.hypot(d[:, 0], d[:, 1])))
    # normalised image coordinate per px at the drawn field of view
    per_px = np.tan(np.deg2rad(fov) / 2.0) / np.maximum(w, h)
    yaw = yaw + np.arctan(offset[:, 0] * w * per_px)
    down = down - np.rad2deg(np.arctan(offset[:, 1] * h * per_px))
    down = np.where(kind == HIGH, _squash(down, *cfg.high_pitch_deg), down)
    is_level = photo & (kind != HIGH)
    down = np.where(is_level, _fit_level_pitch(*level), down)
    up = -np.deg2rad(down)
    return np.stack([np.cos(up) * np.cos(yaw), np.cos(up) * np.sin(yaw), np.sin(up)], -1)


def fit_focal_px(x_norm: np.ndarray, y_norm: np.ndarray, width_px: np.ndarray,
                 height_px: np.ndarray, margin: float) -> np.ndarray:
    """Largest focal length ``[B]`` (px) at which the points ``x_norm, y_norm [B, ...]``
    (normalised image coordinates) span at most ``margin`` of the image around its centre."""
    b = len(width_px)
    ext_x = np.abs(x_norm).reshape(b, -1).max(axis=1)
    ext_y = np.abs(y_norm).reshape(b, -1).max(axis=1)
    return margin * np.minimum(0.5 * width_px / np.maximum(ext_x, 1e-6),
                               0.5 * height_px / np.maximum(ext_y, 1e-6))


def _fit_level_pitch(pitch_deg: np.ndarray, height_mm: np.ndarray, dist_mm: np.ndarray,
                     z_lo_mm: np.ndarray, z_hi_mm: np.ndarray) -> np.ndarray:
    """Tilt a level camera toward the body just enough that the body's lowest and highest
    points stay within :data:`LEVEL_MAX_OFF_AXIS_DEG` of the axis (vertically), so a near
    person does not need a field of view far beyond the drawn one. All ``[B]``."""
    below_lo = np.rad2deg(np.arctan2(height_mm - z_lo_mm, dist_mm))  # look-down to the feet
    below_hi = np.rad2deg(np.arctan2(height_mm - z_hi_mm, dist_mm))  # ... to the head
    lo = below_lo - LEVEL_MAX_OFF_AXIS_DEG
    hi = np.maximum(below_hi + LEVEL_MAX_OFF_AXIS_DEG, lo)
    return np.clip(pitch_deg, lo, hi)


@dataclass
class Views:
    """What each camera sees.

    Attributes:
        pose_cam_mm: ``[B, T, J, 3]`` camera-space 3D.
        keypoints_px: ``[B, T, J, 2]`` projections with the lens distortion.
        valid: ``[B, T, J]`` in front of the camera and inside the image.
        intrinsics: ``[B, 4]`` ``(fx, fy, cx, cy)`` px.
        dist: ``[B, 5]`` ``(k1, k2, k3, p1, p2)``.
    """

    pose_cam_mm: np.ndarray
    keypoints_px: np.ndarray
    valid: np.ndarray
    intrinsics: np.ndarray
    dist: np.ndarray


def project_views(cfg: SamplerConfig, rng: np.random.Generator, cams: CameraDraw,
                  world_mm: np.ndarray, image_wh: np.ndarray) -> Views:
    """Fit, truncation, lens distortion and projection of ``world_mm [B, T, J, 3]``.

    The focal length of the drawn field of view is reduced when the window would not fit the
    ``image_wh [B, 2]`` image around its centre. Truncation (``truncation_prob``) then zooms in
    and moves the principal point so part of the body leaves the image; it is undone when fewer
    than ``min_valid_joints`` stay in some frame.
    """
    b = int(world_mm.shape[0])
    w, h = image_wh[:, 0], image_wh[:, 1]
    ring = cams.ring
    cam = np.einsum("bij,btkj->btki", cams.rotation, world_mm - cams.position_mm[:, None, None])
    f = 0.5 * np.maximum(w, h) / np.tan(np.deg2rad(cams.fov_deg) / 2.0)
    z = cam[..., 2]
    zc = np.maximum(z, cfg.min_depth_mm)
    xn, yn = cam[..., 0] / zc, cam[..., 1] / zc
    # Fit: reduce f so the whole window fits (the principal point is the image centre).
    f = np.minimum(f, fit_focal_px(xn, yn, w, h, cfg.fit_margin))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0

    # truncation: zoom in and shift the principal point
    zoom = np.ones(b)
    trunc = rng.random(b) < cfg.truncation_prob
    if trunc.any():
        n_t = int(trunc.sum())
        zoom[trunc] = draw_uniform(rng, cfg.truncation_zoom, n_t)
        cx[trunc] += rng.uniform(-0.35, 0.35, n_t) * w[trunc]
        cy[trunc] += rng.uniform(-0.35, 0.35, n_t) * h[trunc]

    # distortion and projection
    use_d = ring | (rng.random(b) < cfg.distortion_prob)
    rand_d = np.stack([
        draw_uniform(rng, cfg.k1_range, b), draw_uniform(rng, cfg.k2_range, b), np.zeros(b),
        rng.normal(0.0, cfg.tangential_std, b), rng.normal(0.0, cfg.tangential_std, b),
    ], axis=-1)
    distortion = np.where(ring[:, None], np.asarray(H36M_DIST)[None, :],
                          np.where(use_d[:, None], rand_d, 0.0))
    cam_safe = cam.copy()
    cam_safe[..., 2] = zc
    # An off-centre person sits where the lens distortion is strongest: fit the distorted
    # image too (centred cameras keep the plain fit, so the evaluation sets stay the same).
    refit = cams.turned & use_d
    if refit.any():
        xy_d = project_points(cam_safe[refit], np.array([1.0, 1.0, 0.0, 0.0]),
                              distortion[refit][:, None, :])
        f[refit] = np.minimum(f[refit], fit_focal_px(xy_d[..., 0], xy_d[..., 1], w[refit],
                                                     h[refit], cfg.fit_margin))
    f_fit = f.copy()
    f = f * zoom
    intr = np.stack([f, f, cx, cy], axis=-1)
    gt2d = project_points(cam_safe, intr[:, None, :], distortion[:, None, :])

    # validity: in front of the camera and inside the image; a truncation that leaves too
    # little of the body in some frame is undone
    valid = _inside(gt2d, z, xn, yn, w, h, cfg.min_depth_mm)
    undo = trunc & (valid.sum(axis=-1).min(axis=-1) < cfg.min_valid_joints)
    if undo.any():
        intr[undo] = np.stack([f_fit[undo], f_fit[undo],
                               (w[undo] - 1) / 2.0, (h[undo] - 1) / 2.0], axis=-1)
        gt2d[undo] = project_points(cam_safe[undo], intr[undo][:, None, :],
                                    distortion[undo][:, None, :])
        valid[undo] = _inside(gt2d[undo], z[undo], xn[undo], yn[undo], w[undo], h[undo],
                              cfg.min_depth_mm)
    return Views(pose_cam_mm=cam, keypoints_px=gt2d, valid=valid, intrinsics=intr,
                 dist=distortion)


def _inside(gt2d: np.ndarray, z: np.ndarray, xn: np.ndarray, yn: np.ndarray, w: np.ndarray,
            h: np.ndarray, min_depth_mm: float) -> np.ndarray:
    """Joints in front of the camera, inside the image, and not folded back by strong barrel
    distortion (normalised coordinates beyond ±1.5)."""
    return (
        (z > min_depth_mm)
        & (gt2d[..., 0] >= -0.5) & (gt2d[..., 0] <= w[:, None, None] - 0.5)
        & (gt2d[..., 1] >= -0.5) & (gt2d[..., 1] <= h[:, None, None] - 0.5)
        & (np.abs(xn) < 1.5) & (np.abs(yn) < 1.5)
    )
