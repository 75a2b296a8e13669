"""nilearn 0.14.1's plotting calls of the GLM tutorials, drawn by ``refglm.plotting``.

nilearn's signatures and defaults; the figures are refglm's (axial cuts, neurological
convention, each on its own Agg canvas, returned as a ``matplotlib.figure.Figure`` and
written when given ``output_file``). Options that only style nilearn's own figures
(``cmap``, ``annotate``, ``draw_cross``, ``dim``, ...) are accepted and not applied;
``display_mode`` other than ``'z'`` is drawn as axial cuts; ``axes``/``figure`` must be
None (refglm draws each figure on its own canvas).
"""

from __future__ import annotations

import numpy as np

from refglm import io, plotting
from refglm.exceptions import InputError

__all__ = [
    "plot_design_matrix",
    "plot_contrast_matrix",
    "plot_design_matrix_correlation",
    "plot_stat_map",
    "plot_img",
    "plot_anat",
    "show",
]

#: nilearn's default background: refglm has no template, so the map is drawn on black.
MNI152TEMPLATE = "MNI152TEMPLATE"


def _no_axes(axes, figure=None):
    if axes is not None or figure is not None:
        raise InputError(
            "axes, figure: expected None (refglm draws each figure on its own canvas and "
            "returns it), found a matplotlib object; place the returned figure instead."
        )


def plot_design_matrix(design_matrix, rescale=True, axes=None, output_file=None):
    """The design matrix (``refglm.plotting.plot_design_matrix``), nilearn's signature."""
    _no_axes(axes)
    return plotting.plot_design_matrix(design_matrix, rescale=rescale, output_file=output_file)


def plot_contrast_matrix(contrast_def, design_matrix, colorbar=True, axes=None, output_file=None):
    """A contrast's weights (``refglm.plotting.plot_contrast_matrix``), nilearn's signature."""
    _no_axes(axes)
    return plotting.plot_contrast_matrix(
        contrast_def, design_matrix, colorbar=colorbar, output_file=output_file
    )


def plot_design_matrix_correlation(
    design_matrix, tri="full", cmap="RdBu_r", colorbar=True, output_file=None, **kwargs
):
    """The regressors' correlations (``refglm.plotting``), nilearn's signature."""
    del tri, cmap, colorbar, kwargs  # refglm's figure: lower triangle, its own colours
    return plotting.plot_design_matrix_correlation(design_matrix, output_file=output_file)


def plot_stat_map(
    stat_map_img,
    bg_img=MNI152TEMPLATE,
    cut_coords=None,
    output_file=None,
    display_mode="ortho",
    colorbar=True,
    cbar_tick_format="%.2g",
    figure=None,
    axes=None,
    title=None,
    threshold=1e-06,
    annotate=True,
    draw_cross=True,
    black_bg="auto",
    cmap="RdBu_r",
    symmetric_cbar="auto",
    dim="auto",
    vmin=None,
    vmax=None,
    radiological=False,
    resampling_interpolation="continuous",
    transparency=None,
    transparency_range=None,
    **kwargs,
):
    """A thresholded map in axial cuts (``refglm.plotting.plot_stat_map``), nilearn's signature.

    ``bg_img``: an image on the map's grid, or nilearn's template default (refglm has
    none: drawn on black). The styling options are accepted and not applied.
    """
    del display_mode, cbar_tick_format, annotate, draw_cross, cmap, symmetric_cbar, dim
    del vmin, radiological, resampling_interpolation, transparency, transparency_range
    del kwargs
    _no_axes(axes, figure)
    return plotting.plot_stat_map(
        stat_map_img,
        bg_img=None if isinstance(bg_img, str) and bg_img == MNI152TEMPLATE else bg_img,
        threshold=threshold,
        display_mode="z",
        cut_coords=cut_coords,
        black_bg=True if black_bg == "auto" else bool(black_bg),
        title=title,
        output_file=output_file,
        vmax=vmax,
        colorbar=colorbar,
    )


def _image_figure(img, title, output_file):
    """An image (its first volume when 4-D) drawn as the background of axial cuts."""
    if img is None:
        fig = plotting.new_figure((6, 2))
        fig.text(0.5, 0.5, title or "no image", ha="center", va="center")
    else:
        data, affine = io.image_data(img)
        if data.ndim == 4:
            data = data[..., 0]
        fig = plotting.stat_map_figure(
            np.zeros(data.shape), data, affine, 0.0, title=title or "", colorbar=False
        )
    if output_file is not None:
        plotting.save_figure(fig, output_file)
    return fig


def plot_img(img, cut_coords=None, output_file=None, display_mode="ortho", figure=None,
             axes=None, title=None, threshold=None, annotate=True, draw_cross=True,
             black_bg=False, colorbar=True, cbar_tick_format="%.2g",
             resampling_interpolation="continuous", bg_img=None, vmin=None, vmax=None,
             radiological=False, decimals=False, cmap="gray", transparency=None,
             transparency_range=None, **kwargs):  # fmt: skip
    """An image in axial cuts (its first volume when 4-D), nilearn's ``plot_img`` signature."""
    _no_axes(axes, figure)
    return _image_figure(img, title, output_file)


def plot_anat(anat_img=MNI152TEMPLATE, cut_coords=None, output_file=None,
              display_mode="ortho", figure=None, axes=None, title=None, annotate=True,
              threshold=None, draw_cross=True, black_bg="auto", dim="auto", cmap="gray",
              colorbar=True, cbar_tick_format="%.2g", radiological=False, vmin=None,
              vmax=None, **kwargs):  # fmt: skip
    """An anatomical image in axial cuts, nilearn's ``plot_anat`` signature.

    nilearn's default (its MNI template) and None draw a figure that says no image is
    drawn: refglm has no template.
    """
    _no_axes(axes, figure)
    if anat_img is None or (isinstance(anat_img, str) and anat_img == MNI152TEMPLATE):
        return _image_figure(
            None, title or "no anatomical image (refglm has no template)", output_file
        )
    return _image_figure(anat_img, title, output_file)


def show():
    """nilearn's ``show``: refglm's figures live outside pyplot, so there is nothing to show.

    Display a returned figure in a notebook as it is, or write it with ``output_file``.
    """
    return None
