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
  ``'prais_winsten'`` scaled by :math:`\\sqrt{1-\\rho^2}`); for AR(p), the first p
  scans (:func:`ar_whiten`);
- ``ar_p_binning``: how the coefficient vectors of an AR(p), p >= 2, are grouped
  (``'kmeans'`` nilearn, sklearn's KMeans; ``'none'`` statsmodels ``GLSAR``, each
  voxel its own; ``'refuse'`` nistats and SPM12, which have no AR(p));
- ``ar_fit='spm_reml'`` (SPM12, ``refglm.glm.engines.AR_FITS``): one serial
  correlation matrix :math:`V` for the whole volume, SPM's global ReML of two AR(0.2)
  covariance components on the pooled covariance of the voxels whose effects of
  interest are significant (:func:`spm_ar_components`, :func:`spm_pooled_covariance`,
  :func:`spm_reml`, :func:`spm_nonsphericity`), and :math:`W = V^{-1/2}`
  (:func:`spm_whitening`).
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError
from refglm.glm.contrasts import spm_contrast_space
from refglm.glm.filtering import spm_filter
from refglm.glm.spm_linalg import SpmSpace, spm_inv, spm_sqrtm, spm_svd

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
    "AR_P_BINNINGS",
    "yule_walker",
    "yule_walker_voxel",
    "estimate_ar",
    "cluster_ar",
    "ar_whiten",
    "SPM_AR_COEFFICIENT",
    "SPM_UFP",
    "spm_ar_components",
    "spm_reml",
    "spm_effects_of_interest",
    "spm_pooled_covariance",
    "spm_nonsphericity",
    "spm_whitening",
]

AR_ESTIMATORS = ("lag1_ratio", "yule_walker", "yule_walker_voxel")
AR_BINNINGS = ("truncate", "round", "none")
WHITEN_SCAN0 = ("keep", "drop", "prais_winsten")
#: ``ar_p_binning``: the grouping of AR(p) coefficient vectors, p >= 2 (:func:`cluster_ar`).
AR_P_BINNINGS = ("kmeans", "none", "refuse")


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


# ------------------------------------------------------------------------------ AR(p)


def yule_walker(resid: np.ndarray, order: int) -> np.ndarray:
    r"""AR(p) Yule-Walker coefficients of every voxel, globally demeaned, as nilearn.

    With :math:`e_{t,v} = r_{t,v} - \bar r` (:math:`\bar r` the mean over *all* scans
    and voxels), for :math:`k = 0 \dots p`

    .. math::
        \gamma_v(k) = \frac{\sum_{t=k}^{n-1} e_{t,v}\, e_{t-k,v}}{(n - k)\, n},\qquad
        \Gamma_v \rho_v = (\gamma_v(1), \dots, \gamma_v(p))^T,\quad
        (\Gamma_v)_{ij} = \gamma_v(|i - j|)

    solved by ``np.linalg.solve`` voxel by voxel (a batched solve).
    # nilearn 0.14.1 glm/first_level/first_level.py _yule_walker(x, order), called by
    # run_glm with x = ols_result.residuals.T: the same operations in the same order
    # (batched matmul for the lagged products, r /= denom * n, toeplitz, solve).

    Parameters
    ----------
    resid : ndarray, shape (n_scans, n_voxels)
        OLS residuals of every voxel (the mean is global).
    order : int >= 1

    Returns
    -------
    coef : ndarray, shape (n_voxels, order)
    """
    from scipy.linalg import toeplitz  # on use: the module loads without scipy

    x = np.asarray(resid, dtype=np.float64).T  # (V, n), nilearn's x
    n_t = x.shape[-1]
    denom = n_t - np.arange(order + 1)
    r = np.zeros((x.shape[0], order + 1), np.float64)
    y = x - x.mean()
    r[:, 0] += (y[:, np.newaxis, :] @ y[:, :, np.newaxis])[:, 0, 0]
    for k in range(1, order + 1):
        r[:, k] += (y[:, np.newaxis, 0:-k] @ y[:, k:, np.newaxis])[:, 0, 0]
    r /= denom * n_t
    rt = np.array([toeplitz(rr[:-1]) for rr in r], np.float64)
    return np.linalg.solve(rt, r[:, 1:, None])[..., 0]


