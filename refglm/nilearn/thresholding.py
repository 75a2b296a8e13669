"""nilearn 0.14.1's thresholds and cluster tables: ``threshold_stats_img``, ``get_clusters_table``.

The image-level functions of ``refglm.first_level`` under convention 'nilearn'
(two-sided by default for thresholds, one-sided for tables, Benjamini-Hochberg FDR,
``|z| >= t`` kept, one sign at a time), with nilearn's names, signatures and defaults.
Checked against nilearn itself by ``tests/peers/test_nilearn.py`` and
``tests/peers/test_nilearn_api.py``.
"""

from __future__ import annotations

import warnings

from refglm import inference
from refglm.exceptions import InputError
from refglm.first_level import thresholding

__all__ = ["threshold_stats_img", "get_clusters_table", "fdr_threshold"]


def threshold_stats_img(
    stat_img=None,
    mask_img=None,
    alpha=0.001,
    threshold=None,
    height_control="fpr",
    cluster_threshold=0,
    two_sided=True,
):
    r"""Threshold a z map, then remove small clusters: nilearn 0.14.1's ``threshold_stats_img``.

    With :math:`\alpha' = \alpha / 2` when ``two_sided`` (else :math:`\alpha`), the
    tested values :math:`|z|` (two-sided) or :math:`z`:

    - ``'fpr'``: :math:`t = \Phi^{-1}(1 - \alpha')`;
    - ``'bonferroni'``: :math:`t = \Phi^{-1}(1 - \alpha'/n)`, n the tested voxels;
    - ``'fdr'``: Benjamini-Hochberg, :math:`p_{(i)} < \alpha' i/n`;
    - None: :math:`t` = ``threshold`` (3.0 when None, with nilearn's FutureWarning).

    A voxel survives when its tested value is :math:`\ge t` and its cluster (6-connected,
    one sign at a time) has at least ``cluster_threshold`` voxels.
    # nilearn 0.14.1 glm/thresholding.py threshold_stats_img; refglm.first_level.
    # map_threshold(..., convention='nilearn') (refglm.conventions: two_sided,
    # fdr_formula='bh', threshold_keep_equal, threshold_split_signs)

    Returns
    -------
    thresholded_img : nibabel.Nifti1Image or None
        None when ``stat_img`` is None (``'fpr'`` or None height control only).
    threshold : float
    """
    from scipy.stats import norm

    if height_control is None and threshold is None:
        warnings.warn(
            "'threshold' was set to 'None'. Setting 'threshold' to 3.0. Set a threshold "
            "explicitly to silence this warning.",
            FutureWarning,
            stacklevel=2,
        )
        threshold = 3.0
    if height_control not in ("fpr", "fdr", "bonferroni", None):
        raise InputError(
            f"height_control: expected one of 'fpr', 'fdr', 'bonferroni', None, found "
            f"{height_control!r}."
        )
    if stat_img is None:
        if height_control == "fpr":
            return None, float(norm.isf(alpha / 2 if two_sided else alpha))
        if height_control is None:
            return None, float(threshold)
        raise InputError(
            f"stat_img: expected a z map for height_control={height_control!r}, found None."
        )
    return thresholding.map_threshold(
        stat_img,
        mask_img,
        alpha=alpha,
        threshold=threshold,
        height_control=height_control,
        cluster_threshold=cluster_threshold,
        two_sided=two_sided,
        convention="nilearn",
    )


def get_clusters_table(
    stat_img,
    stat_threshold,
    cluster_threshold=0,
    two_sided=False,
    min_distance=8.0,
    return_label_maps=False,
):
    """Clusters above a threshold with their peaks: nilearn 0.14.1's ``get_clusters_table``.

    ``refglm.first_level.get_clusters_table(..., convention='nilearn')``: nilearn's
    table rules (``refglm.inference._nilearn_table``), one-sided by default.
    # nilearn 0.14.1 reporting/get_clusters_table.py get_clusters_table

    Parameters
    ----------
    stat_img, stat_threshold, cluster_threshold, two_sided, min_distance
        As nilearn's.
    return_label_maps : bool
        False only: the label maps are not produced (InputError otherwise).

    Returns
    -------
    pandas.DataFrame
    """
    if return_label_maps:
        raise InputError(
            "return_label_maps: expected False (refglm's tables give no label maps), found True."
        )
    return thresholding.get_clusters_table(
        stat_img,
        stat_threshold,
        cluster_threshold=cluster_threshold,
        min_distance=min_distance,
        two_sided=two_sided,
        convention="nilearn",
    )


def fdr_threshold(z_vals, alpha):
    """Benjamini-Hochberg z threshold of ``z_vals``: nilearn 0.14.1's ``fdr_threshold``.

    ``refglm.inference.fdr_threshold(z_vals, alpha, formula='bh')``: with the z values
    in decreasing order and :math:`p_{(i)} = 1 - \\Phi(z_{(i)})`, the largest i with
    :math:`p_{(i)} < \\alpha\\, i / n` gives :math:`t = z_{(i)} - 10^{-12}` (inf: none).
    # nilearn 0.14.1 glm/thresholding.py fdr_threshold (PR #3137)
    """
    return inference.fdr_threshold(z_vals, alpha, formula="bh")
