"""Inputs that are valid but almost certainly wrong (robustness issue, class 3).

- The same volume twice in ``--func``: one path repeated, another spelling of it,
  a symbolic or hard link, an identical copy, a 4-D run named twice. Refused
  with exit 2 naming both positions; accepted with ``--allow-repeated-volumes``.
- Condition names that collide with the contrast grammar: backtick quoting as in
  nilearn 0.14.1 (```button press` - rest``); an expression that is both a column
  name and arithmetic is refused naming both readings; a non-identifier name
  unquoted is refused showing the quoted form; backticked names name outputs as
  names (``activeRest``), never as a difference (``activeMinusRest``).
"""

from __future__ import annotations

import os
import shutil
import string
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refglm import cli, io
from refglm.cli.options import parse_contrast
from refglm.exceptions import InputError
from refglm.glm.contrast_expressions import (
    as_contrast_matrix,
    expression_to_contrast_vector,
    is_plain_name,
    quoted,
)
from refglm.io import repeated_files
from refglm.io.derivative_names import camel_case_contrast_name
from tests.cli.test_bad_inputs import (
    assert_words,
    fit_args,
    listing,
    one_line,
    run_cli,
    synthetic_run,
    write_run,
    write_volumes,
)

# ------------------------------------------------------------------ repeated volumes


@pytest.fixture()
def volumes(tmp_path):
    """Six distinct 3-D volumes of the synthetic run, and its events."""
    vols = write_volumes(tmp_path / "vols", 6)
    _, _, events = synthetic_run()
    tsv = tmp_path / "events.tsv"
    events[events.onset < 12].to_csv(tsv, sep="\t", index=False)  # inside 6 scans of 2 s
    return vols, tsv


def _fit_volumes(func, tsv, out, *extra):
    args = ["fit", "--func", *map(str, func), "--events", str(tsv), "--t-r", "2"]
    return run_cli([*args, "--contrast", "rest", "--out", str(out), "--no-report", *extra])


def _repeat(kind: str, vols: list[Path], tmp_path: Path) -> list:
    """The --func list with volume 2 (index 1) given again as volume 5 (index 4), by ``kind``."""
    second = vols[1]
    if kind == "same-path":
        again = second
    elif kind == "other-spelling":
        again = Path(os.path.relpath(second.parent, tmp_path)) / "." / second.name
    elif kind == "symlink":
        again = tmp_path / "link.nii"
        again.symlink_to(second)
    elif kind == "hard-link":
        again = tmp_path / "hard.nii"
        os.link(second, again)
    elif kind == "copy":
        again = tmp_path / "copy.nii"
        shutil.copyfile(second, again)
    else:
        raise AssertionError(kind)
    return [vols[0], vols[1], vols[2], vols[3], again, vols[5]]


REPEATS = {
    "same-path": "the same file",
    "other-spelling": "the same file",
    "symlink": "the same file",
    "hard-link": "the same file",
    "copy": "identical content",
}


@pytest.mark.parametrize("kind", list(REPEATS))
def test_repeated_volume_is_exit_2_naming_both_positions(kind, volumes, tmp_path, monkeypatch):
    vols, tsv = volumes
    monkeypatch.chdir(tmp_path)  # the relative spelling is read from here
    func = _repeat(kind, vols, tmp_path)
    out = tmp_path / "out"
    code, stdout, err = _fit_volumes(func, tsv, out)
    assert code == cli.EXIT_INPUT, err
    line = one_line(err)
    assert_words(
        line,
        f"found volume 5 ({func[4]}) repeating volume 2 ({vols[1]})",
        REPEATS[kind],
        "--allow-repeated-volumes",
    )
    assert stdout == "" and not out.exists()


def test_repeated_volume_is_accepted_with_the_flag(volumes, tmp_path):
    vols, tsv = volumes
    func = _repeat("copy", vols, tmp_path)
    code, _, err = _fit_volumes(func, tsv, tmp_path / "out", "--allow-repeated-volumes")
    assert code == cli.EXIT_OK, err
    assert "contrast-rest_stat-z_statmap.nii.gz" in listing(tmp_path / "out")


