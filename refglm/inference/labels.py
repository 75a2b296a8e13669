"""Connectivity, cluster labels and voxel volume of a 3-D map.

Pure numerics, shared by :mod:`refglm.inference.cluster_table` (cluster tables, both rule
sets), :mod:`refglm.inference._nilearn_table` (nilearn's thresholding pass) and
:mod:`refglm.inference.threshold_map` (cluster-extent thresholding). Nothing here reads
files, prints, or imports nibabel. Moved here unchanged from
:mod:`refglm.inference.cluster_table`, which re-exports every name.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.inference._validate import check_affine

__all__ = [
    "CONNECTIVITIES",
    "connectivity_structure",
    "cluster_labels",
    "voxel_volume",
]

#: Neighbourhood sizes accepted as ``connectivity``, mapped to the ``connectivity``
#: argument of :func:`scipy.ndimage.generate_binary_structure` in 3-D.
CONNECTIVITIES = {6: 1, 18: 2, 26: 3}


def _check_connectivity(connectivity) -> int:
    if isinstance(connectivity, bool) or connectivity not in CONNECTIVITIES:
        raise InputError(
            f"connectivity: expected one of {sorted(CONNECTIVITIES)} (neighbours that make "
            f"two voxels part of one cluster), found {connectivity!r}; pass 6 for the "
            "nistats/nilearn face connectivity."
        )
    return int(connectivity)


def connectivity_structure(connectivity: int = 6) -> np.ndarray:
    """Return the 3x3x3 structuring element of a 3-D voxel connectivity.

    Two voxels are neighbours when their index offsets ``d`` (each in
    {-1, 0, 1}) satisfy ``sum(|d|) <= k`` with ``k = 1, 2, 3`` for 6-, 18- and
    26-connectivity (faces; faces+edges; faces+edges+corners).

    Parameters
    ----------
    connectivity : {6, 18, 26}
        Number of neighbours of an interior voxel.

    Returns
    -------
    structure : ndarray of bool, shape (3, 3, 3)

    Notes
    -----
    Source: nistats _get_clusters_table.py lines 123-126 build the 6-connectivity
    ``conn_mat`` by hand; nilearn 0.14.1 uses
    ``generate_binary_structure(rank=3, connectivity=1)``; both equal
    ``connectivity_structure(6)``, which is also the default structure of
    :func:`scipy.ndimage.label` in 3-D (used by nistats thresholding.py line 275).
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    # sum(|d|) <= k  <=>  scipy.ndimage.generate_binary_structure(3, k)
    return ndimage.generate_binary_structure(3, CONNECTIVITIES[_check_connectivity(connectivity)])


def cluster_labels(mask, connectivity: int = 6) -> tuple[np.ndarray, int]:
    """Label the connected clusters of a 3-D boolean mask.

    Parameters
    ----------
    mask : array_like, 3-D
        Voxels that belong to some cluster (non-zero means True).
    connectivity : {6, 18, 26}, default 6
        See :func:`connectivity_structure`.

    Returns
    -------
    labels : ndarray of int32, same shape as ``mask``
        0 outside every cluster, 1..n inside; clusters are numbered in the
        order their first voxel appears in a C-order scan.
    n_clusters : int

    Notes
    -----
    ``labels, n = scipy.ndimage.label(mask, connectivity_structure(connectivity))``,
    as in nistats _get_clusters_table.py line 140 and thresholding.py line 275.
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    arr = np.asarray(mask)
    if arr.ndim != 3:
        raise InputError(
            f"mask: expected a 3-D array, found shape {arr.shape}; pass a boolean volume."
        )
    labels, n_clusters = ndimage.label(arr != 0, structure=connectivity_structure(connectivity))
    return labels, int(n_clusters)


def _small_clusters(labels, n_labels: int, min_size, within=None) -> np.ndarray:
    """Voxels of the clusters of ``labels`` with fewer than ``min_size`` voxels.

    Cluster sizes count the voxels inside ``within`` (a boolean mask; None
    counts them all), and the returned voxels are limited to ``within``.
    Label 0 (background) is never small.
    """
    # nistats _get_clusters_table.py lines 142-146, thresholding.py lines 275-280, and
    # nilearn 0.14.1 _apply_cluster_size_threshold: size < cluster_threshold is removed.
    sizes = np.bincount(
        labels.ravel() if within is None else labels[within], minlength=n_labels + 1
    )
    small = sizes < min_size
    small[0] = False
    return small[labels] if within is None else small[labels] & within


def voxel_volume(affine) -> float:
    """Volume of one voxel in mm3, as nistats computed it from a NIfTI header.

    ``volume = prod(zooms)`` with ``zooms_j = sqrt(sum_i A[i, j]**2)`` for the
    3x3 block ``A = affine[:3, :3]``, each zoom rounded to float32 (the NIfTI
    ``pixdim`` storage type, as nibabel's ``set_qform`` stores it) and the
    product taken in float32.

    Parameters
    ----------
    affine : array_like, shape (4, 4)

    Returns
    -------
    volume : float

    Notes
    -----
    Source: nistats _get_clusters_table.py line 127,
    ``voxel_size = np.prod(stat_img.header.get_zooms())``, for an image built
    from its affine. This equals ``|det(A)|`` whenever the columns of ``A`` are
    orthogonal (any rotation of any voxel size); for a sheared affine the
    header zooms over-state the true voxel volume ``|det(A)|``, and nistats
    (and nilearn 0.14.1, line 580) report the header value, as this function does.
    """
    rzs = check_affine(affine)[:3, :3]
    zooms = np.sqrt(np.sum(rzs * rzs, axis=0)).astype(np.float32)
    return float(np.prod(zooms))
