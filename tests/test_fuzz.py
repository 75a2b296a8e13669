"""Fuzzing the readers and parsers of user input: they parse, or raise InputError.

Nothing a user can type into an events file, an events DataFrame or a
contrast expression may surface as anything but a result or an
:class:`~refglm.exceptions.InputError` (a ``ValueError``): no ``KeyError``,
``TypeError``, ``OverflowError``, ``RecursionError`` or pandas internals.

Three crashes of the contrast parser (in ``refglm/contrasts.py``) were found
this way (an OverflowError on a huge integer literal, RecursionError and
MemoryError from Python's parser on very long or deeply nested input); each
keeps a regression test below.
"""

from __future__ import annotations

import io as _io
import json
import string
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refglm import io
from refglm.exceptions import InputError
from refglm.glm.contrasts import as_contrast_matrix, expression_to_contrast_vector
from refglm.glm.design.events import check_events, check_events_text, check_onsets_in_run
from refglm.glm.design.matrix import make_first_level_design_matrix

FRAME_TIMES = np.arange(20) * 2.0
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def parses_or_input_error(func, *args, **kwargs):
    """Call ``func``; return its result, or None when it raised InputError (anything else fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rank, full_rank, overflow: warnings are fine here
        try:
            return func(*args, **kwargs)
        except InputError:
            return None


# ----------------------------------------------------------------------- events files

_CELLS = st.one_of(
    st.sampled_from(
        ["onset", "duration", "trial_type", "modulation", "n/a", "nan", "inf", "-1", "1e400"]
    ),
    st.sampled_from(["", " ", "active", "rest", "constant", "drift_1", '"', "'", "#", "1,5"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.text(max_size=6),
)
_LINES = st.lists(_CELLS, max_size=5).map("\t".join)
_TABLES = st.builds(
    lambda header, rows, end: "\n".join([header, *rows]) + end,
    st.sampled_from(
        [
            "onset\tduration\ttrial_type",
            "onset\tduration",
            "onset\tduration\ttrial_type\tmodulation",
            "duration\tonset\textra",
            "onset\tonset\tduration",
            "",
        ]
    )
    | _LINES,
    st.lists(_LINES, max_size=6),
    st.sampled_from(["", "\n", "\r\n", "\n\n"]),
)


_NUMBER_TEXT = st.one_of(
    st.floats(-30, 60).map(lambda x: f"{x:.3g}"),
    st.integers(0, 40).map(str),
)
_GOOD_CELLS = {
    "onset": _NUMBER_TEXT,
    "duration": st.floats(0, 20).map(lambda x: f"{x:.3g}"),
    "trial_type": st.sampled_from(["active", "rest", "a b", "NA", "None", "1"]),
    "modulation": st.floats(-2, 2).map(lambda x: f"{x:.2g}"),
    "response_time": st.sampled_from(["n/a", "0.5"]),
}


@st.composite
def plausible_tables(draw):
    """BIDS-like tables that are mostly right, with an occasional bad cell or column."""
    columns = draw(
        st.sampled_from(
            [
                ["onset", "duration", "trial_type"],
                ["onset", "duration"],
                ["trial_type", "onset", "duration", "modulation", "response_time"],
                ["onset", "trial_type"],
            ]
        )
    )
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        cells = [draw(_GOOD_CELLS[c] if draw(st.integers(0, 9)) else _CELLS) for c in columns]
        rows.append("\t".join(cells))
    return "\n".join(["\t".join(columns), *rows]) + "\n"


def _check_events_file(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "events.tsv"
    path.write_bytes(payload)
    events = parses_or_input_error(io.read_events, path)
    if events is None:
        return
    assert isinstance(events, pd.DataFrame) and len(events) > 0
    table = check_events(events)  # read_events validated it: no error now
    assert list(table.columns) == ["trial_type", "onset", "duration", "modulation"]
    assert np.all(np.isfinite(table[["onset", "duration", "modulation"]].to_numpy()))
    assert np.all(table["duration"].to_numpy() >= 0)
    parses_or_input_error(make_first_level_design_matrix, FRAME_TIMES, events)


@FUZZ
@given(text=st.text() | _TABLES | plausible_tables())
def test_read_events_on_any_text(tmp_path, text):
    _check_events_file(tmp_path, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(payload=st.binary(max_size=200))
def test_read_events_on_any_bytes(tmp_path, payload):
    _check_events_file(tmp_path, payload)


@FUZZ
@given(text=st.text() | _TABLES | plausible_tables())
def test_check_events_text_on_any_text(text):
    """The raw-text check returns the header or raises InputError; what it accepts, pandas
    reads (``index_col=False``, as io.read_events does) without dropping a value."""
    header = parses_or_input_error(check_events_text, text, "events.tsv")
    if header is None:
        return
    assert isinstance(header, list) and all(isinstance(name, str) for name in header)
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.ParserWarning)  # "... loss of data ..."
        try:
            frame = pd.read_csv(
                _io.StringIO(text),
                sep="\t",
                na_values=["n/a", ""],
                keep_default_na=False,
                index_col=False,
            )
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            return  # reported by io.read_events as an empty or unparsable file
    if header and not header[0].startswith(("\ufeff", '"')):
        assert not any(str(c).endswith(".1") and str(c)[:-2] in _MODEL for c in frame.columns)


_MODEL = ("onset", "duration", "trial_type", "modulation")


# ------------------------------------------------------------------ events DataFrames

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(),
    st.floats(-50, 60),
    st.text(max_size=4),
    st.sampled_from(["a", "b", "1.5", "n/a", "constant", "drift_1", " 2 "]),
    st.binary(max_size=3),
    st.complex_numbers(max_magnitude=5),
    st.just(pd.NA),
    st.just(pd.NaT),
    st.just(pd.Timestamp(0)),
    st.lists(st.integers(), max_size=2),
    st.decimals(allow_nan=True),
)
_COLUMNS = st.sampled_from(["onset", "duration", "trial_type", "modulation", "extra", 0, None])


_GOOD_VALUES = {
    "onset": st.floats(-30, 60) | st.integers(0, 40),
    "duration": st.floats(0, 20) | st.integers(0, 10),
    "trial_type": st.sampled_from(["active", "rest", "a b", 1, 2]),
    "modulation": st.floats(-2, 2),
    "extra": _VALUES,
    0: _VALUES,
    None: _VALUES,
}


@st.composite
def events_frames(draw):
    """DataFrames of 0-5 rows with some of the events columns, holding values of any type.

    Half of them have the two required columns and mostly valid values, so that
    the design is built often enough to be exercised too; some repeat a column name.
    """
    n_rows = draw(st.integers(0, 5))
    if draw(st.booleans()):
        columns = ["onset", "duration", *draw(st.lists(_COLUMNS, unique=True, max_size=3))]
        columns = list(dict.fromkeys(columns))
    else:
        columns = draw(st.lists(_COLUMNS, unique=True, max_size=5))
    if columns and draw(st.integers(0, 9)) == 0:
        columns.append(draw(st.sampled_from(columns)))  # a repeated name

    def value(column):
        return draw(_GOOD_VALUES[column] if draw(st.integers(0, 9)) else _VALUES)

    data = {k: [value(c) for _ in range(n_rows)] for k, c in enumerate(columns)}
    frame = pd.DataFrame(data) if columns else pd.DataFrame(index=range(n_rows))
    frame.columns = columns if columns else frame.columns
    if draw(st.booleans()):
        frame = frame.infer_objects()
    return frame


@FUZZ
@given(events=events_frames())
def test_check_events_and_design_on_any_dataframe(events):
    table = parses_or_input_error(check_events, events)
    if table is not None:
        values = table[["onset", "duration", "modulation"]].to_numpy()
        assert values.dtype == np.float64 and np.all(np.isfinite(values))
        assert not table["trial_type"].isna().any()
    parses_or_input_error(check_onsets_in_run, events, FRAME_TIMES)
    design = parses_or_input_error(
        make_first_level_design_matrix, FRAME_TIMES, events, hrf_model="spm"
    )
    if design is not None:
        assert design.shape[0] == FRAME_TIMES.size
        assert design.columns[-1] == "constant"


@FUZZ
@given(
    onsets=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=4),
    durations=st.lists(st.floats(0, 1e4), min_size=1, max_size=4),
)
def test_design_on_numeric_events_anywhere_in_time(onsets, durations):
    """Numbers anywhere, durations >= 0: a design, or an InputError (e.g. after the run)."""
    n = min(len(onsets), len(durations))
    events = pd.DataFrame({"onset": onsets[:n], "duration": durations[:n]})
    parses_or_input_error(make_first_level_design_matrix, FRAME_TIMES, events)


# ----------------------------------------------------------------- contrast expressions

_NAMES = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=6)
_COLUMN_TABLES = st.one_of(
    st.just(["active", "rest", "drift_1", "constant"]),
    st.just(["active", "rest", "drift_1", "constant"]),
    st.lists(_NAMES, min_size=1, max_size=5, unique=True),
    st.lists(st.text(max_size=5), min_size=1, max_size=5, unique=True),
    st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),
)
_OPERATORS = st.one_of(
    st.sampled_from([" + ", " - ", "+", "-"]),
    st.sampled_from([" + ", " - ", " * ", " / ", "*", "/", " ** ", " @ ", " ", " % "]),
)


@st.composite
def expressions(draw, columns):
    """Arithmetic over the column names, numbers and some things that are not allowed."""
    names = st.sampled_from([str(c) for c in columns])
    atoms = st.one_of(
        names,
        names,
        names,
        st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
        st.integers(-1000, 1000).map(str),
        st.sampled_from(["0", "0.0", "1e-300", "1e300", "nope", "True", "None", "'a'", "x[0]"]),
        st.sampled_from(["__import__('os')", "lambda: 1", "f(x)", "a.b", "1j", "..."]),
    )
    weighted = st.builds(lambda w, name: f"{w} * {name}", st.integers(-3, 3), names)
    parts = [draw(atoms | weighted)]
    for _ in range(draw(st.integers(0, 5))):
        parts += [draw(_OPERATORS), draw(atoms | weighted)]
    text = "".join(parts)
    if draw(st.booleans()):
        text = "-" * draw(st.integers(0, 3)) + "(" + text + ")" * draw(st.integers(0, 2))
    return text


@FUZZ
@given(data=st.data(), columns=_COLUMN_TABLES)
def test_expression_parser_on_arithmetic(data, columns):
    text = data.draw(expressions(columns) | st.text(max_size=40))
    vector = parses_or_input_error(expression_to_contrast_vector, text, columns)
    if vector is not None:
        assert vector.shape == (len(columns),) and vector.dtype == np.float64
    matrix = parses_or_input_error(as_contrast_matrix, text, columns)
    if matrix is not None:
        assert matrix.shape == (1, len(columns)) and np.all(np.isfinite(matrix))
        assert np.any(matrix)


@FUZZ
@given(text=st.text(), columns=_COLUMN_TABLES)
def test_expression_parser_on_any_text(text, columns):
    parses_or_input_error(expression_to_contrast_vector, text, columns)
    parses_or_input_error(as_contrast_matrix, text, columns)


# column names that collide with the grammar, and expressions that quote them or not
_ODD_COLUMNS = st.lists(
    st.text(alphabet="ab -+*/()`'. 01", min_size=1, max_size=6), min_size=1, max_size=5, unique=True
)
_QUOTING_TEXT = st.text(alphabet="ab -+*/()`'. 01;=", max_size=30)


@FUZZ
@given(text=_QUOTING_TEXT, columns=_ODD_COLUMNS)
def test_expression_parser_with_backticks_and_odd_names(text, columns):
    """Backticks, operators inside names, unclosed quotes: a result or an InputError."""
    vector = parses_or_input_error(expression_to_contrast_vector, text, columns)
    if vector is not None:
        assert vector.shape == (len(columns),) and np.all(np.isfinite(vector))


@FUZZ
@given(text=_QUOTING_TEXT)
def test_contrast_option_with_backticks(text):
    """``--contrast`` text with backticks, ';' and '=': a (name, definition) or an InputError."""
    from refglm.cli.options import parse_contrast

    parsed = parses_or_input_error(parse_contrast, text)
    if parsed is not None:
        name, _ = parsed
        assert name.isalnum()


_CONTRAST_DEFINITIONS = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.floats(),
        st.text(max_size=8),
        st.sampled_from(["active", "rest", "active - rest"]),
    ),
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=3), children, max_size=2)
    ),
    max_leaves=12,
)


@FUZZ
@given(
    definition=_CONTRAST_DEFINITIONS
    | st.lists(st.floats(-3, 3), min_size=4, max_size=4)
    | st.lists(st.lists(st.integers(-2, 2), min_size=4, max_size=4), min_size=1, max_size=3)
)
def test_as_contrast_matrix_on_any_table(definition):
    columns = ["active", "rest", "drift_1", "constant"]
    matrix = parses_or_input_error(as_contrast_matrix, definition, columns)
    if matrix is not None:
        assert matrix.ndim == 2 and matrix.shape[1] == 4
        assert np.all(np.isfinite(matrix)) and np.any(matrix)


# -------------------------------------------- crashes found by fuzzing (contrasts.py)

COLUMNS = ["active", "rest", "constant"]


def test_huge_integer_literal_is_an_input_error():
    with pytest.raises(InputError, match="too large"):
        expression_to_contrast_vector("9" * 400 + " * active", COLUMNS)


def test_very_long_expression_is_an_input_error():
    with pytest.raises(InputError, match="contrast"):
        expression_to_contrast_vector("active" + " + active" * 100_000, COLUMNS)


def test_deeply_nested_unary_minus_is_an_input_error():
    with pytest.raises(InputError, match="contrast"):
        expression_to_contrast_vector("-" * 100_000 + "active", COLUMNS)


def test_expression_overflowing_to_inf_is_an_input_error():
    """Already refused by as_contrast_matrix (the parser alone returns inf weights)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(InputError, match="finite"):
            as_contrast_matrix("1e300 * 1e300 * active", COLUMNS)


# ------------------------------------------------------------------- JSON sidecars

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=20,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@FUZZ
@given(value=_JSON_VALUES)
def test_json_depth_is_counted_as_the_parser_nests(value):
    """Brackets inside strings (escaped quotes included) do not count; nesting does."""
    from refglm.io.files import json_nesting_depth

    assert json_nesting_depth(json.dumps(value)) == _depth(value)


@FUZZ
@given(payload=st.binary(max_size=200) | _JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_load_json_bounded_on_any_bytes(tmp_path, payload):
    from refglm.io.files import load_json_bounded

    path = tmp_path / "sidecar.json"
    path.write_bytes(payload)
    parses_or_input_error(load_json_bounded, path)
