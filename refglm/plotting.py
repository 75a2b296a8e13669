"""Figures of a first-level analysis, drawn with matplotlib alone.

Every figure of the nistats SPM auditory tutorial has a function here:
the design matrix (:func:`plot_design_matrix`, after nistats
``reporting.plot_design_matrix``), a regressor of it
(:func:`plot_regressors`, the tutorial's "Expected Auditory Response"), a
contrast's weights (:func:`plot_contrast_matrix`, after nistats
``reporting.plot_contrast_matrix``) and a thresholded statistical map over
the mean EPI in three axial cuts on a black background
(:func:`plot_stat_map`, after ``nilearn.plotting.plot_stat_map(...,
display_mode='z', cut_coords=3, black_bg=True)``). :func:`plot_mask` shows
the brain mask and :func:`plot_voxel_trace` one voxel's fit
(``refglm explain-voxel``).

matplotlib is imported inside the functions, with the Agg backend, so that
``import refglm`` does not load it. Images take arrays and a voxel-to-world
affine (this module does not import nibabel). Slices are shown in the
**neurological convention**: the subject's left (world x < 0, RAS+ mm) on
the left of each cut, as nilearn draws them, with ``L`` and ``R`` marked.
Each function returns the PNG bytes (and writes them when given a path),
so that a report can embed exactly the files written beside it; the PNGs
carry no timestamp, so repeated runs give identical bytes.

The map figures and orientation helpers live in ``refglm.plotting_maps``
and the shared rendering in ``refglm._figure``; both are re-exported here.
"""

from __future__ import annotations

import numpy as np

from refglm._figure import DISPLAY_CONVENTION, _finish, _pyplot
from refglm.exceptions import InputError
from refglm.plotting_maps import (
    axis_codes,
    choose_axial_cuts,
    plot_mask,
    plot_stat_map,
    reorient_to_ras,
)

__all__ = [
    "axis_codes",
    "reorient_to_ras",
    "choose_axial_cuts",
    "plot_design_matrix",
    "plot_regressors",
    "plot_contrast_matrix",
    "plot_stat_map",
    "plot_mask",
    "plot_voxel_trace",
    "DISPLAY_CONVENTION",
]


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


def plot_voxel_trace(trace, title: str = "", path=None) -> bytes:
    """Three panels explaining one voxel's fit (``refglm explain-voxel``).

    1. the scaled series with the OLS fit and the AR(1) model's prediction
       :math:`X\\tilde\\beta`, over scan time;
    2. the autocorrelation of the OLS residuals at lags 1-15 with the
       estimated and binned rho marked at lag 1 (and of the whitened
       residuals, which should be near 0);
    3. the whitened series with the whitened fit :math:`\\tilde X\\tilde\\beta`.

    ``trace`` is a :class:`refglm.trace.VoxelTrace`.
    """
    plt = _pyplot()
    t = np.asarray(trace.design.index, dtype=np.float64)
    fig, axes = plt.subplots(3, 1, figsize=(8.0, 8.6))
    ax = axes[0]
    ax.plot(t, trace.scaled, color="0.35", linewidth=1.0, marker=".", label="scaled series s")
    ax.plot(t, trace.fitted, color="#d62728", linewidth=1.8, label="AR(1) model X b~")
    ax.plot(
        t, trace.ols_fitted, color="#1f77b4", linewidth=1.2, linestyle="--", label="OLS fit X b"
    )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("signal change (%)")
    ax.set_title("time series and fitted model", fontsize=11)
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper left")
    ax.grid(alpha=0.3)

    ax = axes[1]
    lags = np.arange(1, 16)

    def acf(x):
        x = np.asarray(x, dtype=np.float64)
        d = (x * x).sum()
        return np.array([(x[k:] * x[: x.size - k]).sum() / d for k in lags])

    width = 0.38
    ax.bar(lags - width / 2, acf(trace.ols_resid), width, color="#1f77b4", label="OLS residuals")
    if trace.noise_model == "ar1":
        ax.bar(
            lags + width / 2,
            acf(trace.whitened_resid),
            width,
            color="#d62728",
            label="whitened residuals",
        )
        ax.plot([1], [trace.rho_raw], "k*", markersize=10, label=f"rho raw {trace.rho_raw:.4f}")
        ax.plot([1], [trace.rho], "kx", markersize=9, label=f"rho binned {trace.rho:.2f}")
    bound = 2 / np.sqrt(trace.ols_resid.size)
    ax.axhspan(-bound, bound, color="0.85", zorder=0, label="+-2/sqrt(n)")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("lag (scans)")
    ax.set_ylabel("autocorrelation")
    ax.set_title("residual autocorrelation  sum r_t r_(t-k) / sum r_t^2", fontsize=11)
    ax.set_xticks(lags)
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.45 * (hi - lo))  # room for the legend above the bars
    ax.legend(frameon=False, fontsize=8, ncol=3, loc="upper left")

    ax = axes[2]
    tw = t[-trace.whitened.size :]
    ax.plot(tw, trace.whitened, color="0.35", linewidth=1.0, marker=".", label="whitened s~")
    ax.plot(tw, trace.whitened_fitted, color="#d62728", linewidth=1.6, label="whitened fit X~ b~")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("whitened signal")
    ax.set_title(
        f"whitened fit: effect {trace.effect:.3f}, t {trace.t:.3f} (df {trace.df:g}), "
        f"z {trace.z:.6f}",
        fontsize=11,
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left", ncol=2)
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return _finish(fig, path)
