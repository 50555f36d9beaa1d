"""Weight averaging: one set of weights from several fine-tuning runs of one model.

Runs fine-tuned from the same weights (the same recipe with other seeds, or consecutive stages of
one recipe, each ending on a low learning rate) end in one basin of the loss. The average of
their weights is then a model as good as each of them on the training distribution, with less of
the part of each run's errors that is its seed's, which is what moves most off that distribution
(Wortsman et al., ICML 2022, "Model soups"; Izmailov et al., UAI 2018, stochastic weight
averaging). Averaging costs nothing at inference: the soup is one model of the same size.

Only models of one architecture and one constructor config mix. Integer tensors (counters such
as BatchNorm's ``num_batches_tracked``) are taken from the first ingredient; BatchNorm's running
statistics are averaged like the weights, an approximation (stochastic weight averaging
re-estimates them on data). The transformer lifters have neither.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from monopose.models.architectures import same_network
from monopose.models.card import ModelCard
from monopose.models.weights_io import load_weights, weights_paths
from monopose.train.export import export_model, stage_record

__all__ = ["average_states", "soup_weights"]


def average_states(states: Sequence[Mapping[str, Tensor]],
                   mix: Sequence[float] | None = None) -> dict[str, Tensor]:
    """Weighted mean of state dicts, tensor by tensor.

    Args:
        states: K state dicts with the same names and shapes.
        mix: K non-negative weights (normalised to sum 1); None = equal.

    Returns:
        The averaged state dict (floating tensors in float32 math, cast back to their dtype;
        integer tensors, counters, taken from the first state).

    Raises:
        ValueError: no states, a bad ``mix``, or states that differ in tensor names or shapes
            (naming the tensor and the index of the state).
    """
    if not states:
        raise ValueError("states: nothing to average")
    mix_t = _normalised_mix(mix, len(states))
    first = states[0]
    for i, state in enumerate(states[1:], start=1):
        if set(state) != set(first):
            diff = sorted(set(state) ^ set(first))
            raise ValueError(f"states[{i}]: tensor names differ from states[0] ({diff[:5]})")
    out: dict[str, Tensor] = {}
    for name, ref in first.items():
        for i, state in enumerate(states[1:], start=1):
            if state[name].shape != ref.shape:
                raise ValueError(f"states[{i}]: {name} has shape {tuple(state[name].shape)}, "
                                 f"states[0] {tuple(ref.shape)}")
        if not ref.is_floating_point():
            out[name] = ref.clone()
            continue
        acc = torch.zeros(ref.shape, dtype=torch.float32)
        for w, state in zip(mix_t.tolist(), states, strict=True):
            acc += w * state[name].detach().to(torch.float32)
        out[name] = acc.to(ref.dtype)
    return out


def _normalised_mix(mix: Sequence[float] | None, k: int) -> Tensor:
    if mix is None:
        return torch.full((k,), 1.0 / k, dtype=torch.float64)
    if len(mix) != k:
        raise ValueError(f"mix: expected {k} weights (one per ingredient), got {len(mix)}")
    t = torch.tensor([float(w) for w in mix], dtype=torch.float64)
    if not torch.isfinite(t).all() or (t < 0).any() or float(t.sum()) <= 0:
        raise ValueError(f"mix: expected finite non-negative weights with a positive sum, "
                         f"got {list(mix)}")
    return t / t.sum()


def soup_weights(ingredients: Sequence[str | Path], out_dir: str | Path,
                 name: str | None = None, mix: Sequence[float] | None = None) -> Path:
    """Average exported weights into ``<out_dir>/<name>.safetensors`` + ``.json``.

    The architecture must be registered (importing :mod:`monopose.zoo` registers every family's,
    as for :func:`monopose.train.export.export_checkpoint`).

    Args:
        ingredients: exported weights (``.safetensors`` with their ``.json`` beside, or the
            stem), two or more, of one architecture and config.
        out_dir: folder of the soup (created).
        name: file stem and card name; default the first ingredient's card name.
        mix: one weight per ingredient (normalised); None = equal.

    Returns:
        The ``.safetensors`` path. The card is the first ingredient's, its training data the
        union of every ingredient's (so the licence is the most restrictive), and its training
        record lists each ingredient's own record under ``soup``.

    Raises:
        FileNotFoundError: an ingredient (or its JSON) is missing.
        ValueError: fewer than two ingredients, a ``name`` with folders in it, unreadable
            weights, or ingredients of another architecture or config than the first (naming
            the file).
    """
    if len(ingredients) < 2:
        raise ValueError(f"ingredients: a soup needs at least two weights, got {len(ingredients)}")
    if name is not None and (not name.strip() or Path(name).name != name or name in (".", "..")):
        raise ValueError(f"name: expected a file stem without folders, got {name!r}")
    paths = [weights_paths(p)[0] for p in ingredients]
    modules, infos = zip(*(load_weights(p) for p in paths), strict=True)
    arch, config = infos[0]["architecture"], infos[0]["config"]
    for path, info in zip(paths[1:], infos[1:], strict=True):
        if not same_network(info["architecture"], info["config"], arch, config):
            raise ValueError(f"{path}: architecture {info['architecture']!r} with another config "
                             f"than {paths[0]} ({arch!r}); only one model's runs can be averaged")
    mix_t = _normalised_mix(mix, len(paths))
    model = modules[0]
    model.load_state_dict(average_states([m.state_dict() for m in modules], mix_t.tolist()))
    card = ModelCard.from_dict(infos[0]["card"]) if infos[0].get("card") else None
    sources = list(dict.fromkeys(s for info in infos for s in _sources(info)))  # union
    parts = [{**stage_record(p, _training(info)), "mix": round(float(w), 6)}
             for p, info, w in zip(paths, infos, mix_t.tolist(), strict=True)]
    record: dict[str, Any] = {
        "experiment": "soup",
        "task": (infos[0]["metadata"] or {}).get("task"),
        "data_sources": sources,
        "window": card.window if card else 1,
        # the ingredients' own stages together (the stages before them are in each record)
        "steps": sum(int(p.get("steps", 0)) for p in parts),
        "wall_time_s": round(sum(float(p.get("wall_time_s", 0.0)) for p in parts), 1),
        "soup": parts,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    stem = name or (card.name if card else paths[0].stem)
    if card is not None:
        # the ingredients' own records live under "soup"; none of them is the soup's
        card = dataclasses.replace(card, name=stem, weights_file=f"{stem}.safetensors",
                                   training={})
    return export_model(model, stem, record, out_dir, sources,
                        card.input_frame if card else None, card)


def _sources(info: Mapping[str, Any]) -> list[str]:
    card = info.get("card") or {}
    meta = info.get("metadata") or {}
    return list(card.get("training_data") or meta.get("data_sources") or [])


def _training(info: Mapping[str, Any]) -> Mapping[str, Any]:
    training = (info.get("card") or {}).get("training")
    return training if isinstance(training, Mapping) else {}
