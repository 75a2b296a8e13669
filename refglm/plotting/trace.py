"""The figure of one voxel's fit (``refglm explain-voxel``): series, fit, whitened residuals."""

from __future__ import annotations

import numpy as np

from refglm.plotting._figure import _finish, _pyplot

__all__ = ["plot_voxel_trace"]


def plot_voxel_trace(trace, title: str = "", path=None) -> bytes:
    """Three panels explaining one voxel's fit (``refglm explain-voxel``).

    1. the scaled series with the OLS fit and the AR(1) model's prediction
       :math:`X\\tilde\\beta`, over scan time;
    2. the autocorrelation of the OLS residuals at lags 1-15 with the
       estimated and binned rho marked at lag 1 (and of the whitened
       residuals, which should be near 0);
    3. the whitened series with the whitened fit :math:`\\tilde X\\tilde\\beta`.

    ``trace`` is a :class:`refglm.first_level.trace.VoxelTrace`.
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
