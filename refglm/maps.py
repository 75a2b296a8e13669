"""Image-level thresholding and cluster tables: nibabel images in, numerics out.

``map_threshold`` and ``get_clusters_table`` take nibabel images (or paths),
as nistats' did, and hand arrays to the numerics in ``thresholds.py`` and
``clusters.py`` with the choices of the named convention.
"""

from __future__ import annotations

import pandas as pd

from refglm import clusters, io, thresholds
from refglm.conventions import get_convention

__all__ = ["map_threshold", "get_clusters_table"]


def _two_sided(two_sided, conv):
    return conv.two_sided if two_sided is None else bool(two_sided)


def map_threshold(
    stat_img,
    mask_img=None,
    alpha=0.001,
    threshold=None,
    height_control="fpr",
    cluster_threshold=0,
    two_sided=None,
    convention="nistats",
):
    """Threshold a statistical map; the image version of ``thresholds.map_threshold``.

    Parameters
    ----------
    stat_img : path or nibabel image
        A z map.
    mask_img : path, nibabel image or None
        Voxels to test; None tests the non-zero voxels of ``stat_img``
        (so Bonferroni's n is their count, 62073 on the tutorial).
    alpha : float in (0, 1)
    threshold : float or None
        Used when ``height_control`` is None.
    height_control : {'fpr', 'bonferroni', 'fdr', None}
    cluster_threshold : int >= 0
        Clusters smaller than this many voxels are removed.
    two_sided : bool or None
        None takes the convention's default (one-sided for nistats).
    convention : str

    Returns
    -------
    thresholded_img : nibabel.Nifti1Image
    threshold : float
    """
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    mask = None
    if mask_img is not None:
        mask, _ = io.image_data(mask_img)
        mask = mask > 0
    out, thr = thresholds.map_threshold(
        stat,
        mask,
        alpha=alpha,
        height_control=height_control,
        threshold=threshold,
        cluster_threshold=cluster_threshold,
        two_sided=_two_sided(two_sided, conv),
        fdr_formula=conv.fdr_formula,
        connectivity=conv.cluster_connectivity,
        keep_equal=conv.threshold_keep_equal,
        split_signs=conv.threshold_split_signs,
    )
    return io.to_image(out, affine), float(thr)


def get_clusters_table(
    stat_img,
    stat_threshold,
    cluster_threshold=None,
    min_distance=8.0,
    two_sided=None,
    convention="nistats",
) -> pd.DataFrame:
    """Clusters and peaks of a map; the image version of ``clusters.get_clusters_table``.

    Columns ``Cluster ID, X, Y, Z, Peak Stat, Cluster Size (mm3)``; at most 3
    subpeaks per cluster, more than ``min_distance`` mm apart. The input
    image is not modified.
    """
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    return clusters.get_clusters_table(
        stat,
        affine,
        stat_threshold,
        cluster_threshold=cluster_threshold,
        min_distance=min_distance,
        # nilearn's tables are one-sided by default although its thresholds are not
        two_sided=conv.cluster_table_two_sided if two_sided is None else bool(two_sided),
        connectivity=conv.cluster_connectivity,
        rules=conv.cluster_table_rules,
    )
