"""The thresholded map: a z map cut at a voxel-level threshold, then by cluster size.

Pure numerics: a 3-D statistical map (z scale), an optional boolean mask,
floats in; arrays and floats out. Nothing here reads files, prints, or
imports nibabel. The voxel-level thresholds themselves (FPR, Bonferroni,
FDR) are computed in :mod:`refglm.inference.voxel` and re-exported here.

The defaults replicate nistats 0.0.1rc0 ``nistats/thresholding.py``
(``fdr_threshold`` lines 77-103, ``map_threshold`` lines 175-282) with
``two_sided=False``, the setting that gives the tutorial's printed
thresholds (3.090 for fpr at .001, 4.797 for Bonferroni at .05, 2.760 for
FDR at .05). Each place where nilearn 0.14.1 (``nilearn/glm/thresholding.py``
``threshold_stats_img``, ``nilearn/image/image.py`` ``threshold_img``)
decides differently is a parameter:

============== ======================== ==========================
parameter      nistats 0.0.1rc0         nilearn 0.14.1
============== ======================== ==========================
fdr_formula    ``'nistats'``            ``'bh'``
keep_equal     False (``stat > t``)     True (``stat >= t``)
split_signs    False (|stat| clusters)  True (one sign at a time)
connectivity   6                        6
two_sided      default True             default True
============== ======================== ==========================

(nistats 0.0.1rc0's own default is ``two_sided=True``, which would print
3.291 for fpr at .001; the tutorial's values are one-sided, hence this
module's default ``two_sided=False``.)
"""

from __future__ import annotations

import numbers

import numpy as np

from refglm._validate import as_float, check_alpha, check_bool, finite_float, fmt
from refglm.exceptions import InputError
from refglm.inference.labels import _small_clusters, cluster_labels, connectivity_structure
from refglm.inference.voxel import (
    _alpha_per_tail,
    _check_fdr_formula,
    bonferroni_threshold,
    fdr_threshold,
    fpr_threshold,
)

__all__ = ["HEIGHT_CONTROLS", "background_mask", "map_threshold"]

#: Accepted values of ``height_control`` (nistats thresholding.py lines 227-228, less
#: 'all-resolution-inference', which nistats accepted but never applied).
HEIGHT_CONTROLS = ("fpr", "bonferroni", "fdr", None)

# Default threshold when height_control is None and no threshold is given
# (nistats thresholding.py line 175 signature: threshold=3.; nilearn 0.14.1 line 502).
_DEFAULT_Z_THRESHOLD = 3.0

# nilearn masking.compute_background_mask default border_size.
_BORDER_SIZE = 2


# ---------------------------------------------------------------------------
# Mask and thresholded map
# ---------------------------------------------------------------------------


def background_mask(stat) -> np.ndarray:
    r"""Voxels of ``stat`` that differ from its background value.

    The background is read from the outer shell :math:`B` of the array, two
    voxels thick:

    .. math::
        \mathcal M = \{v : s_v \ne \operatorname{median}_{u \in B} s_u\}
        \quad\text{or, if some } s_u\ (u \in B) \text{ is NaN,}\quad
        \mathcal M = \{v : s_v \text{ not NaN}\}

    For a z map that is 0 outside the brain this is the set of non-zero voxels.
    # nistats thresholding.py map_threshold: NiftiMasker(mask_strategy='background')

    Parameters
    ----------
    stat : array_like, 3-D

    Returns
    -------
    mask : ndarray of bool, same shape

    Notes
    -----
    Source: nistats thresholding.py lines 250-251,
    ``NiftiMasker(mask_strategy='background').fit(stat_img)``, which calls
    nilearn ``masking.compute_background_mask(border_size=2, connected=False,
    opening=False)``: ``get_border_data`` (the six 2-voxel slabs, shell voxels
    counted once per slab) and ``np.median``; the same in nilearn 0.14.1
    (masking.py lines 671-677).
    """
    data = np.asarray(stat, dtype=np.float64)
    if data.ndim != 3:
        raise InputError(f"stat: expected a 3-D array, found shape {data.shape}; pass one volume.")
    b = _BORDER_SIZE
    # nilearn _utils/ndimage.py get_border_data
    border = np.concatenate(
        [
            data[:b, :, :].ravel(),
            data[-b:, :, :].ravel(),
            data[:, :b, :].ravel(),
            data[:, -b:, :].ravel(),
            data[:, :, :b].ravel(),
            data[:, :, -b:].ravel(),
        ]
    )
    if np.isnan(border).any():
        return ~np.isnan(data)
    return data != np.median(border)


