"""Figures of a design: the matrix, its regressors over time, a contrast's weights.

After nistats ``reporting.plot_design_matrix`` and ``plot_contrast_matrix``, and
the tutorial's "Expected Auditory Response". Each function returns the PNG bytes
(and writes them when given a path); the PNGs carry no timestamp.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.plotting._figure import _finish, _pyplot

__all__ = ["plot_design_matrix", "plot_regressors", "plot_contrast_matrix"]


def plot_design_matrix(design, path=None, title: str | None = None) -> bytes:
    """The design matrix as an image: rows are scans, columns regressors.

    As nistats ``reporting.plot_design_matrix``: each column divided by its
    maximum absolute value, grey scale, nearest interpolation, column names
    rotated along the top.
    """
    plt = _pyplot()
    X = design.to_numpy(dtype=np.float64)
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    names = [str(c) for c in design.columns]
    max_len = max(len(n) for n in names)
    width = max(5.0, 0.38 * len(names) + 1.4)
    height = 6.0
    top_in = 0.3 + 0.075 * max_len + (0.3 if title else 0)
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes([0.9 / width, 0.15 / height, 1 - 1.2 / width, 1 - (top_in + 0.15) / height])
    ax.imshow(X / scale, interpolation="nearest", aspect="auto", cmap="gray")
    ax.set_xticks(np.arange(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="left")
    ax.xaxis.tick_top()
    ax.set_ylabel("scan number")
    if title:
        fig.suptitle(title, y=0.995, fontsize=12)
    return _finish(fig, path)


def plot_regressors(design, columns=None, title="Expected Auditory Response", path=None) -> bytes:
    """Regressors of the design plotted against scan time.

    The tutorial's ``plt.plot(design_matrix['active'])`` titled "Expected
    Auditory Response": the HRF-convolved ``active`` column over the frame
    times (the design's index, in seconds). ``columns`` defaults to the
    columns that are neither drifts nor the constant.
    """
    plt = _pyplot()
    if columns is None:
        columns = [c for c in design.columns if not str(c).startswith("drift_") and c != "constant"]
    if isinstance(columns, str):
        columns = [columns]
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
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
    return _finish(fig, path)


def plot_contrast_matrix(contrast, design_columns, title: str | None = None, path=None) -> bytes:
    """A contrast's weights over the design's columns (one row per contrast row).

    As nistats ``reporting.plot_contrast_matrix``: ``matshow`` in grey with
    symmetric limits ``+-max|c|``, column names rotated along the top, a
    colour bar.
    """
    plt = _pyplot()
    C = np.atleast_2d(np.asarray(contrast, dtype=np.float64))
    names = [str(c) for c in design_columns]
    if C.shape[1] != len(names):
        raise InputError(
            f"contrast: expected {len(names)} weights (one per design column), found {C.shape[1]}."
        )
    maxval = float(np.abs(C).max()) or 1.0
    max_len = max(len(n) for n in names)
    height = 1.3 + 0.45 * C.shape[0] + 0.07 * max_len + (0.35 if title else 0)
    fig = plt.figure(figsize=(0.42 * len(names) + 1.4, height))
    top = 1 - (0.07 * max_len + 0.15 + (0.35 if title else 0)) / height
    bottom = 0.25 / height
    ax = fig.add_axes([0.06, bottom, 0.8, top - bottom])
    cax = fig.add_axes([0.9, bottom, 0.025, top - bottom])
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
    fig.colorbar(mat, cax=cax)
    if title:
        fig.suptitle(title, y=1 - 0.12 / height, fontsize=11, va="top")
    return _finish(fig, path)
