"""Connected clusters, local maxima and the cluster table of a 3-D statistical map.

Pure numerics: arrays and a 4x4 affine in, arrays and a ``pandas.DataFrame``
out. Nothing here reads files, prints, or imports nibabel.

The default behaviour replicates nistats 0.0.1rc0,
``nistats/reporting/_get_clusters_table.py`` (``get_clusters_table`` at lines
94-194, ``_local_max`` and helpers at lines 18-91), rule for rule; the places
where a later convention (nilearn 0.14.1,
``nilearn/reporting/get_clusters_table.py``) differs are parameters:

- ``connectivity``: 6 (faces, nistats and nilearn), 18 (faces and edges) or
  26 (faces, edges and corners) neighbours define a cluster;
- ``two_sided``: nistats reports positive clusters only; ``True`` adds the
  negative clusters as nilearn 0.14.1 does (``_get_clusters_table_volume``,
  lines 583-688).

Four decisions go beyond the nistats source and are stated where they are
made: ties between equal peak values are broken in label order (a stable
sort), a cluster with no strict local maximum (a constant map) is reported at
its centre of mass (both in :mod:`refglm.peaks`, which finds the local maxima
of each cluster), and non-finite input and negative cluster-forming
thresholds are refused.
"""

from __future__ import annotations

import warnings
from string import ascii_lowercase

import numpy as np
import pandas as pd
from scipy import ndimage

from refglm._map_checks import _check_affine, _check_bool, _check_real, _check_stat
from refglm.exceptions import InputError
from refglm.peaks import _local_max, local_maxima

__all__ = [
    "CLUSTER_TABLE_COLUMNS",
    "CONNECTIVITIES",
    "connectivity_structure",
    "cluster_labels",
    "voxel_volume",
    "local_maxima",
    "get_clusters_table",
]

#: Column names of the cluster table, in order (nistats _get_clusters_table.py line 121).
CLUSTER_TABLE_COLUMNS = ["Cluster ID", "X", "Y", "Z", "Peak Stat", "Cluster Size (mm3)"]

#: Neighbourhood sizes accepted as ``connectivity``, mapped to the ``connectivity``
#: argument of :func:`scipy.ndimage.generate_binary_structure` in 3-D.
CONNECTIVITIES = {6: 1, 18: 2, 26: 3}

# nistats _get_clusters_table.py line 181: "Only report peak and, at most, top 3 subpeaks."
_MAX_ROWS_PER_CLUSTER = 4


# ---------------------------------------------------------------------------
# Connectivity and labelling (shared with refglm.thresholds)
# ---------------------------------------------------------------------------


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
    rzs = _check_affine(affine)[:3, :3]
    zooms = np.sqrt(np.sum(rzs * rzs, axis=0)).astype(np.float32)
    return float(np.prod(zooms))


# ---------------------------------------------------------------------------
# Cluster table (nistats get_clusters_table)
# ---------------------------------------------------------------------------


