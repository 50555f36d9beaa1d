"""DDP across processes: ``monopose train`` with ``strategy: ddp`` on 2 CPU processes (gloo).

Lightning relaunches the same command line for rank 1; the same code path runs on many GPUs and
nodes (``accelerator=gpu``, ``devices``, ``num_nodes``). Run with
``pytest -m slow tests/train/test_ddp.py``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.conftest import tiny_config, tiny_mocap_cache, write_yaml

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    script = Path(sys.executable).parent / "monopose"
    if not script.is_file():
        pytest.skip(f"console script not installed next to {sys.executable}")
    cache = tiny_mocap_cache(tmp_path / "mocap")
    cfg = tiny_config(tmp_path, **{"trainer.max_steps": 4, "trainer.strategy": "ddp",
                                   "trainer.devices": 2, "data.cache": str(cache),
                                   "data.val_batch_size": 16})
    config = write_yaml(cfg, tmp_path / "ddp.yaml")
    env = {**os.environ, "PYTHONPATH": str(REPO), "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(script), "train", str(config), "--no-export"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "runs" / "tiny-baseline-lift"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["global_step"] == 4
    assert summary["val_metrics"]["val/mpjpe"] > 0
    assert (run / "checkpoints" / "last.ckpt").is_file()
    # both ranks finished the same run and reported it
    assert proc.stdout.count("tiny-baseline-lift: 4 steps") == 2, proc.stdout
