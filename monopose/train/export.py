"""Export a trained model to ``<weights dir>/<name>.safetensors`` + ``<name>.json``.

The JSON (written by :func:`monopose.models.weights_io.save_weights`) carries the model card the
family gave (when there is one) and the training record: data sources and licence, task, steps,
wall time, final validation metrics and the full experiment config.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from monopose.models.architectures import build_model, count_parameters
from monopose.models.card import ModelCard, licence_for
from monopose.models.registry import DEFAULT_WEIGHTS_DIR
from monopose.models.weights_io import save_weights
from monopose.train.checkpoints import CHECKPOINT_KEY, model_state, read_checkpoint
from monopose.train.config import ExperimentConfig, config_from_dict, config_to_dict

__all__ = ["export_run", "export_model", "export_checkpoint", "training_record", "stage_record"]


def training_record(
    cfg: ExperimentConfig, global_step: int, train_time_s: float, val_metrics: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``training`` block stored with exported weights (licence of ``cfg.data.sources``)."""
    licence, commercial, _ = licence_for(cfg.data.sources)
    rec: dict[str, Any] = {
        "experiment": cfg.name,
        "task": cfg.task,
        "data_sources": list(cfg.data.sources),
        "data_cache": cfg.data.cache,
        "window": cfg.data.window,
        "steps": int(global_step),
        "batch_size": cfg.trainer.batch_size,
        "wall_time_s": round(float(train_time_s), 1),
        "final_val_metrics": {k: round(float(v), 3) for k, v in val_metrics.items()},
        "init_from": cfg.model.init_from,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "hardware": f"{os.cpu_count()} CPU cores, torch {torch.__version__}, "
                    f"{cfg.trainer.num_threads or torch.get_num_threads()} thread(s)",
        "config": config_to_dict(cfg),
        "licence": licence,
        "commercial_use": commercial,
    }
    pre = _pretraining(cfg.model.init_from)
    if pre:
        rec["pretraining"] = pre
    rec.update(extra or {})
    return rec


def _pretraining(init_from: str | None) -> dict[str, Any] | None:
    """Steps, wall time and data of what a run was initialised from (if readable): a checkpoint,
    or exported weights whose card (``<stem>.json`` beside them) carries their own training record
    (and, nested, the stages before it)."""
    if not init_from or not Path(init_from).is_file():
        return None
    if init_from.endswith(".safetensors"):
        return _exported_stage(Path(init_from))
    if not init_from.endswith(".ckpt"):
        return None
    try:
        ckpt = read_checkpoint(init_from)
    except ValueError:
        return None
    meta = ckpt[CHECKPOINT_KEY]
    exp = meta.get("experiment", {})
    return {
        "checkpoint": init_from,
        "experiment": exp.get("name"),
        "task": exp.get("task"),
        "data_sources": exp.get("data", {}).get("sources"),
        "steps": int(ckpt.get("global_step", 0)),
        "wall_time_s": round(float(meta.get("train_time_s", 0.0)), 1),
    }


