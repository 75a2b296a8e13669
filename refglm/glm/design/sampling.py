"""Event regressors: sample a condition on the high-resolution grid, convolve, resample.

The steps of nistats 0.0.1rc0 ``nistats/hemodynamic_models.py`` ``compute_regressor``
(convention ``'nistats'``) and nilearn 0.14.1
``nilearn/glm/first_level/hemodynamic_models.py`` (convention ``'nilearn'``) that do not
depend on the HRF model; :func:`refglm.glm.design.hrf.compute_regressor` chains them with the HRF
kernels. Public names are re-exported by :mod:`refglm.glm.design.hrf`. Three of the choices in
``HRF_CHOICES`` act here:

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
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from refglm._validate import fmt, input_error
from refglm.glm.design._validate import (
    check_all_finite,
    check_durations,
    check_frame_times,
    resolve_convention,
)
from refglm.glm.design.formulas import HRF_CHOICES

__all__ = ["estimate_t_r", "orthogonalize"]


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
    frame_times = check_frame_times(frame_times)
    choices = resolve_convention(convention, HRF_CHOICES)
    return _estimate_t_r(frame_times, choices["t_r_estimate"])


def _estimate_t_r(frame_times: np.ndarray, rule: str) -> float:
    if rule == "max_over_n_minus_1":
        t_r = float(frame_times.max()) / (np.size(frame_times) - 1)
    else:
        t_r = float(np.min(np.diff(frame_times)))
    if not t_r > 0:
        raise input_error(
            "frame_times",
            "a last frame time > 0 (the HRF kernel uses t_r = max(frame_times) / (n - 1))",
            f"t_r estimate {t_r!r}",
            "count frame times from the run start, e.g. np.arange(n_scans) * t_r",
        )
    return t_r


def _check_exp_condition(exp_condition: object, frame_times: np.ndarray, con_id: str) -> tuple:
    field = f"exp_condition (condition {con_id!r})"
    try:
        parts = [np.asarray(part, dtype=float) for part in exp_condition]
    except (TypeError, ValueError):
        raise input_error(
            field,
            "three numeric sequences (onsets, durations, amplitudes)",
            "values that cannot be converted to float",
            "pass numeric onsets, durations and amplitudes",
        ) from None
    if len(parts) != 3 or any(p.ndim != 1 for p in parts) or len({p.size for p in parts}) != 1:
        raise input_error(
            field,
            "three 1-D sequences of equal length (onsets, durations, amplitudes)",
            f"shapes {[p.shape for p in parts]}",
            "pass (onsets, durations, amplitudes) with one entry per event",
        )
    onsets, durations, values = parts
    if onsets.size == 0:
        raise input_error(
            field, "at least one event", "no events", "drop the condition or add its events"
        )
    for name, part in (("onsets", onsets), ("durations", durations), ("amplitudes", values)):
        fix = f"fill in or drop the events with missing {name}"
        check_all_finite(part, f"{field} {name}", fix)
    check_durations(durations, f"{field} durations")
    if np.all(onsets > frame_times.max()):
        raise input_error(
            f"{field} onsets",
            f"at least one onset at or before the last frame time {fmt(frame_times.max())} s",
            f"all onsets after the run's end (earliest {fmt(onsets.min())} s)",
            "use onsets relative to this run's start, or drop the condition from this run",
        )
    return onsets, durations, values


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


def _convolve_and_resample(
    hr_regressor: np.ndarray,
    hr_frame_times: np.ndarray,
    kernels: Sequence[np.ndarray],
    frame_times: np.ndarray,
    fir_shift: int = 0,
) -> np.ndarray:
    """Convolve the high-resolution boxcar with each kernel and sample it at the frame times.

    Parameters
    ----------
    hr_regressor, hr_frame_times : ndarray of shape (n_hr,)
        Boxcar and grid from ``_sample_condition``.
    kernels : sequence of ndarray
        Convolution kernels (``refglm.glm.design.hrf.hrf_kernel``).
    frame_times : ndarray of shape (n_scans,)
        Checked acquisition times.
    fir_shift : int, default=0
        ``oversampling - 1`` for FIR models with ``oversampling > 1``, else 0.

    Returns
    -------
    regressors : ndarray of shape (n_scans, n_kernels)
        ``r_m = interp1d(hr[:n_hr - s], (b * k_m)[s:n_hr])(frame_times)`` with ``s =
        fir_shift`` (causal discrete convolution truncated to ``n_hr`` samples, then linear
        interpolation).

    Notes
    -----
    Source: nistats 0.0.1rc0 hemodynamic_models.py ``compute_regressor`` steps 3-4:
    ``conv_reg = np.array([np.convolve(hr_regressor, h)[:hr_regressor.size] for h in hkernel])``;
    FIR with ``oversampling > 1``: ``_resample_regressor(conv_reg[:, oversampling - 1:],
    hr_frame_times[: 1 - oversampling], frame_times)``; nilearn 0.14.1 identical.
    """
    # 3. convolve the regressor and hrf, and downsample the regressor
    conv_reg = np.array([np.convolve(hr_regressor, h)[: hr_regressor.size] for h in kernels])

    # 4. temporally resample the regressors
    if fir_shift > 0:
        return _resample_regressor(
            conv_reg[:, fir_shift:], hr_frame_times[:-fir_shift], frame_times
        )
    return _resample_regressor(conv_reg, hr_frame_times, frame_times)


def _resample_regressor(
    hr_regressor: np.ndarray, hr_frame_times: np.ndarray, frame_times: np.ndarray
) -> np.ndarray:
    """Linear interpolation of high-resolution regressors at the frame times.

    Source: nistats 0.0.1rc0 ``_resample_regressor``:
    ``interp1d(hr_frame_times, hr_regressor)(frame_times).T``; nilearn 0.14.1 identical.
    """
    from scipy.interpolate import interp1d  # on use: the module loads without it (refglm --help)

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
    from scipy.linalg import pinv  # on use: the module loads without it (refglm --help)

    X = np.array(X, dtype=float, copy=True, order="K")
    if X.size == X.shape[0]:
        return X
    for i in range(1, X.shape[1]):
        X[:, i] -= np.dot(np.dot(X[:, i], X[:, :i]), pinv(X[:, :i]))
    return X
