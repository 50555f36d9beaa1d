"""The landmark network's own activations, for the image models that read them (CA-PF, MeTRAbs).

:class:`LandmarkActivations` keeps a second copy of the landmark network with every tensor
preserved (LiteRT otherwise reuses their memory), built on the first request, and hands out its
spatial activations (64², 32², 16², 8²) with the transforms between image pixels and map cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monopose.detect.landmarks import CROP_SIZE
from monopose.detect.litert_model import FeatureMapInfo, LiteRTModel, spatial_activations
from monopose.detect.roi import image_to_crop_matrix
from monopose.detect.types import FeatureMap, RotatedRect

__all__ = ["LandmarkActivations"]


class LandmarkActivations:
    """The landmark network with its activations kept, loaded on first use.

    Args:
        landmark_path: The landmark network's ``.tflite`` file.
        num_threads: Threads of its LiteRT interpreter.
    """

    def __init__(self, landmark_path: Path, num_threads: int) -> None:
        self.landmark_path = landmark_path
        self.num_threads = num_threads
        self._model: LiteRTModel | None = None
        self._infos: dict[str, FeatureMapInfo] = {}

    def model(self, names: Sequence[str] = (), what: str = "feature_maps") -> LiteRTModel:
        """The network, after checking that every one of ``names`` is a spatial activation.

        Raises:
            ValueError: naming ``what`` and the unknown tensors.
        """
        if self._model is None:
            self._model = LiteRTModel(self.landmark_path, self.num_threads, preserve_all=True)
            self._infos = spatial_activations(self._model)
        unknown = [n for n in names if n not in self._infos]
        if unknown:
            raise ValueError(f"{what}: unknown tensor(s) {unknown}; see available_feature_maps()")
        return self._model

    def available(self) -> list[FeatureMapInfo]:
        """Every spatial activation of the network, coarsest stride last."""
        self.model()
        return sorted(self._infos.values(), key=lambda f: (f.stride, f.index))

    def crop_features(self, crop_rgb: np.ndarray, names: Sequence[str]
                      ) -> tuple[float, dict[str, np.ndarray]]:
        """Run the network on a ready ``[256, 256, 3]`` uint8 crop.

        Returns:
            ``(presence_score, {name: [side, side, C] float32})``: the network's probability
            that a person is in the crop, and copies of the activations.
        """
        if crop_rgb.shape != (CROP_SIZE, CROP_SIZE, 3) or crop_rgb.dtype != np.uint8:
            raise ValueError(f"crop_rgb: expected a [{CROP_SIZE}, {CROP_SIZE}, 3] uint8 image, "
                             f"got {crop_rgb.shape} {crop_rgb.dtype}")
        model = self.model(names, "names")
        model.run((crop_rgb.astype(np.float32) * np.float32(1.0 / 255.0))[None])
        presence = float(model.get("Identity_1").reshape(-1)[0])
        return presence, {n: self._activation(n) for n in names}

    def maps(self, roi: RotatedRect, names: Sequence[str]) -> dict[str, FeatureMap]:
        """The activations of the network's last run, which looked at ``roi``'s crop, with
        their image ↔ map transforms."""
        to_crop = image_to_crop_matrix(roi, (CROP_SIZE, CROP_SIZE))
        out = {}
        for name in names:
            info = self._infos[name]
            to_map = np.diag([1.0 / info.stride, 1.0 / info.stride, 1.0]) @ to_crop
            out[name] = FeatureMap(name=name, stride=info.stride, channels=info.channels,
                                   data=self._activation(name), image_to_map=to_map,
                                   map_to_image=np.linalg.inv(to_map))
        return out

    def _activation(self, name: str) -> np.ndarray:
        assert self._model is not None
        return np.array(self._model.get_index(self._infos[name].index)[0], dtype=np.float32)
