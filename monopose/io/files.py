"""Writing a file whole or not at all (temp file in the same folder + rename)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["atomic_write", "write_json_atomic", "write_text_atomic", "check_writable", "same_file",
           "refuse_overwriting_inputs"]


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through symlinks, ``..`` and hard links too)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overwriting_inputs(out: Path, inputs: list[Path], argument: str = "out") -> Path:
    """Fail, naming ``argument``, when writing ``out`` would replace one of ``inputs``.

    Raises:
        ValueError: the output path is (a link to) an input file.
    """
    for path in inputs:
        if same_file(out, path):
            raise ValueError(f"{argument}: {out} is the input {path}; refusing to overwrite "
                             "an input, choose another output path")
    return Path(out)


def check_writable(path: Path, argument: str = "out") -> Path:
    """Fail early, naming ``argument``, when ``path`` cannot be written (before any work)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{argument}: {path} is a folder, expected a file path")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"{argument}: cannot create the folder {parent} ({exc.strerror})") from None
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{argument}: the folder {parent} is not writable")
    return path


def atomic_write(path: Path, write: Callable[[BinaryIO], object], argument: str = "out") -> Path:
    """Write ``path`` through ``write(fh)`` on a temp file next to it, then rename.

    Raises:
        ValueError: naming ``argument`` and the path when it cannot be written; no partial file
            is left behind.
    """
    path = check_writable(Path(path), argument)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise ValueError(f"{argument}: cannot write {path} ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        # mkstemp makes the file private (0600); give it the permissions of a normal new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise ValueError(f"{argument}: cannot write {path} ({exc.strerror})") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text_atomic(path: Path, text: str, argument: str = "path") -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole (temp file + rename)."""
    return atomic_write(Path(path), lambda fh: fh.write(text.encode("utf-8")), argument)


def write_json_atomic(path: Path, payload: Any, indent: int | None = None,
                      default: Callable[[Any], Any] | None = None, argument: str = "path"
                      ) -> Path:
    """Write ``payload`` as strict JSON to ``path`` whole (temp file + rename).

    ``indent=None`` writes compact JSON (results hold thousands of numbers); records meant to be
    read by people (run summaries, evaluation reports) use ``indent=2``. ``default`` converts what
    JSON cannot hold (``default=str`` for dates and paths in records); results use none, so an
    unexpected type is a ``TypeError``.

    Raises:
        ValueError: when the payload holds NaN or infinity (strict JSON has neither), naming
            ``path``; nothing is written then.
    """
    separators = (",", ":") if indent is None else None
    try:
        text = json.dumps(payload, indent=indent, separators=separators, allow_nan=False,
                          default=default)
    except ValueError as exc:
        raise ValueError(f"{path}: not written, it would hold a non-finite number ({exc})"
                         ) from None
    return write_text_atomic(Path(path), text + ("\n" if indent is not None else ""), argument)