def yule_walker_voxel(resid: np.ndarray, order: int) -> np.ndarray:
    r"""AR(p) Yule-Walker coefficients with each voxel demeaned by its own mean (statsmodels).

    With :math:`e_{t,v} = r_{t,v} - \bar r_v`,

    .. math::
        \gamma_v(0) = \frac{1}{n}\sum_t e_{t,v}^2,\quad
        \gamma_v(k) = \frac{1}{n - k}\sum_{t=k}^{n-1} e_{t,v}\, e_{t-k,v},\quad
        \Gamma_v \rho_v = (\gamma_v(1), \dots, \gamma_v(p))^T

    # statsmodels 0.15 regression/linear_model.py yule_walker(x, order, method='adjusted',
    # df=None, demean=True), as GLSAR.iterative_fit calls it on each voxel's residuals.

    Parameters
    ----------
    resid : ndarray, shape (n_scans, n_voxels)
    order : int >= 1

    Returns
    -------
    coef : ndarray, shape (n_voxels, order)
    """
    from scipy.linalg import toeplitz  # on use: the module loads without scipy

    e = np.asarray(resid, dtype=np.float64)
    e = e - e.mean(axis=0)
    n = e.shape[0]
    r = np.empty((e.shape[1], order + 1))
    r[:, 0] = (e**2).sum(axis=0) / n
    for k in range(1, order + 1):
        r[:, k] = (e[0:-k] * e[k:]).sum(axis=0) / (n - k)
    rt = np.array([toeplitz(rr[:-1]) for rr in r], np.float64)
    return np.linalg.solve(rt, r[:, 1:, None])[..., 0]


def estimate_ar(resid: np.ndarray, order: int, estimator: str) -> np.ndarray:
    r"""The AR(p) coefficients of OLS residuals, by the convention's ``ar_estimator``.

    Order 1 is :func:`estimate_rho` (one column). Order :math:`p \ge 2`:

    - ``'yule_walker'``: :func:`yule_walker` (nilearn, global demeaning);
    - ``'yule_walker_voxel'``: :func:`yule_walker_voxel` (statsmodels, per voxel);
    - ``'lag1_ratio'`` (nistats) is an order-1 estimator: refused.

    Returns
    -------
    coef : ndarray, shape (n_voxels, order)

    Raises
    ------
    InputError
        For ``'lag1_ratio'`` with ``order >= 2``, or an unknown estimator.
    """
    if order == 1:
        return np.atleast_1d(estimate_rho(resid, estimator))[:, None]
    if estimator == "yule_walker":
        return yule_walker(resid, order)
    if estimator == "yule_walker_voxel":
        return yule_walker_voxel(resid, order)
    if estimator == "lag1_ratio":
        raise InputError(
            f"noise_model='ar{order}': expected an AR(p) estimator, found ar_estimator="
            "'lag1_ratio' (nistats' lag-1 ratio is of order 1); use noise_model='ar1', or "
            "a convention with a Yule-Walker estimator ('nilearn', 'statsmodels')."
        )
    raise InputError(
        f"ar_estimator: expected one of {AR_ESTIMATORS}, found {estimator!r}; "
        "pick a name from refglm.glm.noise.AR_ESTIMATORS."
    )


