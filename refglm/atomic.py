"""Atomic writes: files written whole or not at all, output folders staged.

:func:`atomic_write_bytes` writes a file beside its destination and renames
it into place; :func:`staged_output_dir` stages a run's outputs in a hidden
folder and moves them into ``--out`` only when the run succeeds. No nibabel
here: :func:`refglm.io.save_image` encodes an image and calls
:func:`atomic_write_bytes`. Re-exported by :mod:`refglm.io`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from refglm.exceptions import InputError

__all__ = ["atomic_write_bytes", "atomic_write_text", "staged_output_dir"]


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


# ------------------------------------------------------------------- staged output folders

_STAGING_SUFFIX = ".staging"
_STAGING_RANDOM = re.compile(r"^[a-z0-9_]{8}$")


def _host_tag() -> str:
    """This machine's name made safe for a file name (letters, digits and '-')."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (a zombie counts as alive)."""
    if pid <= 0:
        return True  # never treat a malformed name as dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _stale_staging_dirs(anchor: Path, name: str) -> list[Path]:
    """Staging folders of ``name`` in ``anchor`` left by dead refglm runs on this machine.

    A staging folder is named ``.<name>.<host>-<pid>.<random>.staging``; it is
    stale when ``<host>`` is this machine and no process ``<pid>`` exists (the
    run was killed with SIGKILL, or the machine lost power). Folders of live
    processes (including this one), of other machines, or not named this way
    are never returned.
    """
    host = _host_tag()
    prefix = f".{name}.{host}-"
    stale = []
    try:
        entries = list(anchor.iterdir())
    except OSError:
        return []
    for entry in entries:
        entry_name = entry.name
        if not (entry_name.startswith(prefix) and entry_name.endswith(_STAGING_SUFFIX)):
            continue
        middle = entry_name[len(prefix) : -len(_STAGING_SUFFIX)]
        pid_text, dot, random_part = middle.partition(".")
        if not (dot and pid_text.isdigit() and _STAGING_RANDOM.match(random_part)):
            continue
        pid = int(pid_text)
        if pid == os.getpid() or _pid_alive(pid):
            continue
        if entry.is_dir() and not entry.is_symlink():
            stale.append(entry)
    return sorted(stale)


def _nearest_existing(path: Path) -> Path:
    """``path`` (absolute) itself or its nearest ancestor that exists."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or "/")


def _check_out(out: Path, shown) -> Path:
    """Check that ``out`` (absolute) can become the output folder; return where to stage.

    ``shown`` is the path as the user gave it, for the messages.
    """
    if out.exists() and not out.is_dir():
        raise InputError(
            f"--out {shown}: expected a folder, found an existing file; choose another path "
            "(refglm never overwrites a file with a folder)."
        )
    if os.path.islink(out) and not out.exists():
        raise InputError(
            f"--out {shown}: expected a folder, found a broken symbolic link; remove it or "
            "choose another path."
        )
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError(
                f"--out {shown}: expected a writable folder, found one without write "
                "permission; choose a writable folder."
            )
        return out.parent
    anchor = _nearest_existing(out.parent)
    if not anchor.is_dir():
        raise InputError(
            f"--out {shown}: expected a folder path, found that {anchor} is an existing file, "
            "so no folder can be created under it; choose another path."
        )
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise InputError(
            f"--out {shown}: expected a folder that can be created, found {anchor} without "
            "write permission; choose a writable location."
        )
    return anchor


def _merge_into(stage: Path, out: Path, shown) -> None:
    """Move the files of ``stage`` into the existing folder ``out`` (atomic per file).

    Every destination is checked before the first file moves, so that a
    file-versus-folder clash leaves ``out`` untouched.
    """
    entries = sorted(stage.rglob("*"))
    for src in entries:
        dest = out / src.relative_to(stage)
        is_dir = src.is_dir() and not src.is_symlink()
        if dest.exists() and dest.is_dir() != is_dir:
            raise InputError(
                f"--out {shown}: expected {dest} to be a {'folder' if is_dir else 'file'} "
                f"(refglm writes it), found a {'file' if is_dir else 'folder'}; move it away."
            )
    for src in entries:
        dest = out / src.relative_to(stage)
        if src.is_dir() and not src.is_symlink():
            dest.mkdir(exist_ok=True)
        else:
            os.replace(src, dest)


@contextlib.contextmanager
def staged_output_dir(out_dir):
    """Stage a run's outputs in a hidden folder; move them into ``out_dir`` on success.

    The outputs are written into a staging folder
    ``.<name>.<host>-<pid>.<random>.staging`` beside ``out_dir`` (in its
    nearest existing ancestor when ``out_dir`` and its parents do not exist
    yet, so that a failed run creates no folder at all). When the block
    finishes, a new ``out_dir`` is created by renaming the staging folder
    (one atomic step); an existing one receives the files one by one, each
    by an atomic ``os.replace`` within one filesystem, and keeps its other
    files. A block that raises, or is interrupted (Ctrl-C, SIGTERM in the
    CLI), leaves ``out_dir`` exactly as it was and removes the staging
    folder.

    A run killed with SIGKILL cannot clean up: its staging folder stays
    behind, hidden. Nothing reads a staging folder but the run that made it;
    the next run staging into the same place removes those of dead
    processes on this machine (see ``_stale_staging_dirs``), never one of a
    live run or of another machine.

    Parameters
    ----------
    out_dir : str or path-like
        The output folder (``--out``).

    Yields
    ------
    stage : Path
        The staging folder to write into.

    Raises
    ------
    InputError
        When ``out_dir`` is an existing file, lies under a file, or cannot
        be written (checked before the block runs).
    """
    shown = out_dir
    out = Path(os.path.abspath(out_dir))
    try:
        anchor = _check_out(out, shown)
    except OSError as exc:  # e.g. a name too long for the filesystem
        raise InputError(
            f"--out {shown}: expected a usable folder path, found one the system refuses "
            f"({exc.strerror or exc}); choose a shorter or simpler path."
        ) from None
    for stale in _stale_staging_dirs(anchor, out.name):
        shutil.rmtree(stale, ignore_errors=True)
    try:
        stage = Path(
            tempfile.mkdtemp(
                prefix=f".{out.name}.{_host_tag()}-{os.getpid()}.",
                suffix=_STAGING_SUFFIX,
                dir=anchor,
            )
        )
    except OSError as exc:
        raise InputError(
            f"--out {shown}: expected a writable location, found that a folder cannot be "
            f"created in {anchor} ({exc.strerror or exc}); choose a writable folder."
        ) from None
    try:
        yield stage
        os.chmod(stage, 0o777 & ~_umask())
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(stage, out)  # atomic; fails if out appeared meanwhile
            except OSError:
                if not out.is_dir():
                    raise
                _merge_into(stage, out, shown)
        elif not out.is_dir():
            raise InputError(
                f"--out {shown}: expected a folder, found a file created during the run; "
                "nothing was written. Choose another path."
            )
        else:
            _merge_into(stage, out, shown)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
