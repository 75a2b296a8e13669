"""The fit engines: the same first-level GLM, voxel by voxel or batched.

- ``'statsmodels'`` (:mod:`.statsmodels`, the reference): a plain loop of
  statsmodels fits per voxel, over joblib chunks;
- ``'vectorized'`` (:mod:`.vectorized`): the same mathematics in batched numpy,
  tested equal to the reference within 1e-10.

Both take ``(Y, X, noise_model, **choices)`` and return a :class:`GLMFit`
(:mod:`._common` holds what they share). :func:`get_engine` imports an engine on
first use, so that this package loads without statsmodels.
"""

from __future__ import annotations

from refglm.exceptions import InputError
from refglm.glm.engines._common import (
    AR_FITS,
    COV_PINVS,
    DF_RULES,
    DF_SCALES,
    EFFECTIVE_DF_REQUIRES,
    FIXED_DEFAULTS,
    ITERATIVE_REQUIRES,
    NOISE_MODELS,
    SPM_MAX_RESIDUALS,
    GLMFit,
    SpmDesignSpace,
    blas_threads,
    check_glm_arguments,
    check_noise_model,
    check_spm_arguments,
    chunks,
    fit_passes,
    noise_order,
    pinv_cov,
    resolve_ar_choices,
    scipy_pinv_cov,
    spm_design_space,
    spm_glm_fit,
    spm_residual_rows,
    spm_trRV,
)

__all__ = [
    "ENGINE_NAMES",
    "check_engine",
    "get_engine",
    "GLMFit",
    "NOISE_MODELS",
    "AR_FITS",
    "COV_PINVS",
    "DF_RULES",
    "DF_SCALES",
    "noise_order",
    "blas_threads",
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

#: The engines ``FirstLevelModel(engine=...)`` accepts; the first is the reference.
ENGINE_NAMES = ("statsmodels", "vectorized")


def check_engine(engine) -> str:
    """Return ``engine`` after checking it is one of :data:`ENGINE_NAMES`."""
    if engine not in ENGINE_NAMES:
        raise InputError(
            f"engine: expected one of {ENGINE_NAMES}, found {engine!r}; "
            "use 'statsmodels' (the reference) or 'vectorized'."
        )
    return engine


def get_engine(engine: str):
    """The ``run_glm`` function of an engine, imported on first use.

    Parameters
    ----------
    engine : {'statsmodels', 'vectorized'}

    Returns
    -------
    callable
        ``run_glm(Y, X, noise_model='ar1', **choices) -> GLMFit``.
    """
    check_engine(engine)
    if engine == "vectorized":
        from refglm.glm.engines.vectorized import run_glm_vectorized

        return run_glm_vectorized
    from refglm.glm.engines.statsmodels import run_glm

    return run_glm
