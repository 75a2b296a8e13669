"""Voxel-level thresholds (FPR, Bonferroni, FDR) and the thresholded map.

Pure numerics: a 3-D statistical map (z scale), an optional boolean mask,
floats in; arrays and floats out. Nothing here reads files, prints, or
imports nibabel.

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
from scipy.stats import norm

from refglm.clusters import cluster_labels, connectivity_structure
from refglm.exceptions import InputError

__all__ = [
    "HEIGHT_CONTROLS",
    "FDR_FORMULAS",
    "fpr_threshold",
    "bonferroni_threshold",
    "fdr_threshold",
    "background_mask",
    "map_threshold",
]

#: Accepted values of ``height_control`` (nistats thresholding.py lines 227-228, less
#: 'all-resolution-inference', which nistats accepted but never applied).
HEIGHT_CONTROLS = ("fpr", "bonferroni", "fdr", None)

#: Accepted values of ``fdr_formula``.
FDR_FORMULAS = ("nistats", "bh")

# Default threshold when height_control is None and no threshold is given
# (nistats thresholding.py line 175 signature: threshold=3.; nilearn 0.14.1 line 502).
_DEFAULT_Z_THRESHOLD = 3.0

# nistats thresholding.py line 101: the FDR threshold sits 1e-12 below the last discovery.
_FDR_OFFSET = 1.0e-12

# nilearn masking.compute_background_mask default border_size.
_BORDER_SIZE = 2


# ---------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise InputError(
            f"alpha: expected a probability strictly between 0 and 1, found "
            f"{type(alpha).__name__} {alpha!r}; pass a float such as 0.05."
        )
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise InputError(
            f"alpha: expected a probability strictly between 0 and 1, found {alpha!r}; "
            "pass e.g. 0.001 (fpr) or 0.05 (fdr, bonferroni), not a percentage."
        )
    return alpha


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise InputError(
            f"{name}: expected True or False, found {type(value).__name__} {value!r}; pass a bool."
        )
    return bool(value)


def _alpha_per_tail(alpha: float, two_sided: bool) -> float:
    # nistats thresholding.py line 234: alpha_ = alpha / 2 if two_sided else alpha
    return alpha / 2 if two_sided else alpha


# ---------------------------------------------------------------------------
# The three thresholds
# ---------------------------------------------------------------------------


def fpr_threshold(alpha: float, two_sided: bool = False) -> float:
    """Uncorrected (false positive rate) z threshold.

    ``t = Phi^{-1}(1 - alpha')`` with ``alpha' = alpha / 2`` if ``two_sided``
    else ``alpha``, computed as ``scipy.stats.norm.isf(alpha')``.

    Parameters
    ----------
    alpha : float, in (0, 1)
        Voxel-wise false positive rate.
    two_sided : bool, default False
        Split ``alpha`` between the two tails.

    Returns
    -------
    threshold : float

    Notes
    -----
    Source: nistats thresholding.py lines 234 and 238-239,
    ``threshold = norm.isf(alpha_)``. ``fpr_threshold(0.001)`` is
    3.090232306167813, the tutorial's "Uncorrected p<0.001 threshold: 3.090".
    """
    alpha = _check_alpha(alpha)
    two_sided = _check_bool("two_sided", two_sided)
    # nistats thresholding.py line 239: threshold = norm.isf(alpha_)
    return float(norm.isf(_alpha_per_tail(alpha, two_sided)))


def bonferroni_threshold(alpha: float, n_voxels: int, two_sided: bool = False) -> float:
    """Bonferroni (family-wise error) z threshold over ``n_voxels`` tests.

    ``t = Phi^{-1}(1 - alpha' / n)`` with ``alpha' = alpha / 2`` if
    ``two_sided`` else ``alpha``, computed as ``norm.isf(alpha' / n)``.

    Parameters
    ----------
    alpha : float, in (0, 1)
        Family-wise error rate.
    n_voxels : int, >= 1
        Number of tests: the voxels of the (mask of the) map.
    two_sided : bool, default False
        Split ``alpha`` between the two tails.

    Returns
    -------
    threshold : float

    Notes
    -----
    Source: nistats thresholding.py line 266,
    ``threshold = norm.isf(alpha_ / n_voxels)``. With ``n_voxels = 62073``,
    ``bonferroni_threshold(0.05, 62073)`` is 4.796948947822594, the tutorial's
    "Bonferroni-corrected, p<0.05 threshold: 4.797".
    """
    alpha = _check_alpha(alpha)
    two_sided = _check_bool("two_sided", two_sided)
    if (
        isinstance(n_voxels, bool)
        or not isinstance(n_voxels, numbers.Integral)
        or int(n_voxels) < 1
    ):
        raise InputError(
            f"n_voxels: expected a positive integer (the number of voxels tested), "
            f"found {n_voxels!r}; pass e.g. int(mask.sum())."
        )
    # nistats thresholding.py line 266: threshold = norm.isf(alpha_ / n_voxels)
    return float(norm.isf(_alpha_per_tail(alpha, two_sided) / int(n_voxels)))


def fdr_threshold(z_vals, alpha: float, formula: str = "nistats") -> float:
    """Benjamini-Hochberg false discovery rate z threshold.

    With the z values sorted in decreasing order, ``z_(1) >= ... >= z_(n)``,
    and ``p_(i) = 1 - Phi(z_(i))`` (``norm.sf``), the discoveries are the
    indices with ``p_(i) < alpha * c_i`` where

    - ``formula='nistats'``: ``c_i = (i - 1/2) / n``, i.e.
      ``linspace(.5 / n, 1 - .5 / n, n)``;
    - ``formula='bh'``: ``c_i = i / n``, i.e. ``linspace(1 / n, 1, n)``
      (the textbook Benjamini-Hochberg constants; nilearn PR #3137, 0.14.1).

    The threshold is ``z_(k) - 1e-12`` for the largest discovery index ``k``,
    or ``+inf`` when there is none.

    Parameters
    ----------
    z_vals : array_like
        z values of all tested voxels (flattened); NaN not allowed.
    alpha : float, in (0, 1)
        False discovery rate.
    formula : {'nistats', 'bh'}, default 'nistats'

    Returns
    -------
    threshold : float
        ``inf`` when nothing is discovered.

    Notes
    -----
    Source: nistats thresholding.py lines 95-103::

        z_vals_ = -np.sort(-z_vals); p_vals = norm.sf(z_vals_)
        pos = p_vals < alpha * np.linspace(.5 / n, 1 - .5 / n, n)
        return z_vals_[pos][-1] - 1.e-12 if pos.any() else np.inf

    and, for ``'bh'``, nilearn 0.14.1 glm/thresholding.py lines 135-139
    (``np.linspace(1 / n_samples, 1, n_samples)``, nilearn PR #3137).

    When it discovers anything, the threshold exceeds
    ``fpr_threshold(alpha) - 1e-12`` (since ``p_(k) < alpha``). It is at most
    ``bonferroni_threshold(alpha, n)`` exactly when the last discovery has
    ``p_(k) >= alpha / n``; a map whose discoveries are all Bonferroni-
    significant (e.g. a single strong voxel) gets an FDR threshold *above*
    the Bonferroni one.
    """
    alpha = _check_alpha(alpha)
    if formula not in FDR_FORMULAS:
        raise InputError(
            f"formula: expected one of {FDR_FORMULAS}, found {formula!r}; pass 'nistats' "
            "for nistats 0.0.1rc0 or 'bh' for nilearn 0.14.1."
        )
    z = np.ravel(np.asarray(z_vals, dtype=np.float64))
    if z.size == 0:
        raise InputError(
            "z_vals: expected at least one z value, found an empty array; "
            "check that the mask selects some voxels."
        )
    if np.isnan(z).any():
        raise InputError(
            f"z_vals: expected no NaN, found {int(np.isnan(z).sum())}; "
            "drop or zero the NaN voxels (they are outside the brain) first."
        )
    z_vals_ = -np.sort(-z)
    p_vals = norm.sf(z_vals_)
    n_samples = len(p_vals)
    if formula == "nistats":
        # nistats thresholding.py lines 98-99
        constants = np.linspace(0.5 / n_samples, 1 - 0.5 / n_samples, n_samples)
    else:
        # nilearn 0.14.1 glm/thresholding.py line 138
        constants = np.linspace(1 / n_samples, 1, n_samples)
    pos = p_vals < alpha * constants
    if pos.any():
        return float(z_vals_[pos][-1] - _FDR_OFFSET)
    return float(np.inf)


# ---------------------------------------------------------------------------
# Mask and thresholded map
# ---------------------------------------------------------------------------


def background_mask(stat) -> np.ndarray:
    """Voxels of ``stat`` that differ from its background value.

    The background is read from the outer shell of the array, two voxels
    thick: if any shell voxel is NaN the mask is ``~isnan(stat)``, otherwise
    it is ``stat != median(shell)``. For a z map that is 0 outside the brain
    this is the set of non-zero voxels.

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
    """Threshold a z map at a corrected voxel level, then by cluster size.

    1. Voxels tested: ``mask``, or :func:`background_mask` of ``stat`` when
       ``mask`` is None; ``n`` is their number.
    2. ``alpha' = alpha / 2`` if ``two_sided`` else ``alpha``; the values
       tested are ``s = |stat|`` if ``two_sided`` else ``stat``.
    3. Threshold ``t``: ``'fpr'``: ``norm.isf(alpha')``; ``'bonferroni'``:
       ``norm.isf(alpha' / n)``; ``'fdr'``: :func:`fdr_threshold` of the
       ``n`` values ``s`` at ``alpha'``; None: ``threshold`` (3.0 if None).
    4. Voxel survives when ``s > t`` (``s >= t`` if ``keep_equal``), keeping
       its signed value; every other voxel, and all outside the mask, is 0.
    5. Clusters of the survivors (``connectivity``) with fewer than
       ``cluster_threshold`` voxels are set to 0. Default: clusters of
       ``|map| > t`` regardless of sign; ``split_signs``: positive and
       negative survivors are clustered separately.

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
    alpha = _check_alpha(alpha)
    two_sided = _check_bool("two_sided", two_sided)
    keep_equal = _check_bool("keep_equal", keep_equal)
    split_signs = _check_bool("split_signs", split_signs)
    if fdr_formula not in FDR_FORMULAS:
        raise InputError(
            f"fdr_formula: expected one of {FDR_FORMULAS}, found {fdr_formula!r}; pass "
            "'nistats' for nistats 0.0.1rc0 or 'bh' for nilearn 0.14.1."
        )
    connectivity_structure(connectivity)  # InputError unless connectivity is 6, 18 or 26
    if (
        isinstance(cluster_threshold, bool)
        or not isinstance(cluster_threshold, numbers.Real)
        or not cluster_threshold >= 0
    ):
        raise InputError(
            f"cluster_threshold: expected a cluster size in voxels >= 0, found "
            f"{cluster_threshold!r}; pass 0 to keep every cluster."
        )
    if height_control is None:
        if threshold is None:
            threshold = _DEFAULT_Z_THRESHOLD
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, numbers.Real)
            or np.isnan(threshold)
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
        threshold = float(norm.isf(alpha_))
    elif height_control == "fdr":
        threshold = fdr_threshold(tested, alpha_, formula=fdr_formula)
    elif height_control == "bonferroni":
        threshold = float(norm.isf(alpha_ / n_voxels))

    # step 4 (nistats lines 267-272): stats *= (stats > threshold); stats *= sign
    survives = tested >= threshold if keep_equal else tested > threshold
    kept = np.where(survives, tested * sign if two_sided else tested, 0.0)
    stat_map = np.zeros(data.shape, dtype=np.float64)
    stat_map[in_mask] = kept

    # step 5: cluster-size filter
    if split_signs:
        # nilearn 0.14.1 image/image.py lines 1475-1484: per sign, clusters of arr*sign > 0
        for s in np.unique(np.sign(stat_map)):
            labels, n_labels = cluster_labels((stat_map * s) > 0, connectivity)
            _zero_small_clusters(stat_map, labels, n_labels, cluster_threshold)
    else:
        # nistats lines 275-280: label(|stat_map| > threshold), sizes counted in the mask
        magnitude = np.abs(stat_map)
        above = magnitude >= threshold if keep_equal else magnitude > threshold
        labels, n_labels = cluster_labels(above, connectivity)
        sizes = np.bincount(labels[in_mask], minlength=n_labels + 1)
        small = sizes < cluster_threshold
        small[0] = False
        stat_map[small[labels] & in_mask] = 0.0

    return stat_map, float(threshold)


def _zero_small_clusters(stat_map, labels, n_labels, cluster_threshold) -> None:
    # nilearn: if np.sum(label_map == c_val) < cluster_threshold: arr[label_map == c_val] = 0
    sizes = np.bincount(labels.ravel(), minlength=n_labels + 1)
    small = sizes < cluster_threshold
    small[0] = False
    stat_map[small[labels]] = 0.0
