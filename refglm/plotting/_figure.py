"""Shared plumbing of ``refglm.plotting``: figures outside pyplot, PNG bytes without timestamps.

Every figure is a :class:`matplotlib.figure.Figure` with its own Agg canvas
(:func:`new_figure`), never registered with ``pyplot``: drawing one changes
no global state (the session's backend, pyplot's current figure), and nothing
has to be closed. In a Jupyter notebook such a figure displays inline through
its ``_repr_png_`` (the same bytes as :func:`figure_png`). matplotlib is
imported inside the functions only, so that importing this module (and
``refglm``) does not load it.
"""

from __future__ import annotations

import io as _io
from pathlib import Path

__all__ = ["DISPLAY_CONVENTION", "figure_png", "new_figure", "save_figure"]

#: How slices are drawn: the subject's left on the viewer's left.
DISPLAY_CONVENTION = "neurological"

_DPI = 100
_FG_DARK = "white"

_FIGURE_CLASS = None


def _figure_class():
    """``matplotlib.figure.Figure`` with a ``_repr_png_`` (inline display in notebooks)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure

        class RefglmFigure(Figure):
            """A matplotlib Figure on its own Agg canvas, shown inline by IPython."""

            def _repr_png_(self):
                return figure_png(self)

        RefglmFigure.__module__ = __name__
        _FIGURE_CLASS = RefglmFigure
    return _FIGURE_CLASS


def new_figure(figsize, facecolor="white", layout=None):
    """A new figure on its own Agg canvas, outside pyplot.

    Parameters
    ----------
    figsize : (float, float)
        Width and height in inches.
    facecolor : color
    layout : {None, 'constrained', 'tight'}
        matplotlib's layout engine (None: the axes are placed by hand).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=figsize, facecolor=facecolor, dpi=_DPI, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def figure_png(fig) -> bytes:
    """The PNG bytes of ``fig``, without timestamp or software metadata.

    The same figure gives the same bytes on every call and every run.

    Parameters
    ----------
    fig : matplotlib.figure.Figure

    Returns
    -------
    bytes
    """
    buf = _io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=_DPI,
        facecolor=fig.get_facecolor(),
        metadata={"Software": None},
    )
    return buf.getvalue()


def save_figure(fig, output_file) -> Path:
    """Write ``fig`` as a PNG (:func:`figure_png`) to ``output_file``, atomically.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    output_file : str or path

    Returns
    -------
    Path
    """
    from refglm.io import atomic_write_bytes

    path = Path(output_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, figure_png(fig))


def _outlined(color="white"):
    """Path effects that outline text in the opposite tone, readable over any pixel."""
    from matplotlib import patheffects

    edge = "black" if color == "white" else "white"
    return [patheffects.withStroke(linewidth=2.5, foreground=edge)]
