"""HRF derivatives: finite-difference time and dispersion derivatives of the SPM/Glover HRFs.

Public names are re-exported by :mod:`refglm.glm.design.hrf`. Both conventions take the same
finite differences (nistats 0.0.1rc0 ``nistats/hemodynamic_models.py``; nilearn 0.14.1
``_generic_time_derivative`` / ``_generic_dispersion_derivative``); the HRFs they
differentiate follow the convention (see :mod:`refglm.glm.design.hrf_shapes`).

Quirk shared by both conventions and reproduced, not corrected: the dispersion
derivative of the Glover HRF uses an undershoot dispersion of 1, not 0.9.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from refglm.glm.design.hrf_shapes import (
    _GLOVER_PARAMETERS,
    _SPM_PARAMETERS,
    _SPM_RATIO,
    _check_hrf_arguments,
    _gamma_difference_hrf,
    glover_hrf,
    spm_hrf,
)

__all__ = [
    "glover_dispersion_derivative",
    "glover_time_derivative",
    "spm_dispersion_derivative",
    "spm_time_derivative",
]

# nistats 0.0.1rc0 spm_time_derivative: do = .1 ; spm_dispersion_derivative: dd = .01
_TIME_STEP = 0.1
_DISPERSION_STEP = 0.01


def _time_derivative(
    hrf_function: Callable[..., np.ndarray],
    t_r: object,
    oversampling: object,
    time_length: object,
    onset: object,
    convention: str | Mapping,
) -> np.ndarray:
    """``(1 / 0.1) * (hrf_function(onset) - hrf_function(onset + 0.1))`` after the checks."""
    t_r, oversampling, time_length, onset, _ = _check_hrf_arguments(
        t_r, oversampling, time_length, onset, convention
    )
    early = hrf_function(t_r, oversampling, time_length, onset, convention)
    late = hrf_function(t_r, oversampling, time_length, onset + _TIME_STEP, convention)
    return 1.0 / _TIME_STEP * (early - late)


def _dispersion_derivative(
    t_r: object,
    oversampling: object,
    time_length: object,
    onset: object,
    convention: str | Mapping,
    parameters: Mapping[str, float],
    ratio_choice: str | None,
) -> np.ndarray:
    """``(1 / 0.01) * (h(dispersion) - h(dispersion + 0.01))`` after the checks.

    ``h = _gamma_difference_hrf`` with the ``delay``, ``undershoot`` and ``dispersion`` of
    ``parameters``, ``u_dispersion = 1`` (both sources) and the ratio of the convention's
    ``ratio_choice`` (``None``: the SPM ratio 0.167).
    """
    t_r, oversampling, time_length, onset, choices = _check_hrf_arguments(
        t_r, oversampling, time_length, onset, convention
    )
    common = {
        "delay": parameters["delay"],
        "undershoot": parameters["undershoot"],
        "u_dispersion": 1.0,
        "ratio": _SPM_RATIO if ratio_choice is None else choices[ratio_choice],
        "gamma_parametrisation": choices["gamma_parametrisation"],
    }
    dispersion = parameters["dispersion"]
    base = _gamma_difference_hrf(
        t_r, oversampling, time_length, onset, dispersion=dispersion, **common
    )
    wider = _gamma_difference_hrf(
        t_r, oversampling, time_length, onset, dispersion=dispersion + _DISPERSION_STEP, **common
    )
    # -a + b and b - a are the same IEEE-754 operation.
    return 1.0 / _DISPERSION_STEP * (base - wider)


def spm_time_derivative(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """Finite-difference time derivative of the SPM HRF.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    time_length : float, default=32.0
        Kernel length in seconds.
    onset : float, default=0.0
        HRF onset in seconds.
    convention : str or mapping, default='nistats'
        See ``HRF_CHOICES``; no choice affects this kernel.

    Returns
    -------
    dhrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Time-derivative kernel.

    Notes
    -----
    ``dhrf = (1 / 0.1) * (spm_hrf(onset) - spm_hrf(onset + 0.1))``.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``spm_time_derivative``:
    ``do = .1; dhrf = 1. / do * (spm_hrf(..., onset) - spm_hrf(..., onset + do))``;
    nilearn 0.14.1 ``_generic_time_derivative`` identical.
    """
    return _time_derivative(spm_hrf, t_r, oversampling, time_length, onset, convention)


def glover_time_derivative(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """Finite-difference time derivative of the Glover HRF.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    time_length : float, default=32.0
        Kernel length in seconds.
    onset : float, default=0.0
        HRF onset in seconds.
    convention : str or mapping, default='nistats'
        Selects the Glover HRF (see ``glover_hrf``).

    Returns
    -------
    dhrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Time-derivative kernel.

    Notes
    -----
    ``dhrf = (1 / 0.1) * (glover_hrf(onset) - glover_hrf(onset + 0.1))``.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``glover_time_derivative``:
    ``do = .1; dhrf = 1. / do * (glover_hrf(..., onset) - glover_hrf(..., onset + do))``;
    nilearn 0.14.1 ``_generic_time_derivative`` identical.
    """
    return _time_derivative(glover_hrf, t_r, oversampling, time_length, onset, convention)


def spm_dispersion_derivative(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """Finite-difference derivative of the SPM HRF with respect to the peak dispersion.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    time_length : float, default=32.0
        Kernel length in seconds.
    onset : float, default=0.0
        HRF onset in seconds.
    convention : str or mapping, default='nistats'
        Selects ``gamma_parametrisation`` (see ``HRF_CHOICES``).

    Returns
    -------
    ddhrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Dispersion-derivative kernel.

    Notes
    -----
    ``ddhrf = (1 / 0.01) * (h(dispersion=1) - h(dispersion=1 + 0.01))`` with
    ``h = _gamma_difference_hrf`` at the SPM parameters (undershoot dispersion stays 1).

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``spm_dispersion_derivative``:
    ``dd = .01; dhrf = 1. / dd * (- _gamma_difference_hrf(..., dispersion=1. + dd)
    + _gamma_difference_hrf(...))``; nilearn 0.14.1 ``_generic_dispersion_derivative``.
    """
    return _dispersion_derivative(
        t_r, oversampling, time_length, onset, convention, _SPM_PARAMETERS, ratio_choice=None
    )


def glover_dispersion_derivative(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """Finite-difference derivative of the Glover HRF with respect to the peak dispersion.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    time_length : float, default=32.0
        Kernel length in seconds.
    onset : float, default=0.0
        HRF onset in seconds.
    convention : str or mapping, default='nistats'
        Selects ``gamma_parametrisation`` and ``glover_ratio`` (see ``HRF_CHOICES``).

    Returns
    -------
    ddhrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Dispersion-derivative kernel.

    Notes
    -----
    ``ddhrf = (1 / 0.01) * (h(dispersion=0.9) - h(dispersion=0.9 + 0.01))`` with
    ``h = _gamma_difference_hrf(delay=6, undershoot=12, u_dispersion=1, ratio=glover_ratio)``.
    Both sources leave ``u_dispersion`` at its default 1 here, although ``glover_hrf``
    uses 0.9; this is reproduced.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``glover_dispersion_derivative``:
    ``dd = .01; dhrf = 1. / dd * (- _gamma_difference_hrf(..., delay=6, undershoot=12.,
    dispersion=.9 + dd, ratio=.35) + _gamma_difference_hrf(..., delay=6, undershoot=12.,
    dispersion=.9, ratio=.35))``; nilearn 0.14.1 ``glover_dispersion_derivative`` with
    ``ratio=0.48`` (PR #4452).
    """
    return _dispersion_derivative(
        t_r,
        oversampling,
        time_length,
        onset,
        convention,
        _GLOVER_PARAMETERS,
        ratio_choice="glover_ratio",
    )
