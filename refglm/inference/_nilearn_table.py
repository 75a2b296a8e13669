"""The steps of nilearn 0.14.1's cluster table that nistats 0.0.1rc0 did not have.

:func:`refglm.inference.cluster_table.get_clusters_table` with ``rules='nilearn'`` runs these
before its per-cluster loop, which is shared by both rule sets (the peak
search differs in :mod:`refglm.inference.peaks`). Sources are
``nilearn/reporting/get_clusters_table.py`` (``get_clusters_table``, lines
263-426, and ``_get_clusters_table_volume``, lines 545-696),
``nilearn/image/image.py`` (``threshold_img``, lines 1514-1770;
``_apply_threshold``, lines 1773-1809; ``_apply_cluster_size_threshold``,
lines 1439-1486) and ``nilearn/_utils/param_validation.py``
(``check_threshold``, lines 15-125), all of nilearn 0.14.1. Pure numerics:
nothing here reads files, prints, or imports nibabel.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.inference.labels import _small_clusters

__all__ = ["check_nilearn_arguments", "nilearn_threshold_pass", "nilearn_tails"]


def check_nilearn_arguments(
    stat_map: np.ndarray, stat_threshold: float, two_sided: bool, min_distance: float
) -> None:
    """Refuse the arguments nilearn 0.14.1 refuses, with an InputError (a ValueError).

    Parameters
    ----------
    stat_map : ndarray, 3-D
        The map, non-finite voxels already set to 0.
    stat_threshold, two_sided, min_distance
        As in :func:`refglm.inference.cluster_table.get_clusters_table`.

    Notes
    -----
    ``_get_clusters_table_volume`` line 557: ``min_distance <= 0`` raises.
    ``check_threshold`` (param_validation.py lines 93-117, called by
    ``threshold_img`` line 1723): a negative threshold with ``two_sided`` raises;
    otherwise it takes ``max`` of the voxels ``>= 0`` (one-sided, threshold
    ``>= 0``) or ``min`` of the voxels ``<= 0`` (threshold ``< 0``), and numpy
    raises on an empty selection. Those failures are reproduced as refusals.
    The out-of-range warnings of the same lines are not reproduced.
    """
    if min_distance <= 0:
        raise InputError(
            f"min_distance: expected a positive distance in mm under rules='nilearn' "
            f"(nilearn 0.14.1 raises for min_distance <= 0), found {min_distance!r}; "
            "pass e.g. 8.0."
        )
    if stat_threshold < 0 and two_sided:
        raise InputError(
            f"stat_threshold: expected a value >= 0 with two_sided=True under "
            f"rules='nilearn' (as nilearn 0.14.1 check_threshold), found {stat_threshold!r}; "
            "pass its absolute value."
        )
    if two_sided:
        selected = stat_map.size
    elif stat_threshold >= 0:
        selected = np.count_nonzero(stat_map >= 0)
    else:
        selected = np.count_nonzero(stat_map <= 0)
    if selected == 0:
        side = "<= 0" if stat_threshold < 0 else ">= 0"
        raise InputError(
            f"stat: no voxel is {side}, where nilearn 0.14.1 check_threshold takes the "
            "extreme of those voxels and fails (zero-size array); pass two_sided=True or "
            "a threshold of the other sign."
        )


def nilearn_threshold_pass(
    stat_map: np.ndarray,
    stat_threshold: float,
    cluster_threshold: float,
    two_sided: bool,
    structure: np.ndarray,
) -> np.ndarray:
    """nilearn's ``threshold_img`` as ``get_clusters_table`` calls it (line 395).

    Voxels that fail the threshold *with equality allowed* are set to 0:
    ``-t < stat < t`` if ``two_sided``, ``stat < t`` if ``t >= 0``, else
    ``stat > t``. Then, when ``cluster_threshold > 0``, the connected clusters
    of the surviving positive voxels and, separately, of the surviving
    negative voxels that have fewer than ``cluster_threshold`` voxels are set
    to 0.

    Parameters
    ----------
    stat_map : ndarray of float64, 3-D
        Private copy of the map, modified in place and returned.
    stat_threshold : float
    cluster_threshold : float, >= 0
    two_sided : bool
    structure : ndarray of bool, shape (3, 3, 3)
        Connectivity of the clusters (nilearn: 6-connectivity).

    Returns
    -------
    stat_map : ndarray
        The thresholded map (the same object).

    Notes
    -----
    ``_apply_threshold`` (image.py lines 1800-1807) and
    ``_apply_cluster_size_threshold`` (lines 1472-1484, reached from line 1743,
    nilearn PR #2965). The cluster table then forms its clusters with the
    *strict* ``stat > t`` (get_clusters_table.py line 596), so voxels equal to
    the threshold count towards the size test of this pass but belong to no
    reported cluster, and a reported cluster smaller than ``cluster_threshold``
    survives when the ``>=`` cluster containing it is large enough. nistats
    tested the size of the strict clusters instead. A sign whose voxels fill
    the whole array is not size-tested (line 1481; see the code).
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    if two_sided:
        below = (-stat_threshold < stat_map) & (stat_map < stat_threshold)
    elif stat_threshold >= 0:
        below = stat_map < stat_threshold
    else:
        below = stat_map > stat_threshold
    stat_map[below] = 0.0
    if cluster_threshold > 0:
        # nilearn loops over np.unique(np.sign(arr)); the sign-0 pass labels nothing and
        # the two signs' voxels are disjoint, so the order of the passes is immaterial.
        for sign in (1.0, -1.0):
            kept = (stat_map * sign) > 0
            if kept.all():
                # image.py line 1481, clust_ids = sorted(np.unique(label_map)[1:]), drops
                # the first label, meant to be the background 0; with no background it
                # drops the only cluster, so a sign filling the array is never size-tested.
                continue
            labels, n_labels = ndimage.label(kept, structure)
            stat_map[_small_clusters(labels, n_labels, cluster_threshold)] = 0.0
    return stat_map


def nilearn_tails(stat_threshold: float, two_sided: bool) -> list[tuple[int, float, int, bool]]:
    """The tails nilearn's cluster table reports, as maxima searches.

    Parameters
    ----------
    stat_threshold : float
    two_sided : bool

    Returns
    -------
    tails : list of (search_sign, threshold, report_sign, descending)
        For each tail, clusters are ``search_sign * stat > threshold``; peaks
        are the local maxima of ``search_sign * stat`` multiplied by
        ``report_sign``; clusters are numbered by decreasing (``descending``)
        or increasing peak of ``search_sign * stat``.

    Notes
    -----
    ``_get_clusters_table_volume`` lines 583-596: ``signs = [1, -1]`` if
    ``two_sided`` (nilearn PR #2719), ``[1]`` otherwise, clusters
    ``stat * sign > t`` and peak values multiplied back by ``sign`` (line 649),
    so a negative tail reports negative values. One-sided with ``t < 0``
    (lines 593-594, 614-623, 637-639): clusters ``stat < t`` ranked by
    ``(-min).argsort()`` -- the cluster whose minimum is *closest to zero*
    first -- and peaks searched on ``-stat`` with ``sign = 1``, so ``Peak
    Stat`` is ``|stat|``, positive. Here that tail is the maxima search on
    ``-stat > -t`` (the same voxels: negation is exact) ranked by increasing
    maximum, which is the same array nilearn sorts.
    """
    if two_sided:
        return [(1, stat_threshold, 1, True), (-1, stat_threshold, -1, True)]
    if stat_threshold < 0:
        return [(-1, -stat_threshold, 1, False)]
    return [(1, stat_threshold, 1, True)]
