"""Figures of ``refglm compare``: a Bland-Altman plot and axial slices of Δ.

matplotlib is imported inside the functions (through :mod:`refglm.plotting._figure`),
so that importing this module does not load it. :func:`bland_altman_figure` and
:func:`delta_slices_figure` return figures drawn outside pyplot; the ``*_png``
functions their PNG bytes (no timestamp), as ``compare.html`` embeds them.

The slices of Δ are drawn as the map figures are (:mod:`refglm.plotting.maps`): in
the neurological convention (the subject's left on the left, ``L`` and ``R`` above
each cut), cropped to the brain, over the mean EPI when there is one (the reference
fit's mean image), else over the reference map's support in grey.
"""

from __future__ import annotations

import numpy as np

from refglm.plotting._figure import figure_png, new_figure
from refglm.plotting.maps import (
    _axial_figure,
    _bg_limits,
    _cold_hot_cmap,
    _crop_box,
    _draw_background,
    _extent,
    _label_cuts,
    _slice,
    choose_axial_cuts,
    reorient_to_ras,
)

__all__ = ["bland_altman_figure", "bland_altman_png", "delta_slices_figure", "delta_slices_png"]

#: Half-width of the limits of agreement, in standard deviations of Δ.
LIMITS_SD = 1.96


def bland_altman_figure(a: np.ndarray, b: np.ndarray, union: np.ndarray, title: str = ""):
    r"""Bland-Altman plot: :math:`(A+B)/2` against :math:`B-A` on ``union``.

    With the mean difference (solid line) and the limits of agreement, mean
    :math:`\pm 1.96` standard deviations (dashed), each named with its value in the
    legend.

    ``a``, ``b``: the two maps, finite (``refglm.compare`` sets their non-finite
    voxels to 0); ``union``: the union of their supports (a boolean map).

    Returns
    -------
    matplotlib.figure.Figure
    """
    va, vb = a[union], b[union]
    mean, diff = (va + vb) / 2, vb - va
    fig = new_figure((8.5, 4))  # room for the legend beside the axes
    ax = fig.add_subplot()
    ax.scatter(
        mean,
        diff,
        s=2,
        alpha=0.3,
        color="#1f77b4",
        rasterized=True,
        linewidths=0,
        label=f"voxels ({diff.size})",
    )
    if diff.size:
        mu, sd = float(diff.mean()), float(diff.std())
        ax.axhline(mu, color="#d62728", linestyle="-", linewidth=1, label=f"mean Δ = {mu:.3g}")
        ax.axhline(
            mu + LIMITS_SD * sd,
            color="#d62728",
            linestyle="--",
            linewidth=1,
            label=f"mean ± {LIMITS_SD} SD = {mu - LIMITS_SD * sd:.3g} … {mu + LIMITS_SD * sd:.3g}",
        )
        ax.axhline(mu - LIMITS_SD * sd, color="#d62728", linestyle="--", linewidth=1)
        legend = ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
        for handle in legend.legend_handles[:1]:
            handle.set_alpha(1)
    ax.set_xlabel("(reference + candidate) / 2")
    ax.set_ylabel("candidate − reference")
    ax.set_title(title or "Bland–Altman")
    fig.tight_layout()
    return fig


def bland_altman_png(a: np.ndarray, b: np.ndarray, union: np.ndarray, title: str = "") -> bytes:
    """The PNG bytes of :func:`bland_altman_figure`."""
    return figure_png(bland_altman_figure(a, b, union, title))


def _cuts_through_the_largest(delta, union, affine, n_cuts: int = 3) -> list[float]:
    """World z of ``n_cuts`` axial cuts: the largest |Δ|'s slice and those with most |Δ|.

    The others as :func:`refglm.plotting.choose_axial_cuts` chooses them (the slices with
    the largest sum of |Δ|, at least 15 mm apart, each with at least half the largest
    slice's brain area); the one nearest the largest |Δ|'s slice is replaced by it.
    """
    magnitude = np.abs(delta)
    cuts = choose_axial_cuts(magnitude, affine, n_cuts, mask=union)
    ijk = np.unravel_index(int(magnitude.argmax()), magnitude.shape)
    z_max = float((np.asarray(affine, dtype=np.float64) @ [*ijk, 1])[2])
    if not any(abs(z - z_max) < 1e-6 for z in cuts):
        nearest = int(np.argmin([abs(z - z_max) for z in cuts]))
        cuts[nearest] = z_max
    return sorted(cuts)