def cluster_ar(coef: np.ndarray, bins: int = 100, random_state=None):
    r"""Group the AR(p) coefficient vectors of the voxels into at most ``bins`` models, as nilearn.

    1. ``sklearn.cluster.KMeans(n_clusters=min(bins, V), n_init=10,
       random_state=random_state).fit(coef)``;
    2. each cluster is named by its centre rounded to 2 decimals, the values joined
       by ``_`` (``'0.31_-0.08'``); clusters whose names coincide are one model;
    3. each model whitens with the centre of its first voxel (in voxel order).

    .. math:: \hat\rho_v = c_{k(v_0)},\quad v_0 = \min\{u : \mathrm{name}(u) =
              \mathrm{name}(v)\}

    # nilearn 0.14.1 glm/first_level/first_level.py run_glm (AR(N > 1) case):
    # KMeans(...).fit(ar_coef_); ar_coef_ = cluster_centers_[labels_]; labels =
    # "_".join(map(str, np.round(centre, 2))); ARModel(X, ar_coef_[labels == val][0])
    # per unique label. The centres are sklearn's own: the clustering is sklearn's
    # (scikit-learn is imported here, only for this choice), so that a given
    # random_state gives nilearn's models exactly; random_state=None is not reproducible
    # (nilearn's default too).

    Parameters
    ----------
    coef : ndarray, shape (n_voxels, p)
    bins : int
        The maximum number of clusters (nilearn's ``bins``).
    random_state : int, numpy.random.RandomState or None

    Returns
    -------
    models : ndarray, shape (n_models, p)
        The coefficients each model whitens with, models in the sorted order of their
        names.
    labels : ndarray of int, shape (n_voxels,)
        Index of each voxel's model.
    names : ndarray of str, shape (n_models,)
        nilearn's label of each model.

    Raises
    ------
    InputError
        When scikit-learn is not installed.
    """
    try:
        from sklearn.cluster import KMeans
    except ImportError:
        raise InputError(
            "ar_p_binning='kmeans': expected scikit-learn (nilearn clusters the AR(p) "
            "coefficients with sklearn's KMeans), found it missing; pip install "
            "scikit-learn, or use noise_model='ar1' or the 'statsmodels' convention."
        ) from None
    coef = np.asarray(coef, dtype=np.float64)
    n_clusters = int(np.min([bins, coef.shape[0]]))
    kmeans = KMeans(n_clusters=n_clusters, n_init=10, random_state=random_state).fit(coef)
    per_voxel = kmeans.cluster_centers_[kmeans.labels_]
    cluster_names = np.array(["_".join(map(str, np.round(a, 2))) for a in kmeans.cluster_centers_])
    voxel_names = cluster_names[kmeans.labels_]
    names, first, labels = np.unique(voxel_names, return_index=True, return_inverse=True)
    return per_voxel[first], labels.ravel(), names


def ar_whiten(x: np.ndarray, coef, scan0: str = "keep") -> np.ndarray:
    r"""Apply the AR(p) whitening filter :math:`x_t \mapsto x_t - \sum_{i=1}^p \rho_i x_{t-i}`.

    Order 1 is :func:`ar1_whiten` (the same operations). Order :math:`p \ge 2`, with
    the lags that exist:

    .. math:: \tilde x_t = x_t - \sum_{i=1}^{\min(p, t)} \rho_i x_{t-i}

    - ``'keep'``: every scan kept, the first p with the lags they have (n rows out);
      # nilearn 0.14.1 glm/regression.py ARModel.whiten: for i in range(order):
      # whitened_X[i + 1:] = whitened_X[i + 1:] - rho[i] * X[:-(i + 1)]
    - ``'drop'``: the first p scans removed (n - p rows out);
      # statsmodels linear_model.py GLSAR.whiten: the same loop, then _x[self.order:]
    - ``'prais_winsten'`` is defined for order 1 only.

    Parameters
    ----------
    x : ndarray, shape (n_scans, ...)
    coef : float or array_like of shape (p, ...)
        ``coef[i]`` broadcasts against ``x[t]`` (one coefficient vector per column
        when ``coef`` has shape (p, k) and ``x`` (n, ..., k)).
    scan0 : {'keep', 'drop', 'prais_winsten'}

    Returns
    -------
    whitened : ndarray, float64
    """
    coef = np.asarray(coef, dtype=np.float64)
    if coef.ndim == 0:
        return ar1_whiten(x, coef, scan0)
    order = coef.shape[0]
    if order == 1:
        return ar1_whiten(x, coef[0], scan0)
    if scan0 not in ("keep", "drop"):
        raise InputError(
            f"whiten_scan0: expected 'keep' or 'drop' for an AR({order}) model, found "
            f"{scan0!r}; Prais-Winsten's scan-0 scaling is defined for AR(1) only."
        )
    x = np.asarray(x, dtype=np.float64)
    whitened = x.copy()
    for i in range(order):
        whitened[(i + 1) :] = whitened[(i + 1) :] - coef[i] * x[: -(i + 1)]
    return whitened if scan0 == "keep" else whitened[order:]


# -------------------------------------------------------- SPM12: global ReML of AR(0.2)

