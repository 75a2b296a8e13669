"""The reference fit: every voxel through statsmodels, in a plain loop.

Arrays in, arrays out, in the shape of nilearn's ``run_glm``: ``Y`` is
(n_scans, n_voxels), ``X`` is (n_scans, n_regressors).

For ``noise_model='ar1'`` the fit has three passes, as nistats' ``run_glm``:

1. ``sm.OLS(y, X).fit()`` for each voxel, keeping the residuals;
2. the AR(1) coefficient of each voxel's residuals (``noise.estimate_rho``),
   then binned (``noise.bin_rho``);
3. a statsmodels ``GLSAR`` fit with that fixed rho for each voxel.

``noise_model='arN'`` (N >= 2, nilearn's AR(N)) has the same passes with the AR(N)
Yule-Walker coefficients (``noise.estimate_ar``), grouped by sklearn's KMeans as
nilearn does (``noise.cluster_ar``, ``ar_p_binning='kmeans'``) or not at all
(``'none'``), and ``GLSAR`` of order N with those fixed coefficients.

The GLSAR class is chosen by the convention's ``whiten_scan0``:
statsmodels' own ``GLSAR`` drops the first p scans; nistats' and nilearn's ``ARModel``
keep them (scan 0 unscaled, scan t < p with the lags it has), so :class:`KeepScan0GLSAR`
overrides ``whiten`` and nothing else. Degrees of freedom come from statsmodels:
``nobs - rank(X)``, 96 - 16 = 80 on the tutorial with scan 0 kept; the variance is
statsmodels' ``scale`` (``ssr / df_resid``) or, with ``df_scale='columns'``, nistats' and
nilearn's ``ssr / (nobs - columns)``, which differs only for a rank-deficient design.

The ``'iterative'`` AR fit reproduces ``sm.GLSAR(y, X, rho=p).iterative_fit()``
voxel by voxel, with no binning.

The ``'spm_reml'`` fit is SPM12's estimation (``spm_spm.m``): every voxel is whitened by
one matrix :math:`W = V^{-1/2}` (SPM's global ReML, computed beforehand by
``refglm.glm.noise``) and filtered by SPM's high-pass :math:`K`, and
``sm.OLS(K W y, K W X).fit()`` gives beta, the residuals and their sum of squares;
SPM's variance and df formulas are applied beside it (``ResMS = ResSS / trRV``,
``erdf = trRV^2 / trRVRV``, ``Bcov``: :func:`refglm.glm.engines.spm_design_space`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
from joblib import Parallel, delayed, parallel_config

# OLS and GLSAR only: statsmodels.api would import every model, plotting and datasets
# too, in the parent and in each joblib worker
from statsmodels.regression import linear_model as sm
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from refglm.exceptions import InputError
from refglm.glm.engines._common import (
    GLMFit,
    check_glm_arguments,
    check_spm_arguments,
    chunks,
    noise_order,
    pinv_cov,
    resolve_ar_choices,
    spm_design_space,
    spm_glm_fit,
    spm_residual_rows,
)
from refglm.glm.filtering import spm_filter
from refglm.glm.noise import (
    ar1_whiten,
    ar_whiten,
    bin_rho,
    cluster_ar,
    estimate_ar,
    estimate_rho,
)

__all__ = [
    "KeepScan0GLSAR",
    "PraisWinstenGLSAR",
    "glsar_class",
    "contrast_cov",
    "residual_variance",
    "run_glm",
]


class KeepScan0GLSAR(sm.GLSAR):
    r"""statsmodels GLSAR whose AR(p) whitening keeps the first p scans.

    .. math:: \tilde x_t = x_t - \sum_{i=1}^{\min(p, t)} \rho_i x_{t-i}

    (AR(1): :math:`\tilde x_0 = x_0`, :math:`\tilde x_t = x_t - \rho x_{t-1}`).
    # nistats regression.py ARModel.whiten keeps scan 0 unscaled; nilearn 0.14.1
    # glm/regression.py ARModel.whiten keeps every scan for any order; statsmodels'
    # GLSAR.whiten drops the first p. Only ``whiten`` changes, so the estimator, the
    # pinv, the scale and df = nobs - rank(X) are statsmodels' own.
    """

    def whiten(self, x):
        if self.order == 1:
            return ar1_whiten(x, self.rho[0], scan0="keep")
        return ar_whiten(x, self.rho, scan0="keep")


class PraisWinstenGLSAR(sm.GLSAR):
    r"""statsmodels GLSAR with Prais-Winsten scaling of scan 0.

    .. math:: \tilde x_0 = \sqrt{1-\rho^2}\, x_0, \qquad \tilde x_t = x_t - \rho x_{t-1}
    """

    def whiten(self, x):
        return ar1_whiten(x, self.rho[0], scan0="prais_winsten")


_GLSAR_CLASSES = {"keep": KeepScan0GLSAR, "drop": sm.GLSAR, "prais_winsten": PraisWinstenGLSAR}


def glsar_class(scan0: str):
    """The statsmodels model class that whitens scan 0 as ``scan0`` says."""
    try:
        return _GLSAR_CLASSES[scan0]
    except KeyError:
        raise InputError(
            f"whiten_scan0: expected one of {tuple(_GLSAR_CLASSES)}, found {scan0!r}"
        ) from None


def _float64(Y):
    """A chunk's data as float64, converted where the chunk is fitted (exact for float32).

    The chunks travel to joblib workers in the caller's dtype (float32 for the
    tutorial), half the bytes of float64, and give the same float64 values.
    """
    return np.asarray(Y, dtype=np.float64)


def contrast_cov(res, cov_pinv: str = "scipy") -> np.ndarray:
    r"""The unscaled covariance :math:`(\tilde X^T\tilde X)^+ = P P^T`, :math:`P = \tilde X^+`.

    ``cov_pinv`` says whose pseudo-inverse :math:`P` is, which matters for an
    ill-conditioned design (an FIR model: condition number ~4e5, where the two
    differ by ~1e-6 relatively in :math:`c P P^T c^T`):

    - ``'scipy'``: ``scipy.linalg.pinv(X~)``, what nistats and nilearn compute
      their contrast variances from;
      # nistats regression.py OLSModel.initialize: calc_beta = spl.pinv(X~);
      # nilearn 0.14.1 glm/regression.py OLSModel.initialize: the same
    - ``'statsmodels'``: statsmodels' own ``normalized_cov_params`` (its
      ``pinv_extended``, numpy's SVD, ``rcond=1e-15``).

    ``res`` is a statsmodels results object; its model's ``wexog`` is
    :math:`\tilde X`. The fit itself (``params``, ``scale``) is statsmodels'
    either way.
    """
    if cov_pinv == "statsmodels":
        return np.asarray(res.normalized_cov_params)
    return pinv_cov(np.asarray(res.model.wexog), cov_pinv)


def _silencing_per_voxel_rank_warnings(func):
    """Run ``func`` with statsmodels' SingularMatrixWarning silenced.

    statsmodels raises it at every voxel's fit of a rank-deficient design (tens
    of thousands of lines on a brain mask); :func:`run_glm` reports it once.
    """

    @functools.wraps(func)
    def silenced(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingularMatrixWarning)
            # GLSAR.iterative_fit's convergence test divides by |beta|, 0/0 for the
            # zero coefficients of a rank-deficient design: the same flood
            warnings.filterwarnings(
                "ignore", "invalid value encountered in divide", RuntimeWarning, "statsmodels"
            )
            return func(*args, **kwargs)

    return silenced


def residual_variance(res, df_scale: str = "rank") -> float:
    r"""The residual variance of a statsmodels fit, by the convention's ``df_scale``.

    .. math::
        \hat\sigma^2 = \frac{\tilde r^T \tilde r}{n - \mathrm{rank}(\tilde X)}
        \ (\texttt{'rank'}),\qquad
        \hat\sigma^2 = \frac{\tilde r^T \tilde r}{n - p}\ (\texttt{'columns'})

    with n the whitened rows and p the design's columns.
    # statsmodels RegressionResults.scale: np.dot(wresid, wresid) / df_resid ('rank');
    # nistats 0.0.1b1 regression.py OLSModel.fit and nilearn 0.14.1 glm/regression.py
    # OLSModel.fit: dispersion = np.sum(wresid**2, 0) / (wdesign.shape[0] -
    # wdesign.shape[1]) ('columns'). ``res.ssr`` is the same dot product as
    # ``res.scale``'s, so a full-rank design gives the same bits either way.
    """
    if df_scale == "rank":
        return res.scale
    return res.ssr / (res.nobs - res.model.exog.shape[1])


@_silencing_per_voxel_rank_warnings
def _ols_chunk(Y, X, df_scale="rank", resid_only=False):
    """OLS of every column of ``Y`` with statsmodels, one voxel at a time.

    ``resid_only``: the residuals alone (the AR fit's first pass), beta and sigma2 None.
    Each fit's values are read from its ``RegressionResults`` (``fit()._results``), not
    through the wrapper that ``fit()`` returns for pandas and summaries: the same
    arrays, without the wrapper's attribute lookups.
    """
    Y = _float64(Y)
    n, v = Y.shape
    beta = None if resid_only else np.empty((X.shape[1], v))
    sigma2 = None if resid_only else np.empty(v)
    resid = np.empty((n, v))
    for j in range(v):
        res = sm.OLS(Y[:, j], X).fit()._results
        resid[:, j] = res.resid
        if not resid_only:
            beta[:, j] = res.params
            sigma2[j] = residual_variance(res, df_scale)
    return beta, sigma2, resid


def _rho_argument(coef_row):
    """GLSAR's ``rho``: a float for AR(1) (as before AR(p)), else the coefficient vector."""
    return float(coef_row[0]) if coef_row.shape[0] == 1 else np.array(coef_row)


@_silencing_per_voxel_rank_warnings
def _ar1_chunk(Y, X, rho, scan0, keep_cov, cov_pinv="scipy", df_scale="rank"):
    """GLSAR with fixed AR coefficients for every column of ``Y``, one voxel at a time.

    ``rho`` has shape (n_voxels,) (AR(1)) or (n_voxels, p) (AR(p)). With ``keep_cov``
    each voxel's ``normalized_cov_params`` is returned too (used when the coefficients
    are not grouped, so every voxel has its own whitened design).
    """
    model_class = glsar_class(scan0)
    Y = _float64(Y)
    coef = np.asarray(rho, dtype=np.float64).reshape(Y.shape[1], -1)
    v = Y.shape[1]
    p = X.shape[1]
    beta = np.empty((p, v))
    sigma2 = np.empty(v)
    df = np.empty(v)
    cov = np.empty((v, p, p)) if keep_cov else None
    for j in range(v):
        res = model_class(Y[:, j], X, rho=_rho_argument(coef[j])).fit()._results  # as OLS's
        beta[:, j] = res.params
        sigma2[j] = residual_variance(res, df_scale)
        df[j] = res.df_resid
        if keep_cov:
            cov[j] = contrast_cov(res, cov_pinv)
    return beta, sigma2, df, cov


@_silencing_per_voxel_rank_warnings
def _iterative_chunk(Y, X, maxiter, cov_pinv="statsmodels", order=1, df_scale="rank"):
    """``sm.GLSAR(y, X, rho=order).iterative_fit(maxiter)`` for every column of ``Y``."""
    Y = _float64(Y)
    v = Y.shape[1]
    p = X.shape[1]
    beta = np.empty((p, v))
    sigma2 = np.empty(v)
    df = np.empty(v)
    rho = np.empty((v, order))
    cov = np.empty((v, p, p))
    for j in range(v):
        model = sm.GLSAR(Y[:, j], X, rho=order)
        res = model.iterative_fit(maxiter=maxiter)
        beta[:, j] = res.params
        sigma2[j] = residual_variance(res, df_scale)
        df[j] = res.df_resid
        rho[j] = model.rho
        cov[j] = contrast_cov(res, cov_pinv)
    return beta, sigma2, df, rho, cov


@_silencing_per_voxel_rank_warnings
def _spm_chunk(Y, X0, W, KWX, rows):
    """``sm.OLS(K W y, K W X).fit()`` for every column of ``Y``, one voxel at a time."""
    # SPM12 spm_spm.m line 620: KWY = spm_filter(xX.K, W*Y)
    KWY = spm_filter(X0, W @ _float64(Y))
    v = KWY.shape[1]
    beta = np.empty((KWX.shape[1], v))
    ResSS = np.empty(v)
    resid_rows = np.empty((len(rows), v))
    for j in range(v):
        res = sm.OLS(KWY[:, j], KWX).fit()
        beta[:, j] = res.params  # SPM12 spm_spm.m: beta = xX.pKX*KWY
        ResSS[j] = res.ssr  # SPM12 spm_spm.m line 630: ResSS = sum(res.^2)
        resid_rows[:, j] = res.resid[rows]  # SPM12 spm_spm.m line 638: res(iRes,:)
    return beta, ResSS, resid_rows


def _run_spm(Y, X, noise_model, whitening, covariance, drift_basis, df, cov_pinv, run_chunks):
    r"""SPM12's estimation, voxel by voxel with statsmodels (``ar_fit='spm_reml'``).

    For every voxel, ``sm.OLS(K W y, K W X).fit()``; then SPM's formulas, beside it:

    .. math::
        \mathrm{ResMS} = \mathrm{ResSS} / \mathrm{tr}(RV),\quad
        \mathrm{erdf} = \mathrm{tr}(RV)^2 / \mathrm{tr}(RVRV),\quad
        B = (KWX)^+\, K W V W^T K^T\, (KWX)^{+T}

    # SPM12 spm_spm.m lines 448-462 (design space, trRV, erdf, Bcov) and 620-638 (KWY,
    # ResSS, ResMS = ResSS/trRV); refglm.glm.engines.spm_design_space, spm_glm_fit
    """
    Y, X, W, V, X0 = check_spm_arguments(Y, X, whitening, covariance, drift_basis, df, cov_pinv)
    n = X.shape[0]
    KWX = spm_filter(X0, W @ X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingularMatrixWarning)
        design = sm.OLS(np.zeros(n), KWX).fit()
    space = spm_design_space(X, X0, W, V, df, cov_pinv, pinv_KWX=design.model.pinv_wexog)
    rows = spm_residual_rows(n)
    parts = run_chunks(_spm_chunk, X0, W, space.KWX, rows)
    beta = np.concatenate([q[0] for q in parts], axis=1)
    ResSS = np.concatenate([q[1] for q in parts])
    resid_rows = np.concatenate([q[2] for q in parts], axis=1)
    return spm_glm_fit(beta, ResSS, resid_rows, space, noise_model)


def _map_chunks(func, slices, n_jobs, backend, progress, *args_of_slice):
    """Run ``func`` on each chunk, in order, serially or through joblib.

    Workers are joblib's default (loky: fresh interpreters) or the ``backend`` given.
    Forked workers (joblib's ``"multiprocessing"`` backend) were tried: they start in
    0.15 s instead of 4-5 s, but 2 runs of 7 of ``refglm tutorial --n-jobs -1`` then
    waited forever on a worker that outlived the pool's shutdown (likely the CLI's
    SIGINT/SIGTERM handlers, inherited by the fork); a reference must not hang, so loky.
    """
    if n_jobs == 1 and backend is None:
        out = []
        for sl in slices:
            out.append(func(*[a(sl) for a in args_of_slice]))
            if progress is not None:
                progress(sl.stop - sl.start)
        return out
    # joblib >= 1.6 selects the Dask backend (and any registered one) through
    # parallel_config; Parallel(backend="dask") fails there.
    config = parallel_config(backend=backend) if backend is not None else nullcontext()
    out = []
    with config:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        for sl, res in zip(
            slices,
            parallel(delayed(func)(*[a(sl) for a in args_of_slice]) for sl in slices),
            strict=True,
        ):
            out.append(res)
            if progress is not None:
                progress(sl.stop - sl.start)
    return out


def run_glm(
    Y: np.ndarray,
    X: np.ndarray,
    noise_model: str = "ar1",
    *,
    ar_estimator: str | None = None,
    ar_binning: str | None = None,
    ar_bins: int = 100,
    whiten_scan0: str | None = None,
    ar_fit: str = "fixed",
    ar_maxiter: int = 3,
    cov_pinv: str = "scipy",
    df: str = "nobs_minus_rank",
    df_scale: str = "rank",
    ar_p_binning: str = "kmeans",
    random_state=None,
    whitening: np.ndarray | None = None,
    covariance: np.ndarray | None = None,
    drift_basis: np.ndarray | None = None,
    n_jobs: int = 1,
    chunk_size: int = 2048,
    backend: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> GLMFit:
    r"""Fit the first-level GLM to every voxel with statsmodels.

    .. math::
        Y_v = X\beta_v + \varepsilon_v, \quad
        \varepsilon_{t} = \sum_{i=1}^{p} \rho_{v,i} \varepsilon_{t-i} + \eta_t,\quad
        \hat\beta_v = (\tilde X^T \tilde X)^{+} \tilde X^T \tilde Y_v,\quad
        \hat\sigma^2_v = \lVert \tilde Y_v - \tilde X \hat\beta_v \rVert^2 / d

    with :math:`\tilde{\cdot}` the AR(p) whitening of ``noise.ar_whiten`` and
    :math:`d = n - \mathrm{rank}(\tilde X)` (``df_scale='rank'``) or :math:`n - p_X`, the
    design's columns (``'columns'``); the residual df is :math:`n - \mathrm{rank}` either way.
    # nistats first_level_model.py run_glm (OLS pass, rho, ARModel per bin); nilearn
    # 0.14.1 glm/first_level/first_level.py run_glm (AR(N): _yule_walker, KMeans)

    Parameters
    ----------
    Y : ndarray, shape (n_scans, n_voxels)
        Scaled data. float32 input is converted exactly to float64.
    X : ndarray, shape (n_scans, n_regressors)
        Design matrix.
    noise_model : {'ols', 'ar1', 'ar2', ...}
        ``'arN'``: an AR(N) model (``refglm.glm.engines.noise_order``).
    ar_estimator, ar_binning, ar_bins, whiten_scan0, ar_fit, ar_maxiter
        The convention's AR choices (see ``conventions.py``); ``None`` takes
        nistats' value for ``ar_fit='fixed'`` and the one ``'iterative'`` requires
        (:func:`resolve_ar_choices`). ``ar_fit='fixed'``
        whitens with the binned OLS-residual estimate; ``'iterative'`` calls
        statsmodels ``GLSAR.iterative_fit`` per voxel instead; ``'spm_reml'`` fits
        ``sm.OLS(K W y, K W X)`` per voxel with the given ``whitening`` (for both
        noise models: SPM's 'none' is :math:`V = I`). ``ar_bins`` is also the number of
        KMeans clusters of AR(p) models (nilearn's ``bins``).
    df : {'nobs_minus_rank', 'spm_effective'}
        The convention's ``df``; ``'spm_effective'`` (SPM12's ResMS, erdf and Bcov)
        requires ``ar_fit='spm_reml'``.
    df_scale : {'rank', 'columns'}
        The convention's ``df_scale`` (:func:`residual_variance`).
    ar_p_binning : {'kmeans', 'none', 'refuse'}
        The convention's grouping of AR(p) coefficient vectors, p >= 2
        (``noise.cluster_ar``); unused for AR(1), OLS and ``ar_fit='iterative'``.
    random_state : int, numpy.random.RandomState or None
        Seed of the KMeans of ``ar_p_binning='kmeans'`` (nilearn's ``random_state``).
    whitening, covariance : ndarray (n_scans, n_scans) or None
        ``ar_fit='spm_reml'``: SPM's :math:`W` and :math:`V` (``refglm.glm.noise``).
    drift_basis : ndarray (n_scans, k) or None
        ``ar_fit='spm_reml'``: the drift basis :math:`X_0` that SPM's filter :math:`K`
        removes from data and design (``refglm.glm.filtering.spm_drift_basis``).
    n_jobs : int
        joblib workers over voxel chunks; results do not depend on it.
    chunk_size : int
        Voxels per chunk; results do not depend on it.
    backend : str or None
        joblib backend (``'dask'`` inside ``joblib.parallel_config``).
    progress : callable or None
        Called with the number of voxels finished after each chunk (per pass).

    Returns
    -------
    GLMFit
    """
    ar_estimator, ar_binning, whiten_scan0 = resolve_ar_choices(
        ar_fit, ar_estimator, ar_binning, whiten_scan0
    )
    Y, X = check_glm_arguments(
        Y,
        X,
        noise_model,
        ar_fit,
        whiten_scan0,
        ar_estimator,
        ar_binning,
        cov_pinv,
        df,
        df_scale,
        ar_p_binning,
    )
    order = noise_order(noise_model)
    if ar_fit == "spm_reml":
        slices = chunks(Y.shape[1], max(1, int(chunk_size)))

        def run_chunks(func, X0, W, KWX, rows):
            return _map_chunks(
                func,
                slices,
                n_jobs,
                backend,
                progress,
                lambda sl: Y[:, sl],
                lambda sl: X0,
                lambda sl: W,
                lambda sl: KWX,
                lambda sl: rows,
            )

        return _run_spm(
            Y, X, noise_model, whitening, covariance, drift_basis, df, cov_pinv, run_chunks
        )
    n, v = Y.shape
    p = X.shape[1]
    rank = int(np.linalg.matrix_rank(X))
    if rank < p:
        # statsmodels' SingularMatrixWarning, raised at every voxel's fit, once
        warnings.warn(
            f"X: rank {rank} < {p} columns; statsmodels fits every voxel with the "
            "pseudo-inverse, and only estimable contrasts can be computed.",
            SingularMatrixWarning,
            stacklevel=2,
        )
    slices = chunks(v, max(1, int(chunk_size)))

    def y_of(sl):
        return Y[:, sl]  # converted to float64 by the chunk function, in the worker

    def x_of(sl):
        return X

    if order >= 1 and ar_fit == "iterative":
        parts = _map_chunks(
            _iterative_chunk,
            slices,
            n_jobs,
            backend,
            progress,
            y_of,
            x_of,
            lambda sl: ar_maxiter,
            lambda sl: cov_pinv,
            lambda sl: order,
            lambda sl: df_scale,
        )
        beta = np.concatenate([q[0] for q in parts], axis=1)
        sigma2 = np.concatenate([q[1] for q in parts])
        df = np.concatenate([q[2] for q in parts])
        coef = np.concatenate([q[3] for q in parts])
        cov = np.concatenate([q[4] for q in parts])
        extra = {} if order == 1 else dict(ar_coef=coef, ar_coef_raw=coef)
        return GLMFit(
            beta,
            sigma2,
            df,
            coef[:, 0],
            coef[:, 0],
            np.arange(v),
            cov,
            noise_model,
            whiten_scan0=whiten_scan0,
            **extra,
        )

    parts = _map_chunks(
        _ols_chunk,
        slices,
        n_jobs,
        backend,
        progress,
        y_of,
        x_of,
        lambda sl: df_scale,
        lambda sl: order != 0,  # an AR fit keeps the OLS residuals only
    )
    resid = np.concatenate([q[2] for q in parts], axis=1)
    if order == 0:
        beta = np.concatenate([q[0] for q in parts], axis=1)
        sigma2 = np.concatenate([q[1] for q in parts])
    del parts

    if order == 0:
        with warnings.catch_warnings():  # reported once, above
            warnings.simplefilter("ignore", SingularMatrixWarning)
            ols = sm.OLS(np.zeros(n), X).fit()
        return GLMFit(
            beta,
            sigma2,
            np.full(v, float(ols.df_resid)),
            np.full(v, np.nan),
            np.zeros(v),
            np.zeros(v, dtype=int),
            contrast_cov(ols, cov_pinv)[None],
            noise_model,
        )

    model_names = None
    if order == 1:
        rho_raw = estimate_rho(resid, ar_estimator)
        del resid
        rho = bin_rho(rho_raw, ar_bins, ar_binning)
        coef = rho[:, None]
        # Unbinned rho gives every voxel its own whitened design: keep each fit's
        # covariance instead of refitting one model per distinct rho below.
        per_voxel_cov = ar_binning == "none"
    else:
        coef_raw = estimate_ar(resid, order, ar_estimator)
        del resid
        if ar_p_binning == "kmeans":
            models, model_labels, model_names = cluster_ar(coef_raw, ar_bins, random_state)
            coef = models[model_labels]
        else:  # 'none': statsmodels' GLSAR, every voxel its own coefficients
            coef = coef_raw
        per_voxel_cov = ar_p_binning == "none"
    parts = _map_chunks(
        _ar1_chunk,
        slices,
        n_jobs,
        backend,
        progress,
        y_of,
        x_of,
        lambda sl: coef[sl],
        lambda sl: whiten_scan0,
        lambda sl: per_voxel_cov,
        lambda sl: cov_pinv,
        lambda sl: df_scale,
    )
    beta = np.concatenate([q[0] for q in parts], axis=1)
    sigma2 = np.concatenate([q[1] for q in parts])
    df = np.concatenate([q[2] for q in parts])
    extra = {"whiten_scan0": whiten_scan0}
    if order >= 2:
        extra.update(ar_coef=coef, ar_coef_raw=coef_raw)
        rho, rho_raw = coef[:, 0], coef_raw[:, 0]
    if per_voxel_cov:
        cov = np.concatenate([q[3] for q in parts])
        return GLMFit(beta, sigma2, df, rho_raw, rho, np.arange(v), cov, noise_model, **extra)
    if order == 1:  # np.unique of the values (-0.0 == 0.0), not of their rows' bytes
        values, labels = np.unique(rho, return_inverse=True)
        values = values[:, None]
    elif model_names is not None:  # KMeans models, in the order of their names
        values, labels = models, model_labels
    else:
        values, labels = np.unique(coef, axis=0, return_inverse=True)
    model_class = glsar_class(whiten_scan0)
    cov = np.empty((len(values), p, p))
    with warnings.catch_warnings():  # reported once, below
        warnings.simplefilter("ignore", SingularMatrixWarning)
        for k, value in enumerate(values):
            model = model_class(np.zeros(n), X, rho=_rho_argument(value))
            if cov_pinv == "statsmodels":  # statsmodels' normalized_cov_params, of a fit
                cov[k] = contrast_cov(model.fit(), cov_pinv)
            else:  # contrast_cov reads the whitened design only: no fit needed
                cov[k] = pinv_cov(np.asarray(model.wexog), cov_pinv)
    return GLMFit(
        beta,
        sigma2,
        df,
        rho_raw,
        rho,
        labels.ravel(),
        cov,
        noise_model,
        model_names=model_names,
        **extra,
    )
