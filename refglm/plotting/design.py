"""Figures of a design: the matrix, its correlations, its regressors over time, a contrast.

With nistats' and nilearn's signatures (``plot_design_matrix(dm,
output_file=...)``, ``plot_contrast_matrix(c, design_matrix=dm)``,
``plot_design_matrix_correlation(dm)``). Each function returns a
:class:`matplotlib.figure.Figure` (its own canvas, outside pyplot: the
session's backend is never touched) and writes it as PNG, without timestamp,
when given ``output_file``.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.plotting._figure import new_figure, save_figure

__all__ = [
    "plot_design_matrix",
    "plot_design_matrix_correlation",
    "plot_regressors",
    "plot_contrast_matrix",
]


def _finish(fig, output_file):
    if output_file is not None:
        save_figure(fig, output_file)
    return fig


def _names(design):
    return [str(c) for c in design.columns]


def plot_design_matrix(design_matrix, rescale: bool = True, output_file=None, title=None):
    """The design matrix as an image: rows are scans, columns regressors, with a colour bar.

    On a diverging scale centred on 0 (blue negative, white 0, red
    positive), so that every column is visible, the constant included. With
    ``rescale`` (nistats' and nilearn's default) each column is divided by its
    largest absolute value, as the colour bar's label states; without it the
    values are drawn as they are, between ``-max|X|`` and ``max|X|``.

    Parameters
    ----------
    design_matrix : pandas.DataFrame
        Scans by regressors (the index: frame times).
    rescale : bool, default True
    output_file : str, path or None
        Where to write the figure as PNG.
    title : str or None
        None: ``'Design matrix: 96 scans x 16 columns'``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = design_matrix.to_numpy(dtype=np.float64)
    names = _names(design_matrix)
    if rescale:
        scale = np.abs(X).max(axis=0)
        scale[scale == 0] = 1.0
        X = X / scale
        limit, bar_label = 1.0, "value / max |value| of its column"
    else:
        limit = float(np.abs(X).max()) or 1.0
        bar_label = "value"
    if title is None:
        title = f"Design matrix: {X.shape[0]} scans \u00d7 {X.shape[1]} columns"
    max_len = max(len(n) for n in names)
    width = max(5.0, 0.38 * len(names) + 2.2)
    height = 6.4
    top_in = 0.75 + 0.075 * max_len
    fig = new_figure((width, height))
    left, right = 0.9, 1.5
    ax = fig.add_axes(
        [left / width, 0.15 / height, 1 - (left + right) / width, 1 - (top_in + 0.15) / height]
    )
    image = ax.imshow(
        X, interpolation="nearest", aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit
    )
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="left")
    ax.xaxis.tick_top()
    ax.set_ylabel("scan number")
    for x in np.arange(0.5, len(names) - 0.5):
        ax.axvline(x, color="#999999", linewidth=0.5)
    cax = fig.add_axes(
        [1 - (right - 0.25) / width, 0.15 / height, 0.15 / width, 1 - (top_in + 0.15) / height]
    )
    cbar = fig.colorbar(image, cax=cax)
    cbar.set_label(bar_label, fontsize=9)
    cbar.ax.tick_params(labelsize=8)
    fig.text(0.5, 1 - 0.25 / height, title, ha="center", va="center", fontsize=12)
    return _finish(fig, output_file)


