"""The `monopose` command line: a thin layer over the Python API.

Each group of verbs lives in its own module of this package and is registered here. The verb
modules import their heavy dependencies inside the commands, so `monopose --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from monopose import __version__
from monopose.cli import data as _data
from monopose.cli import evaluate as _evaluate
from monopose.cli import export as _export
from monopose.cli import predict as _predict
from monopose.cli import train as _train
from monopose.cli.render import render as _render
from monopose.cli.render import render_multi as _render_multi

# Plain help: typer's rich panels print `<bool>` after flags and eat `[render]`-style text.
app = typer.Typer(add_completion=False, no_args_is_help=True, help="Metric 3D human poses.",
                  rich_markup_mode=None)


@app.callback()
def _root() -> None:
    """monopose: photos and videos of people to metric 3D poses."""


@app.command()
def version() -> None:
    """Print the installed monopose version."""
    typer.echo(__version__)


app.command()(_predict.predict)
app.command()(_predict.demo)
app.command()(_predict.lift)
app.command()(_predict.models)
app.command("fetch-models")(_predict.fetch_models)
app.command("export-bvh")(_export.export_bvh)
app.command("export-onnx")(_export.export_onnx)
app.command("train")(_train.train_command)
app.command("soup")(_train.soup_command)
app.command("evaluate")(_evaluate.evaluate_command)
app.command("evaluate-photos")(_evaluate.evaluate_photos_command)

_data.app.command("render")(_render)
_data.app.command("render-multi")(_render_multi)
app.add_typer(_data.app, name="data", help="Build training data: mocap pairs, rendered people.")


VIZ_WORDS = ("png", "html")


def _looks_like_formats(arg: str) -> bool:
    """A token after ``--viz`` is its value unless it names a path: it has no path separator,
    no suffix and no file or folder of that name exists (``--viz foo`` is then refused as an
    unknown format, not read as an input)."""
    return (not arg.startswith("-") and "/" not in arg and "\\" not in arg
            and "." not in arg and not Path(arg).exists())


def _bare_viz_means_png(argv: list[str]) -> list[str]:
    """`--viz` may stand alone (PNG/MP4) or take formats (`--viz html`): click options cannot
    have an optional value, so a bare `--viz` gets its default value here.

    The token after `--viz` is its value when it is a list of formats or looks like one (see
    :func:`_looks_like_formats`); a path (`--viz photo.jpg`, `--viz ./holiday`) is an input.
    """
    out: list[str] = []
    for i, arg in enumerate(argv):
        out.append(arg)
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        if arg == "--viz" and (nxt is None or not (
                set(nxt.split(",")) <= set(VIZ_WORDS) or _looks_like_formats(nxt))):
            out.append("png")
    return out


def main() -> None:
    sys.argv[1:] = _bare_viz_means_png(sys.argv[1:])
    app()


if __name__ == "__main__":
    main()