def _exported_stage(weights: Path) -> dict[str, Any] | None:
    """The training record on the card of exported ``weights``, without its full config."""
    try:
        card = json.loads(weights.with_suffix(".json").read_text())["card"]
        training = dict(card["training"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return stage_record(weights, training)


def stage_record(weights: Path, training: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a card's ``training`` block that tell one stage from another (no config,
    but the run's seed)."""
    stage: dict[str, Any] = {"weights": str(weights)}
    for key in ("experiment", "task", "data_sources", "steps", "wall_time_s", "date",
                "init_from", "final_val_metrics", "pretraining", "soup"):
        if key in training:
            stage[key] = training[key]
    config = training.get("config")
    trainer = config.get("trainer") if isinstance(config, dict) else None
    if isinstance(trainer, dict) and trainer.get("seed") is not None:
        stage["seed"] = trainer["seed"]  # runs of one recipe differ by their seed: keep it
    return stage


def export_model(
    model: nn.Module, name: str, record: dict[str, Any], weights_dir: str | Path | None = None,
    sources: list[str] | None = None, input_frame: str | None = None,
    card: ModelCard | None = None,
) -> Path:
    """Save ``model`` under the name ``name`` (files ``<name>.safetensors`` + ``<name>.json``).

    Args:
        model: the trained network (its architecture registered).
        name: file stem and registry name (``mpm-lift-t1``).
        record: training record (see :func:`training_record`).
        weights_dir: target folder (default: the registry's weights folder).
        sources: training data sources (they decide the licence on the card).
        input_frame: the model's input frame for the card (default: the card's).
        card: the card to save, updated with the model's config, the record's window, the
            sources and the record; None saves a bare architecture + config.

    Returns:
        Path of the ``.safetensors`` file.
    """
    folder = Path(weights_dir) if weights_dir is not None else DEFAULT_WEIGHTS_DIR
    card_or_config: Any
    if card is None:
        card_or_config = {"architecture": getattr(model, "architecture", None),
                          "config": dict(getattr(model, "config", {}))}
    else:
        if not card.num_parameters:  # as the registry reports it: the card's own config
            card = dataclasses.replace(card, num_parameters=count_parameters(
                build_model(card.architecture, card.config)))
        card_or_config = dataclasses.replace(
            card, config=dict(getattr(model, "config", card.config)),
            window=int(record.get("window", card.window)),
            training_data=tuple(sources or card.training_data),
            training={**dict(card.training), **record},
            input_frame=input_frame or card.input_frame,
        )
    was_training = model.training
    model.eval()
    try:
        path = save_weights(model, card_or_config, folder / name, metadata=record)
    finally:
        model.train(was_training)
    for p in (path, path.with_suffix(".json")):
        os.chmod(p, 0o644)  # shipped files: readable by everyone (temp files are created 0600)
    return path


def export_run(model: nn.Module, cfg: ExperimentConfig, card: ModelCard | None,
               global_step: int, train_time_s: float, val_metrics: dict[str, float],
               facts: dict[str, Any] | None = None) -> Path:
    """Export the model of a finished run to ``cfg.export`` (name and folder)."""
    if not cfg.export.name:
        raise ValueError("export.name: no export name in the config")
    record = training_record(cfg, global_step, train_time_s, val_metrics, facts)
    return export_model(model, cfg.export.name, record, cfg.export.dir, list(cfg.data.sources),
                        cfg.data.input_frame, card)


def export_checkpoint(
    checkpoint: str | Path, name: str | None = None, weights_dir: str | Path | None = None,
    card: ModelCard | None = None,
) -> Path:
    """Export the model of a training checkpoint (``<run>/checkpoints/last.ckpt``).

    The architecture must be registered (a family's ``make_task`` or :mod:`monopose.zoo` does
    that). The final validation metrics come from ``<run>/summary.json`` when it exists.

    Raises:
        ValueError: unreadable checkpoint, or no export name in the argument or the config.
    """
    checkpoint = Path(checkpoint)
    ckpt = read_checkpoint(checkpoint)
    meta = ckpt[CHECKPOINT_KEY]
    cfg = config_from_dict(meta["experiment"], source=str(checkpoint))
    name = name or cfg.export.name
    if not name:
        raise ValueError(f"name: {checkpoint} has no export name; pass one")
    model = build_model(meta["architecture"], meta["model_config"])
    model.load_state_dict(model_state(ckpt))
    summary = checkpoint.parent.parent / "summary.json"
    val = json.loads(summary.read_text()).get("val_metrics", {}) if summary.is_file() else {}
    record = training_record(cfg, int(ckpt.get("global_step", 0)),
                             float(meta.get("train_time_s", 0.0)), val)
    return export_model(model, name, record, weights_dir if weights_dir is not None
                        else cfg.export.dir, list(cfg.data.sources), cfg.data.input_frame, card)
