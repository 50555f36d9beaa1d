"""Where people walk in a synthetic multi-person video (geometry only, no body model).

A video has one static camera and 2–5 people, each driven by a window of consecutive frames of
one mocap clip (:class:`~monopose.data.mocap_cache.MocapCache`, 30 fps, subsampled by
:attr:`VideoConfig.stride`). Walking clips are turned so that their net motion runs across the
view (at :attr:`VideoConfig.cross_angle_deg` at most from the image plane), at a random depth,
and shifted in time so that they pass the middle of the view at a random frame: people enter and
leave the picture and pass in front of each other. A share of people
(:attr:`VideoConfig.static_prob`) comes from clips that stay on the spot and stands somewhere in
view.

World frame: Z up, floor ``z = 0``, mm; the camera stands at ``(0, 0, height)`` and looks along
``+x`` (image right is world ``-y``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.mocap_cache import MocapCache
from monopose.data.synthetic.scene import CameraPlacement, place_camera

__all__ = ["VideoConfig", "PersonPath", "VideoPlan", "plan_video", "walking_clips", "rot_z"]

_FLIP = np.asarray(H36M17.flip_permutation)
_PELVIS = 0


@dataclass
class VideoConfig:
    """Ranges of the random video (mm, degrees, frames)."""

    people: tuple[int, int] = (2, 5)  # people per video (inclusive)
    num_frames: int = 90
    stride: int = 2  # mocap frames (30 fps) per video frame: 2 → 15 fps
    fov_deg: tuple[float, float] = (50.0, 70.0)  # of the longer image side
    camera_height_mm: tuple[float, float] = (1200.0, 2200.0)
    look_distance_mm: tuple[float, float] = (4000.0, 6000.0)
    look_at_height_mm: tuple[float, float] = (700.0, 1100.0)
    roll_std_deg: float = 2.0
    depth_mm: tuple[float, float] = (2500.0, 8000.0)  # of a path's crossing point
    cross_prob: float = 0.6  # a walker crosses the view behind/in front of someone placed
    cross_angle_deg: float = 30.0  # walk direction vs. the image plane, at most
    static_prob: float = 0.2  # people standing on the spot
    walk_speed_mm_s: tuple[float, float] = (500.0, 2200.0)  # net speed of a walking clip
    min_separation_mm: float = 600.0  # between pelvises at every frame
    min_frames_in_view: int = 10  # frames with >= 8 joints inside the image
    flip_prob: float = 0.5
    max_tries: int = 60  # per person

    def __post_init__(self) -> None:
        lo, hi = (int(x) for x in self.people)
        if not 1 <= lo <= hi:
            raise ValueError(f"VideoConfig.people: expected 1 <= low <= high, got {lo, hi}")
        self.people = (lo, hi)
        if self.num_frames < 2 or self.stride < 1:
            raise ValueError("VideoConfig: num_frames >= 2 and stride >= 1 expected")
        for name in ("fov_deg", "camera_height_mm", "look_distance_mm", "look_at_height_mm",
                     "depth_mm", "walk_speed_mm_s"):
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != 2 or v[0] > v[1]:
                raise ValueError(f"VideoConfig.{name}: expected (low, high), got {v}")
            setattr(self, name, v)

    @property
    def fps(self) -> float:
        """Video frame rate (the mocap cache stores 30 fps)."""
        return 30.0 / self.stride


@dataclass
class PersonPath:
    """One person's motion in the video.

    Attributes:
        poses_mm: ``[T, 17, 3]`` mocap poses (mirrored if ``flipped``), as in the cache.
        yaw_rad: Turn about the vertical axis applied to the whole clip.
        floor_xy_mm: ``[T, 2]`` world pelvis floor position per frame.
        clip: Clip index in the cache. start: First cache frame (global index).
        flipped: Mirrored left/right. walking: Drawn as a walker (else standing on the spot).
    """

    poses_mm: np.ndarray
    yaw_rad: float
    floor_xy_mm: np.ndarray
    clip: int
    start: int
    flipped: bool
    walking: bool

    def joints_world_mm(self) -> np.ndarray:
        """``[T, 17, 3]`` approximate world joints (mocap proportions, not the body's)."""
        rel = self.poses_mm - np.concatenate(
            [self.poses_mm[:, _PELVIS:_PELVIS + 1, :2], np.zeros((len(self.poses_mm), 1, 1))], -1)
        out = rel @ rot_z(self.yaw_rad).T
        out[..., :2] += self.floor_xy_mm[:, None]
        return out


@dataclass
class VideoPlan:
    """A camera and the people's paths. ``camera`` is static for the whole video."""

    camera: CameraPlacement
    people: list[PersonPath]
    fps: float


def rot_z(angle_rad: float) -> np.ndarray:
    """``[3, 3]`` rotation about world Z."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def walking_clips(cache: MocapCache, cfg: VideoConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(walking, static)`` clip indices long enough for a video: net pelvis speed within
    ``cfg.walk_speed_mm_s``, or below 150 mm/s."""
    span = (cfg.num_frames - 1) * cfg.stride + 1
    walk, static = [], []
    for k in range(len(cache.clip_start)):
        s, n = int(cache.clip_start[k]), int(cache.clip_length[k])
        if n < span:
            continue
        p = cache.poses_mm[s:s + n, _PELVIS, :2]
        speed = float(np.linalg.norm(p[-1] - p[0])) / (n / 30.0)
        if cfg.walk_speed_mm_s[0] <= speed <= cfg.walk_speed_mm_s[1]:
            walk.append(k)
        elif speed < 150.0:
            static.append(k)
    return np.asarray(walk, dtype=np.int64), np.asarray(static, dtype=np.int64)


def _camera(rng: np.random.Generator, size_wh: tuple[int, int], cfg: VideoConfig
            ) -> CameraPlacement:
    w, h = size_wh
    f = 0.5 * max(w, h) / float(np.tan(np.deg2rad(rng.uniform(*cfg.fov_deg)) / 2))
    dist = rng.uniform(*cfg.look_distance_mm)
    target = np.array([dist, 0.0, rng.uniform(*cfg.look_at_height_mm)])
    return place_camera(target[None], (w, h), distance_mm=dist,
                        height_mm=rng.uniform(*cfg.camera_height_mm), azimuth_deg=180.0,
                        roll_deg=rng.normal(0.0, cfg.roll_std_deg), focal_px=f, fill=None,
                        look_at_mm=target, near_mm=1.0)


def _draw_path(rng: np.random.Generator, cache: MocapCache, clip: int, walking: bool,
               cam: CameraPlacement, cfg: VideoConfig, others: list[PersonPath]) -> PersonPath:
    """One person's path; a walker crosses the view at a random frame ``t_c``, with probability
    ``cfg.cross_prob`` exactly in line (seen from the camera) with someone already placed."""
    span = (cfg.num_frames - 1) * cfg.stride + 1
    s, n = int(cache.clip_start[clip]), int(cache.clip_length[clip])
    start = s + int(rng.integers(0, n - span + 1))
    poses = cache.poses_mm[start:start + span:cfg.stride].astype(np.float64)
    flipped = bool(rng.random() < cfg.flip_prob)
    if flipped:
        poses = poses[:, _FLIP] * np.array([-1.0, 1.0, 1.0])
    pelvis = poses[:, _PELVIS, :2]
    depth = rng.uniform(*cfg.depth_mm)
    half_width = depth * 0.5 * cam.size_wh[0] / float(cam.intrinsics[0])
    if walking:
        u = pelvis[-1] - pelvis[0]
        side = 1.0 if rng.random() < 0.5 else -1.0
        beta = np.deg2rad(rng.uniform(-cfg.cross_angle_deg, cfg.cross_angle_deg))
        yaw = float(np.arctan2(side * np.cos(beta), np.sin(beta)) - np.arctan2(u[1], u[0]))
        t_c = int(rng.integers(int(0.05 * cfg.num_frames), int(0.95 * cfg.num_frames)))
        anchor = np.array([depth, rng.uniform(-0.5, 0.5) * half_width])
        if others and rng.random() < cfg.cross_prob:
            xy = others[int(rng.integers(len(others)))].floor_xy_mm[t_c]
            anchor[1] = xy[1] * depth / max(float(xy[0]), 1.0)  # same bearing
    else:
        yaw = float(rng.uniform(0.0, 2 * np.pi))
        t_c = 0
        anchor = np.array([depth, rng.uniform(-0.8, 0.8) * half_width])
    floor = (pelvis - pelvis[t_c]) @ rot_z(yaw)[:2, :2].T + anchor
    return PersonPath(poses.astype(np.float32), yaw, floor, int(clip), start, flipped, walking)


def _acceptable(path: PersonPath, others: list[PersonPath], cam: CameraPlacement,
                cfg: VideoConfig) -> bool:
    joints = cam.to_camera(path.joints_world_mm())  # [T, 17, 3]
    if joints[..., 2].min() < 800.0:
        return False
    kp = cam.project(joints)
    w, h = cam.size_wh
    inside = (kp[..., 0] >= 0) & (kp[..., 0] < w) & (kp[..., 1] >= 0) & (kp[..., 1] < h)
    if int((inside.sum(-1) >= 8).sum()) < cfg.min_frames_in_view:
        return False
    return all(np.linalg.norm(path.floor_xy_mm - o.floor_xy_mm, axis=-1).min()
               >= cfg.min_separation_mm for o in others)


def plan_video(rng: np.random.Generator, cache: MocapCache, walking: np.ndarray,
               static: np.ndarray, size_wh: tuple[int, int], cfg: VideoConfig) -> VideoPlan:
    """Draw a camera and 2–5 people's paths (see the module docstring).

    A person that cannot be placed in ``cfg.max_tries`` draws is left out; the video is redrawn
    until at least ``cfg.people[0]`` people are placed.

    Raises:
        ValueError: no walking clip. RuntimeError: no acceptable video in 20 draws.
    """
    if len(walking) == 0:
        raise ValueError("walking: no mocap clip walks at the configured speed for long enough")
    for _ in range(20):
        cam = _camera(rng, size_wh, cfg)
        wanted = int(rng.integers(cfg.people[0], cfg.people[1] + 1))
        people: list[PersonPath] = []
        for _ in range(wanted):
            for _ in range(cfg.max_tries):
                is_walker = len(static) == 0 or rng.random() >= cfg.static_prob
                pool = walking if is_walker else static
                path = _draw_path(rng, cache, int(rng.choice(pool)), is_walker, cam, cfg,
                                  people)
                if _acceptable(path, people, cam, cfg):
                    people.append(path)
                    break
        if len(people) >= cfg.people[0]:
            return VideoPlan(camera=cam, people=people, fps=cfg.fps)
    raise RuntimeError(f"no video with {cfg.people[0]} placeable people in 20 draws")
