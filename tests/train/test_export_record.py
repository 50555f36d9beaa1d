"""The training record of exported weights keeps the stages they were started from."""

from __future__ import annotations

import json
from pathlib import Path

from monopose.train.config import config_from_dict
from monopose.train.export import training_record


def _card_beside(weights: Path, training: dict) -> None:
    weights.write_bytes(b"")
    weights.with_suffix(".json").write_text(json.dumps({"card": {"training": training}}))


def test_a_stage_started_from_exported_weights_records_their_stages(tmp_path: Path) -> None:
    first = {"experiment": "stage-1", "task": "lift", "steps": 100, "wall_time_s": 60.0,
             "pretraining": {"checkpoint": "runs/s0/last.ckpt", "steps": 50},
             "config": {"x": 1, "trainer": {"seed": 3}}}
    _card_beside(tmp_path / "a.safetensors", first)
    init = str(tmp_path / "a.safetensors")
    cfg = config_from_dict({"name": "stage-2", "model": {"name": "mpm-lift-t1", "init_from": init}})
    rec = training_record(cfg, global_step=10, train_time_s=5.0, val_metrics={})
    earlier = rec["pretraining"]
    assert earlier["experiment"] == "stage-1" and earlier["steps"] == 100
    assert earlier["pretraining"] == {"checkpoint": "runs/s0/last.ckpt", "steps": 50}
    assert "config" not in earlier  # the stages, not every setting again
    assert earlier["seed"] == 3  # but the seed that tells runs of one recipe apart
    # weights without a readable card: no record, no error
    (tmp_path / "b.safetensors").write_bytes(b"")
    cfg_b = config_from_dict({"name": "s", "model": {"name": "mpm-lift-t1",
                                                     "init_from": str(tmp_path / "b.safetensors")}})
    assert "pretraining" not in training_record(cfg_b, 1, 1.0, {})
