"""Argument checks of the design-matrix steps: frame times, oversampling, durations, formulas.

``hrf_shapes``, ``hrf_derivatives``, ``hrf``, ``sampling``, ``drifts``, ``events``
and ``matrix`` validate their arguments with these helpers and the generic ones of
:mod:`refglm._validate`, so that one kind of bad input gives one message.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from refglm._validate import check_positive, fmt, input_error, is_real_number, is_whole_number


def check_oversampling(oversampling: object) -> int:
    if not is_whole_number(oversampling, 1):
        raise input_error(
            "oversampling",
            "a whole number >= 1",
            fmt(oversampling),
            "pass an integer such as 50 (the nistats/nilearn default)",
        )
    return int(oversampling)


def check_model(model: object, models: tuple, field: str, tutorial_value: str) -> str | None:
    """Return ``model`` (lower-cased if a string) after checking it is one of ``models``."""
    if isinstance(model, str):
        model = model.lower()
    if model not in models:
        raise input_error(
            field,
            f"one of {list(models)}",
            repr(model),
            f"choose one of the listed models (the nistats tutorial uses {tutorial_value!r})",
        )
    return model


def check_all_finite(values: np.ndarray, field: str, fix: str) -> None:
    if not np.all(np.isfinite(values)):
        raise input_error(
            field, "finite values", f"{int(np.sum(~np.isfinite(values)))} NaN/inf value(s)", fix
        )


def check_durations(durations: np.ndarray, field: str) -> None:
    if np.any(durations < 0):
        raise input_error(
            field,
            "durations >= 0 s",
            f"minimum duration {fmt(durations.min())} s",
            "fix the negative durations (0 models an impulse)",
        )


def check_frame_times(frame_times: object) -> np.ndarray:
    """Return ``frame_times`` as a float array after checking it describes a run."""
    try:
        values = np.asarray(frame_times, dtype=float)
    except (TypeError, ValueError):
        raise input_error(
            "frame_times",
            "a 1-D array of acquisition times in seconds",
            f"{type(frame_times).__name__} that cannot be converted to float",
            "pass e.g. np.arange(n_scans) * t_r",
        ) from None
    if values.ndim != 1 or values.size < 2:
        raise input_error(
            "frame_times",
            "a 1-D array with at least 2 acquisition times",
            f"shape {values.shape}",
            "pass e.g. np.arange(n_scans) * t_r with n_scans >= 2",
        )
    if not np.all(np.isfinite(values)):
        raise input_error(
            "frame_times",
            "finite acquisition times",
            f"{int(np.sum(~np.isfinite(values)))} non-finite value(s)",
            "remove NaN/inf entries",
        )
    if np.any(np.diff(values) <= 0):
        raise input_error(
            "frame_times",
            "strictly increasing acquisition times",
            "a non-increasing step",
            "sort the frame times and remove duplicates",
        )
    if values[0] < 0:
        # Both sources build the high-resolution grid up to frame_times.max() * n / (n - 1),
        # which only covers the run when the frame times are counted from the run start.
        raise input_error(
            "frame_times",
            "times counted from the start of the run (first frame time >= 0)",
            f"first frame time {fmt(values[0])}",
            "subtract the run start so that the first scan is at 0 s (plus slice_time_ref * t_r)",
        )
    return values


def resolve_convention(
    convention: str | Mapping, table: Mapping[str, Mapping[str, object]]
) -> dict[str, object]:
    """Return the choices of ``table`` selected by a convention name or a mapping of choices.

    ``table`` maps a convention name to its value for every choice (``formulas.HRF_CHOICES``,
    ``formulas.DESIGN_CHOICES``). A mapping must hold every choice of ``table`` (other keys are
    ignored, so one mapping can hold the choices of several tables); a numeric choice accepts
    any finite number > 0, any other choice one of the values the table lists for it.
    """
    keys = next(iter(table.values())).keys()
    if isinstance(convention, str):
        if convention not in table:
            raise input_error(
                "convention",
                f"one of {list(table)} or a mapping of choices",
                repr(convention),
                "use 'nistats' to reproduce the nistats 0.0.1rc0 tutorial",
            )
        return dict(table[convention])
    if isinstance(convention, Mapping):
        missing = [key for key in keys if key not in convention]
        if missing:
            raise input_error(
                "convention",
                f"a mapping with the keys {list(keys)}",
                f"a mapping without {missing}",
                f"add the missing choices, e.g. from {table['nistats']!r}",
            )
        chosen = {key: convention[key] for key in keys}
        for key, value in chosen.items():
            allowed = {entry[key] for entry in table.values()}
            numeric = all(is_real_number(option) for option in allowed)
            if numeric:
                check_positive(value, f"convention[{key!r}]", f"use one of {sorted(allowed)}")
            elif value not in allowed:
                raise input_error(
                    f"convention[{key!r}]",
                    f"one of {sorted(allowed, key=str)}",
                    repr(value),
                    "use one of the listed values",
                )
        return chosen
    raise input_error(
        "convention",
        f"one of {list(table)} or a mapping of choices",
        type(convention).__name__,
        "pass a convention name such as 'nistats'",
    )
