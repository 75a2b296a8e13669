"""The refglm command line: every subcommand and every exit code (0, 1, 2).

Most tests call ``refglm.cli.main([...])`` in-process; the tutorial and
validate commands reuse the session's tutorial fit (``tutorial_results``)
instead of refitting; two tests run the installed console script.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from refglm import cli
from refglm.cli.options import parse_contrast
from refglm.cli.progress import Bars
from refglm.exceptions import InputError
from refglm.first_level import write_glm_outputs
from refglm.io.derivative_names import camel_case_contrast_name
from refglm.workflows import tutorial as tutorial_workflow
from tests.conftest import spm_auditory_dir
from tests.io.test_bids_raw import events_file, write_small_run, write_small_volumes

REFGLM = Path(sys.executable).with_name("refglm")

TUTORIAL_ARTEFACTS = [
    "contrast-activeMinusRest_clusters.json",
    "contrast-activeMinusRest_clusters.tsv",
    "contrast-activeMinusRest_stat-effect_statmap.nii.gz",
    "contrast-activeMinusRest_stat-p_statmap.nii.gz",
    "contrast-activeMinusRest_stat-t_statmap.nii.gz",
    "contrast-activeMinusRest_stat-variance_statmap.nii.gz",
    "contrast-activeMinusRest_stat-z_statmap.nii.gz",
    "contrast-effectsOfInterest_clusters.json",
    "contrast-effectsOfInterest_clusters.tsv",
    "contrast-effectsOfInterest_stat-F_statmap.nii.gz",
    "contrast-effectsOfInterest_stat-p_statmap.nii.gz",
    "contrast-effectsOfInterest_stat-z_statmap.nii.gz",
    "dataset_description.json",
    "design.json",
    "design.tsv",
    "figures/contrast-activeMinusRest_design.png",
    "figures/contrast-activeMinusRest_thresh-bonferroni.png",
    "figures/contrast-activeMinusRest_thresh-fdr.png",
    "figures/contrast-activeMinusRest_thresh-fdrCluster10.png",
    "figures/contrast-activeMinusRest_thresh-fpr.png",
    "figures/contrast-activeMinusRest_thresh-z3.png",
    "figures/contrast-effectsOfInterest_design.png",
    "figures/contrast-effectsOfInterest_thresh-fdrCluster10.png",
    "figures/design_correlation.png",
    "figures/design_matrix.png",
    "figures/expected_response.png",
    "figures/mask.png",
    "mask.nii.gz",
    "report.html",
    "statmap.json",
    "thresholds.json",
]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# ----------------------------------------------------------------------------- help


def _example_lines(help_text: str) -> list[str]:
    """The command lines of the help's examples section ("example:" or "examples:")."""
    lines = help_text.splitlines()
    starts = [k for k, line in enumerate(lines) if line.startswith(("example:", "examples:"))]
    assert starts, help_text
    first = lines[starts[0]].removeprefix("examples:").removeprefix("example:").strip()
    section = [first] + [line.strip() for line in lines[starts[0] + 1 :]]
    return [line for line in section if line.startswith("refglm ")]


@pytest.mark.parametrize(
    "command", [[], ["tutorial"], ["fit"], ["validate"], ["fetch"], ["explain-voxel"], ["compare"]]
)
def test_help_examples_are_runnable_command_lines(command, capsys):
    """The examples section holds command lines that parse; a subcommand's are its own."""
    from refglm.cli.main import get_parser

    assert cli.main([*command, "--help"]) == 0
    examples = _example_lines(capsys.readouterr().out)
    assert examples
    for line in examples:
        argv = shlex.split(line, comments=True)
        assert argv[0] == "refglm", line
        if command:
            assert argv[1] == command[0], line
        get_parser().parse_args(argv[1:])  # InputError (exit 2) if it does not parse


def test_top_level_help_lists_every_subcommand_with_an_example(capsys):
    cli.main(["--help"])
    out = capsys.readouterr().out
    for name in ("tutorial", "fit", "validate", "fetch", "explain-voxel", "compare"):
        assert f"  refglm {name} " in out, name