#: SPM12 spm_spm.m / spm_fmri_spm_ui.m: the AR coefficient of the covariance components
#: (``spm_Ce('ar', nscan, 0.2)`` for the batch's 'AR(1)').
SPM_AR_COEFFICIENT = 0.2
#: SPM12 spm_defaults.m: stats.fmri.ufp = 0.001, the p-value of the effects-of-interest
#: F test that selects the voxels pooled for the ReML.
SPM_UFP = 0.001
# spm_Q.m zeroes the entries of K = inv(I - a*subdiag) with |K| <= 1e-4
_SPM_Q_CUT = 1e-4
# spm_diff.m: the step of the numerical derivative, dx = exp(-8)
_SPM_DIFF_STEP = float(np.exp(-8))
# spm_spm.m lines 443-444: W = W.*(abs(W) > 1e-6)
_SPM_W_CUT = 1e-6


def _spm_q(a: float, n: int) -> np.ndarray:
    r"""The AR 'correlation' of SPM12 ``spm_Q.m`` (q = 0): ``toeplitz`` of ``[1 a a^2 ...]``.

    :math:`K = (I - a\,S)^{-1}` (S the subdiagonal shift, so :math:`K_{ij} = a^{i-j}`),
    entries :math:`|K| \le 10^{-4}` zeroed, :math:`Q = KK^T`, then
    :math:`Q = \mathrm{toeplitz}(Q_{:,1})`. As :math:`K_{1,:} = e_1`,
    :math:`Q_{:,1} = K_{:,1}` and :math:`Q_{ij} = a^{|i-j|}` while :math:`a^{|i-j|} > 10^{-4}`:
    not the stationary AR(1) covariance. The powers are formed by repeated
    multiplication, as MATLAB's forward substitution does.
    # SPM12 spm_Q.m lines 41-47
    """
    col = np.zeros(n)
    x = 1.0
    for i in range(n):
        col[i] = x
        x = x * a
    col = col * (np.abs(col) > _SPM_Q_CUT)
    i = np.arange(n)
    return col[np.abs(i[:, None] - i[None, :])]


def spm_ar_components(n: int, a: float = SPM_AR_COEFFICIENT) -> list[np.ndarray]:
    r"""The two covariance components of SPM's 'AR(1)', SPM12 ``spm_Ce('ar', n, a)``.

    .. math:: Q_1 = Q - a\,\frac{\partial Q}{\partial a},\qquad
              Q_2 = Q + a\,\frac{\partial Q}{\partial a}

    with :math:`Q` from ``spm_Q`` and the derivative a forward difference of step
    :math:`e^{-8}` (``spm_diff``).
    # SPM12 spm_Ce.m lines 66-72; spm_diff.m line 39 (dx = exp(-8))
    """
    Q = _spm_q(a, n)
    dQda = (_spm_q(a + 1.0 * _SPM_DIFF_STEP, n) - Q) / _SPM_DIFF_STEP
    return [Q - dQda * a, Q + dQda * a]


def _spm_logdet(C) -> float:
    """log|C|, SPM12 ``spm_logdet.m`` (zero-diagonal rows and columns removed first)."""
    C = np.atleast_2d(np.asarray(C, dtype=np.float64))
    i = np.flatnonzero(np.diag(C))
    C = C[np.ix_(i, i)]
    if np.any(np.isnan(C)):
        return float("nan")
    tol = 1e-16
    if np.any(C - np.diag(np.diag(C)) != 0):
        if np.max(np.abs(C - C.T)) > tol:
            s = np.linalg.svd(C, compute_uv=False)
        else:
            try:
                return float(2 * np.sum(np.log(np.diag(np.linalg.cholesky(C)))))
            except np.linalg.LinAlgError:
                s = np.linalg.svd(C, compute_uv=False)
    else:
        s = np.diag(C)
    s = s[(s > tol) & (s < 1 / tol)]
    return float(np.sum(np.log(s)))


def _spm_expm(J) -> np.ndarray:
    """Matrix exponential, SPM12 ``spm_expm.m`` (Pade order 6, scaling and squaring)."""
    J = np.asarray(J, dtype=np.float64)
    eye = np.eye(J.shape[0])
    _, e = np.frexp(np.max(np.sum(np.abs(J), axis=1)))
    s = max(0, int(e) + 1)
    J = J / 2.0**s
    X = J.copy()
    c = 0.5
    E = eye + c * J
    D = eye - c * J
    q = 6
    positive = True
    for k in range(2, q + 1):
        c = c * (q - k + 1) / (k * (2 * q - k + 1))
        X = J @ X
        cX = c * X
        E = E + cX
        D = D + cX if positive else D - cX
        positive = not positive
    E = np.linalg.solve(D, E)
    for _ in range(s):
        E = E @ E
    return E


