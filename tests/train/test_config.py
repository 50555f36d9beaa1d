"""Experiment configs: strict loading (unknown keys, wrong types) and the shipped YAML files."""

from __future__ import annotations

from pathlib import Path

import pytest

from monopose.train.config import ConfigError, config_from_dict, load_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "monopose" / "train" / "configs"


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    return p


def test_unknown_top_level_key_is_named(tmp_path):
    path = _write(tmp_path, "name: x\nmodle: {name: baseline}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "modle" in str(err.value) and str(path) in str(err.value)


def test_unknown_nested_key_is_named_with_its_section(tmp_path):
    path = _write(tmp_path, "name: x\ntrainer: {max_step: 10}\n")
    with pytest.raises(ConfigError, match=r"trainer\.max_step"):
        load_config(path)


def test_wrong_type_is_named(tmp_path):
    path = _write(tmp_path, "name: x\ntrainer: {batch_size: 'big'}\n")
    with pytest.raises(ConfigError, match=r"trainer\.batch_size: expected int"):
        load_config(path)
    # a bool is not an int, an int is a fine float
    with pytest.raises(ConfigError, match="data.window"):
        config_from_dict({"name": "x", "data": {"window": True}})
    cfg = config_from_dict({"name": "x", "optim": {"lr": 1}})
    assert isinstance(cfg.optim.lr, float)


def test_bad_values_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="task"):
        config_from_dict({"name": "x", "task": "dance"})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


def test_overrides_and_name_default(tmp_path):
    path = _write(tmp_path, "trainer: {max_steps: 10}\n")
    cfg = load_config(path, {"trainer.max_steps": 3, "data.sources": ["cmu"]})
    assert cfg.name == "exp" and cfg.trainer.max_steps == 3 and cfg.data.sources == ["cmu"]
    with pytest.raises(ConfigError, match="trainer.nope"):
        load_config(path, {"trainer.nope": 1})


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert set(cfg.data.sources) <= {"cmu", "bandai"}
    if cfg.export.name:  # a later stage of a model's training is named after it
        assert cfg.export.name == cfg.name or cfg.name.startswith(f"{cfg.export.name}-")


def test_detected_landmarks_is_checked():
    assert config_from_dict({"name": "x"}).data.detected_landmarks == "full"
    assert config_from_dict({"name": "x", "data": {"detected_landmarks": "heavy"}}
                            ).data.detected_landmarks == "heavy"
    with pytest.raises(ConfigError, match="data.detected_landmarks: expected full or heavy"):
        config_from_dict({"name": "x", "data": {"detected_landmarks": "huge"}})
