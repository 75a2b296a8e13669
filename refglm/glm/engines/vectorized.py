"""The vectorized fit: the reference's mathematics in batched numpy.

``run_glm_vectorized`` takes and returns exactly what the reference engine's
``refglm.glm.engines.statsmodels.run_glm`` does (``Y`` (n_scans, n_voxels), ``X``
(n_scans, n_regressors), a ``GLMFit``) and computes the same quantities with the same
formulas, many voxels at a time:

1. OLS: one pseudo-inverse of ``X`` for all voxels,
   :math:`\\hat\\beta = X^+ Y`, residuals :math:`r = Y - X\\hat\\beta`;
2. rho: ``noise.estimate_rho`` on the full residual matrix, then ``noise.bin_rho``
   (AR(p): ``noise.estimate_ar``, then ``noise.cluster_ar`` or none);
3. GLS: one whitened design per distinct rho (``noise.ar1_whiten``, ``noise.ar_whiten``),
   its pseudo-inverse, and :math:`\\hat\\beta_v = \\tilde X_k^+ \\tilde y_v` for every
   voxel ``v`` of model ``k`` at once.

Every pseudo-inverse, rank and scale is the one statsmodels' ``RegressionModel.fit``
computes (``pinv_extended``, ``matrix_rank(diag(s))``, ``ssr / (nobs - rank)``), so
the two engines agree to rounding; ``tests/glm/engines/test_vectorized.py`` checks them
against each other.

The products are small (p x n by n x chunk), so BLAS runs them on ``n_jobs``
threads (1 by default, through ``threadpoolctl``): on a busy
machine, OpenBLAS threads that wait for a core cost more than they save
(measured in ``docs/performance.md``). ``backend`` is accepted for the common
signature and not used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from refglm.glm.engines._common import (
    GLMFit,
    blas_threads,
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
    yule_walker_voxel,
    yule_walker_voxel_ar1,
)

__all__ = ["run_glm_vectorized", "ITERATIVE_RTOL"]


# statsmodels linear_model.py GLSAR.iterative_fit(maxiter=3, rtol=1e-4): fit.run_glm
# calls it with the default rtol.
ITERATIVE_RTOL = 1e-4

# statsmodels tools/tools.py pinv_extended(x, rcond=1e-15)
PINV_RCOND = 1e-15

# _gls solves model by model when its models average at least this many voxels
# (binned rho), else voxel batches with one model each (unbinned rho). Speed only.
# Read at each call: tests/glm/engines/test_vectorized.py patches it (0, 10**9) to run every
# choice through both strategies, since small hypothesis examples only reach the second.
MIN_VOXELS_PER_MODEL = 16


def _pinv_stack(whitened_X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""statsmodels' pseudo-inverse and rank of each design of a stack.

    With :math:`\tilde X_k = U_k S_k V_k^T` (thin SVD),

    .. math::
        \tilde X_k^+ = V_k S_k^+ U_k^T, \quad
        (S_k^+)_{ii} = 1/s_i \text{ if } s_i > 10^{-15} \max_j s_j \text{ else } 0,

    and rank :math:`= \#\{i : s_i > \max_j s_j \cdot p \cdot \epsilon\}`.
    # statsmodels tools/tools.py pinv_extended (rcond=1e-15) and
    # regression/linear_model.py RegressionModel.fit: rank = matrix_rank(diag(s))

    Parameters
    ----------
    whitened_X : ndarray, shape (k, n_obs, p)

    Returns
    -------
    pinv : ndarray, shape (k, p, n_obs)
    rank : ndarray of int, shape (k,)
    """
    u, s, vt = np.linalg.svd(whitened_X, full_matrices=False)
    cutoff = PINV_RCOND * s.max(axis=-1, keepdims=True)
    s_inv = np.divide(1.0, s, out=np.zeros_like(s), where=s > cutoff)
    pinv = np.swapaxes(vt, -1, -2) @ (s_inv[..., None] * np.swapaxes(u, -1, -2))
    p = whitened_X.shape[-1]
    rank = np.linalg.matrix_rank(s[..., None] * np.eye(p))
    return pinv, np.atleast_1d(rank)


