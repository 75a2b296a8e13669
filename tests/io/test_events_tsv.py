"""Events faults that pandas hides: infinite onsets, repeated columns, rows too long.

``1e400`` reads as infinity (reported as such, with its row, not as a
missing onset); a repeated header name is renamed by ``pandas.read_csv``
(``onset`` -> ``onset.1``, always since pandas 2.0 removed
``mangle_dupe_cols``); data rows with more fields than the header shift
every value one column (the first field becomes the index) or, with
``index_col=False``, lose the extra values. ``events.check_events_text``
checks the raw text for the last two; ``io.read_events`` calls it and reads
with ``index_col=False``.
"""

from __future__ import annotations

import io as _io
import warnings

import numpy as np
import pandas as pd
import pytest

from refglm import io
from refglm.exceptions import InputError
from refglm.glm.design.events import check_events, check_events_text
from tests.cli.test_bad_inputs import assert_words

HEADER = "onset\tduration\ttrial_type\n"


def _file(tmp_path, text: str):
    path = tmp_path / "events.tsv"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- infinite values


@pytest.mark.parametrize(
    "values, found",
    [
        ([0.0, 1e400], "an infinite onset in row 2"),
        (["0", "1e400"], "an infinite onset in row 2"),
        ([np.inf, 5.0, -np.inf], "2 infinite onsets in rows 1, 3"),
    ],
    ids=["float", "text", "two"],
)
def test_infinite_onset_is_not_called_missing(values, found):
    events = pd.DataFrame({"onset": values, "duration": [1.0] * len(values)})
    with pytest.raises(InputError) as excinfo:
        check_events(events)
    message = str(excinfo.value)
    assert_words(message, "events['onset']", "expected finite values", found, "1e400")
    assert "missing" not in message


def test_infinite_duration_and_modulation():
    events = pd.DataFrame({"onset": [0.0], "duration": [np.inf]})
    with pytest.raises(InputError, match="an infinite duration in row 1"):
        check_events(events)
    events = pd.DataFrame({"onset": [0.0, 1.0], "duration": [1.0, 1.0], "modulation": [1, -1e400]})
    with pytest.raises(InputError, match="an infinite modulation in row 2"):
        check_events(events)


def test_missing_onset_names_its_rows():
    events = pd.DataFrame({"onset": [0.0, np.nan, 3.0, np.nan], "duration": [1.0] * 4})
    with pytest.raises(InputError) as excinfo:
        check_events(events)
    assert_words(
        str(excinfo.value), "2 NaN (missing) value(s) in rows 2, 4", "fill in or drop the events"
    )


def test_infinite_onset_in_a_file(tmp_path):
    path = _file(tmp_path, HEADER + "0\t10\trest\n1e400\t10\tactive\n")
    with pytest.raises(InputError) as excinfo:
        io.read_events(path)
    assert_words(str(excinfo.value), str(path), "events['onset']", "an infinite onset in row 2")


# -------------------------------------------------------------- repeated columns


@pytest.mark.parametrize("name", ["onset", "duration", "trial_type", "modulation"])
def test_pandas_renamed_copy_is_a_repeated_column(name):
    frame = pd.read_csv(_io.StringIO(f"onset\tduration\t{name}\n0\t1\t2\n"), sep="\t")
    if name in ("onset", "duration"):
        assert f"{name}.1" in frame.columns  # what pandas does with a repeated name
    else:
        frame = frame.assign(**{name: 1, f"{name}.1": 1})
    with pytest.raises(InputError) as excinfo:
        check_events(frame)
    assert_words(
        str(excinfo.value), "expected one column of each name", f"repeated column {name}", ".1"
    )


def test_dotted_names_that_are_not_copies_are_ignored():
    """``onset.1`` alone (no ``onset``) or ``response.1`` is just an unknown extra column."""
    events = pd.DataFrame({"onset": [0.0], "duration": [1.0], "response.1": [2], "onset.x": [3]})
    assert check_events(events)["onset"].tolist() == [0.0]


