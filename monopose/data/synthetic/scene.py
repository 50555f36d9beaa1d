"""Random scenes around a posed body: cameras, lights, skin and clothing colours, backgrounds.

Everything here is plain numpy and draws from a ``numpy.random.Generator`` passed in, so a
sample is a pure function of its generator's seed.

* **Cameras** (:func:`place_camera`, :func:`random_camera`): like the mocap sampler's virtual
  cameras (:mod:`monopose.data.sampler`): a distance, height, azimuth around the person and roll;
  the focal length is then set so the whole body spans a random fraction of the image (the image
  is a person crop, as a detector would make it; the distance sets the perspective), and
  optionally increased with a shifted principal point so that the crop truncates the body.
  Camera space is OpenCV's (x right, y down, z forward, mm), world is Z up.
* **Appearance** (:func:`vertex_colors`): per-vertex albedo by body region (from the skinning
  weights of the rest body, see :class:`BodyRegions`): shirt on the torso and sleeves, trousers
  or shorts on the legs, shoes on the feet, hair on the skull, skin elsewhere, with optional
  stripes and a little per-vertex noise.
* **Lights** (:func:`random_light`): one directional light (Lambert) plus ambient light, random
  direction on the camera's side, intensity and tint.
* **Backgrounds** (:class:`BackgroundBank`, from :mod:`.backgrounds`): crops of the photographs
  bundled inside scikit-image and procedural textures.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np

from monopose.data.synthetic.backgrounds import BUNDLED_PHOTOS, BackgroundBank

__all__ = [
    "SceneConfig",
    "CameraPlacement",
    "place_camera",
    "random_camera",
    "BodyRegions",
    "body_regions",
    "vertex_colors",
    "Light",
    "random_light",
    "BackgroundBank",
    "BUNDLED_PHOTOS",
    "SKIN_TONES",
]

# sRGB skin albedos from very light to very dark (0–1).
SKIN_TONES: tuple[tuple[float, float, float], ...] = (
    (0.96, 0.80, 0.69), (0.92, 0.74, 0.62), (0.87, 0.68, 0.55), (0.80, 0.60, 0.46),
    (0.72, 0.52, 0.38), (0.62, 0.43, 0.30), (0.50, 0.34, 0.23), (0.40, 0.26, 0.18),
    (0.30, 0.20, 0.14),
)
_HAIR = ((0.08, 0.06, 0.05), (0.20, 0.13, 0.08), (0.35, 0.22, 0.12), (0.60, 0.45, 0.25),
         (0.80, 0.68, 0.45), (0.55, 0.55, 0.55), (0.35, 0.12, 0.05))
_SHOES = ((0.08, 0.08, 0.08), (0.30, 0.18, 0.10), (0.85, 0.85, 0.85), (0.15, 0.15, 0.25),
          (0.45, 0.30, 0.20))


@dataclass
class SceneConfig:
    """Ranges of the random scene (distances mm, angles degrees, fractions of the image)."""

    distance_mm: tuple[float, float] = (2500.0, 7000.0)
    height_mm: tuple[float, float] = (300.0, 2500.0)
    roll_std_deg: float = 4.0
    look_at_jitter_mm: float = 150.0
    fill: tuple[float, float] = (0.6, 0.95)  # body's larger box side / image side
    truncation_prob: float = 0.15
    truncation_zoom: tuple[float, float] = (1.3, 2.5)
    flip_prob: float = 0.5
    photo_prob: float = 0.6  # else a procedural background
    stripes_prob: float = 0.3
    short_sleeves_prob: float = 0.4
    shorts_prob: float = 0.2
    bald_prob: float = 0.15
    noise_std: tuple[float, float] = (0.0, 4.0)  # sensor noise, 8-bit levels
    jpeg_quality: int = 90
    min_joints_inside: int = 8  # a truncating crop keeps at least this many joints
    _pairs: tuple[str, ...] = field(
        default=("distance_mm", "height_mm", "fill", "truncation_zoom", "noise_std"),
        repr=False,
    )

    def __post_init__(self) -> None:
        for name in self._pairs:
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != 2 or v[0] > v[1]:
                raise ValueError(f"SceneConfig.{name}: expected (low, high), got {v}")
            setattr(self, name, v)
        if self.distance_mm[0] <= 0:
            raise ValueError(f"SceneConfig.distance_mm: expected > 0, got {self.distance_mm}")
        if not (0 < self.fill[0] and self.fill[1] <= 1.5):
            raise ValueError(f"SceneConfig.fill: expected within (0, 1.5], got {self.fill}")
        if self.truncation_zoom[0] < 1.0:
            raise ValueError("SceneConfig.truncation_zoom: expected >= 1")
        for name in ("truncation_prob", "flip_prob", "photo_prob", "stripes_prob",
                     "short_sleeves_prob", "shorts_prob", "bald_prob"):
            p = float(getattr(self, name))
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"SceneConfig.{name}: expected a probability, got {p}")
        if not 1 <= int(self.jpeg_quality) <= 100:
            raise ValueError(f"SceneConfig.jpeg_quality: expected 1..100, got {self.jpeg_quality}")


# ----------------------------------------------------------------------------------------------
# cameras


@dataclass
class CameraPlacement:
    """A pinhole camera: ``X_cam = R @ X_world + t`` (mm), ``intrinsics (fx, fy, cx, cy)`` px."""

    R: np.ndarray
    t: np.ndarray
    intrinsics: np.ndarray
    size_wh: tuple[int, int]
    truncated_crop: bool = False

    def to_camera(self, points_world_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` world mm → camera mm."""
        return np.asarray(points_world_mm) @ self.R.T + self.t

    def project(self, points_cam_mm: np.ndarray) -> np.ndarray:
        """``[..., 3]`` camera mm → ``[..., 2]`` px (no distortion)."""
        p = np.asarray(points_cam_mm, dtype=np.float64)
        fx, fy, cx, cy = self.intrinsics
        z = p[..., 2]
        return np.stack([fx * p[..., 0] / z + cx, fy * p[..., 1] / z + cy], axis=-1)


