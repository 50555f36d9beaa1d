"""DDP across processes: 2 CPU processes (gloo) x a few steps with ``strategy="ddp"``.

The same code path runs on many GPUs and nodes (``accelerator=gpu``, ``devices``, ``num_nodes``).
Run with ``pytest -m slow tests/train/test_ddp.py``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import lightning as L
    import torch.distributed as dist
    from tests.train.conftest import synthetic_factory, tiny_config
    from monopose.train.run import train

    out = Path(sys.argv[1])

    class Report(L.Callback):
        def on_train_end(self, trainer, pl_module):
            (out / f"rank{trainer.global_rank}.json").write_text(json.dumps({
                "rank": trainer.global_rank, "world_size": trainer.world_size,
                "step": trainer.global_step, "backend": dist.get_backend(),
                "strategy": type(trainer.strategy).__name__}))

    cfg = tiny_config(out, **{"trainer.max_steps": 4, "trainer.strategy": "ddp",
                              "trainer.devices": 2, "trainer.accelerator": "cpu"})
    train(cfg, source_factory=synthetic_factory, export=False, callbacks=[Report()])
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    script = tmp_path / "ddp_train.py"
    script.write_text(_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO), "MASTER_ADDR": "127.0.0.1",
           "MASTER_PORT": str(_free_port()), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(script), str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for r, rep in enumerate(reports):
        assert rep == {"rank": r, "world_size": 2, "step": 4, "backend": "gloo",
                       "strategy": "DDPStrategy"}
    assert (tmp_path / "runs" / "tiny-baseline-lift" / "checkpoints" / "last.ckpt").is_file()