def _whitened_designs(X: np.ndarray, rho: np.ndarray, scan0: str) -> np.ndarray:
    r"""The AR-whitened design for each value of ``rho``.

    .. math:: (\tilde X_k)_t = X_t - \sum_{i=1}^{q} \rho_{k,i} X_{t-i}

    with the first scans as ``scan0`` says (``noise.ar1_whiten`` for ``rho`` of shape
    (k,), AR(1); ``noise.ar_whiten`` for shape (k, q), AR(q)), applied to ``X`` repeated
    along a last axis so that the coefficients broadcast over it.

    Returns
    -------
    whitened_X : ndarray, shape (k, n_obs, p); n_obs = n - q for ``'drop'``, else n
    """
    stacked = np.repeat(X[:, :, None], len(rho), axis=2)  # (n, p, k)
    if rho.ndim == 1:
        return np.moveaxis(ar1_whiten(stacked, rho, scan0), 2, 0)
    return np.moveaxis(ar_whiten(stacked, rho.T, scan0), 2, 0)


def _whiten_columns(y: np.ndarray, coef, scan0: str) -> np.ndarray:
    """``y`` (n, c) whitened with one model's coefficients: a float (AR(1)) or (q,)."""
    if np.ndim(coef) == 0:
        return ar1_whiten(y, coef, scan0)
    return ar_whiten(y, coef, scan0)


def _whiten_each_column(y: np.ndarray, coef: np.ndarray, scan0: str) -> np.ndarray:
    """``y`` (n, c) whitened column by column: ``coef`` (c,) (AR(1)) or (c, q)."""
    if coef.ndim == 1:
        return ar1_whiten(y, coef, scan0)
    return ar_whiten(y, coef.T, scan0)


def _denominators(n_obs: int, rank: np.ndarray, p: int, df_scale: str):
    """Residual df ``n_obs - rank`` and the variance's denominator (``df_scale``)."""
    df = (n_obs - rank).astype(np.float64)
    if df_scale == "rank":
        return df, df
    return df, np.full(df.shape, float(n_obs - p))


def _by_voxel(Y: np.ndarray) -> np.ndarray:
    """``Y.T`` as float64 in C order, one row per voxel (exact for float32 input)."""
    return np.ascontiguousarray(Y.T, dtype=np.float64)


def _ols(Y, X, chunk_size, progress, df_scale="rank"):
    r"""OLS of every column of ``Y``, one pseudo-inverse for all.

    .. math::
        \hat\beta = X^+ Y, \quad r = Y - X\hat\beta, \quad
        \hat\sigma^2_v = \lVert r_v \rVert^2 / d

    with :math:`d = n - \mathrm{rank}(X)`, or :math:`n - p` under ``df_scale='columns'``.
    # statsmodels OLS.fit (method='pinv'): params = pinv_wexog @ wendog, scale = ssr / df_resid

    Returns
    -------
    beta : (p, v); sigma2 : (v,); resid : (n, v); df : float (n - rank); cov : (p, p)
    """
    n, v = Y.shape
    pinv, rank = _pinv_stack(X[None])
    pinv_X = pinv[0]
    ols_df, denominator = _denominators(n, rank, X.shape[1], df_scale)
    df, denominator = float(ols_df[0]), float(denominator[0])
    beta = np.empty((X.shape[1], v))
    sigma2 = np.empty(v)
    resid = np.empty((n, v))
    for sl in chunks(v, chunk_size):
        y = np.asarray(Y[:, sl], dtype=np.float64)
        beta[:, sl] = pinv_X @ y
        resid[:, sl] = y - X @ beta[:, sl]
        sigma2[sl] = np.einsum("tv,tv->v", resid[:, sl], resid[:, sl]) / denominator
        if progress is not None:
            progress(sl.stop - sl.start)
    return beta, sigma2, resid, df, pinv_X @ pinv_X.T


def _pinv_cov(X, rho_values, scan0, chunk_size, cov_pinv):
    """``refglm.glm.engines.pinv_cov`` of each model's whitened design, shape (k, p, p)."""
    p = X.shape[1]
    cov = np.empty((len(rho_values), p, p))
    for models in chunks(len(rho_values), chunk_size):
        whitened = _whitened_designs(X, rho_values[models], scan0)
        for k, whitened_X in zip(range(models.start, models.stop), whitened, strict=True):
            cov[k] = pinv_cov(whitened_X, cov_pinv)
    return cov


