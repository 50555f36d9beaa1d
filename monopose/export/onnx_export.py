"""ONNX export of the lifters and MeTRAbs models, verified against PyTorch with onnxruntime.

What is exported follows what the model reads (its :class:`~monopose.models.interface.PoseModel`
``needs``): keypoint lifters export the lifter; image models (``metrabs-*``) their trainable
part (see :func:`_export_metrabs`); models that read the detector's feature maps are refused.

The exported graph takes

* ``keypoints_2d``: ``[B, T, 17, 2]`` float32, normalised as the models take them
  (:func:`monopose.core.normalize.normalize_keypoints`: window-wise box centre, half longer side);
* ``valid``: ``[B, T, 17]`` bool (False = missing joint);
* ``scores``: ``[B, T, 17]`` float32, the detector's confidence per keypoint in [0, 1] (only for
  lifters that read it, ``score_input``; ones where unknown);
* ``camera_up``: ``[B, 3]`` float32, the image's up seen by the lifter's virtual camera
  (:func:`monopose.core.virtual_camera.camera_up`; only for lifters that read it, ``up_input``;
  ``(0, -1, 0)`` where the 2D was not turned);

and returns ``pose_3d_mm``: ``[B, T, 17, 3]`` float32 root-relative 3D in **millimetres** (the
models output metres; the ×1000 is inside the graph). ``B`` is dynamic; ``T`` is the model's window
(1, or 27 for ``mpm-lift-t27``). Flip averaging and the normalisation itself stay outside (they are
cheap numpy steps in :class:`monopose.lifting.lifter.Lifter`).

Exporter: ``torch.onnx.export(..., dynamo=False)`` (TorchScript tracing); the dynamo exporter needs
``onnxscript``, which is not a dependency.
"""

from __future__ import annotations

import io
import os
import warnings as _warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from monopose.core.normalize import normalize_keypoints
from monopose.core.rotations import axis_rotation
from monopose.core.skeleton import H36M17
from monopose.core.virtual_camera import camera_up, look_at_rotations
from monopose.export.ik import DEFAULT_BONE_LENGTHS_MM, REST_DIRECTIONS
from monopose.io.files import atomic_write, check_writable
from monopose.lifting.networks import (
    INPUT_NAMES,
    OUTPUT_NAME,
    SCORES_INPUT,
    UP_INPUT,
    onnx_session,
    run_onnx,
)
from monopose.lifting.onnx_twin import SOURCE_SHA_KEY
from monopose.metrabs.model import BLAZEPOSE_LEVELS
from monopose.models.interface import PoseModel
from monopose.models.weights_meta import file_sha256
from monopose.zoo import (
    available,
    create_model,
    get_card,
    load_model,
    pose_model_from_module,
    weights_path,
)

__all__ = ["MillimetreOutput", "OnnxExport", "export_onnx", "random_normalised_poses",
           "onnx_session", "run_onnx", "DEFAULT_OPSET", "metrabs_input_spec"]

DEFAULT_OPSET = 17


