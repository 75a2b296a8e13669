"""What both engines share: the result type, the argument checks, the choices they accept.

Arrays in, arrays out. The two engines (:mod:`.statsmodels`, the reference, and
:mod:`.vectorized`) take the same arguments, validated here once
(:func:`check_glm_arguments`), cut the voxels into the same chunks
(:func:`chunks`), and return a :class:`GLMFit`. The accepted values of the fit's
convention choices live here (``AR_FITS``, ``COV_PINVS``, ``DF_RULES``), and
``refglm.conventions`` builds its table from them.

numpy is the only third-party import at module level, so that the table of
conventions (and ``refglm --help``) loads without scipy or statsmodels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refglm.exceptions import InputError
from refglm.glm.filtering import spm_filter
from refglm.glm.noise import AR_P_BINNINGS, WHITEN_SCAN0
from refglm.glm.spm_linalg import SpmSpace, matlab_round

__all__ = [
    "GLMFit",
    "NOISE_MODELS",
    "AR_FITS",
    "COV_PINVS",
    "DF_RULES",
    "DF_SCALES",
    "noise_order",
    "ITERATIVE_REQUIRES",
    "EFFECTIVE_DF_REQUIRES",
    "FIXED_DEFAULTS",
    "check_noise_model",
    "check_glm_arguments",
    "resolve_ar_choices",
    "chunks",
    "scipy_pinv_cov",
    "pinv_cov",
    "fit_passes",
    "SpmDesignSpace",
    "spm_design_space",
    "spm_trRV",
    "spm_residual_rows",
    "check_spm_arguments",
    "spm_glm_fit",
    "SPM_MAX_RESIDUALS",
]

#: The named noise models (the CLI's choices). ``FirstLevelModel`` and both engines also
#: take any ``'arN'``, N >= 1, an AR(N) model as nilearn's ``noise_model`` (:func:`noise_order`).
NOISE_MODELS = ("ar1", "ols")
#: ``ar_fit``: whiten once with the binned OLS-residual rho (nistats), run
#: statsmodels' ``GLSAR.iterative_fit`` per voxel, or whiten every voxel with one
#: matrix :math:`W = V^{-1/2}` from SPM12's global ReML (``refglm.glm.noise.spm_reml``),
#: filtering data and design with SPM's high-pass filter, :math:`KWY` and :math:`KWX`.
AR_FITS = ("fixed", "iterative", "spm_reml")
#: ``cov_pinv``: whose pseudo-inverse gives the contrast covariance (:func:`pinv_cov`):
#: scipy's, statsmodels' own, or SPM12's (``spm_sp('x-')``).
COV_PINVS = ("scipy", "statsmodels", "spm")
#: ``df``: the residual degrees of freedom and variance: statsmodels'
#: ``df_resid = nobs - rank`` and ``scale = ssr / df_resid``; or SPM12's effective df
#: ``erdf = trRV^2 / trRVRV`` with ``ResMS = ResSS / trRV`` and the contrast covariance
#: ``Bcov`` that carries :math:`V` (:func:`spm_design_space`; requires ``ar_fit='spm_reml'``).
DF_RULES = ("nobs_minus_rank", "spm_effective")
#: ``df_scale``: what the residual sum of squares is divided by to give the variance
#: :math:`\hat\sigma^2` (the t and F denominators), when ``df='nobs_minus_rank'``:
#: ``'rank'``, :math:`n - \mathrm{rank}(\tilde X)` (statsmodels' ``scale``, the residual
#: df); ``'columns'``, :math:`n - p` with p the design's columns (nistats' and
#: nilearn's ``dispersion``, ``wresid**2 / (n - X~.shape[1])``). The two differ only for
#: a rank-deficient design; the df of the t and F tests stay :math:`n - \mathrm{rank}`.
DF_SCALES = ("rank", "columns")

#: SPM12 spm_defaults.m stats.maxres = 64: the standardised residuals kept for the
#: smoothness estimate (spm_spm.m: iRes = round(linspace(1, nScan, min(nScan, 64)))).
SPM_MAX_RESIDUALS = 64

#: What ``ar_fit='iterative'`` requires: statsmodels 0.14
#: ``regression/linear_model.py GLSAR.iterative_fit`` re-estimates rho with
#: ``yule_walker(resid, order=1, method='adjusted', demean=True)`` (each voxel
#: demeaned), uses it unbinned, and ``GLSAR.whiten`` returns ``_x[self.order:]``.
ITERATIVE_REQUIRES: dict[str, str] = {
    "ar_estimator": "yule_walker_voxel",
    "ar_binning": "none",
    "whiten_scan0": "drop",
}

#: What ``df='spm_effective'`` requires: SPM12's effective df, ResMS and Bcov need the
#: one serial correlation matrix V of its global ReML (spm_spm.m lines 453-462).
EFFECTIVE_DF_REQUIRES: dict[str, str] = {"ar_fit": "spm_reml"}

#: The defaults of the arrays-in engines for ``ar_fit='fixed'``: nistats' choices
#: (``tests/test_conventions.py`` checks they are the ``'nistats'`` row's).
FIXED_DEFAULTS: dict[str, str] = {
    "ar_estimator": "lag1_ratio",
    "ar_binning": "truncate",
    "whiten_scan0": "keep",
}


@dataclass
class GLMFit:
    """Per-voxel results of the first-level fit.

    Attributes
    ----------
    beta : ndarray, shape (n_regressors, n_voxels)
        Whitened least-squares estimates.
    sigma2 : ndarray, shape (n_voxels,)
        Residual variance, SSR / df (statsmodels ``scale``).
    df_resid : ndarray, shape (n_voxels,)
        Residual degrees of freedom of each voxel's model.
    rho_raw : ndarray, shape (n_voxels,)
        AR(1) estimate before binning (NaN for OLS).
    rho : ndarray, shape (n_voxels,)
        AR(1) coefficient used for whitening (0 for OLS); for AR(p), the first
        coefficient (``ar_coef[:, 0]``).
    labels : ndarray of int, shape (n_voxels,)
        Index into ``cov_unscaled`` of each voxel's model.
    cov_unscaled : ndarray, shape (n_models, n_regressors, n_regressors)
        :math:`(\\tilde X^T \\tilde X)^+` of each distinct whitened design
        (statsmodels ``normalized_cov_params``).
    noise_model : str
    design_space : SpmDesignSpace or None
        ``ar_fit='spm_reml'`` only: the whitened, filtered design and SPM12's
        quantities of the whole volume (:func:`spm_design_space`).
    std_resid : ndarray of shape (min(n, 64), n_voxels), or None
        ``ar_fit='spm_reml'`` only: SPM12's standardised residuals ``ResI`` at the
        scans :func:`spm_residual_rows`, from which the smoothness is estimated.
    ar_coef : ndarray of shape (n_voxels, p), or None
        AR(p) models with p >= 2: the coefficients each voxel was whitened with
        (``ar_coef_raw`` the estimates before grouping); None for AR(1) and OLS, whose
        coefficient is ``rho`` (:attr:`whitening_coef` gives both as (n_voxels, p)).
    model_names : ndarray of str, shape (n_models,), or None
        nilearn's label of each model under ``ar_p_binning='kmeans'``.
    whiten_scan0 : str or None
        How the first p scans were whitened (``'keep'``, ``'drop'``,
        ``'prais_winsten'``), or None for OLS and SPM's fit.
    """

    beta: np.ndarray
    sigma2: np.ndarray
    df_resid: np.ndarray
    rho_raw: np.ndarray
    rho: np.ndarray
    labels: np.ndarray
    cov_unscaled: np.ndarray
    noise_model: str
    design_space: SpmDesignSpace | None = None
    std_resid: np.ndarray | None = None
    ar_coef: np.ndarray | None = None
    ar_coef_raw: np.ndarray | None = None
    model_names: np.ndarray | None = None
    whiten_scan0: str | None = None

    @property
    def n_voxels(self) -> int:
        return self.beta.shape[1]

    @property
    def ar_order(self) -> int:
        """The order p of the noise model (0 for OLS)."""
        return noise_order(self.noise_model)

    @property
    def whitening_coef(self) -> np.ndarray:
        """The AR coefficients each voxel was whitened with, shape (n_voxels, p)."""
        if self.ar_coef is not None:
            return self.ar_coef
        return np.asarray(self.rho, dtype=np.float64)[:, None]


def blas_threads(n_jobs):
    """A context limiting BLAS to ``n_jobs`` threads (joblib's meaning of negative values).

    The vectorized engine's products and the model's own SPM steps run under it: their
    matrices are small, and on a busy machine OpenBLAS threads that wait for a core cost
    more than they save (a 96 x 96 SVD: 0.19 s with 2 threads under load, 0.005 s with
    one; docs/performance.md). ``None``: BLAS's own default. The number of threads
    does not change the results beyond rounding. ``threadpoolctl`` is imported on use.
    """
    import contextlib
    import os

    if n_jobs is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    n_jobs = int(n_jobs)
    threads = n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return threadpool_limits(limits=threads, user_api="blas")


def noise_order(noise_model) -> int:
    """The AR order of a noise model: 0 for ``'ols'``, N for ``'arN'`` (N >= 1).

    # nilearn 0.14.1 glm/first_level/first_level.py run_glm: noise_model[:2] == 'ar',
    # ar_order = int(noise_model[2:]) ("AR order must be a positive integer specified as
    # arN, where N is an integer. E.g. ar3.")

    Raises
    ------
    InputError
        For anything else (``'ar'``, ``'ar0'``, ``'ar1.5'``, ``'AR1'``, non-strings).
    """
    if noise_model == "ols":
        return 0
    digits = noise_model[2:] if isinstance(noise_model, str) else ""
    if isinstance(noise_model, str) and noise_model[:2] == "ar" and digits.isdigit():
        order = int(digits)
        if order >= 1 and digits == str(order):
            return order
    raise InputError(
        f"noise_model: expected 'ols' or 'arN' with N a whole number >= 1 (an AR(N) model), "
        f"found {noise_model!r}; use 'ar1' (the tutorial's), 'ar2', ... or 'ols'."
    )


def check_noise_model(noise_model) -> str:
    """Return ``noise_model`` after checking it is ``'ols'`` or ``'arN'`` (:func:`noise_order`).

    The one check of ``FirstLevelModel``, both engines and the voxel trace.
    """
    noise_order(noise_model)
    return noise_model


def _check_choice(field: str, value, values: tuple, fix: str) -> None:
    if value not in values:
        raise InputError(f"{field}: expected one of {values}, found {value!r}; {fix}.")


def resolve_ar_choices(ar_fit, ar_estimator, ar_binning, whiten_scan0):
    """Fill the AR choices left as None: nistats' for ``'fixed'``, GLSAR's for ``'iterative'``.

    Returns ``(ar_estimator, ar_binning, whiten_scan0)``. Explicit values are
    kept (and checked against ``ar_fit`` by :func:`check_glm_arguments`).
    """
    defaults = ITERATIVE_REQUIRES if ar_fit == "iterative" else FIXED_DEFAULTS
    given = {"ar_estimator": ar_estimator, "ar_binning": ar_binning}
    given["whiten_scan0"] = whiten_scan0
    return tuple(defaults[k] if v is None else v for k, v in given.items())


def check_glm_arguments(
    Y,
    X,
    noise_model,
    ar_fit,
    whiten_scan0,
    ar_estimator=None,
    ar_binning=None,
    cov_pinv="scipy",
    df="nobs_minus_rank",
    df_scale="rank",
    ar_p_binning="kmeans",
):
    """Validate the arguments shared by both engines; return ``Y`` and float64 ``X``.

    ``ar_fit='iterative'`` is statsmodels' ``GLSAR.iterative_fit``, which has its
    own rho estimate (Yule-Walker on each voxel), does not bin it and drops scan
    0: with ``noise_model='ar1'`` it requires those values of ``ar_estimator``,
    ``ar_binning`` and ``whiten_scan0`` (:data:`ITERATIVE_REQUIRES`)
    instead of silently ignoring others. ``None`` skips a check.
    """
    Y = np.asarray(Y)
    X = np.asarray(X, dtype=np.float64)
    check_noise_model(noise_model)
    _check_choice(
        "ar_fit",
        ar_fit,
        AR_FITS,
        "'fixed' whitens with the binned OLS-residual rho (nistats), 'iterative' runs "
        "GLSAR.iterative_fit",
    )
    _check_choice(
        "cov_pinv",
        cov_pinv,
        COV_PINVS,
        "'scipy' is nistats' and nilearn's, 'statsmodels' statsmodels' own, 'spm' SPM12's",
    )
    _check_choice(
        "df",
        df,
        DF_RULES,
        "'nobs_minus_rank' is statsmodels', 'spm_effective' SPM12's (with ar_fit='spm_reml')",
    )
    if df == "spm_effective" and ar_fit != "spm_reml":
        raise InputError(
            f"df='spm_effective': expected ar_fit='spm_reml' (SPM's effective df needs the "
            f"one serial correlation matrix V of its ReML), found ar_fit={ar_fit!r}; use "
            "df='nobs_minus_rank', or ar_fit='spm_reml'."
        )
    _check_choice(
        "whiten_scan0", whiten_scan0, WHITEN_SCAN0, "pick a name from refglm.glm.noise.WHITEN_SCAN0"
    )
    _check_choice(
        "df_scale",
        df_scale,
        DF_SCALES,
        "'rank' divides by n - rank (statsmodels), 'columns' by n - columns (nistats, nilearn)",
    )
    _check_choice(
        "ar_p_binning",
        ar_p_binning,
        AR_P_BINNINGS,
        "pick a name from refglm.glm.noise.AR_P_BINNINGS",
    )
    order = noise_order(noise_model)
    if order >= 2 and ar_fit == "fixed" and ar_p_binning == "refuse":
        raise InputError(
            f"noise_model={noise_model!r}: expected 'ar1' or 'ols' under ar_p_binning="
            "'refuse' (nistats 0.0.1b1/rc0 and SPM12 have no AR(p) model of order >= 2), "
            f"found {noise_model!r}; use convention='nilearn' (its KMeans of the AR(p) "
            "coefficients) or 'statsmodels' (GLSAR of order p)."
        )
    if order >= 2 and ar_fit == "fixed" and ar_estimator == "lag1_ratio":
        raise InputError(
            f"noise_model={noise_model!r}: expected an AR(p) estimator, found ar_estimator="
            "'lag1_ratio' (nistats' lag-1 ratio is of order 1); use noise_model='ar1', or "
            "ar_estimator='yule_walker' (nilearn) or 'yule_walker_voxel' (statsmodels)."
        )
    if order >= 2 and whiten_scan0 == "prais_winsten":
        raise InputError(
            f"whiten_scan0='prais_winsten': expected 'keep' or 'drop' for noise_model="
            f"{noise_model!r}; Prais-Winsten's scan-0 scaling is defined for AR(1) only."
        )
    if order >= 1 and ar_fit == "iterative":
        given = {"ar_estimator": ar_estimator, "ar_binning": ar_binning}
        given["whiten_scan0"] = whiten_scan0
        wrong = {k: v for k, v in given.items() if v is not None and v != ITERATIVE_REQUIRES[k]}
        if wrong:
            found = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
            needed = ", ".join(f"{k}={v!r}" for k, v in ITERATIVE_REQUIRES.items())
            raise InputError(
                f"ar_fit='iterative': expected {needed} (GLSAR.iterative_fit estimates rho "
                f"its own way, unbinned, and drops scan 0), found {found}; pass those "
                "values, or ar_fit='fixed' to whiten with the chosen estimate."
            )
    if Y.ndim != 2 or X.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise InputError(
            f"Y, X: expected Y (n_scans, n_voxels) and X (n_scans, n_regressors) with the same "
            f"n_scans, found Y {Y.shape} and X {X.shape}; build the design from this run's scans."
        )
    return Y, X


def chunks(n_voxels: int, chunk_size: int) -> list[slice]:
    """Consecutive slices of at most ``chunk_size`` voxels covering ``range(n_voxels)``."""
    return [slice(s, min(s + chunk_size, n_voxels)) for s in range(0, n_voxels, chunk_size)]


def scipy_pinv_cov(whitened_X: np.ndarray) -> np.ndarray:
    """:math:`P P^T` with :math:`P` = ``scipy.linalg.pinv(whitened_X)`` (``cov_pinv='scipy'``).

    # nistats/nilearn regression.py OLSModel.initialize: spl.pinv(X~) @ spl.pinv(X~).T
    """
    import scipy.linalg  # here, not at the top: the conventions table loads without scipy

    pinv = scipy.linalg.pinv(whitened_X)
    return pinv @ pinv.T


def pinv_cov(whitened_X: np.ndarray, cov_pinv: str) -> np.ndarray:
    r""":math:`P P^T` with :math:`P` the pseudo-inverse of ``whitened_X`` that ``cov_pinv`` names.

    - ``'scipy'``: :func:`scipy_pinv_cov`;
    - ``'spm'``: SPM12's ``spm_sp('x-')``, :math:`v_r\,\mathrm{diag}(1/d_r)\,u_r^T`
      (``refglm.glm.spm_linalg.SpmSpace.pinv``).

    ``'statsmodels'`` is the engines' own (statsmodels' ``pinv_extended``), which
    each computes as it fits.
    """
    if cov_pinv == "scipy":
        return scipy_pinv_cov(whitened_X)
    if cov_pinv == "spm":
        pinv = SpmSpace(whitened_X).pinv()
        return pinv @ pinv.T
    raise InputError(
        f"cov_pinv: expected 'scipy' or 'spm' here, found {cov_pinv!r}; statsmodels' "
        "pseudo-inverse is the engine's own."
    )


def fit_passes(noise_model: str, ar_fit: str, engine: str = "statsmodels") -> list[str]:
    """The passes over the voxels that an engine reports through ``progress``, in order.

    Both engines call ``progress(n)`` for the n voxels of each chunk of an OLS
    pass, then of the AR(p) fit: one pass for ``noise_model='ols'``, and one
    for ``ar_fit='iterative'`` (``GLSAR.iterative_fit``), whose rho iterations
    the vectorized engine runs first without reporting them.
    """
    if ar_fit == "spm_reml":
        return ["whitened, filtered fit (SPM)"]
    if noise_model == "ols":
        return ["OLS fit"]
    ar = f"AR({noise_order(noise_model)})"
    if ar_fit == "iterative":
        if engine == "vectorized":
            return [f"{ar} iterative fit; rho iterations first"]
        return [f"{ar} iterative fit"]
    return ["OLS pass", f"{ar} fit"]


# ------------------------------------------------------------------ SPM12's estimation


@dataclass
class SpmDesignSpace:
    r"""What SPM12's ``spm_spm.m`` computes once for the whole volume (``ar_fit='spm_reml'``).

    Attributes
    ----------
    df_rule : {'nobs_minus_rank', 'spm_effective'}
    xKXs : refglm.glm.spm_linalg.SpmSpace
        The whitened, filtered design :math:`KWX` (``xX.xKXs``).
    W, V : ndarray (n, n)
        Whitening matrix and serial correlations (``xX.W``, ``xVi.V``).
    X0 : ndarray (n, k)
        The drift basis removed by :math:`K` (``xX.K.X0``; no column: no filter).
    xX_V : ndarray (n, n)
        :math:`K W V W^T K^T` (``xX.V``).
    trRV, trRVRV, erdf : float
        :math:`\mathrm{tr}(RV)`, :math:`\mathrm{tr}(RVRV)` and the effective df
        :math:`\mathrm{tr}(RV)^2/\mathrm{tr}(RVRV)` (``xX.trRV``, ``xX.trRVRV``, ``xX.erdf``).
    Bcov : ndarray (p, p)
        The unscaled contrast covariance: :math:`(KWX)^+\, xX.V\, (KWX)^{+T}` (SPM's
        ``xX.Bcov``) for ``'spm_effective'``, :math:`(KWX)^+ (KWX)^{+T}` otherwise.
    df_resid : float
        The residual df: ``erdf``, or :math:`n - \mathrm{rank}(KWX) - \mathrm{rank}(X_0)`.
    denominator : float
        What ResSS is divided by: ``trRV`` (SPM's ``ResMS``), or ``df_resid``.
    ols_df : float
        :math:`n - \mathrm{rank}(KWX)`, the df that standardises SPM's residuals.
    """

    df_rule: str
    xKXs: SpmSpace
    W: np.ndarray
    V: np.ndarray
    X0: np.ndarray
    xX_V: np.ndarray
    trRV: float
    trRVRV: float
    erdf: float
    Bcov: np.ndarray
    df_resid: float
    denominator: float
    ols_df: float

    @property
    def KWX(self) -> np.ndarray:
        """The whitened, filtered design (``xX.xKXs.X``)."""
        return self.xKXs.X


def spm_trRV(xKXs: SpmSpace, V: np.ndarray) -> tuple[float, float]:
    r""":math:`\mathrm{tr}(RV)` and :math:`\mathrm{tr}(RVRV)`, SPM12 ``spm_SpUtil('trRV')``.

    With :math:`u` the orthonormal basis of :math:`KWX` (rank r),
    :math:`R = I - uu^T` and :math:`V` = ``xX.V``:

    .. math::
        \mathrm{tr}(RV) = \mathrm{tr}(V) - \sum (u \circ Vu),\qquad
        \mathrm{tr}(RVRV) = \lVert V\rVert_F^2 - 2\lVert Vu\rVert_F^2 + \lVert u^TVu\rVert_F^2

    # SPM12 spm_SpUtil.m case 'trrv', lines 425-440
    """
    u = xKXs.u[:, : xKXs.rk]
    Vu = V @ u
    trRVRV = np.sum(V * V) - 2 * np.sum(Vu * Vu)
    uVu = u.T @ Vu
    trRVRV = trRVRV + np.sum(uVu * uVu)
    return float(np.trace(V) - np.sum(u * Vu)), float(trRVRV)


def spm_design_space(
    X, X0, W, V, df_rule: str = "spm_effective", cov_pinv: str = "spm", pinv_KWX=None
) -> SpmDesignSpace:
    r"""SPM12's whitened, filtered design and its covariance quantities, SPM12 ``spm_spm.m``.

    .. math::
        \tilde X = K W X,\quad xX.V = K W V W^T K^T,\quad
        \mathrm{erdf} = \mathrm{tr}(RV)^2/\mathrm{tr}(RVRV),\quad
        B = \tilde X^+\, xX.V\, \tilde X^{+T}

    # SPM12 spm_spm.m lines 448-462: xKXs = spm_sp('Set', spm_filter(K, W*X)); xX.V =
    # spm_filter(K, spm_filter(K, W*V*W')'); [trRV, trRVRV] = spm_SpUtil('trRV', xKXs, xX.V);
    # erdf = trRV^2/trRVRV; Bcov = pKX*xX.V*pKX'

    With ``df_rule='nobs_minus_rank'`` the covariance is :math:`\tilde X^+\tilde X^{+T}`
    and the df :math:`n - \mathrm{rank}(\tilde X) - \mathrm{rank}(X_0)`, the classical
    count with the drifts of the filter.

    Parameters
    ----------
    X : ndarray (n, p)
        ``xX.X``.
    X0 : ndarray (n, k)
        Drift basis removed by the filter (may have no column).
    W, V : ndarray (n, n)
    df_rule : {'spm_effective', 'nobs_minus_rank'}
    cov_pinv : {'spm', 'scipy', 'statsmodels'}
        Whose pseudo-inverse :math:`\tilde X^+` is; ``'statsmodels'`` needs ``pinv_KWX``
        (the engine's own).
    """
    X = np.asarray(X, dtype=np.float64)
    X0 = np.zeros((X.shape[0], 0)) if X0 is None else np.asarray(X0, dtype=np.float64)
    xKXs = SpmSpace(spm_filter(X0, W @ X))
    xX_V = spm_filter(X0, spm_filter(X0, W @ V @ W.T).T)
    trRV, trRVRV = spm_trRV(xKXs, xX_V)
    erdf = trRV**2 / trRVRV
    if cov_pinv == "statsmodels":
        if pinv_KWX is None:
            raise InputError("cov_pinv='statsmodels': expected the engine's pinv_KWX, found None.")
        P = np.asarray(pinv_KWX, dtype=np.float64)
    elif cov_pinv == "spm":
        P = xKXs.pinv()
    else:
        import scipy.linalg  # on use: this module loads without scipy

        P = scipy.linalg.pinv(xKXs.X)
    n = X.shape[0]
    ols_df = float(n - xKXs.rk)
    if df_rule == "spm_effective":
        Bcov = P @ xX_V @ P.T
        df_resid, denominator = erdf, trRV
    else:
        Bcov = P @ P.T
        rank_X0 = int(np.linalg.matrix_rank(X0)) if X0.shape[1] else 0
        df_resid = denominator = ols_df - rank_X0
    return SpmDesignSpace(
        df_rule, xKXs, W, V, X0, xX_V, trRV, trRVRV, erdf, Bcov, df_resid, denominator, ols_df
    )


def spm_residual_rows(n_scans: int) -> np.ndarray:
    """The 0-based scans of SPM's standardised residuals (``iRes``), SPM12 ``spm_spm.m``.

    # SPM12 spm_spm.m lines 512, 535: nSres = min(nScan, maxres);
    # iRes = round(linspace(1,nScan,nSres))
    """
    n_kept = min(int(n_scans), SPM_MAX_RESIDUALS)
    return matlab_round(np.linspace(1, n_scans, n_kept)).astype(int) - 1


def check_spm_arguments(Y, X, whitening, covariance, drift_basis, df, cov_pinv):
    """Validate the arguments of the ``ar_fit='spm_reml'`` fit; return float64 arrays."""
    Y = np.asarray(Y)
    X = np.asarray(X, dtype=np.float64)
    if Y.ndim != 2 or X.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise InputError(
            f"Y, X: expected Y (n_scans, n_voxels) and X (n_scans, n_regressors) with the same "
            f"n_scans, found Y {Y.shape} and X {X.shape}; build the design from this run's scans."
        )
    n = X.shape[0]
    if whitening is None or covariance is None:
        raise InputError(
            "ar_fit='spm_reml': expected whitening= (W) and covariance= (V), (n_scans, n_scans) "
            "matrices from refglm.glm.noise (spm_nonsphericity, spm_whitening), found None."
        )
    W = np.asarray(whitening, dtype=np.float64)
    V = np.asarray(covariance, dtype=np.float64)
    X0 = np.zeros((n, 0)) if drift_basis is None else np.asarray(drift_basis, dtype=np.float64)
    for name, value, shape in (("whitening", W, (n, n)), ("covariance", V, (n, n))):
        if value.shape != shape:
            raise InputError(f"{name}: expected shape {shape}, found {value.shape}.")
    if X0.ndim != 2 or X0.shape[0] != n:
        raise InputError(f"drift_basis: expected ({n}, k), found shape {X0.shape}.")
    _check_choice("df", df, DF_RULES, "pick a value from refglm.glm.engines.DF_RULES")
    _check_choice("cov_pinv", cov_pinv, COV_PINVS, "pick a value from COV_PINVS")
    return Y, X, W, V, X0


def spm_glm_fit(beta, ResSS, resid_rows, space: SpmDesignSpace, noise_model: str) -> GLMFit:
    r"""The :class:`GLMFit` of SPM's estimation, from each engine's beta and residuals.

    .. math::
        \mathrm{ResMS}_v = \mathrm{ResSS}_v / \mathrm{tr}(RV),\qquad
        \mathrm{ResI}_{tv} = r_{tv} / \sqrt{\mathrm{ResSS}_v / (n - \mathrm{rank}(KWX))}

    (``'nobs_minus_rank'``: ResSS divided by its df instead).
    # SPM12 spm_spm.m line 632 (ResMS = ResSS/trRV) and 638 (ResI = res(iRes,:) ./
    # sqrt(ResSS/erdf), with erdf = spm_SpUtil('trRV', xKXs) = n - rank at that point)

    Parameters
    ----------
    beta : ndarray (p, v)
    ResSS : ndarray (v,)
    resid_rows : ndarray (min(n, 64), v)
        The residuals at the scans :func:`spm_residual_rows`.
    """
    v = beta.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        std_resid = resid_rows / np.sqrt(ResSS / space.ols_df)
    return GLMFit(
        beta=beta,
        sigma2=ResSS / space.denominator,
        df_resid=np.full(v, space.df_resid),
        rho_raw=np.full(v, np.nan),
        rho=np.zeros(v),
        labels=np.zeros(v, dtype=int),
        cov_unscaled=space.Bcov[None],
        noise_model=noise_model,
        design_space=space,
        std_resid=std_resid,
    )
