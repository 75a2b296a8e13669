"""Connected clusters, local maxima and the cluster table of a 3-D statistical map.

Pure numerics: arrays and a 4x4 affine in, arrays and a ``pandas.DataFrame``
out. Nothing here reads files, prints, or imports nibabel.

The default ``rules='nistats'`` replicates nistats 0.0.1rc0,
``nistats/reporting/_get_clusters_table.py`` (``get_clusters_table`` at lines
94-194, ``_local_max`` and helpers at lines 18-91), rule for rule, with two
parameters from later conventions: ``connectivity`` (6, 18 or 26 neighbours;
nistats and nilearn use 6) and ``two_sided`` (nistats: positive clusters only;
``True`` adds the negative clusters as nilearn 0.14.1 does).
``rules='nilearn'`` replicates nilearn 0.14.1
``nilearn/reporting/get_clusters_table.py`` instead; its extra steps live in
:mod:`refglm.inference._nilearn_table` (thresholding pass, tails, argument checks) and
:mod:`refglm.inference.peaks` (peak search), the per-cluster loop is shared.

Four decisions go beyond the nistats source and are stated where they are
made: ties between equal peak values are broken in label order (a stable
sort), a cluster with no strict local maximum (a constant map) is reported at
its centre of mass (both in :mod:`refglm.inference.peaks`, which finds the local maxima
of each cluster), and non-finite input and negative cluster-forming
thresholds are refused. Connectivity, labels and voxel volume are in
:mod:`refglm.inference.labels` and re-exported here.
"""

from __future__ import annotations

import warnings
from string import ascii_lowercase
from typing import TYPE_CHECKING

import numpy as np

from refglm._validate import check_bool
from refglm.exceptions import InputError
from refglm.inference._nilearn_table import (
    check_nilearn_arguments,
    nilearn_tails,
    nilearn_threshold_pass,
)
from refglm.inference._validate import check_affine, check_choice, check_real, check_stat
from refglm.inference.labels import (
    _small_clusters,
    connectivity_structure,
    voxel_volume,
)
from refglm.inference.peaks import PEAK_RULES, _local_max

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CLUSTER_TABLE_COLUMNS", "CLUSTER_TABLE_RULES", "get_clusters_table"]

#: Column names of the cluster table, in order (nistats _get_clusters_table.py line 121).
CLUSTER_TABLE_COLUMNS = ["Cluster ID", "X", "Y", "Z", "Peak Stat", "Cluster Size (mm3)"]

#: Accepted values of ``rules``: whose cluster table to replicate.
CLUSTER_TABLE_RULES = PEAK_RULES

# nistats _get_clusters_table.py line 181: "Only report peak and, at most, top 3 subpeaks."
_MAX_ROWS_PER_CLUSTER = 4

# ---------------------------------------------------------------------------
# Cluster table (nistats and nilearn get_clusters_table)
# ---------------------------------------------------------------------------


