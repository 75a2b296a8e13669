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
"""

from __future__ import annotations

import io as _io
from pathlib import Path

import numpy as np

from refglm.exceptions import InputError

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

#: How slices are drawn: the subject's left on the viewer's left.
DISPLAY_CONVENTION = "neurological"

_DPI = 100
_FG_DARK = "white"


def _pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, path=None) -> bytes:
    """Render ``fig`` to PNG bytes (no timestamp metadata), write them to ``path``, close it."""
    plt = _pyplot()
    buf = _io.BytesIO()
    fig.savefig(
        buf,
        format="png",
        dpi=_DPI,
        facecolor=fig.get_facecolor(),
        metadata={"Software": None},
    )
    plt.close(fig)
    png = buf.getvalue()
    if path is not None:
        from refglm.io import atomic_write_bytes

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, png)
    return png


# --------------------------------------------------------------------------- orientation


def axis_codes(affine) -> tuple[str, str, str]:
    """The world direction (RAS+) toward which each voxel axis increases.

    Returns e.g. ``('L', 'A', 'S')`` for the SPM auditory data, whose affine
    has ``-3`` mm along x. Same result as ``nibabel.aff2axcodes`` for affines
    whose columns each point mostly along one world axis; an ambiguous
    (oblique by 45 degrees or more) affine is refused.
    """
    A = np.asarray(affine, dtype=np.float64)[:3, :3]
    labels = (("L", "R"), ("P", "A"), ("I", "S"))
    world = np.argmax(np.abs(A), axis=0)
    if sorted(world) != [0, 1, 2]:
        raise InputError(
            "affine: expected voxel axes close to the world axes, found an oblique affine "
            f"{A.round(3).tolist()}; resample the image to an axis-aligned grid first."
        )
    return tuple(labels[w][int(A[w, j] > 0)] for j, w in enumerate(world))


def reorient_to_ras(data, affine) -> tuple[np.ndarray, np.ndarray]:
    """Flip and transpose a 3-D array so that its axes run to R, A and S.

    The closest-canonical reorientation (``nibabel.as_closest_canonical``
    without resampling): voxel axes are permuted to world x, y, z and flipped
    where they run toward L, P or I. The returned affine maps the new indices
    to the same world coordinates.

    Returns
    -------
    data_ras : ndarray
    affine_ras : ndarray, shape (4, 4)
    """
    data = np.asarray(data)
    A = np.asarray(affine, dtype=np.float64)
    codes = axis_codes(A)
    world = [{"L": 0, "R": 0, "P": 1, "A": 1, "I": 2, "S": 2}[c] for c in codes]
    order = [world.index(w) for w in range(3)]
    out = np.transpose(data, order + list(range(3, data.ndim)))
    new = A.copy()
    new[:, :3] = A[:, order]
    for w in range(3):
        if new[w, w] < 0:
            n = out.shape[w]
            out = np.flip(out, axis=w)
            new[:, 3] = new[:, 3] + new[:, w] * (n - 1)
            new[:, w] = -new[:, w]
    return np.ascontiguousarray(out), new


def choose_axial_cuts(stat, affine, n_cuts: int = 3, min_gap_mm: float = 15.0, mask=None):
    """World z (mm) of ``n_cuts`` axial slices that show most of a map.

    Greedy: take the slice with the largest sum of ``|stat|``, drop the
    slices closer than ``min_gap_mm`` to it, repeat. A map with nothing to
    show gives slices evenly spaced through ``mask`` (or the whole volume).
    Returned in increasing z. (nilearn's ``find_cut_slices`` uses a smoothed
    version of the same idea; the cuts here are chosen once per contrast so
    that its maps at different thresholds can be compared slice by slice.)
    """
    data, aff = reorient_to_ras(np.nan_to_num(np.asarray(stat, dtype=np.float64)), affine)
    dz = aff[2, 2]
    z_of = aff[2, 3] + dz * np.arange(data.shape[2])
    score = np.abs(data).sum(axis=(0, 1))
    chosen = []
    if score.max() > 0:
        score = score.copy()
        for _ in range(n_cuts):
            k = int(np.argmax(score))
            if score[k] <= 0:
                break
            chosen.append(k)
            score[np.abs(z_of - z_of[k]) < min_gap_mm] = -1
    if len(chosen) < n_cuts:
        if mask is not None:
            m, _ = reorient_to_ras(np.asarray(mask) > 0, affine)
            ks = np.flatnonzero(m.any(axis=(0, 1)))
        else:
            ks = np.arange(data.shape[2])
        lo, hi = (ks.min(), ks.max()) if ks.size else (0, data.shape[2] - 1)
        for k in np.linspace(lo, hi, n_cuts + 2)[1:-1].round().astype(int):
            if len(chosen) < n_cuts and all(abs(k - c) * abs(dz) >= min_gap_mm for c in chosen):
                chosen.append(int(k))
    return sorted(float(z_of[k]) for k in chosen)


def _slice(data_ras, aff_ras, z_mm):
    k = int(np.rint((z_mm - aff_ras[2, 3]) / aff_ras[2, 2]))
    k = min(max(k, 0), data_ras.shape[2] - 1)
    return data_ras[:, :, k]


def _extent(aff_ras, shape):
    """imshow extent (x0, x1, y0, y1) in mm with voxel centres on the grid."""
    dx, dy = aff_ras[0, 0], aff_ras[1, 1]
    x0, y0 = aff_ras[0, 3], aff_ras[1, 3]
    return (
        x0 - dx / 2,
        x0 + dx * (shape[0] - 0.5),
        y0 - dy / 2,
        y0 + dy * (shape[1] - 0.5),
    )


def _bg_limits(bg):
    vals = bg[np.isfinite(bg) & (bg != 0)]
    if vals.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(vals, [2.0, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1)


def _hot_cmap():
    """Dark red at the threshold, through orange and yellow, to white (nilearn's hot half)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "refglm_hot", ["#7f0000", "#d62000", "#ff7a00", "#ffd400", "#ffffbf"]
    )


