"""Model cards: what a registered model is, what it was trained on and what its licence allows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["ModelCard", "DATA_SOURCES", "licence_for", "MOCAP_PAIRS", "RENDERED_PEOPLE"]

MOCAP_PAIRS = "mocap projected to 2D by virtual cameras"
RENDERED_PEOPLE = "rendered people posed by the mocap, detector 2D"

# Licence terms of the training data a model can be trained on (see ../shared/README.md).
DATA_SOURCES: dict[str, dict[str, Any]] = {
    "cmu": {
        "title": "CMU Graphics Lab Motion Capture Database (subset, retargeted BVH)",
        "short": "CMU mocap",
        "licence": "CMU mocap terms",
        "commercial": True,
        "note": "free for research and for inclusion in commercial products; the data must not "
        "be resold as such, even converted. Acknowledge: 'The data used in this project was "
        "obtained from mocap.cs.cmu.edu. The database was created with funding from NSF "
        "EIA-0196217.'",
    },
    "bandai": {
        "title": "Bandai Namco Research Motion datasets 1 and 2",
        "short": "Bandai Namco mocap",
        "licence": "CC BY-NC 4.0",
        "commercial": False,
        "note": "non-commercial use only, with attribution to Bandai Namco Research Inc.",
    },
}


def licence_for(sources: Iterable[str]) -> tuple[str, bool, str]:
    """``(licence, commercial_use, note)`` for a model trained on the given data ``sources``.

    The most restrictive source wins: anything trained on Bandai Namco data is non-commercial.
    """
    keys = list(dict.fromkeys(sources))
    unknown = [k for k in keys if k not in DATA_SOURCES]
    if unknown or not keys:
        raise ValueError(
            f"sources: expected a non-empty subset of {', '.join(DATA_SOURCES)}, got {keys}"
        )
    commercial = all(DATA_SOURCES[k]["commercial"] for k in keys)
    licence = " + ".join(DATA_SOURCES[k]["licence"] for k in keys)
    notes = "; ".join(f"{DATA_SOURCES[k]['title']}: {DATA_SOURCES[k]['note']}" for k in keys)
    verdict = (
        "The weights may be used in research and in commercial products (not resold as data)."
        if commercial
        else "The weights inherit the non-commercial restriction: research and other "
        "non-commercial use only."
    )
    return licence, commercial, f"{verdict} {notes}"


@dataclass(frozen=True)
class ModelCard:
    """Description of one registered model.

    Attributes:
        name: registry name, e.g. ``"mpm-lift-t27"``; also the weights file stem.
        architecture: key of :data:`monopose.models.architectures.ARCHITECTURES`.
        config: constructor keywords of the architecture.
        window: frames T per input window (1 = single image).
        layout: joint layout of inputs and outputs.
        training_data: data sources (keys of :data:`DATA_SOURCES`).
        trained_on: what the model saw in training, in words (mocap projections or renders).
        input_frame: ``"image"`` (lifts 2D as in the picture) or ``"virtual_camera"`` (lifts 2D
            turned to a camera looking at the person; needs the intrinsics, see
            :mod:`monopose.core.virtual_camera`).
        licence: licence of the weights as implied by the training data.
        commercial_use: whether the weights may be used commercially.
        licence_note: what the licence means in practice.
        weights_file: file name inside the weights folder.
        num_parameters: trainable parameters (0 = not yet counted).
        description: one or two sentences on what the model is.
        training: free-form training metadata (recipe, steps, metrics, date).
    """

    name: str
    architecture: str
    config: Mapping[str, Any]
    window: int = 1
    layout: str = "h36m17"
    training_data: tuple[str, ...] = ("cmu", "bandai")
    trained_on: str = MOCAP_PAIRS
    input_frame: str = "image"
    licence: str = ""
    commercial_use: bool = False
    licence_note: str = ""
    weights_file: str = ""
    num_parameters: int = 0
    description: str = ""
    training: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        licence, commercial, note = licence_for(self.training_data)
        # Licence fields always follow the training data, so a card cannot misstate them.
        object.__setattr__(self, "training_data", tuple(self.training_data))
        object.__setattr__(self, "licence", licence)
        object.__setattr__(self, "commercial_use", commercial)
        object.__setattr__(self, "licence_note", note)
        if not self.weights_file:
            object.__setattr__(self, "weights_file", f"{self.name}.safetensors")
        if self.window < 1:
            raise ValueError(f"window: expected >= 1, got {self.window}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["config"] = dict(self.config)
        d["training_data"] = list(self.training_data)
        d["training"] = dict(self.training)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Inverse of :meth:`to_dict`; unknown keys are ignored, derived licence fields recomputed.

        Raises:
            ValueError: if a required field is missing.
        """
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        for required in ("name", "architecture", "config"):
            if required not in kwargs:
                raise ValueError(f"model card: missing field {required!r}")
        if "training_data" in kwargs:
            kwargs["training_data"] = tuple(kwargs["training_data"])
        return cls(**kwargs)
