"""How the Estimator gets a model by name: a keypoint lifter's ONNX twin where one ships beside
its weights (:mod:`monopose.lifting.onnx_twin`: no PyTorch), else the model zoo."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from monopose.detect.blazepose import BlazePoseDetector
from monopose.lifting.floor_gate import FLOOR_LIFTERS, FloorGatedLifter
from monopose.lifting.joint_errors import load_error_model
from monopose.lifting.lifter import Lifter
from monopose.lifting.onnx_twin import Twin, find_twin
from monopose.models.card import ModelCard
from monopose.models.interface import PoseModel

__all__ = ["DEFAULT_OPTIONS", "ModelLoader", "ModelOptions"]


@dataclass(frozen=True)
class ModelOptions:
    """What models are loaded with (see :class:`~monopose.pipeline.estimator.Estimator`).

    ``flip_test`` None: yes, except temporal lifters on videos. ``torch_threads``: PyTorch's
    threads once a model needs it (None: its default). ``floor_lifter``: a lifter of
    :data:`~monopose.lifting.floor_gate.FLOOR_LIFTERS` hands the people it lifts as on the floor
    to the lifter fine-tuned for them (photos and keypoints, not videos)."""

    flip_test: bool | None
    body_size: str
    num_aug: int
    causal: bool
    placement: str
    torch_threads: int | None = None
    floor_lifter: bool = False


# The zoo's defaults (monopose.zoo.load_pose_model).
DEFAULT_OPTIONS = ModelOptions(flip_test=True, body_size="world_landmarks", num_aug=1,
                               causal=False, placement="ray_fit")


class ModelLoader:
    """Cards and models by name, each name's twin looked up once."""

    def __init__(self, options: ModelOptions) -> None:
        self.options = options
        self._twins: dict[str, Twin | None] = {}

    def twin(self, name: str) -> Twin | None:
        """``name``'s usable ONNX twin, if it has one."""
        if name not in self._twins:
            self._twins[name] = find_twin(name)
        return self._twins[name]

    def card(self, name: str) -> ModelCard:
        """``name``'s card: its twin's where one ships, else the registry's.

        Raises:
            ValueError: naming the registered models, for an unknown name.
        """
        twin = self.twin(name)
        if twin is not None:
            return twin.card
        from monopose.zoo import get_card  # heavy: the registry builds PyTorch modules

        return get_card(name)

    def load(self, name: str, detector: BlazePoseDetector | None = None, videos: bool = False
             ) -> PoseModel:
        """The model ``name``; image models share ``detector`` (its landmark network computes
        their crop features; None: they make one on first use). ``videos``: for videos (no
        flip test for temporal lifters unless asked for; no error model).

        Raises:
            ValueError: unknown name or bad option values.
            FileNotFoundError: no trained weights.
        """
        model = self._load(name, detector, videos)
        floor = FLOOR_LIFTERS.get(name)
        if (self.options.floor_lifter and floor is not None and not videos
                and isinstance(model, Lifter)):
            floor_model = self._load(floor, detector, videos)
            if isinstance(floor_model, Lifter):
                return FloorGatedLifter(model, floor_model)
        return model

    def _load(self, name: str, detector: BlazePoseDetector | None, videos: bool) -> PoseModel:
        o = self.options
        flip = o.flip_test if o.flip_test is not None else not (
            videos and self.card(name).window > 1)
        twin = self.twin(name)
        if twin is not None:
            # error models are fitted on photos' keypoints: videos get none (nor its cost)
            return Lifter.from_network(twin.network, twin.card, flip=flip, body_size=o.body_size,
                                       causal=o.causal, placement=o.placement,
                                       error_model=None if videos else load_error_model(name))
        from monopose.zoo import load_pose_model  # heavy: PyTorch and every family

        model = load_pose_model(name, flip=flip, body_size=o.body_size, num_aug=o.num_aug,
                                detector=detector, causal=o.causal, placement=o.placement)
        if o.torch_threads is not None:
            sys.modules["torch"].set_num_threads(o.torch_threads)
        if videos and isinstance(model, Lifter):
            model.error_model = None
        return model
