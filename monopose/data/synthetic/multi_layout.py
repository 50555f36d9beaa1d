"""Geometry of a random multi-person scene: camera, floor positions and headings of the people.

Plain numpy, no body model needed; see :mod:`monopose.data.synthetic.multi` for the scene rules.
World is Z up with the floor at ``z = 0``, mm; camera space is OpenCV's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from monopose.data.synthetic.scene import CameraPlacement, SceneConfig, place_camera

__all__ = ["MultiSceneConfig", "SceneLayout", "sample_layout", "place_on_floor", "joints_inside",
           "PELVIS"]

PELVIS = 0  # h36m17 index


@dataclass
class MultiSceneConfig:
    """Ranges of the random multi-person scene (mm, degrees).

    ``distance_mm`` is the horizontal distance from the camera to a pelvis, so a person off the
    optical axis has a smaller camera-space depth. Of ``appearance`` only the appearance fields
    are used (mirroring, clothes, skin, background, sensor noise, JPEG quality); its camera
    fields are ignored.
    """

    people: tuple[int, int] = (2, 4)  # people drawn per scene (inclusive)
    distance_mm: tuple[float, float] = (2500.0, 9000.0)  # horizontal, camera → pelvis
    fov_deg: tuple[float, float] = (45.0, 70.0)  # of the longer image side
    camera_height_mm: tuple[float, float] = (500.0, 2200.0)
    look_at_height_mm: tuple[float, float] = (600.0, 1300.0)
    look_at_jitter_mm: float = 300.0
    roll_std_deg: float = 3.0
    bearing_spread: float = 1.0  # bearings within ± this × half the horizontal field of view
    min_separation_mm: float = 800.0  # between pelvis floor positions
    min_joints_kept: int = 6
    min_joints_counted: int = 8
    min_people: int = 2
    max_attempts: int = 200
    appearance: SceneConfig = field(default_factory=SceneConfig)

    def __post_init__(self) -> None:
        for name in ("distance_mm", "fov_deg", "camera_height_mm", "look_at_height_mm"):
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != 2 or v[0] > v[1]:
                raise ValueError(f"MultiSceneConfig.{name}: expected (low, high), got {v}")
            setattr(self, name, v)
        lo, hi = (int(x) for x in self.people)
        if not 1 <= lo <= hi:
            raise ValueError(f"MultiSceneConfig.people: expected 1 <= low <= high, got {lo, hi}")
        self.people = (lo, hi)
        if not (0 < self.fov_deg[0] and self.fov_deg[1] < 180):
            raise ValueError(f"MultiSceneConfig.fov_deg: expected within (0, 180), got "
                             f"{self.fov_deg}")
        if self.distance_mm[0] <= 0:
            raise ValueError(f"MultiSceneConfig.distance_mm: expected > 0, got "
                             f"{self.distance_mm}")
        if not 1 <= self.min_people <= hi:
            raise ValueError(f"MultiSceneConfig.min_people: expected 1..{hi} (people[1]), got "
                             f"{self.min_people}")
        if not 0 <= self.min_joints_kept <= self.min_joints_counted <= 17:
            raise ValueError("MultiSceneConfig.min_joints_kept/min_joints_counted: expected "
                             "0 <= kept <= counted <= 17")
        if self.min_separation_mm < 0 or self.bearing_spread <= 0 or self.max_attempts < 1:
            raise ValueError("MultiSceneConfig: min_separation_mm >= 0, bearing_spread > 0 and "
                             "max_attempts >= 1 expected")


@dataclass
class SceneLayout:
    """Where the camera and the people are.

    Attributes:
        camera: The camera (world Z up, floor ``z = 0``, mm).
        positions_mm: ``[K, 2]`` pelvis floor positions (world x, y).
        yaws_rad: ``[K]`` heading of each person about the vertical axis.
    """

    camera: CameraPlacement
    positions_mm: np.ndarray
    yaws_rad: np.ndarray


def sample_layout(rng: np.random.Generator, num_people: int, size_wh: tuple[int, int],
                  cfg: MultiSceneConfig) -> SceneLayout:
    """Draw a camera and up to ``num_people`` floor positions (see the module docstring).

    The camera stands at world ``(0, 0, height)``. A position that cannot be placed at least
    ``cfg.min_separation_mm`` from the others in 50 tries is dropped, so fewer people may come
    back.

    Raises:
        ValueError: ``num_people`` < 1 or an empty ``size_wh``.
    """
    if num_people < 1:
        raise ValueError(f"num_people: expected >= 1, got {num_people}")
    w, h = (int(s) for s in size_wh)
    if w <= 0 or h <= 0:
        raise ValueError(f"size_wh: expected positive (width, height), got {size_wh}")
    f = 0.5 * max(w, h) / float(np.tan(np.deg2rad(rng.uniform(*cfg.fov_deg)) / 2))
    half_hfov = float(np.arctan(0.5 * w / f))
    heading = rng.uniform(0.0, 2 * np.pi)
    cam_height = rng.uniform(*cfg.camera_height_mm)
    positions: list[np.ndarray] = []
    for _ in range(num_people):
        for _ in range(50):
            d = rng.uniform(*cfg.distance_mm)
            bearing = heading + rng.uniform(-1.0, 1.0) * cfg.bearing_spread * half_hfov
            p = d * np.array([np.cos(bearing), np.sin(bearing)])
            if all(np.linalg.norm(p - q) >= cfg.min_separation_mm for q in positions):
                positions.append(p)
                break
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 2)
    yaws = rng.uniform(0.0, 2 * np.pi, len(pos))
    centre = pos.mean(axis=0) + rng.normal(0.0, cfg.look_at_jitter_mm, 2)
    target = np.array([centre[0], centre[1], rng.uniform(*cfg.look_at_height_mm)])
    dist = max(float(np.linalg.norm(centre)), 1.0)
    azimuth = float(np.degrees(np.arctan2(-centre[1], -centre[0])))  # target → camera
    cam = place_camera(target[None], (w, h), distance_mm=dist, height_mm=cam_height,
                       azimuth_deg=azimuth, roll_deg=rng.normal(0.0, cfg.roll_std_deg),
                       focal_px=f, fill=None, look_at_mm=target, near_mm=1.0)
    return SceneLayout(camera=cam, positions_mm=pos, yaws_rad=yaws)


def place_on_floor(vertices_mm: np.ndarray, joints_mm: np.ndarray, yaw_rad: float,
                    floor_xy_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move a posed body so its pelvis is above ``floor_xy_mm``, its lowest vertex on ``z = 0``,
    turned by ``yaw_rad`` about the vertical axis."""
    offset = np.array([joints_mm[PELVIS, 0], joints_mm[PELVIS, 1], vertices_mm[:, 2].min()])
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    shift = np.array([floor_xy_mm[0], floor_xy_mm[1], 0.0])
    return (vertices_mm - offset) @ rz.T + shift, (joints_mm - offset) @ rz.T + shift


def joints_inside(kp_px: np.ndarray, z_mm: np.ndarray, size_wh: tuple[int, int]) -> np.ndarray:
    """``[..., J]`` bool: projections ``kp_px [..., J, 2]`` inside the image and ``z_mm > 0``."""
    w, h = size_wh
    return ((kp_px[..., 0] >= -0.5) & (kp_px[..., 0] <= w - 0.5) & (kp_px[..., 1] >= -0.5)
            & (kp_px[..., 1] <= h - 0.5) & (z_mm > 0))
