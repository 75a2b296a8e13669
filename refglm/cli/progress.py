"""Progress on stderr: step lines and one bar per pass over the voxels, only on a terminal.

:class:`Bars` draws tqdm bars and step lines when stderr is a terminal;
:class:`FitProgress` is the fit's ``progress`` callback, which turns the voxel
counts the engines report into one bar per pass (labels from
``refglm.glm.engines.fit_passes``). Shared by the commands, so neither the
dispatcher nor a command owns it.
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["Bars", "FitProgress", "stderr_is_terminal", "fit_progress", "finish"]


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


class Bars:
    """tqdm bars and step lines on stderr, drawn only when stderr is a terminal.

    A context manager: leaving it closes every bar still open, so that an
    error line comes below the bars, not inside them.

    Parameters
    ----------
    enabled : bool or None
        Draw them; None (the default): when ``sys.stderr.isatty()``.
    """

    def __init__(self, enabled: bool | None = None):
        self.enabled = stderr_is_terminal() if enabled is None else bool(enabled)
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


def fit_progress(bars, args, noise_model: str, load: str):
    """A :class:`FitProgress` for a command's fit when bars are drawn, else None.

    The passes are the engine's (``refglm.glm.engines.fit_passes``) under the
    command's ``--convention`` and ``--engine``.
    """
    if not bars.enabled:
        return None
    from refglm.conventions import get_convention
    from refglm.glm.engines import fit_passes

    passes = fit_passes(noise_model, get_convention(args.convention).ar_fit, args.engine)
    return FitProgress(bars, passes, load, after="contrasts, thresholds, clusters")


def finish(progress) -> None:
    """Mark the step after the fit done (``progress`` may be None)."""
    if progress is not None:
        progress.finish()
