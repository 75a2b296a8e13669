"""Local maxima (peaks and subpeaks) of a 3-D statistical map.

Pure numerics: an array and a 4x4 affine in, voxel indices and values out.
Nothing here reads files, prints, or imports nibabel.

Replicates nistats 0.0.1rc0 ``nistats/reporting/_get_clusters_table.py``
lines 18-91 (``_local_max``, ``_identify_subpeaks``, ``_sort_subpeaks``,
``_pare_subpeaks``), rule for rule, with two decisions beyond the nistats
source, stated where they are made: ties between equal peak values are broken
in label order (a stable sort), and an array with no strict local maximum (a
constant map) is reported at its centre of mass.

``rules='nilearn'`` replicates nilearn 0.14.1
``nilearn/reporting/get_clusters_table.py`` lines 31-216 instead. Two steps
differ, each in its own helper: the identification of the maxima
(:func:`_identify_subpeaks_nilearn`: zero voxels are never maxima, a
(near-)constant array keeps its plateaus, a centre of mass off its plateau
moves to the nearest plateau voxel) and the tie order of the sort (numpy's
default ``argsort``, as nilearn). Paring by distance is shared.
:func:`refglm.inference.cluster_table.get_clusters_table` runs this search on each cluster.
"""

from __future__ import annotations

import warnings

import numpy as np

from refglm.exceptions import InputError
from refglm.inference._validate import check_affine, check_choice, check_real, check_stat

__all__ = ["PEAK_RULES", "local_maxima"]

#: Accepted values of ``rules``: whose peak search to replicate.
PEAK_RULES = ("nistats", "nilearn")


def _center_of_mass(data, labeled, index, offset) -> np.ndarray:
    # scipy.ndimage.center_of_mass, written out so that ``data`` may be a crop of a
    # larger array starting at voxel ``offset``: for each label,
    #   com_d = sum(data * i_d) / sum(data)   with i_d the index in the *full* array.
    # Same operations, same order (np.bincount over the C-order ravel) as scipy's
    # sum_labels on the full array, hence bit-identical centres.
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    normalizer = ndimage.sum_labels(data, labeled, index)
    grids = np.ogrid[tuple(slice(o, o + n) for o, n in zip(offset, data.shape, strict=True))]
    results = [
        ndimage.sum_labels(data * grids[d].astype(float), labeled, index) / normalizer
        for d in range(data.ndim)
    ]
    return np.array(results).T


