"""The map figures with nilearn's signatures: images in, a matplotlib Figure out.

``plot_stat_map(z_map, bg_img=mean_img, threshold=3.0, display_mode='z',
cut_coords=3, black_bg=True, title=...)`` as the nistats tutorial calls
nilearn's; images are nibabel images or paths, read through :mod:`refglm.io`,
and drawn by the arrays layer :mod:`refglm.plotting.maps`. Each function
returns the figure, and writes it when given ``output_file``; none touches
pyplot or the session's matplotlib backend (the figure has its own canvas and
shows inline in a notebook).
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.plotting._figure import save_figure
from refglm.plotting.maps import mask_figure, stat_map_figure

__all__ = ["plot_stat_map", "plot_mask"]

#: The display modes drawn (nilearn's 'ortho', 'x', 'y', ... are not).
DISPLAY_MODES = ("z",)


def _volume(img, what):
    """(data, affine) of a 3-D image (a 4-D one of one volume is squeezed)."""
    from refglm import io

    data, affine = io.image_data(img)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(
            f"{what}: expected a 3-D image, found shape {data.shape}; pass one volume "
            "(e.g. the run's mean image)."
        )
    return data, affine


def _same_grid(affine, other, what):
    if not np.allclose(affine, other, atol=1e-4):
        raise InputError(
            f"{what}: expected the statistical map's grid (affine "
            f"{np.round(affine, 3).tolist()}), found affine {np.round(other, 3).tolist()}; "
            f"resample the {what} to the map first."
        )


def plot_stat_map(
    stat_map_img,
    bg_img=None,
    threshold=1e-6,
    display_mode: str = "z",
    cut_coords=None,
    black_bg: bool = True,
    title: str | None = None,
    output_file=None,
    vmax: float | None = None,
    colorbar: bool = True,
):
    """Draw a statistical map over a background in axial cuts, as nilearn's ``plot_stat_map``.

    Every voxel with ``|value| > threshold`` is drawn, both signs: positive
    from dark red to white, negative (when any is drawn) from dark to light
    blue on a symmetric colour bar. Neurological convention (L = subject's
    left); the cut labels, L and R, and the parameters sit outside the image
    panels; a map with nothing above the threshold says so on the figure.

    Parameters
    ----------
    stat_map_img : nibabel image or path
        A 3-D statistical map (e.g. a z map).
    bg_img : nibabel image, path or None
        The background on the map's grid (e.g. the run's mean image); None: black.
    threshold : float or None, default 1e-6
        Voxels with ``|value| <= threshold`` are not drawn (None: 0).
    display_mode : {'z'}
        Axial cuts (the only mode drawn).
    cut_coords : int, sequence of float or None
        The number of cuts to choose, or their world z (mm); None: 3.
    black_bg : bool, default True
    title : str or None
    output_file : str, path or None
        Where to write the figure as PNG (no timestamp: the same bytes on every run).
    vmax : float or None
        Top of the colour bar; None: the largest ``|value|`` drawn.
    colorbar : bool, default True

    Returns
    -------
    matplotlib.figure.Figure
    """
    if display_mode not in DISPLAY_MODES:
        raise InputError(
            f"display_mode: expected one of {', '.join(map(repr, DISPLAY_MODES))}, found "
            f"{display_mode!r}; refglm draws axial cuts only."
        )
    stat, affine = _volume(stat_map_img, "stat_map_img")
    bg = None
    if bg_img is not None:
        bg, bg_affine = _volume(bg_img, "bg_img")
        _same_grid(affine, bg_affine, "bg_img")
    fig = stat_map_figure(
        stat,
        bg,
        affine,
        0.0 if threshold is None else float(threshold),
        title=title or "",
        cut_coords=3 if cut_coords is None else cut_coords,
        vmax=vmax,
        black_bg=black_bg,
        colorbar=colorbar,
    )
    if output_file is not None:
        save_figure(fig, output_file)
    return fig


def plot_mask(mask_img, bg_img=None, title: str | None = None, output_file=None, n_cuts=3):
    """Draw a brain mask over a background in axial cuts (translucent fill and outline).

    Parameters
    ----------
    mask_img : nibabel image or path
    bg_img : nibabel image, path or None
    title : str or None
        None: ``'Brain mask: N voxels'``.
    output_file : str, path or None
    n_cuts : int, default 3

    Returns
    -------
    matplotlib.figure.Figure
    """
    mask, affine = _volume(mask_img, "mask_img")
    bg = None
    if bg_img is not None:
        bg, bg_affine = _volume(bg_img, "bg_img")
        _same_grid(affine, bg_affine, "bg_img")
    fig = mask_figure(mask, bg, affine, title=title, n_cuts=n_cuts)
    if output_file is not None:
        save_figure(fig, output_file)
    return fig