def test_a_4d_run_named_twice_is_refused(tmp_path):
    bold, tsv = write_run(tmp_path / "run")
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args((bold, tsv), out, **{"--func": [str(bold), str(bold)]}))
    assert code == cli.EXIT_INPUT
    assert_words(one_line(err), "volume 2", "repeating volume 1", "the same file")


def test_every_repeat_is_counted(volumes):
    vols, _ = volumes
    func = [vols[0], vols[1], vols[0], vols[1], vols[2]]
    assert repeated_files(func) == [(0, 2, "the same file"), (1, 3, "the same file")]


def test_distinct_volumes_are_not_repeats(volumes):
    vols, _ = volumes
    assert repeated_files(vols) == []


def test_missing_files_are_left_to_the_reader(volumes, tmp_path):
    vols, _ = volumes
    gone = tmp_path / "gone.nii"
    assert repeated_files([vols[0], gone, gone]) == []


# ----------------------------------------------------- names that collide with grammar

COLUMNS = ["active-rest", "active", "rest", "button press", "0-back", "None", "x", "constant"]


def _vector(**weights) -> list[float]:
    names = {"active_rest": "active-rest", "button_press": "button press", "zero_back": "0-back"}
    out = np.zeros(len(COLUMNS))
    for key, weight in weights.items():
        out[COLUMNS.index(names.get(key, key))] = weight
    return out.tolist()


def _refused(expression) -> str:
    with pytest.raises(InputError) as excinfo:
        expression_to_contrast_vector(expression, COLUMNS)
    return str(excinfo.value)


def test_a_column_name_that_is_also_arithmetic_is_refused_naming_both():
    message = _refused("active-rest")
    assert_words(
        message,
        "expected one reading, found two",
        "the column 'active-rest'",
        "the arithmetic active - rest",
        "write `active-rest` (in backticks) for the column",
        "'active - rest' (spaced) for the arithmetic",
    )


def test_a_column_name_that_reads_as_arithmetic_of_unknown_names_is_refused():
    """'0-back' has no second meaning here, but unquoted it reads as 0 - back."""
    assert_words(_refused("0-back"), "the column '0-back'", "0 - back", "`0-back`")


def test_an_expression_holding_an_unquoted_column_name_is_refused_if_both_read():
    assert_words(
        _refused("active-rest + x"),
        "`active-rest` + x (with the column(s) 'active-rest')",
        "active - rest + x (arithmetic)",
    )


@pytest.mark.parametrize(
    "expression, weights",
    [
        ("`active-rest`", {"active_rest": 1}),
        ("active - rest", {"active": 1, "rest": -1}),
        ("`button press` - rest", {"button_press": 1, "rest": -1}),
        ("2 * `button press` - `0-back` / 2", {"button_press": 2, "zero_back": -0.5}),
        ("`active-rest` + x", {"active_rest": 1, "x": 1}),
        ("button press", {"button_press": 1}),  # the whole name, one reading: nilearn's rule
        ("`None` - x", {"None": 1, "x": -1}),
        ("`x`", {"x": 1}),  # an identifier may be quoted too
    ],
)
def test_quoted_and_unambiguous_expressions(expression, weights):
    assert expression_to_contrast_vector(expression, COLUMNS).tolist() == _vector(**weights)


@pytest.mark.parametrize(
    "expression, words",
    [
        (
            "button press - rest",
            ["'button press', not a valid Python identifier", "`button press` - rest"],
        ),
        ("None - x", ["'None', not a valid Python identifier", "`None` - x"]),
        ("`button press - rest", ["odd number of backticks"]),
        ("`nope` - x", ["unknown column 'nope'", "`button press`"]),
        ("`button press` * rest", ["not linear"]),
    ],
)
def test_unquoted_or_malformed_names(expression, words):
    assert_words(_refused(expression), *words)


def test_a_syntax_error_lists_the_names_to_quote():
    assert_words(_refused("active +"), "syntax error", "written in backticks", "`button press`")


def test_f_contrast_rows_may_quote_names():
    C = as_contrast_matrix(["`button press`", "`active-rest`"], COLUMNS)
    assert C.tolist() == [_vector(button_press=1), _vector(active_rest=1)]


