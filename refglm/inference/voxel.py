"""Voxel-level thresholds: FPR (uncorrected), Bonferroni (FWER) and FDR.

Pure numerics: an error rate (and, for FDR, the z values tested) in, a z
threshold out. Nothing here reads files, prints, or imports nibabel.

Each threshold replicates nistats 0.0.1rc0 ``nistats/thresholding.py``:
``fdr_threshold`` lines 77-103, and the fpr and Bonferroni thresholds of
``map_threshold`` (lines 238-239 and 266); ``fdr_threshold(formula='bh')``
uses the textbook Benjamini-Hochberg constants of nilearn 0.14.1.
:func:`refglm.inference.threshold_map.map_threshold` applies them to a map.
"""

from __future__ import annotations

import numbers

import numpy as np

from refglm._validate import check_alpha, check_bool
from refglm.exceptions import InputError

__all__ = [
    "FDR_FORMULAS",
    "fpr_threshold",
    "bonferroni_threshold",
    "fdr_threshold",
]

#: Accepted values of ``fdr_formula``.
FDR_FORMULAS = ("nistats", "bh")

# nistats thresholding.py line 101: the FDR threshold sits 1e-12 below the last discovery.
_FDR_OFFSET = 1.0e-12


def _check_fdr_formula(name: str, formula) -> str:
    if formula not in FDR_FORMULAS:
        raise InputError(
            f"{name}: expected one of {FDR_FORMULAS}, found {formula!r}; pass 'nistats' "
            "for nistats 0.0.1rc0 or 'bh' for nilearn 0.14.1."
        )
    return formula


def _alpha_per_tail(alpha: float, two_sided: bool) -> float:
    # nistats thresholding.py line 234: alpha_ = alpha / 2 if two_sided else alpha
    return alpha / 2 if two_sided else alpha


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
    from scipy.stats import norm  # on use: the module loads without it (refglm --help)

    alpha = check_alpha(alpha)
    two_sided = check_bool("two_sided", two_sided)
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
    from scipy.stats import norm  # on use: the module loads without it (refglm --help)

    alpha = check_alpha(alpha)
    two_sided = check_bool("two_sided", two_sided)
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
    from scipy.stats import norm  # on use: the module loads without it (refglm --help)

    alpha = check_alpha(alpha)
    formula = _check_fdr_formula("formula", formula)
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