def test_a_bare_refglm_prints_the_help(capsys):
    assert cli.main([]) == cli.EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith("usage: refglm ") and "examples:" in out
    assert err == ""


def test_version_prints_the_version(capsys):
    from refglm._version import __version__

    assert cli.main(["--version"]) == cli.EXIT_OK
    assert capsys.readouterr().out == f"refglm {__version__}\n"


def test_progress_bars_are_off_when_stderr_is_not_a_terminal(monkeypatch):
    """Even under ``pytest -s``, where stderr is the terminal: it is replaced by a file."""
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with Bars() as bars:
        bars.bar(10, "OLS pass").update(3)
        bars.step("load and mask the run").update(1)
    assert not bars.enabled
    assert err.getvalue() == ""


# ------------------------------------------------------------------------- tutorial


@pytest.mark.slow
def test_tutorial_writes_every_artefact(tutorial_results, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tutorial_workflow, "run_tutorial", lambda **kwargs: tutorial_results)
    out = tmp_path / "results"
    assert cli.main(["tutorial", "--out", str(out)]) == cli.EXIT_OK
    assert _files(out) == TUTORIAL_ARTEFACTS
    text = capsys.readouterr().out
    assert "mask: 62073 voxels" in text and "threshold fdr: 2.760" in text
    thresholds = json.loads((out / "thresholds.json").read_text())
    assert set(thresholds) == {"z3", "fpr", "bonferroni", "fdr", "fdr_cluster10", "F_fdr_cluster10"}
    assert not list(tmp_path.glob(".results.*"))  # the staging folder is gone


@pytest.mark.slow
def test_failed_tutorial_leaves_out_as_it_was(tutorial_results, monkeypatch, tmp_path, capsys):
    out = tmp_path / "results"
    out.mkdir()
    (out / "keep.txt").write_text("old")

    def broken_write(results, stage, **kwargs):
        (Path(stage) / "half.txt").write_text("partial")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(tutorial_workflow, "run_tutorial", lambda **kwargs: tutorial_results)
    monkeypatch.setattr(tutorial_workflow, "write_tutorial", broken_write)
    assert cli.main(["tutorial", "--out", str(out)]) == cli.EXIT_INTERNAL
    err = _one_line_error(capsys.readouterr().err)
    assert "internal error: RuntimeError: disk on fire" in err
    assert _files(out) == ["keep.txt"]
    assert not list(tmp_path.glob(".results.*"))


