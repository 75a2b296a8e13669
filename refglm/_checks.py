"""Argument checks shared by the design-matrix modules.

``hrf_shapes``, ``hrf_derivatives``, ``hrf``, ``regressors``, ``drifts``, ``events``
and ``design`` validate their arguments with these helpers, so that one kind of bad
input gives one error message wherever it is passed. Every error is an
:class:`~refglm.exceptions.InputError` naming the field, what was expected, what was
found and the fix.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Mapping

import numpy as np

from refglm.exceptions import InputError

# Python ints are unbounded; float() of one beyond ~1.8e308 raises OverflowError, and
# numpy refuses them (np.isfinite(10**400) is a TypeError). Above this many digits an
# integer is described by its size, not written out (repr() itself refuses ints of more
# than 4300 digits).
_LONGEST_SHOWN_INT = 30


def _int_digits(value: int) -> int:
    """The number of decimal digits of ``abs(value)``, without converting it to text."""
    magnitude = abs(int(value))
    if magnitude == 0:
        return 1
    digits = int(magnitude.bit_length() * math.log10(2))  # within 1 of the count
    return digits + 1 if magnitude >= 10**digits else digits


def _fmt(value: object) -> str:
    """A number as a reader would write it: ``2.5``, not ``np.float64(2.5)``.

    An integer too large for a float is described by its size
    (``an integer too large for a float (401 digits)``), one of more than 30
    digits by its length, so that a message never holds hundreds of digits.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        value = int(value)
        digits = _int_digits(value)
        if _as_float(value) is None:
            return f"an integer too large for a float ({digits} digits)"
        if digits > _LONGEST_SHOWN_INT:
            return f"an integer of {digits} digits"
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else repr(value)
    if isinstance(value, numbers.Real) and _as_float(value) is None:
        return f"{type(value).__name__} too large for a float"
    return repr(value)


def _input_error(field: str, expected: str, found: object, fix: str) -> InputError:
    """Build an InputError naming the field, what was expected, what was found and the fix."""
    return InputError(f"{field}: expected {expected}; found {found}. Fix: {fix}")


def _is_real_number(value: object) -> bool:
    """Whether ``value`` is a real number (Python or numpy; not a bool, not a string)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _as_float(value: object) -> float | None:
    """``float(value)`` for a real number, or None when it has no float (too large).

    Python ints and Fractions beyond the float range raise OverflowError in
    ``float()``; they are the only reals whose conversion fails.
    """
    try:
        return float(value)  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        return None


def _finite_float(value: object) -> float | None:
    """``value`` as a finite float, or None (not a real number, NaN, infinite, too large)."""
    if not _is_real_number(value):
        return None
    number = _as_float(value)
    if number is None or not math.isfinite(number):
        return None
    return number


def _is_whole_number(value: object, minimum: int) -> bool:
    """Whether ``value`` is a finite real number ``>= minimum`` with no fractional part.

    Integers too large for a float are not (nothing in refglm can use them).
    """
    number = _finite_float(value)
    return number is not None and number >= minimum and number == math.floor(number)


def _check_positive(value: object, field: str, fix: str) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0."""
    number = _finite_float(value)
    if number is None or number <= 0:
        raise _input_error(field, "a finite number > 0", _fmt(value), fix)
    return number


def _check_finite(value: object, field: str, fix: str) -> float:
    """Return ``value`` as a float after checking it is a finite number."""
    number = _finite_float(value)
    if number is None:
        raise _input_error(field, "a finite number", _fmt(value), fix)
    return number


def _check_nonnegative(value: object, field: str, fix: str, maximum: float | None = None) -> float:
    """Return ``value`` as a float after checking it is a finite number >= 0 (<= ``maximum``).

    For sizes and distances (``cluster_threshold``, ``min_distance``): Python
    ints of any size, numpy scalars and floats are accepted when they lie in
    the range; bools, strings, NaN, infinities and integers too large for a
    float are refused.
    """
    number = _finite_float(value)
    if maximum is None:
        if number is None or number < 0:
            raise _input_error(field, "a finite number >= 0", _fmt(value), fix)
    elif number is None or not 0 <= number <= maximum:
        raise _input_error(field, f"a finite number >= 0 and <= {_fmt(maximum)}", _fmt(value), fix)
    return number