def _spm_pinv(A) -> np.ndarray:
    """SPM12 ``spm_pinv.m``: ``spm_inv(A'A) A'``, or an SVD when that is not finite."""
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    X = spm_inv(A.T @ A)
    if np.all(np.isfinite(X)):
        return X @ A.T
    U, S, V = spm_svd(A, 0)
    tol = max(A.shape) * np.spacing(np.max(S))
    r = int(np.sum(np.abs(S) > tol))
    return (V[:, :r] / S[:r]) @ U[:, :r].T


def _spm_dx(dfdx, f, t: float) -> np.ndarray:
    r"""The regularised Newton step of SPM12 ``spm_dx.m`` (``t`` given as ``{t}``).

    :math:`\tau = \exp(t - \log|J| / n)`; :math:`dx = (e^{\tau J} - I) J^{-1} f`, the
    lower block of :math:`\exp\begin{pmatrix}0 & 0\\ \tau f & \tau J\end{pmatrix}`
    (or :math:`-J^+ f` when :math:`\tau > e^{16}`).
    """
    f = np.asarray(f, dtype=np.float64).ravel()
    n = f.size
    t = np.exp(t - _spm_logdet(dfdx) / n)
    if t > np.exp(16):
        return -_spm_pinv(dfdx) @ f
    J = np.zeros((n + 1, n + 1))
    J[1:, 0] = t * f
    J[1:, 1:] = t * dfdx
    return np.real(_spm_expm(J)[:, 0][1:])


def _spm_trace(A, B) -> float:
    """SPM12 ``spm_trace.m``: trace(A*B) as sum(sum(A'.*B))."""
    return float(np.sum(A.T * B))


def _spm_log_evidence_reduce(qE, qC, pE, pC, rE, rC, tol=1e-8):
    """Bayesian model reduction, SPM12 ``spm_log_evidence_reduce.m`` (ReML's pruning)."""
    qE, pE, rE = (np.asarray(x, dtype=np.float64).ravel() for x in (qE, pE, rE))
    prior_E = pE.copy()
    U = spm_svd(pC, 1e-6)[0]
    qE, pE, rE = U.T @ qE, U.T @ pE, U.T @ rE
    qC, pC, rC = U.T @ qC @ U, U.T @ pC @ U, U.T @ rC @ U
    qP, pP, rP = spm_inv(qC, tol), spm_inv(pC, tol), spm_inv(rC, tol)
    sP = qP + rP - pP
    sC = spm_inv(sP, tol)
    pC = spm_inv(pP, tol)
    sE = qP @ qE + rP @ rE - pP @ pE
    F = _spm_logdet(rP @ qP @ sC @ pC) - (qE @ qP @ qE + rE @ rP @ rE - pE @ pP @ pE - sE @ sC @ sE)
    F = F / 2
    rE = sC @ sE
    sE = U @ rE + prior_E - U @ U.T @ prior_E
    return F, sE, U @ sC @ U.T


# spm_reml.m: hP = exp(-8), the prior precision of the hyperparameters
_SPM_REML_HP = float(np.exp(-8))


