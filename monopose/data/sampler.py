"""On-the-fly 2D–3D training pairs from the mocap cache through virtual cameras.

Per sample (a window of ``T`` uniformly spaced frames of one clip; ``T = 1`` uses the
de-duplicated single-frame index):

1. optional horizontal flip of the world motion (mirror x, swap left/right joints);
2. bone-length augmentation: one factor per symmetric bone group (left and right alike, both
   torso halves alike, so the derived joints stay mid-points) times a global scale, applied along
   the tree from the pelvis; constant over the window;
3. a static camera looking at the window's mean pelvis: either an H36M-like ring camera (4
   azimuths 90° apart, ~1.6 m high, ~4–5 m away, H36M-like focal length and distortion) or a
   random one (distance, height, azimuth, roll, field of view, optional distortion). The focal
   length is reduced when the person would not fit the image;
4. projection with distortion (:func:`monopose.core.camera.project_points`);
5. optional truncation (zoom in and move the principal point so part of the body leaves the
   image); every joint outside the image or too close to the camera is invalid;
6. 2D noise (``"none"``, ``"gaussian"`` or ``"detector"``: per-joint error profile relative to
   the person's size, a per-window bias, outliers and left/right swaps) and missing joints
   (random joints, a fixed number of joints, or a body part). Invalid joints are 0 in
   ``keypoints_2d_px``.

Everything is vectorised over the batch and deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from monopose.core.camera import project_points
from monopose.core.skeleton import H36M17
from monopose.data.mocap_cache import MocapCache
from monopose.data.sample import PoseBatch

__all__ = [
    "SamplerConfig",
    "MocapSampler",
    "make_eval_batch",
    "DETECTOR_JOINT_FACTORS",
    "BODY_PARTS",
    "eval_config",
]

J = H36M17.num_joints
_PARENTS = np.array(H36M17.parents)
_FLIP = H36M17.flip_permutation

# Relative 2D error of a typical detector per H36M-17 joint (1 = shoulders). Extremities and
# the head top are hardest; derived joints inherit the error of what they are made of.
DETECTOR_JOINT_FACTORS: tuple[float, ...] = (
    1.2, 1.5, 1.2, 1.6, 1.5, 1.2, 1.6, 1.2, 1.0, 1.1, 2.0, 1.0, 1.3, 1.8, 1.0, 1.3, 1.8,
)

# Bone groups scaled together: bones are identified by their child joint.
_BONE_GROUPS: tuple[tuple[int, ...], ...] = (
    (1, 4),  # hip width
    (2, 5),  # thighs
    (3, 6),  # shins
    (7, 8),  # torso (both halves: spine stays the midpoint)
    (9,),  # neck
    (10,),  # head
    (11, 14),  # shoulder width
    (12, 15),  # upper arms
    (13, 16),  # forearms
)

# Body parts for part masking (joint indices of h36m17).
BODY_PARTS: dict[str, tuple[int, ...]] = {
    "head": (9, 10),
    "left_arm": (11, 12, 13),
    "right_arm": (14, 15, 16),
    "left_forearm": (12, 13),
    "right_forearm": (15, 16),
    "left_leg": (5, 6),
    "right_leg": (2, 3),
    "lower_legs": (2, 3, 5, 6),
}

# H36M-like lens (REFERENCE §2.3, averaged): focal ≈ 1147 px on a 1000 px image ≈ 47° FOV.
_H36M_FOV_DEG = 47.1
_H36M_DIST = (-0.202, 0.240, -0.002, -0.0004, -0.0017)


@dataclass
class SamplerConfig:
    """Every knob of :class:`MocapSampler` (plain values, so a YAML file can set them).

    Distances in mm, angles in degrees, ``*_frac`` relative to the person's 2D box size (the
    longer side of the box around the ground-truth joints), probabilities in [0, 1].
    """

    sources: tuple[str, ...] | None = None  # e.g. ("cmu",) for commercial-safe training
    source_weights: dict[str, float] | None = None  # sampling weight per source (None: by size)
    stride: int = 1  # frame step inside a window (cache rate / stride = window rate)
    image_sizes: tuple[tuple[int, int], ...] = ((1000, 1000),)  # (width, height) choices
    # cameras
    ring_prob: float = 0.3
    ring_distance_mm: tuple[float, float] = (4000.0, 5000.0)
    ring_height_mm: tuple[float, float] = (1500.0, 1700.0)
    ring_azimuth_jitter_deg: float = 5.0
    distance_mm: tuple[float, float] = (2500.0, 7000.0)
    height_mm: tuple[float, float] = (300.0, 2800.0)
    roll_std_deg: float = 3.0
    fov_deg: tuple[float, float] = (40.0, 75.0)
    look_at_jitter_mm: float = 250.0
    fit_margin: float = 0.95  # the person's box spans at most this fraction of the image
    distortion_prob: float = 0.3
    k1_range: tuple[float, float] = (-0.25, 0.05)
    k2_range: tuple[float, float] = (0.0, 0.25)
    tangential_std: float = 0.001
    # body
    flip_prob: float = 0.5
    bone_scale_std: float = 0.05
    bone_asym_std: float = 0.01  # extra independent left/right difference
    global_scale_range: tuple[float, float] = (0.88, 1.12)
    # truncation
    truncation_prob: float = 0.05
    truncation_zoom: tuple[float, float] = (1.3, 2.5)
    # 2D noise
    noise: str = "detector"  # "none" | "gaussian" | "detector"
    gaussian_std_px: float = 2.0
    detector_std_frac: float = 0.012
    detector_joint_factors: tuple[float, ...] = DETECTOR_JOINT_FACTORS
    noise_level_range: tuple[float, float] = (0.5, 1.5)  # per-sample multiplier of the error
    noise_bias_frac: float = 0.5  # per-window constant part, relative to the per-frame std
    outlier_prob: float = 0.01
    outlier_std_frac: float = 0.1
    swap_prob: float = 0.003  # per left/right pair and frame
    # missing joints
    joint_drop_prob: float = 0.02  # per joint and frame
    num_missing: int = 0  # exactly this many random joints per window (on top of the above)
    part_mask_prob: float = 0.05  # one body part missing for the whole window
    min_depth_mm: float = 100.0
    min_valid_joints: int = 4  # truncation and masks keep at least this many joints per frame

    _PAIRS = ("ring_distance_mm", "ring_height_mm", "distance_mm", "height_mm", "fov_deg",
              "k1_range", "k2_range", "global_scale_range", "truncation_zoom",
              "noise_level_range")

    def __post_init__(self) -> None:
        if self.sources is not None:
            self.sources = tuple(self.sources)
        for s in self.image_sizes:
            if len(s) != 2 or min(s) <= 0:
                raise ValueError(f"SamplerConfig.image_sizes: bad (width, height) {s}")
        self.image_sizes = tuple((int(s[0]), int(s[1])) for s in self.image_sizes)
        for name in self._PAIRS:
            v = tuple(float(x) for x in getattr(self, name))
            if len(v) != 2 or v[0] > v[1]:
                raise ValueError(f"SamplerConfig.{name}: expected (low, high), got {v}")
            setattr(self, name, v)
        self.detector_joint_factors = tuple(float(x) for x in self.detector_joint_factors)
        if len(self.detector_joint_factors) != J:
            raise ValueError(f"SamplerConfig.detector_joint_factors: expected {J} values")
        if self.noise not in ("none", "gaussian", "detector"):
            raise ValueError(
                "SamplerConfig.noise: expected 'none', 'gaussian' or 'detector', "
                f"got {self.noise!r}"
            )
        if self.stride < 1:
            raise ValueError(f"SamplerConfig.stride: expected >= 1, got {self.stride}")
        if not 0 <= self.num_missing < J:
            raise ValueError(f"SamplerConfig.num_missing: expected 0..{J - 1}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> SamplerConfig:
        """Build from a mapping (e.g. a YAML section); unknown keys raise ``ValueError``."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(
                f"SamplerConfig: unknown keys {unknown}; expected some of {sorted(names)}"
            )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> SamplerConfig:
        return dataclasses.replace(self, **changes)


