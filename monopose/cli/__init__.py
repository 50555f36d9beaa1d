"""The `monopose` command line: a thin layer over the Python API.

Each group of verbs lives in its own module of this package and is registered here. The verb
modules import their heavy dependencies inside the commands, so `monopose --help` stays fast.
"""

from __future__ import annotations

import typer

from monopose.cli import data as _data
from monopose.cli import predict as _predict
from monopose.cli.render import render as _render

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Metric 3D human poses.")


@app.callback()
def _root() -> None:
    """monopose: photos and videos of people to metric 3D poses."""


@app.command()
def version() -> None:
    """Print the installed monopose version."""
    from monopose import __version__

    typer.echo(__version__)


app.command()(_predict.predict)
app.command()(_predict.demo)
app.command()(_predict.lift)
app.command()(_predict.models)

_data.app.command("render")(_render)
app.add_typer(_data.app, name="data", help="Build training data: mocap pairs, rendered people.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