def spm_reml(YY, X, Q, N=1, t=4.0, hE=0.0, hP=_SPM_REML_HP, K=32, log=None):
    r"""ReML hyperparameters of :math:`C = \sum_i h_i Q_i`, SPM12 ``spm_reml.m``.

    Fisher scoring on the log-likelihood of the sample covariance ``YY`` of ``N``
    samples, with the column space of ``X`` removed
    (:math:`P = C^{-1} - C^{-1}X(X^TC^{-1}X)^{-1}X^TC^{-1}`):

    .. math::
        \frac{\partial F}{\partial h_i} = -\tfrac{N}{2}\mathrm{tr}\big(PQ_i(I - P\,YY/N)\big)
        - h_P (h_i - h_E),\qquad
        \frac{\partial^2 F}{\partial h_i \partial h_j} = -\tfrac{N}{2}\mathrm{tr}(PQ_iPQ_j) - h_P

    and SPM's own regularised step (``spm_dx`` with ``t``) and stopping rule:
    after each step, :math:`p_F = \nabla F^T dh`; ``t`` becomes
    :math:`\max(t - 1, -8)` if :math:`p_F` exceeds the previous value, else
    :math:`\min(t + 1/4, 8)`; stop when :math:`p_F < 0.1`, or after ``K`` = 32
    steps. SPM stops early (2 iterations on the SPM auditory data), and a
    converged ReML is up to 1% away, so the iterations are reproduced, not the optimum.
    h starts at 1 for every component whose diagonal is not yet covered, else 0.
    # SPM12 spm_reml.m lines 70-180 (X = spm_svd(X,0); the loop; if dF < 1e-1, break)

    Parameters
    ----------
    YY : ndarray (n, n)
        Sample covariance (SPM's ``Cy``).
    X : ndarray (n, p)
        Design whose column space is removed (orthonormalised here, ``spm_svd``).
    Q : list of ndarray (n, n)
        Covariance components.

    Returns
    -------
    V : ndarray (n, n)
        :math:`\sum_i h_i Q_i`.
    h : ndarray (m,)
    Ph : ndarray (m, m)
        The posterior precision of h.
    log : list
        ``(iteration, pF, t)`` per step.
    """
    log = [] if log is None else log
    W = [np.asarray(q, dtype=np.float64) for q in Q]
    YY = np.asarray(YY, dtype=np.float64)
    keep = np.flatnonzero(np.all(np.isfinite(YY), axis=0))
    YY = YY[np.ix_(keep, keep)]
    Q = [q[np.ix_(keep, keep)] for q in W]
    n, m = Q[0].shape[0], len(Q)
    if X is None or np.size(X) == 0:
        X = np.zeros((n, 0))
    else:
        X = spm_svd(np.asarray(X, dtype=np.float64)[keep, :], 0)[0]
    h = np.zeros(m)
    covered = np.zeros(n, dtype=bool)
    for i in range(m):
        diagonal = np.diag(Q[i]) != 0
        h[i] = float(np.any(diagonal & ~covered))
        covered |= diagonal
    hE = np.zeros(m) + hE
    hPm = np.eye(m) * hP
    dF = np.inf
    eye = np.eye(n)
    dFdhh = np.zeros((m, m))
    for k in range(1, K + 1):
        C = np.zeros((n, n))
        for i in range(m):
            C = C + Q[i] * h[i]
        iC = spm_inv(C)
        iCX = iC @ X
        P = iC - iCX @ spm_inv(X.T @ iCX) @ iCX.T if X.shape[1] else iC
        U = eye - P @ YY / N
        PQ = [P @ Q[i] for i in range(m)]
        dFdh = np.array([-_spm_trace(PQ[i], U) * N / 2 for i in range(m)])
        dFdhh = np.zeros((m, m))
        for i in range(m):
            for j in range(i, m):
                dFdhh[i, j] = -_spm_trace(PQ[i], PQ[j]) * N / 2
                dFdhh[j, i] = dFdhh[i, j]
        dFdh = dFdh - hPm @ (h - hE)
        dFdhh = dFdhh - hPm
        dh = _spm_dx(dFdhh, dFdh, t)
        h = h + dh
        pF = float(dFdh @ dh)
        t = max(t - 1, -8) if pF > dF else min(t + 1 / 4, 8)
        if not np.isfinite(pF) or np.max(np.abs(dh)) > 1e6:
            # spm_reml.m: "ReML: restarting" with a stronger prior on h
            log.append((k, pF, t, "restart"))
            return spm_reml(YY, X, Q, N, t, 0.0, hP * 2, K, log)
        dF = pF
        log.append((k, pF, t))
        if dF < 1e-1:
            break
    V = np.zeros_like(W[0])
    for i in range(m):
        V = V + W[i] * h[i]
    Ph = -dFdhh
    if (np.min(np.linalg.eigvalsh(V)) < 0 or np.log(np.linalg.cond(Ph, 1)) > 16) and t > -4:
        # spm_reml.m lines 190-215: prune redundant components (spm_log_evidence_reduce);
        # Octave's condest is replaced by the exact 1-norm condition number
        iQ, qE, pC, qC = [], h.copy(), np.linalg.inv(hPm), np.linalg.inv(Ph)
        for i in range(m):
            rC = pC.copy()
            rC[i, :] = 0
            rC[:, i] = 0
            F, sE, sC = _spm_log_evidence_reduce(qE, qC, hE, pC, hE, rC)
            if F > 2:
                qE, qC, pC = sE, sC, rC
            else:
                iQ.append(i)
        Vr, qEr, qPr, _ = spm_reml(YY, X, [Q[i] for i in iQ], N, t, 0.0, hP * 2, K, log)
        h = hE.copy()
        h[iQ] = qEr
        Ph = hPm.copy()
        Ph[np.ix_(iQ, iQ)] = qPr
        return Vr, h, Ph, log
    return V, h, Ph, log


