"""Writing files that others read: whole or not at all.

A file is written to a temporary name in its own folder and renamed over the final name (`os.replace` is atomic
within a filesystem), so a reader, or a process restarted after a `kill -9` or a full disk, never finds a
half-written file under the final name: only the old file, the new one, or none.
"""
from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import UserError


class OutputError(UserError):
    """An output file cannot be written (folder missing, read-only or full); the message says which and why."""


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call `write(tmp)` to fill a temporary file beside `path`, then rename it to `path`. On any failure the
    temporary file is removed and `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; what is written here is meant to be read by others
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """`text` (UTF-8) to `path`, whole or not at all."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return Path(path)


def reason(exc: OSError) -> str:
    """An OSError in words for a person: what is wrong with the destination."""
    known = {errno.ENOSPC: "the disk is full", errno.EROFS: "the filesystem is read-only",
             errno.EACCES: "permission denied", errno.EPERM: "permission denied",
             errno.EDQUOT: "the disk quota is full",
             errno.ENOENT: "the folder does not exist", errno.ENOTDIR: "a part of the path is not a folder"}
    return known.get(exc.errno, exc.strerror or type(exc).__name__)


def check_writable(path: str | Path, what: str = "output", make_parents: bool = False) -> Path:
    """Refuse, before any work, an output `path` whose folder is missing or cannot take a new file there (read-only,
    no permission): a temporary file is made and removed in it, which is what `atomic_write` will do. A disk that
    fills meanwhile is only found at the write itself. `make_parents`: the writer creates missing folders, so only
    the nearest existing one is checked (`check_folder_writable`)."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise OutputError(f"cannot write the {what} to '{path}': it is a folder")
    if make_parents:
        _check_can_create_in(_nearest_existing(folder), path, what)
        return path
    if not folder.is_dir():
        raise OutputError(f"cannot write the {what} to '{path}': the folder '{folder}' does not exist")
    _check_can_create_in(folder, path, what)
    return path


def check_folder_writable(path: str | Path, what: str = "output folder") -> Path:
    """Refuse, before any work, a folder a command will create (with its parents) or write into when it is a file,
    lies under a file, or sits where no file can be created: found only at the first write otherwise (a traceback
    after the model was built and the data decoded)."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write the {what} to '{path}': it is a file, not a folder")
    _check_can_create_in(_nearest_existing(path), path, what)
    return path


def _nearest_existing(path: Path) -> Path:
    """`path`, or the nearest of its parents that exists."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_can_create_in(folder: Path, path: Path, what: str) -> None:
    if not folder.is_dir():
        raise OutputError(f"cannot write the {what} to '{path}': '{folder}' is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise OutputError(f"cannot write the {what} to '{path}': {reason(exc)}") from exc
    os.close(fd)
    os.unlink(probe)
