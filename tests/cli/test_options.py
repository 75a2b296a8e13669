"""Every option says in --help what it does, its default and its values; bad values: one line."""

from __future__ import annotations

import argparse
import re

import pytest

from refglm import cli
from refglm.conventions import CONVENTIONS
from refglm.glm.design.drifts import DRIFT_MODELS
from refglm.glm.design.hrf import HRF_MODELS
from refglm.glm.engines import ENGINE_NAMES as ENGINES
from refglm.inference import HEIGHT_CONTROLS
from tests.cli.test_bad_inputs import one_line, run_cli


def _shown(values):
    return [("none" if v is None else v) for v in values]


CHOICES = [
    # (subcommand, option, the values it accepts)
    ("tutorial", "--engine", ENGINES),
    ("tutorial", "--convention", tuple(CONVENTIONS)),
    ("fit", "--engine", ENGINES),
    ("fit", "--convention", tuple(CONVENTIONS)),
    ("fit", "--hrf-model", _shown(HRF_MODELS)),
    ("fit", "--drift-model", _shown(DRIFT_MODELS)),
    ("validate", "--engine", ENGINES),
    ("validate", "--convention", tuple(CONVENTIONS)),
    ("explain-voxel", "--convention", tuple(CONVENTIONS)),
    ("fit", "--height-control", _shown(HEIGHT_CONTROLS)),
    ("compare", "--engine", ENGINES),
    ("compare", "--hrf-model", _shown(HRF_MODELS)),
    ("compare", "--drift-model", _shown(DRIFT_MODELS)),
]


@pytest.mark.parametrize("command, option, values", CHOICES)
def test_help_lists_the_values(command, option, values):
    code, out, _ = run_cli([command, "--help"])
    assert code == 0
    text = " ".join(out.split())  # help lines are wrapped to the terminal
    entry = text[text.index(f" {option} ", text.index(" options: ")) :][:400]
    for value in values:
        assert value in entry, (option, value, entry)


@pytest.mark.parametrize("command, option, values", CHOICES)
def test_another_value_is_one_line_exit_2(command, option, values):
    # --help after it: were "bogus" accepted, the command would print its help, exit 0
    code, out, err = run_cli([command, option, "bogus", "--help"])
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert f"argument {option}: expected one of " in line and "found 'bogus'" in line
    assert out == ""


@pytest.mark.parametrize("command", ["fit", "compare"])
def test_noise_model_takes_ols_and_any_ar_order(command):
    from refglm.cli.main import get_parser

    base = {"fit": ["fit", "--out", "o", "--contrast", "active"], "compare": ["compare"]}
    for given, parsed in [("ols", "ols"), ("ar1", "ar1"), ("AR2", "ar2"), ("ar12", "ar12")]:
        args = get_parser().parse_args([*base[command], "--noise-model", given])
        assert args.noise_model == parsed
    code, out, _ = run_cli([command, "--help"])
    entry = " ".join(out.split())
    assert "--noise-model MODEL 'ols', 'ar1' or 'arN'" in entry


@pytest.mark.parametrize("value", ["ar0", "ar", "ar1.5", "ar01", "bogus"])
def test_another_noise_model_is_one_line_exit_2(value):
    code, out, err = run_cli(["fit", "--noise-model", value, "--help"])
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert "argument --noise-model: expected 'ols' or 'arN' with N a whole number >= 1" in line
    assert f"found '{value}'" in line and out == ""


@pytest.mark.parametrize("command", ["tutorial", "fit", "validate", "explain-voxel", "compare"])
def test_convention_takes_the_flips_compare_explain_prints(command):
    # compare --explain ends with "(--convention nilearn+cov_pinv=statsmodels)": every
    # command's --convention takes that, the base name in any case
    from refglm.cli.main import get_parser

    base = {"fit": ["fit", "--out", "o", "--contrast", "active"]}.get(command, [command])
    extra = ["--mm", "0", "0", "0"] if command == "explain-voxel" else []
    args = get_parser().parse_args([*base, *extra, "--convention", "NILEARN+cov_pinv=statsmodels"])
    assert args.convention == "nilearn+cov_pinv=statsmodels"


def test_a_bad_flip_names_the_choice_in_one_line():
    code, out, err = run_cli(["fit", "--convention", "nilearn+ar_binning=bogus", "--help"])
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert "argument --convention: convention 'nilearn+ar_binning=bogus', choice ar_binning" in line
    assert "found 'bogus'" in line and out == ""


def test_values_are_read_case_insensitively():
    from refglm.cli.main import get_parser

    args = get_parser().parse_args(
        ["fit", "--out", "o", "--contrast", "active", "--hrf-model", "SPM + Derivative"]
        + ["--drift-model", "None"]
    )
    assert (args.hrf_model, args.drift_model) == ("spm + derivative", None)


