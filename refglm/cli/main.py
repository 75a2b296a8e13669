"""The ``refglm`` command line: one parser, one module per command, one set of exit codes.

Subcommands (one module each in :mod:`refglm.cli`, parser beside handler):
``tutorial`` (the whole nistats SPM auditory tutorial, with figures and
report), ``fit`` (one run, BIDS-derivative outputs), ``validate`` (golden
checks), ``fetch`` (data), ``explain-voxel`` (one voxel's fit, number by
number), ``compare`` (two sets of maps).

A bare ``refglm`` prints the help (exit 0); ``refglm --version`` the version.
Exit codes (:mod:`refglm.cli.exit_codes`): 0 ok, 1 internal error (or a golden
check or a comparison beyond tolerance), 2 bad input (one line on stderr;
``--debug`` adds the traceback; a full disk, a read-only folder or a missing
permission is such an error too, naming the file), 130 interrupted by Ctrl-C
(SIGINT, during start-up too: :mod:`refglm.cli.exit_codes`), 141 stdout
closed by its reader (``refglm explain-voxel ... | head -1``: nothing more is
printed, no error message), 143 terminated (SIGTERM). Every command that writes
``--out`` stages its files (``refglm.io.staged_output_dir``), so a run that
fails or is interrupted leaves ``--out`` as it was. Warnings are printed as one
line each (``refglm: warning: ...``). Progress bars
(:class:`refglm.cli.progress.Bars`) go to stderr and only when it is a terminal.

Building the parser imports no numerics: each command imports what it runs
inside its ``run``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
import warnings

from refglm._version import __version__
from refglm.cli import compare, explain_voxel, fetch, fit, options, tutorial, validate
from refglm.cli.exit_codes import (
    EPILOG,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_SIGINT,
    EXIT_SIGPIPE,
    EXIT_SIGTERM,
    INTERRUPTED_LINE,
    TERMINATED_LINE,
    end_startup,
)
from refglm.cli.progress import stderr_is_terminal
from refglm.exceptions import InputError, OutputWriteError
from refglm.io.atomic import is_environment_error, write_error
from refglm.io.staging import out_state

__all__ = ["main", "get_parser", "COMMANDS"]

#: The commands, by name: each module has ``add_parser(subparsers)``, ``run(args)``
#: and ``EXAMPLES``.
COMMANDS = {
    "tutorial": tutorial,
    "fit": fit,
    "validate": validate,
    "fetch": fetch,
    "explain-voxel": explain_voxel,
    "compare": compare,
}


def _examples() -> str:
    """Every command's examples, one runnable command a line, for ``refglm --help``."""
    lines = []
    for module in COMMANDS.values():
        for line in module.EXAMPLES.splitlines():
            line = line.split("  #")[0].strip().removeprefix("example: ")
            if line and line != "examples:" and not line.startswith("("):
                lines.append("  " + line)
    return "\n".join(lines)


def get_parser():
    """The ``refglm`` parser: every command's, with the exit codes in the epilog."""
    parser = options.Parser(
        prog="refglm",
        description="refglm: a correctness reference for first-level fMRI GLMs.",
        epilog="examples:\n" + _examples() + "\n\n" + EPILOG,
        formatter_class=options.Formatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"refglm {__version__}", help="print the version"
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=options.Parser)
    for module in COMMANDS.values():
        options.add_debug(module.add_parser(sub))
    return parser


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
    if command not in _DOWNLOADING or stderr_is_terminal():
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


