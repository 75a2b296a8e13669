"""nistats 0.0.1b1's ``reporting``: the tutorial's figures, its cluster table and the report."""

from __future__ import annotations

from refglm import plotting
from refglm.exceptions import InputError
from refglm.first_level import thresholding
from refglm.nilearn.reporting import HTMLReport, build_report

__all__ = [
    "HTMLReport",
    "get_clusters_table",
    "make_glm_report",
    "plot_contrast_matrix",
    "plot_design_matrix",
]


def _no_ax(ax):
    if ax is not None:
        raise InputError(
            "ax: expected None (refglm draws each figure on its own canvas and returns it), "
            "found a matplotlib axes."
        )


def plot_design_matrix(design_matrix, rescale=True, ax=None, output_file=None):
    """The design matrix (``refglm.plotting.plot_design_matrix``), nistats 0.0.1b1's signature."""
    _no_ax(ax)
    return plotting.plot_design_matrix(design_matrix, rescale=rescale, output_file=output_file)


def plot_contrast_matrix(contrast_def, design_matrix, colorbar=False, ax=None, output_file=None):
    """A contrast's weights (``refglm.plotting``), nistats 0.0.1b1's signature (no colour bar)."""
    _no_ax(ax)
    return plotting.plot_contrast_matrix(
        contrast_def, design_matrix, colorbar=colorbar, output_file=output_file
    )


def get_clusters_table(stat_img, stat_threshold, cluster_threshold=None, min_distance=8.0):
    """Clusters above a threshold with their peaks: nistats 0.0.1b1's ``get_clusters_table``.

    Positive clusters only, nistats' peak rules (``refglm.first_level.get_clusters_table``
    under convention 'nistats'; the tutorial's table is a golden value).
    # nistats 0.0.1b1 reporting/_get_clusters_table.py get_clusters_table
    """
    return thresholding.get_clusters_table(
        stat_img,
        stat_threshold,
        cluster_threshold=cluster_threshold,
        min_distance=min_distance,
        two_sided=False,
        convention="nistats",
    )


def make_glm_report(
    model,
    contrasts,
    title=None,
    bg_img="MNI152TEMPLATE",
    threshold=3.09,
    alpha=0.01,
    cluster_threshold=0,
    height_control="fpr",
    min_distance=8.0,
    plot_type="slice",
    display_mode=None,
    report_dims=(1600, 800),
):
    """The HTML report of a fitted model (refglm's), nistats 0.0.1b1's signature (one-sided)."""
    return build_report(
        model,
        contrasts,
        title=title,
        threshold=threshold,
        alpha=alpha,
        cluster_threshold=cluster_threshold,
        height_control=height_control,
        two_sided=False,
        min_distance=min_distance,
    )