def _cold_hot_cmap():
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "refglm_cold_hot",
        ["#bfffff", "#00c8ff", "#0040d0", "#00007f", "#7f0000", "#d62000", "#ffd400", "#ffffbf"],
    )


def _side_labels(ax, color):
    style = dict(color=color, fontsize=11, fontweight="bold", va="center")
    ax.text(0.02, 0.5, "L", transform=ax.transAxes, ha="left", **style)
    ax.text(0.98, 0.5, "R", transform=ax.transAxes, ha="right", **style)


def _axial_panel_figure(n_cuts, title, black_bg=True, colorbar=True):
    plt = _pyplot()
    fg = _FG_DARK if black_bg else "black"
    bg = "black" if black_bg else "white"
    width = 2.6 * n_cuts + (1.1 if colorbar else 0.2)
    fig = plt.figure(figsize=(width, 3.35), facecolor=bg)
    axes = []
    left = 0.1 / width
    panel = 2.6 / width
    for k in range(n_cuts):
        axes.append(fig.add_axes([left + k * panel, 0.09, panel * 0.98, 0.76], facecolor=bg))
    cax = None
    if colorbar:
        cax = fig.add_axes([left + n_cuts * panel + 0.12 / width, 0.14, 0.16 / width, 0.66])
    fig.text(0.5 / width, 0.93, title, color=fg, fontsize=12, ha="left", va="center")
    fig.text(
        0.5 / width,
        0.035,
        "neurological convention: subject's left (L) on the left",
        color=fg,
        fontsize=8,
        ha="left",
        va="center",
        alpha=0.8,
    )
    return fig, axes, cax, fg


