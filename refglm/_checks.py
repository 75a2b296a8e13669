"""Argument checks shared by the design-matrix modules.

``hrf_shapes``, ``hrf_derivatives``, ``hrf``, ``regressors``, ``drifts``, ``events``
and ``design`` validate their arguments with these helpers, so that one kind of bad
input gives one error message wherever it is passed. Every error is an
:class:`~refglm.exceptions.InputError` naming the field, what was expected, what was
found and the fix.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from refglm.exceptions import InputError


def _fmt(value: object) -> str:
    """A number as a reader would write it: ``2.5``, not ``np.float64(2.5)``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:g}" if np.isfinite(value) else repr(value)
    return repr(value)


def _input_error(field: str, expected: str, found: object, fix: str) -> InputError:
    """Build an InputError naming the field, what was expected, what was found and the fix."""
    return InputError(f"{field}: expected {expected}; found {found}. Fix: {fix}")


def _is_real_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole_number(value: object, minimum: int) -> bool:
    """Whether ``value`` is a finite real number ``>= minimum`` with no fractional part."""
    return (
        _is_real_number(value)
        and np.isfinite(value)
        and value >= minimum
        and float(value) == int(value)
    )


def _check_positive(value: object, field: str, fix: str) -> float:
    if not _is_real_number(value) or not np.isfinite(value) or value <= 0:
        raise _input_error(field, "a finite number > 0", _fmt(value), fix)
    return float(value)


def _check_finite(value: object, field: str, fix: str) -> float:
    if not _is_real_number(value) or not np.isfinite(value):
        raise _input_error(field, "a finite number", _fmt(value), fix)
    return float(value)


def _check_oversampling(oversampling: object) -> int:
    if not _is_whole_number(oversampling, 1):
        raise _input_error(
            "oversampling",
            "a whole number >= 1",
            repr(oversampling),
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
