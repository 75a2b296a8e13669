"""Events tables: validation and the merging of duplicate events.

Reproduces nistats 0.0.1rc0 ``nistats/experimental_paradigm.py`` and nilearn 0.14.1
``nilearn/glm/first_level/experimental_paradigm.py``; public names are re-exported by
:mod:`refglm.glm.design.matrix`, which selects ``_merge_duplicate_events`` by the
``duplicate_events`` choice of ``DESIGN_CHOICES``.

Events are validated more strictly than in either source (see ``check_events``);
a missing ``trial_type`` column gives the single condition ``'dummy'`` as documented
by both sources (nistats 0.0.1rc0 ``check_events`` actually reads
``events['trial_type']`` before testing for it and raises ``KeyError``).
"""

from __future__ import annotations

import csv
import decimal
import io as _io
import numbers
import re

import numpy as np
import pandas as pd

from refglm._validate import fmt, input_error
from refglm.glm.design._validate import check_durations

__all__ = ["check_events", "check_events_text", "check_onsets_in_run"]


def _is_nan(value: object) -> bool:
    return isinstance(value, float | np.floating) and bool(np.isnan(value))


def _is_number_like(value: object) -> bool:
    """Whether ``float(value)`` is a faithful reading of ``value``.

    Real numbers (not bools, Decimals included) and text that parses as a
    number are; bools, bytes, complex numbers, dates and anything else are not.
    """
    if isinstance(value, bool | np.bool_ | bytes | complex | np.complexfloating):
        return False
    if isinstance(value, numbers.Real | decimal.Decimal | str):
        try:
            float(value)
        except (TypeError, ValueError, OverflowError):
            return False
        return True
    return False


def _numeric_column(events: pd.DataFrame, column: str) -> np.ndarray:
    """The column as float64, or an InputError naming the first value that is not a number.

    Numbers and numeric text (``'1.5'``, as nilearn accepts) are read; missing
    values (NaN, None) become NaN and are refused by the finiteness check;
    bools, bytes, complex numbers and dates are refused.
    """
    series = events[column]
    kind = series.dtype.kind
    if kind in "iuf":
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        bad = None
        for value in series:
            if value is None or value is pd.NA or _is_nan(value):
                continue  # missing: reported as such by the finiteness check below
            if not _is_number_like(value):
                bad = value
                break
        if bad is not None or kind in "bcmM":
            found = (
                f"non-numeric value {bad!r} ({type(bad).__name__})"
                if bad is not None
                else f"values of dtype {series.dtype}"
            )
            raise input_error(
                f"events['{column}']",
                "numeric values",
                found,
                f"convert the {column} column to numbers (seconds for onset/duration)",
            )
        values = np.array(
            [np.nan if value is None or value is pd.NA else float(value) for value in series],
            dtype=np.float64,
        )
    _check_finite_values(values, column)
    return values


def _rows(mask: np.ndarray) -> str:
    """The rows flagged in ``mask``, counted from 1 (the first event): ``row 3``, ``rows 3, 5``."""
    rows = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in rows[:5]) + (", ..." if rows.size > 5 else "")
    return f"row {shown}" if rows.size == 1 else f"rows {shown}"


