"""The exit codes of every ``refglm`` command, one set.

==========  ==========================================================================
code        meaning
==========  ==========================================================================
0           ok (``compare``: the maps agree within tolerance)
1           a golden check or a comparison beyond tolerance, or an internal error
2           bad input, or an environment the user must fix (one line on stderr)
130         interrupted by Ctrl-C (SIGINT)
141         stdout closed by its reader (``refglm explain-voxel ... | head -1``)
143         terminated (SIGTERM)
==========  ==========================================================================

A Ctrl-C or SIGTERM that arrives while the ``refglm`` command is still starting
(importing its modules, before :func:`refglm.cli.main` runs) gives the same one
line and the same code as one during a run: this module, the first of
``refglm.cli`` to be imported, installs :func:`guard_startup` when the process is
the ``refglm`` command (or ``python -m refglm``); ``main`` hands the signals back
to Python (:func:`end_startup`) as it starts.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_INTERNAL",
    "EXIT_INPUT",
    "EXIT_SIGINT",
    "EXIT_SIGPIPE",
    "EXIT_SIGTERM",
    "EPILOG",
    "INTERRUPTED_LINE",
    "TERMINATED_LINE",
    "guard_startup",
    "end_startup",
]

EXIT_OK = 0
#: a golden check beyond its tolerance, or two sets of maps that disagree
EXIT_FAILED = 1
#: an error inside refglm (the same code: both mean "the result is not the expected one")
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_SIGINT = 128 + signal.SIGINT
#: stdout closed by its reader: 128 + SIGPIPE, what a shell reports for a tool SIGPIPE ended
EXIT_SIGPIPE = 128 + signal.SIGPIPE
EXIT_SIGTERM = 128 + signal.SIGTERM

#: The exit codes as ``refglm --help`` lists them.
EPILOG = (
    "exit codes: 0 ok, 1 a golden check or comparison beyond tolerance, or an internal "
    "error, 2 bad input or an environment to fix (a full disk, a read-only folder, a "
    "missing permission), "
    "130 Ctrl-C, 141 stdout closed by its reader (| head), 143 SIGTERM"
)


#: What Ctrl-C prints: ``refglm: interrupted; <what --out holds>``.
INTERRUPTED_LINE = "refglm: interrupted; {state}"
#: What SIGTERM prints: ``refglm: terminated (SIGTERM); <what --out holds>``.
TERMINATED_LINE = "refglm: terminated (SIGTERM); {state}"
# Nothing is written during start-up (the words of refglm.io.out_state for that case).
_STARTUP_STATE = "the output folder was left as it was"


def _startup_signal(signum, frame):  # pragma: no cover - runs in the command's process
    """A signal during start-up: the command's one line, then its exit code, at once.

    Nothing has been written yet, and the imports under way are not worth
    finishing: ``os._exit`` ends the process without unwinding them, so that no
    library's ``except`` clause can swallow the interrupt or print a traceback.
    """
    if signum == signal.SIGTERM:
        line, code = TERMINATED_LINE.format(state=_STARTUP_STATE), EXIT_SIGTERM
    else:
        line, code = INTERRUPTED_LINE.format(state=_STARTUP_STATE), EXIT_SIGINT
    try:
        os.write(2, (line + "\n").encode())
    except OSError:
        pass
    os._exit(code)


def _is_the_command() -> bool:
    """Whether this process is the ``refglm`` command (console script or ``python -m refglm``)."""
    argv0 = sys.argv[0] if sys.argv else ""
    name = os.path.basename(argv0).removesuffix(".exe")
    if name in ("refglm", "refglm-script.py"):
        return True
    return name == "__main__.py" and os.path.basename(os.path.dirname(argv0)) == "refglm"


def guard_startup() -> bool:
    """Catch SIGINT and SIGTERM until :func:`end_startup`, when this process is the command.

    Only for the ``refglm`` command (a program importing ``refglm.cli`` keeps its
    own handlers), only in the main thread, and only where Python's defaults are
    still in place. Returns whether the guard was installed.
    """
    if not _is_the_command() or threading.current_thread() is not threading.main_thread():
        return False
    installed = False
    for signum, default in (
        (signal.SIGINT, signal.default_int_handler),
        (signal.SIGTERM, signal.SIG_DFL),
    ):
        try:
            if signal.getsignal(signum) is default:
                signal.signal(signum, _startup_signal)
                installed = True
        except (OSError, ValueError):  # no signals here (embedded interpreter)
            pass
    return installed


def end_startup() -> None:
    """Give SIGINT back to Python (KeyboardInterrupt) and SIGTERM to its default."""
    for signum, default in (
        (signal.SIGINT, signal.default_int_handler),
        (signal.SIGTERM, signal.SIG_DFL),
    ):
        try:
            if signal.getsignal(signum) is _startup_signal:
                signal.signal(signum, default)
        except (OSError, ValueError):
            pass


guard_startup()