def _spm(Y, X, noise_model, whitening, covariance, drift_basis, df, cov_pinv, chunk_size, progress):
    r"""SPM12's estimation for all voxels at once (``ar_fit='spm_reml'``).

    One pseudo-inverse of :math:`\tilde X = KWX` (statsmodels' ``pinv_extended``, as
    the reference's ``sm.OLS``) for every voxel:

    .. math::
        \hat\beta = \tilde X^+ K W Y,\quad r = KWY - \tilde X\hat\beta,\quad
        \mathrm{ResSS}_v = \lVert r_v \rVert^2

    then SPM's formulas (:func:`refglm.glm.engines.spm_design_space`,
    :func:`refglm.glm.engines.spm_glm_fit`), as the reference engine.
    # SPM12 spm_spm.m lines 620-638; refglm.glm.engines.statsmodels._run_spm
    """
    Y, X, W, V, X0 = check_spm_arguments(Y, X, whitening, covariance, drift_basis, df, cov_pinv)
    n, v = Y.shape
    KWX = spm_filter(X0, W @ X)
    pinv, _ = _pinv_stack(KWX[None])
    space = spm_design_space(X, X0, W, V, df, cov_pinv, pinv_KWX=pinv[0])
    rows = spm_residual_rows(n)
    beta = np.empty((X.shape[1], v))
    ResSS = np.empty(v)
    resid_rows = np.empty((len(rows), v))
    for sl in chunks(v, chunk_size):
        KWY = spm_filter(X0, W @ np.asarray(Y[:, sl], dtype=np.float64))
        beta[:, sl] = pinv[0] @ KWY
        resid = KWY - space.KWX @ beta[:, sl]
        ResSS[sl] = np.einsum("tv,tv->v", resid, resid)
        resid_rows[:, sl] = resid[rows]
        if progress is not None:
            progress(sl.stop - sl.start)
    return spm_glm_fit(beta, ResSS, resid_rows, space, noise_model)


def _gls(YT, X, rho_values, labels, scan0, chunk_size, progress=None, voxels=None, df_scale="rank"):
    r"""GLS with fixed AR coefficients per model, for every voxel of every model.

    For model k (whitening coefficients ``rho_values[k]``) and each voxel v with
    ``labels[v] == k``:

    .. math::
        \hat\beta_v = \tilde X_k^+ \tilde y_v, \quad
        \hat\sigma^2_v = \lVert \tilde y_v - \tilde X_k \hat\beta_v \rVert^2 / d_k,
        \quad V_k = \tilde X_k^+ (\tilde X_k^+)^T

    with :math:`d_k = n_{obs} - \mathrm{rank}(\tilde X_k)` (``df_scale='rank'``) or
    :math:`n_{obs} - p` (``'columns'``), :math:`n_{obs}` the whitened length (n, or
    n - q when the first q scans are dropped).
    # statsmodels GLSAR(y, X, rho).fit(): RegressionModel.fit on (wendog, wexog),
    # normalized_cov_params = pinv_wexog @ pinv_wexog.T, df_resid = nobs - rank

    Models are processed ``chunk_size`` at a time. When the models of a chunk
    have many voxels each (binned rho), each model solves its voxels with one
    matrix product per ``chunk_size`` voxels; otherwise (every voxel its own rho:
    ``ar_binning='none'``, the iterative fit) ``chunk_size`` voxels at a time are
    solved in one batched product, each with its own model's pseudo-inverse.
    The two strategies compute the same formulas.

    Parameters
    ----------
    YT : ndarray, shape (n_voxels_total, n)
        The data, one row per voxel (float64, C order: a voxel's series is contiguous,
        so gathering the voxels of one model reads whole rows).
    rho_values : ndarray, shape (k,) (AR(1)) or (k, q) (AR(q))
    labels : ndarray of int, shape (v,)
        Model of each fitted voxel.
    voxels : ndarray of int, shape (v,), or None
        Rows of ``YT`` that are fitted (None: all).

    Returns
    -------
    beta : (p, v); sigma2 : (v,); df : (v,); cov : (k, p, p)
    """
    voxels = np.arange(YT.shape[0]) if voxels is None else voxels
    v = len(voxels)
    p = X.shape[1]
    beta = np.empty((p, v))
    sigma2 = np.empty(v)
    df = np.empty(v)
    cov = np.empty((len(rho_values), p, p))
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(rho_values) + 1))
    for models in chunks(len(rho_values), chunk_size):
        whitened_X = _whitened_designs(X, rho_values[models], scan0)
        pinv, rank = _pinv_stack(whitened_X)
        cov[models] = pinv @ np.swapaxes(pinv, -1, -2)
        model_df, model_den = _denominators(whitened_X.shape[1], rank, p, df_scale)
        n_members = bounds[models.stop] - bounds[models.start]
        if n_members >= MIN_VOXELS_PER_MODEL * (models.stop - models.start):
            for k in range(models.start, models.stop):
                members = order[bounds[k] : bounds[k + 1]]
                local = k - models.start
                for sl in chunks(len(members), chunk_size):
                    idx = members[sl]
                    # (n_obs, c)
                    whitened_y = _whiten_columns(YT[voxels[idx]].T, rho_values[k], scan0)
                    b = pinv[local] @ whitened_y  # (p, c)
                    wresid = whitened_y - whitened_X[local] @ b
                    beta[:, idx] = b
                    sigma2[idx] = np.einsum("tc,tc->c", wresid, wresid) / model_den[local]
                    df[idx] = model_df[local]
                    if progress is not None:
                        progress(len(idx))
            continue
        members = order[bounds[models.start] : bounds[models.stop]]
        for sl in chunks(len(members), chunk_size):
            idx = members[sl]
            local = labels[idx] - models.start
            whitened_y = _whiten_each_column(
                YT[voxels[idx]].T, rho_values[labels[idx]], scan0
            ).T  # (c, n_obs)
            b = (pinv[local] @ whitened_y[:, :, None])[:, :, 0]  # (c, p)
            wresid = whitened_y - (whitened_X[local] @ b[:, :, None])[:, :, 0]
            beta[:, idx] = b.T
            sigma2[idx] = np.einsum("ct,ct->c", wresid, wresid) / model_den[local]
            df[idx] = model_df[local]
            if progress is not None:
                progress(len(idx))
    return beta, sigma2, df, cov


