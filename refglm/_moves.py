"""Moving files into ``--out``: whole files only, with interrupts held meanwhile.

The step of :func:`refglm.atomic.staged_output_dir` that changes ``--out``:
:func:`_move_file` replaces one file atomically (a rename, or across
filesystems a copy beside the destination renamed into place),
:func:`_signals_deferred` holds Ctrl-C and SIGTERM until every file has moved,
and :func:`out_state` says, for an error message, what ``--out`` then holds.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

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


def _copy_into_place(src: Path, dest: Path) -> None:
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


def _move_file(src: Path, dest: Path) -> None:
    """``os.replace``; across filesystems (EXDEV) a copy beside ``dest`` renamed into place.

    Either way ``dest`` is at every moment the old file or the whole new one.
    """
    try:
        os.replace(src, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_into_place(src, dest)
