"""Haemodynamic response functions and event regressors.

This module and the ones it re-exports reproduce, operation for operation, two
reference implementations:

``'nistats'`` (the default)
    nistats 0.0.1rc0, ``nistats/hemodynamic_models.py``. This is the code the
    nistats tutorial on the SPM auditory dataset ran.
``'nilearn'``
    nilearn 0.14.1, ``nilearn/glm/first_level/hemodynamic_models.py``.

Every place where the two differ is one named *choice*; ``HRF_CHOICES`` maps a
convention name to its value for each choice, so that a convention can be
selected by name or assembled choice by choice from a mapping. Each choice is
described in the module that implements it:

==========================  =========================================================
module                      contents
==========================  =========================================================
``refglm.glm.design.hrf_shapes``       ``spm_hrf``, ``glover_hrf``, ``HRF_CHOICES``; the choices
                            ``gamma_parametrisation`` and ``glover_ratio``
``refglm.glm.design.hrf_derivatives``  time and dispersion derivatives of both HRFs
``refglm.glm.design.hrf`` (here)       ``HRF_MODELS``, ``hrf_kernel``, ``regressor_names``,
                            ``compute_regressor``
``refglm.glm.design.sampling``       ``estimate_t_r``, the high-resolution boxcar, convolution,
                            resampling, ``orthogonalize``; the choices
                            ``t_r_estimate``, ``onset_accumulation``, ``n_hr_product``
==========================  =========================================================

All the public names of these modules are importable from ``refglm.glm.design.hrf``, and so are
the private helpers ``_gamma_difference_hrf`` and ``_resample_regressor`` (re-exported
with ``import ... as ...``), which were defined here before the split.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from refglm._validate import check_finite, input_error, is_whole_number
from refglm.glm.design._validate import (
    check_frame_times,
    check_model,
    check_oversampling,
    resolve_convention,
)
from refglm.glm.design.formulas import HRF_CHOICES
from refglm.glm.design.hrf_derivatives import (
    glover_dispersion_derivative,
    glover_time_derivative,
    spm_dispersion_derivative,
    spm_time_derivative,
)
from refglm.glm.design.hrf_shapes import _check_t_r, glover_hrf, spm_hrf
from refglm.glm.design.sampling import (
    _check_exp_condition,
    _convolve_and_resample,
    _estimate_t_r,
    _sample_condition,
    orthogonalize,
)

__all__ = ["HRF_MODELS", "compute_regressor", "hrf_kernel", "regressor_names"]

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


def _custom_hrfs(hrf_model: object) -> tuple | None:
    """The callables of a custom HRF model (one callable, or a list of them), else None."""
    if callable(hrf_model):
        return (hrf_model,)
    if isinstance(hrf_model, list | tuple) and hrf_model and all(callable(f) for f in hrf_model):
        return tuple(hrf_model)
    return None


def _check_hrf_model(hrf_model: object):
    """``hrf_model`` lower-cased (a name of ``HRF_MODELS``), or a custom model unchanged.

    A custom model is a callable ``f(t_r, oversampling) -> kernel`` or a non-empty
    list of them (nilearn 0.14.1 ``_hrf_kernel``: ``callable(hrf_model)``, or an
    iterable of callables).
    """
    if _custom_hrfs(hrf_model) is not None:
        return hrf_model
    return check_model(hrf_model, HRF_MODELS, "hrf_model", "spm")


def _check_fir_delays(fir_delays: object, hrf_model) -> list[int] | None:
    if fir_delays is None:
        # nilearn 0.14.1 design_matrix.py make_first_level_design_matrix and
        # FirstLevelModel.fit: fir_delays None -> [0]
        return [0] if isinstance(hrf_model, str) and hrf_model == "fir" else None
    delays = list(np.atleast_1d(np.asarray(fir_delays, dtype=object)))
    for delay in delays:
        if not is_whole_number(delay, 0):
            raise input_error(
                "fir_delays",
                "non-negative whole numbers of scans",
                repr(fir_delays),
                "pass e.g. fir_delays=[0, 1, 2]",
            )
    # nistats 0.0.1rc0 compute_regressor: fir_delays = [int(x) for x in fir_delays]
    return [int(delay) for delay in delays]


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
    hrf_model : str, None, callable or list of callables
        One of ``HRF_MODELS`` (case-insensitive), or a custom model: a callable
        ``f(t_r, oversampling)`` returning its kernel, or a list of them.
    t_r : float
        Repetition time in seconds (> 0).
    oversampling : int, default=50
        Temporal oversampling factor.
    fir_delays : list of int, optional
        Delays in scans for ``'fir'`` (None: ``[0]``).
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
    these models; a custom model gives ``[f(t_r, oversampling) for f in models]``, and a
    TypeError in that call is refused (nilearn 0.14.1 ``_hrf_kernel``: "Could not
    process custom HRF model provided").
    """
    hrf_model = _check_hrf_model(hrf_model)
    t_r = _check_t_r(t_r)
    oversampling = check_oversampling(oversampling)
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    resolve_convention(convention, HRF_CHOICES)
    custom = _custom_hrfs(hrf_model)
    if custom is not None:
        try:
            return [np.asarray(f(t_r, oversampling), dtype=np.float64) for f in custom]
        except TypeError as exc:
            raise input_error(
                "hrf_model",
                "a callable f(t_r, oversampling) returning the HRF kernel (or a list of them)",
                f"{hrf_model!r}, whose call raised TypeError: {exc}",
                "define the function with the parameters (t_r, oversampling=50)",
            ) from exc
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
    hrf_model : str, None, callable or list of callables
        One of ``HRF_MODELS``, or a custom model (see :func:`hrf_kernel`).
    fir_delays : list of int, optional
        Delays in scans for ``'fir'`` (None: ``[0]``).

    Returns
    -------
    names : list of str
        ``[c]``, ``[c, c_derivative]``, ``[c, c_derivative, c_dispersion]``,
        ``[c_delay_d for d in fir_delays]``, or ``[c_<f.__name__> for f in models]`` for a
        custom model.

    Notes
    -----
    Source: nistats 0.0.1rc0 hemodynamic_models.py ``_regressor_names`` (FIR:
    ``con_name + "_delay_%d" % i``); nilearn 0.14.1 identical for these models, and
    ``f"{con_name}_{hrf_model.__name__}"`` for custom ones, whose names must be unique.
    """
    hrf_model = _check_hrf_model(hrf_model)
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    con_name = str(con_name)
    custom = _custom_hrfs(hrf_model)
    if custom is not None:
        names = [f"{con_name}_{getattr(f, '__name__', type(f).__name__)}" for f in custom]
        if len(set(names)) != len(names):
            raise input_error(
                "hrf_model",
                "custom HRF functions with distinct __name__ (they name the columns)",
                f"the columns {names}",
                "give each function its own name",
            )
        return names
    if hrf_model == "fir":
        return [f"{con_name}_delay_{delay:d}" for delay in fir_delays]
    if hrf_model is None or " + " not in hrf_model:
        return [con_name]
    suffixes = ["", "_derivative", "_dispersion"][: len(hrf_model.split(" + "))]
    return [con_name + suffix for suffix in suffixes]


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
    frame_times = check_frame_times(frame_times)
    oversampling = check_oversampling(oversampling)
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    min_onset = check_finite(min_onset, "min_onset", "pass a value <= 0 such as -24")
    if min_onset > 0:
        raise input_error(
            "min_onset",
            "a value <= 0 s (the high-resolution grid must start before the first scan)",
            repr(min_onset),
            "pass min_onset=-24 (the nistats/nilearn default)",
        )
    choices = resolve_convention(convention, HRF_CHOICES)
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

    # 3. convolve the regressor and hrf, and 4. temporally resample the regressors
    is_fir = isinstance(hrf_model, str) and hrf_model == "fir"
    fir_shift = oversampling - 1 if is_fir and oversampling > 1 else 0
    regressors = _convolve_and_resample(
        hr_regressor, hr_frame_times, kernels, frame_times, fir_shift
    )

    # 5. orthogonalize the regressors
    if not (isinstance(hrf_model, str) and hrf_model == "fir"):
        regressors = orthogonalize(regressors)

    # 6. generate regressor names
    names = regressor_names(con_id, hrf_model, fir_delays=fir_delays)
    return regressors, names