def eval_config(noise: str = "none", num_missing: int = 0,
                sources: Sequence[str] | None = None) -> SamplerConfig:
    """The fixed configuration of evaluation sets: no flip, no bone or truncation augmentation,
    no random dropping; a mix of ring and random cameras; the given noise and missing joints."""
    return SamplerConfig(
        sources=tuple(sources) if sources else None,
        flip_prob=0.0, bone_scale_std=0.0, bone_asym_std=0.0, global_scale_range=(1.0, 1.0),
        truncation_prob=0.0, noise=noise, noise_level_range=(1.0, 1.0),
        joint_drop_prob=0.0, part_mask_prob=0.0, num_missing=num_missing,
    )


def _uniform(rng: np.random.Generator, lohi: tuple[float, float], n: int) -> np.ndarray:
    return rng.uniform(lohi[0], lohi[1], n) if lohi[1] > lohi[0] else np.full(n, lohi[0])


def _look_at(cam_pos: np.ndarray, target: np.ndarray, roll_rad: np.ndarray) -> np.ndarray:
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


class MocapSampler:
    """Random 2D–3D pose pairs from a mocap cache.

    Args:
        cache_path: ``mocap.npz``, its folder, or a loaded :class:`MocapCache`.
        split: ``"train"``, ``"val"`` or ``"test"`` (or a list of them).
        window: Frames per sample ``T`` (uniformly spaced by ``config.stride``).
        config: Augmentation and noise settings.
        seed: Seed of the sampler's own generator (used when ``sample_batch`` gets no ``rng``).
    """

    def __init__(
        self,
        cache_path: str | Path | MocapCache,
        split: str | Sequence[str] = "train",
        window: int = 1,
        config: SamplerConfig | None = None,
        seed: int = 0,
    ) -> None:
        if window < 1:
            raise ValueError(f"window: expected >= 1, got {window}")
        self.cache = (
            cache_path if isinstance(cache_path, MocapCache) else MocapCache.load(cache_path)
        )
        self.config = config or SamplerConfig()
        self.window = int(window)
        self.split = split
        self.rng = np.random.default_rng(seed)
        clips = self.cache.select_clips(split, self.config.sources)
        self.starts = self.cache.window_starts(
            clips, self.window, self.config.stride, single_frame_index=True
        )
        if len(self.starts) == 0:
            raise ValueError(
                f"no window of {window} frames (stride {self.config.stride}) in split {split!r} "
                f"for sources {self.config.sources or 'all'}"
            )
        self._weights = self._start_weights()
        self._offsets = np.arange(self.window) * self.config.stride

    def _start_weights(self) -> np.ndarray | None:
        sw = self.config.source_weights
        if not sw:
            return None
        src = self.cache.clip_source[self.cache.frame_clip[self.starts]]
        w = np.zeros(len(self.starts))
        for name, weight in sw.items():
            m = src == name
            if m.any():
                w[m] = float(weight) / m.sum()
        if w.sum() <= 0:
            raise ValueError(f"SamplerConfig.source_weights: no weight on sources present {sw}")
        return w / w.sum()

    def __len__(self) -> int:
        """Number of distinct windows available."""
        return len(self.starts)

    # ------------------------------------------------------------------------------------------
    def sample_batch(self, batch_size: int, rng: np.random.Generator | None = None) -> PoseBatch:
        """``batch_size`` random samples (see the module docstring for the steps)."""
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        rng = self.rng if rng is None else rng
        pick = rng.choice(len(self.starts), size=batch_size, p=self._weights)
        return self.make_batch(self.starts[pick], rng)

    def make_batch(self, starts: np.ndarray, rng: np.random.Generator,
                   config: SamplerConfig | None = None) -> PoseBatch:
        """Samples for the given window start frames (global cache indices)."""
        cfg = config or self.config
        starts = np.asarray(starts, dtype=np.int64)
        b = len(starts)
        frames = starts[:, None] + self._offsets[None, :]  # [B, T]
        world = self.cache.poses_mm[frames].astype(np.float64)  # [B, T, J, 3]

        # 1. flip: mirror world x and swap sides
        flip = rng.random(b) < cfg.flip_prob
        if flip.any():
            fw = world[flip][:, :, _FLIP]
            fw[..., 0] *= -1.0
            world[flip] = fw

        # 2. bone lengths
        world = self._scale_bones(world, rng, cfg)

        # 3. cameras
        size_choice = rng.integers(len(cfg.image_sizes), size=b)
        sizes = np.asarray(cfg.image_sizes, dtype=np.float64)[size_choice]
        w, h = sizes[:, 0], sizes[:, 1]
        ring = rng.random(b) < cfg.ring_prob
        pelvis = world[:, :, 0]  # [B, T, 3]
        centre = pelvis.mean(axis=1)
        excursion = np.linalg.norm((pelvis - centre[:, None])[..., :2], axis=-1).max(axis=1)
        az = np.where(
            ring,
            np.deg2rad(45.0 + 90.0 * rng.integers(4, size=b)
                       + rng.normal(0.0, cfg.ring_azimuth_jitter_deg, b)),
            rng.uniform(0.0, 2 * np.pi, b),
        )
        dist_mm = np.where(ring, _uniform(rng, cfg.ring_distance_mm, b),
                           _uniform(rng, cfg.distance_mm, b))
        dist_mm = np.maximum(dist_mm, excursion + 1500.0)
        height = np.where(ring, _uniform(rng, cfg.ring_height_mm, b),
                          _uniform(rng, cfg.height_mm, b))
        cam_pos = np.stack([centre[:, 0] + dist_mm * np.cos(az),
                            centre[:, 1] + dist_mm * np.sin(az), height], axis=-1)
        target = centre + rng.normal(0.0, cfg.look_at_jitter_mm, (b, 3)) * np.array([1, 1, 0.5])
        roll = np.deg2rad(rng.normal(0.0, cfg.roll_std_deg, b))
        rot = _look_at(cam_pos, target, roll)  # [B, 3, 3]
        cam = np.einsum("bij,btkj->btki", rot, world - cam_pos[:, None, None, :])

        fov = np.where(ring, _H36M_FOV_DEG, _uniform(rng, cfg.fov_deg, b))
        f = 0.5 * np.maximum(w, h) / np.tan(np.deg2rad(fov) / 2.0)
        z = cam[..., 2]
        zc = np.maximum(z, cfg.min_depth_mm)
        xn, yn = cam[..., 0] / zc, cam[..., 1] / zc
        # Fit: reduce f so the whole window fits (the principal point is the image centre).
        ext_x = np.abs(xn).reshape(b, -1).max(axis=1)
        ext_y = np.abs(yn).reshape(b, -1).max(axis=1)
        f_fit = cfg.fit_margin * np.minimum(0.5 * w / np.maximum(ext_x, 1e-6),
                                            0.5 * h / np.maximum(ext_y, 1e-6))
        f = np.minimum(f, f_fit)
        f_fit_kept = f.copy()
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0

        # 5a. truncation: zoom in and shift the principal point
        trunc = rng.random(b) < cfg.truncation_prob
        if trunc.any():
            n_t = int(trunc.sum())
            zoom = _uniform(rng, cfg.truncation_zoom, n_t)
            f[trunc] *= zoom
            cx[trunc] += rng.uniform(-0.35, 0.35, n_t) * w[trunc]
            cy[trunc] += rng.uniform(-0.35, 0.35, n_t) * h[trunc]
        intr = np.stack([f, f, cx, cy], axis=-1)

        # 4. distortion and projection
        distortion = np.zeros((b, 5))
        use_d = ring | (rng.random(b) < cfg.distortion_prob)
        rand_d = np.stack([
            _uniform(rng, cfg.k1_range, b), _uniform(rng, cfg.k2_range, b), np.zeros(b),
            rng.normal(0.0, cfg.tangential_std, b), rng.normal(0.0, cfg.tangential_std, b),
        ], axis=-1)
        distortion = np.where(ring[:, None], np.asarray(_H36M_DIST)[None, :],
                              np.where(use_d[:, None], rand_d, distortion))
        cam_safe = cam.copy()
        cam_safe[..., 2] = zc
        gt2d = project_points(cam_safe, intr[:, None, :], distortion[:, None, :])

        # 5b. validity: in front of the camera and inside the image
        valid = self._inside(gt2d, z, xn, yn, w, h, cfg.min_depth_mm)
        # Strong barrel distortion folds far points back into the image: distrust them.
        # A truncation that leaves too little of the body in some frame is undone.
        undo = trunc & (valid.sum(axis=-1).min(axis=-1) < cfg.min_valid_joints)
        if undo.any():
            intr[undo] = np.stack([f_fit_kept[undo], f_fit_kept[undo],
                                   (w[undo] - 1) / 2.0, (h[undo] - 1) / 2.0], axis=-1)
            gt2d[undo] = project_points(cam_safe[undo], intr[undo][:, None, :],
                                        distortion[undo][:, None, :])
            valid[undo] = self._inside(gt2d[undo], z[undo], xn[undo], yn[undo],
                                       w[undo], h[undo], cfg.min_depth_mm)

        # 6. noise and missing joints
        kp = self._add_noise(gt2d, valid, rng, cfg)
        masked = valid & ~self._missing_mask(b, self.window, rng, cfg)
        # Masks never leave a frame with fewer than min_valid_joints (unless it had fewer).
        too_few = masked.sum(axis=-1).min(axis=-1) < cfg.min_valid_joints
        valid = np.where(too_few[:, None, None], valid, masked)
        kp = np.where(valid[..., None], kp, 0.0)

        clip = self.cache.frame_clip[starts]
        ids = [
            f"{self.cache.clip_source[c]}/{self.cache.clip_name[c]}/{self.cache.clip_action[c]}/"
            f"{int(self.cache.frame_index[s])}"
            for c, s in zip(clip, starts, strict=True)
        ]
        return PoseBatch(
            keypoints_2d_px=kp.astype(np.float32),
            keypoints_2d_gt_px=gt2d.astype(np.float32),
            valid_2d=valid,
            pose_3d_cam_mm=cam.astype(np.float32),
            intrinsics=intr.astype(np.float32),
            image_size_px=sizes.astype(np.float32),
            ids=ids,
            dist=distortion.astype(np.float32),
            licence=[str(self.cache.clip_source[c]) for c in clip],
        )

    # ------------------------------------------------------------------------------------------
    @staticmethod
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

    @staticmethod
    def _scale_bones(world: np.ndarray, rng: np.random.Generator, cfg: SamplerConfig
                     ) -> np.ndarray:
        b = world.shape[0]
        lo, hi = cfg.global_scale_range
        if cfg.bone_scale_std <= 0 and cfg.bone_asym_std <= 0 and lo == hi == 1.0:
            return world
        scale = np.ones((b, J))
        for group in _BONE_GROUPS:
            s = 1.0 + rng.normal(0.0, cfg.bone_scale_std, b)
            for j in group:
                scale[:, j] = s
        # independent left/right differences (not for the torso pair)
        scale[:, [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]] += rng.normal(
            0.0, cfg.bone_asym_std, (b, 12))
        scale = np.clip(scale, 0.7, 1.3) * _uniform(rng, cfg.global_scale_range, b)[:, None]
        out = np.empty_like(world)
        out[:, :, 0] = world[:, :, 0]
        for j in range(1, J):  # parents come before children in h36m17
            p = _PARENTS[j]
            bone = world[:, :, j] - world[:, :, p]
            out[:, :, j] = out[:, :, p] + scale[:, j, None, None] * bone
        # Keep the feet on the floor: the lowest ankle of the window stays at its height × scale.
        g = scale.mean(axis=1)
        low_before = world[:, :, [3, 6], 2].min(axis=(1, 2))
        low_after = out[:, :, [3, 6], 2].min(axis=(1, 2))
        out[..., 2] += (low_before * g - low_after)[:, None, None]
        return out

    @staticmethod
    def _add_noise(gt2d: np.ndarray, valid: np.ndarray, rng: np.random.Generator,
                   cfg: SamplerConfig) -> np.ndarray:
        if cfg.noise == "none":
            return gt2d.copy()
        b, t = gt2d.shape[:2]
        if cfg.noise == "gaussian":
            return gt2d + rng.normal(0.0, cfg.gaussian_std_px, gt2d.shape)
        # detector: errors scale with the person's 2D size
        v = valid[..., None]
        span = (np.where(v, gt2d, -np.inf).max(axis=2)
                - np.where(v, gt2d, np.inf).min(axis=2))  # [B, T, 2]; -inf if none valid
        size = np.maximum(span.max(axis=-1), 20.0)  # [B, T]
        level = _uniform(rng, cfg.noise_level_range, b)[:, None, None]
        std = (cfg.detector_std_frac * size[..., None] * level
               * np.asarray(cfg.detector_joint_factors)[None, None, :])  # [B, T, J]
        noise = rng.normal(0.0, 1.0, gt2d.shape) * std[..., None]
        bias = rng.normal(0.0, 1.0, (b, 1, J, 2)) * (cfg.noise_bias_frac * std[..., None])
        kp = gt2d + noise + bias
        outl = rng.random((b, t, J)) < cfg.outlier_prob
        if outl.any():
            jump = rng.normal(0.0, 1.0, gt2d.shape) * (cfg.outlier_std_frac * size[..., None, None])
            kp = np.where(outl[..., None], kp + jump, kp)
        if cfg.swap_prob > 0:
            left, right = np.array(H36M17.left), np.array(H36M17.right)
            sw = rng.random((b, t, len(left))) < cfg.swap_prob
            if sw.any():
                kl, kr = kp[:, :, left].copy(), kp[:, :, right].copy()
                kp[:, :, left] = np.where(sw[..., None], kr, kl)
                kp[:, :, right] = np.where(sw[..., None], kl, kr)
        return kp

    @staticmethod
    def _missing_mask(b: int, t: int, rng: np.random.Generator, cfg: SamplerConfig
                      ) -> np.ndarray:
        """``[B, T, J]`` True where a joint is reported missing (occluded or undetected)."""
        miss = rng.random((b, t, J)) < cfg.joint_drop_prob
        if cfg.num_missing > 0:
            # exactly num_missing distinct joints per sample, the same in every frame
            order = np.argsort(rng.random((b, J)), axis=1)[:, : cfg.num_missing]
            fixed = np.zeros((b, J), dtype=bool)
            np.put_along_axis(fixed, order, True, axis=1)
            miss |= fixed[:, None, :]
        if cfg.part_mask_prob > 0:
            parts = list(BODY_PARTS.values())
            part_mask = np.zeros((len(parts), J), dtype=bool)
            for k, joints in enumerate(parts):
                part_mask[k, list(joints)] = True
            use = rng.random(b) < cfg.part_mask_prob
            which = rng.integers(len(parts), size=b)
            miss |= (part_mask[which] & use[:, None])[:, None, :]
        return miss