def delta_slices_figure(
    a: np.ndarray,
    b: np.ndarray,
    union: np.ndarray,
    affine,
    title: str = "",
    background: np.ndarray | None = None,
    reference_support: np.ndarray | None = None,
):
    """Three axial slices of Δ = B − A over the brain, in the neurological convention.

    The cuts (:func:`_cuts_through_the_largest`) go through the largest |Δ| and the
    slices with most |Δ|; the voxels with Δ = 0 are not drawn. Behind Δ: the mean EPI
    ``background`` when given (the reference fit's mean image), else the reference
    map's support (``reference_support``, default ``union``) in grey. ``L`` and ``R``
    mark the subject's left and right above each cut, its world z between them.

    ``a``, ``b`` and ``union`` as :func:`bland_altman_figure`'s; ``affine`` their
    voxel-to-world affine.

    Returns
    -------
    matplotlib.figure.Figure
    """
    union = np.asarray(union, dtype=bool)
    delta = np.where(union, b - a, 0.0)
    cuts = _cuts_through_the_largest(delta, union, affine)
    delta_ras, aff_ras = reorient_to_ras(delta, affine)
    support = union if reference_support is None else np.asarray(reference_support, dtype=bool)
    box = _crop_box(aff_ras, delta_ras.shape, reorient_to_ras(union | support, affine)[0])
    vmax = float(np.abs(delta).max())
    i, j, k = (int(v) for v in np.unravel_index(int(np.abs(delta).argmax()), delta.shape))
    drawn = int(np.count_nonzero(delta))
    header = [
        (title or "Δ = candidate − reference", {}),
        (
            f"max |Δ| = {vmax:.3g} at voxel ({i}, {j}, {k}); Δ ≠ 0 in {drawn} of "
            f"{int(union.sum())} voxels (drawn), Δ = 0 not drawn",
            {},
        ),
    ]
    behind = (
        "the reference fit's mean EPI" if background is not None else "the reference map's support"
    )
    footer = (
        "neurological convention: L = subject's left\n"
        f"cuts: the slice of the largest |Δ| and the slices with most |Δ|; behind Δ: {behind}"
    )
    fig, axes, cax, fg, layout = _axial_figure(len(cuts), box, header, footer, True, True)
    extent = _extent(aff_ras, delta_ras.shape)
    if background is not None:
        bg_ras = reorient_to_ras(np.asarray(background, dtype=np.float64), affine)[0]
        lo, hi = _bg_limits(np.asarray(background, dtype=np.float64))
    else:
        bg_ras = reorient_to_ras(support.astype(np.float64), affine)[0]
        lo, hi = 0.0, 2.5  # the support in dark grey, the rest black
    scale = vmax or 1.0
    image = None
    for ax, z in zip(axes, cuts, strict=True):
        _draw_background(ax, _slice(bg_ras, aff_ras, z), lo, hi, extent)
        image = ax.imshow(
            np.ma.masked_equal(_slice(delta_ras, aff_ras, z).T, 0.0),
            origin="lower",
            cmap=_cold_hot_cmap(),
            vmin=-scale,
            vmax=scale,
            extent=extent,
            interpolation="nearest",
        )
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
    _label_cuts(fig, axes, cuts, layout, fg)
    cbar = fig.colorbar(image, cax=cax)
    cbar.set_ticks([-scale, 0.0, scale])
    cbar.set_ticklabels([f"{-scale:.2g}", "0", f"{scale:.2g}"])
    cbar.ax.tick_params(colors=fg, labelsize=8)
    cbar.outline.set_edgecolor(fg)
    cbar.set_label("Δ = candidate − reference", color=fg)
    return fig


def delta_slices_png(
    a: np.ndarray,
    b: np.ndarray,
    union: np.ndarray,
    affine,
    title: str = "",
    background: np.ndarray | None = None,
    reference_support: np.ndarray | None = None,
) -> bytes:
    """The PNG bytes of :func:`delta_slices_figure`."""
    return figure_png(
        delta_slices_figure(a, b, union, affine, title, background, reference_support)
    )
