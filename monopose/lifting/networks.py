"""A lifter's network behind one numpy call: its PyTorch module, or the module's ONNX twin.

:class:`~monopose.lifting.lifter.Lifter` normalises the 2D, turns it towards each person and
averages the flip test in numpy; only the network itself runs in a framework. Both runners here
take ``x [B, T, J, 2]`` normalised keypoints and ``valid [B, T, J]`` (and the optional inputs a
network reads) and return ``[B, T, J, 3]`` root-relative 3D in millimetres:

* :class:`TorchNetwork`: the ``nn.Module`` (training, evaluation, any device);
* :class:`OnnxNetwork`: the same network exported to ONNX (``monopose export-onnx``,
  :mod:`monopose.export.onnx_export`) and run by onnxruntime. A photo then needs no PyTorch,
  whose import was most of a one-photo ``monopose predict`` (BENCHMARKS.md, "Photos and videos
  without PyTorch").

Nothing here imports PyTorch at module level.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from monopose.core.virtual_camera import IMAGE_UP

if TYPE_CHECKING:
    from torch import nn

__all__ = ["INPUT_NAMES", "OUTPUT_NAME", "SCORES_INPUT", "UP_INPUT", "LiftNetwork",
           "OnnxNetwork", "TorchNetwork", "onnx_session", "run_onnx"]

INPUT_NAMES = ("keypoints_2d", "valid")
SCORES_INPUT = "scores"  # only lifters with score_input have it
UP_INPUT = "camera_up"  # only lifters with up_input have it
OUTPUT_NAME = "pose_3d_mm"


class LiftNetwork(Protocol):
    """What :class:`~monopose.lifting.lifter.Lifter` needs of a network."""

    num_joints: int | None
    max_frames: int | None
    size_input: bool
    score_input: bool
    up_input: bool

    def __call__(self, x: np.ndarray, valid: np.ndarray, angular_size: np.ndarray | None,
                 scores: np.ndarray | None, camera_up: np.ndarray | None) -> np.ndarray:
        """``[B, T, J, 2]`` normalised, ``[B, T, J]`` bool (and ``[B]``, ``[B, T, J]``,
        ``[B, 3]`` where the network reads them, else None) → ``[B, T, J, 3]`` mm float64."""
        ...


class TorchNetwork:
    """A lifter module (eval mode, on ``device``) behind the :class:`LiftNetwork` call."""

    def __init__(self, module: nn.Module, device: Any = "cpu") -> None:
        import torch  # heavy: only where the module itself runs

        self._torch = torch
        self.device = torch.device(device)
        self.module = module.to(self.device).eval()
        joints = getattr(module, "num_joints", None)
        frames = getattr(module, "max_frames", None)
        self.num_joints: int | None = None if joints is None else int(joints)
        self.max_frames: int | None = None if frames is None else int(frames)
        self.size_input = bool(getattr(module, "size_input", False))
        self.score_input = bool(getattr(module, "score_input", False))
        self.up_input = bool(getattr(module, "up_input", False))

    def __call__(self, x: np.ndarray, valid: np.ndarray, angular_size: np.ndarray | None,
                 scores: np.ndarray | None, camera_up: np.ndarray | None) -> np.ndarray:
        torch = self._torch

        def tensor(a: np.ndarray, dtype: Any = torch.float32) -> Any:
            return torch.as_tensor(a, dtype=dtype, device=self.device)

        extra = {k: tensor(v) for k, v in (("angular_size", angular_size), ("scores", scores),
                                           ("camera_up", camera_up)) if v is not None}
        with torch.inference_mode():
            y = self.module(tensor(x), tensor(valid, torch.bool), **extra)
        return y.to("cpu", torch.float64).numpy() * 1000.0


def onnx_session(model_bytes_or_path: bytes | str | Path, threads: int | None = None):  # noqa: ANN201
    """An onnxruntime CPU session for an exported lifter (``threads``: intra-op threads)."""
    import onnxruntime as ort  # optional until an ONNX network is run

    opts = ort.SessionOptions()
    # No busy-waiting worker threads after a run: they would steal the CPU from whatever runs
    # next (e.g. the rest of the pipeline, or PyTorch in a side-by-side benchmark).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads is not None:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    src = model_bytes_or_path if isinstance(model_bytes_or_path, bytes) else str(
        model_bytes_or_path)
    return ort.InferenceSession(src, sess_options=opts, providers=["CPUExecutionProvider"])


def run_onnx(session, keypoints_2d: np.ndarray, valid: np.ndarray,  # noqa: ANN001
             scores: np.ndarray | None = None, camera_up: np.ndarray | None = None
             ) -> np.ndarray:
    """Run an exported lifter: ``[B, T, 17, 2]`` normalised, ``[B, T, 17]`` bool → mm.
    ``scores [B, T, 17]``: the keypoints' confidence, for a graph with a ``scores`` input (None:
    ones). ``camera_up [B, 3]``: the image's up seen by the lifter's camera, for a graph with a
    ``camera_up`` input (None: ``(0, -1, 0)``, a camera looking straight at the person)."""
    feed = {"keypoints_2d": np.ascontiguousarray(keypoints_2d, dtype=np.float32),
            "valid": np.ascontiguousarray(valid, dtype=bool)}
    names = {i.name for i in session.get_inputs()}
    if SCORES_INPUT in names:
        feed[SCORES_INPUT] = np.ascontiguousarray(
            np.ones(np.shape(valid)) if scores is None else scores, dtype=np.float32)
    if UP_INPUT in names:
        up = (np.tile(IMAGE_UP, (len(keypoints_2d), 1)) if camera_up is None
              else camera_up)
        feed[UP_INPUT] = np.ascontiguousarray(up, dtype=np.float32)
    return session.run([OUTPUT_NAME], feed)[0]


class OnnxNetwork:
    """An exported keypoint lifter (``monopose export-onnx``) run by onnxruntime.

    Args:
        path: The ``.onnx`` file.
        threads: Intra-op threads (default 1: a handful of poses gains nothing from more, and
            waiting threads would compete with the detector's).

    Raises:
        ValueError: naming the file when it is not an exported keypoint lifter.
    """

    def __init__(self, path: str | Path, threads: int | None = 1) -> None:
        self.path = Path(path)
        self.session = onnx_session(self.path, threads)
        inputs = {i.name: i for i in self.session.get_inputs()}
        if not set(INPUT_NAMES) <= set(inputs):
            raise ValueError(f"{self.path}: not an exported keypoint lifter (inputs "
                             f"{', '.join(inputs)}; expected {', '.join(INPUT_NAMES)})")
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        shape = inputs["keypoints_2d"].shape  # [batch, T, J, 2], T and J fixed at export
        self.max_frames: int | None = int(shape[1])
        self.num_joints: int | None = int(shape[2])
        self.size_input = False  # the exported graph has no angular-size input
        self.score_input = SCORES_INPUT in inputs
        self.up_input = UP_INPUT in inputs

    def __call__(self, x: np.ndarray, valid: np.ndarray, angular_size: np.ndarray | None,
                 scores: np.ndarray | None, camera_up: np.ndarray | None) -> np.ndarray:
        return run_onnx(self.session, x, valid, scores, camera_up).astype(np.float64)
