"""Atomic files: written whole or not at all, moved into place whole.

:func:`atomic_write_bytes` writes a file beside its destination and renames
it into place; :func:`move_file` moves one into place (a rename, or across
filesystems a copy beside the destination renamed into place). Folders are
:mod:`.staging`'s. No nibabel here: :func:`refglm.io.save_image` encodes an
image and calls :func:`atomic_write_bytes`.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "copy_into_place", "move_file"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside ``path``, then rename it.

    ``os.replace`` is atomic on POSIX within one filesystem, so a reader sees
    either the old file or the new one, never half of it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def copy_into_place(src: Path, dest: Path) -> None:
    """Copy ``src`` to a temporary file beside ``dest``, then rename it: atomic as a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh, open(src, "rb") as source:
            shutil.copyfileobj(source, fh, 1 << 20)
            fh.flush()
            os.fsync(fh.fileno())
        shutil.copymode(src, tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    src.unlink()


def move_file(src: Path, dest: Path) -> None:
    """``os.replace``; across filesystems (EXDEV) a copy beside ``dest`` renamed into place.

    Either way ``dest`` is at every moment the old file or the whole new one.
    """
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        copy_into_place(src, dest)