def make_eval_batch(
    cache: str | Path | MocapCache,
    split: str = "test",
    n: int = 2048,
    window: int = 1,
    noise: str = "none",
    num_missing: int = 0,
    seed: int = 0,
    sources: Sequence[str] | None = None,
    stride: int = 1,
) -> PoseBatch:
    """A fixed evaluation set: the same inputs for every model given the same arguments.

    Windows are spread evenly over the split (every ``len/n``-th window, the de-duplicated index
    for ``window == 1``), cameras and noise come from ``seed``, with :func:`eval_config`.

    Args:
        cache: Mocap cache (path or loaded).
        split: ``"train"``, ``"val"`` or ``"test"``.
        n: Number of samples (fewer if the split has fewer windows).
        window: Frames per sample.
        noise: ``"none"``, ``"gaussian"`` or ``"detector"``.
        num_missing: Joints missing per sample (the same joints over the window).
        seed: Seed of cameras, noise and masks.
        sources: Restrict to these sources (e.g. ``("cmu",)``).
        stride: Frame step inside a window.
    """
    if n < 1:
        raise ValueError(f"n: expected >= 1, got {n}")
    cfg = eval_config(noise, num_missing, sources).replace(stride=stride)
    sampler = MocapSampler(cache, split, window, cfg, seed=seed)
    m = len(sampler.starts)
    pick = np.unique(np.linspace(0, m - 1, num=min(n, m)).round().astype(np.int64))
    return sampler.make_batch(sampler.starts[pick], np.random.default_rng(seed))