def plot_stat_map(
    stat,
    bg,
    affine,
    threshold: float,
    title: str = "",
    cut_coords=None,
    vmax: float | None = None,
    label: str = "z",
    path=None,
    black_bg: bool = True,
) -> bytes:
    """A thresholded statistical map over a background image, in three axial cuts.

    The figure of ``nilearn.plotting.plot_stat_map(stat, bg_img=bg,
    threshold=threshold, display_mode='z', cut_coords=3, black_bg=True,
    title=title)`` as the nistats tutorial drew it: voxels with
    ``|stat| <= threshold`` are transparent; positive values use a hot map
    from dark red at the threshold to white at ``vmax``; a map with
    negative values gets the cold half too (symmetric colour bar). Slices
    are drawn in the neurological convention and labelled L/R and by their
    world z (mm).

    Parameters
    ----------
    stat, bg : ndarray, 3-D
        Statistical map and background (e.g. the mean EPI) on the same grid.
    affine : ndarray, shape (4, 4)
        Voxel-to-world affine of both.
    threshold : float
        Display threshold (e.g. the one returned by ``map_threshold``).
    title : str
    cut_coords : sequence of float or None
        World z (mm) of the cuts; None chooses 3 with :func:`choose_axial_cuts`.
    vmax : float or None
        Top of the colour bar; None takes ``max |stat|``.
    label : str
        Colour-bar label.
    path : path or None
        Where to write the PNG.
    black_bg : bool

    Returns
    -------
    png : bytes
    """
    stat = np.nan_to_num(np.asarray(stat, dtype=np.float64))
    bg = np.asarray(bg, dtype=np.float64)
    if stat.shape != bg.shape:
        raise InputError(
            f"stat {stat.shape} and background {bg.shape}: expected images on one grid; "
            "resample the background to the statistical map."
        )
    shown = np.where(np.abs(stat) > threshold, stat, 0.0)
    if cut_coords is None:
        cut_coords = choose_axial_cuts(shown, affine, 3, mask=bg > 0)
    stat_ras, aff_ras = reorient_to_ras(shown, affine)
    bg_ras, _ = reorient_to_ras(bg, affine)
    lo, hi = _bg_limits(bg)
    peak = float(np.abs(shown).max())
    vmax = float(vmax) if vmax is not None else max(peak, threshold + 1e-6)
    two_sided = bool((shown < 0).any())
    if two_sided:
        cmap, vmin = _cold_hot_cmap(), -vmax
    else:
        cmap, vmin = _hot_cmap(), threshold
    fig, axes, cax, fg = _axial_panel_figure(len(cut_coords), title, black_bg)
    extent = _extent(aff_ras, stat_ras.shape)
    image = None
    for ax, z in zip(axes, cut_coords, strict=True):
        ax.imshow(
            _slice(bg_ras, aff_ras, z).T,
            origin="lower",
            cmap="gray",
            vmin=lo,
            vmax=hi,
            extent=extent,
            interpolation="nearest",
        )
        over = _slice(stat_ras, aff_ras, z).T
        image = ax.imshow(
            np.ma.masked_equal(over, 0.0),
            origin="lower",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            extent=extent,
            interpolation="nearest",
        )
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.text(
            0.5,
            0.02,
            f"z={z:g}",
            transform=ax.transAxes,
            color=fg,
            fontsize=10,
            ha="center",
            va="bottom",
        )
        _side_labels(ax, fg)
    cbar = fig.colorbar(image, cax=cax)
    ticks = [vmin, 0.0, vmax] if two_sided else [threshold, (threshold + vmax) / 2, vmax]
    cbar.set_ticks(ticks)
    cbar.set_ticklabels([f"{t:.2f}" for t in ticks])
    cbar.ax.tick_params(colors=fg, labelsize=8)
    cbar.outline.set_edgecolor(fg)
    cbar.set_label(label, color=fg)
    return _finish(fig, path)


def plot_mask(mask, bg, affine, title: str | None = None, path=None, n_cuts: int = 3) -> bytes:
    """The brain mask over the mean EPI: translucent fill and outline, ``n_cuts`` axial cuts.

    Cuts are evenly spaced through the mask's extent; the title gives the
    voxel count. Neurological convention, as :func:`plot_stat_map`.
    """
    mask = np.asarray(mask) > 0
    bg = np.asarray(bg, dtype=np.float64)
    if title is None:
        title = f"Brain mask: {int(mask.sum())} voxels"
    cuts = choose_axial_cuts(np.zeros(mask.shape), affine, n_cuts, mask=mask)
    mask_ras, aff_ras = reorient_to_ras(mask.astype(float), affine)
    bg_ras, _ = reorient_to_ras(bg, affine)
    lo, hi = _bg_limits(bg)
    fig, axes, _, fg = _axial_panel_figure(len(cuts), title, True, colorbar=False)
    extent = _extent(aff_ras, mask_ras.shape)
    for ax, z in zip(axes, cuts, strict=True):
        ax.imshow(
            _slice(bg_ras, aff_ras, z).T,
            origin="lower",
            cmap="gray",
            vmin=lo,
            vmax=hi,
            extent=extent,
            interpolation="nearest",
        )
        m = _slice(mask_ras, aff_ras, z).T
        ax.imshow(
            np.ma.masked_equal(m, 0.0),
            origin="lower",
            cmap="winter",
            alpha=0.35,
            vmin=0,
            vmax=1,
            extent=extent,
            interpolation="nearest",
        )
        xs = np.linspace(extent[0], extent[1], m.shape[1] + 1)
        ys = np.linspace(extent[2], extent[3], m.shape[0] + 1)
        centres_x = (xs[:-1] + xs[1:]) / 2
        centres_y = (ys[:-1] + ys[1:]) / 2
        if m.any() and not m.all():
            ax.contour(centres_x, centres_y, m, levels=[0.5], colors=["#00e5ff"], linewidths=1)
        ax.set_axis_off()
        ax.set_aspect("equal")
        ax.text(
            0.5,
            0.02,
            f"z={z:g}",
            transform=ax.transAxes,
            color=fg,
            fontsize=10,
            ha="center",
            va="bottom",
        )
        _side_labels(ax, fg)
    return _finish(fig, path)


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
