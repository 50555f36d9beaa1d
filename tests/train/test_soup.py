"""Weight averaging (``monopose soup``): the mean of several runs' weights, with their records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from monopose.cli import app
from monopose.models.card import ModelCard
from monopose.models.weights_io import load_weights
from monopose.train.export import export_model
from monopose.train.soup import average_states, soup_weights
from monopose.zoo import build_model

MPM_SMALL = dict(dim=32, depth=2, heads=4, max_frames=1)


def _run(tmp_path: Path, name: str, seed: int, sources: list[str], arch: str = "mpm",
         config: dict | None = None) -> Path:
    """Exported weights of a tiny model with seed-dependent weights and a card."""
    torch.manual_seed(seed)
    config = dict(config or MPM_SMALL)
    model = build_model(arch, config).eval()
    card = ModelCard(name="tiny-lift", architecture=arch, config=config,
                     training_data=tuple(sources), input_frame="virtual_camera")
    record = {"experiment": name, "task": "lift", "steps": 10 * seed, "data_sources": sources,
              "config": {"much": "detail"}}
    return export_model(model, "tiny-lift", record, tmp_path / name, sources, None, card)


def test_average_is_the_weighted_mean_of_every_float_tensor() -> None:
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}
    torch.testing.assert_close(average_states([a, b])["w"], torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(average_states([a, b], [3, 1])["w"], torch.tensor([1.5, 3.0]))
    assert int(average_states([a, b])["n"]) == 3  # counters: the first state's
    half = {"w": torch.tensor([1.0, 2.0], dtype=torch.float16), "n": torch.tensor(0)}
    assert average_states([half, half])["w"].dtype == torch.float16


@pytest.mark.parametrize("states, mix, words", [
    ([], None, "nothing to average"),
    ([{"w": torch.zeros(2)}, {"v": torch.zeros(2)}], None, "names differ"),
    ([{"w": torch.zeros(2)}, {"w": torch.zeros(3)}], None, r"states\[1\]: w has shape"),
    ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [1.0], "expected 2 weights"),
    ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [1.0, -1.0], "non-negative"),
    ([{"w": torch.zeros(2)}, {"w": torch.zeros(2)}], [0.0, 0.0], "positive sum"),
])
def test_average_refuses_what_cannot_be_averaged(states, mix, words) -> None:
    with pytest.raises(ValueError, match=words):
        average_states(states, mix)


def test_soup_of_two_runs_loads_as_their_mean_with_both_records(tmp_path: Path) -> None:
    a = _run(tmp_path, "run-a", 1, ["cmu"])
    b = _run(tmp_path, "run-b", 2, ["cmu", "bandai"])
    out = soup_weights([a, b], tmp_path / "soup", mix=[1, 3])
    assert out == tmp_path / "soup" / "tiny-lift.safetensors"
    soup, info = load_weights(out)
    ma, _ = load_weights(a)
    mb, _ = load_weights(b)
    for name, t in soup.state_dict().items():
        torch.testing.assert_close(t, 0.25 * ma.state_dict()[name] + 0.75 * mb.state_dict()[name])
    card = info["card"]
    # the licence follows every ingredient's data: one of them is non-commercial
    assert card["training_data"] == ["cmu", "bandai"] and card["commercial_use"] is False
    assert card["input_frame"] == "virtual_camera" and card["name"] == "tiny-lift"
    parts = card["training"]["soup"]
    assert [p["experiment"] for p in parts] == ["run-a", "run-b"]
    assert [p["mix"] for p in parts] == [0.25, 0.75]
    assert all("config" not in p for p in parts)  # the records, not every setting again
    assert card["training"]["steps"] == 10 + 20  # the ingredients' own steps together


def test_soup_refuses_other_models_and_names_the_file(tmp_path: Path) -> None:
    a = _run(tmp_path, "run-a", 1, ["cmu"])
    wider = _run(tmp_path, "run-w", 2, ["cmu"], config={**MPM_SMALL, "dim": 64})
    with pytest.raises(ValueError, match="run-w.*another config"):
        soup_weights([a, wider], tmp_path / "soup")
    with pytest.raises(ValueError, match="at least two"):
        soup_weights([a], tmp_path / "soup")
    with pytest.raises(ValueError, match="name: expected a file stem"):
        soup_weights([a, a], tmp_path / "soup", name="../elsewhere")
    b = _run(tmp_path, "run-b", 2, ["cmu"])
    b.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match="run-b"):
        soup_weights([a, b], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()  # nothing written on a refusal


def test_soup_takes_weights_saved_before_a_keyword_with_its_default(tmp_path: Path) -> None:
    # the same network, its config written out in full by a newer release
    a = _run(tmp_path, "run-a", 1, ["cmu"])
    b = _run(tmp_path, "run-b", 2, ["cmu"], config={**MPM_SMALL, "size_input": False})
    out = soup_weights([a, b], tmp_path / "soup")
    assert out.is_file()
    # but a keyword away from its default is another network
    c = _run(tmp_path, "run-c", 3, ["cmu"], config={**MPM_SMALL, "size_input": True})
    with pytest.raises(ValueError, match="run-c.*another config"):
        soup_weights([a, c], tmp_path / "soup2")


def test_cli_soup_writes_the_average_and_reports_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    a = _run(tmp_path, "run-a", 1, ["cmu"])
    b = _run(tmp_path, "run-b", 2, ["cmu"])
    res = runner.invoke(app, ["soup", str(a), str(b), "--out", str(tmp_path / "s"),
                              "--name", "blend"])
    assert res.exit_code == 0, res.output
    assert "averaged 2 weights" in res.output
    info = json.loads((tmp_path / "s" / "blend.json").read_text())
    assert info["card"]["name"] == "blend"
    res = runner.invoke(app, ["soup", str(a), str(tmp_path / "nowhere.safetensors"),
                              "--out", str(tmp_path / "s2")])
    assert res.exit_code == 2 and "nowhere" in res.output
