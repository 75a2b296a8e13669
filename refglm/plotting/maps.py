"""Statistical maps and masks over the mean EPI in axial cuts, and their orientation.

:func:`plot_stat_map` (after ``nilearn.plotting.plot_stat_map(...,
display_mode='z', cut_coords=3, black_bg=True)``) and :func:`plot_mask`
draw slices in the **neurological convention** (the subject's left, world
x < 0 in RAS+ mm, on the left of each cut, marked ``L`` and ``R``) after
:func:`reorient_to_ras`; :func:`choose_axial_cuts` picks the cuts.
Re-exported by ``refglm.plotting``; matplotlib is imported lazily.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.plotting._figure import _FG_DARK, _finish, _pyplot

__all__ = ["axis_codes", "reorient_to_ras", "choose_axial_cuts", "plot_stat_map", "plot_mask"]


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


#: Colour of the colour bar's band between -threshold and threshold (two-sided maps).
_GAP_GREY = "#808080"


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


def _draw_background(ax, bg_slice, lo, hi, extent):
    """The background slice in grey, between the limits of :func:`_bg_limits`."""
    ax.imshow(
        bg_slice.T,
        origin="lower",
        cmap="gray",
        vmin=lo,
        vmax=hi,
        extent=extent,
        interpolation="nearest",
    )


def _finish_cut(ax, z, fg):
    """Hide the axes, keep mm square, label the cut by its world z and by L/R."""
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
    negative values gets the cold half too (symmetric colour bar, on which
    the band between ``-threshold`` and ``threshold``, never drawn, is grey
    and both ends of it are ticked). Slices
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
        _draw_background(ax, _slice(bg_ras, aff_ras, z), lo, hi, extent)
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
        _finish_cut(ax, z, fg)
    cbar = fig.colorbar(image, cax=cax)
    if two_sided:
        # values in (-threshold, threshold) are not drawn: grey out that band of the bar
        cbar.ax.axhspan(-threshold, threshold, facecolor=_GAP_GREY, edgecolor="none")
        ticks = [vmin, -threshold, threshold, vmax]
    else:
        ticks = [threshold, (threshold + vmax) / 2, vmax]
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
        _draw_background(ax, _slice(bg_ras, aff_ras, z), lo, hi, extent)
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
        _finish_cut(ax, z, fg)
    return _finish(fig, path)
