"""Statistical maps and masks over a background in axial cuts: arrays in, a Figure out.

The arrays layer of the map figures (:func:`stat_map_figure`, :func:`mask_figure`);
:mod:`refglm.plotting.images` puts nilearn's image-taking signatures on top of it.

- **What is drawn**: as ``nilearn.plotting.plot_stat_map(..., threshold=t)``,
  every voxel with ``|stat| > t``, both signs; a map with negative values
  drawn gets a symmetric colour bar (blue for negative, red to yellow for
  positive, the never-drawn band ``(-t, t)`` greyed out), a map without them
  the hot half only. A map with nothing above the threshold says so on the
  figure (and draws no colour bar).
- **Orientation**: slices are drawn in the **neurological convention** (the
  subject's left, world x < 0 in RAS+ mm, on the left of each cut) after
  :func:`reorient_to_ras`.
- **Cuts** (:func:`choose_axial_cuts`): the slices with the largest sum of the
  drawn ``|stat|``, at least 15 mm apart, among the slices whose brain area is
  at least :data:`MIN_BRAIN_FRACTION` of the largest (never an edge slice with
  almost no brain); a map with nothing drawn gets slices evenly spaced through
  those.
- **Labels** sit outside the image panels (the cut's world z above each
  panel, ``L`` and ``R`` at its top corners, the parameters under the title),
  in white with a black outline: no label touches data.

matplotlib is imported lazily (:mod:`refglm.plotting._figure`).
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.plotting._figure import _FG_DARK, _outlined, new_figure

__all__ = [
    "axis_codes",
    "reorient_to_ras",
    "choose_axial_cuts",
    "stat_map_figure",
    "mask_figure",
    "MIN_BRAIN_FRACTION",
    "MIN_GAP_MM",
    "CUT_RULE",
]

#: A slice is a candidate cut when its brain area is at least this share of the largest.
MIN_BRAIN_FRACTION = 0.5
#: The least distance (mm) between two chosen cuts.
MIN_GAP_MM = 15.0
#: How :func:`choose_axial_cuts` chooses, in words (figure footers and the report).
CUT_RULE = (
    "the slices with the most |{label}| drawn, \u2265 {gap:g} mm apart, each with "
    "\u2265 {pct:g}% of the largest slice's brain area"
)


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


def _brain_support(bg, mask):
    """Where the brain is: ``mask`` when given, else the bright part of ``bg`` (or None)."""
    if mask is not None:
        return np.asarray(mask) > 0
    if bg is None:
        return None
    bg = np.nan_to_num(np.asarray(bg, dtype=np.float64))
    _, hi = _bg_limits(bg)
    return bg > 0.2 * hi


def choose_axial_cuts(
    stat, affine, n_cuts: int = 3, min_gap_mm: float = MIN_GAP_MM, mask=None, bg=None
) -> list[float]:
    """World z (mm) of ``n_cuts`` axial slices that show most of a map, none at the brain's edge.

    The candidates are the slices whose brain area (voxels of ``mask``, or of
    the bright part of ``bg``, > 20% of its 99.5th percentile) is at least
    :data:`MIN_BRAIN_FRACTION` of the largest slice's: a cut never falls on an
    edge slice with almost no brain (the top slice of the SPM auditory run,
    z = 90 mm, is mostly noise). Among them, greedily: the slice with the
    largest sum of ``|stat|``, then the next farther than ``min_gap_mm`` from
    those taken, and so on. A map with too little to show is completed with
    slices evenly spaced through the candidates. Returned in increasing z.

    Parameters
    ----------
    stat : ndarray, 3-D
        The values drawn (zero where nothing is drawn).
    affine : ndarray, shape (4, 4)
    n_cuts : int
    min_gap_mm : float
    mask, bg : ndarray or None
        The brain, or the background it is found in; neither: every slice is a candidate.

    Returns
    -------
    list of float
    """
    data, aff = reorient_to_ras(np.nan_to_num(np.asarray(stat, dtype=np.float64)), affine)
    dz = abs(aff[2, 2])
    z_of = aff[2, 3] + aff[2, 2] * np.arange(data.shape[2])
    support = _brain_support(bg, mask)
    if support is not None:
        area = reorient_to_ras(support, affine)[0].sum(axis=(0, 1)).astype(float)
    else:
        area = np.ones(data.shape[2])
    if area.max() <= 0:
        area = np.ones(data.shape[2])
    candidate = area >= MIN_BRAIN_FRACTION * area.max()
    score = np.where(candidate, np.abs(data).sum(axis=(0, 1)), -1.0)
    chosen: list[int] = []
    for _ in range(n_cuts):
        k = int(np.argmax(score))
        if score[k] <= 0:
            break
        chosen.append(k)
        score[np.abs(z_of - z_of[k]) < min_gap_mm] = -1
    ks = np.flatnonzero(candidate)
    for k in np.linspace(ks.min(), ks.max(), n_cuts + 2)[1:-1].round().astype(int):
        if len(chosen) < n_cuts and all(abs(k - c) * dz >= min_gap_mm for c in chosen):
            chosen.append(int(k))
    for k in ks:  # too few slices apart: the nearest free candidates
        if len(chosen) >= n_cuts:
            break
        if k not in chosen:
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


def _crop_box(aff_ras, shape, support_ras, margin_vox: int = 2):
    """(x0, x1, y0, y1) in mm around ``support_ras`` (all slices), or the whole grid."""
    full = _extent(aff_ras, shape)
    if support_ras is None or not support_ras.any():
        return full
    ii = np.flatnonzero(support_ras.any(axis=(1, 2)))
    jj = np.flatnonzero(support_ras.any(axis=(0, 2)))
    i0, i1 = max(ii.min() - margin_vox, 0), min(ii.max() + margin_vox, shape[0] - 1)
    j0, j1 = max(jj.min() - margin_vox, 0), min(jj.max() + margin_vox, shape[1] - 1)
    dx, dy = aff_ras[0, 0], aff_ras[1, 1]
    return (
        aff_ras[0, 3] + dx * (i0 - 0.5),
        aff_ras[0, 3] + dx * (i1 + 0.5),
        aff_ras[1, 3] + dy * (j0 - 0.5),
        aff_ras[1, 3] + dy * (j1 + 0.5),
    )


def _bg_limits(bg):
    vals = bg[np.isfinite(bg) & (bg != 0)]
    if vals.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(vals, [2.0, 99.5])
    return float(lo), float(hi if hi > lo else lo + 1)


#: Colour of the colour bar's band between -threshold and threshold (two-sided maps).
_GAP_GREY = "#808080"
#: Colour of a figure's note that nothing is drawn.
_NOTE_COLOUR = "#ffcc33"

_HOT = ["#7f0000", "#d62000", "#ff7a00", "#ffd400", "#ffffbf"]
_COLD = ["#bfffff", "#00c8ff", "#0040d0", "#00007f"]


def _hot_cmap():
    """Dark red at the threshold, through orange and yellow, to white (nilearn's hot half)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("refglm_hot", _HOT)


def _cold_hot_cmap():
    """Light blue (most negative) to dark blue at 0, dark red to white (most positive)."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("refglm_cold_hot", _COLD + _HOT)


class _Layout:
    """Where the panels, labels and colour bar of an axial-cut figure go (inches)."""

    PANEL_H = 2.6
    GAP = 0.3
    LEFT = 0.2
    LABEL_ROW = 0.3
    CBAR = 1.3
    FOOTER_LINE = 0.14
    #: Width (inches) of one character of the footer's 7.5 pt text, for wrapping.
    FOOTER_CHAR = 0.062

    def __init__(self, n_cuts, aspect, colorbar, n_header_lines):
        self.n = n_cuts
        self.panel_w = self.PANEL_H * aspect
        self.header = 0.2 + 0.3 * n_header_lines
        self.cbar = self.CBAR if colorbar else 0.25
        self.width = max(
            self.LEFT + n_cuts * self.panel_w + (n_cuts - 1) * self.GAP + self.cbar, 5.0
        )
        self.set_footer_lines(2)

    def set_footer_lines(self, n_lines):
        self.footer = 0.14 + self.FOOTER_LINE * n_lines
        self.height = self.header + self.LABEL_ROW + self.PANEL_H + self.footer

    def wrap(self, text):
        """``text`` wrapped to the figure's width, line by line."""
        import textwrap

        width = int((self.width - 2 * self.LEFT) / self.FOOTER_CHAR)
        return "\n".join(
            textwrap.fill(line, width, subsequent_indent="  ") for line in text.split("\n")
        )

    def panel(self, k):
        x = self.LEFT + k * (self.panel_w + self.GAP)
        return [
            x / self.width,
            self.footer / self.height,
            self.panel_w / self.width,
            self.PANEL_H / self.height,
        ]

    def label_y(self):
        """Figure y of the cut-label row (between the header and the panels)."""
        return (self.footer + self.PANEL_H + self.LABEL_ROW / 2) / self.height

    def colorbar(self):
        x = self.LEFT + self.n * self.panel_w + (self.n - 1) * self.GAP + 0.3
        return [x / self.width, (self.footer + 0.1) / self.height, 0.17 / self.width,
                (self.PANEL_H - 0.2) / self.height]  # fmt: skip

    def header_y(self, line):
        """Figure y of header line ``line`` (0: the title)."""
        return 1 - (0.27 + 0.3 * line) / self.height


def _axial_figure(n_cuts, box, header, footer, black_bg, colorbar):
    """The figure: panel axes cropped to ``box`` (mm), header and footer lines, a colour bar.

    ``header``: (text, style) lines over the panels (the title first); ``footer``:
    the text under them, wrapped to the figure's width.
    """
    x0, x1, y0, y1 = box
    layout = _Layout(n_cuts, abs(x1 - x0) / abs(y1 - y0), colorbar, len(header))
    footer = layout.wrap(footer)
    layout.set_footer_lines(footer.count("\n") + 1)
    fg = _FG_DARK if black_bg else "black"
    bg = "black" if black_bg else "white"
    fig = new_figure((layout.width, layout.height), facecolor=bg)
    axes = [fig.add_axes(layout.panel(k), facecolor=bg) for k in range(n_cuts)]
    for ax in axes:
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_axis_off()
        ax.set_aspect("equal", adjustable="box", anchor="S")
    for line, (text, style) in enumerate(header):
        fig.text(
            layout.LEFT / layout.width,
            layout.header_y(line),
            text,
            color=style.get("color", fg),
            fontsize=style.get("fontsize", 12 if line == 0 else 9),
            fontweight=style.get("fontweight", "normal"),
            ha="left",
            va="center",
        )
    fig.text(
        layout.LEFT / layout.width,
        layout.footer / 2 / layout.height,
        footer,
        color=fg,
        fontsize=7.5,
        ha="left",
        va="center",
        alpha=0.85,
        linespacing=1.3,
    )
    cax = fig.add_axes(layout.colorbar()) if colorbar else None
    return fig, axes, cax, fg, layout


def _label_cuts(fig, axes, cut_coords, layout, fg):
    """World z above each panel, L and R at its top corners: outside the data, outlined."""
    effects = _outlined(fg)
    y = layout.label_y()
    for ax, z in zip(axes, cut_coords, strict=True):
        x0, _, w, _ = ax.get_position().bounds
        style = dict(color=fg, va="center", path_effects=effects, transform=fig.transFigure)
        ax.text(x0 + w / 2, y, f"z = {z:g} mm", ha="center", fontsize=10, **style)
        ax.text(x0, y, "L", ha="left", fontsize=11, fontweight="bold", **style)
        ax.text(x0 + w, y, "R", ha="right", fontsize=11, fontweight="bold", **style)


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


def _number(value: float) -> str:
    """A threshold as text: 3 decimals, trailing zeros dropped (``3``, ``3.09``, ``4.797``)."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _check_grid(stat, bg, what="background"):
    if bg is not None and stat.shape != bg.shape:
        raise InputError(
            f"stat {stat.shape} and {what} {bg.shape}: expected images on one grid; "
            f"resample the {what} to the statistical map."
        )


def stat_map_figure(
    stat,
    bg,
    affine,
    threshold: float,
    title: str = "",
    cut_coords=3,
    vmax: float | None = None,
    label: str = "z",
    black_bg: bool = True,
    colorbar: bool = True,
    parameters: str | None = None,
    cut_note: str | None = None,
    mask=None,
):
    """A thresholded statistical map over a background, in axial cuts (arrays in).

    The figure of ``nilearn.plotting.plot_stat_map(stat, bg_img=bg,
    threshold=threshold, display_mode='z', cut_coords=3, black_bg=True,
    title=title)``: every voxel with ``|stat| > threshold``, both signs (see
    the module's docstring for colours, orientation, cuts and labels). Under
    the title a line gives the parameters: what is drawn and how many voxels
    (and ``parameters``, when given); a map with nothing drawn says
    ``no voxel above z = 4.61`` there instead, in yellow, and gets no colour bar.

    Parameters
    ----------
    stat : ndarray, 3-D
        Statistical map.
    bg : ndarray, 3-D, or None
        Background (e.g. the mean EPI) on the same grid; None: black.
    affine : ndarray, shape (4, 4)
        Voxel-to-world affine of both.
    threshold : float
        Voxels with ``|stat| <= threshold`` are not drawn.
    title : str
    cut_coords : int or sequence of float
        The number of cuts to choose (:func:`choose_axial_cuts`), or their world z (mm).
    vmax : float or None
        Top of the colour bar; None takes the largest ``|stat|`` drawn.
    label : str
        The statistic's name (colour bar, parameter line, empty-map note).
    black_bg, colorbar : bool
    parameters : str or None
        More parameters for the line under the title (height control, clusters...).
    cut_note : str or None
        How the cuts were chosen, for the footer; None: said from ``cut_coords``.
    mask : ndarray or None
        The brain, for choosing cuts and cropping; None: found in ``bg``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    stat = np.nan_to_num(np.asarray(stat, dtype=np.float64))
    bg = None if bg is None else np.asarray(bg, dtype=np.float64)
    _check_grid(stat, bg)
    if mask is not None:
        _check_grid(stat, np.asarray(mask), "mask")
    threshold = float(threshold)
    shown = np.where(np.abs(stat) > threshold, stat, 0.0)
    n_shown = int(np.count_nonzero(shown))
    negative = bool((shown < 0).any())
    sign_text = f"|{label}|" if (stat < 0).any() else label
    if isinstance(cut_coords, int | np.integer):
        cuts = choose_axial_cuts(shown, affine, int(cut_coords), mask=mask, bg=bg)
        if cut_note is None:
            cut_note = "cuts: " + CUT_RULE.format(
                label=label, gap=MIN_GAP_MM, pct=100 * MIN_BRAIN_FRACTION
            )
    else:
        cuts = [float(z) for z in cut_coords]
        if cut_note is None:
            cut_note = "cuts at the given z"
    stat_ras, aff_ras = reorient_to_ras(shown, affine)
    support = _brain_support(bg, mask)
    support_ras = None if support is None else reorient_to_ras(support | (shown != 0), affine)[0]
    box = _crop_box(aff_ras, stat_ras.shape, support_ras)

    if n_shown:
        line = f"drawn: {sign_text} > {_number(threshold)}, {n_shown} voxels"
        if parameters:
            line += f" \u00b7 {parameters}"
        header = [(title, {}), (line, {})]
    else:
        line = f"no voxel above {sign_text} = {_number(threshold)}"
        if parameters:
            line += f" ({parameters})"
        header = [(title, {}), (line, dict(color=_NOTE_COLOUR, fontweight="bold"))]
    draw_bar = colorbar and n_shown > 0
    footer = f"neurological convention: L = subject's left\n{cut_note}"
    fig, axes, cax, fg, layout = _axial_figure(len(cuts), box, header, footer, black_bg, draw_bar)
    peak = float(np.abs(shown).max()) if n_shown else threshold
    vmax = float(vmax) if vmax is not None else max(peak, threshold + 1e-6)
    if negative:
        cmap, vmin = _cold_hot_cmap(), -vmax
    else:
        cmap, vmin = _hot_cmap(), threshold
    extent = _extent(aff_ras, stat_ras.shape)
    image = None
    if bg is not None:
        bg_ras, _ = reorient_to_ras(bg, affine)
        lo, hi = _bg_limits(bg)
    for ax, z in zip(axes, cuts, strict=True):
        if bg is not None:
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
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
    _label_cuts(fig, axes, cuts, layout, fg)
    if draw_bar:
        cbar = fig.colorbar(image, cax=cax)
        if negative:
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
    return fig


def mask_figure(mask, bg, affine, title: str | None = None, n_cuts: int = 3):
    """The brain mask over a background: translucent fill and outline, ``n_cuts`` axial cuts.

    Cuts evenly spaced through the slices with at least
    :data:`MIN_BRAIN_FRACTION` of the largest slice's mask area; the title
    gives the voxel count by default. Layout, orientation and labels as
    :func:`stat_map_figure`'s.

    Returns
    -------
    matplotlib.figure.Figure
    """
    mask = np.asarray(mask) > 0
    bg = None if bg is None else np.asarray(bg, dtype=np.float64)
    _check_grid(mask, bg)
    if title is None:
        title = f"Brain mask: {int(mask.sum())} voxels"
    cuts = choose_axial_cuts(np.zeros(mask.shape), affine, n_cuts, mask=mask)
    mask_ras, aff_ras = reorient_to_ras(mask.astype(float), affine)
    box = _crop_box(aff_ras, mask_ras.shape, mask_ras > 0)
    footer = (
        "neurological convention: L = subject's left\ncuts: evenly spaced through the slices "
        f"with \u2265 {100 * MIN_BRAIN_FRACTION:g}% of the largest slice's mask area"
    )
    fig, axes, _, fg, layout = _axial_figure(len(cuts), box, [(title, {})], footer, True, False)
    extent = _extent(aff_ras, mask_ras.shape)
    if bg is not None:
        bg_ras, _ = reorient_to_ras(bg, affine)
        lo, hi = _bg_limits(bg)
    for ax, z in zip(axes, cuts, strict=True):
        if bg is not None:
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
        if m.any() and not m.all():
            ax.contour(
                (xs[:-1] + xs[1:]) / 2,
                (ys[:-1] + ys[1:]) / 2,
                m,
                levels=[0.5],
                colors=["#00e5ff"],
                linewidths=1,
            )
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
    _label_cuts(fig, axes, cuts, layout, fg)
    return fig