def test_repeated_column_in_a_file(tmp_path):
    path = _file(tmp_path, "onset\tduration\tonset\n0\t10\t20\n")
    with pytest.raises(InputError) as excinfo:
        io.read_events(path)
    # from pandas' renamed copy (onset.1) today; from the raw header once io.read_events
    # calls check_events_text
    assert_words(str(excinfo.value), str(path), "repeated column onset")


def test_repeated_column_in_the_raw_header():
    with pytest.raises(InputError) as excinfo:
        check_events_text("onset\tduration\ttrial_type\tduration\n0\t1\ta\t2\n", "run-1.tsv")
    assert_words(
        str(excinfo.value),
        "run-1.tsv header",
        "expected one column of each name",
        "repeated column duration (columns 2, 4 of 4",
    )


# ------------------------------------------------------ rows with more fields than the header


@pytest.mark.parametrize(
    "text, words",
    [
        ("onset\tduration\n0\t10\t5\n", ["3 fields in row 1 (line 2)", "['5'] have no column"]),
        (
            "onset\tduration\n0\t10\n\n20\t10\tactive\tx\n",
            ["4 fields in row 2 (line 4)", "['active', 'x']"],
        ),
    ],
    ids=["every-row", "one-row-after-a-blank-line"],
)
def test_rows_longer_than_the_header(text, words):
    with pytest.raises(InputError) as excinfo:
        check_events_text(text, "events.tsv")
    assert_words(
        str(excinfo.value),
        "events.tsv: expected at most 2 tab-separated fields in each row",
        *words,
        "remove the extra fields, or name their columns in the header",
    )


@pytest.mark.parametrize(
    "text, header",
    [
        (HEADER + "0\t10\trest\n", ["onset", "duration", "trial_type"]),
        ("onset\tduration\n0\t10\t\n5\t10\t\t\n", ["onset", "duration"]),  # trailing tabs
        ("\n\nonset\tduration\n\n0\t1\n", ["onset", "duration"]),  # blank lines
        ('onset\tduration\ttrial_type\n0\t1\t"a\tb"\n', ["onset", "duration", "trial_type"]),
        ("onset\tduration\ttrial_type\n0\t1\n", ["onset", "duration", "trial_type"]),  # short
        ("", []),
    ],
    ids=["plain", "trailing-tabs", "blank-lines", "quoted-tab", "short-row", "empty"],
)
def test_text_accepted(text, header):
    assert check_events_text(text) == header


def test_what_pandas_does_with_rows_too_long():
    """Why the raw text is checked: read_csv shifts the columns, or drops values."""
    text = "onset\tduration\n0\t10\t5\n"
    shifted = pd.read_csv(_io.StringIO(text), sep="\t")
    assert shifted["onset"].tolist() == [10] and shifted["duration"].tolist() == [5]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dropped = pd.read_csv(_io.StringIO(text), sep="\t", index_col=False)
    assert dropped["onset"].tolist() == [0] and "loss of data" in str(caught[0].message)
    trailing = "onset\tduration\n0\t10\t\n"  # a trailing tab: harmless with index_col=False only
    assert pd.read_csv(_io.StringIO(trailing), sep="\t")["onset"].tolist() == [10]
    assert pd.read_csv(_io.StringIO(trailing), sep="\t", index_col=False)["onset"].tolist() == [0]


def test_read_events_refuses_rows_longer_than_the_header(tmp_path):
    path = _file(tmp_path, "onset\tduration\n0\t10\t5\n20\t10\t5\n")  # read now as onset 10, 10
    with pytest.raises(InputError) as excinfo:
        io.read_events(path)
    assert_words(str(excinfo.value), str(path), "3 fields in row 1 (line 2)", "have no column")


def test_read_events_accepts_trailing_tabs(tmp_path):
    path = _file(tmp_path, "onset\tduration\ttrial_type\n0\t10\trest\t\n20\t10\tactive\t\n")
    events = io.read_events(path)
    assert events["onset"].tolist() == [0, 20] and events["trial_type"].tolist() == [
        "rest",
        "active",
    ]