def _voxel_to_world_nilearn(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    # nilearn.image.resampling.coord_transform: np.dot(affine, [i; j; k; 1]) (nistats
    # lines 174-178 report the table coordinates this way).
    coords = np.c_[ijk[:, 0], ijk[:, 1], ijk[:, 2], np.ones_like(ijk[:, 2])].T
    x, y, z, _ = np.dot(affine, coords)
    return np.array([x, y, z]).T


def _cluster_order(peak_vals: np.ndarray, rules: str, descending: bool) -> np.ndarray:
    # nistats lines 160-162: clusters by decreasing peak; a stable sort (nistats'
    # default quicksort leaves ties to the numpy build, see peaks._sort_subpeaks).
    if rules == "nistats":
        return np.argsort(-peak_vals, kind="stable")
    # nilearn 0.14.1 line 623, ``(-peak_vals).argsort()``, numpy's default kind, called
    # on the same array so that ties come out in nilearn's order on the same numpy
    # build. For the one-sided negative threshold nilearn sorts -min(stat), which is
    # the maximum of the flipped map searched here: the ascending sort of the maxima.
    return (-peak_vals).argsort() if descending else peak_vals.argsort()


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
    rules: str = "nistats",
    descending: bool = True,
) -> list | None:
    """Rows of the clusters ``stat_map > stat_threshold`` of one tail.

    ``stat_map`` is a private float64 copy, already multiplied by the tail's
    search sign, and is modified; peak values are multiplied by ``sign``.
    ``cluster_threshold`` is applied here (nistats) or None (nilearn applied
    it in its thresholding pass). Returns None when no cluster survives.
    Follows nistats _get_clusters_table.py lines 129-192 and nilearn 0.14.1
    get_clusters_table.py lines 586-688.
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    # nistats line 130, nilearn line 596: binarize with the strict threshold
    binarized = (stat_map > stat_threshold).astype(int)
    if np.sum(binarized) == 0:
        return None
    if rules == "nilearn" and binarized.all():
        # nilearn line 613, clust_ids = sorted(np.unique(label_map)[1:]), drops the first
        # label, meant to be the background 0: a cluster filling the whole array is
        # dropped, silently (the tail counts as found, so no warning, and no rows).
        return []

    label_map, n_clusters = ndimage.label(binarized, structure)
    if cluster_threshold is not None:
        # nistats lines 140-146: remove the strict clusters of fewer than
        # cluster_threshold voxels; line 151: stop if nothing is left; line 157: relabel.
        removed = _small_clusters(label_map, n_clusters, cluster_threshold)
        stat_map[removed] = 0
        binarized[removed] = 0
        if np.sum(stat_map > stat_threshold) == 0:
            return None
        label_map, n_clusters = ndimage.label(binarized, structure)

    # nistats lines 158-162, nilearn lines 612-623: sort clusters by
    # max(stat_map * in_cluster). ndimage.label numbers clusters 1..n; that maximum is
    # the cluster maximum, or 0 if that is larger and some voxel lies outside the cluster.
    clust_ids = list(range(1, n_clusters + 1))
    sizes = np.bincount(label_map.ravel(), minlength=n_clusters + 1)
    peak_vals = np.array(ndimage.maximum(stat_map, label_map, clust_ids), dtype=np.float64)
    peak_vals = np.where(sizes[1:] < stat_map.size, np.maximum(peak_vals, 0.0), peak_vals)
    clust_ids = [clust_ids[c] for c in _cluster_order(peak_vals, rules, descending)]
    boxes = ndimage.find_objects(label_map)

    rows = []
    for c_id, c_val in enumerate(clust_ids):
        # The local-maximum search of nistats line 172 (nilearn line 644) runs on
        # stat_map * cluster_mask, zero outside the cluster. Every cluster value is
        # > stat_threshold >= 0, so no voxel two or more voxels away from the cluster's
        # bounding box can be a local maximum (its 3x3x3 neighbourhood is all zero),
        # and the search runs on the box grown by one voxel (clipped to the array):
        # the filters, plateau labels and centres of mass are the same as on the full
        # array (see peaks._identify_subpeaks_nilearn for the nilearn rules).
        box = tuple(
            slice(max(sl.start - 1, 0), min(sl.stop + 1, n))
            for sl, n in zip(boxes[c_val - 1], stat_map.shape, strict=True)
        )
        offset = tuple(sl.start for sl in box)
        cluster_mask = label_map[box] == c_val
        masked_data = stat_map[box] * cluster_mask
        # nistats line 169, nilearn line 641: truncated to int
        cluster_size_mm = int(sizes[c_val] * voxel_size)

        ijk, vals = _local_max(masked_data, affine, min_distance, offset, rules)
        vals = vals * sign
        subpeak_xyz = _voxel_to_world_nilearn(affine, ijk)

        # nistats lines 181-192, nilearn 660-686: the peak, then at most 3 subpeaks
        # named 1a, 1b, 1c
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
    rules: str = "nistats",
) -> pd.DataFrame:
    r"""Table of the clusters above a threshold, with their peaks and subpeaks.

    A cluster is a connected set (``connectivity``) of voxels with
    ``stat > stat_threshold`` (strict). Clusters of fewer than
    ``cluster_threshold`` voxels are dropped. The rest are numbered 1, 2, ...
    by decreasing ``max(stat * in_cluster)``. For each cluster the table
    lists its local maxima (:func:`local_maxima`, pared at ``min_distance``
    mm): the first as row ``k`` with the cluster size
    ``int(n_voxels * voxel_volume(affine))`` in mm3, up to three more as rows
    ``ka``, ``kb``, ``kc`` with an empty-string size. ``X, Y, Z`` are world mm
    from ``affine @ [i, j, k, 1]``. ``rules='nilearn'`` changes some of these
    steps (see ``rules``).

    Paring compares each candidate, in decreasing order of value, with the last
    kept one only (:func:`local_maxima`, rule 3):

    .. math:: \text{keep } m_j \iff \lVert x_j - x_{\ell(j)} \rVert_2 > d_{\min},
              \qquad \ell(j) = \max\{i < j : m_i \text{ kept}\}

    so reported peaks are *not* all more than ``min_distance`` apart (the
    tutorial's 1 and 1b are 6.71 mm apart, 11 and 11b 6.0 mm). The paring runs
    over all candidates of the cluster before the first four are reported.
    # nistats reporting/_get_clusters_table.py get_clusters_table and _pare_subpeaks

    Parameters
    ----------
    stat : array_like, 3-D
        Statistical map (z or similar: larger is more significant). Never
        modified. Must be finite under ``rules='nistats'``; under ``'nilearn'``
        NaN and infinite voxels are set to 0, with a warning, as nilearn does.
    affine : array_like, shape (4, 4)
        Voxel-to-world (mm) matrix of ``stat``.
    stat_threshold : float
        Cluster-forming threshold, same scale as ``stat``. ``'nistats'``
        refuses a negative value (nistats' peak search then fails on
        zero-valued plateaus). ``'nilearn'`` refuses it with ``two_sided``;
        one-sided, it reports the clusters ``stat < stat_threshold`` as nilearn
        does (see :func:`refglm.inference._nilearn_table.nilearn_tails`).
    cluster_threshold : float or None, default None
        Minimum cluster size in voxels (clusters with fewer voxels are dropped);
        None (or 0) keeps every cluster. Must be >= 0.
    min_distance : float, default 8.0
        Minimum distance in mm between a cluster's reported peaks (see
        :func:`local_maxima` for the exact, order-dependent rule). Must be > 0
        under ``'nilearn'`` (nilearn raises otherwise).
    two_sided : bool, default False
        False (nistats, and nilearn's default): positive clusters only. True
        (nilearn 0.14.1): also the clusters of ``-stat > stat_threshold``,
        appended after the positive ones, with negative ``Peak Stat``; their
        numbers start at ``len(rows so far) + 1`` (nilearn's offset counts
        subpeak rows too).
    connectivity : {6, 18, 26}, default 6
        Neighbourhood that joins voxels into one cluster (nistats and nilearn:
        6; under ``'nilearn'`` it applies to the thresholding pass too). The
        peak search is unaffected: it always uses 3x3x3 windows and
        face-connected plateaus, as nistats and nilearn do.
    rules : {'nistats', 'nilearn'}, default 'nistats'
        Whose table to reproduce. ``'nilearn'`` is nilearn 0.14.1's
        ``get_clusters_table(stat_img, stat_threshold, cluster_threshold,
        two_sided, min_distance)`` on a float64 image with this affine:
        (1) voxels failing ``|stat| >= t`` (two-sided) or ``stat >= t`` are
        zeroed and ``cluster_threshold`` is tested on the clusters of that
        ``>=`` map, each sign apart
        (:func:`~refglm.inference._nilearn_table.nilearn_threshold_pass`), not on the
        strict clusters; (2) in the peak search zero voxels are never peaks,
        a (near-)constant cluster keeps its plateaus, and a centre of mass
        off its plateau moves to the nearest plateau voxel (with a warning;
        :mod:`refglm.inference.peaks`); (3) ties in cluster and peak order follow
        numpy's default ``argsort``, as nilearn's, where ``'nistats'`` uses
        a stable sort; (4) the one-sided negative threshold and the
        argument checks above.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``Cluster ID, X, Y, Z, Peak Stat, Cluster Size (mm3)`` (both
        rule sets). Built, as nistats and nilearn do, with
        ``pd.DataFrame(columns=..., data=rows)``: with any subpeak row,
        ``Cluster ID`` and ``Cluster Size (mm3)`` are object columns mixing
        int and str, otherwise int64; ``X, Y, Z, Peak Stat`` are float64. An
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
    sign loop and ``rules='nilearn'`` follow nilearn 0.14.1
    ``get_clusters_table`` (lines 263-426) and ``_get_clusters_table_volume``
    (lines 545-696). Departures: nistats modified the caller's image data in
    place (``stat_map[label_map == c_val] = 0`` on the cached array, line
    145); this function works on a copy. Under ``'nistats'`` ties in peak
    value are broken in label order (nistats' default ``argsort`` leaves them
    to the numpy build), non-finite values and negative thresholds are
    refused. Under ``'nilearn'`` the computation is in float64 (nilearn
    computes in the image's dtype, so a float32 image may differ in the last
    bits and in ties), ``cluster_threshold`` may be None or a float (nilearn
    requires an int; a negative value, which nilearn ignores, is refused), and
    nilearn's out-of-range threshold warnings are not repeated. The peak
    search runs on each cluster's bounding box grown by one voxel, which gives
    bit-identical results to the full-array search (see the comment in the
    code).
    """
    import pandas as pd  # on use: the module loads without it (refglm --help)

    rules = check_choice("rules", rules, CLUSTER_TABLE_RULES)
    stat_map = check_stat(stat, nonfinite="zero" if rules == "nilearn" else "raise")
    aff = check_affine(affine)
    stat_threshold = check_real("stat_threshold", stat_threshold)
    if stat_threshold < 0 and rules == "nistats":
        # nistats accepted it, then took centres of mass of zero-valued plateaus
        # (NaN indices); nilearn 0.14.1 switches to minima (rules='nilearn').
        raise InputError(
            f"stat_threshold: expected a cluster-forming threshold >= 0, found "
            f"{stat_threshold!r}; for negative effects pass -stat, or two_sided=True "
            "with a positive threshold."
        )
    cluster_threshold = check_real(
        "cluster_threshold", cluster_threshold, allow_none=True, minimum=0
    )
    min_distance = check_real("min_distance", min_distance, minimum=0.0)
    structure = connectivity_structure(connectivity)
    two_sided = check_bool("two_sided", two_sided)
    voxel_size = voxel_volume(aff)

    if rules == "nilearn":
        check_nilearn_arguments(stat_map, stat_threshold, two_sided, min_distance)
        stat_map = nilearn_threshold_pass(
            stat_map, stat_threshold, cluster_threshold or 0.0, two_sided, structure
        )
        tails = nilearn_tails(stat_threshold, two_sided)
        tail_cluster_threshold = None  # applied by the thresholding pass
    else:
        tails = [(1, stat_threshold, 1, True)]
        if two_sided:
            tails.append((-1, stat_threshold, -1, True))
        tail_cluster_threshold = cluster_threshold

    rows: list = []
    clusters_found = False
    for search_sign, threshold, report_sign, descending in tails:
        sign_rows = _one_sign_rows(
            stat_map * search_sign,
            aff,
            threshold,
            tail_cluster_threshold,
            min_distance,
            structure,
            voxel_size,
            report_sign,
            id_offset=len(rows),
            rules=rules,
            descending=descending,
        )
        if sign_rows is None:
            side = "higher" if search_sign == 1 else "lower"
            warnings.warn(
                f"No clusters of at least {cluster_threshold or 0:g} voxels with stat "
                f"{side} than {search_sign * threshold:f}; the table is empty for this sign.",
                UserWarning,
                stacklevel=2,
            )
            continue
        clusters_found = True
        rows += sign_rows

    if not clusters_found:
        return pd.DataFrame(columns=CLUSTER_TABLE_COLUMNS)
    return pd.DataFrame(columns=CLUSTER_TABLE_COLUMNS, data=rows)
