"""Writing a file whole or not at all (temp file in the same folder + rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "check_writable", "same_file", "refuse_overwriting_inputs"]


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
