"""Haemodynamic response functions and event regressors.

This module reproduces, operation for operation, two reference implementations:

``'nistats'`` (the default)
    nistats 0.0.1rc0, ``nistats/hemodynamic_models.py``. This is the code the
    nistats tutorial on the SPM auditory dataset ran.
``'nilearn'``
    nilearn 0.14.1, ``nilearn/glm/first_level/hemodynamic_models.py``.

Every place where the two differ is one named *choice*; ``HRF_CHOICES`` maps a
convention name to its value for each choice, so that a convention can be
selected by name or assembled choice by choice from a mapping. The choices are:

``gamma_parametrisation``
    nistats 0.0.1rc0 ``_gamma_difference_hrf`` calls
    ``gamma.pdf(t, delay / dispersion, dt / dispersion)``. The third
    positional argument of ``scipy.stats.gamma.pdf(x, a, loc=0, scale=1)`` is
    ``loc``, so nistats evaluates a gamma density of shape
    ``delay / dispersion``, location ``dt / dispersion`` and unit scale
    (``'dispersion_divides_loc'``). nilearn PR #3297 (closes nilearn issue
    #3295) changed this to ``gamma.pdf(t, delay / dispersion, loc=dt,
    scale=dispersion)`` (``'dispersion_is_scale'``). Both agree whenever the
    dispersion is 1, i.e. for the SPM HRF and its time derivative.
``glover_ratio``
    Ratio of undershoot to peak in the Glover HRF and its dispersion
    derivative: 0.35 in nistats 0.0.1rc0 ``glover_hrf`` /
    ``glover_dispersion_derivative``; 0.48 since nilearn PR #4452 (closes
    nilearn issue #2981).
``t_r_estimate``
    The repetition time that ``compute_regressor`` passes to the HRF kernel.
    nistats 0.0.1rc0: ``float(frame_times.max()) / (np.size(frame_times) - 1)``
    (``'max_over_n_minus_1'``); nilearn PR #3362 (closes nilearn issue #3360)
    ``_calculate_tr``: ``float(np.min(np.diff(frame_times)))``
    (``'min_diff'``).
``onset_accumulation``
    How ``_sample_condition`` adds event amplitudes to the high-resolution
    boxcar. nistats 0.0.1rc0: ``regressor[t_onset] += values`` and
    ``regressor[t_offset] -= values`` (numpy fancy indexing: when two events
    of a condition fall on the same high-resolution sample only the last one
    counts, ``'fancy_index'``). nilearn PR #2553 replaced this with a Python
    loop ``for t, v in zip(t_onset, values): regressor[t] += v`` that adds
    every event (``'sequential'``).
``n_hr_product``
    Floating-point evaluation order of the number of high-resolution samples
    ``n_hr`` in ``_sample_condition``: nistats 0.0.1rc0 evaluates
    ``((n - 1) / span * extent) * oversampling + 1`` left to right
    (``'left_to_right'``); nilearn 0.14.1 ``_compute_n_frames_high_res``
    evaluates ``(n - 1) / span * (extent * oversampling) + 1`` (``'grouped'``).
    Mathematically identical; kept so that the rounding is identical too.

Quirks shared by both conventions are reproduced, not corrected: the HRF time
grid is ``np.linspace(0, time_length, rint(time_length / dt))`` whose spacing
is ``time_length / (rint(time_length / dt) - 1)``, not ``dt``; the gamma
densities are shifted by one sample (``loc=dt``); the dispersion derivative of
the Glover HRF uses an undershoot dispersion of 1, not 0.9.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping

import numpy as np
from scipy.interpolate import interp1d
from scipy.linalg import pinv
from scipy.stats import gamma

from refglm.exceptions import InputError

__all__ = [
    "CONVENTIONS",
    "HRF_CHOICES",
    "HRF_MODELS",
    "compute_regressor",
    "estimate_t_r",
    "glover_dispersion_derivative",
    "glover_hrf",
    "glover_time_derivative",
    "hrf_kernel",
    "orthogonalize",
    "regressor_names",
    "spm_dispersion_derivative",
    "spm_hrf",
    "spm_time_derivative",
]

#: Names of the supported conventions; the first is the default.
CONVENTIONS = ("nistats", "nilearn")

#: Accepted values of ``hrf_model`` (strings are compared in lower case).
HRF_MODELS = (
    "spm",
    "spm + derivative",
    "spm + derivative + dispersion",
    "glover",
    "glover + derivative",
    "glover + derivative + dispersion",
    "fir",
    None,
)

#: For each convention, the value of every HRF-level choice (see module docstring).
HRF_CHOICES: dict[str, dict[str, object]] = {
    "nistats": {
        "gamma_parametrisation": "dispersion_divides_loc",
        "glover_ratio": 0.35,
        "t_r_estimate": "max_over_n_minus_1",
        "onset_accumulation": "fancy_index",
        "n_hr_product": "left_to_right",
    },
    "nilearn": {
        "gamma_parametrisation": "dispersion_is_scale",
        "glover_ratio": 0.48,
        "t_r_estimate": "min_diff",
        "onset_accumulation": "sequential",
        "n_hr_product": "grouped",
    },
}

# nistats 0.0.1rc0 / nilearn 0.14.1: SPM canonical parameters
# (_gamma_difference_hrf defaults: delay=6, undershoot=16, dispersion=1, u_dispersion=1,
# ratio=0.167) and Glover parameters (glover_hrf: delay=6, undershoot=12, dispersion=0.9,
# u_dispersion=0.9; ratio is a convention choice).
_SPM_PARAMETERS = {"delay": 6.0, "undershoot": 16.0, "dispersion": 1.0, "u_dispersion": 1.0}
_SPM_RATIO = 0.167
_GLOVER_PARAMETERS = {"delay": 6.0, "undershoot": 12.0, "dispersion": 0.9, "u_dispersion": 0.9}
# nistats 0.0.1rc0 spm_time_derivative: do = .1 ; spm_dispersion_derivative: dd = .01
_TIME_STEP = 0.1
_DISPERSION_STEP = 0.01


# ---------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------


def _input_error(field: str, expected: str, found: object, fix: str) -> InputError:
    """Build an InputError naming the field, what was expected, what was found and the fix."""
    return InputError(f"{field}: expected {expected}; found {found}. Fix: {fix}")


def _is_real_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_positive(value: object, field: str, fix: str) -> float:
    if not _is_real_number(value) or not np.isfinite(value) or value <= 0:
        raise _input_error(field, "a finite number > 0", repr(value), fix)
    return float(value)


def _check_finite(value: object, field: str, fix: str) -> float:
    if not _is_real_number(value) or not np.isfinite(value):
        raise _input_error(field, "a finite number", repr(value), fix)
    return float(value)


def _check_oversampling(oversampling: object) -> int:
    if (
        not _is_real_number(oversampling)
        or not np.isfinite(oversampling)
        or oversampling < 1
        or float(oversampling) != int(oversampling)
    ):
        raise _input_error(
            "oversampling",
            "a whole number >= 1",
            repr(oversampling),
            "pass an integer such as 50 (the nistats/nilearn default)",
        )
    return int(oversampling)


def _check_hrf_model(hrf_model: object) -> str | None:
    if isinstance(hrf_model, str):
        hrf_model = hrf_model.lower()
    if hrf_model not in HRF_MODELS:
        raise _input_error(
            "hrf_model",
            f"one of {list(HRF_MODELS)}",
            repr(hrf_model),
            "choose one of the listed models (the nistats tutorial uses 'spm')",
        )
    return hrf_model


def _check_fir_delays(fir_delays: object, hrf_model: str | None) -> list[int] | None:
    if fir_delays is None:
        if hrf_model == "fir":
            raise _input_error(
                "fir_delays",
                "a list of non-negative whole numbers of scans when hrf_model='fir'",
                "None",
                "pass e.g. fir_delays=[0, 1, 2]",
            )
        return None
    delays = list(np.atleast_1d(np.asarray(fir_delays, dtype=object)))
    for delay in delays:
        if (
            not _is_real_number(delay)
            or not np.isfinite(delay)
            or delay < 0
            or float(delay) != int(delay)
        ):
            raise _input_error(
                "fir_delays",
                "non-negative whole numbers of scans",
                repr(fir_delays),
                "pass e.g. fir_delays=[0, 1, 2]",
            )
    # nistats 0.0.1rc0 compute_regressor: fir_delays = [int(x) for x in fir_delays]
    return [int(delay) for delay in delays]


def _check_frame_times(frame_times: object) -> np.ndarray:
    """Return ``frame_times`` as a float array after checking it describes a run."""
    try:
        values = np.asarray(frame_times, dtype=float)
    except (TypeError, ValueError):
        raise _input_error(
            "frame_times",
            "a 1-D array of acquisition times in seconds",
            f"{type(frame_times).__name__} that cannot be converted to float",
            "pass e.g. np.arange(n_scans) * t_r",
        ) from None
    if values.ndim != 1 or values.size < 2:
        raise _input_error(
            "frame_times",
            "a 1-D array with at least 2 acquisition times",
            f"shape {values.shape}",
            "pass e.g. np.arange(n_scans) * t_r with n_scans >= 2",
        )
    if not np.all(np.isfinite(values)):
        raise _input_error(
            "frame_times",
            "finite acquisition times",
            f"{int(np.sum(~np.isfinite(values)))} non-finite value(s)",
            "remove NaN/inf entries",
        )
    if np.any(np.diff(values) <= 0):
        raise _input_error(
            "frame_times",
            "strictly increasing acquisition times",
            "a non-increasing step",
            "sort the frame times and remove duplicates",
        )
    if values[0] < 0:
        # Both sources build the high-resolution grid up to frame_times.max() * n / (n - 1),
        # which only covers the run when the frame times are counted from the run start.
        raise _input_error(
            "frame_times",
            "times counted from the start of the run (first frame time >= 0)",
            f"first frame time {values[0]!r}",
            "subtract the run start so that the first scan is at 0 s (plus slice_time_ref * t_r)",
        )
    return values


def _resolve_convention(
    convention: str | Mapping, table: Mapping[str, Mapping[str, object]]
) -> dict[str, object]:
    """Return the choices of ``table`` selected by a convention name or a mapping of choices."""
    keys = next(iter(table.values())).keys()
    if isinstance(convention, str):
        if convention not in table:
            raise _input_error(
                "convention",
                f"one of {list(table)} or a mapping of choices",
                repr(convention),
                "use 'nistats' to reproduce the nistats 0.0.1rc0 tutorial",
            )
        return dict(table[convention])
    if isinstance(convention, Mapping):
        missing = [key for key in keys if key not in convention]
        if missing:
            raise _input_error(
                "convention",
                f"a mapping with the keys {list(keys)}",
                f"a mapping without {missing}",
                f"add the missing choices, e.g. from {table['nistats']!r}",
            )
        chosen = {key: convention[key] for key in keys}
        for key, value in chosen.items():
            allowed = {entry[key] for entry in table.values()}
            numeric = all(_is_real_number(option) for option in allowed)
            if numeric:
                _check_positive(value, f"convention[{key!r}]", f"use one of {sorted(allowed)}")
            elif value not in allowed:
                raise _input_error(
                    f"convention[{key!r}]",
                    f"one of {sorted(allowed, key=str)}",
                    repr(value),
                    "use one of the listed values",
                )
        return chosen
    raise _input_error(
        "convention",
        f"one of {list(table)} or a mapping of choices",
        type(convention).__name__,
        "pass a convention name such as 'nistats'",
    )


# ---------------------------------------------------------------------------
# Haemodynamic response functions
# ---------------------------------------------------------------------------


def _gamma_difference_hrf(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    delay: float = 6.0,
    undershoot: float = 16.0,
    dispersion: float = 1.0,
    u_dispersion: float = 1.0,
    ratio: float = 0.167,
    gamma_parametrisation: str = "dispersion_divides_loc",
) -> np.ndarray:
    """Sample a difference of two gamma densities on the oversampled grid and normalise it.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds (already checked > 0).
    oversampling : int
        Temporal oversampling factor; the nominal sampling step is ``dt = t_r / oversampling``.
    time_length : float
        Length of the kernel in seconds.
    onset : float
        Shift of the time stamps in seconds.
    delay, undershoot : float
        Shape numerators of the peak and undershoot densities.
    dispersion, u_dispersion : float
        Dispersions of the peak and undershoot densities.
    ratio : float
        Weight of the undershoot density.
    gamma_parametrisation : {'dispersion_divides_loc', 'dispersion_is_scale'}
        How the dispersion enters ``scipy.stats.gamma.pdf`` (see the module docstring).

    Returns
    -------
    hrf : ndarray of shape (rint(time_length / dt),)
        Kernel normalised to sum 1.

    Notes
    -----
    With ``N = rint(time_length / dt)`` and ``t_j = j * time_length / (N - 1) - onset``,
    ``h_j = g(t_j; delay/dispersion, loc_1, s_1)
    - ratio * g(t_j; undershoot/u_dispersion, loc_2, s_2)``,
    ``hrf_j = h_j / sum_j h_j``, where ``g(t; a, loc, s) = ((t - loc)/s)^(a-1)
    exp(-(t - loc)/s) / (s Gamma(a))`` for ``t > loc`` and 0 otherwise.

    ``'dispersion_divides_loc'``: ``loc_1 = dt/dispersion``, ``loc_2 = dt/u_dispersion``,
    ``s_1 = s_2 = 1``. ``'dispersion_is_scale'``: ``loc_1 = loc_2 = dt``,
    ``s_1 = dispersion``, ``s_2 = u_dispersion``.
    """
    # nistats 0.0.1rc0 hemodynamic_models.py _gamma_difference_hrf (lines 54-65):
    #   dt = tr / oversampling
    #   time_stamps = np.linspace(0, time_length, np.rint(float(time_length) / dt).astype(np.int))
    #   time_stamps -= onset
    #   hrf = gamma.pdf(time_stamps, delay / dispersion, dt / dispersion)
    #         - ratio * gamma.pdf(time_stamps, undershoot / u_dispersion, dt / u_dispersion)
    #   hrf /= hrf.sum()
    dt = t_r / oversampling
    n_samples = np.rint(float(time_length) / dt).astype(int)
    if n_samples < 2:
        raise _input_error(
            "time_length",
            "a kernel of at least 2 samples (time_length / (t_r / oversampling) >= 1.5)",
            f"{int(n_samples)} sample(s) for time_length={time_length}, t_r={t_r}, "
            f"oversampling={oversampling}",
            "increase oversampling or time_length",
        )
    time_stamps = np.linspace(0, time_length, n_samples)
    time_stamps -= onset
    if gamma_parametrisation == "dispersion_divides_loc":
        hrf = gamma.pdf(time_stamps, delay / dispersion, dt / dispersion) - ratio * gamma.pdf(
            time_stamps, undershoot / u_dispersion, dt / u_dispersion
        )
    else:
        # nilearn 0.14.1 hemodynamic_models.py _gamma_difference_hrf (nilearn PR #3297):
        #   peak_gamma = gamma.pdf(time_stamps, delay / dispersion, loc=dt, scale=dispersion)
        #   undershoot_gamma = gamma.pdf(time_stamps, undershoot / u_dispersion, loc=dt,
        #                                scale=u_dispersion)
        #   hrf = peak_gamma - ratio * undershoot_gamma
        peak_gamma = gamma.pdf(time_stamps, delay / dispersion, loc=dt, scale=dispersion)
        undershoot_gamma = gamma.pdf(
            time_stamps, undershoot / u_dispersion, loc=dt, scale=u_dispersion
        )
        hrf = peak_gamma - ratio * undershoot_gamma
    total = hrf.sum()
    if not np.isfinite(total) or total == 0:
        raise _input_error(
            "onset",
            "an HRF with a non-zero sum on [0, time_length]",
            f"sum {total!r} for onset={onset}, time_length={time_length}",
            "use onset near 0 and time_length >= 32 s",
        )
    hrf /= total
    return hrf


def _check_hrf_arguments(
    t_r: object, oversampling: object, time_length: object, onset: object
) -> tuple[float, int, float, float]:
    t_r = _check_positive(t_r, "t_r", "pass the repetition time in seconds, e.g. t_r=2.0")
    oversampling = _check_oversampling(oversampling)
    time_length = _check_positive(
        time_length, "time_length", "pass the kernel length in seconds, e.g. 32.0"
    )
    onset = _check_finite(onset, "onset", "pass the HRF onset in seconds, e.g. 0.0")
    return t_r, oversampling, time_length, onset


def spm_hrf(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """SPM canonical HRF sampled on the oversampled grid.

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
        ``'nistats'``, ``'nilearn'`` or a mapping of the choices in ``HRF_CHOICES``.
        The SPM HRF has dispersion 1 and is the same in both conventions.

    Returns
    -------
    hrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Kernel normalised to sum 1.

    Notes
    -----
    ``h(t) = g(t; 6, loc=dt) - 0.167 g(t; 16, loc=dt)``, ``dt = t_r / oversampling``,
    normalised to unit sum (see ``_gamma_difference_hrf``).

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``spm_hrf``:
    ``_gamma_difference_hrf(tr, oversampling, time_length, onset)``; nilearn 0.14.1 identical.
    """
    t_r, oversampling, time_length, onset = _check_hrf_arguments(
        t_r, oversampling, time_length, onset
    )
    choices = _resolve_convention(convention, HRF_CHOICES)
    return _gamma_difference_hrf(
        t_r,
        oversampling,
        time_length,
        onset,
        ratio=_SPM_RATIO,
        gamma_parametrisation=choices["gamma_parametrisation"],
        **_SPM_PARAMETERS,
    )


def glover_hrf(
    t_r: float,
    oversampling: int = 50,
    time_length: float = 32.0,
    onset: float = 0.0,
    convention: str | Mapping = "nistats",
) -> np.ndarray:
    """Glover (1999) HRF sampled on the oversampled grid.

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
    hrf : ndarray of shape (rint(time_length * oversampling / t_r),)
        Kernel normalised to sum 1.

    Notes
    -----
    nistats: ``h(t) = g(t; 6/0.9, loc=dt/0.9, scale=1) - 0.35 g(t; 12/0.9, loc=dt/0.9, scale=1)``.
    nilearn: ``h(t) = g(t; 6/0.9, loc=dt, scale=0.9) - 0.48 g(t; 12/0.9, loc=dt, scale=0.9)``.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``glover_hrf``:
    ``_gamma_difference_hrf(tr, oversampling, time_length, onset, delay=6, undershoot=12.,
    dispersion=.9, u_dispersion=.9, ratio=.35)``; nilearn 0.14.1 ``glover_hrf`` with
    ``ratio=0.48`` (nilearn PR #4452) and the PR #3297 gamma parametrisation.
    """
    t_r, oversampling, time_length, onset = _check_hrf_arguments(
        t_r, oversampling, time_length, onset
    )
    choices = _resolve_convention(convention, HRF_CHOICES)
    return _gamma_difference_hrf(
        t_r,
        oversampling,
        time_length,
        onset,
        ratio=choices["glover_ratio"],
        gamma_parametrisation=choices["gamma_parametrisation"],
        **_GLOVER_PARAMETERS,
    )


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
    t_r, oversampling, time_length, onset = _check_hrf_arguments(
        t_r, oversampling, time_length, onset
    )
    early = spm_hrf(t_r, oversampling, time_length, onset, convention)
    late = spm_hrf(t_r, oversampling, time_length, onset + _TIME_STEP, convention)
    return 1.0 / _TIME_STEP * (early - late)


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
    t_r, oversampling, time_length, onset = _check_hrf_arguments(
        t_r, oversampling, time_length, onset
    )
    early = glover_hrf(t_r, oversampling, time_length, onset, convention)
    late = glover_hrf(t_r, oversampling, time_length, onset + _TIME_STEP, convention)
    return 1.0 / _TIME_STEP * (early - late)


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
    t_r, oversampling, time_length, onset = _check_hrf_arguments(
        t_r, oversampling, time_length, onset
    )
    choices = _resolve_convention(convention, HRF_CHOICES)
    common = {
        "delay": 6.0,
        "undershoot": 16.0,
        "u_dispersion": 1.0,
        "ratio": _SPM_RATIO,
        "gamma_parametrisation": choices["gamma_parametrisation"],
    }
    base = _gamma_difference_hrf(t_r, oversampling, time_length, onset, dispersion=1.0, **common)
    wider = _gamma_difference_hrf(
        t_r, oversampling, time_length, onset, dispersion=1.0 + _DISPERSION_STEP, **common
    )
    # -a + b and b - a are the same IEEE-754 operation.
    return 1.0 / _DISPERSION_STEP * (base - wider)


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
    t_r, oversampling, time_length, onset = _check_hrf_arguments(
        t_r, oversampling, time_length, onset
    )
    choices = _resolve_convention(convention, HRF_CHOICES)
    common = {
        "delay": 6.0,
        "undershoot": 12.0,
        "u_dispersion": 1.0,
        "ratio": choices["glover_ratio"],
        "gamma_parametrisation": choices["gamma_parametrisation"],
    }
    base = _gamma_difference_hrf(t_r, oversampling, time_length, onset, dispersion=0.9, **common)
    wider = _gamma_difference_hrf(
        t_r, oversampling, time_length, onset, dispersion=0.9 + _DISPERSION_STEP, **common
    )
    return 1.0 / _DISPERSION_STEP * (base - wider)


def hrf_kernel(
    hrf_model: str | None,
    t_r: float,
    oversampling: int = 50,
    fir_delays: list[int] | None = None,
    convention: str | Mapping = "nistats",
) -> list[np.ndarray]:
    """List of convolution kernels for an HRF model.

    Parameters
    ----------
    hrf_model : str or None
        One of ``HRF_MODELS`` (case-insensitive).
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    fir_delays : list of int, optional
        Delays in scans; required for ``'fir'``.
    convention : str or mapping, default='nistats'
        See ``HRF_CHOICES``.

    Returns
    -------
    kernels : list of ndarray
        ``[hrf]``, ``[hrf, time derivative]`` or ``[hrf, time derivative, dispersion
        derivative]`` for the SPM/Glover models; for ``'fir'`` one kernel per delay ``f``,
        ``k_f = [0] * (f * oversampling) + [1 / oversampling] * oversampling``; for ``None``
        the unit impulse ``[1, 0, ..., 0]`` of length ``oversampling``.

    Notes
    -----
    Source: nistats 0.0.1rc0 hemodynamic_models.py ``_hrf_kernel``; FIR:
    ``np.hstack((np.zeros(f * oversampling), np.ones(oversampling) * 1. / oversampling))``;
    None: ``np.hstack((1, np.zeros(oversampling - 1)))``. nilearn 0.14.1 identical for
    these models (it also accepts callables, which refglm does not).
    """
    hrf_model = _check_hrf_model(hrf_model)
    t_r = _check_positive(t_r, "t_r", "pass the repetition time in seconds, e.g. t_r=2.0")
    oversampling = _check_oversampling(oversampling)
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    _resolve_convention(convention, HRF_CHOICES)
    if hrf_model is None:
        return [np.hstack((1, np.zeros(oversampling - 1)))]
    if hrf_model == "fir":
        return [
            np.hstack((np.zeros(f * oversampling), np.ones(oversampling) * 1.0 / oversampling))
            for f in fir_delays
        ]
    family = hrf_model.split(" + ")[0]
    functions = {
        "spm": (spm_hrf, spm_time_derivative, spm_dispersion_derivative),
        "glover": (glover_hrf, glover_time_derivative, glover_dispersion_derivative),
    }[family]
    n_kernels = len(hrf_model.split(" + "))
    return [
        function(t_r, oversampling, convention=convention) for function in functions[:n_kernels]
    ]


def regressor_names(
    con_name: str, hrf_model: str | None, fir_delays: list[int] | None = None
) -> list[str]:
    """Column names of the regressors of one condition.

    Parameters
    ----------
    con_name : str
        Condition name.
    hrf_model : str or None
        One of ``HRF_MODELS``.
    fir_delays : list of int, optional
        Delays in scans; required for ``'fir'``.

    Returns
    -------
    names : list of str
        ``[c]``, ``[c, c_derivative]``, ``[c, c_derivative, c_dispersion]`` or
        ``[c_delay_d for d in fir_delays]``.

    Notes
    -----
    Source: nistats 0.0.1rc0 hemodynamic_models.py ``_regressor_names`` (FIR:
    ``con_name + "_delay_%d" % i``); nilearn 0.14.1 identical for these models.
    """
    hrf_model = _check_hrf_model(hrf_model)
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    con_name = str(con_name)
    if hrf_model == "fir":
        return [f"{con_name}_delay_{delay:d}" for delay in fir_delays]
    if hrf_model is None or " + " not in hrf_model:
        return [con_name]
    suffixes = ["", "_derivative", "_dispersion"][: len(hrf_model.split(" + "))]
    return [con_name + suffix for suffix in suffixes]


# ---------------------------------------------------------------------------
# Event regressors
# ---------------------------------------------------------------------------


def estimate_t_r(frame_times: np.ndarray, convention: str | Mapping = "nistats") -> float:
    """Repetition time that the event regressors use to build the HRF kernel.

    Parameters
    ----------
    frame_times : array of shape (n_scans,)
        Acquisition times in seconds, strictly increasing, first >= 0.
    convention : str or mapping, default='nistats'
        Selects ``t_r_estimate`` (see ``HRF_CHOICES``).

    Returns
    -------
    t_r : float
        ``'max_over_n_minus_1'``: ``max(frame_times) / (n_scans - 1)``;
        ``'min_diff'``: ``min_i (frame_times[i + 1] - frame_times[i])``.

    Notes
    -----
    Source: nistats 0.0.1rc0 hemodynamic_models.py ``compute_regressor``:
    ``tr = float(frame_times.max()) / (np.size(frame_times) - 1)``; nilearn 0.14.1
    ``_calculate_tr``: ``float(np.min(np.diff(frame_times)))`` (nilearn PR #3362).
    The nistats estimate equals the true TR only when the first frame time is 0.
    """
    frame_times = _check_frame_times(frame_times)
    choices = _resolve_convention(convention, HRF_CHOICES)
    return _estimate_t_r(frame_times, choices["t_r_estimate"])


def _estimate_t_r(frame_times: np.ndarray, rule: str) -> float:
    if rule == "max_over_n_minus_1":
        t_r = float(frame_times.max()) / (np.size(frame_times) - 1)
    else:
        t_r = float(np.min(np.diff(frame_times)))
    if not t_r > 0:
        raise _input_error(
            "frame_times",
            "a last frame time > 0 (the HRF kernel uses t_r = max(frame_times) / (n - 1))",
            f"t_r estimate {t_r!r}",
            "count frame times from the run start, e.g. np.arange(n_scans) * t_r",
        )
    return t_r


def _sample_condition(
    exp_condition: tuple[np.ndarray, np.ndarray, np.ndarray],
    frame_times: np.ndarray,
    oversampling: int = 50,
    min_onset: float = -24.0,
    onset_accumulation: str = "fancy_index",
    n_hr_product: str = "left_to_right",
) -> tuple[np.ndarray, np.ndarray]:
    """High-resolution boxcar of one condition and its time grid.

    Parameters
    ----------
    exp_condition : tuple of 3 arrays
        ``(onsets, durations, amplitudes)`` in seconds, seconds, arbitrary units.
    frame_times : ndarray of shape (n_scans,)
        Checked acquisition times.
    oversampling : int
        Temporal oversampling factor.
    min_onset : float
        Start of the grid relative to ``frame_times[0]`` (seconds, <= 0).
    onset_accumulation : {'fancy_index', 'sequential'}
        See the module docstring.
    n_hr_product : {'left_to_right', 'grouped'}
        See the module docstring.

    Returns
    -------
    regressor : ndarray of shape (n_hr,)
        Boxcar ``sum_e a_e 1[t_on(e) <= j < t_off(e)]`` on the grid.
    hr_frame_times : ndarray of shape (n_hr,)
        ``linspace(min(ft) + min_onset, max(ft) * (1 + 1/(n-1)), n_hr)`` with
        ``n_hr = rint((n - 1) / (max - min) * (max (1 + 1/(n-1)) - min - min_onset)
        * oversampling + 1)``.

    Notes
    -----
    ``t_on = min(searchsorted(hr, onset), n_hr - 1)``, ``t_off = min(searchsorted(hr,
    onset + duration), n_hr - 1)``, bumped by one sample when it equals ``t_on`` and is
    not the last sample; ``regressor = cumsum(+a at t_on, -a at t_off)``.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``_sample_condition`` (lines 262-300);
    nilearn 0.14.1 ``_sample_condition`` / ``_compute_n_frames_high_res`` (PR #2553 loop).
    """
    n = frame_times.size
    min_onset = float(min_onset)
    if n_hr_product == "left_to_right":
        # nistats 0.0.1rc0: n_hr = ((n - 1) * 1. / (frame_times.max() - frame_times.min())
        #   * (frame_times.max() * (1 + 1. / (n - 1)) - frame_times.min() - min_onset)
        #   * oversampling) + 1
        n_hr = (
            (n - 1)
            * 1.0
            / (frame_times.max() - frame_times.min())
            * (frame_times.max() * (1 + 1.0 / (n - 1)) - frame_times.min() - min_onset)
            * oversampling
        ) + 1
    else:
        # nilearn 0.14.1 _compute_n_frames_high_res
        mini, maxi = np.min(frame_times), np.max(frame_times)
        n_hr = (n - 1) * 1.0 / (maxi - mini)
        n_hr *= (maxi * (1 + 1.0 / (n - 1)) - mini - min_onset) * oversampling
        n_hr = n_hr + 1

    hr_frame_times = np.linspace(
        frame_times.min() + min_onset,
        frame_times.max() * (1 + 1.0 / (n - 1)),
        np.rint(n_hr).astype(int),
    )

    onsets, durations, values = tuple(map(np.asanyarray, exp_condition))
    if (onsets < frame_times[0] + min_onset).any():
        warnings.warn(
            f"Some stimulus onsets are earlier than {frame_times[0] + min_onset} s; as in "
            "nistats/nilearn they are moved to the first high-resolution sample.",
            UserWarning,
            stacklevel=3,
        )

    tmax = len(hr_frame_times)
    regressor = np.zeros_like(hr_frame_times).astype(float)
    t_onset = np.minimum(np.searchsorted(hr_frame_times, onsets), tmax - 1)
    if onset_accumulation == "fancy_index":
        regressor[t_onset] += values
    else:
        for t, v in zip(t_onset, values, strict=True):
            regressor[t] += v
    t_offset = np.minimum(np.searchsorted(hr_frame_times, onsets + durations), tmax - 1)

    # Handle the case where duration is 0 by offsetting at t + 1 (both sources).
    for i, t in enumerate(t_offset):
        if t < (tmax - 1) and t == t_onset[i]:
            t_offset[i] += 1

    if onset_accumulation == "fancy_index":
        regressor[t_offset] -= values
    else:
        for t, v in zip(t_offset, values, strict=True):
            regressor[t] -= v
    regressor = np.cumsum(regressor)
    return regressor, hr_frame_times


def _resample_regressor(
    hr_regressor: np.ndarray, hr_frame_times: np.ndarray, frame_times: np.ndarray
) -> np.ndarray:
    """Linear interpolation of high-resolution regressors at the frame times.

    Source: nistats 0.0.1rc0 ``_resample_regressor``:
    ``interp1d(hr_frame_times, hr_regressor)(frame_times).T``; nilearn 0.14.1 identical.
    """
    return interp1d(hr_frame_times, hr_regressor)(frame_times).T


def orthogonalize(X: np.ndarray) -> np.ndarray:
    """Orthogonalise every column of ``X`` with respect to the preceding columns.

    Parameters
    ----------
    X : array of shape (n, p)
        Columns to orthogonalise. Not modified (the sources work in place; refglm
        works on a copy with the same memory layout).

    Returns
    -------
    X_orth : ndarray of shape (n, p)
        ``x_i <- x_i - (x_i^T X_{<i}) pinv(X_{<i})`` for ``i = 1 .. p-1``, i.e. the residual
        of the least-squares projection of column ``i`` on the columns before it (already
        orthogonalised). Columns are not normalised.

    Notes
    -----
    Source: nistats 0.0.1rc0 hemodynamic_models.py ``_orthogonalize``:
    ``X[:, i] -= np.dot(np.dot(X[:, i], X[:, :i]), pinv(X[:, :i]))`` with
    ``scipy.linalg.pinv``; nilearn 0.14.1 ``orthogonalize`` identical.
    """
    X = np.array(X, dtype=float, copy=True, order="K")
    if X.size == X.shape[0]:
        return X
    for i in range(1, X.shape[1]):
        X[:, i] -= np.dot(np.dot(X[:, i], X[:, :i]), pinv(X[:, :i]))
    return X


def _check_exp_condition(exp_condition: object, frame_times: np.ndarray, con_id: str) -> tuple:
    field = f"exp_condition (condition {con_id!r})"
    try:
        parts = [np.asarray(part, dtype=float) for part in exp_condition]
    except (TypeError, ValueError):
        raise _input_error(
            field,
            "three numeric sequences (onsets, durations, amplitudes)",
            "values that cannot be converted to float",
            "pass numeric onsets, durations and amplitudes",
        ) from None
    if len(parts) != 3 or any(p.ndim != 1 for p in parts) or len({p.size for p in parts}) != 1:
        raise _input_error(
            field,
            "three 1-D sequences of equal length (onsets, durations, amplitudes)",
            f"shapes {[p.shape for p in parts]}",
            "pass (onsets, durations, amplitudes) with one entry per event",
        )
    onsets, durations, values = parts
    if onsets.size == 0:
        raise _input_error(
            field, "at least one event", "no events", "drop the condition or add its events"
        )
    for name, part in (("onsets", onsets), ("durations", durations), ("amplitudes", values)):
        if not np.all(np.isfinite(part)):
            raise _input_error(
                f"{field} {name}",
                "finite values",
                f"{int(np.sum(~np.isfinite(part)))} NaN/inf value(s)",
                f"fill in or drop the events with missing {name}",
            )
    if np.any(durations < 0):
        raise _input_error(
            f"{field} durations",
            "durations >= 0 s",
            f"minimum duration {durations.min()!r}",
            "fix the negative durations (0 models an impulse)",
        )
    if np.all(onsets > frame_times.max()):
        raise _input_error(
            f"{field} onsets",
            f"at least one onset at or before the last frame time {frame_times.max()!r} s",
            f"all onsets after the run's end (earliest {onsets.min()!r} s)",
            "use onsets relative to this run's start, or drop the condition from this run",
        )
    return onsets, durations, values


def compute_regressor(
    exp_condition: tuple,
    hrf_model: str | None,
    frame_times: np.ndarray,
    con_id: str = "cond",
    oversampling: int = 50,
    fir_delays: list[int] | None = None,
    min_onset: float = -24.0,
    convention: str | Mapping = "nistats",
) -> tuple[np.ndarray, list[str]]:
    """Convolve one condition with an HRF model and sample it at the frame times.

    Parameters
    ----------
    exp_condition : tuple of 3 array-likes
        ``(onsets, durations, amplitudes)`` of the condition's events.
    hrf_model : str or None
        One of ``HRF_MODELS``.
    frame_times : array of shape (n_scans,)
        Acquisition times in seconds (strictly increasing, first >= 0).
    con_id : str, default='cond'
        Condition name used for the regressor names.
    oversampling : int, default=50
        Temporal oversampling factor.
    fir_delays : list of int, optional
        Delays in scans; required for ``'fir'``.
    min_onset : float, default=-24
        Start of the high-resolution grid relative to ``frame_times[0]`` (seconds, <= 0).
    convention : str or mapping, default='nistats'
        ``'nistats'``, ``'nilearn'`` or a mapping of the choices in ``HRF_CHOICES``.

    Returns
    -------
    regressors : ndarray of shape (n_scans, n_regressors)
        Sampled regressors.
    names : list of str
        Their names (see ``regressor_names``).

    Notes
    -----
    With ``b`` the boxcar of ``_sample_condition`` on the grid ``hr`` and ``k_m`` the
    kernels of ``hrf_kernel(hrf_model, t_r)`` (``t_r`` from ``estimate_t_r``):
    ``r_m = interp1d(hr, (b * k_m)[:n_hr])(frame_times)`` (causal discrete convolution,
    linear interpolation), then ``orthogonalize([r_1, r_2, ...])`` except for FIR. For FIR
    with ``oversampling > 1`` the convolution and grid are shifted by ``oversampling - 1``
    samples before interpolation.

    Source: nistats 0.0.1rc0 hemodynamic_models.py ``compute_regressor`` (steps 1-6);
    nilearn 0.14.1 ``compute_regressor`` identical apart from the ``HRF_CHOICES``.
    """
    hrf_model = _check_hrf_model(hrf_model)
    frame_times = _check_frame_times(frame_times)
    oversampling = _check_oversampling(oversampling)
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    min_onset = _check_finite(min_onset, "min_onset", "pass a value <= 0 such as -24")
    if min_onset > 0:
        raise _input_error(
            "min_onset",
            "a value <= 0 s (the high-resolution grid must start before the first scan)",
            repr(min_onset),
            "pass min_onset=-24 (the nistats/nilearn default)",
        )
    choices = _resolve_convention(convention, HRF_CHOICES)
    exp_condition = _check_exp_condition(exp_condition, frame_times, str(con_id))

    # this is the average tr in this session, not necessarily the true tr (nistats)
    t_r = _estimate_t_r(frame_times, choices["t_r_estimate"])

    # 1. create the high temporal resolution regressor
    hr_regressor, hr_frame_times = _sample_condition(
        exp_condition,
        frame_times,
        oversampling,
        min_onset,
        onset_accumulation=choices["onset_accumulation"],
        n_hr_product=choices["n_hr_product"],
    )

    # 2. create the hrf model(s)
    kernels = hrf_kernel(hrf_model, t_r, oversampling, fir_delays, convention=choices)

    # 3. convolve the regressor and hrf, and downsample the regressor
    conv_reg = np.array([np.convolve(hr_regressor, h)[: hr_regressor.size] for h in kernels])

    # 4. temporally resample the regressors
    if hrf_model == "fir" and oversampling > 1:
        regressors = _resample_regressor(
            conv_reg[:, oversampling - 1 :], hr_frame_times[: 1 - oversampling], frame_times
        )
    else:
        regressors = _resample_regressor(conv_reg, hr_frame_times, frame_times)

    # 5. orthogonalize the regressors
    if hrf_model != "fir":
        regressors = orthogonalize(regressors)

    # 6. generate regressor names
    names = regressor_names(con_id, hrf_model, fir_delays=fir_delays)
    return regressors, names