def _check_mask(mask, shape) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.shape != shape:
        raise InputError(
            f"mask: expected a boolean array of the map's shape {shape}, found shape "
            f"{arr.shape}; resample the mask to the map, or pass mask=None."
        )
    if arr.dtype != np.bool_:
        values = np.unique(arr)
        if values.size > 2 or (values.size == 2 and 0 not in values):
            raise InputError(
                f"mask: expected two values, 0 (outside) and one other (inside), found "
                f"{values.size} distinct values {values[:5].tolist()}...; pass "
                "mask.astype(bool) or a thresholded mask."
            )
        arr = arr != 0
    return np.array(arr, dtype=bool, copy=True)


def map_threshold(
    stat,
    mask=None,
    alpha: float = 0.001,
    height_control: str | None = "fpr",
    threshold: float | None = None,
    cluster_threshold: float = 0,
    two_sided: bool = False,
    fdr_formula: str = "nistats",
    connectivity: int = 6,
    keep_equal: bool = False,
    split_signs: bool = False,
) -> tuple[np.ndarray, float]:
    r"""Threshold a z map at a corrected voxel level, then by cluster size.

    1. Voxels tested: ``mask``, or :func:`background_mask` of ``stat`` when
       ``mask`` is None; ``n`` is their number.
    2. ``alpha' = alpha / 2`` if ``two_sided`` else ``alpha``; the values
       tested are ``s = |stat|`` if ``two_sided`` else ``stat``.
    3. Threshold ``t``: ``'fpr'``: ``norm.isf(alpha')``; ``'bonferroni'``:
       ``norm.isf(alpha' / n)``; ``'fdr'``: :func:`fdr_threshold` of the
       ``n`` values ``s`` at ``alpha'``; None: ``threshold`` (3.0 if None).
       With :math:`\Phi` the standard normal CDF and :math:`s_{(1)} \ge \dots
       \ge s_{(n)}`:

       .. math::
           t_{\text{fpr}} = \Phi^{-1}(1 - \alpha'),\quad
           t_{\text{Bonf}} = \Phi^{-1}(1 - \alpha'/n),\quad
           t_{\text{FDR}} = s_{(k)} - 10^{-12},\
           k = \max\{i : 1 - \Phi(s_{(i)}) < \alpha' (i - \tfrac12)/n\}

       (``fdr_formula='bh'``: :math:`i/n` in place of :math:`(i - \frac12)/n`).
    4. Voxel survives when ``s > t`` (``s >= t`` if ``keep_equal``), keeping
       its signed value; every other voxel, and all outside the mask, is 0.
    5. Clusters of the survivors (``connectivity``) with fewer than
       ``cluster_threshold`` voxels are set to 0. Default: clusters of
       ``|map| > t`` regardless of sign; ``split_signs``: positive and
       negative survivors are clustered separately. A cluster :math:`K` is kept
       iff :math:`|K| \ge` ``cluster_threshold``.

    # nistats thresholding.py map_threshold: stats *= (stats > threshold);
    # label(np.abs(stat_map) > threshold); np.sum(labels == label_) < cluster_threshold -> 0

    Parameters
    ----------
    stat : array_like, 3-D
        z map. Not modified. NaN is allowed outside the mask only.
    mask : array_like of bool, 3-D, or None, default None
        Voxels to test (non-zero = inside); None uses :func:`background_mask`.
    alpha : float, in (0, 1), default 0.001
        Error rate for ``'fpr'``, ``'bonferroni'`` (FWER) or ``'fdr'`` (FDR);
        unused when ``height_control`` is None.
    height_control : {'fpr', 'bonferroni', 'fdr', None}, default 'fpr'
    threshold : float or None, default None
        z threshold used when ``height_control`` is None (None means 3.0);
        ignored otherwise.
    cluster_threshold : float, >= 0, default 0
        Minimum cluster size in voxels.
    two_sided : bool, default False
        Test both tails (see step 2). nistats' own default was True.
    fdr_formula : {'nistats', 'bh'}, default 'nistats'
        See :func:`fdr_threshold`.
    connectivity : {6, 18, 26}, default 6
        Cluster neighbourhood (nistats and nilearn: 6, faces).
    keep_equal : bool, default False
        Keep voxels equal to the threshold (nilearn 0.14.1, PR #6130) instead
        of strictly above it (nistats).
    split_signs : bool, default False
        Cluster positive and negative survivors separately (nilearn
        ``_apply_cluster_size_threshold``) instead of together (nistats).

    Returns
    -------
    thresholded : ndarray of float64, same shape as ``stat``
    threshold : float
        The voxel-level threshold ``t`` (``inf`` if FDR discovers nothing).

    Notes
    -----
    Source: nistats 0.0.1rc0 thresholding.py lines 227-282 (``map_threshold``):
    ``alpha_`` line 234, fpr line 239, background mask lines 250-251,
    ``n_voxels = np.size(stats)`` line 255, ``|stats|`` lines 258-261, FDR
    line 264, Bonferroni line 266, ``stats *= (stats > threshold)`` line 267,
    ``label(np.abs(stat_map) > threshold)`` with scipy's default (6-neighbour)
    structure and ``size < cluster_threshold`` removal lines 275-280. nilearn
    variants: ``threshold_img``/``_apply_threshold`` (``>=``) and
    ``_apply_cluster_size_threshold`` (per-sign clusters) in nilearn 0.14.1
    image/image.py lines 1439-1486 and 1800-1808.

    Departures: the zeroed voxels are +0.0 (nistats' ``stats *= mask`` gave
    -0.0 for negative values and NaN for -inf); NaN inside the mask is
    refused; 'all-resolution-inference', which nistats accepted as a
    height_control but never applied, is refused.
    """
    data = np.asarray(stat)
    if data.ndim != 3:
        raise InputError(
            f"stat: expected a 3-D array (one z map), found shape {data.shape}; "
            "pass a single volume."
        )
    if not np.issubdtype(data.dtype, np.number) or np.iscomplexobj(data):
        raise InputError(
            f"stat: expected a real numeric array, found dtype {data.dtype}; pass a float array."
        )
    data = np.array(data, dtype=np.float64, copy=True)

    if height_control not in HEIGHT_CONTROLS:
        raise InputError(
            f"height_control: expected one of {HEIGHT_CONTROLS}, found {height_control!r}; "
            "pass 'fpr' (uncorrected), 'bonferroni' (FWER), 'fdr', or None with a "
            "threshold."
        )
    alpha = check_alpha(alpha)
    two_sided = check_bool("two_sided", two_sided)
    keep_equal = check_bool("keep_equal", keep_equal)
    split_signs = check_bool("split_signs", split_signs)
    fdr_formula = _check_fdr_formula("fdr_formula", fdr_formula)
    connectivity_structure(connectivity)  # InputError unless connectivity is 6, 18 or 26
    if finite_float(cluster_threshold) is None or not 0 <= cluster_threshold <= data.size:
        raise InputError(
            f"cluster_threshold: expected a cluster size in voxels <= {data.size} (the map's "
            f"size) and >= 0, found {fmt(cluster_threshold)}; pass 0 to keep every cluster."
        )
    if height_control is None:
        if threshold is None:
            threshold = _DEFAULT_Z_THRESHOLD
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, numbers.Real)
            or as_float(threshold) is None
            or np.isnan(float(threshold))
        ):
            raise InputError(
                f"threshold: expected a real z value when height_control is None, found "
                f"{threshold!r}; pass a float such as 3.0."
            )
        threshold = float(threshold)

    # step 1: voxels tested (nistats lines 250-255)
    in_mask = background_mask(data) if mask is None else _check_mask(mask, data.shape)
    stats = data[in_mask]
    n_voxels = stats.size
    if n_voxels == 0:
        raise InputError(
            "mask: expected at least one voxel inside the mask, found none (the map "
            "equals its background everywhere, or the mask is empty); pass a mask "
            "of the brain."
        )
    if np.isnan(stats).any():
        raise InputError(
            f"stat: expected no NaN inside the mask, found {int(np.isnan(stats).sum())} "
            "NaN voxel(s); exclude them from the mask or set them to 0."
        )

    # step 2 (nistats lines 234, 258-261)
    alpha_ = _alpha_per_tail(alpha, two_sided)
    sign = np.sign(stats)
    tested = np.abs(stats) if two_sided else stats

    # step 3 (nistats lines 238-239, 263-266)
    if height_control == "fpr":
        threshold = fpr_threshold(alpha, two_sided)
    elif height_control == "fdr":
        threshold = fdr_threshold(tested, alpha_, formula=fdr_formula)
    elif height_control == "bonferroni":
        threshold = bonferroni_threshold(alpha, n_voxels, two_sided)

    # step 4 (nistats lines 267-272): stats *= (stats > threshold); stats *= sign
    survives = tested >= threshold if keep_equal else tested > threshold
    kept = np.where(survives, tested * sign if two_sided else tested, 0.0)
    stat_map = np.zeros(data.shape, dtype=np.float64)
    stat_map[in_mask] = kept

    # step 5: cluster-size filter
    if split_signs:
        # nilearn 0.14.1 image/image.py lines 1475-1484: per sign, clusters of arr*sign > 0;
        # if np.sum(label_map == c_val) < cluster_threshold: arr[label_map == c_val] = 0
        for s in np.unique(np.sign(stat_map)):
            labels, n_labels = cluster_labels((stat_map * s) > 0, connectivity)
            stat_map[_small_clusters(labels, n_labels, cluster_threshold)] = 0.0
    else:
        # nistats lines 275-280: label(|stat_map| > threshold), sizes counted in the mask
        magnitude = np.abs(stat_map)
        above = magnitude >= threshold if keep_equal else magnitude > threshold
        labels, n_labels = cluster_labels(above, connectivity)
        stat_map[_small_clusters(labels, n_labels, cluster_threshold, within=in_mask)] = 0.0

    return stat_map, float(threshold)
