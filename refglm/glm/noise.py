"""Noise model: the AR(1) coefficient, its binning, and whitening.

Each function implements one named choice of ``conventions.py``:

- ``ar_estimator``: how rho is estimated from OLS residuals
  (``'lag1_ratio'`` nistats, ``'yule_walker'`` nilearn >= 0.7,
  ``'yule_walker_voxel'`` statsmodels ``GLSAR``);
- ``ar_binning``: how rho is discretised before whitening
  (``'truncate'`` nistats and nilearn, ``'round'`` to the nearest bin,
  ``'none'`` statsmodels);
- ``whiten_scan0``: what whitening does to the first scan
  (``'keep'`` nistats/nilearn, ``'drop'`` statsmodels GLSAR,
  ``'prais_winsten'`` scaled by :math:`\\sqrt{1-\\rho^2}`).
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError

__all__ = [
    "AR_ESTIMATORS",
    "AR_BINNINGS",
    "WHITEN_SCAN0",
    "lag1_ratio",
    "yule_walker_ar1",
    "yule_walker_voxel_ar1",
    "estimate_rho",
    "bin_rho",
    "ar1_whiten",
]

AR_ESTIMATORS = ("lag1_ratio", "yule_walker", "yule_walker_voxel")
AR_BINNINGS = ("truncate", "round", "none")
WHITEN_SCAN0 = ("keep", "drop", "prais_winsten")


def lag1_ratio(resid: np.ndarray) -> np.ndarray:
    r"""Lag-1 autocorrelation of residuals, as nistats estimated it.

    .. math:: \hat\rho = \frac{\sum_{t=1}^{n-1} r_t r_{t-1}}{\sum_{t=0}^{n-1} r_t^2}

    # nistats first_level_model.py run_glm: (resid[1:] * resid[:-1]).sum(0) / (resid**2).sum(0)
    No demeaning: OLS residuals of a design with a constant have mean 0.

    Parameters
    ----------
    resid : ndarray, shape (n_scans,) or (n_scans, n_voxels)

    Returns
    -------
    rho : float or ndarray of shape (n_voxels,)
    """
    resid = np.asarray(resid, dtype=np.float64)
    return (resid[1:] * resid[:-1]).sum(axis=0) / (resid**2).sum(axis=0)


def yule_walker_ar1(resid: np.ndarray) -> np.ndarray:
    r"""AR(1) Yule-Walker estimate with global demeaning, as nilearn estimates it.

    With :math:`e_{t,v} = r_{t,v} - \bar r`, where :math:`\bar r` is the mean over
    *all* scans and voxels passed in (nilearn demeans with ``x - x.mean()``, no axis),

    .. math:: \hat\rho = \frac{n}{n-1}\,
              \frac{\sum_{t=1}^{n-1} e_t e_{t-1}}{\sum_{t=0}^{n-1} e_t^2}

    # nilearn 0.14.1 glm/first_level/first_level.py _yule_walker (PR #2532), order 1:
    # r(k) = sum(x[k:] * x[:n-k]) / (n - k) and rho = r(1) / r(0).
    Pass the whole (n_scans, n_voxels) residual matrix to reproduce the global mean.

    Parameters
    ----------
    resid : ndarray, shape (n_scans,) or (n_scans, n_voxels)

    Returns
    -------
    rho : float or ndarray of shape (n_voxels,)
    """
    resid = np.asarray(resid, dtype=np.float64)
    e = resid - resid.mean()
    n = e.shape[0]
    r0 = (e * e).sum(axis=0) / n
    r1 = (e[1:] * e[:-1]).sum(axis=0) / (n - 1)
    return r1 / r0


def yule_walker_voxel_ar1(resid: np.ndarray) -> np.ndarray:
    r"""AR(1) Yule-Walker estimate with each voxel demeaned by its own mean (statsmodels).

    With :math:`e_{t,v} = r_{t,v} - \bar r_v`, :math:`\bar r_v` the mean over scans of
    voxel v,

    .. math:: \hat\rho_v = \frac{n}{n-1}\,
              \frac{\sum_{t=1}^{n-1} e_{t,v} e_{t-1,v}}{\sum_{t=0}^{n-1} e_{t,v}^2}

    # statsmodels 0.14 regression/linear_model.py yule_walker(x, order=1,
    # method='adjusted', demean=True), as GLSAR.iterative_fit calls it.
    For OLS residuals of a design with a constant every :math:`\bar r_v` is 0 up to
    rounding, so this equals :func:`yule_walker_ar1`.

    Parameters
    ----------
    resid : ndarray, shape (n_scans,) or (n_scans, n_voxels)

    Returns
    -------
    rho : float or ndarray of shape (n_voxels,)
    """
    resid = np.asarray(resid, dtype=np.float64)
    return yule_walker_ar1(resid - resid.mean(axis=0))


def estimate_rho(resid: np.ndarray, estimator: str = "lag1_ratio") -> np.ndarray:
    r"""The AR(1) coefficient of OLS residuals, by the convention's ``ar_estimator``.

    With :math:`r_{t,v}` the residuals (``resid``, n scans by V voxels):

    - ``'lag1_ratio'`` (:func:`lag1_ratio`, nistats), no demeaning:

      .. math:: \hat\rho_v = \frac{\sum_{t=1}^{n-1} r_{t,v} r_{t-1,v}}{\sum_{t=0}^{n-1} r_{t,v}^2}

      # nistats first_level_model.py run_glm: (resid[1:] * resid[:-1]).sum(0) / (resid**2).sum(0)
    - ``'yule_walker'`` (:func:`yule_walker_ar1`, nilearn >= 0.7), with
      :math:`e_{t,v} = r_{t,v} - \bar r` demeaned by the mean over *all* scans and
      voxels passed in:

      .. math:: \hat\rho_v = \frac{n}{n-1}
                \frac{\sum_{t=1}^{n-1} e_{t,v} e_{t-1,v}}{\sum_{t=0}^{n-1} e_{t,v}^2}

      # nilearn 0.14.1 glm/first_level/first_level.py _yule_walker, order 1
    - ``'yule_walker_voxel'`` (:func:`yule_walker_voxel_ar1`, statsmodels ``GLSAR``):
      the same ratio with :math:`e_{t,v} = r_{t,v} - \bar r_v`, each voxel demeaned
      by its own mean over scans.

      # statsmodels regression/linear_model.py yule_walker(order=1, method='adjusted')

    For OLS residuals of a design with a constant, :math:`\bar r_v = 0` up to
    rounding, so the two Yule-Walker estimates are :math:`n/(n-1)` times the lag-1 ratio.

    Parameters
    ----------
    resid : ndarray, shape (n_scans,) or (n_scans, n_voxels)
        OLS residuals. Pass every voxel at once for ``'yule_walker'`` (its mean is global).
    estimator : {'lag1_ratio', 'yule_walker', 'yule_walker_voxel'}, default 'lag1_ratio'

    Returns
    -------
    rho : float or ndarray of shape (n_voxels,)
        Before binning (:func:`bin_rho`).

    Raises
    ------
    InputError
        For an estimator name not in :data:`AR_ESTIMATORS`.
    """
    if estimator == "lag1_ratio":
        return lag1_ratio(resid)
    if estimator == "yule_walker":
        return yule_walker_ar1(resid)
    if estimator == "yule_walker_voxel":
        return yule_walker_voxel_ar1(resid)
    raise InputError(
        f"ar_estimator: expected one of {AR_ESTIMATORS}, found {estimator!r}; "
        "pick a name from refglm.glm.noise.AR_ESTIMATORS."
    )


def bin_rho(rho, bins: int = 100, method: str = "truncate") -> np.ndarray:
    r"""Discretise rho so that voxels share whitened designs.

    - ``'truncate'``: :math:`\rho = \operatorname{trunc}(b\hat\rho) / b`, truncation
      toward zero (:math:`\lfloor b\hat\rho\rfloor / b` for :math:`\hat\rho \ge 0`,
      :math:`\lceil b\hat\rho\rceil / b` below 0), b = ``bins``;
      # nistats first_level_model.py run_glm: (ar1 * bins).astype(np.int) * 1. / bins
      # nilearn 0.14.1 run_glm: (ar_coef_ * bins).astype(int) * 1.0 / bins, the same
    - ``'round'``: :math:`\rho = \operatorname{rint}(b\hat\rho) / b` (to the
      nearest bin, halves to even; for b = 100 this is ``np.round(rho, 2)``
      bit for bit); a refglm alternative that
      no peer uses, for measuring what truncation costs;
    - ``'none'``: :math:`\rho = \hat\rho` (statsmodels ``GLSAR`` does not bin).

    Parameters
    ----------
    rho : array_like
        Estimates from :func:`estimate_rho`.
    bins : int, default 100
        Bins per unit.
    method : {'truncate', 'round', 'none'}, default 'truncate'

    Returns
    -------
    rho : ndarray of float64

    Raises
    ------
    InputError
        For a method not in :data:`AR_BINNINGS`.
    """
    rho = np.asarray(rho, dtype=np.float64)
    if method == "truncate":
        return (rho * bins).astype(int) * 1.0 / bins
    if method == "round":
        return np.rint(rho * bins) / bins
    if method == "none":
        return rho
    raise InputError(
        f"ar_binning: expected one of {AR_BINNINGS}, found {method!r}; "
        "pick a name from refglm.glm.noise.AR_BINNINGS."
    )


def ar1_whiten(x: np.ndarray, rho: float, scan0: str = "keep") -> np.ndarray:
    r"""Apply the AR(1) whitening filter :math:`x_t \mapsto x_t - \rho x_{t-1}`.

    Scan 0 has no predecessor; conventions differ on it:

    - ``'keep'``: :math:`\tilde x_0 = x_0` (n rows out);
      # nistats regression.py ARModel.whiten keeps scan 0 unscaled
    - ``'drop'``: scan 0 removed (n - 1 rows out);
      # statsmodels linear_model.py GLSAR.whiten returns _x[self.order:]
    - ``'prais_winsten'``: :math:`\tilde x_0 = \sqrt{1-\rho^2}\, x_0` (n rows out).

    Parameters
    ----------
    x : ndarray, shape (n_scans,) or (n_scans, k)
    rho : float
    scan0 : {'keep', 'drop', 'prais_winsten'}

    Returns
    -------
    whitened : ndarray, float64
    """
    x = np.asarray(x, dtype=np.float64)
    whitened = x.copy()
    whitened[1:] = x[1:] - rho * x[:-1]
    if scan0 == "keep":
        return whitened
    if scan0 == "drop":
        return whitened[1:]
    if scan0 == "prais_winsten":
        whitened[0] = np.sqrt(1.0 - rho**2) * x[0]
        return whitened
    raise InputError(
        f"whiten_scan0: expected one of {WHITEN_SCAN0}, found {scan0!r}; "
        "pick a name from refglm.glm.noise.WHITEN_SCAN0."
    )