def _iterative(YT, X, maxiter, chunk_size, progress, order=1, df_scale="rank"):
    r"""``sm.GLSAR(y, X, rho=order).iterative_fit(maxiter)`` for all voxels at once.

    A fixed-point iteration per voxel, starting at :math:`\rho_v = 0`:

    .. math::
        \hat\beta_v^{(i)} = \mathrm{GLS}(y_v, X; \rho_v^{(i)}), \quad
        \rho_v^{(i+1)} = \mathrm{YW}_q(y_v - X\hat\beta_v^{(i)}),

    for ``i`` in ``0 .. maxiter - 2``, with the first q = ``order`` scans dropped
    (statsmodels' ``GLSAR.whiten``; ``noise.yule_walker_voxel`` for q >= 2).
    From ``i = 1`` on, voxel v stops (rho frozen, no update) as soon as
    :math:`\max_j |\beta^{(i-1)}_{jv} - \beta^{(i)}_{jv}| / |\beta^{(i-1)}_{jv}| < 10^{-4}`.
    A last GLS with each voxel's final rho gives the results.
    # statsmodels regression/linear_model.py GLSAR.iterative_fit(maxiter, rtol=1e-4):
    # loop range(maxiter - 1), convergence test on params, yule_walker(resid,
    # order=1, df=None) (method='adjusted', demean=True), then one more fit.

    Returns
    -------
    beta : (p, v); sigma2 : (v,); df : (v,); rho : (v,) or (v, q); cov : (v, p, p)
    """
    v = YT.shape[0]
    rho = np.zeros(v) if order == 1 else np.zeros((v, order))
    axis = None if order == 1 else 0
    active = np.arange(v)
    last = None
    for i in range(maxiter - 1):
        # voxels sharing a rho (all of them at i = 0) share one whitened design
        values, labels = np.unique(rho[active], return_inverse=True, axis=axis)
        beta, _, _, _ = _gls(YT, X, values, labels.ravel(), "drop", chunk_size, voxels=active)
        if i > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                diff = np.max(np.abs(last - beta) / np.abs(last), axis=0)
            still = ~(diff < ITERATIVE_RTOL)
            active, beta = active[still], beta[:, still]
        last = beta
        if len(active) == 0:
            break
        resid = YT[active].T - X @ beta
        if order == 1:
            rho[active] = yule_walker_voxel_ar1(resid)
        else:
            rho[active] = yule_walker_voxel(resid, order)
    values, labels = np.unique(rho, return_inverse=True, axis=axis)
    beta, sigma2, df, cov = _gls(
        YT, X, values, labels.ravel(), "drop", chunk_size, progress, df_scale=df_scale
    )
    return beta, sigma2, df, rho, cov[labels.ravel()]


