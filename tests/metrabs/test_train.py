"""MeTRAbs training through the Lightning engine on a tiny generated crop cache.

The cache holds random "feature maps" whose first channels encode the joints' crop positions,
so a head can learn them; the tests check the engine wiring (losses, warm-up of the absolute
term, export through the registry's weights format, resume, DDP), not accuracy.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from monopose.metrabs.cache import load_crop_cache
from monopose.train.config import config_from_dict

REPO = Path(__file__).resolve().parents[2]


def write_tiny_cache(folder: Path, n: int = 48, seed: int = 0) -> None:
    """``crops-00000.npz`` with the cache's keys and shapes; labels from a random standing pose
    in front of a 256 px crop camera."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    f = 300.0
    K = np.array([[f, 0, 127.5], [0, f, 127.5], [0, 0, 1]], np.float32)
    base = np.array([[0, 0, 0], [-130, 0, 0], [-130, 450, 0], [-130, 880, 0], [130, 0, 0],
                     [130, 450, 0], [130, 880, 0], [0, -230, 0], [0, -480, 0], [0, -580, -30],
                     [0, -700, 0], [170, -460, 0], [180, -180, 0], [190, 80, 0],
                     [-170, -460, 0], [-180, -180, 0], [-190, 80, 0]], np.float64)
    pose = base[None] + rng.normal(0, 40, (n, 17, 3))
    pose[..., 2] += rng.uniform(2500, 3500, (n, 1))
    kp = pose[..., :2] / pose[..., 2:] * f + 127.5
    levels = []
    for side, ch in ((32, 48), (16, 88), (8, 144)):
        lv = rng.normal(0, 0.1, (n, side, side, ch)).astype(np.float16)
        cells = np.clip((kp / 256 * side).astype(int), 0, side - 1)
        for j in range(17):  # a bump per joint in channel j
            lv[np.arange(n), cells[:, j, 1], cells[:, j, 0], j] = 3.0
        levels.append(lv)
    np.savez(folder / "crops-00000.npz", level32=levels[0], level16=levels[1], level8=levels[2],
             kp2d_px=kp.astype(np.float32), pose3d_mm=pose.astype(np.float32),
             in_view=np.ones((n, 17), bool), K=np.repeat(K[None], n, 0),
             truncation=np.zeros(n, np.float32), presence=np.ones(n, np.float32),
             keep_fraction=np.ones(n, np.float32), sample=np.arange(n),
             flipped=np.zeros(n, bool), ids=np.array([f"cmu/x/y/{i}" for i in range(n)]))


def tiny_config(tmp: Path, head: str = "metro", **overrides) -> object:
    data = {
        "name": f"tiny-{head}", "task": "metrabs",
        "model": {"name": "metrabs", "config": {"backbone": "blazepose", "head": head,
                                                "width": 16}},
        "data": {"sources": ["cmu"], "sampler": {"train": str(tmp / "cache"),
                                                  "val": str(tmp / "cache")},
                 "val_batches": 1, "val_batch_size": 16},
        "loss": {"abs_start_step": 3},
        "optim": {"lr": 3e-3, "warmup_steps": 1},
        "trainer": {"max_steps": 6, "batch_size": 8, "val_every_steps": 3, "accelerator": "cpu",
                    "precision": "32-true", "progress_bar": False, "out_dir": str(tmp / "runs")},
        "export": {"name": f"tiny-{head}", "dir": str(tmp / "weights")},
    }
    for key, value in overrides.items():
        node = data
        *path, last = key.split(".")
        for p in path:
            node = node[p]
        node[last] = value
    return config_from_dict(data)


def test_tiny_cache_loads(tmp_path):
    write_tiny_cache(tmp_path / "cache")
    data = load_crop_cache(tmp_path / "cache")
    assert len(data) == 48 and data.levels[0].shape == (48, 32, 32, 48)


def _train(cfg, run_dir, **kw):
    from monopose.metrabs.training import make_task
    from monopose.train.engine import train

    return train(cfg, make_task, run_dir=run_dir, **kw)


@pytest.mark.parametrize("head", ["metro", "2.5d"])
def test_training_exports_loadable_weights(tmp_path, head):
    from monopose.models.weights_io import load_weights

    torch.set_num_threads(1)
    write_tiny_cache(tmp_path / "cache")
    cfg = tiny_config(tmp_path, head)
    result = _train(cfg, tmp_path / "run")
    assert result.global_step == 6
    logged = set(result.train_metrics)
    assert "train/rel3d" in logged and "train/proj2d" in logged
    # the absolute term is on after the warm-up, for the metro head only
    assert ("train/abs3d" in logged) == (head == "metro")
    assert ("val/mpjpe_rel" in result.val_metrics) == (head == "metro")
    assert "val/err2d_px" in result.headline
    module, info = load_weights(result.exported)
    assert module.head_name == head and info["config"]["width"] == 16
    # a registered card or, for an unregistered name, a plain card of the model
    assert info["card"]["name"] == f"tiny-{head}" and info["card"]["architecture"] == "metrabs"
    assert info["metadata"]["steps"] == 6 and info["metadata"]["task"] == "metrabs"
    data = load_crop_cache(tmp_path / "cache")
    from monopose.metrabs.cache import crop_batch

    b = crop_batch(data, np.arange(4))
    out = module(*b["inputs"])
    assert out.coords3d_rel_mm.shape == (4, 17, 3)
    assert torch.allclose(out.coords3d_rel_mm[:, 0], torch.zeros(4, 3))


def test_resume_continues_from_last_checkpoint(tmp_path):
    torch.set_num_threads(1)
    write_tiny_cache(tmp_path / "cache")
    _train(tiny_config(tmp_path, **{"trainer.max_steps": 3}), tmp_path / "run", export=False)
    result = _train(tiny_config(tmp_path, **{"trainer.max_steps": 5}), tmp_path / "run",
                    resume=True, export=False)
    assert result.global_step == 5


def test_missing_training_folder_is_named(tmp_path):
    cfg = tiny_config(tmp_path)
    with pytest.raises(ValueError, match="cache"):
        _train(cfg, tmp_path / "run")


def monopose_command() -> list[str]:
    """The ``monopose`` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "monopose"
    if not script.is_file():
        pytest.skip(f"console script not installed next to {sys.executable}")
    return [str(script)]


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    """``monopose train`` with ``strategy: ddp``: Lightning relaunches the command per rank."""
    import yaml

    write_tiny_cache(tmp_path / "cache")
    cfg = tiny_config(tmp_path, **{"trainer.max_steps": 4, "trainer.strategy": "ddp",
                                   "trainer.devices": 2, "data.val_batches": 0})
    from monopose.train.config import config_to_dict

    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config_to_dict(cfg)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO), "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(port), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([*monopose_command(), "train", str(path), "--run-dir",
                           str(tmp_path / "run"), "--no-export"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 4
    assert (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
