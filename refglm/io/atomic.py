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

from refglm.exceptions import OutputWriteError
from refglm.io.derivative_names import describe_output

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "copy_into_place",
    "move_file",
    "ENVIRONMENT_ERRNOS",
    "is_environment_error",
    "write_error",
]

# errno -> (what was found, the fix): faults of the user's environment, not of refglm.
_ENVIRONMENT = {
    errno.ENOSPC: ("no space left on the device", "free some space there, or choose another --out"),
    errno.EDQUOT: ("the disk quota exceeded", "free some of your quota, or choose another --out"),
    errno.EFBIG: (
        "a file too large for that filesystem",
        "choose an --out on another filesystem",
    ),
    errno.EROFS: ("a read-only filesystem", "choose a writable --out (or remount it read-write)"),
    errno.EACCES: (
        "no permission (permission denied)",
        "give yourself the permission (chmod, chown), or choose another --out",
    ),
    errno.EPERM: (
        "no permission (operation not permitted)",
        "give yourself the permission (chmod, chown), or choose another --out",
    ),
}
#: The errno values that mean the environment refused a write (full disk, read-only, ...).
ENVIRONMENT_ERRNOS = frozenset(_ENVIRONMENT)


def is_environment_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an OSError of the user's environment (:data:`ENVIRONMENT_ERRNOS`)."""
    return isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS


def write_error(path, what: str, exc: OSError, verb: str = "write") -> OutputWriteError:
    """The one-line error for ``exc`` raised while writing ``what`` to ``path``.

    ``<path>: expected to write <what>, found <cause> ([Errno 28] ENOSPC); <fix>.``
    """
    found, fix = _ENVIRONMENT.get(exc.errno, (exc.strerror or str(exc), "check the folder"))
    code = errno.errorcode.get(exc.errno, str(exc.errno))
    return OutputWriteError(
        f"{path}: expected to {verb} {what}, found {found} ([Errno {exc.errno}] {code}); {fix}."
    )


def _what(path: Path, nbytes: int) -> str:
    """``'12345 bytes (z map of the contrast)'``: what a message says is being written."""
    described = describe_output(path.name)
    return f"{nbytes} bytes ({described})" if described else f"{nbytes} bytes"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside ``path``, then rename it.

    ``os.replace`` is atomic on POSIX within one filesystem, so a reader sees
    either the old file or the new one, never half of it.

    A full disk, a read-only folder or a missing permission raises
    :class:`~refglm.exceptions.OutputWriteError` naming ``path`` and what was being
    written (:func:`write_error`); the temporary file is removed and ``path`` is as
    it was.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        if is_environment_error(exc):
            raise write_error(path, _what(path, len(payload)), exc) from exc
        raise
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if is_environment_error(exc):
            raise write_error(path, _what(path, len(payload)), exc) from exc
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