def run_glm_vectorized(
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
    r"""Fit the first-level GLM to all voxels at once; equal to the reference ``run_glm``.

    .. math::
        Y_v = X\beta_v + \varepsilon_v, \quad
        \varepsilon_{t} = \rho_v \varepsilon_{t-1} + \eta_t,\quad
        \hat\beta_v = \tilde X_{k(v)}^{+} \tilde Y_v,\quad
        \hat\sigma^2_v = \lVert \tilde Y_v - \tilde X_{k(v)} \hat\beta_v \rVert^2
        / (n_{obs} - \mathrm{rank}(\tilde X_{k(v)}))

    with :math:`k(v)` the model (binned rho) of voxel v and :math:`\tilde{\cdot}`
    the whitening of ``noise.ar1_whiten``.
    # nistats first_level_model.py run_glm (one OLS, rho, one ARModel per bin);
    # the per-voxel statsmodels semantics of refglm.glm.engines.statsmodels.run_glm.

    Parameters
    ----------
    Y : ndarray, shape (n_scans, n_voxels)
        Scaled data. float32 input is converted exactly to float64 (a chunk at a time
        for the OLS pass; once, one row per voxel, for the whitened pass).
    X : ndarray, shape (n_scans, n_regressors)
    noise_model : {'ols', 'ar1', 'ar2', ...}
    ar_estimator, ar_binning, ar_bins, whiten_scan0, ar_fit, ar_maxiter
        As the reference ``run_glm``. ``ar_fit='iterative'`` reproduces statsmodels'
        ``GLSAR(y, X, rho=q).iterative_fit(ar_maxiter)`` per voxel (the first q scans
        dropped, no binning, ``ar_estimator`` unused), as the reference does.
        ``ar_fit='spm_reml'`` is SPM12's estimation on :math:`KWY` and :math:`KWX`
        (:func:`_spm`), as the reference's.
    df, df_scale, ar_p_binning, random_state, whitening, covariance, drift_basis
        As the reference ``run_glm``.
    n_jobs : int
        BLAS threads for the batched products (with ``threadpoolctl``); -1: all cores.
    backend
        Accepted for the common signature; unused.
    chunk_size : int
        Voxels (and whitened designs) per batch; it bounds the working memory beyond
        one float64 copy of the data at a time (the residuals, then the voxel-major
        data), not the results.
    progress : callable or None
        Called with the number of voxels finished after each batch (per pass).

    Returns
    -------
    GLMFit
    """
    del backend  # the signature of fit.run_glm
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
    v = Y.shape[1]
    chunk_size = max(1, int(chunk_size))
    with blas_threads(n_jobs):
        if ar_fit == "spm_reml":
            return _spm(
                Y,
                X,
                noise_model,
                whitening,
                covariance,
                drift_basis,
                df,
                cov_pinv,
                chunk_size,
                progress,
            )
        if order >= 1 and ar_fit == "iterative":
            beta, sigma2, df, rho, cov = _iterative(
                _by_voxel(Y), X, ar_maxiter, chunk_size, progress, order, df_scale
            )
            if cov_pinv != "statsmodels":
                cov = _pinv_cov(X, rho, "drop", chunk_size, cov_pinv)
            if order == 1:
                return GLMFit(
                    beta,
                    sigma2,
                    df,
                    rho,
                    rho,
                    np.arange(v),
                    cov,
                    noise_model,
                    whiten_scan0="drop",
                )
            return GLMFit(
                beta,
                sigma2,
                df,
                rho[:, 0],
                rho[:, 0],
                np.arange(v),
                cov,
                noise_model,
                ar_coef=rho,
                ar_coef_raw=rho,
                whiten_scan0="drop",
            )

        beta, sigma2, resid, ols_df, ols_cov = _ols(Y, X, chunk_size, progress, df_scale)
        if order == 0:
            return GLMFit(
                beta,
                sigma2,
                np.full(v, ols_df),
                np.full(v, np.nan),
                np.zeros(v),
                np.zeros(v, dtype=int),
                ols_cov[None] if cov_pinv == "statsmodels" else pinv_cov(X, cov_pinv)[None],
                noise_model,
            )
        del beta, sigma2
        extra = {"whiten_scan0": whiten_scan0}
        if order == 1:
            rho_raw = estimate_rho(resid, ar_estimator)
            del resid
            rho = bin_rho(rho_raw, ar_bins, ar_binning)
            values, labels = np.unique(rho, return_inverse=True)
        else:
            coef_raw = estimate_ar(resid, order, ar_estimator)
            del resid
            if ar_p_binning == "kmeans":
                values, labels, extra["model_names"] = cluster_ar(coef_raw, ar_bins, random_state)
                coef = values[labels]
            else:  # 'none': every voxel its own coefficients (statsmodels' GLSAR)
                coef = coef_raw
                values, labels = np.unique(coef, return_inverse=True, axis=0)
            rho_raw, rho = coef_raw[:, 0], coef[:, 0]
            extra.update(ar_coef=coef, ar_coef_raw=coef_raw)
        labels = labels.ravel()
        YT = _by_voxel(Y)
        beta, sigma2, df, cov = _gls(
            YT, X, values, labels, whiten_scan0, chunk_size, progress, df_scale=df_scale
        )
        if cov_pinv != "statsmodels":
            cov = _pinv_cov(X, values, whiten_scan0, chunk_size, cov_pinv)
        return GLMFit(beta, sigma2, df, rho_raw, rho, labels, cov, noise_model, **extra)