class MillimetreOutput(nn.Module):
    """A lifter with millimetre output: ``forward(keypoints_2d, valid, *extra) = lifter(...) *
    1000``, where ``extra`` are the lifter's keyword inputs named by ``extra_inputs`` (``scores``
    for a lifter with ``score_input``, ``camera_up`` for one with ``up_input``)."""

    def __init__(self, lifter: nn.Module, extra_inputs: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.lifter = lifter
        self.extra_inputs = extra_inputs

    def forward(self, keypoints_2d: torch.Tensor, valid: torch.Tensor,
                *extra: torch.Tensor) -> torch.Tensor:
        kwargs = dict(zip(self.extra_inputs, extra, strict=True))
        return self.lifter(keypoints_2d, valid, **kwargs) * 1000.0


@dataclass
class OnnxExport:
    """Result of :func:`export_onnx`.

    Attributes:
        path: The written ``.onnx`` file.
        model: Registered name (or the module's architecture).
        window: ``T`` of the inputs.
        trained: Whether trained weights were exported (False: a randomly initialised module).
        max_abs_error_mm: Largest |onnxruntime − PyTorch| over the check inputs (mm).
        max_rel_error: ``max_abs_error_mm / max |PyTorch output|``.
        warnings: Notes (e.g. untrained weights).
    """

    path: Path
    model: str
    window: int
    trained: bool
    max_abs_error_mm: float | None = None
    max_rel_error: float | None = None
    warnings: list[str] = field(default_factory=list)



def _new_result(out: Path, name: str, window: int, trained: bool) -> OnnxExport:
    """The export's record, with a warning when the weights are untrained."""
    result = OnnxExport(path=out, model=name, window=window, trained=trained)
    if not trained:
        result.warnings.append(f"{name}: randomly initialised weights (no trained weights)")
    return result

def random_normalised_poses(n: int, window: int, rng: np.random.Generator,
                            missing_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Plausible lifter inputs: a standing skeleton with random limb swings and heading, moving
    slowly over the window, seen by a pinhole camera 3–6 m away, normalised per window; about
    ``missing_fraction`` of the joints invalid (never a whole frame).

    Returns:
        ``(keypoints_2d [n, window, 17, 2] float32, valid [n, window, 17] bool)``.
    """
    par = H36M17.parents
    # Rest directions are Y-up; camera space is y down: flip y (and z, a rotation).
    rest = REST_DIRECTIONS * np.array([1.0, -1.0, -1.0])
    base_swing = rng.normal(0.0, 0.5, (n, 1, 17, 3))
    drift = rng.normal(0.0, 0.03, (n, window, 17, 3)).cumsum(axis=1)
    heading = rng.uniform(-np.pi, np.pi, (n, 1)) + rng.normal(0, 0.02, (n, window)).cumsum(1)
    rot = axis_rotation(1, heading)  # [n, T, 3, 3] about the vertical
    pose = np.zeros((n, window, 17, 3))
    for j in range(1, 17):
        d = rest[j] + base_swing[:, :, j] + drift[:, :, j]
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        pose[:, :, j] = pose[:, :, par[j]] + d * DEFAULT_BONE_LENGTHS_MM[j]
    pose = np.einsum("ntij,ntkj->ntki", rot, pose)
    pose[..., 2] += rng.uniform(3000, 6000, (n, 1, 1))
    pose[..., 0] += rng.uniform(-800, 800, (n, 1, 1))
    f = rng.uniform(800, 1600, (n, 1, 1, 1))
    px = pose[..., :2] / pose[..., 2:] * f + 500.0
    valid = rng.random((n, window, 17)) >= missing_fraction
    valid[..., H36M17.root] |= ~valid.any(-1)
    norm, _, _ = normalize_keypoints(px, valid)
    norm = np.where(valid[..., None], norm, 0.0)
    return norm.astype(np.float32), valid


def _window(module: nn.Module) -> int:
    return int(getattr(module, "max_frames", None) or 1)


def _load(model: str | nn.Module, weights_dir: str | os.PathLike[str] | None, untrained: bool
          ) -> tuple[PoseModel, str, str | None]:
    """``(the model behind its interface, its name, the SHA-256 of the trained weights file
    loaded, or None for an untrained network)``."""
    if isinstance(model, nn.Module):
        name = str(getattr(model, "architecture", type(model).__name__))
        return pose_model_from_module(model), name, None
    card = get_card(model)  # unknown name: ValueError listing the registered names
    if available(model, weights_dir):
        module, card = load_model(model, weights_dir)
        return (pose_model_from_module(module, card), model,
                file_sha256(weights_path(model, weights_dir)))
    if not untrained:
        raise FileNotFoundError(
            f"model: no trained weights for {model!r} (train them first, pass weights_dir, or "
            f"export a randomly initialised network with untrained=True)")
    return pose_model_from_module(create_model(model), card), model, None


def _check_inputs(batch: int, window: int, rng: np.random.Generator, with_scores: bool,
                  with_up: bool) -> tuple[torch.Tensor, ...]:
    """Plausible inputs of an exported lifter: keypoints, valid, then the optional ones."""
    kp, valid = random_normalised_poses(batch, window, rng)
    out: tuple[torch.Tensor, ...] = (torch.from_numpy(kp), torch.from_numpy(valid))
    if with_scores:  # confidences spread over [0, 1], so the check sees the embedding work
        out += (torch.from_numpy(rng.uniform(0.0, 1.0, valid.shape).astype(np.float32)),)
    if with_up:  # the up of cameras turned up to 35° towards people anywhere in the picture
        turn = rng.uniform(-0.7, 0.7, (batch, 2))
        up = camera_up(look_at_rotations(np.c_[turn, np.ones(batch)]))
        out += (torch.from_numpy(up.astype(np.float32)),)
    return out


def export_onnx(
    model: str | nn.Module,
    out: str | Path,
    weights_dir: str | os.PathLike[str] | None = None,
    untrained: bool = False,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
    num_check: int = 64,
    seed: int = 1234,
    rtol: float = 1e-4,
) -> OnnxExport:
    """Export a lifter to ONNX (mm outputs, dynamic batch) and check it against PyTorch.

    Args:
        model: A registered name (trained weights loaded through the registry) or a module.
        out: Output ``.onnx`` path (written whole, only after the check passed).
        weights_dir: Folder of the weights (default: the package's).
        untrained: Export a randomly initialised network when no trained weights exist.
        verify: Compare onnxruntime with PyTorch on ``num_check`` held-out inputs (random
            plausible normalised poses with a few invalid joints, two batch sizes).
        rtol: Allowed ``max |onnx − torch| / max |torch|``.

    Raises:
        ValueError: unknown model name (the message lists the registered ones), an output path
            that cannot be written, or outputs that differ by more than ``rtol``.
        FileNotFoundError: no trained weights and not ``untrained``.
    """
    out = check_writable(Path(out))
    pose_model, name, source_sha = _load(model, weights_dir, untrained)
    trained = source_sha is not None
    module = pose_model.module.eval().cpu()
    if pose_model.needs == "image":
        return _export_metrabs(module, name, trained, out, opset, verify, num_check, seed, rtol)
    if pose_model.needs != "keypoints":
        raise ValueError(f"model: {name!r} reads the detector's feature maps; only keypoint "
                         "lifters and image models export to ONNX")
    if getattr(module, "size_input", False):
        raise ValueError(f"model: {name!r} also takes each window's angular size "
                         "(size_input), which the exported graph has no input for")
    window = _window(module)
    with_scores = bool(getattr(module, "score_input", False))
    with_up = bool(getattr(module, "up_input", False))
    extra = (SCORES_INPUT,) * with_scores + (UP_INPUT,) * with_up
    wrapper = MillimetreOutput(module, extra).eval()
    rng = np.random.default_rng(seed)
    names = [*INPUT_NAMES, *extra]

    def inputs(batch: int) -> tuple[torch.Tensor, ...]:
        return _check_inputs(batch, window, rng, with_scores, with_up)

    buf = io.BytesIO()
    with torch.no_grad(), _warnings.catch_warnings():
        # Tracing warns about Python-side shape checks; they are constant for a fixed window.
        _warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, inputs(2), buf,  # type: ignore[arg-type]
            input_names=names, output_names=[OUTPUT_NAME],
            dynamic_axes={**{n: {0: "batch"} for n in names}, OUTPUT_NAME: {0: "batch"}},
            opset_version=opset, dynamo=False, do_constant_folding=True)
    data = _with_metadata(buf.getvalue(), name, window, source_sha)
    result = _new_result(out, name, window, trained)
    if verify:
        session = onnx_session(data)

        def runs() -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
            for batch in (1, max(2, num_check - 1)):
                x = inputs(batch)
                with torch.inference_mode():
                    ref = wrapper(*x).numpy()
                yield [run_onnx(session, *(t.numpy() for t in x[:2]),
                                **{n: t.numpy() for n, t in zip(extra, x[2:], strict=True)})], [ref]

        _check_parity(result, runs(), rtol)
    atomic_write(out, lambda fh: fh.write(data))
    return result


def _check_parity(result: OnnxExport,
                  runs: Iterable[tuple[list[np.ndarray], list[np.ndarray]]], rtol: float) -> None:
    """Record the largest |onnxruntime − PyTorch| over ``(onnx outputs, torch outputs)`` runs in
    ``result``; raise ``ValueError`` (nothing is written) beyond ``rtol`` relative."""
    worst_abs, worst_ref = 0.0, 0.0
    for got, ref in runs:
        for g, r in zip(got, ref, strict=True):
            if g.shape != r.shape:
                raise ValueError(f"model: ONNX output shape {g.shape}, PyTorch {r.shape}")
            worst_abs = max(worst_abs, float(np.abs(g - r).max()))
            worst_ref = max(worst_ref, float(np.abs(r).max()))
    result.max_abs_error_mm = worst_abs
    result.max_rel_error = worst_abs / max(worst_ref, 1e-12)
    if result.max_rel_error > rtol:
        raise ValueError(f"model: ONNX and PyTorch outputs differ by {result.max_rel_error:.2e}"
                         f" (relative), more than {rtol:.0e}; nothing written")


def _with_metadata(model_bytes: bytes, name: str, window: int, source_sha: str | None
                   ) -> bytes:
    """The graph with monopose's metadata; ``source_sha``: the SHA-256 of the trained weights
    file it was made from (what makes it their twin, :mod:`monopose.lifting.onnx_twin`)."""
    trained = source_sha is not None
    proto = onnx.load_from_string(model_bytes)
    meta = {
        "monopose_model": name,
        "window": str(window),
        "layout": H36M17.name,
        "input_normalisation": "monopose.core.normalize.normalize_keypoints (window-wise box "
                               "centre, half longer side)",
        "output_units": "mm, root-relative (root joint 0), camera axes x right, y down, z fwd",
        "trained": str(trained).lower(),
        **({SOURCE_SHA_KEY: source_sha} if source_sha else {}),
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"monopose lifter {name}: 2D normalised keypoints -> 3D mm"
    return proto.SerializeToString()


# ----------------------------------------------------------------------------------------------
# MeTRAbs image models


class _MetrabsOutputs(nn.Module):
    """Tuple outputs for tracing: ``(keypoints_2d_crop_px, pose_3d_rel_mm)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(*inputs)
        return out.coords2d_px, out.coords3d_rel_mm


def metrabs_input_spec(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Input names and per-sample shapes of an exported MeTRAbs graph."""
    if module.backbone_name == "blazepose":
        return [(f"level{side}", (ch, side, side)) for _, side, ch in BLAZEPOSE_LEVELS]
    s = int(module.crop_size_px)  # type: ignore[arg-type]
    return [("image", (3, s, s))]


def _export_metrabs(module: nn.Module, name: str, trained: bool, out: Path, opset: int,
                    verify: bool, num_check: int, seed: int, rtol: float) -> OnnxExport:
    """MeTRAbs: inputs = the crop's three landmark-network maps (NCHW float32) or the crop
    image; outputs ``keypoints_2d_crop_px [B, 17, 2]`` and ``pose_3d_rel_mm [B, 17, 3]`` (crop
    camera). Cropping, the frozen LiteRT network, un-warping and the root solve stay outside."""
    wrapper = _MetrabsOutputs(module).eval()
    spec = metrabs_input_spec(module)
    rng = np.random.default_rng(seed)

    def inputs(batch: int) -> list[torch.Tensor]:
        # Non-negative, ReLU-like activations of unit scale for feature maps; [0, 1] images.
        return [torch.from_numpy(np.abs(rng.normal(0, 1, (batch, *shape))).astype(np.float32))
                if n != "image" else torch.from_numpy(rng.random((batch, *shape), np.float32))
                for n, shape in spec]

    names = [n for n, _ in spec]
    outputs = ["keypoints_2d_crop_px", "pose_3d_rel_mm"]
    buf = io.BytesIO()
    with torch.no_grad(), _warnings.catch_warnings():
        _warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, tuple(inputs(2)), buf,  # type: ignore[arg-type]
            input_names=names, output_names=outputs,
            dynamic_axes={n: {0: "batch"} for n in names + outputs},
            opset_version=opset, dynamo=False, do_constant_folding=True)
    proto = onnx.load_from_string(buf.getvalue())
    meta = {"monopose_model": name, "layout": H36M17.name, "trained": str(trained).lower(),
            "inputs": "landmark-network maps of a 256 px crop camera (NCHW float32)"
            if names[0] != "image" else "crop image RGB in [0, 1], NCHW float32",
            "output_units": "keypoints_2d_crop_px: crop pixels; pose_3d_rel_mm: mm, "
            "root-relative, crop camera axes (x right, y down, z forward)"}
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.doc_string = f"monopose MeTRAbs model {name}: crop features -> 2D px + 3D mm"
    data = proto.SerializeToString()
    result = _new_result(out, name, 1, trained)
    if verify:
        session = onnx_session(data)

        def runs() -> Iterator[tuple[list[np.ndarray], list[np.ndarray]]]:
            for batch in (1, max(2, num_check - 1)):
                x = inputs(batch)
                with torch.inference_mode():
                    ref = [t.numpy() for t in wrapper(*x)]
                feed = {n: t.numpy() for n, t in zip(names, x, strict=True)}
                yield list(session.run(outputs, feed)), ref

        _check_parity(result, runs(), rtol)
    atomic_write(out, lambda fh: fh.write(data))
    return result