def _commands():
    """(name, parser) of every command, the top-level parser first."""
    from refglm.cli.main import get_parser

    parser = get_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return [("refglm", parser), *sub.choices.items()]


def _every_option():
    """(command, action, its help as --help prints it) of every option of every command."""
    out = []
    for name, parser in _commands():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            shown = formatter._expand_help(action) if action.help else ""
            out.append((name, action, " ".join(shown.split())))
    return out


OPTIONS = _every_option()
IDS = [f"{name} {(action.option_strings or [action.dest])[0]}" for name, action, _ in OPTIONS]


@pytest.mark.parametrize("name, action, shown", OPTIONS, ids=IDS)
def test_every_option_has_a_help_text(name, action, shown):
    assert shown and action.help is not argparse.SUPPRESS


@pytest.mark.parametrize("name, action, shown", OPTIONS, ids=IDS)
def test_every_option_states_its_default(name, action, shown):
    """A flag's default, or that it is required (an on/off flag: "(default: off)")."""
    if not action.option_strings or isinstance(action, argparse._VersionAction):
        return  # a positional argument is required by its place; --version has no state
    assert "default" in shown or "required" in shown, shown


@pytest.mark.parametrize("name, action, shown", OPTIONS, ids=IDS)
def test_every_option_lists_its_values(name, action, shown):
    """Each value of an option with a fixed set of them, in its help or its metavar."""
    values = getattr(action.type, "values", None) or action.choices
    if values is None:
        return
    metavar = str(action.metavar or "")
    for value in ["none" if v is None else v for v in values]:
        assert value in shown or value in metavar, (value, shown)


def test_the_default_check_catches_an_option_without_one():
    parser = argparse.ArgumentParser(formatter_class=cli.options.Formatter)
    action = parser.add_argument("--x", help="what x is")
    flag = parser.add_argument("--y", action="store_true", help="what y does")
    formatter = parser._get_formatter()
    assert "default" not in formatter._expand_help(action)
    assert formatter._expand_help(flag) == "what y does (default: off)"


#: reStructuredText that --help must not show: roles, literals, directives.
RST = re.compile(r"``|:(?:math|func|mod|class|data|meth|attr):|^\.\. |`_", re.M)


@pytest.mark.parametrize("name", [name for name, _ in _commands()])
def test_help_shows_no_restructured_text(name):
    code, out, _ = run_cli(([] if name == "refglm" else [name]) + ["--help"])
    assert code == 0
    assert RST.search(out) is None, RST.search(out)


def test_the_restructured_text_check_catches_a_role():
    assert RST.search("see :func:`refglm.compare.explain`") is not None


def test_fit_usage_shows_contrast_as_required():
    code, out, _ = run_cli(["fit", "--help"])
    usage = " ".join(out.split("\n\n")[0].split())
    assert " --contrast [NAME=]EXPR " in usage and "[--contrast" not in usage


def test_compare_lists_every_named_convention():
    code, out, _ = run_cli(["compare", "--help"])
    text = " ".join(out.split())
    entry = text[text.index(" --convention NAME") :][:300]
    assert all(name in entry for name in CONVENTIONS), entry


# ------------------------------------------------------------------ the engine's cost


def test_the_reference_engines_cost_names_the_faster_engine_and_its_estimate(monkeypatch):
    from refglm.cli.options import STATSMODELS_OVER_VECTORIZED, engine_note

    seconds = 2.0 * STATSMODELS_OVER_VECTORIZED
    assert engine_note("statsmodels", seconds, n_jobs=1) == (
        f"fit {seconds:.1f} s (statsmodels reference engine; `--engine vectorized` gives the "
        "same numbers within 1e-10 in ~2 s)"
    )


def test_the_estimate_counts_the_workers_the_fit_had(monkeypatch):
    """Two workers halved the statsmodels fit; the vectorized engine does not use them."""
    from refglm.cli.options import STATSMODELS_OVER_VECTORIZED, engine_note

    monkeypatch.setattr("os.cpu_count", lambda: 4)
    seconds = 2.0 * STATSMODELS_OVER_VECTORIZED
    assert engine_note("statsmodels", seconds, n_jobs=2).endswith("in ~4 s)")
    assert engine_note("statsmodels", seconds, n_jobs=-1).endswith("in ~8 s)")


def test_the_vectorized_engines_cost_names_the_reference():
    from refglm.cli.options import engine_note

    assert engine_note("vectorized", 1.04) == (
        "fit 1.0 s (vectorized engine; the default, the statsmodels reference engine, gives "
        "the same numbers within 1e-10)"
    )
