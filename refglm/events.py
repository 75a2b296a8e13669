"""Events tables: validation and the merging of duplicate events.

Reproduces nistats 0.0.1rc0 ``nistats/experimental_paradigm.py`` and nilearn 0.14.1
``nilearn/glm/first_level/experimental_paradigm.py``; public names are re-exported by
:mod:`refglm.design`, which selects ``_merge_duplicate_events`` by the
``duplicate_events`` choice of ``DESIGN_CHOICES``.

Events are validated more strictly than in either source (see ``check_events``);
a missing ``trial_type`` column gives the single condition ``'dummy'`` as documented
by both sources (nistats 0.0.1rc0 ``check_events`` actually reads
``events['trial_type']`` before testing for it and raises ``KeyError``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from refglm._checks import _check_all_finite, _check_durations, _input_error

__all__ = ["check_events"]


def _numeric_column(events: pd.DataFrame, column: str) -> np.ndarray:
    series = events[column]
    try:
        values = series.to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = None
        for value in series:
            try:
                float(value)
            except (TypeError, ValueError):
                bad = value
                break
        raise _input_error(
            f"events['{column}']",
            "numeric values",
            f"non-numeric value {bad!r}",
            f"convert the {column} column to numbers (seconds for onset/duration)",
        ) from None
    _check_all_finite(
        values, f"events['{column}']", f"fill in or drop the events with a missing {column}"
    )
    return values


def check_events(events: pd.DataFrame) -> pd.DataFrame:
    """Validate an events table and return its four model columns.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event. Required columns ``onset`` and ``duration`` (seconds,
        numeric, finite, ``duration >= 0``); optional ``trial_type`` (condition
        label, default ``'dummy'`` for every event) and ``modulation`` (amplitude,
        default 1). Other columns are ignored.

    Returns
    -------
    events : pandas.DataFrame
        Columns ``trial_type``, ``onset``, ``duration``, ``modulation`` (the last three
        as float), rows in input order, index ``0 .. n_events - 1``.

    Notes
    -----
    Source: nistats 0.0.1rc0 experimental_paradigm.py ``check_events`` (requires
    ``onset`` and ``duration``; ``duration`` and ``modulation`` cast to float;
    ``modulation`` defaults to ``np.ones(n_events)``; ``trial_type`` documented to default
    to ``np.repeat('dummy', n_events)``); nilearn 0.14.1 ``check_events`` (also rejects
    NaN and non-castable onset/duration, defaults ``trial_type`` to ``'dummy'``).
    refglm additionally rejects negative durations and NaN modulations or trial types.
    """
    if not isinstance(events, pd.DataFrame):
        raise _input_error(
            "events",
            "a pandas DataFrame with 'onset' and 'duration' columns",
            type(events).__name__,
            "load the events with pandas.read_csv(path, sep='\\t')",
        )
    for column in ("onset", "duration"):
        if column not in events.columns:
            raise _input_error(
                "events",
                f"a '{column}' column",
                f"columns {list(events.columns)}",
                f"add the '{column}' column in seconds (BIDS events.tsv layout)",
            )
    onset = _numeric_column(events, "onset")
    duration = _numeric_column(events, "duration")
    _check_durations(duration, "events['duration']")
    if "modulation" in events.columns:
        modulation = _numeric_column(events, "modulation")
    else:
        modulation = np.ones(len(events))
    if "trial_type" in events.columns:
        trial_type = np.asarray(events["trial_type"].to_numpy(), dtype=object)
        missing = pd.isna(events["trial_type"]).to_numpy()
        if missing.any():
            raise _input_error(
                "events['trial_type']",
                "a condition label for every event",
                f"{int(missing.sum())} missing label(s)",
                "fill in or drop the events without a trial_type",
            )
    else:
        trial_type = np.repeat("dummy", len(events)).astype(object)
    try:
        np.unique(trial_type)
    except TypeError:
        raise _input_error(
            "events['trial_type']",
            "labels of one sortable type (e.g. all strings)",
            f"types {sorted({type(t).__name__ for t in trial_type})}",
            "convert the trial_type column to str",
        ) from None
    return pd.DataFrame(
        {"trial_type": trial_type, "onset": onset, "duration": duration, "modulation": modulation}
    )


def _merge_duplicate_events(events: pd.DataFrame) -> pd.DataFrame:
    """Sum the modulation of events sharing trial_type, onset and duration.

    Source: nilearn 0.14.1 experimental_paradigm.py ``handle_modulation_of_duplicate_events``:
    ``events.groupby(["trial_type", "onset", "duration"], sort=False)
    .agg({"modulation": "sum"}).reset_index()`` (nilearn PR #2680).
    """
    return (
        events.groupby(["trial_type", "onset", "duration"], sort=False)
        .agg({"modulation": "sum"})
        .reset_index()
    )