# The fit is CPU-bound and every loky worker is a process with numpy and statsmodels
# loaded (about 100 MB each): workers beyond the CPUs only cost memory and start-up time
# (`--n-jobs 99999` started more than 1000 and was killed for lack of memory). Four per
# CPU still allows oversubscription (n_jobs=2 on a one-CPU CI runner, hyperthreads).
_WORKERS_PER_CPU = 4
# Backends whose workers are started on this machine; any other (the Dask backend) runs
# the chunks on a cluster's workers, whose number is not this machine's CPUs.
_LOCAL_BACKENDS = (None, "loky", "multiprocessing", "threading", "sequential")
# Chunks in flight on a cluster (joblib's Dask backend submits n_jobs at a time).
_MAX_REMOTE_JOBS = 4096


def _cpu_count() -> int:
    """CPUs this process may use (affinity and cgroup quotas included), as joblib counts them."""
    try:
        from joblib import cpu_count

        return max(1, int(cpu_count()))
    except Exception:  # noqa: BLE001 - joblib unusable here: fall back to the OS count
        return max(1, os.cpu_count() or 1)


def _check_n_jobs(n_jobs: object, field: str = "n_jobs", backend: str | None = None) -> int:
    """Return ``n_jobs`` as an int after checking it is a worker count refglm can start.

    With a local ``backend`` (None, loky, ...): 1 to 4 workers per CPU this
    process may use (joblib's ``cpu_count``, which honours CPU affinity and
    cgroup quotas), or -1 (every CPU) to -CPUs (counted back from the CPUs,
    as in joblib: -2 is all but one). With a remote backend (``'dask'``) the
    workers are the cluster's: -1 (every worker of the cluster) or 1 to 4096.

    Raises
    ------
    InputError
        Naming ``field``: a bool, a non-integer, 0, or a count beyond the bounds.
    """
    cpus = _cpu_count()
    if backend in _LOCAL_BACKENDS:
        minimum, maximum = -cpus, _WORKERS_PER_CPU * cpus
        expected = (
            f"a whole number of workers from 1 to {maximum} ({_WORKERS_PER_CPU} per CPU; "
            f"{cpus} CPU(s) here), or from -1 (every CPU) to -{cpus} (counted back from "
            "the CPUs, as in joblib)"
        )
    else:
        minimum, maximum = -1, _MAX_REMOTE_JOBS
        expected = (
            f"a whole number of workers from 1 to {maximum}, or -1 (every worker of the "
            f"{backend} cluster)"
        )
    if (
        not isinstance(n_jobs, numbers.Integral)
        or isinstance(n_jobs, bool | np.bool_)
        or int(n_jobs) == 0
        or not minimum <= int(n_jobs) <= maximum
    ):
        found = _fmt(n_jobs) if _is_real_number(n_jobs) else f"{type(n_jobs).__name__} {n_jobs!r}"
        raise _input_error(
            field, expected, found, "pass e.g. 1 (one worker), or -1 for one worker per CPU"
        )
    return int(n_jobs)


def _check_oversampling(oversampling: object) -> int:
    if not _is_whole_number(oversampling, 1):
        raise _input_error(
            "oversampling",
            "a whole number >= 1",
            _fmt(oversampling),
            "pass an integer such as 50 (the nistats/nilearn default)",
        )
    return int(oversampling)


def _check_model(model: object, models: tuple, field: str, tutorial_value: str) -> str | None:
    """Return ``model`` (lower-cased if a string) after checking it is one of ``models``."""
    if isinstance(model, str):
        model = model.lower()
    if model not in models:
        raise _input_error(
            field,
            f"one of {list(models)}",
            repr(model),
            f"choose one of the listed models (the nistats tutorial uses {tutorial_value!r})",
        )
    return model


def _check_all_finite(values: np.ndarray, field: str, fix: str) -> None:
    if not np.all(np.isfinite(values)):
        raise _input_error(
            field, "finite values", f"{int(np.sum(~np.isfinite(values)))} NaN/inf value(s)", fix
        )


def _check_durations(durations: np.ndarray, field: str) -> None:
    if np.any(durations < 0):
        raise _input_error(
            field,
            "durations >= 0 s",
            f"minimum duration {_fmt(durations.min())} s",
            "fix the negative durations (0 models an impulse)",
        )


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
            f"first frame time {_fmt(values[0])}",
            "subtract the run start so that the first scan is at 0 s (plus slice_time_ref * t_r)",
        )
    return values


def _resolve_convention(
    convention: str | Mapping, table: Mapping[str, Mapping[str, object]]
) -> dict[str, object]:
    """Return the choices of ``table`` selected by a convention name or a mapping of choices.

    ``table`` maps a convention name to its value for every choice (``hrf_shapes.HRF_CHOICES``,
    ``design.DESIGN_CHOICES``). A mapping must hold every choice of ``table`` (other keys are
    ignored, so one mapping can hold the choices of several tables); a numeric choice accepts
    any finite number > 0, any other choice one of the values the table lists for it.
    """
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
