"""Options with a fixed set of values list them in --help and refuse others in one line."""

from __future__ import annotations

import pytest

from refglm import cli
from refglm.conventions import CONVENTIONS
from refglm.glm.design.drifts import DRIFT_MODELS
from refglm.glm.design.hrf import HRF_MODELS
from refglm.glm.engines import ENGINE_NAMES as ENGINES
from refglm.glm.engines import NOISE_MODELS
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
    ("fit", "--noise-model", NOISE_MODELS),
    ("fit", "--height-control", _shown(HEIGHT_CONTROLS)),
    ("compare", "--engine", ENGINES),
    ("compare", "--hrf-model", _shown(HRF_MODELS)),
    ("compare", "--drift-model", _shown(DRIFT_MODELS)),
    ("compare", "--noise-model", NOISE_MODELS),
]


@pytest.mark.parametrize("command, option, values", CHOICES)
def test_help_lists_the_values(command, option, values):
    code, out, _ = run_cli([command, "--help"])
    assert code == 0
    text = " ".join(out.split())  # help lines are wrapped to the terminal
    entry = text[text.index(f" {option} ") :][:400]
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


def test_values_are_read_case_insensitively():
    from refglm.cli.main import get_parser

    args = get_parser().parse_args(
        ["fit", "--out", "o", "--hrf-model", "SPM + Derivative", "--drift-model", "None"]
    )
    assert (args.hrf_model, args.drift_model) == ("spm + derivative", None)