def test_internal_error_with_debug_shows_traceback(monkeypatch, tmp_path, capsys):
    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(tutorial_workflow, "run_tutorial", boom)
    assert cli.main(["tutorial", "--out", str(tmp_path / "r"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err


def test_tutorial_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    assert cli.main(["tutorial", "--out", str(target)]) == cli.EXIT_INPUT
    assert "expected a folder" in _one_line_error(capsys.readouterr().err)


# ------------------------------------------------------------------------- validate


@pytest.mark.slow
def test_validate_passes(tutorial_results, monkeypatch, capsys):
    monkeypatch.setattr(tutorial_workflow, "run_tutorial", lambda **kwargs: tutorial_results)
    assert cli.main(["validate"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "0 failed" in out


@pytest.mark.slow
def test_validate_fails_on_a_wrong_value(tutorial_results, monkeypatch, capsys):
    from dataclasses import replace

    wrong = replace(tutorial_results, mask_voxels=tutorial_results.mask_voxels + 1)
    monkeypatch.setattr(tutorial_workflow, "run_tutorial", lambda **kwargs: wrong)
    assert cli.main(["validate"]) == cli.EXIT_INTERNAL
    assert "1 failed" in capsys.readouterr().out


def test_validate_bad_data_dir(tmp_path, capsys):
    assert cli.main(["validate", "--data-dir", str(tmp_path)]) == cli.EXIT_INPUT
    assert "error" in capsys.readouterr().err


@pytest.mark.slow
def test_validate_forwards_the_convention(tutorial_results, monkeypatch, capsys):
    calls = []

    def run_tutorial(**kwargs):
        calls.append(kwargs)
        return tutorial_results

    monkeypatch.setattr(tutorial_workflow, "run_tutorial", run_tutorial)
    cli.main(["validate", "--convention", "nilearn", "--engine", "vectorized"])
    assert [(c["convention"], c["engine"]) for c in calls] == [("nilearn", "vectorized")]
    assert "convention nilearn: compared with the golden values" in capsys.readouterr().out


def test_validate_unknown_convention_is_bad_input(capsys):
    assert cli.main(["validate", "--convention", "fsl"]) == cli.EXIT_INPUT
    line = _one_line_error(capsys.readouterr().err)
    from refglm.conventions import CONVENTIONS

    listed = ", ".join(repr(name) for name in CONVENTIONS)
    assert f"--convention: expected one of {listed}, found 'fsl'" in line


# ---------------------------------------------------------------------------- fetch


def test_fetch_verifies_the_data(capsys):
    assert cli.main(["fetch", "spm-auditory", "--data-dir", str(spm_auditory_dir())]) == 0
    assert "96 volumes verified" in capsys.readouterr().out


def test_fetch_unknown_dataset(capsys):
    assert cli.main(["fetch", "haxby"]) == cli.EXIT_INPUT
    assert "invalid choice" in _one_line_error(capsys.readouterr().err)


def test_fetch_empty_data_dir_suggests_a_download_without_it(tmp_path, monkeypatch, capsys):
    """--data-dir only verifies: the error names commands that download instead."""
    monkeypatch.delenv("REFGLM_DATA_DIR", raising=False)
    assert cli.main(["fetch", "spm-auditory", "--data-dir", str(tmp_path)]) == cli.EXIT_INPUT
    line = _one_line_error(capsys.readouterr().err)
    assert "it is empty; --data-dir only verifies data already there" in line
    assert f"`refglm fetch spm-auditory --cache-dir {tmp_path}`" in line
    assert "or `refglm fetch spm-auditory` (into " in line


# ------------------------------------------------------------------------------ fit


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    bold = write_small_run(folder / "sub-01_task-auditory_bold.nii.gz")
    return bold, events_file()


def _fit_args(small_run, out, *extra):
    bold, events = small_run
    return [
        "fit",
        "--func",
        str(bold),
        "--events",
        str(events),
        "--t-r",
        "7",
        "--hrf-model",
        "spm",
        "--contrast",
        "active - rest",
        "--contrast",
        "effectsOfInterest=active; rest",
        "--out",
        str(out),
        *extra,
    ]


def test_fit_writes_bids_derivatives_deterministically(small_run, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(_fit_args(small_run, a)) == 0
    assert cli.main(_fit_args(small_run, b, "--n-jobs", "2")) == 0
    files = _files(a)
    assert files == _files(b)
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    for kind in ("effect", "variance", "t", "z", "p"):
        assert f"contrast-activeMinusRest_stat-{kind}_statmap.nii.gz" in files
    for kind in ("F", "z", "p"):
        assert f"contrast-effectsOfInterest_stat-{kind}_statmap.nii.gz" in files
    for name in (
        "contrast-activeMinusRest_clusters.tsv",
        "contrast-activeMinusRest_clusters.json",
        "design.tsv",
        "design.json",
        "mask.nii.gz",
        "statmap.json",
        "dataset_description.json",
        "report.html",
        "figures/design_matrix.png",
        "figures/contrast-activeMinusRest_thresh-map.png",
    ):
        assert name in files, name
    params = json.loads((a / "contrast-activeMinusRest_clusters.json").read_text())
    assert params["height_control"] == "fdr" and params["alpha"] == 0.05
    assert params["cluster_threshold"] == 20 and params["min_distance"] == 8.0
    statmap = json.loads((a / "statmap.json").read_text())
    assert statmap["hrf_model"] == "spm" and statmap["t_r"] == 7.0
    assert statmap["contrasts"] == {
        "activeMinusRest": "active - rest",
        "effectsOfInterest": ["active", "rest"],
    }
    assert statmap["convention_choices"]["name"] == "nistats"
    desc = json.loads((a / "dataset_description.json").read_text())
    assert desc["GeneratedBy"][0]["Name"] == "refglm"
    assert "contrast-activeMinusRest (t)" in capsys.readouterr().out


def test_fit_volumes_equal_fit_4d(small_run, tmp_path):
    vols = write_small_volumes(tmp_path / "vols")
    args = _fit_args(small_run, tmp_path / "four", "--no-report")
    assert cli.main(args) == 0
    i = args.index("--func")
    args3 = args[: i + 1] + [str(v) for v in vols] + args[i + 2 :]
    args3[args3.index("--out") + 1] = str(tmp_path / "three")
    assert cli.main(args3) == 0
    # statmap.json names the inputs (input_files, input_data): they differ by design;
    # every other key, and every other file, must be the same bytes
    provenance = ("input_files", "input_data")
    for name in _files(tmp_path / "four"):
        four, three = (tmp_path / "four" / name), (tmp_path / "three" / name)
        if name == "statmap.json":
            a, b = json.loads(four.read_text()), json.loads(three.read_text())
            assert a["input_files"] != b["input_files"]
            assert {k: v for k, v in a.items() if k not in provenance} == {
                k: v for k, v in b.items() if k not in provenance
            }
            continue
        assert four.read_bytes() == three.read_bytes(), name


@pytest.mark.slow
def test_fit_uses_the_tutorial_writer(tutorial_results, tmp_path):
    """`fit` and `tutorial` share write_glm_outputs: same names, same bytes for the same maps."""
    out = tmp_path / "t"
    tutorial_workflow.write_tutorial(tutorial_results, out)
    summaries = tutorial_workflow.tutorial_summaries(tutorial_results)
    again = write_glm_outputs(
        tutorial_results.model,
        summaries[:1],
        tmp_path / "f",
        parameters=tutorial_results.parameters,
        dataset_name="refglm first-level results: SPM auditory tutorial",
    )
    for path in again:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--contrast", "active - nope"], "unknown column 'nope'"),
        (["--contrast", "=;"], "expected NAME=EXPR"),
        (["--contrast", "x=active", "--contrast", "x=rest"], "already used"),
        (["--noise-model", "ar2"], "noise_model"),
        (["--height-control", "none"], "--threshold"),
        (["--height-control", "holm"], "--height-control"),
        (["--t-r", "-1"], "t_r"),
    ],
)
def test_fit_bad_input(small_run, tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    args = _fit_args(small_run, out)
    if extra[0] == "--t-r":
        args[args.index("--t-r") + 1] = extra[1]
        extra = []
    assert cli.main(args + extra) == cli.EXIT_INPUT
    assert message in _one_line_error(capsys.readouterr().err)
    assert not out.exists()


def test_fit_states_the_reference_engines_cost(tmp_path):
    from tests.cli.test_bad_inputs import fit_args, run_cli, write_run

    code, out, err = run_cli(fit_args(write_run(tmp_path / "run"), tmp_path / "out"))
    assert code == cli.EXIT_OK, err
    first = out.splitlines()[0]
    assert "(statsmodels reference engine; `--engine vectorized` gives the same numbers " in first
    assert "within 1e-10 in ~" in first


def test_fit_missing_inputs(tmp_path, capsys):
    assert cli.main(["fit", "--out", str(tmp_path / "o"), "--contrast", "a"]) == 2
    assert "missing --func, --events, --t-r" in _one_line_error(capsys.readouterr().err)
    args = ["fit", "--out", str(tmp_path / "o"), "--bids-dir", str(tmp_path), "--contrast", "a"]
    assert cli.main(args) == 2
    assert "--task" in _one_line_error(capsys.readouterr().err)


def test_fit_missing_file(tmp_path, capsys):
    args = ["fit", "--func", str(tmp_path / "nope.nii.gz"), "--events", str(tmp_path / "e.tsv")]
    args += ["--t-r", "2", "--contrast", "a", "--out", str(tmp_path / "o")]
    assert cli.main(args) == cli.EXIT_INPUT
    assert "file not found" in _one_line_error(capsys.readouterr().err)


def test_fit_with_bids_dir(tmp_path, capsys):
    from tests.io.test_bids_raw import make_bids

    root = make_bids(tmp_path / "ds")
    out = tmp_path / "out"
    args = ["fit", "--bids-dir", str(root), "--task", "auditory", "--hrf-model", "spm"]
    assert cli.main(args + ["--contrast", "active - rest", "--out", str(out)]) == 0
    assert "sub-01_task-auditory_bold.nii.gz (t_r 7 s)" in capsys.readouterr().out
    assert (out / "contrast-activeMinusRest_stat-z_statmap.nii.gz").is_file()


# ---------------------------------------------------------------------- naming


NAMES = [
    "active - rest",
    "active-rest",
    "Active + Rest",
    "face > house",
    "a < b",
    "effects_of_interest",
    "2*active - 0.5*rest",
    "listening",
    "Audio_Visual - rest",
    "faceVsHouse",
    "A - B + C",
]


@pytest.mark.peers
@pytest.mark.parametrize("name", NAMES)
def test_contrast_names_match_nilearn(name):
    import warnings

    from nilearn.glm._base import _clean_contrast_name

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _clean_contrast_name(name)
    assert camel_case_contrast_name(name) == expected


def test_camel_case_examples():
    assert camel_case_contrast_name("active - rest") == "activeMinusRest"
    with pytest.raises(InputError):
        camel_case_contrast_name("?!")


def test_parse_contrast():
    assert parse_contrast("active - rest") == ("activeMinusRest", "active - rest")
    assert parse_contrast("effects=active; rest") == ("effects", ["active", "rest"])
    assert parse_contrast("active; rest") == ("activeRest", ["active", "rest"])
    assert parse_contrast("my contrast = active") == ("myContrast", "active")
    with pytest.raises(InputError):
        parse_contrast("x=")


# ------------------------------------------------------------------- explain-voxel


@pytest.mark.slow
def test_explain_voxel_in_process(tmp_path, capsys):
    args = ["explain-voxel", "--mm", "-60", "-6", "42", "--data-dir", str(spm_auditory_dir())]
    assert cli.main(args + ["--out", str(tmp_path / "v")]) == 0
    out = capsys.readouterr().out
    assert "voxel ijk (51, 29, 36) = mm (-60, -6, 42)" in out
    assert "z (active - rest) = 9.811979" in out
    assert _files(tmp_path / "v") == ["voxel-51-29-36_trace.json", "voxel-51-29-36_trace.png"]
    trace = json.loads((tmp_path / "v" / "voxel-51-29-36_trace.json").read_text())
    assert f"{trace['contrast']['z']:.6f}" == "9.811979"
    assert trace["ijk"] == [51, 29, 36]


@pytest.mark.slow
def test_explain_voxel_outside_mask(capsys):
    args = ["explain-voxel", "--ijk", "0", "0", "0", "--data-dir", str(spm_auditory_dir())]
    assert cli.main(args) == cli.EXIT_INPUT
    assert "outside the brain mask" in _one_line_error(capsys.readouterr().err)


def test_explain_voxel_needs_a_voxel(capsys):
    assert cli.main(["explain-voxel"]) == cli.EXIT_INPUT
    assert "one of the arguments --mm --ijk is required" in capsys.readouterr().err


# ------------------------------------------------------------ the console script


def _env():
    env = dict(os.environ)
    env["REFGLM_DATA_DIR"] = str(spm_auditory_dir())
    return env


@pytest.mark.slow
def test_console_script_explain_voxel(tmp_path):
    out = subprocess.run(
        [str(REFGLM), "explain-voxel", "--mm", "-60", "-6", "42"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "z (active - rest) = 9.811979" in out.stdout
    assert out.stderr == ""  # no progress bar or warning when stderr is not a terminal


@pytest.mark.slow
def test_console_script_bad_input(tmp_path):
    out = subprocess.run(
        [str(REFGLM), "fit", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    assert out.returncode == 2
    line = _one_line_error(out.stderr)
    assert line == "refglm: error: fit: the following arguments are required: --contrast"
