"""On-the-fly 2D–3D training pairs from the mocap cache through virtual cameras.

Per sample (a window of ``T`` uniformly spaced frames of one clip; ``T = 1`` uses the
de-duplicated single-frame index):

1. optional horizontal flip of the world motion (mirror x, swap left/right joints);
2. optional limb turns (:mod:`monopose.data.limb_turns`: an arm or leg swung as a rigid chain
   about its shoulder or hip, for poses the mocap rarely has), optional floor sits
   (:mod:`monopose.data.floor_sits`: the upper body on legs laid out on the floor, sitting or
   kneeling, which the mocap almost never has), then bone-length augmentation:
   one factor per symmetric bone group (left and right alike, both torso halves alike, so the
   derived joints keep their place) times a global scale, applied along the tree from the
   pelvis; constant over the window. The global scale is a mixture of
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

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monopose.core.skeleton import H36M17
from monopose.data.camera_mix import CAMERA_KINDS, draw_cameras, draw_uniform, project_views
from monopose.data.floor_sits import sit_on_floor
from monopose.data.limb_turns import turn_limbs
from monopose.data.mocap_store import MocapCache
from monopose.data.postures import POSTURES, posture_of
from monopose.data.sample import PoseBatch
from monopose.data.sampler_config import (
    CHILD_EXPONENTS,
    DETECTOR_JOINT_FACTORS,
    NOMINAL_STATURE_MM,
    SamplerConfig,
    eval_config,
)

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

# Bone groups scaled together: bones are identified by their child joint. CHILD_EXPONENTS
# follows this order.
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
        frame_step: ``[B]`` cache frames between the window's frames (30 fps cache: 1 = a
            30 fps video, 2 = 15 fps, 3 = 10 fps).
    """

    camera_kind: np.ndarray
    camera_height_mm: np.ndarray
    camera_distance_mm: np.ndarray
    pitch_deg: np.ndarray
    fov_deg: np.ndarray
    global_scale: np.ndarray
    frame_step: np.ndarray

    def kind_names(self) -> list[str]:
        return [CAMERA_KINDS[k] for k in self.camera_kind]


def _group_factors(glob: np.ndarray, top: float) -> np.ndarray:
    """``[B, J]`` size factor of every bone (by child joint) for global scales ``glob [B]``:
    ``glob`` itself, or children's proportions below ``top`` (:data:`CHILD_EXPONENTS`)."""
    out = np.repeat(glob[:, None], J, axis=1)
    small = glob < top
    if small.any():
        ratio = glob[small, None] / top
        for group, expo in zip(_BONE_GROUPS, CHILD_EXPONENTS, strict=True):
            out[np.ix_(small, np.asarray(group))] = top * ratio**expo
    return out


class MocapSampler:
    """Random 2D–3D pose pairs from a mocap cache.

    Args:
        cache_path: ``mocap.npz``, its folder, or a loaded :class:`MocapCache`.
        split: ``"train"``, ``"val"`` or ``"test"`` (or a list of them).
        window: Frames per sample ``T`` (uniformly spaced by ``config.stride``, or by a step
            drawn per window from ``config.frame_steps``).
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
        self._max_step = self.config.max_frame_step
        self.starts = self.cache.window_starts(
            clips, self.window, self._max_step, single_frame_index=True
        )
        if len(self.starts) == 0:
            raise ValueError(
                f"no window of {window} frames (frame step {self._max_step}) in split {split!r} "
                f"for sources {self.config.sources or 'all'}"
            )
        self._weights = self._start_weights()
        self._offsets = np.arange(self.window) * self.config.stride

    def _start_weights(self) -> np.ndarray | None:
        """Drawing probability of each window start: ``source_weights`` split evenly over each
        source's windows, then ``posture_weights`` over the postures of the windows' first
        frames (each posture's share, spread as the source weights spread it)."""
        sw, pw = self.config.source_weights, self.config.posture_weights
        if not sw and not pw:
            return None
        w = np.ones(len(self.starts))
        if sw:
            src = self.cache.clip_source[self.cache.frame_clip[self.starts]]
            w = np.zeros(len(self.starts))
            for name, weight in sw.items():
                m = src == name
                if m.any():
                    w[m] = float(weight) / m.sum()
            if w.sum() <= 0:
                raise ValueError(f"SamplerConfig.source_weights: no weight on sources present "
                                 f"{sw}")
        if pw:
            posture = posture_of(self.cache.poses_mm[self.starts])
            by_posture = np.zeros(len(self.starts))
            for k, name in enumerate(POSTURES):
                m = (posture == k) & (w > 0)
                if m.any() and pw.get(name, 0.0) > 0:
                    by_posture[m] = float(pw[name]) * w[m] / w[m].sum()
            if by_posture.sum() <= 0:
                raise ValueError(f"SamplerConfig.posture_weights: no weight on postures present "
                                 f"{pw}")
            w = by_posture
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
        if cfg.frame_steps and self.window > 1:
            if cfg.max_frame_step > self._max_step:
                raise ValueError(f"frame_steps {cfg.frame_steps}: longer than the sampler's "
                                 f"windows were chosen for (step {self._max_step})")
            steps = rng.choice(np.asarray(cfg.frame_steps), size=b)  # mixed frame rates
            frames = starts[:, None] + np.arange(self.window)[None, :] * steps[:, None]
        else:
            steps = np.full(b, cfg.stride if self.window > 1 else 1)
            frames = starts[:, None] + self._offsets[None, :]  # [B, T]
        world = self.cache.poses_mm[frames].astype(np.float64)  # [B, T, J, 3]

        # 1. flip: mirror world x and swap sides
        flip = rng.random(b) < cfg.flip_prob
        if flip.any():
            fw = world[flip][:, :, _FLIP]
            fw[..., 0] *= -1.0
            world[flip] = fw

        # 2. limb turns and bone lengths
        if cfg.limb_turn_prob > 0:  # no draw otherwise: earlier configurations stay as they were
            world, _ = turn_limbs(world, rng, cfg.limb_turn_prob, cfg.limb_turn_max_deg)
        if cfg.floor_sit_prob > 0:  # likewise
            world, _ = sit_on_floor(world, rng, cfg.floor_sit_prob)
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
            frame_step=steps,
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
