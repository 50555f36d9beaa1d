"""``python -m monopose.train CONFIG [--resume ...]``: the ``monopose train`` command on its own
(used by ``scripts/train_all.sh`` and by Lightning's DDP launcher, which re-runs this module)."""

from __future__ import annotations

import typer

from monopose.cli.train import train_command

if __name__ == "__main__":
    typer.run(train_command)