def plot_design_matrix_correlation(design_matrix, output_file=None, title=None):
    """Pearson correlations between the design's regressors, drifts and constant left out.

    As nilearn's ``plot_design_matrix_correlation`` (lower triangle with the
    diagonal, diverging colours on ``[-1, 1]``), each cell printed.

    Parameters
    ----------
    design_matrix : pandas.DataFrame
    output_file : str, path or None
    title : str or None
        None: ``'Correlations between regressors'``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    columns = [
        c for c in design_matrix.columns if not str(c).startswith("drift_") and c != "constant"
    ]
    if not columns:
        raise InputError(
            "design_matrix: expected at least one regressor besides drifts and the constant, "
            "found none; there is nothing to correlate."
        )
    C = np.asarray(design_matrix[columns].corr().to_numpy(), dtype=np.float64)
    n = len(columns)
    size = 1.6 + 0.6 * n
    fig = new_figure((size + 1.2, size + 0.4), layout="constrained")
    ax = fig.add_subplot()
    shown = np.ma.masked_where(np.triu(np.ones((n, n), bool), k=1), C)
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    for i in range(n):
        for j in range(i + 1):
            value = C[i, j]
            ax.text(
                j,
                i,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if abs(value) > 0.6 else "black",
            )
    names = [str(c) for c in columns]
    ax.set_xticks(range(n))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticks(range(n))
    ax.set_yticklabels(names)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    cbar = fig.colorbar(image, ax=ax, shrink=0.8)
    cbar.set_label("correlation", fontsize=9)
    ax.set_title(title or "Correlations between regressors", fontsize=11)
    return _finish(fig, output_file)


def plot_regressors(
    design_matrix, columns=None, title="Expected responses", output_file=None, path=None
):
    """Regressors of the design plotted against scan time.

    The tutorial's ``plt.plot(design_matrix['active'])`` titled "Expected
    Auditory Response": the HRF-convolved ``active`` column over the frame
    times (the design's index, in seconds). ``columns`` defaults to the
    columns that are neither drifts nor the constant. ``path`` is an older
    name of ``output_file``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    design = design_matrix
    if columns is None:
        columns = [c for c in design.columns if not str(c).startswith("drift_") and c != "constant"]
    if isinstance(columns, str):
        columns = [columns]
    fig = new_figure((7.0, 3.2))
    ax = fig.add_subplot()
    times = np.asarray(design.index, dtype=np.float64)
    for col in columns:
        ax.plot(times, design[col].to_numpy(), label=str(col), linewidth=1.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("regressor (a.u.)")
    ax.set_title(title)
    ax.set_xlim(times[0], times[-1])
    if len(columns) > 1:
        ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _finish(fig, output_file if output_file is not None else path)


def plot_contrast_matrix(
    contrast_def, design_matrix, colorbar: bool = True, output_file=None, title=None
):
    """A contrast's weights over the design's columns (one row per contrast row).

    As nistats' and nilearn's ``plot_contrast_matrix``: ``matshow`` in grey
    with symmetric limits ``+-max|c|``, column names rotated along the top,
    a colour bar.

    Parameters
    ----------
    contrast_def : str, list of str, array_like
        An expression (``'active - rest'``), a list of expressions (F rows),
        a vector or a matrix (:func:`refglm.glm.contrasts.as_contrast_matrix`).
    design_matrix : pandas.DataFrame or sequence of str
        The design, or its column names.
    colorbar : bool, default True
    output_file : str, path or None
    title : str or None

    Returns
    -------
    matplotlib.figure.Figure
    """
    from refglm.glm.contrasts import as_contrast_matrix

    columns = design_matrix.columns if hasattr(design_matrix, "columns") else design_matrix
    names = [str(c) for c in columns]
    C = as_contrast_matrix(contrast_def, names)
    maxval = float(np.abs(C).max()) or 1.0
    max_len = max(len(n) for n in names)
    height = 1.3 + 0.45 * C.shape[0] + 0.07 * max_len + (0.35 if title else 0)
    width = 0.42 * len(names) + 1.4
    fig = new_figure((width, height))
    top = 1 - (0.07 * max_len + 0.15 + (0.35 if title else 0)) / height
    bottom = 0.25 / height
    ax = fig.add_axes([0.06, bottom, 0.8, top - bottom])
    mat = ax.matshow(
        C,
        aspect="auto",
        extent=[0, C.shape[1], 0, C.shape[0]],
        cmap="gray",
        vmin=-maxval,
        vmax=maxval,
    )
    ax.set_yticks([])
    ax.set_xticks(np.arange(0.5, len(names) + 0.5))
    ax.set_xticklabels(names, rotation=60, ha="left")
    ax.tick_params(axis="x", which="both", length=0)
    for x in range(1, len(names)):
        ax.axvline(x, color="#888888", linewidth=0.4)
    if colorbar:
        cax = fig.add_axes([0.9, bottom, 0.025, top - bottom])
        fig.colorbar(mat, cax=cax)
    if title:
        fig.suptitle(title, y=1 - 0.12 / height, fontsize=11, va="top")
    return _finish(fig, output_file)
