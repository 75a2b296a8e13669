"""Staged output folders: a run's outputs reach ``--out`` whole, or not at all.

:func:`staged_output_dir` stages a run's outputs in a hidden folder and moves
them into ``--out`` only when the run succeeds, each file atomically
(:func:`refglm.io.atomic.move_file`); :func:`_signals_deferred` holds Ctrl-C
and SIGTERM until every file has moved, and :func:`out_state` says, for an
error message, what ``--out`` then holds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path

from refglm.exceptions import InputError, OutputWriteError
from refglm.io.atomic import _umask, is_environment_error, move_file, write_error
from refglm.io.files import why_not_found

__all__ = ["staged_output_dir", "out_state"]

# ------------------------------------------------------------------- moving into --out

# Set on an exception leaving staged_output_dir after --out was changed; read by out_state.
_STATE_ATTRIBUTE = "refglm_out_state"
_UNCHANGED = "the output folder was left as it was"


def out_state(exc: BaseException) -> str:
    """What --out holds after ``exc`` left :func:`staged_output_dir`, as a phrase for messages.

    ``"the output folder was left as it was"`` unless the exception came
    after files had been moved into --out: an interrupt (Ctrl-C, SIGTERM)
    deferred until the outputs were complete, or a failure while moving.
    """
    return getattr(exc, _STATE_ATTRIBUTE, _UNCHANGED)


def _set_state(exc: BaseException, state: str) -> None:
    if not hasattr(exc, _STATE_ATTRIBUTE):
        with contextlib.suppress(AttributeError, TypeError):
            setattr(exc, _STATE_ATTRIBUTE, state)


# Signals deferred while files move into --out: Ctrl-C, kill (SIGTERM), a closed terminal.
_DEFERRED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def _signals_deferred():
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then deliver them.

    Their Python handlers are replaced by one that records the signal (Python
    runs handlers in the main thread whatever thread received the signal, so
    this holds them for the whole process); on exit the previous handlers are
    restored and each recorded signal is raised again: KeyboardInterrupt, the
    CLI's SIGTERM handler or the default action happens after the block,
    never in its middle. Outside the main thread the block runs unprotected;
    handlers not set from Python are left alone; SIGKILL cannot be deferred.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def record(signum, frame):
        received.append(signum)

    previous = {}
    try:
        for signum in _DEFERRED_SIGNALS:
            handler = signal.getsignal(signum)
            if handler is None:
                continue  # installed outside Python: cannot be restored
            try:
                signal.signal(signum, record)
            except (OSError, ValueError):
                continue
            previous[signum] = handler
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)  # runs the restored handler now


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


def _check_not_empty(shown) -> None:
    """Refuse an empty or blank ``--out`` (``os.path.abspath('')`` is the working directory)."""
    try:
        text = os.fsdecode(shown)
    except TypeError:
        raise InputError(
            f"--out (out_dir): expected a folder path, found {type(shown).__name__} {shown!r}; "
            "pass a path such as results."
        ) from None
    if not text.strip():
        found = "an empty string" if not text else f"only whitespace ({text!r})"
        raise InputError(
            f"--out (out_dir): expected a folder path, found {found}; pass a folder such as "
            "--out results (or --out . to write into the current folder on purpose)."
        )


def _check_out(out: Path, shown) -> Path:
    """Check that ``out`` (absolute) can become the output folder; return where to stage.

    ``shown`` is the path as the user gave it, for the messages. The place
    returned is ``out``'s parent or ``out`` itself when ``out`` is an existing
    folder (see :func:`_staging_place`), its nearest existing ancestor otherwise.
    """
    _check_not_empty(shown)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"--out {shown}: expected a folder, found an existing file; choose another path "
            "(refglm never overwrites a file with a folder)."
        )
    if os.path.islink(out) and not out.exists():
        found = why_not_found(out) or "a broken symbolic link"
        if found.startswith("no such file"):
            found = "a broken symbolic link"
        raise InputError(
            f"--out {shown}: expected a folder, found {found}; remove it or choose another path."
        )
    if out.is_dir():
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError(
                f"--out {shown}: expected a writable folder, found {_unwritable(out)}; "
                "choose a writable folder."
            )
        return _staging_place(out)
    anchor = _nearest_existing(out.parent)
    if not anchor.is_dir():
        raise InputError(
            f"--out {shown}: expected a folder path, found that {anchor} is an existing file, "
            "so no folder can be created under it; choose another path."
        )
    if not os.access(anchor, os.W_OK | os.X_OK):
        raise InputError(
            f"--out {shown}: expected a folder that can be created, found {anchor}, "
            f"{_unwritable(anchor)}; choose a writable location."
        )
    return anchor


def _unwritable(folder: Path) -> str:
    """Why ``folder`` cannot be written: a read-only filesystem, or no write permission."""
    try:
        read_only = bool(os.statvfs(folder).f_flag & getattr(os, "ST_RDONLY", 1))
    except (OSError, AttributeError):
        read_only = False
    if read_only:
        return "a folder on a read-only filesystem"
    return "a folder without write permission"


# Staging folders inside an existing --out are named after refglm, not after --out:
# ``.refglm.<host>-<pid>.<random>.staging``.
_INSIDE_TAG = "refglm"


def _same_filesystem(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` (existing) are on one device, so a rename between them works."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _staging_place(out: Path) -> Path:
    """Where to stage for the existing folder ``out``: beside it if possible, else inside it.

    Beside it when its parent is on the same filesystem and writable and
    ``out`` is not a mount point (a run killed with SIGKILL then leaves
    ``out`` untouched); otherwise (a Docker bind mount, a read-only parent)
    inside ``out``, the one place certain to be on its filesystem:
    ``os.replace`` cannot move a file across filesystems (EXDEV).
    """
    parent = out.parent
    if (
        not os.path.ismount(out)
        and _same_filesystem(out, parent)
        and os.access(parent, os.W_OK | os.X_OK)
    ):
        return parent
    return out


def _staging_tag(place: Path, out: Path) -> str:
    """The name part of the staging folders in ``place``: ``out``'s name, or refglm's inside it."""
    return _INSIDE_TAG if place == out else out.name


def _merge_into(stage: Path, out: Path, shown) -> None:
    """Move the files of ``stage`` into the existing folder ``out`` (atomic per file).

    Every destination is checked first (a file-versus-folder clash, a
    read-only subfolder leave ``out`` untouched); the moves run with signals
    deferred, so an interrupt cannot leave some files new and others old. A
    failure while moving (a full disk during a cross-filesystem copy) can:
    the exception then says so (:func:`out_state`).
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
        if is_dir and dest.is_dir() and not os.access(dest, os.W_OK | os.X_OK):
            raise InputError(
                f"--out {shown}: expected {dest} to be a writable folder (refglm writes into "
                "it), found one without write permission; make it writable or move it away."
            )
    changed, done = 0, False
    try:
        with _signals_deferred():
            for src in entries:
                dest = out / src.relative_to(stage)
                if src.is_dir() and not src.is_symlink():
                    if not dest.is_dir():
                        dest.mkdir()
                        changed += 1
                else:
                    move_file(src, dest)
                    changed += 1
            done = True
    except BaseException as exc:
        if changed and not done:
            _set_state(
                exc,
                f"the output folder {shown} was left with {changed} of the run's {len(entries)} "
                "files and folders moved in, the others as they were; run the command again",
            )
        raise


