"""The figure of one voxel's fit (``refglm explain-voxel``): series, fit, whitened residuals."""

from __future__ import annotations

import numpy as np

from refglm.plotting._figure import new_figure, save_figure

__all__ = ["plot_voxel_trace"]

_SERIES = "0.35"
_AR = "#d62728"
_OLS = "#1f77b4"


def _legend_below(ax, ncol):
    """The axes' legend under its x label, outside the data."""
    ax.legend(
        frameon=False,
        fontsize=8.5,
        ncol=ncol,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.2),
        borderaxespad=0.0,
    )


def plot_voxel_trace(trace, title: str = "", output_file=None, path=None):
    r"""Three panels explaining one voxel's fit (``refglm explain-voxel``).

    1. the scaled series :math:`s` with the OLS fit :math:`X\hat\beta` and the
       AR(1) model's prediction :math:`X\tilde\beta`, over scan time;
    2. the autocorrelation of the OLS residuals at lags 1-15 with the
       estimated and binned :math:`\rho` marked at lag 1 (and of the whitened
       residuals, which should be near 0);
    3. the whitened series :math:`\tilde s` with the whitened fit
       :math:`\tilde X\tilde\beta`.

    Formulas are matplotlib mathtext; every legend sits under its panel,
    never over the data.

    Parameters
    ----------
    trace : refglm.first_level.trace.VoxelTrace
    title : str
    output_file : str, path or None
        Where to write the figure as PNG (``path`` is an older name of it).

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = np.asarray(trace.design.index, dtype=np.float64)
    fig = new_figure((8.0, 10.0))
    axes = fig.subplots(3, 1)
    ax = axes[0]
    ax.plot(t, trace.scaled, color=_SERIES, linewidth=1.0, marker=".", label=r"scaled series $s$")
    ax.plot(t, trace.fitted, color=_AR, linewidth=1.8, label=r"AR(1) model $X\tilde{\beta}$")
    ols_label = r"OLS fit $X\hat{\beta}$"
    ax.plot(t, trace.ols_fitted, color=_OLS, linewidth=1.2, linestyle="--", label=ols_label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("signal change (%)")
    ax.set_title("time series and fitted model", fontsize=11)
    ax.grid(alpha=0.3)
    _legend_below(ax, 3)

    ax = axes[1]
    lags = np.arange(1, 16)

    def acf(x):
        x = np.asarray(x, dtype=np.float64)
        d = (x * x).sum()
        return np.array([(x[k:] * x[: x.size - k]).sum() / d for k in lags])

    width = 0.38
    ax.bar(lags - width / 2, acf(trace.ols_resid), width, color=_OLS, label="OLS residuals")
    if trace.noise_model == "ar1":
        ax.bar(
            lags + width / 2,
            acf(trace.whitened_resid),
            width,
            color=_AR,
            label="whitened residuals",
        )
        ax.plot([1], [trace.rho_raw], "k*", markersize=10, label=rf"$\rho$ raw {trace.rho_raw:.4f}")
        ax.plot([1], [trace.rho], "kx", markersize=9, label=rf"$\rho$ binned {trace.rho:.2f}")
    bound = 2 / np.sqrt(trace.ols_resid.size)
    ax.axhspan(-bound, bound, color="0.85", zorder=0, label=r"$\pm 2/\sqrt{n}$")
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("lag $k$ (scans)")
    ax.set_ylabel("autocorrelation")
    ax.set_title(
        r"residual autocorrelation $r_k = \sum_t r_t\, r_{t-k} \,/\, \sum_t r_t^2$", fontsize=11
    )
    ax.set_xticks(lags)
    _legend_below(ax, 3)

    ax = axes[2]
    tw = t[-trace.whitened.size :]
    series_label = r"whitened $\tilde{s}$"
    fit_label = r"whitened fit $\tilde{X}\tilde{\beta}$"
    ax.plot(tw, trace.whitened, color=_SERIES, linewidth=1.0, marker=".", label=series_label)
    ax.plot(tw, trace.whitened_fitted, color=_AR, linewidth=1.6, label=fit_label)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("whitened signal")
    ax.set_title(
        f"whitened fit: effect {trace.effect:.3f}, $t$ = {trace.t:.3f} (df {trace.df:g}), "
        f"$z$ = {trace.z:.6f}",
        fontsize=11,
    )
    ax.grid(alpha=0.3)
    _legend_below(ax, 2)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    target = output_file if output_file is not None else path
    if target is not None:
        save_figure(fig, target)
    return fig
