"""Settings of the mocap sampler (:class:`monopose.data.sampler.MocapSampler`): every knob as
a plain value, so a YAML file can set them, and the fixed configuration of evaluation sets."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monopose.core.skeleton import H36M17
from monopose.data.camera_mix import LEGACY_CAMERAS, camera_kind_probs
from monopose.data.postures import POSTURES

__all__ = [
    "SamplerConfig",
    "eval_config",
    "DETECTOR_JOINT_FACTORS",
    "CHILD_EXPONENTS",
    "NOMINAL_STATURE_MM",
]

J = H36M17.num_joints

# Relative 2D error of a typical detector per H36M-17 joint (1 = shoulders). Extremities and
# the head top are hardest; derived joints inherit the error of what they are made of.
DETECTOR_JOINT_FACTORS: tuple[float, ...] = (
    1.2, 1.5, 1.2, 1.6, 1.5, 1.2, 1.6, 1.2, 1.0, 1.1, 2.0, 1.0, 1.3, 1.8, 1.0, 1.3, 1.8,
)

# Children's proportions: below the top of child_scale_range a bone group scales by
# top · (g / top) ** exponent instead of g, so the head stays relatively large and the legs get
# relatively short (sitting height ≈ 57 % of stature at 4 years vs 52 % in adults). The
# exponents, weighted by the H36M bone lengths of the head-top-to-ankle chain, average 1: the
# stature still follows g. By bone group, in the sampler's order: hip width, thighs, shins,
# torso, neck, head, shoulder width, upper arms, forearms.
CHILD_EXPONENTS: tuple[float, ...] = (1.0, 1.2, 1.2, 0.85, 0.8, 0.3, 1.0, 1.0, 1.0)

# Stature of the mocap skeleton (H36M proportions, head top over the floor): global scale 1.
NOMINAL_STATURE_MM = 1700.0


@dataclass
class SamplerConfig:
    """Every knob of :class:`~monopose.data.sampler.MocapSampler` (plain values, so a YAML file
    can set them).

    Distances in mm, angles in degrees, ``*_frac`` relative to the person's 2D box size (the
    longer side of the box around the ground-truth joints), probabilities in [0, 1].
    """

    sources: tuple[str, ...] | None = None  # e.g. ("cmu",) for commercial-safe training
    source_weights: dict[str, float] | None = None  # sampling weight per source (None: by size)
    # share of the drawn windows per posture of their first frame (monopose.data.postures:
    # standing, low, floor, lying; a posture not named is not drawn); None: as often as the
    # mocap has them (98 % standing)
    posture_weights: dict[str, float] | None = None
    stride: int = 1  # frame step inside a window (cache rate / stride = window rate)
    # mixed frame rates: each window draws its frame step from these (30 fps cache: 1, 2, 3 =
    # 30, 15, 10 fps videos); empty: every window uses ``stride``
    frame_steps: tuple[int, ...] = ()
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
    # limb turns (monopose.data.limb_turns): each arm and leg of a window swung as a rigid
    # chain about its shoulder or hip with this probability, by up to limb_turn_max_deg
    limb_turn_prob: float = 0.0
    limb_turn_max_deg: float = 60.0
    # floor sits (monopose.data.floor_sits): a window's upper body on legs laid out on the floor
    # (sitting, kneeling) with this probability
    floor_sit_prob: float = 0.0
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
              "truncation_prob", "limb_turn_prob", "floor_sit_prob")

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
        self.frame_steps = tuple(int(x) for x in self.frame_steps)
        if any(x < 1 for x in self.frame_steps):
            raise ValueError(f"SamplerConfig.frame_steps: expected steps >= 1, got "
                             f"{self.frame_steps}")
        if self.posture_weights is not None:
            bad = sorted(set(self.posture_weights) - set(POSTURES))
            if bad or any(float(w) < 0 for w in self.posture_weights.values()) or \
                    sum(float(w) for w in self.posture_weights.values()) <= 0:
                raise ValueError(f"SamplerConfig.posture_weights: expected non-negative weights "
                                 f"of {POSTURES} with a positive sum, got {self.posture_weights}")
        if not 0.0 <= self.limb_turn_max_deg <= 180.0:
            raise ValueError(f"SamplerConfig.limb_turn_max_deg: expected degrees in [0, 180], "
                             f"got {self.limb_turn_max_deg}")
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

    @property
    def max_frame_step(self) -> int:
        """The longest frame step a window may use (what window starts must leave room for)."""
        return max(self.frame_steps) if self.frame_steps else self.stride

    def camera_kind_probs(self) -> dict[str, float]:
        """Probability of every camera kind (:func:`monopose.data.camera_mix.camera_kind_probs`)."""
        return camera_kind_probs(self)


def eval_config(noise: str = "none", num_missing: int = 0,
                sources: Sequence[str] | None = None) -> SamplerConfig:
    """The fixed configuration of evaluation sets: no flip, no bone or truncation augmentation,
    no random dropping; the earlier mix of ring (30 %) and random cameras aimed at the pelvis,
    so the sets (and the numbers measured on them) stay as they were; the given noise and
    missing joints."""
    return SamplerConfig.from_dict({
        "sources": tuple(sources) if sources else None, **LEGACY_CAMERAS,
        "flip_prob": 0.0, "bone_scale_std": 0.0, "bone_asym_std": 0.0,
        "global_scale_range": (1.0, 1.0), "child_prob": 0.0,
        "truncation_prob": 0.0, "noise": noise, "noise_level_range": (1.0, 1.0),
        "joint_drop_prob": 0.0, "part_mask_prob": 0.0, "num_missing": num_missing,
    })