def spm_effects_of_interest(xKXs: SpmSpace, iX0) -> tuple:
    r"""The 'effects of interest' F contrast: every column but ``iX0``, SPM12
    ``spm_FcUtil('Set', 'F', 'iX0', iX0, xKXs)`` (``spm_SpUtil('i0->c')``).

    :math:`c_0 = I_{:,iX_0}`, :math:`c_1 = I_{:,\text{others}}` (projected on the row
    space if needed) and :math:`c = c_1 - P_{c_0} c_1` (entries below tolerance
    zeroed); then its :math:`X_{1o}` and :math:`H` (``contrasts.spm_contrast_space``).

    Returns
    -------
    c, X1o, Hsqr ; X1o and Hsqr are None when every column is of no interest.
    """
    p = xKXs.X.shape[1]
    iX0 = np.atleast_1d(np.asarray(iX0, dtype=int))
    others = np.setdiff1d(np.arange(p), iX0)
    E = np.eye(p)
    c0, c1 = E[:, iX0], E[:, others]
    if not xKXs.isinspp(c0):
        c0 = xKXs.opp_tol(c0)
    if not xKXs.isinspp(c1):
        c1 = xKXs.opp_tol(c1)
    if c1.shape[1] == 0:
        return np.zeros((p, 0)), None, None
    if c0.shape[1]:
        space0 = SpmSpace(c0)
        c = space0.res(c1)
        c[np.abs(c) < space0.tol] = 0
    else:
        r = xKXs.rk
        c = xKXs.v[:, :r] @ np.diag(xKXs.ds[:r] ** 2) @ xKXs.v[:, :r].T
    _, X1o, Hsqr = spm_contrast_space(xKXs, c)
    return c, X1o, Hsqr