def _check_finite_values(values: np.ndarray, column: str) -> None:
    """Refuse missing (NaN) and infinite values, naming the rows (1 = the first event)."""
    missing = np.isnan(values)
    if missing.any():
        raise input_error(
            f"events['{column}']",
            "finite values",
            f"{int(missing.sum())} NaN (missing) value(s) in {_rows(missing)} (counted from 1, "
            "the first event)",
            f"fill in or drop the events with a missing {column}",
        )
    infinite = np.isinf(values)
    if infinite.any():
        count = int(infinite.sum())
        raise input_error(
            f"events['{column}']",
            "finite values",
            f"{'an infinite' if count == 1 else f'{count} infinite'} {column}"
            f"{'' if count == 1 else 's'} in {_rows(infinite)} (counted from 1, the first event)",
            f"write the {column} in seconds as an ordinary number; numbers beyond about "
            "1.8e308 (such as 1e400) and 'inf' read as infinite",
        )


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
    refglm additionally rejects an empty table, duplicated columns (also as
    pandas renames them when reading a file: ``onset``, ``onset.1``), negative
    durations, infinite values (``1e400`` reads as inf), NaN modulations or
    trial types, and values that only look numeric (bools, bytes, complex
    numbers, dates); numeric text such as ``'1.5'`` is read as nilearn reads it.
    Errors about values name their rows, counted from 1 (the first event).

    Raises
    ------
    InputError
        Naming the column, what was expected, what was found and the fix.
    """
    if not isinstance(events, pd.DataFrame):
        raise input_error(
            "events",
            "a pandas DataFrame with 'onset' and 'duration' columns",
            type(events).__name__,
            "load the events with pandas.read_csv(path, sep='\\t')",
        )
    _check_repeated_columns(list(events.columns))
    for column in ("onset", "duration"):
        if column not in events.columns:
            raise input_error(
                "events",
                f"an '{column}' column" if column == "onset" else f"a '{column}' column",
                f"columns {list(events.columns)}",
                f"add the '{column}' column in seconds (BIDS events.tsv layout)",
            )
    if len(events) == 0:
        raise input_error(
            "events",
            "at least one event (row)",
            "an empty table",
            "add the run's events, or pass events=None for a design of drifts only",
        )
    onset = _numeric_column(events, "onset")
    duration = _numeric_column(events, "duration")
    check_durations(duration, "events['duration']")
    if "modulation" in events.columns:
        modulation = _numeric_column(events, "modulation")
    else:
        modulation = np.ones(len(events))
    if "trial_type" in events.columns:
        trial_type = np.asarray(events["trial_type"].to_numpy(), dtype=object)
        missing = pd.isna(events["trial_type"]).to_numpy()
        if missing.any():
            raise input_error(
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
        raise input_error(
            "events['trial_type']",
            "labels of one sortable type (e.g. all strings)",
            f"types {sorted({type(t).__name__ for t in trial_type})}",
            "convert the trial_type column to str",
        ) from None
    return pd.DataFrame(
        {"trial_type": trial_type, "onset": onset, "duration": duration, "modulation": modulation}
    )


_MODEL_COLUMNS = ("trial_type", "onset", "duration", "modulation")
# pandas.read_csv renames a repeated header name: onset, onset.1, onset.2, ... (it always
# does since pandas 2.0, which removed mangle_dupe_cols=False).
_RENAMED_COPY = re.compile(r"^(?P<name>trial_type|onset|duration|modulation)\.(?P<n>[1-9][0-9]*)$")


def _check_repeated_columns(columns: list, field: str = "events") -> None:
    """Refuse a model column given twice, as such or as pandas' renamed copy ``onset.1``."""
    for name in _MODEL_COLUMNS:
        positions = [k + 1 for k, column in enumerate(columns) if column == name]
        if len(positions) > 1:
            raise input_error(
                field,
                "one column of each name",
                f"repeated column {name} (columns {', '.join(map(str, positions))} of "
                f"{len(columns)} are all named {name!r})",
                "keep one of them: rename or drop the others",
            )
    for column in columns:
        match = _RENAMED_COPY.match(column) if isinstance(column, str) else None
        if match and match["name"] in columns:
            name = match["name"]
            raise input_error(
                field,
                "one column of each name",
                f"repeated column {name} (columns {name!r} and {column!r}: pandas.read_csv "
                f"renames a repeated header name {name!r} to {column!r})",
                f"keep one '{name}' column in the header: rename or drop the other",
            )


def check_events_text(text: str, source: str = "events") -> list[str]:
    """Check the raw text of an events TSV before pandas reads it; return the header's names.

    ``pandas.read_csv`` hides two faults of the text: a repeated header name
    (``onset`` twice) is renamed (``onset.1``), and data rows with one field
    more than the header shift every value one column to the right (the
    first field becomes the index; with ``index_col=False`` the extra fields
    are dropped instead). Both are refused here, naming ``source``; extra
    fields that are empty (trailing tabs) hold no data and are accepted
    (pandas reads them as missing and drops them without a warning).
    Blank lines are skipped, as ``read_csv(skip_blank_lines=True)`` does;
    text that the :mod:`csv` module cannot split is left to pandas.

    Parameters
    ----------
    text : str
        The file's content (decoded).
    source : str
        What to call the table in the messages (its path).

    Returns
    -------
    header : list of str
        The names of the header row ([] for a file without one).

    Raises
    ------
    InputError
        Naming ``source``, the repeated column or the first row (counted from
        1, the first event, and by line of the file) with more fields than
        the header.
    """
    try:
        rows = [
            (line, row)
            for line, row in enumerate(
                csv.reader(_io.StringIO(text, newline=""), delimiter="\t"), start=1
            )
            if row
        ]
    except csv.Error:
        return []  # pandas reports what it cannot parse
    if not rows:
        return []
    _, header = rows[0]
    _check_repeated_columns(header, f"{source} header")
    for event, (line, row) in enumerate(rows[1:], start=1):
        extra = [field for field in row[len(header) :] if field]
        if extra:
            raise input_error(
                source,
                f"at most {len(header)} tab-separated fields in each row, one per column of "
                f"the header {header}",
                f"{len(row)} fields in row {event} (line {line}): the extra value(s) "
                f"{extra[:3]} have no column",
                "remove the extra fields, or name their columns in the header",
            )
    return header


def check_onsets_in_run(events: pd.DataFrame, frame_times, source: str = "events") -> None:
    """Refuse conditions whose events all start after the run's last scan.

    Such a condition's regressor is zero at every scan, so nothing about it
    can be estimated: the onsets are almost certainly counted from another
    origin (the session start, another run) or in the wrong unit.

    Parameters
    ----------
    events : pandas.DataFrame
        An events table (validated with :func:`check_events` first).
    frame_times : array_like
        The run's acquisition times in seconds.
    source : str
        What to call the table in the message (e.g. its file name).

    Raises
    ------
    InputError
        Naming the conditions, their earliest onset and the run's last scan time.
    """
    table = check_events(events)
    last = float(np.max(np.asarray(frame_times, dtype=np.float64)))
    late = []
    for condition, onsets in table.groupby("trial_type", sort=True)["onset"]:
        if (onsets.to_numpy() > last).all():
            late.append(f"{condition!s} (earliest {fmt(onsets.min())} s)")
    if late:
        raise input_error(
            f"{source} onsets",
            f"every condition to start at or before the last scan ({fmt(last)} s)",
            f"all events after the run's end for {', '.join(late)}",
            "use onsets in seconds from this run's first scan, or drop those events from this run",
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