def _identify_subpeaks(data: np.ndarray, offset=(0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    # nistats _get_clusters_table.py lines 48-62, _identify_subpeaks:
    #   maxima = (data == maximum_filter(data, 3)) & (maximum_filter - minimum_filter > 0)
    #   plateaus = ndimage.label(maxima)            (default, 6-connected)
    #   ijk = round(center_of_mass(data, plateaus)) (numpy round: half to even)
    #   vals = data[ijk]                            (may lie off the plateau)
    # ``offset``: index in the full array of data[0, 0, 0] when data is a crop;
    # the returned ijk are full-array indices.
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    data_max = ndimage.maximum_filter(data, 3)
    maxima = data == data_max
    data_min = ndimage.minimum_filter(data, 3)
    diff = (data_max - data_min) > 0
    maxima[~diff] = False

    labeled, n_subpeaks = ndimage.label(maxima)
    if n_subpeaks == 0:
        # Not in nistats, which fails here (np.apply_along_axis on an empty array).
        # With finite data this happens only when data is constant over the whole
        # array: otherwise a voxel attaining the global maximum has a lower
        # neighbour and is a strict local maximum. nistats' docstring promises the
        # centre of mass for such a "binary cluster": treat the array as one plateau.
        labeled = np.ones(data.shape, dtype=np.int32)
        n_subpeaks = 1
    labels_index = range(1, n_subpeaks + 1)
    ijk = _center_of_mass(data, labeled, labels_index, offset)
    ijk = np.round(ijk).astype(int)
    local = ijk - np.asarray(offset, dtype=int)
    vals = data[local[:, 0], local[:, 1], local[:, 2]]
    return ijk, vals


def _cluster_nearest_neighbor(ijk, labels_index, labeled) -> np.ndarray:
    # nilearn 0.14.1 get_clusters_table.py lines 129-153, verbatim: for each query point,
    # the voxel of its plateau (C-order scan of labeled.nonzero()) nearest in index
    # space, the first one on ties (np.argmin).
    labels = labeled[labeled > 0]
    clusters_ijk = np.array(labeled.nonzero()).T
    nbrs = np.zeros_like(ijk)
    for ii, (lab, point) in enumerate(zip(labels_index, ijk, strict=True)):
        lab_ijk = clusters_ijk[labels == lab]
        dist = np.linalg.norm(lab_ijk - point, axis=1)
        nbrs[ii] = lab_ijk[np.argmin(dist)]
    return nbrs


def _identify_subpeaks_nilearn(data: np.ndarray, offset=(0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    # nilearn 0.14.1 get_clusters_table.py lines 63-126, _identify_subpeaks. Three
    # departures from the nistats helper above (2 and 3: nilearn PR #3292, 0.9.2; the
    # off-plateau warning: PR #2653):
    # 1. line 87, ``maxima[data == 0] = 0``: a zero voxel is never a maximum;
    # 2. lines 90-96: the "diff > 0" test (a constant 3x3x3 neighbourhood is no
    #    maximum) is skipped when np.isclose(max, min) over the non-zero voxels, so a
    #    (near-)constant cluster keeps its plateaus instead of its border voxels;
    # 3. lines 102-125: a centre of mass that rounds to a voxel off its own plateau
    #    (a ring, an L) is replaced by the nearest voxel of that plateau, with a warning.
    # ``offset`` as in _identify_subpeaks. On a crop grown by one voxel around a
    # cluster the result equals the full-array search: the ring voxels are zero (never
    # maxima), the plateau labels keep their C-order numbering, the centres of mass
    # are bit-identical (_center_of_mass) and the nearest-neighbour distances are the
    # same integer differences, scanned in the same order.
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    data_max = ndimage.maximum_filter(data, 3)
    maxima = data == data_max
    zero_mask = data == 0
    maxima[zero_mask] = False
    nonzero = data[~zero_mask]
    if not np.isclose(nonzero.max(), nonzero.min()):
        data_min = ndimage.minimum_filter(data, 3)
        diff = (data_max - data_min) > 0
        maxima[~diff] = False

    labeled, n_subpeaks = ndimage.label(maxima)
    labels_index = np.arange(1, n_subpeaks + 1)
    ijk = _center_of_mass(data, labeled, labels_index, offset)
    ijk = np.round(ijk).astype(int)
    local = ijk - np.asarray(offset, dtype=int)
    outside = labeled[local[:, 0], local[:, 1], local[:, 2]] != labels_index
    if np.any(outside):
        warnings.warn(
            "A plateau of local maxima has its centre of mass outside itself; reporting "
            "the nearest voxel of the plateau instead (nilearn 0.14.1 rule).",
            UserWarning,
            stacklevel=4,
        )
        local[outside] = _cluster_nearest_neighbor(local[outside], labels_index[outside], labeled)
        ijk = local + np.asarray(offset, dtype=int)
    vals = data[local[:, 0], local[:, 1], local[:, 2]]
    return ijk, vals


def _voxel_to_world_nibabel(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    # nibabel.affines.apply_affine: pts @ rzs.T + trans (the order nistats line 70 used).
    return np.dot(ijk, affine[:3, :3].T) + affine[:3, 3][None, :]


def _sort_subpeaks(ijk, vals, affine, rules: str = "nistats"):
    # nistats lines 65-71: order = (-vals).argsort(); xyz = apply_affine(affine, ijk).
    # rules='nistats', a stable sort: nistats' default quicksort leaves ties to the numpy
    # build; here equal values keep their label order, which is what numpy 1.x's
    # introsort gave short arrays (insertion sort below SMALL_QUICKSORT = 16 elements).
    # rules='nilearn': nilearn 0.14.1 line 178 makes the same default-kind call, and
    # the reference makes it too, so that ties come out in nilearn's order on the same
    # numpy build (numpy 2 on AVX-512 sorts even short arrays unstably).
    if rules == "nilearn":
        order = (-vals).argsort()
    else:
        order = np.argsort(-vals, kind="stable")
    vals = vals[order]
    ijk = ijk[order, :]
    xyz = _voxel_to_world_nibabel(affine, ijk)
    return xyz, ijk, vals


def _pare_subpeaks(xyz, ijk, vals, min_distance):
    # nistats lines 74-84, _pare_subpeaks, is the double loop
    #   for i: if keep[i]: for j > i: keep[j] = ||xyz_i - xyz_j|| > min_distance
    # keep[i] is final when row i is reached, and keep[j] is overwritten (not
    # and-ed) by every kept i < j, the last write winning. So the loop keeps peak
    # j exactly when it is farther than min_distance from the last kept peak
    # before it: the single pass below, with the same norm on the same pair.
    keep_idx = np.ones(xyz.shape[0], dtype=bool)
    last_kept = 0
    for j in range(1, xyz.shape[0]):
        dist = np.linalg.norm(xyz[last_kept, :] - xyz[j, :])
        keep_idx[j] = dist > min_distance
        if keep_idx[j]:
            last_kept = j
    return ijk[keep_idx, :], vals[keep_idx]


def _local_max(
    data: np.ndarray,
    affine: np.ndarray,
    min_distance: float,
    offset=(0, 0, 0),
    rules: str = "nistats",
):
    # nistats _local_max (lines 18-84 with its helpers), nilearn 0.14.1 _local_max
    # (lines 31-59): identify, sort, pare. ``data`` is a checked float64 array, or a
    # crop of one starting at voxel ``offset`` (see _identify_subpeaks); the returned
    # ijk are full-array indices.
    if rules == "nilearn":
        ijk, vals = _identify_subpeaks_nilearn(data, offset)
    else:
        ijk, vals = _identify_subpeaks(data, offset)
    xyz, ijk, vals = _sort_subpeaks(ijk, vals, affine, rules)
    return _pare_subpeaks(xyz, ijk, vals, min_distance)


def local_maxima(
    data, affine, min_distance: float = 8.0, rules: str = "nistats"
) -> tuple[np.ndarray, np.ndarray]:
    r"""Local maxima of a 3-D array, strongest first, pared by distance in mm.

    1. A voxel is a local maximum when it equals the maximum of its 3x3x3
       neighbourhood and that neighbourhood is not constant
       (``max - min > 0``); array edges are mirrored (``mode='reflect'``):

       .. math:: z_v = \max_{N(v)} z \quad\text{and}\quad
                 \max_{N(v)} z - \min_{N(v)} z > 0

    2. Face-connected local maxima form one plateau, reported at its
       value-weighted centre of mass rounded to the nearest voxel (numpy
       rounding, halves to even), with the value found *at that voxel*:
       :math:`\hat v = \operatorname{round}(\sum_{u \in P} z_u u / \sum_{u \in P} z_u)`.
    3. Peaks are sorted by value, descending (:math:`m_1, m_2, \dots` at world
       positions :math:`x_j` via ``affine``), and pared: walking the sorted
       list, a peak is kept when its world distance to the *last kept* peak
       exceeds ``min_distance``; the first is always kept:

       .. math:: \text{keep } m_j \iff \lVert x_j - x_{\ell(j)} \rVert_2 >
                 \texttt{min\_distance},\qquad
                 \ell(j) = \max\{i < j : m_i \text{ kept}\}

    # nistats reporting/_get_clusters_table.py _local_max: _identify_subpeaks,
    # _sort_subpeaks, _pare_subpeaks (the double loop computes rule 3, see Notes)

    Parameters
    ----------
    data : array_like, 3-D, finite
        Map of one cluster (zero elsewhere). Not modified.
    affine : array_like, shape (4, 4)
        Voxel-to-world (mm) matrix.
    min_distance : float, default 8.0
        Minimum distance in mm; a later peak at exactly ``min_distance`` is dropped.
    rules : {'nistats', 'nilearn'}, default 'nistats'
        ``'nilearn'`` replaces rules 1-2 by nilearn 0.14.1's: zero voxels are
        never maxima; when the non-zero voxels are all ``np.isclose`` to each
        other the ``max - min > 0`` test is dropped; a plateau whose rounded
        centre lies off the plateau is reported at the plateau voxel nearest
        to it (in index space, first in C order on ties), with a warning.
        Equal values are then ordered by numpy's default ``argsort``, as in
        nilearn. ``data`` must have a non-zero voxel (nilearn fails otherwise);
        when no voxel is a maximum (possible only with negative values) the
        result is empty, where nilearn raises an IndexError.

    Returns
    -------
    ijk : ndarray of int, shape (n_peaks, 3)
    vals : ndarray of float64, shape (n_peaks,)

    Notes
    -----
    Source: nistats 0.0.1rc0 _get_clusters_table.py lines 18-84
    (``_local_max``, ``_identify_subpeaks``, ``_sort_subpeaks``,
    ``_pare_subpeaks``). Rule 3 is what nistats' double loop
    (``for i: if keep[i]: for j > i: keep[j] = dist(i, j) > min_distance``)
    computes: the last kept peak decides, so a peak near an earlier kept peak
    but far from the last one is kept, and two reported peaks can be closer
    than ``min_distance``.
    Departures: equal values keep label order (stable sort), and an array
    with no strict local maximum (constant) is reported at its centre, where
    nistats raises. ``rules='nilearn'``: nilearn 0.14.1
    reporting/get_clusters_table.py lines 31-216 (``_local_max`` and helpers),
    with no departure on finite data.
    """
    rules = check_choice("rules", rules, PEAK_RULES)
    arr = check_stat(data, name="data")
    aff = check_affine(affine)
    min_distance = check_real("min_distance", min_distance, minimum=0.0)
    if rules == "nilearn" and not arr.any():
        raise InputError(
            "data: expected a non-zero voxel under rules='nilearn' (nilearn 0.14.1 takes "
            "the max of the non-zero voxels and fails on an all-zero array); found none."
        )
    return _local_max(arr, aff, min_distance, rules=rules)