def _voxel_to_world_nilearn(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    # nilearn.image.resampling.coord_transform: np.dot(affine, [i; j; k; 1]) (nistats
    # lines 174-178 report the table coordinates this way).
    coords = np.c_[ijk[:, 0], ijk[:, 1], ijk[:, 2], np.ones_like(ijk[:, 2])].T
    x, y, z, _ = np.dot(affine, coords)
    return np.array([x, y, z]).T


def _one_sign_rows(
    stat_map: np.ndarray,
    affine: np.ndarray,
    stat_threshold: float,
    cluster_threshold: float | None,
    min_distance: float,
    structure: np.ndarray,
    voxel_size: float,
    sign: int,
    id_offset: int,
) -> list | None:
    """Rows of the clusters of ``stat_map`` (already multiplied by ``sign``).

    ``stat_map`` is a private float64 copy and is modified. Returns None when
    no cluster survives. Follows nistats _get_clusters_table.py lines 129-192.
    """
    # line 130: binarize with the strict cluster-defining threshold
    binarized = (stat_map > stat_threshold).astype(int)
    if np.sum(binarized) == 0:
        return None

    # lines 140-146: remove clusters of fewer than cluster_threshold voxels
    label_map, n_labels = ndimage.label(binarized, structure)
    if cluster_threshold is not None:
        removed = _small_clusters(label_map, n_labels, cluster_threshold)
        stat_map[removed] = 0
        binarized[removed] = 0

    # line 151: stop if nothing above threshold is left
    if np.sum(stat_map > stat_threshold) == 0:
        return None

    # lines 157-162: relabel; sort clusters by max(stat_map * in_cluster), descending.
    # ndimage.label numbers clusters 1..n; max(stat_map * in_cluster) is the cluster
    # maximum, or 0 if that is larger and some voxel lies outside the cluster.
    label_map, n_clusters = ndimage.label(binarized, structure)
    clust_ids = list(range(1, n_clusters + 1))
    sizes = np.bincount(label_map.ravel(), minlength=n_clusters + 1)
    peak_vals = np.array(ndimage.maximum(stat_map, label_map, clust_ids), dtype=np.float64)
    peak_vals = np.where(sizes[1:] < stat_map.size, np.maximum(peak_vals, 0.0), peak_vals)
    clust_ids = [clust_ids[c] for c in np.argsort(-peak_vals, kind="stable")]
    boxes = ndimage.find_objects(label_map)

    rows = []
    for c_id, c_val in enumerate(clust_ids):
        # The local-maximum search of line 172 runs on stat_map * cluster_mask, zero
        # outside the cluster. As stat_threshold >= 0, every cluster value is > 0 and
        # no voxel two or more voxels away from the cluster's bounding box can be a
        # local maximum (its 3x3x3 neighbourhood is all zero), so the search runs on
        # the box grown by one voxel (clipped to the array): the filters, plateau
        # labels and centres of mass are the same as on the full array.
        box = tuple(
            slice(max(sl.start - 1, 0), min(sl.stop + 1, n))
            for sl, n in zip(boxes[c_val - 1], stat_map.shape, strict=True)
        )
        offset = tuple(sl.start for sl in box)
        cluster_mask = label_map[box] == c_val
        masked_data = stat_map[box] * cluster_mask
        # line 169: truncated to int, as nistats did
        cluster_size_mm = int(sizes[c_val] * voxel_size)

        ijk, vals = _local_max(masked_data, affine, min_distance, offset)
        vals = vals * sign
        subpeak_xyz = _voxel_to_world_nilearn(affine, ijk)

        # lines 181-192: the peak, then at most 3 subpeaks named 1a, 1b, 1c
        n_rows = min(len(vals), _MAX_ROWS_PER_CLUSTER)
        cluster_number = c_id + id_offset + 1
        for subpeak in range(n_rows):
            x, y, z = subpeak_xyz[subpeak]
            if subpeak == 0:
                rows.append([cluster_number, x, y, z, vals[subpeak], cluster_size_mm])
            else:
                sp_id = f"{cluster_number}{ascii_lowercase[subpeak - 1]}"
                rows.append([sp_id, x, y, z, vals[subpeak], ""])
    return rows


def get_clusters_table(
    stat,
    affine,
    stat_threshold: float,
    cluster_threshold: float | None = None,
    min_distance: float = 8.0,
    two_sided: bool = False,
    connectivity: int = 6,
) -> pd.DataFrame:
    """Table of the clusters above a threshold, with their peaks and subpeaks.

    A cluster is a connected set (``connectivity``) of voxels with
    ``stat > stat_threshold`` (strict). Clusters of fewer than
    ``cluster_threshold`` voxels are dropped. The rest are numbered 1, 2, ...
    by decreasing ``max(stat * in_cluster)``. For each cluster the table
    lists its local maxima (:func:`local_maxima`, pared at ``min_distance``
    mm): the first as row ``k`` with the cluster size
    ``int(n_voxels * voxel_volume(affine))`` in mm3, up to three more as rows
    ``ka``, ``kb``, ``kc`` with an empty-string size. ``X, Y, Z`` are world mm
    from ``affine @ [i, j, k, 1]``.

    Parameters
    ----------
    stat : array_like, 3-D, finite
        Statistical map (z or similar: larger is more significant). Never modified.
    affine : array_like, shape (4, 4)
        Voxel-to-world (mm) matrix of ``stat``.
    stat_threshold : float, >= 0
        Cluster-forming threshold, same scale as ``stat``. A negative value is
        refused (nistats' peak search then fails on zero-valued plateaus).
    cluster_threshold : float or None, default None
        Minimum cluster size in voxels (clusters with fewer voxels are dropped);
        None keeps every cluster. Must be >= 0.
    min_distance : float, default 8.0
        Minimum distance in mm between a cluster's reported peaks (see
        :func:`local_maxima` for the exact, order-dependent rule).
    two_sided : bool, default False
        False (nistats): positive clusters only. True (nilearn 0.14.1): also
        the clusters of ``-stat > stat_threshold``, appended after the
        positive ones, with negative ``Peak Stat``; their numbers start at
        ``len(rows so far) + 1`` (nilearn's offset counts subpeak rows too).
    connectivity : {6, 18, 26}, default 6
        Neighbourhood that joins voxels into one cluster (nistats: 6). The
        peak search is unaffected: it always uses 3x3x3 windows and
        face-connected plateaus, as nistats did.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``Cluster ID, X, Y, Z, Peak Stat, Cluster Size (mm3)``. As in
        nistats, built with ``pd.DataFrame(columns=..., data=rows)``: with any
        subpeak row, ``Cluster ID`` and ``Cluster Size (mm3)`` are object
        columns mixing int and str; ``X, Y, Z, Peak Stat`` are float64. An
        empty table (object columns) is returned, with a ``UserWarning``,
        when no cluster survives.

    Notes
    -----
    Source: nistats 0.0.1rc0 reporting/_get_clusters_table.py lines 94-194
    (``get_clusters_table``): binarize ``stat > stat_threshold`` (line 130),
    drop clusters with ``size < cluster_threshold`` (lines 142-146), relabel and
    sort by peak (lines 157-162), ``cluster_size_mm = int(n * prod(zooms))``
    (line 169), ``_local_max`` (line 172), coordinates by ``coord_transform``
    (lines 174-178), peak plus at most 3 subpeaks (line 181). The two-sided
    sign loop follows nilearn 0.14.1 ``_get_clusters_table_volume`` (lines
    583-688). Departures: nistats modified the caller's image data in place
    (``stat_map[label_map == c_val] = 0`` on the cached array, line 145); this
    function works on a copy. Ties in peak value are broken in label order
    (nistats' default ``argsort`` leaves them to the numpy build). Non-finite
    values and negative thresholds are refused. The peak search runs on each
    cluster's bounding box grown by one voxel, which gives bit-identical
    results to nistats' full-array search (see the comment in the code).
    """
    stat_map = _check_stat(stat)
    aff = _check_affine(affine)
    stat_threshold = _check_real("stat_threshold", stat_threshold)
    if stat_threshold < 0:
        # nistats accepted it, then took centres of mass of zero-valued plateaus
        # (NaN indices); nilearn 0.14.1 switches to minima. Neither is the table here.
        raise InputError(
            f"stat_threshold: expected a cluster-forming threshold >= 0, found "
            f"{stat_threshold!r}; for negative effects pass -stat, or two_sided=True "
            "with a positive threshold."
        )
    cluster_threshold = _check_real(
        "cluster_threshold", cluster_threshold, allow_none=True, minimum=0
    )
    min_distance = _check_real("min_distance", min_distance, minimum=0.0)
    structure = connectivity_structure(connectivity)
    two_sided = _check_bool("two_sided", two_sided)
    voxel_size = voxel_volume(aff)

    rows: list = []
    clusters_found = False
    for sign in (1, -1) if two_sided else (1,):
        sign_rows = _one_sign_rows(
            stat_map * sign,
            aff,
            stat_threshold,
            cluster_threshold,
            min_distance,
            structure,
            voxel_size,
            sign,
            id_offset=len(rows),
        )
        if sign_rows is None:
            side = "higher" if sign == 1 else "lower"
            warnings.warn(
                f"No clusters of at least {cluster_threshold or 0:g} voxels with stat "
                f"{side} than {sign * stat_threshold:f}; the table is empty for this sign.",
                UserWarning,
                stacklevel=2,
            )
            continue
        clusters_found = True
        rows += sign_rows

    if not clusters_found:
        return pd.DataFrame(columns=CLUSTER_TABLE_COLUMNS)
    return pd.DataFrame(columns=CLUSTER_TABLE_COLUMNS, data=rows)