def _look_at(cam_pos: np.ndarray, target: np.ndarray, roll_rad: float) -> np.ndarray:
    """World→camera rotation (OpenCV axes) for a Z-up world."""
    fwd = target - cam_pos
    fwd = fwd / np.linalg.norm(fwd)
    right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
    n = np.linalg.norm(right)
    right = right / n if n > 1e-6 else np.array([1.0, 0.0, 0.0])
    down = np.cross(fwd, right)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    return np.stack([c * right + s * down, -s * right + c * down, fwd])


def place_camera(
    points_world_mm: np.ndarray,
    size_wh: tuple[int, int],
    distance_mm: float,
    height_mm: float,
    azimuth_deg: float,
    roll_deg: float = 0.0,
    fov_deg: float | None = 55.0,
    focal_px: float | None = None,
    fill: float | None = 0.9,
    look_at_mm: np.ndarray | None = None,
    near_mm: float = 100.0,
    fill_exact: bool = False,
) -> CameraPlacement:
    """A camera looking at a body (its points' centre unless ``look_at_mm`` is given).

    Args:
        points_world_mm: ``[N, 3]`` the body (vertices or joints), world mm, Z up.
        size_wh: Image ``(width, height)`` px.
        distance_mm: Horizontal distance from the look-at point.
        height_mm: Camera height above the floor (world z).
        azimuth_deg: Direction of the camera seen from the person (0 = world +x).
        roll_deg: Rotation about the optical axis.
        fov_deg: Field of view of the longer image side (ignored when ``focal_px`` is given).
        focal_px: Focal length (overrides ``fov_deg``).
        fill: Reduce the focal length so the body's box spans at most this fraction of the image
            (None: keep the focal length).
        fill_exact: Set the focal length so the body spans exactly ``fill`` (the image is then a
            crop around the person, as a detector's crop would be) instead of only reducing it.
        look_at_mm: ``[3]`` point at the image centre.
        near_mm: Every point must be at least this far in front of the camera.

    Raises:
        ValueError: empty image size, focal length or field of view out of range, distance ≤ 0,
            or a body that is not entirely in front of the camera.
    """
    w, h = (int(s) for s in size_wh)
    if w <= 0 or h <= 0:
        raise ValueError(f"size_wh: expected positive (width, height), got {size_wh}")
    if focal_px is not None and not focal_px > 0:
        raise ValueError(f"focal_px: expected > 0, got {focal_px}")
    if focal_px is None and (fov_deg is None or not 0 < fov_deg < 180):
        raise ValueError(f"fov_deg: expected within (0, 180), got {fov_deg}")
    if not distance_mm > 0:
        raise ValueError(f"distance_mm: expected > 0, got {distance_mm}")
    if fill is not None and not fill > 0:
        raise ValueError(f"fill: expected > 0, got {fill}")
    pts = np.asarray(points_world_mm, dtype=np.float64).reshape(-1, 3)
    if len(pts) == 0 or not np.isfinite(pts).all():
        raise ValueError("points_world_mm: expected a non-empty finite [N, 3] array")
    centre = 0.5 * (pts.min(axis=0) + pts.max(axis=0))
    target = centre if look_at_mm is None else np.asarray(look_at_mm, dtype=np.float64)
    az = np.deg2rad(azimuth_deg)
    cam_pos = np.array([target[0] + distance_mm * np.cos(az),
                        target[1] + distance_mm * np.sin(az), float(height_mm)])
    R = _look_at(cam_pos, target, np.deg2rad(roll_deg))
    t = -R @ cam_pos
    cam = pts @ R.T + t
    z = cam[:, 2]
    if z.min() < near_mm:
        raise ValueError(
            f"distance_mm={distance_mm}, height_mm={height_mm}: the body is not entirely in "
            f"front of the camera (nearest point at z = {z.min():.0f} mm < {near_mm} mm)"
        )
    if focal_px is not None:
        f = float(focal_px)
    else:
        assert fov_deg is not None  # checked above
        f = 0.5 * max(w, h) / float(np.tan(np.deg2rad(fov_deg) / 2))
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    if fill is not None:
        xn, yn = cam[:, 0] / z, cam[:, 1] / z
        # Keep the image centre on the look-at point: the half-extent is the farther side.
        ext_x = max(np.abs(xn).max(), 1e-6)
        ext_y = max(np.abs(yn).max(), 1e-6)
        f_fit = fill * min(0.5 * w / ext_x, 0.5 * h / ext_y)
        f = f_fit if fill_exact else min(f, f_fit)
    return CameraPlacement(R=R, t=t, intrinsics=np.array([f, f, cx, cy]), size_wh=(w, h))