def spm_pooled_covariance(Y, X, X0, iX0, f_threshold) -> dict:
    r"""Voxel selection and pooled covariance for the ReML, SPM12 ``spm_est_non_sphericity.m``.

    An OLS fit of the filtered data (:math:`W = I`): :math:`\hat\beta = (KX)^+ KY`,
    :math:`\mathrm{ResSS}_v`. A voxel is selected when its effects of interest
    (:func:`spm_effects_of_interest`) are significant,

    .. math:: \frac{\lVert H\hat\beta_v\rVert^2}{\mathrm{tr}(MV)} >
              U_F\,\frac{\mathrm{ResSS}_v}{\mathrm{tr}(RV)},\qquad
              U_F = F^{-1}_{\mathrm{tr}(MV),\,\mathrm{tr}(RV)}(1 - 0.001)

    (:math:`\mathrm{tr}(MV)` = rank of :math:`X_{1o}`, :math:`\mathrm{tr}(RV) = n -
    \mathrm{rank}(KX)`), and the *raw* (scaled, unfiltered) series of the selected
    voxels, each scaled to unit OLS residual variance, are pooled:

    .. math:: C_y = \frac{1}{s}\sum_{v\ \text{selected}}
              \frac{\mathrm{tr}(RV)}{\mathrm{ResSS}_v}\, y_v y_v^T

    # SPM12 spm_est_non_sphericity.m lines 78 (trMV), 95 (UF = spm_invFcdf(1 - UFp,
    # [trMV, trRV])), 170-194 (the selection and q = spdiags(sqrt(trRV./ResSS(j)'),...)),
    # 234 (Cy = Cy/s)

    Parameters
    ----------
    Y : ndarray (n, v)
        Scaled data of the analysis-mask voxels.
    X : ndarray (n, p)
        ``xX.X``.
    X0 : ndarray (n, k)
        The drift basis (may have no column).
    iX0 : array of int
        Columns of no interest (SPM's ``xX.iB``, the constant; also the drift
        columns when the drifts are in X).
    f_threshold : callable
        ``f_threshold(df1, df2)`` gives :math:`U_F`; SPM's is
        ``refglm.inference.rft.spm_invFcdf(1 - 0.001, df1, df2)`` (a bisection, not
        the exact quantile: it is what decides the selection).

    Returns
    -------
    dict
        ``Cy`` (n, n), ``selected`` (bool, v), ``UF``, ``trMV``, ``trRV``, ``n_selected``.

    Raises
    ------
    InputError
        When no voxel is selected (SPM: "There are no significant voxels").
    """
    n = Y.shape[0]
    xKXs = SpmSpace(spm_filter(X0, X))
    pKX = xKXs.pinv()
    _, X1o, Hsqr = spm_effects_of_interest(xKXs, iX0)
    trMV = SpmSpace(X1o).rk if X1o is not None else 1
    trRV = n - xKXs.rk
    UF = float(f_threshold(trMV, trRV))
    KY = spm_filter(X0, Y)
    beta = pKX @ KY
    resid = xKXs.res(KY, overwrite=KY is not Y)  # KY is not needed after this
    if resid is Y:  # no filter and a rank-0 design: never square the data in place
        resid = resid.copy()
    ResSS = np.sum(np.square(resid, out=resid), axis=0)
    del resid
    del KY
    if Hsqr is None:
        selected = np.zeros(Y.shape[1], dtype=bool)
    else:
        selected = np.sum((Hsqr @ beta) ** 2, axis=0) / trMV > UF * ResSS / trRV
    s = int(np.count_nonzero(selected))
    if s == 0:
        raise InputError(
            "noise: expected voxels whose effects of interest are significant (SPM's "
            "p < 0.001 F test, which selects the voxels of the ReML), found none; SPM stops "
            "here too ('There are no significant voxels'): use noise_model='ols', or check "
            "the events."
        )
    Ys = Y[:, selected] * np.sqrt(trRV / ResSS[selected])
    Cy = (Ys @ Ys.T) / s
    return dict(Cy=Cy, selected=selected, UF=UF, trMV=trMV, trRV=trRV, n_selected=s)


def spm_nonsphericity(Cy, X, X0, components) -> dict:
    r"""SPM's serial correlations :math:`V`, SPM12 ``spm_est_non_sphericity.m``.

    .. math:: [V, h] = \mathrm{spm\_reml}(C_y, [X\ X_0], Q),\qquad
              V \leftarrow V\, n / \mathrm{tr}(V)

    # SPM12 spm_est_non_sphericity.m lines 270 ([V,h] = spm_reml(Cy,[X X0],Vi)) and 286
    # (V = V*nscan/trace(V))

    Returns
    -------
    dict
        ``V`` (n, n), ``h`` (SPM's ``xVi.h``), ``Ph``, ``log`` (the ReML steps).
    """
    n = Cy.shape[0]
    design = np.column_stack([X, X0]) if X0 is not None and X0.shape[1] else X
    V, h, Ph, log = spm_reml(Cy, design, components)
    return dict(V=V * n / np.trace(V), h=h, Ph=Ph, log=log)


def spm_whitening(V) -> np.ndarray:
    r"""SPM's whitening matrix :math:`W = V^{-1/2}`, entries of at most :math:`10^{-6}` set to 0.

    .. math:: W = \mathrm{spm\_sqrtm}(\mathrm{spm\_inv}(V)),\qquad
              W_{ij} \leftarrow W_{ij}\,[|W_{ij}| > 10^{-6}]

    With :math:`V = I` (SPM's 'none') ``spm_inv`` adds its tolerance, so
    :math:`W = (1 + \tau)^{-1/2} I`, 1 - 1.07e-14.
    # SPM12 spm_spm.m lines 440-444: W = spm_sqrtm(spm_inv(xVi.V)); W = W.*(abs(W) > 1e-6)
    """
    W = spm_sqrtm(spm_inv(V))
    return W * (np.abs(W) > _SPM_W_CUT)
