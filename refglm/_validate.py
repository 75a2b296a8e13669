"""Generic argument checks: numbers of any size, bools, probabilities, worker counts.

Every subpackage validates its arguments with these helpers, so that one kind of
bad input gives one error message wherever it is passed, in one grammar
(:func:`input_error`): ``<field>: expected <what>, found <what>; <fix>.``, as
:class:`~refglm.exceptions.InputError` asks. The module is private to refglm
(its name says so); its functions are shared by the subpackages.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

from refglm.exceptions import InputError

# Python ints are unbounded; float() of one beyond ~1.8e308 raises OverflowError, and
# numpy refuses them (np.isfinite(10**400) is a TypeError). Above this many digits an
# integer is described by its size, not written out (repr() itself refuses ints of more
# than 4300 digits).
_LONGEST_SHOWN_INT = 30


def int_digits(value: int) -> int:
    """The number of decimal digits of ``abs(value)``, without converting it to text."""
    magnitude = abs(int(value))
    if magnitude == 0:
        return 1
    digits = int(magnitude.bit_length() * math.log10(2))  # within 1 of the count
    return digits + 1 if magnitude >= 10**digits else digits


def fmt(value: object) -> str:
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
        digits = int_digits(value)
        if as_float(value) is None:
            return f"an integer too large for a float ({digits} digits)"
        if digits > _LONGEST_SHOWN_INT:
            return f"an integer of {digits} digits"
        return repr(value)
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else repr(value)
    if isinstance(value, numbers.Real) and as_float(value) is None:
        return f"{type(value).__name__} too large for a float"
    return repr(value)


def input_error(field: str, expected: str, found: object, fix: str) -> InputError:
    """Build an InputError naming the field, what was expected, what was found and the fix."""
    return InputError(f"{field}: expected {expected}; found {found}. Fix: {fix}")


def is_real_number(value: object) -> bool:
    """Whether ``value`` is a real number (Python or numpy; not a bool, not a string)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def as_float(value: object) -> float | None:
    """``float(value)`` for a real number, or None when it has no float (too large).

    Python ints and Fractions beyond the float range raise OverflowError in
    ``float()``; they are the only reals whose conversion fails.
    """
    try:
        return float(value)  # type: ignore[arg-type]
    except (OverflowError, TypeError, ValueError):
        return None


def finite_float(value: object) -> float | None:
    """``value`` as a finite float, or None (not a real number, NaN, infinite, too large)."""
    if not is_real_number(value):
        return None
    number = as_float(value)
    if number is None or not math.isfinite(number):
        return None
    return number


def is_whole_number(value: object, minimum: int) -> bool:
    """Whether ``value`` is a finite real number ``>= minimum`` with no fractional part.

    Integers too large for a float are not (nothing in refglm can use them).
    """
    number = finite_float(value)
    return number is not None and number >= minimum and number == math.floor(number)


def check_positive(value: object, field: str, fix: str) -> float:
    """Return ``value`` as a float after checking it is a finite number > 0."""
    number = finite_float(value)
    if number is None or number <= 0:
        raise input_error(field, "a finite number > 0", fmt(value), fix)
    return number


def check_finite(value: object, field: str, fix: str) -> float:
    """Return ``value`` as a float after checking it is a finite number."""
    number = finite_float(value)
    if number is None:
        raise input_error(field, "a finite number", fmt(value), fix)
    return number


def check_nonnegative(value: object, field: str, fix: str, maximum: float | None = None) -> float:
    """Return ``value`` as a float after checking it is a finite number >= 0 (<= ``maximum``).

    For sizes and distances (``cluster_threshold``, ``min_distance``): Python
    ints of any size, numpy scalars and floats are accepted when they lie in
    the range; bools, strings, NaN, infinities and integers too large for a
    float are refused.
    """
    number = finite_float(value)
    if maximum is None:
        if number is None or number < 0:
            raise input_error(field, "a finite number >= 0", fmt(value), fix)
    elif number is None or not 0 <= number <= maximum:
        raise input_error(field, f"a finite number >= 0 and <= {fmt(maximum)}", fmt(value), fix)
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


def cpu_count() -> int:
    """CPUs this process may use (affinity and cgroup quotas included), as joblib counts them."""
    try:
        import joblib

        return max(1, int(joblib.cpu_count()))
    except Exception:  # noqa: BLE001 - joblib unusable here: fall back to the OS count
        return max(1, os.cpu_count() or 1)


def check_n_jobs(n_jobs: object, field: str = "n_jobs", backend: str | None = None) -> int:
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
    cpus = cpu_count()
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
        found = fmt(n_jobs) if is_real_number(n_jobs) else f"{type(n_jobs).__name__} {n_jobs!r}"
        raise input_error(
            field, expected, found, "pass e.g. 1 (one worker), or -1 for one worker per CPU"
        )
    return int(n_jobs)


def check_bool(name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise InputError(
            f"{name}: expected True or False, found {type(value).__name__} {value!r}; pass a bool."
        )
    return bool(value)


def check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise InputError(
            f"alpha: expected a probability strictly between 0 and 1, found "
            f"{type(alpha).__name__} {alpha!r}; pass a float such as 0.05."
        )
    alpha = as_float(alpha)
    if alpha is None:
        raise InputError(
            f"alpha: expected a probability strictly between 0 and 1, found {fmt(alpha)}; "
            "pass e.g. 0.001 (fpr) or 0.05 (fdr, bonferroni)."
        )
    if not 0.0 < alpha < 1.0:
        raise InputError(
            f"alpha: expected a probability strictly between 0 and 1, found {alpha!r}; "
            "pass e.g. 0.001 (fpr) or 0.05 (fdr, bonferroni), not a percentage."
        )
    return alpha
