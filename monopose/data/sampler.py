"""On-the-fly 2D–3D training pairs from the mocap cache through virtual cameras.

Per sample (a window of ``T`` uniformly spaced frames of one clip; ``T = 1`` uses the
de-duplicated single-frame index):

1. optional horizontal flip of the world motion (mirror x, swap left/right joints);
2. bone-length augmentation: one factor per symmetric bone group (left and right alike, both
   torso halves alike, so the derived joints keep their place) times a global scale, applied
   along the tree from the pelvis; constant over the window. The global scale is a mixture of
   adults (``global_scale_range``) and children/teens (``child_prob``, ``child_scale_range``),
   whose heads are relatively larger and legs shorter (:data:`CHILD_EXPONENTS`);
3. a static camera from a mixture of kinds as in real photos and videos
   (:mod:`monopose.data.camera_mix`: H36M-like ring, random, eye and chest level, low, high),
   aimed so that the person lands anywhere in the image, not only at its centre. The focal
   length is reduced when the person would not fit the image;
4. projection with distortion (:func:`monopose.data.camera_mix.project_views`); the focal
   length is also fitted to the distorted image of people turned off-centre;
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

from monopose.core.skeleton import H36M17
from monopose.data.camera_mix import (
    CAMERA_KINDS,
    LEGACY_CAMERAS,
    camera_kind_probs,
    draw_cameras,
    draw_uniform,
    project_views,
)
from monopose.data.mocap_cache import MocapCache
from monopose.data.sample import PoseBatch

__all__ = [
    "SamplerConfig",
    "MocapSampler",
    "make_eval_batch",
    "DETECTOR_JOINT_FACTORS",
    "BODY_PARTS",
    "eval_config",
    "SampleInfo",
    "CHILD_EXPONENTS",
    "NOMINAL_STATURE_MM",
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

# Children's proportions: below the top of child_scale_range a bone group scales by
# top · (g / top) ** exponent instead of g, so the head stays relatively large and the legs get
# relatively short (sitting height ≈ 57 % of stature at 4 years vs 52 % in adults). The
# exponents, weighted by the H36M bone lengths of the head-top-to-ankle chain, average 1: the
# stature still follows g. By bone group, in the order of _BONE_GROUPS.
CHILD_EXPONENTS: tuple[float, ...] = (1.0, 1.2, 1.2, 0.85, 0.8, 0.3, 1.0, 1.0, 1.0)

# Stature of the mocap skeleton (H36M proportions, head top over the floor): global scale 1.
NOMINAL_STATURE_MM = 1700.0

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
    # camera kinds (monopose.data.camera_mix): ring_prob is absolute, the other kinds share the
    # rest in proportion to their *_prob (as written when they add up to 1 - ring_prob)
    ring_prob: float = 0.2  # H36M-like ring (the benchmark datasets)
    random_camera_prob: float = 0.15  # the generic random camera below
    eye_level_prob: float = 0.25  # handheld at eye height, nearly level
    chest_level_prob: float = 0.2  # handheld at chest height, nearly level
    low_angle_prob: float = 0.1  # 0.2–0.8 m high, looking slightly up
    high_angle_prob: float = 0.1  # surveillance-like, looking down 20–50°
    # ring
    ring_distance_mm: tuple[float, float] = (4000.0, 5000.0)
    ring_height_mm: tuple[float, float] = (1500.0, 1700.0)
    ring_azimuth_jitter_deg: float = 5.0
    # random kind (distance horizontal, height over the floor)
    distance_mm: tuple[float, float] = (2500.0, 7000.0)
    height_mm: tuple[float, float] = (300.0, 2800.0)
    fov_deg: tuple[float, float] = (40.0, 75.0)
    look_at_jitter_mm: float = 250.0
    # eye, chest, low and high kinds (pitch: look-down angle, negative looks up)
    eye_height_mm: tuple[float, float] = (1500.0, 1800.0)
    chest_height_mm: tuple[float, float] = (1100.0, 1400.0)
    low_height_mm: tuple[float, float] = (200.0, 800.0)
    high_height_mm: tuple[float, float] = (2500.0, 6000.0)
    level_pitch_deg: tuple[float, float] = (-10.0, 10.0)  # eye and chest
    low_pitch_deg: tuple[float, float] = (-20.0, 0.0)
    high_pitch_deg: tuple[float, float] = (20.0, 50.0)
    photo_distance_mm: tuple[float, float] = (1500.0, 12000.0)  # eye, chest, low: clip range
    photo_distance_median_mm: float = 3500.0  # log-normal horizontal distance
    photo_distance_log_std: float = 0.45
    high_distance_mm: tuple[float, float] = (3000.0, 15000.0)  # camera to aim point
    photo_fov_deg: tuple[float, float] = (30.0, 90.0)  # eye, chest, low, high
    # all kinds but ring: the aim point lands up to this fraction of the half-width/-height
    # from the image centre (uniform), before the fit
    aim_offset_frac: float = 0.8
    roll_std_deg: float = 3.0
    fit_margin: float = 0.95  # the person's box spans at most this fraction of the image
    distortion_prob: float = 0.3
    k1_range: tuple[float, float] = (-0.25, 0.05)
    k2_range: tuple[float, float] = (0.0, 0.25)
    tangential_std: float = 0.001
    # body
    flip_prob: float = 0.5
    bone_scale_std: float = 0.05
    bone_asym_std: float = 0.01  # extra independent left/right difference
    global_scale_range: tuple[float, float] = (0.88, 1.12)  # adults: 1.50–1.90 m
    child_prob: float = 0.2  # children and teens instead of adults
    child_scale_range: tuple[float, float] = (0.6, 0.88)  # 1.02–1.50 m, CHILD_EXPONENTS
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
              "eye_height_mm", "chest_height_mm", "low_height_mm", "high_height_mm",
              "level_pitch_deg", "low_pitch_deg", "high_pitch_deg", "photo_distance_mm",
              "high_distance_mm", "photo_fov_deg", "k1_range", "k2_range",
              "global_scale_range", "child_scale_range", "truncation_zoom", "noise_level_range")
    _PROBS = ("ring_prob", "random_camera_prob", "eye_level_prob", "chest_level_prob",
              "low_angle_prob", "high_angle_prob", "child_prob", "distortion_prob", "flip_prob",
              "truncation_prob")

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
        for name in self._PROBS:
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"SamplerConfig.{name}: expected a probability in [0, 1]")
        camera_kind_probs(self)  # raises when no kind has mass
        for name in ("level_pitch_deg", "low_pitch_deg", "high_pitch_deg"):
            lo, hi = getattr(self, name)
            if lo < -89.0 or hi > 89.0:
                raise ValueError(f"SamplerConfig.{name}: expected degrees within ±89")
        if self.high_pitch_deg[0] <= 0:
            raise ValueError("SamplerConfig.high_pitch_deg: high cameras look down (> 0°)")
        if not 0.0 <= self.aim_offset_frac <= 1.0:
            raise ValueError("SamplerConfig.aim_offset_frac: expected 0..1")
        if self.photo_distance_median_mm <= 0 or self.photo_distance_log_std < 0:
            raise ValueError("SamplerConfig.photo_distance_*: expected a positive median and "
                             "a non-negative log std")
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

    def camera_kind_probs(self) -> dict[str, float]:
        """Probability of every camera kind (:func:`monopose.data.camera_mix.camera_kind_probs`)."""
        return camera_kind_probs(self)


@dataclass
class SampleInfo:
    """What was drawn for each sample of a batch (for statistics and tests).

    Attributes:
        camera_kind: ``[B]`` index into :data:`~monopose.data.camera_mix.CAMERA_KINDS`.
        camera_height_mm: ``[B]`` camera centre over the floor (z = 0).
        camera_distance_mm: ``[B]`` camera centre to the window's mean pelvis (3D).
        pitch_deg: ``[B]`` look-down angle of the optical axis (negative: looking up).
        fov_deg: ``[B]`` field of view across the longer image side, as drawn (before the fit).
        global_scale: ``[B]`` body size relative to the mocap skeleton
            (stature ≈ ``global_scale * NOMINAL_STATURE_MM``).
    """

    camera_kind: np.ndarray
    camera_height_mm: np.ndarray
    camera_distance_mm: np.ndarray
    pitch_deg: np.ndarray
    fov_deg: np.ndarray
    global_scale: np.ndarray

    def kind_names(self) -> list[str]:
        return [CAMERA_KINDS[k] for k in self.camera_kind]


def eval_config(noise: str = "none", num_missing: int = 0,
                sources: Sequence[str] | None = None) -> SamplerConfig:
    """The fixed configuration of evaluation sets: no flip, no bone or truncation augmentation,
    no random dropping; the earlier mix of ring (30 %) and random cameras aimed at the pelvis,
    so the sets (and the numbers measured on them) stay as they were; the given noise and
    missing joints."""
    return SamplerConfig(
        sources=tuple(sources) if sources else None, **LEGACY_CAMERAS,
        flip_prob=0.0, bone_scale_std=0.0, bone_asym_std=0.0, global_scale_range=(1.0, 1.0),
        child_prob=0.0,
        truncation_prob=0.0, noise=noise, noise_level_range=(1.0, 1.0),
        joint_drop_prob=0.0, part_mask_prob=0.0, num_missing=num_missing,
    )


def _group_factors(glob: np.ndarray, top: float) -> np.ndarray:
    """``[B, J]`` size factor of every bone (by child joint) for global scales ``glob [B]``:
    ``glob`` itself, or children's proportions below ``top`` (:data:`CHILD_EXPONENTS`)."""
    out = np.repeat(glob[:, None], J, axis=1)
    small = glob < top
    if small.any():
        ratio = glob[small, None] / top
        for group, expo in zip(_BONE_GROUPS, CHILD_EXPONENTS, strict=True):
            out[np.ix_(small, list(group))] = top * ratio**expo
    return out


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
        return self.make_batch_with_info(starts, rng, config)[0]

    def make_batch_with_info(self, starts: np.ndarray, rng: np.random.Generator,
                             config: SamplerConfig | None = None
                             ) -> tuple[PoseBatch, SampleInfo]:
        """:meth:`make_batch` and what was drawn for each sample (cameras, body size)."""
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
        world, global_scale = self._scale_bones(world, rng, cfg)

        # 3. cameras
        size_choice = rng.integers(len(cfg.image_sizes), size=b)
        sizes = np.asarray(cfg.image_sizes, dtype=np.float64)[size_choice]
        cams = draw_cameras(cfg, rng, world, sizes)
        view = project_views(cfg, rng, cams, world, sizes)  # steps 4 and 5
        gt2d, valid, cam = view.keypoints_px, view.valid, view.pose_cam_mm

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
        info = SampleInfo(
            camera_kind=cams.kind,
            camera_height_mm=cams.position_mm[:, 2],
            camera_distance_mm=np.linalg.norm(
                world[:, :, 0].mean(axis=1) - cams.position_mm, axis=-1),
            pitch_deg=cams.pitch_deg,
            fov_deg=cams.fov_deg,
            global_scale=global_scale,
        )
        return PoseBatch(
            keypoints_2d_px=kp.astype(np.float32),
            keypoints_2d_gt_px=gt2d.astype(np.float32),
            valid_2d=valid,
            pose_3d_cam_mm=cam.astype(np.float32),
            intrinsics=view.intrinsics.astype(np.float32),
            image_size_px=sizes.astype(np.float32),
            ids=ids,
            dist=view.dist.astype(np.float32),
            licence=[str(self.cache.clip_source[c]) for c in clip],
        ), info

    # ------------------------------------------------------------------------------------------
    @staticmethod
    def _scale_bones(world: np.ndarray, rng: np.random.Generator, cfg: SamplerConfig
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Scaled ``[B, T, J, 3]`` world poses and the global scale ``[B]`` of each body."""
        b = world.shape[0]
        lo, hi = cfg.global_scale_range
        if (cfg.bone_scale_std <= 0 and cfg.bone_asym_std <= 0 and lo == hi == 1.0
                and cfg.child_prob <= 0):
            return world, np.ones(b)
        scale = np.ones((b, J))
        for group in _BONE_GROUPS:
            s = 1.0 + rng.normal(0.0, cfg.bone_scale_std, b)
            for j in group:
                scale[:, j] = s
        # independent left/right differences (not for the torso pair)
        scale[:, [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16]] += rng.normal(
            0.0, cfg.bone_asym_std, (b, 12))
        glob = draw_uniform(rng, cfg.global_scale_range, b)
        if cfg.child_prob > 0:  # no draw otherwise: adult-only configurations stay as they were
            child = rng.random(b) < cfg.child_prob
            glob = np.where(child, draw_uniform(rng, cfg.child_scale_range, b), glob)
        scale = np.clip(scale, 0.7, 1.3) * _group_factors(glob, cfg.child_scale_range[1])
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
        return out, glob

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
        level = draw_uniform(rng, cfg.noise_level_range, b)[:, None, None]
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