def _commit(stage: Path, out: Path, shown) -> None:
    """Make the staged outputs ``out``'s: rename ``stage`` to a new ``out``, or merge."""
    os.chmod(stage, 0o777 & ~_umask())
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(stage, out)  # atomic; fails if out appeared meanwhile
            return
        except OSError as exc:
            if exc.errno == errno.EXDEV and not os.path.lexists(out):
                out.mkdir()  # another filesystem between the two: move file by file
            elif not out.is_dir():
                raise
        _merge_into(stage, out, shown)
    elif not out.is_dir():
        raise InputError(
            f"--out {shown}: expected a folder, found a file created during the run; "
            "nothing was written. Choose another path."
        )
    else:
        _merge_into(stage, out, shown)


@contextlib.contextmanager
def staged_output_dir(out_dir):
    """Stage a run's outputs in a hidden folder; move them into ``out_dir`` on success.

    The outputs are written into a staging folder
    ``.<name>.<host>-<pid>.<random>.staging``: beside ``out_dir`` (in its
    nearest existing ancestor when ``out_dir`` and its parents do not exist
    yet, so that a failed run creates no folder at all). An existing
    ``out_dir`` that is a mount point (a Docker bind mount), on another
    filesystem than its parent, or under a read-only parent gets it inside
    itself instead, named ``.refglm.<host>-<pid>.<random>.staging``, since
    files can only be renamed within one filesystem (``_staging_place``).

    When the block finishes, a new ``out_dir`` is created by renaming the
    staging folder (one atomic step); an existing one receives the files
    one by one, each by an atomic ``os.replace`` (a copy renamed into place
    across filesystems), and keeps its other files. Ctrl-C, SIGTERM and
    SIGHUP arriving while the files move are delivered once they all have
    moved, so --out never mixes two runs' files; the exception then carries
    that state (:func:`out_state`). A block that raises, or is interrupted
    before that point, leaves ``out_dir`` exactly as it was and removes the
    staging folder.

    A run killed with SIGKILL cannot clean up: its staging folder stays
    behind, hidden. Nothing reads a staging folder but the run that made it;
    the next run with the same ``out_dir`` removes those of dead processes
    on this machine, in both places (see ``_stale_staging_dirs``), never one
    of a live run or of another machine.

    Parameters
    ----------
    out_dir : str or path-like
        The output folder (``--out``); not empty.

    Yields
    ------
    stage : Path
        The staging folder to write into.

    Raises
    ------
    InputError
        When ``out_dir`` is empty, an existing file, lies under a file, or
        cannot be written (checked before the block runs).
    """
    shown = out_dir
    _check_not_empty(shown)
    out = Path(os.path.abspath(out_dir))
    try:
        place = _check_out(out, shown)
    except OSError as exc:  # e.g. a name too long for the filesystem
        raise InputError(
            f"--out {shown}: expected a usable folder path, found one the system refuses "
            f"({exc.strerror or exc}); choose a shorter or simpler path."
        ) from None
    stale = set(_stale_staging_dirs(place, _staging_tag(place, out)))
    if out.is_dir():  # either place may hold one, depending on where earlier runs staged
        stale.update(_stale_staging_dirs(out.parent, out.name))
        stale.update(_stale_staging_dirs(out, _INSIDE_TAG))
    for folder in sorted(stale):
        shutil.rmtree(folder, ignore_errors=True)
    try:
        stage = Path(
            tempfile.mkdtemp(
                prefix=f".{_staging_tag(place, out)}.{_host_tag()}-{os.getpid()}.",
                suffix=_STAGING_SUFFIX,
                dir=place,
            )
        )
    except OSError as exc:
        raise InputError(
            f"--out {shown}: expected a writable location, found that a folder cannot be "
            f"created in {place} ({exc.strerror or exc}); choose a writable folder."
        ) from None
    committed = False
    try:
        yield stage
        with _signals_deferred():
            _commit(stage, out, shown)
            committed = True
            shutil.rmtree(stage, ignore_errors=True)
    except BaseException as exc:
        if committed:
            _set_state(exc, f"the run's outputs had already been written to {shown} in full")
        refused = _as_write_error(exc, stage, shown)
        if refused is not None:
            raise refused from exc
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _as_write_error(exc: BaseException, stage: Path, shown) -> OutputWriteError | None:
    """``exc`` as an :class:`OutputWriteError` naming the file in ``--out``, not in ``stage``.

    A full disk, a read-only folder or a missing permission met while writing
    the staged outputs (by refglm's atomic writers, which name the file, or by
    any other writer, which may name a file or not) is reported with the path
    the file would have had in ``--out``; the state of ``--out``
    (:func:`out_state`) is carried over. Any other exception gives None.
    """
    target = os.fspath(shown)
    if isinstance(exc, OutputWriteError):
        refused = OutputWriteError(str(exc).replace(str(stage), target))
    elif is_environment_error(exc):
        filename = exc.filename
        if filename is None:
            refused = write_error(f"--out {target}", "the run's outputs", exc)
        elif str(filename).startswith(str(stage)):
            where = str(filename).replace(str(stage), target, 1)
            refused = write_error(where, Path(where).name, exc)
        else:  # a file outside --out: read or written, the error cannot tell
            refused = write_error(filename, "it", exc, verb="read or write")
    else:
        return None
    _set_state(refused, out_state(exc))
    return refused