def _silence_stdout():
    """Point stdout's file descriptor at /dev/null after its reader went away.

    What is still buffered is then flushed there at exit, instead of raising
    BrokenPipeError again (Python's documented recipe, ``signal`` module notes).
    """
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests, notebooks)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def main(argv=None) -> int:
    """Run the CLI; return the exit code.

    Bad input (:class:`~refglm.exceptions.InputError`) gives exit code 2 and
    one line on stderr, and so does an environment the user must fix (a full
    disk, a read-only folder, a missing permission: an ``OSError`` of
    :data:`refglm.io.atomic.ENVIRONMENT_ERRNOS`, named with its file); any other
    exception exit code 1 and one line; ``--debug`` adds the traceback to both.
    Ctrl-C gives 130 and SIGTERM 143, after the staged outputs are removed, with
    the same line during start-up (:func:`refglm.cli.exit_codes.guard_startup`).
    When the reader of stdout goes away (``| head -1``), the command stops
    quietly with 141.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    previous_sigterm = None
    # Warnings are held until the command ends: printed (one line each) when it
    # succeeds or fails inside refglm, dropped when it fails on bad input, whose
    # one line on stderr is then the error alone. --debug prints them as they come.
    held = []
    try:
        end_startup()  # Ctrl-C is a KeyboardInterrupt from here on (exit_codes.guard_startup)
        previous_sigterm = _install_sigterm()
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = lambda message, *args, **kwargs: held.append(message)
            code = _run(argv, debug, held)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_SIGPIPE
    except KeyboardInterrupt as exc:  # between the handlers' installation and _run's own
        return _interrupted(exc, debug, held)
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def _interrupted(exc: KeyboardInterrupt, debug: bool, held: list) -> int:
    """Ctrl-C (130) or SIGTERM (143): one line saying what ``--out`` holds."""
    _flush_warnings(held)
    if debug:
        traceback.print_exc()
    state = out_state(exc)
    if isinstance(exc, _Terminated):
        print(TERMINATED_LINE.format(state=state), file=sys.stderr)
        return EXIT_SIGTERM
    print(INTERRUPTED_LINE.format(state=state), file=sys.stderr)
    return EXIT_SIGINT


def _flush_warnings(held: list) -> None:
    """Print the held warnings, one line each, and forget them."""
    for message in held:
        _show_warning(message, None, None, None)
    held.clear()


def _run(argv, debug: bool, held: list) -> int:
    try:
        if not [arg for arg in argv if arg != "--debug"]:  # a bare `refglm`: its help
            print(get_parser().format_help(), end="")
            return EXIT_OK
        args = get_parser().parse_args(argv)
        with _quiet_downloads(args.command):
            code = COMMANDS[args.command].run(args)
        _flush_warnings(held)
        return code
    except SystemExit as exc:  # --help
        _flush_warnings(held)
        return int(exc.code or 0)
    except InputError as exc:
        return _input_error(exc, debug, held)
    except KeyboardInterrupt as exc:
        return _interrupted(exc, debug, held)
    except BrokenPipeError:
        raise  # main() ends quietly
    except OSError as exc:
        if not is_environment_error(exc):
            return _internal_error(exc, debug, held)
        # a full disk, a read-only folder, a missing permission: the user's environment
        where = exc.filename if exc.filename is not None else "a file or folder"
        refused = write_error(where, "it", exc, verb="read or write")
        refused.__cause__ = exc
        return _input_error(refused, debug, held, traceback_of=exc)
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into an exit code
        return _internal_error(exc, debug, held)


def _input_error(exc: InputError, debug: bool, held: list, traceback_of=None) -> int:
    """Bad input, or an environment the user must fix: exit 2, one line on stderr."""
    held.clear()  # exit 2: the error is the one line on stderr
    if debug:
        if traceback_of is None:
            traceback.print_exc()
        else:
            traceback.print_exception(traceback_of)
    message = " ".join(str(exc).split())
    if isinstance(exc, OutputWriteError):
        message = f"{message.rstrip('.')}; {out_state(exc)}."
    print(f"refglm: error: {message}", file=sys.stderr)
    return EXIT_INPUT


def _internal_error(exc: Exception, debug: bool, held: list) -> int:
    """Anything else: exit 1, one line on stderr (the traceback with --debug)."""
    _flush_warnings(held)
    if debug:
        traceback.print_exc()
    message = " ".join(f"{exc.__class__.__name__}: {exc}".split())
    print(f"refglm: internal error: {message} (rerun with --debug)", file=sys.stderr)
    return EXIT_INTERNAL
