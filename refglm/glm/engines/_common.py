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
from refglm.glm.noise import WHITEN_SCAN0

__all__ = [
    "GLMFit",
    "NOISE_MODELS",
    "AR_FITS",
    "COV_PINVS",
    "DF_RULES",
    "ITERATIVE_REQUIRES",
    "FIXED_DEFAULTS",
    "check_noise_model",
    "check_glm_arguments",
    "resolve_ar_choices",
    "chunks",
    "scipy_pinv_cov",
    "fit_passes",
]

#: The noise models of ``FirstLevelModel`` and both engines.
NOISE_MODELS = ("ar1", "ols")
#: ``ar_fit``: whiten once with the binned OLS-residual rho (nistats), or run
#: statsmodels' ``GLSAR.iterative_fit`` per voxel.
AR_FITS = ("fixed", "iterative")
#: ``cov_pinv``: whose pseudo-inverse gives the contrast covariance (:func:`scipy_pinv_cov`).
COV_PINVS = ("scipy", "statsmodels")
#: ``df``: the residual degrees of freedom (statsmodels ``df_resid = nobs - rank``).
DF_RULES = ("nobs_minus_rank",)

#: What ``ar_fit='iterative'`` requires: statsmodels 0.14
#: ``regression/linear_model.py GLSAR.iterative_fit`` re-estimates rho with
#: ``yule_walker(resid, order=1, method='adjusted', demean=True)`` (each voxel
#: demeaned), uses it unbinned, and ``GLSAR.whiten`` returns ``_x[self.order:]``.
ITERATIVE_REQUIRES: dict[str, str] = {
    "ar_estimator": "yule_walker_voxel",
    "ar_binning": "none",
    "whiten_scan0": "drop",
}

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
        AR(1) coefficient used for whitening (0 for OLS).
    labels : ndarray of int, shape (n_voxels,)
        Index into ``cov_unscaled`` of each voxel's model.
    cov_unscaled : ndarray, shape (n_models, n_regressors, n_regressors)
        :math:`(\\tilde X^T \\tilde X)^+` of each distinct whitened design
        (statsmodels ``normalized_cov_params``).
    noise_model : str
    """

    beta: np.ndarray
    sigma2: np.ndarray
    df_resid: np.ndarray
    rho_raw: np.ndarray
    rho: np.ndarray
    labels: np.ndarray
    cov_unscaled: np.ndarray
    noise_model: str

    @property
    def n_voxels(self) -> int:
        return self.beta.shape[1]


def check_noise_model(noise_model) -> str:
    """Return ``noise_model`` after checking it is one of :data:`NOISE_MODELS`.

    The one check of ``FirstLevelModel``, both engines and the voxel trace.
    """
    if noise_model not in NOISE_MODELS:
        raise InputError(
            f"noise_model: expected one of {NOISE_MODELS}, found {noise_model!r}; "
            "use 'ar1' (the tutorial's) or 'ols'."
        )
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
    Y, X, noise_model, ar_fit, whiten_scan0, ar_estimator=None, ar_binning=None, cov_pinv="scipy"
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
        "'scipy' is nistats' and nilearn's, 'statsmodels' statsmodels' own",
    )
    _check_choice(
        "whiten_scan0", whiten_scan0, WHITEN_SCAN0, "pick a name from refglm.glm.noise.WHITEN_SCAN0"
    )
    if noise_model == "ar1" and ar_fit == "iterative":
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


def fit_passes(noise_model: str, ar_fit: str, engine: str = "statsmodels") -> list[str]:
    """The passes over the voxels that an engine reports through ``progress``, in order.

    Both engines call ``progress(n)`` for the n voxels of each chunk of an OLS
    pass, then of the AR(1) fit: one pass for ``noise_model='ols'``, and one
    for ``ar_fit='iterative'`` (``GLSAR.iterative_fit``), whose rho iterations
    the vectorized engine runs first without reporting them.
    """
    if noise_model == "ols":
        return ["OLS fit"]
    if ar_fit == "iterative":
        if engine == "vectorized":
            return ["AR(1) iterative fit; rho iterations first"]
        return ["AR(1) iterative fit"]
    return ["OLS pass", "AR(1) fit"]