@pytest.mark.parametrize(
    "text, name, definition",
    [
        ("`active-rest`", "activeRest", "`active-rest`"),
        ("`button press` - rest", "buttonPressMinusRest", "`button press` - rest"),
        ("`0-back` - `2-back`", "0BackMinus2Back", "`0-back` - `2-back`"),
        ("e=`a;b`; rest", "e", ["`a;b`", "rest"]),
        ("`a=b` - c", "aBMinusC", "`a=b` - c"),
        ("active - rest", "activeMinusRest", "active - rest"),  # as nilearn names it
    ],
)
def test_contrast_names_of_quoted_columns(text, name, definition):
    assert parse_contrast(text) == (name, definition)


@given(st.text(alphabet=string.ascii_letters + string.digits + " -+<>_.()", min_size=1))
def test_any_quoted_column_is_its_unit_vector(name):
    columns = ["rest", name, "constant"] if name not in ("rest", "constant") else [name, "zz"]
    vector = expression_to_contrast_vector(quoted(name), columns)
    assert vector.tolist() == [float(c == name) for c in columns]


@given(st.text(alphabet=string.ascii_lowercase + " -+<>", min_size=1).filter(str.strip))
def test_a_quoted_name_is_never_named_as_arithmetic(name):
    if not any(c.isalnum() for c in name):
        return
    cleaned = camel_case_contrast_name(f"`{name}`")
    for word in ("Minus", "Plus", "Gt", "Lt"):
        assert word not in cleaned or word.lower() in name


def test_plain_names():
    assert is_plain_name("active") and is_plain_name("drift_1")
    assert not any(map(is_plain_name, ["active-rest", "button press", "2back", "None", "lambda"]))


# -------------------------------------------------------------------- through the CLI


def _run_with_conditions(tmp_path, names) -> tuple[Path, Path]:
    """The synthetic run with its two conditions renamed (rest, active -> names)."""
    data, affine, events = synthetic_run()
    bold = io.save_image(data, tmp_path / "bold.nii.gz", affine)
    tsv = tmp_path / "events.tsv"
    events.assign(
        trial_type=events.trial_type.map(dict(zip(["rest", "active"], names, strict=True)))
    ).to_csv(tsv, sep="\t", index=False)
    return bold, tsv


def test_cli_refuses_a_condition_name_read_as_a_difference(tmp_path):
    """Before: 'active-rest' silently meant that column, named contrast-activeMinusRest."""
    data, affine, events = synthetic_run()
    bold = io.save_image(data, tmp_path / "bold.nii.gz", affine)
    tsv = tmp_path / "events.tsv"
    third = events[events.trial_type == "active"].assign(trial_type="active-rest")
    third = third.assign(onset=third.onset + 4.0, duration=2.0)
    pd.concat([events, third]).sort_values("onset").to_csv(tsv, sep="\t", index=False)
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args((bold, tsv), out, **{"--contrast": "active-rest"}))
    assert code == cli.EXIT_INPUT, err
    assert_words(one_line(err), "the column 'active-rest'", "the arithmetic active - rest")
    assert not out.exists()


def test_cli_quoted_condition_is_fitted_and_named_as_a_name(tmp_path):
    bold, tsv = _run_with_conditions(tmp_path, ["rest", "active-rest"])
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args((bold, tsv), out, **{"--contrast": "`active-rest` - rest"}))
    assert code == cli.EXIT_OK, err
    assert "contrast-activeRestMinusRest_stat-z_statmap.nii.gz" in listing(out)


def test_cli_condition_with_a_space(tmp_path):
    bold, tsv = _run_with_conditions(tmp_path, ["rest", "button press"])
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args((bold, tsv), out, **{"--contrast": "`button press` - rest"}))
    assert code == cli.EXIT_OK, err
    assert "contrast-buttonPressMinusRest_stat-z_statmap.nii.gz" in listing(out)


def test_cli_condition_with_a_space_unquoted_shows_the_quoted_form(tmp_path):
    """Before: the message said only "syntax error"."""
    bold, tsv = _run_with_conditions(tmp_path, ["rest", "button press"])
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args((bold, tsv), out, **{"--contrast": "button press - rest"}))
    assert code == cli.EXIT_INPUT
    assert_words(one_line(err), "not a valid Python identifier", "`button press` - rest")
