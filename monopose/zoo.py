"""The model zoo: every family's architectures and cards, registered in one place.

Code that loads or lists models by name imports from here (``from monopose.zoo import
load_model``); the registry machinery itself (:mod:`monopose.models.registry`) knows no family.
Registration order is the order of ``monopose models``: lifters, context lifters, MeTRAbs.
"""

from __future__ import annotations

from monopose.capf import cards as capf_cards
from monopose.lifting import cards as lifting_cards
from monopose.metrabs import cards as metrabs_cards
from monopose.models.architectures import ARCHITECTURES, build_model, count_parameters
from monopose.models.card import ModelCard
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
    "register_model",
    "weights_path",
]

for _family in (lifting_cards, capf_cards, metrabs_cards):
    register_family(_family.ARCHITECTURES, _family.CARDS)