def random_camera(rng: np.random.Generator, points_world_mm: np.ndarray,
                  size_wh: tuple[int, int], cfg: SceneConfig,
                  joints_world_mm: np.ndarray | None = None) -> CameraPlacement:
    """A random camera per ``cfg`` (see the module docstring).

    With probability ``cfg.truncation_prob`` the view is zoomed and shifted so that part of the
    body leaves the image, keeping at least ``cfg.min_joints_inside`` of ``joints_world_mm``
    inside (the shift is re-drawn a few times, else the crop is dropped).
    """
    pts = np.asarray(points_world_mm, dtype=np.float64).reshape(-1, 3)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    centre = 0.5 * (lo + hi)
    radius = 0.5 * float(np.linalg.norm(hi[:2] - lo[:2]))
    target = centre + rng.normal(0.0, cfg.look_at_jitter_mm, 3) * np.array([1.0, 1.0, 0.5])
    dist = max(rng.uniform(*cfg.distance_mm), radius + 1500.0)
    cam = place_camera(
        pts, size_wh, distance_mm=dist, height_mm=rng.uniform(*cfg.height_mm),
        azimuth_deg=rng.uniform(0.0, 360.0), roll_deg=rng.normal(0.0, cfg.roll_std_deg),
        fill=rng.uniform(*cfg.fill), look_at_mm=target,
        fill_exact=True,
    )
    if joints_world_mm is None or rng.random() >= cfg.truncation_prob:
        return cam
    w, h = cam.size_wh
    jc = cam.to_camera(joints_world_mm)
    zoom = rng.uniform(*cfg.truncation_zoom)
    for _ in range(8):
        f = cam.intrinsics[0] * zoom
        cx = cam.intrinsics[2] + rng.uniform(-0.35, 0.35) * w
        cy = cam.intrinsics[3] + rng.uniform(-0.35, 0.35) * h
        # zoom about the image centre, then shift
        cx = (cx - (w - 1) / 2.0) * zoom + (w - 1) / 2.0
        cy = (cy - (h - 1) / 2.0) * zoom + (h - 1) / 2.0
        crop = CameraPlacement(cam.R, cam.t, np.array([f, f, cx, cy]), (w, h), True)
        uv = crop.project(jc)
        inside = ((uv[:, 0] >= -0.5) & (uv[:, 0] <= w - 0.5)
                  & (uv[:, 1] >= -0.5) & (uv[:, 1] <= h - 0.5))
        if inside.sum() >= cfg.min_joints_inside and not inside.all():
            return crop
    return cam


