"""Experiment configuration: dataclasses loaded strictly from YAML.

One YAML file describes one training run. Every section is a dataclass; unknown keys and values of
the wrong type raise :class:`ConfigError` naming the dotted key and the file, so a typo never
silently falls back to a default. The loaded :class:`ExperimentConfig` is passed down explicitly;
nothing reads it from a global.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ConfigError",
    "ModelSection",
    "DataSection",
    "LossSection",
    "MaskingSection",
    "OptimSection",
    "TrainerSection",
    "ExportSection",
    "ExperimentConfig",
    "TASKS",
    "load_config",
    "config_from_dict",
    "config_to_dict",
]

# Every task names the model family that trains it (``monopose train`` maps it to the family's
# ``training.make_task``): the lifters (supervised lifting, MPM pre-training), the context
# lifters on the feature cache, MeTRAbs.
TASKS = ("lift", "mpm_pretrain", "capf", "metrabs")


class ConfigError(ValueError):
    """A configuration file or mapping is invalid (the message names the key and the file)."""


@dataclass
class ModelSection:
    """Which lifter to build.

    Attributes:
        name: Architecture name known to the model registry (``baseline``, ``poseformer``, ``mpm``).
        config: Keyword arguments of the architecture (e.g. ``window``, ``dim``, ``depth``).
        init_from: Optional Lightning checkpoint (``.ckpt``) or exported ``.safetensors`` whose
            matching parameters initialise the model (MPM fine-tuning from pre-training).
    """

    name: str = "baseline"
    config: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None


@dataclass
class DataSection:
    """Where training pairs come from.

    Attributes:
        cache: Mocap cache folder (relative paths are taken from the repository root).
        sources: Mocap sources to sample from (``cmu``, ``bandai``).
        window: Frames per sample T.
        mix_windows: Further window lengths drawn round-robin with ``window`` (MPM pre-training on
            single frames and clips); their batch size keeps the frames per batch constant.
        sampler: Keyword arguments of the data layer's ``SamplerConfig`` (cameras, 2D noise,
            occlusion, flip); unknown keys are reported by the data layer.
        val_batches: Number of fixed validation batches drawn once from the ``val`` split.
        val_batch_size: Samples per validation batch.
        num_workers: DataLoader worker processes (0 = sample in the training process).
        input_frame: ``image`` (the lifter sees the 2D as in the picture) or ``virtual_camera``
            (2D and 3D as seen by a camera turned towards the person: perspective-aware lifting,
            see ``monopose.core.virtual_camera``); exported with the weights.
        detected_renders: Render sets with the detector's 2D (``monopose data detect``) whose
            pairs are mixed into the training batches (single frames only; see
            ``monopose.data.detected_renders``).
        detected_share: Expected fraction of each training batch drawn from
            ``detected_renders`` (0: none; validation batches stay mocap).
        detected_landmarks: Whose detections of ``detected_renders`` to read: ``full`` or
            ``heavy`` (BlazePose Heavy's final look; ``monopose data detect --landmarks``).
    """

    cache: str = "cache/mocap"
    sources: list[str] = field(default_factory=lambda: ["cmu", "bandai"])
    window: int = 1
    mix_windows: list[int] = field(default_factory=list)
    sampler: dict[str, Any] = field(default_factory=dict)
    val_batches: int = 4
    val_batch_size: int = 256
    num_workers: int = 0
    input_frame: str = "image"
    detected_renders: list[str] = field(default_factory=list)
    detected_share: float = 0.0
    detected_landmarks: str = "full"


@dataclass
class LossSection:
    """Loss weights (all position terms are MPJPE-style in mm).

    Attributes:
        mpjpe: Weight of the 3D MPJPE of the lifted pose.
        depth_weight: Lifting: the factor on the depth (z) part of that MPJPE's error (1: plain
            MPJPE; the depth is along the model's camera axis, the virtual camera's where the
            input frame is ``virtual_camera``).
        bone: Weight of the bone-length error (mm).
        bone_vector: Lifting: weight of the bone-vector error (mm, each bone's child − parent).
        velocity: Weight of the error of frame-to-frame differences (mm, only for T > 1).
        mask2d: MPM pre-training: weight of the masked-2D reconstruction MPJPE (normalised units
            times 1000, so it is on a scale comparable to mm).
        mask3d: MPM pre-training: weight of the masked-3D reconstruction MPJPE (mm).
        lift: MPM pre-training: weight of the 2D→3D lifting MPJPE (mm).
        complete3d: MPM lifting: weight of the 3D completion MPJPE (mm, on the hidden joints of
            a random body part), which keeps the pre-trained completion while fine-tuning.
        rel3d: MeTRAbs: weight of the L1 of root-relative 3D (metres).
        proj2d: MeTRAbs: weight of the L1 of the 2D head on in-view joints (crop px × 2.2 m /
            256 px, i.e. metres at the metric box's scale).
        abs3d: MeTRAbs: weight of the L1 of the reconstructed absolute 3D (metres).
        abs_start_step: MeTRAbs: step from which the absolute term is on (warm-up).
    """

    mpjpe: float = 1.0
    depth_weight: float = 1.0
    bone: float = 0.0
    bone_vector: float = 0.0
    velocity: float = 0.0
    mask2d: float = 5.0
    mask3d: float = 2.0
    lift: float = 1.0
    complete3d: float = 0.0
    rel3d: float = 1.0
    proj2d: float = 1.0
    abs3d: float = 1.0
    abs_start_step: int = 500


@dataclass
class MaskingSection:
    """Masking and occlusion applied on top of the sampler (torch side, per batch).

    Attributes:
        temporal_ratio: MPM pre-training: fraction of frames hidden from the encoder.
        spatial_joints: MPM pre-training: joints masked per visible frame.
        body_part_prob: MPM pre-training: probability that a sample masks a whole body part
            (a limb tube over all frames) instead of random joints.
        occlude_max_joints: Lifting: each sample hides ``U{0..occlude_max_joints}`` random joints
            in all frames (0 disables it).
        occlude_prob: Lifting: fraction of samples that get the random occlusion.
    """

    temporal_ratio: float = 0.6
    spatial_joints: int = 5
    body_part_prob: float = 0.3
    occlude_max_joints: int = 0
    occlude_prob: float = 0.5


@dataclass
class OptimSection:
    """AdamW and its learning-rate schedule (linear warm-up, then cosine or constant)."""

    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    warmup_steps: int = 100
    schedule: str = "cosine"
    min_lr_ratio: float = 0.05
    grad_clip: float = 1.0


@dataclass
class TrainerSection:
    """The Lightning trainer.

    Attributes:
        max_steps: Optimiser steps (the cosine schedule spans them).
        max_time_min: Wall-clock budget in minutes (None: no limit); training stops at whichever
            of ``max_steps`` and ``max_time_min`` comes first.
        batch_size: Samples per optimiser step and device.
        seed: Seed of model init and data sampling (rank is added for data).
        precision: ``auto`` (bf16/16-mixed on GPU, 32 on CPU) or any Lightning precision string.
        accelerator, devices, strategy, num_nodes: passed to Lightning (DDP across GPUs/nodes).
        num_threads: torch intra-op threads per process (0 keeps the torch default).
        val_every_steps: Validation and checkpoint interval.
        log_every_steps: Logging interval.
        out_dir: Root of run folders (relative paths are taken from the repository root).
        progress_bar: Show Lightning's progress bar.
    """

    max_steps: int = 1000
    max_time_min: float | None = None
    batch_size: int = 256
    seed: int = 0
    precision: str = "auto"
    accelerator: str = "auto"
    devices: int = 1
    strategy: str = "auto"
    num_nodes: int = 1
    num_threads: int = 1
    val_every_steps: int = 250
    log_every_steps: int = 25
    out_dir: str = "runs"
    progress_bar: bool = True


@dataclass
class ExportSection:
    """Where the exported weights go.

    The licence of exported weights follows ``data.sources`` (see ``monopose.models.card``).

    Attributes:
        name: Registry name of the exported weights (``mpm-lift-t1``); None: no export.
        dir: Target folder; None means the registry's weights folder.
    """

    name: str | None = None
    dir: str | None = None


@dataclass
class ExperimentConfig:
    """One training run.

    Attributes:
        name: Run name (default: the YAML file's stem); the run folder's name.
        task: What is trained, and by which family (one of :data:`TASKS`).
    """

    name: str
    task: str = "lift"
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    loss: LossSection = field(default_factory=LossSection)
    masking: MaskingSection = field(default_factory=MaskingSection)
    optim: OptimSection = field(default_factory=OptimSection)
    trainer: TrainerSection = field(default_factory=TrainerSection)
    export: ExportSection = field(default_factory=ExportSection)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task: expected one of {TASKS}, got {self.task!r}")
        if self.data.input_frame not in ("image", "virtual_camera"):
            raise ConfigError(f"data.input_frame: expected image or virtual_camera, got "
                              f"{self.data.input_frame!r}")
        if self.data.window < 1:
            raise ConfigError(f"data.window: expected >= 1, got {self.data.window}")
        if self.trainer.batch_size < 1 or self.trainer.max_steps < 1:
            raise ConfigError("trainer.batch_size and trainer.max_steps must be >= 1")
        if self.optim.schedule not in ("cosine", "constant"):
            raise ConfigError(
                f"optim.schedule: expected 'cosine' or 'constant', got {self.optim.schedule!r}"
            )
        if not self.data.sources:
            raise ConfigError("data.sources: expected at least one source")
        if not self.loss.depth_weight > 0:
            raise ConfigError(f"loss.depth_weight: expected > 0, got {self.loss.depth_weight}")
        if not 0.0 <= self.data.detected_share <= 1.0:
            raise ConfigError(f"data.detected_share: expected a fraction in [0, 1], got "
                              f"{self.data.detected_share}")
        if self.data.detected_landmarks not in ("full", "heavy"):
            raise ConfigError(f"data.detected_landmarks: expected full or heavy, got "
                              f"{self.data.detected_landmarks!r}")
        if self.data.detected_share > 0 and not self.data.detected_renders:
            raise ConfigError("data.detected_share: set, but data.detected_renders names no "
                              "render set")


def _is_instance(value: Any, tp: Any) -> tuple[bool, Any]:
    """Check ``value`` against a type hint; return (ok, converted value)."""
    origin = typing.get_origin(tp)
    if tp is Any:
        return True, value
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            ok, conv = _is_instance(value, arg)
            if ok:
                return True, conv
        return False, value
    if tp is type(None):
        return value is None, value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True, float(value)
        return False, value
    if tp is str:
        return isinstance(value, str), value
    if origin is list:
        if not isinstance(value, list):
            return False, value
        (item_tp,) = typing.get_args(tp)
        out = []
        for item in value:
            ok, conv = _is_instance(item, item_tp)
            if not ok:
                return False, value
            out.append(conv)
        return True, out
    if origin is dict:
        return isinstance(value, dict) and all(isinstance(k, str) for k in value), value
    raise TypeError(f"unsupported config type {tp!r}")  # a bug in this module, not in the input


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    where = f" in {source}" if source else ""
    if not isinstance(data, dict):
        name = prefix or "config"
        raise ConfigError(f"{name}: expected a mapping, got {type(data).__name__}{where}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        keys = ", ".join(f"{prefix}{k}" for k in unknown)
        raise ConfigError(f"unknown config key(s) {keys}{where}; allowed: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        tp = hints[key]
        if dataclasses.is_dataclass(tp):
            kwargs[key] = _build(tp, value, f"{prefix}{key}.", source)  # type: ignore[arg-type]
            continue
        ok, conv = _is_instance(value, tp)
        if not ok:
            raise ConfigError(
                f"{prefix}{key}: expected {_type_name(tp)}, got {value!r} "
                f"({type(value).__name__}){where}"
            )
        kwargs[key] = conv
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing required config key(s) {[prefix + m for m in missing]}{where}")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{exc}{where}") from None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def config_from_dict(data: dict[str, Any], source: str = "") -> ExperimentConfig:
    """Build an :class:`ExperimentConfig` from a mapping, rejecting unknown keys and wrong types."""
    return _build(ExperimentConfig, data, "", source)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> ExperimentConfig:
    """Load a YAML experiment config.

    Args:
        path: YAML file.
        overrides: Optional dotted-key overrides applied before validation, e.g.
            ``{"trainer.max_steps": 10}``.

    Raises:
        ConfigError: file missing, not YAML, unknown keys or wrong types (the message names the
            dotted key and the file).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data.setdefault("name", path.stem)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value)
    return config_from_dict(data, source=str(path))


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key}: {part} is not a section")
    node[parts[-1]] = value


def config_to_dict(cfg: ExperimentConfig) -> dict[str, Any]:
    """Plain-dict form (YAML/JSON serialisable) of a config."""
    return dataclasses.asdict(cfg)
