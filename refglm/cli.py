"""The ``refglm`` command line.

Subcommands: ``tutorial`` (the whole nistats SPM auditory tutorial, with
figures and report), ``fit`` (one run, BIDS-derivative outputs),
``validate`` (golden checks), ``fetch`` (data), ``explain-voxel`` (one
voxel's fit, number by number).

Exit codes: 0 ok, 1 internal error (or a golden check beyond tolerance),
2 bad input (one line on stderr; ``--debug`` adds the traceback), 130
interrupted by Ctrl-C (SIGINT), 143 terminated (SIGTERM). Every command
that writes ``--out`` stages its files (``refglm.io.staged_output_dir``), so
a run that fails or is interrupted leaves ``--out`` as it was. Warnings are
printed as one line each (``refglm: warning: ...``).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import traceback
import warnings

# Re-exported: refglm.cli keeps the names tests and scripts use.
from refglm._cli_args import (  # noqa: F401
    _EXAMPLES,
    _add_common,
    _add_debug,
    _get_parser,
    _none_or,
    _number,
    _Parser,
)
from refglm.cli_commands import (  # noqa: F401
    COMMANDS,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGTERM,
    _close,
    _cmd_explain_voxel,
    _cmd_fetch,
    _cmd_fit,
    _cmd_tutorial,
    _cmd_validate,
    _dask_backend,
    _fit_inputs,
    _progress_factory,
)
from refglm.exceptions import InputError


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM, so that cleanup runs as for Ctrl-C."""


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


def _install_sigterm():
    """Turn SIGTERM into :class:`_Terminated`; return the previous handler (or None)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except (ValueError, OSError):  # no signals here (embedded interpreter)
        return None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Print a warning as one line, ``refglm: warning: <message>``."""
    text = " ".join(str(message).split())
    print(f"refglm: warning: {text}", file=sys.stderr if file is None else file)


@contextlib.contextmanager
def _quiet_downloads(command: str):
    """Silence pooch's "Downloading data from ..." line when stderr is not a terminal.

    Like the progress bars, download chatter is for terminals; a script reading
    stderr sees only errors and warnings, one line each.
    """
    if command not in _DOWNLOADING or sys.stderr.isatty():
        yield
        return
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# commands that may download the SPM auditory data
_DOWNLOADING = ("tutorial", "validate", "fetch", "explain-voxel")

_COMMANDS = COMMANDS


def main(argv=None) -> int:
    """Run the CLI; return the exit code.

    Bad input (:class:`~refglm.exceptions.InputError`) gives exit code 2 and
    one line on stderr; any other exception exit code 1 and one line;
    ``--debug`` adds the traceback to both. Ctrl-C gives 130 and SIGTERM 143,
    after the staged outputs are removed.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    previous_sigterm = _install_sigterm()
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning
            return _run(argv, debug)
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def _run(argv, debug: bool) -> int:
    try:
        args = _get_parser().parse_args(argv)
        with _quiet_downloads(args.command):
            return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except InputError as exc:
        if debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"refglm: error: {message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, _Terminated):
            print(
                "refglm: terminated (SIGTERM); the output folder was left as it was",
                file=sys.stderr,
            )
            return EXIT_SIGTERM
        print("refglm: interrupted; the output folder was left as it was", file=sys.stderr)
        return EXIT_SIGINT
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into an exit code
        if debug:
            traceback.print_exc()
        message = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        print(f"refglm: internal error: {message} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
