"""The model zoo: every family's architectures and cards, registered in one place.

Code that loads or lists models by name imports from here (``from monopose.zoo import
load_model``); the registry machinery itself (:mod:`monopose.models.registry`) knows no family.
Registration order is the order of ``monopose models``: lifters, context lifters, MeTRAbs.

:func:`load_pose_model` gives any registered model behind the one interface
(:class:`~monopose.models.interface.PoseModel`): the zoo loads the module and its card and hands
them to the family's implementation, which is chosen by the card's architecture.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from torch import nn

from monopose.capf import cards as capf_cards
from monopose.capf.inference import ContextLifter
from monopose.detect.blazepose import BlazePoseDetector
from monopose.lifting import cards as lifting_cards
from monopose.lifting.lifter import Lifter
from monopose.metrabs import cards as metrabs_cards
from monopose.metrabs.inference import MetrabsEstimator
from monopose.models.architectures import ARCHITECTURES, build_model, count_parameters
from monopose.models.card import ModelCard
from monopose.models.interface import PoseModel
from monopose.models.registry import (
    DEFAULT_WEIGHTS_DIR,
    available,
    create_model,
    get_card,
    list_models,
    load_model,
    register_family,
    register_model,
    weights_path,
)

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_WEIGHTS_DIR",
    "ModelCard",
    "available",
    "build_model",
    "count_parameters",
    "create_model",
    "get_card",
    "list_models",
    "load_model",
    "load_pose_model",
    "pose_model_from_module",
    "PoseModel",
    "register_model",
    "weights_path",
]

for _family in (lifting_cards, capf_cards, metrabs_cards):
    register_family(_family.ARCHITECTURES, _family.CARDS)


def pose_model_from_module(
    module: nn.Module, card: ModelCard | None = None, *, flip: bool = True,
    body_size: str = "world_landmarks", num_aug: int = 1, min_presence: float = 0.0,
    detector: BlazePoseDetector | None = None, input_frame: str | None = None,
    causal: bool = False, placement: str = "ray_fit",
) -> PoseModel:
    """A built (trained or not) module behind the :class:`PoseModel` interface of its family.

    Args:
        module: A network of any registered architecture (``module.architecture``).
        card: Its card (window, input frame, name), if known.
        flip: Lifters: average with the mirrored input.
        body_size: Lifters: ``"world_landmarks"`` or ``"lifter"`` (see
            :class:`~monopose.lifting.lifter.Lifter`).
        num_aug: Image models: test-time augmentations per person (1..8).
        min_presence: Image models: crops whose person probability is below this are dropped
            (default 0: the detector already found a person in each box, and the probability is
            low for people cut by the image border, whom MeTRAbs handles).
        detector: Image models: the detector whose landmark network computes the crop features
            (shared with the pipeline's); one is made on first use if None.
        input_frame: Lifters: overrides the card's ``input_frame``.
        causal: Window lifters: lift each video frame from past frames only (see
            :meth:`~monopose.lifting.lifter.Lifter.lift_sequence`).
        placement: Lifters: ``"ray_fit"`` or ``"solve"`` (see :mod:`monopose.core.placement`).
    """
    architecture = str(getattr(module, "architecture", card.architecture if card else ""))
    family = _FAMILY_OF.get(architecture)
    if family is None:
        raise ValueError(f"module: architecture {architecture!r} belongs to no registered "
                         f"family; expected one of {', '.join(_FAMILY_OF)}")
    return _BUILDERS[family](module, card, dict(
        flip=flip, body_size=body_size, num_aug=num_aug, min_presence=min_presence,
        detector=detector, input_frame=input_frame, causal=causal, placement=placement))


def load_pose_model(
    name: str, weights_dir: str | os.PathLike[str] | None = None, *, flip: bool = True,
    body_size: str = "world_landmarks", num_aug: int = 1, min_presence: float = 0.0,
    detector: BlazePoseDetector | None = None, causal: bool = False, placement: str = "ray_fit",
) -> PoseModel:
    """The trained model ``name`` behind the :class:`PoseModel` interface (options: see
    :func:`pose_model_from_module`; each family uses those that concern it).

    Raises:
        ValueError: unknown name, bad option values, or weights that do not fit.
        FileNotFoundError: no trained weights (see :func:`available`).
    """
    module, card = load_model(name, weights_dir)
    return pose_model_from_module(module, card, flip=flip, body_size=body_size,
                                  num_aug=num_aug, min_presence=min_presence, detector=detector,
                                  causal=causal, placement=placement)


def _lifter(module: nn.Module, card: ModelCard | None, o: dict) -> PoseModel:
    return Lifter.from_module(module, card, flip=o["flip"], body_size=o["body_size"],
                              input_frame=o["input_frame"], causal=o["causal"],
                              placement=o["placement"])


def _context_lifter(module: nn.Module, card: ModelCard | None, o: dict) -> PoseModel:
    return ContextLifter.from_module(module, card, flip=o["flip"], body_size=o["body_size"],
                                     input_frame=o["input_frame"], placement=o["placement"])


def _metrabs(module: nn.Module, card: ModelCard | None, o: dict) -> PoseModel:
    return MetrabsEstimator(module, detector=o["detector"], num_aug=o["num_aug"],
                            min_presence=o["min_presence"], card=card)


# Each family's implementation of the interface, and the family of every architecture.
_BUILDERS: dict[str, Callable[[nn.Module, ModelCard | None, dict], PoseModel]] = {
    "lifting": _lifter, "capf": _context_lifter, "metrabs": _metrabs}
_FAMILY_OF: dict[str, str] = {
    arch: family for family, module in (("lifting", lifting_cards), ("capf", capf_cards),
                                        ("metrabs", metrabs_cards))
    for arch in module.ARCHITECTURES}
