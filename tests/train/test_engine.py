"""``monopose train CONFIG`` for every family's task: a few steps on tiny data, resume, export.

The lifters read a generated mocap cache, the context lifters a generated feature cache and
MeTRAbs a generated crop cache; each run goes through the command line, the engine and the
family's ``make_task``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from monopose.cli import app
from monopose.cli.train import make_task_for
from monopose.models.weights_io import load_weights
from monopose.train.config import TASKS, ConfigError, config_from_dict, load_config
from monopose.train.engine import read_checkpoint
from tests.capf.test_dataset import write_cache
from tests.metrabs.conftest import _one_thread  # noqa: F401  (tiny models, one thread)
from tests.metrabs.test_train import tiny_config as metrabs_config
from tests.metrabs.test_train import write_tiny_cache
from tests.train.conftest import tiny_config, tiny_mocap_cache, write_yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "monopose" / "train" / "configs"




def _train(*args: str) -> str:
    out = CliRunner().invoke(app, ["train", *map(str, args)])
    assert out.exit_code == 0, out.output
    return out.output


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def capf_config(tmp: Path, model: str = "capf-blazepose-t1", **overrides):
    config = {"capf-blazepose-t1": dict(patch=3, dim=16, context_heads=2, context_points=2,
                                        fusion_depth=1, joint_depth=1, heads=2),
              "poseformer-ctxfree-synth": dict(dim=16, depth=1, heads=2)}[model]
    data = {"name": f"tiny-{model}", "task": "capf",
            "model": {"name": model, "config": config},
            "data": {"cache": str(tmp / "features"), "sampler": {"flip_prob": 0.5},
                     "val_batches": 1, "val_batch_size": 4},
            "optim": {"lr": 1e-3, "warmup_steps": 1},
            "trainer": {"max_steps": 4, "batch_size": 4, "val_every_steps": 2,
                        "accelerator": "cpu", "precision": "32-true", "progress_bar": False,
                        "out_dir": str(tmp / "runs")},
            "export": {"name": model, "dir": str(tmp / "weights")}}
    data["trainer"].update(overrides)
    return config_from_dict(data)


def test_every_task_and_shipped_config_has_a_family():
    for task in TASKS:
        assert callable(make_task_for(task))
    with pytest.raises(ConfigError, match="dance"):
        make_task_for("dance")
    for path in CONFIG_DIR.glob("*.yaml"):
        cfg = load_config(path)
        assert cfg.task in TASKS, path
    tasks = {load_config(p).task for p in CONFIG_DIR.glob("*.yaml")}
    assert tasks == set(TASKS)


def test_lifting_through_the_command_resumes_and_exports(tmp_path):
    cache = tiny_mocap_cache(tmp_path / "mocap")
    cfg = tiny_config(tmp_path, **{"trainer.max_steps": 3, "data.cache": str(cache),
                                   "data.val_batch_size": 16, "export.name": "baseline-t1"})
    path = write_yaml(cfg, tmp_path / "lift.yaml")
    out = _train(path, "--no-export")
    run = tmp_path / "runs" / cfg.name
    assert "tiny-baseline-lift: 3 steps" in out and "val/mpjpe" in out
    assert _summary(run)["global_step"] == 3 and _summary(run)["exported"] is None
    # a second run on the same folder must say --resume
    again = CliRunner().invoke(app, ["train", str(path)])
    assert again.exit_code == 2 and "--resume" in again.output
    _train(path, "--resume", "--max-steps", 5)
    assert read_checkpoint(run / "checkpoints" / "last.ckpt")["global_step"] == 5
    assert len(list((run / "logs").glob("version_*"))) == 2  # one log folder per session
    summary = _summary(run)
    assert summary["global_step"] == 5 and summary["task"] == "lift"
    model, info = load_weights(summary["exported"])
    assert info["card"]["name"] == "baseline-t1" and info["metadata"]["steps"] == 5
    assert info["card"]["input_frame"] == cfg.data.input_frame
    assert model.config["width"] == 64


@pytest.mark.parametrize("model", ["capf-blazepose-t1", "poseformer-ctxfree-synth"])
def test_capf_through_the_command(tmp_path, model):
    rng = np.random.default_rng(0)
    write_cache(tmp_path / "features" / "train", rng, n=12, patch=3)
    write_cache(tmp_path / "features" / "val", rng, n=6, patch=3)
    cfg = capf_config(tmp_path, model)
    out = _train(write_yaml(cfg, tmp_path / "capf.yaml"), "--max-steps", 3)
    summary = _summary(tmp_path / "runs" / cfg.name)
    assert summary["global_step"] == 3 and summary["context"] == (model == "capf-blazepose-t1")
    assert summary["train_samples"] == 11 and summary["val_samples"] == 5
    flip = summary["val_metrics"]["val/mpjpe_flip"]
    assert flip > 0 and "val/mpjpe" in summary["val_metrics"] and "val/mpjpe_flip" in out
    loaded, info = load_weights(summary["exported"])
    assert info["card"]["name"] == model and info["metadata"]["final_val_metrics"][
        "val/mpjpe_flip"] == pytest.approx(flip, abs=1e-3)
    assert loaded.config["dim"] == 16


def test_capf_task_rejects_a_missing_cache(tmp_path):
    cfg = capf_config(tmp_path)
    out = CliRunner().invoke(app, ["train", str(write_yaml(cfg, tmp_path / "c.yaml"))])
    assert out.exit_code == 2 and "features-" in out.output


def test_metrabs_through_the_command(tmp_path):
    write_tiny_cache(tmp_path / "cache")
    cfg = metrabs_config(tmp_path, **{"trainer.max_steps": 3})
    path = write_yaml(cfg, tmp_path / "metrabs.yaml")
    out = _train(path, "--run-dir", tmp_path / "run", "--export-dir", tmp_path / "w2")
    assert "tiny-metro: 3 steps" in out and "val/mpjpe_rel" in out
    summary = _summary(tmp_path / "run")
    assert summary["exported"].startswith(str(tmp_path / "w2"))
    assert {"train/rel3d", "train/loss"} <= set(summary["train_metrics"])
    _train(path, "--run-dir", tmp_path / "run", "--resume", "--max-steps", 4, "--no-export")
    assert _summary(tmp_path / "run")["global_step"] == 4


def test_set_overrides_any_key(tmp_path):
    write_tiny_cache(tmp_path / "cache")
    cfg = metrabs_config(tmp_path, **{"trainer.max_steps": 2})
    path = write_yaml(cfg, tmp_path / "metrabs.yaml")
    _train(path, "--set", "trainer.max_steps=1", "--set", "data.val_batches=0", "--no-export")
    summary = _summary(tmp_path / "runs" / "tiny-metro")
    assert summary["global_step"] == 1 and summary["val_metrics"] == {}
    bad = CliRunner().invoke(app, ["train", str(path), "--set", "trainer.max_step=1"])
    assert bad.exit_code == 2 and "trainer.max_step" in bad.output
