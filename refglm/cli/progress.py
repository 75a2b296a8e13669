"""Progress on stderr: step lines and one bar per pass over the voxels, only on a terminal.

:class:`Bars` draws tqdm bars and step lines when stderr is a terminal, and plain
lines on a terminal that reports no width (``script``, some CI runners: a bar
there comes out as blank lines); :class:`FitProgress` is the fit's ``progress``
callback, which turns the voxel counts the engines report into one bar per pass
(labels from ``refglm.glm.engines.fit_passes``). Shared by the commands, so
neither the dispatcher nor a command owns it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

__all__ = [
    "Bars",
    "FitProgress",
    "stderr_is_terminal",
    "terminal_columns",
    "fit_progress",
    "finish",
    "MIN_BAR_COLUMNS",
    "ETA_MIN_FRACTION",
]

#: Narrower terminals (``script`` and some CI runners report 0 columns) get plain lines.
MIN_BAR_COLUMNS = 20

#: A bar shows no remaining time before this fraction of it is done (and two reports
#: after its first). The rate behind it is the mean since the bar's first report: the
#: time before that report is the pass's set-up (the vectorized engine's AR(1) pass
#: estimates every rho and its first pseudo-inverse first), which an estimate from the
#: bar's start would spread over the voxels: "1:48:38" for a pass of half a second.
ETA_MIN_FRACTION = 0.05


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def terminal_columns() -> int:
    """The width of the terminal on stderr (0 when it reports none, or is not one)."""
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 0


def _eta_bar_class():
    """tqdm with the remaining time of :data:`ETA_MIN_FRACTION` (tqdm is imported here)."""
    from tqdm import tqdm

    class EtaBar(tqdm):
        """A tqdm bar whose remaining time is the mean rate since its first report."""

        _first = None  # (time, n) just after the first report

        def update(self, n=1):
            shown = super().update(n)
            if self._first is None and n and not self.disable:
                self._first = (self._time(), self.n)
            return shown

        @property
        def format_dict(self):
            d = super().format_dict
            if self.disable or not self.total:
                return d  # a counter: tqdm's own
            t0, n0 = self._first if self._first is not None else (0.0, self.n)
            done, dt = self.n - n0, self._time() - t0
            if self.n < ETA_MIN_FRACTION * self.total or done <= 0 or dt <= 0:
                d["rate"] = 0  # tqdm prints "?" for the remaining time and the rate
            else:
                d["rate"] = done / dt
            return d

    return EtaBar


class _Line:
    """A bar or step drawn as plain lines: one when it opens, one when it closes."""

    def __init__(self, total, desc: str, unit: str, stream):
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self._stream = stream
        self._start = time.monotonic()
        self._open = True
        self._write(f"{desc} ...")

    def _write(self, text: str) -> None:
        print(text, file=self._stream, flush=True)

    def update(self, n=1):
        self.n += n

    def set_postfix_str(self, text: str, refresh: bool = True):
        """A line naming the unit now under way: ``desc: 3/44 nistats+ar_bins=1000``."""
        total = "" if self.total is None else f"/{self.total}"
        self._write(f"{self.desc}: {self.n + 1}{total} {text}")

    def close(self):
        if not self._open:
            return
        self._open = False
        from tqdm import tqdm

        took = tqdm.format_interval(time.monotonic() - self._start)
        if self.unit == "step":
            self._write(f"{self.desc}: {'done' if self.n else 'stopped'} ({took})")
        else:
            total = "" if self.total is None else f"/{self.total}"
            self._write(f"{self.desc}: {self.n}{total} {self.unit} ({took})")


class Bars:
    """tqdm bars and step lines on stderr, drawn only when stderr is a terminal.

    A context manager: leaving it closes every bar still open, so that an
    error line comes below the bars, not inside them. On a terminal narrower than
    :data:`MIN_BAR_COLUMNS` (a pseudo-terminal of width 0: ``script``, some CI) each
    bar and step is two plain lines instead, ``desc ...`` when it opens and ``desc:
    n/total unit (elapsed)`` when it closes.

    Parameters
    ----------
    enabled : bool or None
        Draw them; None (the default): when ``sys.stderr.isatty()``.
    lines : bool or None
        Plain lines instead of bars; None (the default): when the terminal is
        narrower than :data:`MIN_BAR_COLUMNS`.
    """

    def __init__(self, enabled: bool | None = None, lines: bool | None = None):
        self.enabled = stderr_is_terminal() if enabled is None else bool(enabled)
        if lines is None:
            lines = self.enabled and terminal_columns() < MIN_BAR_COLUMNS
        self.lines = bool(lines) and self.enabled
        self.bars = []

    def bar(self, total, desc: str, unit: str = "vox", bar_format: str | None = None):
        """Open a bar of ``total`` units (None: a counter) and return it."""
        if self.lines:
            bar = _Line(total, desc, unit, sys.stderr)
        else:
            bar = _eta_bar_class()(
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


class FitProgress:
    """The fit's ``progress`` callback, drawn as a step line, then one bar per pass.

    The fit calls ``progress(n)`` with the n voxels of each chunk done, pass
    after pass (both engines), without saying which pass it is;
    ``FirstLevelModel`` calls :meth:`begin` with the number of voxels once
    the run is masked. This object supplies the pass labels: the step line
    ``load`` runs until :meth:`begin`, then a bar per pass with that number
    as its total, each closed when its pass is complete and the next one
    opened; after the last, the step line ``after`` runs until
    :meth:`finish`. Without :meth:`begin`, one counter bar stands for every
    pass.

    Parameters
    ----------
    bars : Bars
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


def fit_progress(
    bars, args, noise_model: str, load: str, after: str = "contrasts, thresholds, clusters"
):
    """A :class:`FitProgress` for a command's fit when bars are drawn, else None.

    The passes are the engine's (``refglm.glm.engines.fit_passes``) under the
    command's ``--convention`` and ``--engine``; ``after`` labels the step after them.
    """
    if not bars.enabled:
        return None
    from refglm.conventions import get_convention
    from refglm.glm.engines import fit_passes

    passes = fit_passes(noise_model, get_convention(args.convention).ar_fit, args.engine)
    return FitProgress(bars, passes, load, after=after)


def finish(progress) -> None:
    """Mark the step after the fit done (``progress`` may be None)."""
    if progress is not None:
        progress.finish()
