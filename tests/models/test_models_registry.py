"""Model registry: cards, licence notes, creation, availability and loading by name."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from monopose.models.card import ModelCard, licence_for
from monopose.models.weights_io import save_weights
from monopose.zoo import (
    available,
    create_model,
    get_card,
    list_models,
    load_model,
    weights_path,
)

EXPECTED = {"baseline-t1", "poseformer-t1", "mpm-lift-t1", "mpm-lift-t27", "mpm-lift-t1-scratch"}


def test_every_card_is_complete_with_a_licence_note() -> None:
    cards = {c.name: c for c in list_models()}
    assert EXPECTED <= set(cards)
    for card in cards.values():
        assert card.layout == "h36m17"
        assert card.weights_file == f"{card.name}.safetensors"
        assert card.num_parameters > 10_000
        assert card.num_parameters * 4 < 20e6  # float32 file well under 20 MB
        assert card.licence and len(card.licence_note) > 40
        if "bandai" in card.training_data:
            assert not card.commercial_use and "non-commercial" in card.licence_note
    assert cards["mpm-lift-t27"].window == 27 and cards["mpm-lift-t1"].window == 1
    assert 3e6 < cards["baseline-t1"].num_parameters < 5e6


def test_licence_follows_training_data() -> None:
    licence, commercial, note = licence_for(["cmu"])
    assert commercial and "resold" in note
    licence, commercial, note = licence_for(["cmu", "bandai"])
    assert not commercial and "CC BY-NC 4.0" in licence
    card = ModelCard(name="x", architecture="baseline", config={}, training_data=("cmu",))
    assert card.commercial_use
    with pytest.raises(ValueError, match="sources"):
        licence_for(["h36m"])


def test_create_model_by_name_and_by_architecture() -> None:
    model = create_model("mpm-lift-t27")
    assert model.config["max_frames"] == 27
    small = create_model("mpm-lift-t27", dim=32, heads=4)
    assert small.config["dim"] == 32 and small.config["max_frames"] == 27
    assert create_model("poseformer", dim=16, heads=4).config["dim"] == 16
    with pytest.raises(ValueError, match="neither"):
        create_model("resnet")
    with pytest.raises(ValueError, match="config"):
        create_model("baseline", depth=3)


def test_load_model_from_a_weights_folder(tmp_path: Path) -> None:
    name = "poseformer-t1"
    assert not available(name, tmp_path)
    with pytest.raises(FileNotFoundError, match=name):
        load_model(name, tmp_path)
    torch.manual_seed(0)
    model = create_model(name).eval()
    card = get_card(name)
    save_weights(model, card, weights_path(name, tmp_path), metadata={"val_mpjpe_mm": 80.0})
    assert available(name, tmp_path)
    loaded, loaded_card = load_model(name, tmp_path)
    assert loaded_card.name == name and loaded_card.training["val_mpjpe_mm"] == 80.0
    assert loaded_card.num_parameters == card.num_parameters
    x = torch.rand(4, 1, 17, 2)
    torch.testing.assert_close(loaded(x, None), model(x, None), rtol=0, atol=0)


def test_load_model_refuses_weights_of_another_architecture(tmp_path: Path) -> None:
    other = create_model("baseline-t1", width=32)
    save_weights(other, {"config": other.config}, weights_path("mpm-lift-t1", tmp_path))
    with pytest.raises(ValueError, match="architecture"):
        load_model("mpm-lift-t1", tmp_path)


def test_unknown_name_raises() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        get_card("mpm-lift-t999")