# ----------------------------------------------------------------------------------------------
# appearance

# region codes
SKIN, HAIR, SHIRT, TROUSERS, SHOES, EYES = range(6)


@dataclass
class BodyRegions:
    """Static per-vertex labels of the body mesh (topology only, shape independent).

    Attributes:
        kind: ``[V]`` int: 0 skin (head, neck, hands), 2 torso, 3 hips and legs, 4 feet, 5 eyes,
            6 arms (the sleeve region).
        arm_t: ``[V]`` position along the arm, 0 at the shoulder, 1 at the wrist (arms only).
        leg_t: ``[V]`` position along the leg, 0 at the hip, 1 at the ankle (legs only).
        hair: ``[V]`` bool, scalp vertices.
        rest_z_m: ``[V]`` rest height (for stripes).
    """

    kind: np.ndarray
    arm_t: np.ndarray
    leg_t: np.ndarray
    hair: np.ndarray
    rest_z_m: np.ndarray


_ARM = 6


def _along(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = b - a
    return np.clip(((points - a) @ d) / float(d @ d), 0.0, 1.0)


def body_regions(bone_names: list[str], dominant_bone: np.ndarray, rest_vertices_m: np.ndarray,
                 rest_heads_m: np.ndarray) -> BodyRegions:
    """Label the vertices of the rest body (anny's A-pose, Z up, facing −y)."""
    names = np.array(bone_names)
    dom = names[dominant_bone]
    v = rest_vertices_m
    head = {n: rest_heads_m[i] for i, n in enumerate(bone_names)}
    kind = np.full(len(v), SKIN)
    def starts(prefix: str) -> np.ndarray:
        return np.char.startswith(dom, prefix)

    torso = (starts("spine") | starts("clavicle") | starts("shoulder") | (dom == "root")
             | starts("pelvis"))
    kind[torso] = SHIRT
    waist_z = head["spine04"][2] - 0.01
    legs = starts("upperleg") | starts("lowerleg")
    kind[legs | (torso & (v[:, 2] < waist_z))] = TROUSERS
    feet = starts("foot") | starts("toe")
    kind[feet] = SHOES
    arms = starts("upperarm") | starts("lowerarm")
    kind[arms] = _ARM
    kind[starts("eye")] = EYES

    arm_t = np.zeros(len(v))
    leg_t = np.zeros(len(v))
    for s in ("L", "R"):
        side = v[:, 0] > 0 if s == "L" else v[:, 0] <= 0
        m = arms & side
        arm_t[m] = _along(v[m], head[f"upperarm01.{s}"], head[f"wrist.{s}"])
        m = (legs | (kind == TROUSERS)) & side
        leg_t[m] = _along(v[m], head[f"upperleg01.{s}"], head[f"foot.{s}"])
    eye = 0.5 * (head["eye.L"] + head["eye.R"])
    is_head = dom == "head"
    # scalp: above the brow, or behind the ears down to the nape
    hair = is_head & ((v[:, 2] > eye[2] + 0.035) | ((v[:, 1] > eye[1] + 0.11)
                                                     & (v[:, 2] > eye[2] - 0.07)))
    return BodyRegions(kind=kind, arm_t=arm_t, leg_t=leg_t, hair=hair, rest_z_m=v[:, 2].copy())


def _random_cloth(rng: np.random.Generator) -> np.ndarray:
    """A clothing albedo: often muted, sometimes saturated."""
    hue = rng.random()
    sat = rng.choice([rng.uniform(0.0, 0.15), rng.uniform(0.2, 0.6), rng.uniform(0.6, 0.95)],
                     p=[0.35, 0.4, 0.25])
    val = rng.uniform(0.12, 0.95)
    return np.array(colorsys.hsv_to_rgb(hue, sat, val))


def vertex_colors(rng: np.random.Generator, regions: BodyRegions, cfg: SceneConfig) -> np.ndarray:
    """``[V, 3]`` albedo in [0, 1] for one random outfit and skin tone."""
    tones = np.asarray(SKIN_TONES)
    k = rng.uniform(0, len(tones) - 1)
    i = int(k)
    skin = tones[i] + (k - i) * (tones[min(i + 1, len(tones) - 1)] - tones[i])
    skin = np.clip(skin * rng.uniform(0.93, 1.07, 3), 0, 1)
    shirt = _random_cloth(rng)
    shirt2 = _random_cloth(rng)
    trousers = _random_cloth(rng) if rng.random() < 0.6 else np.array(
        [(0.12, 0.16, 0.30), (0.10, 0.10, 0.10), (0.55, 0.48, 0.35), (0.30, 0.32, 0.35)][
            rng.integers(4)])
    shoes = np.asarray(_SHOES[rng.integers(len(_SHOES))])
    hair = np.asarray(_HAIR[rng.integers(len(_HAIR))])

    kind = regions.kind
    col = np.tile(skin, (len(kind), 1))
    sleeve_end = rng.uniform(0.25, 0.45) if rng.random() < cfg.short_sleeves_prob else 1.01
    leg_end = rng.uniform(0.35, 0.55) if rng.random() < cfg.shorts_prob else 1.01
    shirt_mask = (kind == SHIRT) | ((kind == _ARM) & (regions.arm_t < sleeve_end))
    trouser_mask = (kind == TROUSERS) & (regions.leg_t < leg_end)
    col[shirt_mask] = shirt
    if rng.random() < cfg.stripes_prob:
        period = rng.uniform(0.03, 0.12)
        stripe = (np.floor(regions.rest_z_m / period) % 2).astype(bool)
        col[shirt_mask & stripe] = shirt2
    col[trouser_mask] = trousers
    col[kind == SHOES] = shoes
    col[kind == EYES] = np.array([0.25, 0.2, 0.18])
    if rng.random() >= cfg.bald_prob:
        col[regions.hair] = hair
    col *= rng.uniform(0.96, 1.04, (len(col), 1))  # faint per-vertex texture
    return np.clip(col, 0.0, 1.0)


@dataclass
class Light:
    """Directional light (towards the light, camera axes) with colour, plus ambient colour."""

    direction: np.ndarray
    color: np.ndarray
    ambient: np.ndarray


def random_light(rng: np.random.Generator) -> Light:
    """A key light from the camera's side (up to ~80° off the optical axis) and ambient fill."""
    theta = np.deg2rad(rng.uniform(0.0, 80.0))
    phi = rng.uniform(0.0, 2 * np.pi)
    # −z points from the scene towards the camera; y is down, so lights above have y < 0.
    d = np.array([np.sin(theta) * np.cos(phi), -abs(np.sin(theta) * np.sin(phi)) * 0.8,
                  -np.cos(theta)])
    tint = np.array([1.0, 1.0, 1.0]) + rng.normal(0.0, 0.06, 3)
    key = rng.uniform(0.55, 0.95)
    amb = rng.uniform(0.25, 0.5)
    return Light(direction=d / np.linalg.norm(d), color=np.clip(key * tint, 0, 1.2),
                 ambient=np.clip(amb * (1 + rng.normal(0.0, 0.04, 3)), 0, 1))
