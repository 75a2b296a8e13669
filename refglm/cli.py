"""The ``refglm`` command line.

Subcommands: ``tutorial`` (the whole nistats SPM auditory tutorial, with
figures and report), ``fit`` (one run, BIDS-derivative outputs),
``validate`` (golden checks), ``fetch`` (data), ``explain-voxel`` (one
voxel's fit, number by number), ``compare`` (two sets of maps).

Exit codes: 0 ok, 1 internal error (or a golden check beyond tolerance),
2 bad input (one line on stderr; ``--debug`` adds the traceback), 130
interrupted by Ctrl-C (SIGINT), 141 stdout closed by its reader (``refglm
explain-voxel ... | head -1``: nothing more is printed, no error message),
143 terminated (SIGTERM). Every command that writes ``--out`` stages its
files (``refglm.io.staged_output_dir``), so a run that fails or is
interrupted leaves ``--out`` as it was. Warnings are printed as one line
each (``refglm: warning: ...``). Progress bars (:class:`_Bars`) go to stderr
and only when it is a terminal.

The handlers live in :mod:`refglm.cli_commands`, the parser in
:mod:`refglm._cli_args`.
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

from refglm._cli_args import _get_parser
from refglm.atomic import out_state
from refglm.exceptions import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM
#: stdout closed by its reader: 128 + SIGPIPE, what a shell reports for a tool SIGPIPE ended
EXIT_SIGPIPE = 128 + signal.SIGPIPE


# --------------------------------------------------------------------------- progress


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


class _Bars:
    """tqdm bars and step lines on stderr, drawn only when stderr is a terminal.

    A context manager: leaving it closes every bar still open, so that an
    error line comes below the bars, not inside them.

    Parameters
    ----------
    enabled : bool or None
        Draw them; None (the default): when ``sys.stderr.isatty()``.
    """

    def __init__(self, enabled: bool | None = None):
        self.enabled = _stderr_is_terminal() if enabled is None else bool(enabled)
        self.bars = []

    def bar(self, total, desc: str, unit: str = "vox", bar_format: str | None = None):
        """Open a tqdm bar of ``total`` units (None: a counter) and return it."""
        from tqdm import tqdm

        bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            disable=not self.enabled,
            file=sys.stderr,
            dynamic_ncols=True,
            bar_format=bar_format,
        )
        self.bars.append(bar)
        return bar

    def step(self, desc: str):
        """Open a step line, ``desc (elapsed)``; its ``update(1)`` marks the step done."""
        return self.bar(1, desc, unit="step", bar_format="{desc} ({elapsed})")

    @contextlib.contextmanager
    def stepping(self, desc: str):
        """A step line around the body of a ``with`` block."""
        line = self.step(desc)
        yield
        line.update(1)
        line.close()

    def close(self):
        for bar in reversed(self.bars):
            bar.close()
        self.bars.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _FitProgress:
    """The fit's ``progress`` callback, drawn as a step line, then one bar per pass.

    The fit calls ``progress(n)`` with the n voxels of each chunk done, pass
    after pass (``refglm.fit.run_glm``), without saying which pass it is;
    ``FirstLevelModel`` calls :meth:`begin` with the number of voxels once
    the run is masked. This object supplies the pass labels: the step line
    ``load`` runs until :meth:`begin`, then a bar per pass with that number
    as its total, each closed when its pass is complete and the next one
    opened; after the last, the step line ``after`` runs until
    :meth:`finish`. Without :meth:`begin`, one counter bar stands for every
    pass.

    Parameters
    ----------
    bars : _Bars
    passes : list of str
        Labels of the passes over the voxels, in order.
    load, after : str
        Labels of the step lines before the first pass and after the last.
    """

    def __init__(self, bars, passes, load, after):
        self._bars, self._passes = bars, list(passes)
        self._after_label = after
        self._total = self._bar = self._after = None
        self._k = -1  # the pass being drawn
        self._load = bars.step(load)

    def begin(self, n_voxels):
        """The run is loaded and masked: each pass covers ``n_voxels``."""
        self._total = int(n_voxels)
        self._start()

    def _start(self):
        if self._load is None:
            return
        self._load.update(1)
        self._load.close()
        self._load = None
        if self._total is None:  # no begin(): one counter for every pass
            self._passes = [", then ".join(self._passes)]
        self._next()

    def __call__(self, n):
        self._start()  # the fit has begun, if begin() did not say so
        n = int(n)
        while n > 0 and self._bar is not None:
            if self._total is None or self._k == len(self._passes) - 1:
                step = n  # the last bar takes whatever is reported
            else:
                step = min(n, self._total - self._bar.n)
            self._bar.update(step)
            n -= step
            if self._total is not None and self._bar.n >= self._total:
                self._next()

    def _next(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        self._k += 1
        if self._k < len(self._passes):
            self._bar = self._bars.bar(self._total, self._passes[self._k])
        elif self._after is None:
            self._after = self._bars.step(self._after_label)

    def finish(self):
        """Mark the step after the fit done."""
        if self._after is not None:
            self._after.update(1)
            self._after.close()


# ------------------------------------------------------------------- signals, warnings


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
    if command not in _DOWNLOADING or _stderr_is_terminal():
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
    one line on stderr; any other exception exit code 1 and one line;
    ``--debug`` adds the traceback to both. Ctrl-C gives 130 and SIGTERM 143,
    after the staged outputs are removed. When the reader of stdout goes
    away (``| head -1``), the command stops quietly with 141.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    previous_sigterm = _install_sigterm()
    # Warnings are held until the command ends: printed (one line each) when it
    # succeeds or fails inside refglm, dropped when it fails on bad input, whose
    # one line on stderr is then the error alone. --debug prints them as they come.
    held = []
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = lambda message, *args, **kwargs: held.append(message)
            code = _run(argv, debug, held)
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
            return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_SIGPIPE
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def _flush_warnings(held: list) -> None:
    """Print the held warnings, one line each, and forget them."""
    for message in held:
        _show_warning(message, None, None, None)
    held.clear()


def _run(argv, debug: bool, held: list) -> int:
    try:
        args = _get_parser().parse_args(argv)
        from refglm.cli_commands import COMMANDS

        with _quiet_downloads(args.command):
            code = COMMANDS[args.command](args)
        _flush_warnings(held)
        return code
    except SystemExit as exc:  # --help
        _flush_warnings(held)
        return int(exc.code or 0)
    except InputError as exc:
        held.clear()  # exit 2: the error is the one line on stderr
        if debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"refglm: error: {message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:
        _flush_warnings(held)
        if debug:
            traceback.print_exc()
        state = out_state(exc)
        if isinstance(exc, _Terminated):
            print(f"refglm: terminated (SIGTERM); {state}", file=sys.stderr)
            return EXIT_SIGTERM
        print(f"refglm: interrupted; {state}", file=sys.stderr)
        return EXIT_SIGINT
    except BrokenPipeError:
        raise  # main() ends quietly
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into an exit code
        _flush_warnings(held)
        if debug:
            traceback.print_exc()
        message = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        print(f"refglm: internal error: {message} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
