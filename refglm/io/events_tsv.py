"""Reading a BIDS events table (``*_events.tsv``) into a checked DataFrame.

The only file access of the events path: :func:`read_events` reads the text (a
regular file of at most :data:`~refglm.io.files.MAX_TSV_BYTES`, read with that bound),
checks its shape (:func:`refglm.glm.design.events.check_events_text`), parses it with
pandas and validates the columns (:func:`refglm.glm.design.events.check_events`), so
that every error names the file. Re-exported by :mod:`refglm.io`.
"""

from __future__ import annotations

import io as _io
from pathlib import Path

import pandas as pd

from refglm.exceptions import InputError
from refglm.io.files import MAX_TSV_BYTES, read_bytes_bounded

#: BIDS marks a missing value with ``n/a``; an empty cell is missing too. No other text
#: (``NA``, ``None``, ``null``, ...) is read as missing, so such trial types stay labels.
__all__ = ["read_events", "EVENTS_NA_VALUES"]

EVENTS_NA_VALUES = ("n/a", "")


def read_events(path) -> pd.DataFrame:
    """Read a BIDS events TSV into a DataFrame and validate it.

    The table is read as BIDS defines it: tab-separated, a header row, ``n/a``
    (or an empty cell) for a missing value. It is then checked with
    :func:`refglm.glm.design.events.check_events` (``onset`` and ``duration`` columns of
    finite numbers, durations >= 0, ...), so that an error names this file.

    Parameters
    ----------
    path : str or path-like
        The events file.

    Returns
    -------
    events : pandas.DataFrame
        The table as read, every column kept (unknown columns are ignored by
        the design, not dropped here).

    Raises
    ------
    InputError
        Naming the file, when it is missing, not a regular file (a folder, a FIFO,
        a device, a symbolic link loop), larger than
        :data:`~refglm.io.files.MAX_TSV_BYTES`, unreadable, empty,
        has a header but no rows, is not tab-separated, or fails
        :func:`~refglm.glm.design.events.check_events`.
    """
    from refglm.glm.design.events import check_events, check_events_text

    path = Path(path)
    raw = read_bytes_bounded(
        path,
        "an events file (a BIDS events.tsv with onset and duration columns)",
        MAX_TSV_BYTES,
        "pass the path of the *_events.tsv file.",
    )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path}: expected a UTF-8 text table, found undecodable bytes ({exc.reason} at "
            f"byte {exc.start}); save the events as UTF-8 tab-separated text."
        ) from None
    check_events_text(text, str(path))  # repeated names, rows longer than the header
    try:
        events = pd.read_csv(
            _io.StringIO(text),
            sep="\t",
            na_values=list(EVENTS_NA_VALUES),
            keep_default_na=False,
            skip_blank_lines=True,
            index_col=False,
        )
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{path}: expected a header 'onset<TAB>duration<TAB>trial_type' and one row per "
            "event, found an empty file; write the events table (BIDS events.tsv)."
        ) from None
    except ValueError as exc:  # pandas ParserError and its relatives
        message = " ".join(str(exc).split())
        raise InputError(
            f"{path}: expected a tab-separated events table, found text pandas cannot parse "
            f"({message}); write it as a BIDS events.tsv."
        ) from None
    if len(events.columns) == 1 and "," in str(events.columns[0]):
        raise InputError(
            f"{path}: expected tab-separated columns, found commas (a CSV file?); BIDS events "
            "files use tabs: save it with sep='\\t'."
        )
    if events.empty:
        raise InputError(
            f"{path}: expected one row per event, found a header but no rows; add the events, "
            "or leave this run out."
        )
    try:
        check_events(events)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return events
