"""The CLI's exit codes: 0 ok, 1 internal error, 2 bad input (130 Ctrl-C, 141 stdout
closed by its reader, 143 SIGTERM).

Errors are one line on stderr with no traceback; ``--debug`` adds the
traceback. Most tests call ``refglm.cli.main`` in-process; the last ones run
the installed console script, whose exit status is what a shell sees.
"""

from __future__ import annotations

import errno
import io as _io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from refglm import cli, io
from refglm.workflows import explain_voxel as explain_voxel_workflow  # the module
from refglm.workflows import fit as fit_workflow
from refglm.workflows import tutorial as tutorial_workflow
from tests.cli.test_bad_inputs import (
    SHAPE,
    fit_args,
    listing,
    one_line,
    run_cli,
    synthetic_run,
    write_run,
)
from tests.conftest import spm_auditory_dir

REFGLM = Path(sys.executable).with_name("refglm")


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("exit_codes"))


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


# ---------------------------------------------------------------------------- 0


def test_exit_0(run_files, tmp_path):
    code, stdout, err = run_cli(fit_args(run_files, tmp_path / "out"))
    assert code == cli.EXIT_OK == 0
    assert err == ""
    assert stdout.startswith("refglm fit: ")
    assert "contrast-activeMinusRest_stat-z_statmap.nii.gz" in listing(tmp_path / "out")


@pytest.mark.parametrize("command", [[], ["fit"], ["tutorial"], ["fetch"], ["explain-voxel"]])
def test_help_is_exit_0(command):
    code, stdout, err = run_cli([*command, "--help"])
    assert code == 0 and err == "" and "usage: refglm" in stdout


# ---------------------------------------------------------------------------- 1

_TARGETS = {
    # subcommand: (module attribute that fails, arguments)
    "fit": (fit_workflow, "run_fit", None),
    "tutorial": (tutorial_workflow, "run_tutorial", ["tutorial"]),
    "explain-voxel": (
        explain_voxel_workflow,
        "explain_voxel",
        ["explain-voxel", "--ijk", "1", "2", "3"],
    ),
}


@pytest.mark.parametrize("command", list(_TARGETS))
def test_exit_1_internal_error(command, run_files, tmp_path, monkeypatch):
    module, attribute, args = _TARGETS[command]
    monkeypatch.setattr(module, attribute, _boom)
    out = tmp_path / "out"
    args = fit_args(run_files, out) if args is None else [*args, "--out", str(out)]
    code, stdout, err = run_cli(args)
    assert code == cli.EXIT_INTERNAL == 1
    line = one_line(err)
    assert line == "refglm: internal error: RuntimeError: boom (rerun with --debug)"
    assert stdout == ""
    assert listing(tmp_path) == []  # nothing written, no staging folder left


def test_exit_1_internal_error_in_fetch(monkeypatch, tmp_path):
    import refglm.datasets

    monkeypatch.setattr(refglm.datasets, "fetch_spm_auditory", _boom)
    code, _, err = run_cli(["fetch", "spm-auditory", "--data-dir", tmp_path])
    assert code == cli.EXIT_INTERNAL
    assert one_line(err).endswith("RuntimeError: boom (rerun with --debug)")


def test_exit_1_with_debug_shows_the_traceback(run_files, tmp_path, monkeypatch):
    monkeypatch.setattr(fit_workflow, "run_fit", _boom)
    code, _, err = run_cli([*fit_args(run_files, tmp_path / "out"), "--debug"])
    assert code == cli.EXIT_INTERNAL
    assert err.startswith("Traceback (most recent call last):")
    assert "in _boom" in err and "RuntimeError: boom" in err
    assert err.strip().splitlines()[-1].startswith("refglm: internal error: RuntimeError: boom")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------- 2


@pytest.mark.parametrize(
    "args, words",
    [
        (["fit", "--t-r", "2"], ["fit: the following arguments are required: --contrast, --out"]),
        (["fit", "--out", "x", "--contrast", "a", "--frobnicate"], ["unrecognized arguments"]),
        (["tutorial", "--n-jobs", "many"], ["--n-jobs", "expected a whole number", "'many'"]),
        (["fetch", "haxby"], ["argument dataset: invalid choice: 'haxby'"]),
        (["nonsense"], ["invalid choice: 'nonsense'"]),
    ],
)
def test_exit_2_bad_usage(args, words):
    code, stdout, err = run_cli(args)
    assert code == cli.EXIT_INPUT == 2
    line = one_line(err)
    assert line.startswith("refglm: error: ")
    for word in words:
        assert word in line
    assert stdout == ""


@pytest.mark.parametrize(
    "args", [["nonsense"], ["fit", "--t-r", "2"], ["compare", "--tolerance", "x", "a", "b"]]
)
def test_usage_errors_name_the_program_once(args):
    """``refglm: error: ...``, not ``refglm: error: refglm: ...`` nor ``... refglm fit: ...``."""
    _, _, err = run_cli(args)
    line = one_line(err)
    assert line.count("refglm") == 1, line


def test_exit_2_bad_input(run_files, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli(fit_args(run_files, out, **{"--contrast": "active - nope"}))
    assert code == cli.EXIT_INPUT
    line = one_line(err)
    assert line.startswith("refglm: error: contrast activeMinusNope: contrast 'active - nope':")
    assert "unknown column 'nope'" in line
    assert stdout == "" and listing(tmp_path) == []


def test_exit_2_with_debug_shows_the_traceback(run_files, tmp_path):
    args = fit_args(run_files, tmp_path / "out", **{"--t-r": "-1"})
    code, _, err = run_cli([*args, "--debug"])
    assert code == cli.EXIT_INPUT
    assert err.startswith("Traceback (most recent call last):")
    assert "refglm.exceptions.InputError: t_r: expected a number > 0" in err
    assert err.strip().splitlines()[-1].startswith("refglm: error: t_r: expected a number > 0")


def test_debug_may_come_first(run_files, tmp_path):
    args = fit_args(run_files, tmp_path / "out", **{"--t-r": "-1"})
    code, _, err = run_cli(["--debug", *args])
    assert code == cli.EXIT_INPUT and "Traceback" in err


# -------------------------------------------------------------------------- 141


class _ClosedPipe(_io.TextIOBase):
    """A stdout whose reader went away (``| head -1``): every write raises BrokenPipeError."""

    def writable(self):
        return True

    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_exit_141_quietly_when_stdout_is_closed(monkeypatch, capsys):
    import refglm.datasets

    def fetched(*args, **kwargs):
        return refglm.datasets.Bunch(func=["v.img"], data_dir="data")

    monkeypatch.setattr(refglm.datasets, "fetch_spm_auditory", fetched)
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert cli.main(["fetch", "spm-auditory"]) == cli.EXIT_SIGPIPE == 141
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_explain_voxel_writes_out_before_printing_into_a_closed_pipe(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    args = ["explain-voxel", "--ijk", "51", "29", "36", "--data-dir", spm_auditory_dir()]
    assert cli.main([*map(str, args), "--out", str(tmp_path / "v")]) == cli.EXIT_SIGPIPE
    assert listing(tmp_path / "v") == ["voxel-51-29-36_trace.json", "voxel-51-29-36_trace.png"]


# -------------------------------------------------------------------- warnings


def test_warnings_are_one_line_each(tmp_path):
    """NaN voxels in otherwise good data: exit 0 and a one-line warning that counts them."""
    data, affine, events = synthetic_run()
    data[4, 5, 5, :] = np.nan
    data[5, 5, 5, 3] = np.inf
    bold = io.save_image(data, tmp_path / "bold.nii.gz", affine)
    tsv = tmp_path / "events.tsv"
    events.to_csv(tsv, sep="\t", index=False)
    mask = io.save_image(np.ones(SHAPE, np.uint8), tmp_path / "mask.nii.gz", affine)
    args = fit_args((bold, tsv), tmp_path / "out", extra=["--mask", str(mask)])
    code, _, err = run_cli(args)
    assert code == cli.EXIT_OK
    assert one_line(err) == (
        "refglm: warning: run: 2 voxels have NaN or Inf values; they are excluded from the mask."
    )
    with pytest.warns(UserWarning, match="run: 2 voxels have NaN or Inf values"):
        code, _, err = run_cli([*args, "--debug"])  # --debug: Python's own warning display
    assert code == cli.EXIT_OK and "refglm: warning" not in err


# ------------------------------------------------------------ the console script


def _script(args, **kwargs) -> subprocess.CompletedProcess:
    if "stdout" not in kwargs:
        kwargs["capture_output"] = True
    return subprocess.run([str(a) for a in args], text=True, timeout=120, **kwargs)


def test_console_script_exit_codes(run_files, tmp_path):
    ok = _script([REFGLM, *fit_args(run_files, tmp_path / "ok")])
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""

    bad = _script([REFGLM, *fit_args(run_files, tmp_path / "bad", **{"--t-r": "0"})])
    assert bad.returncode == 2
    assert one_line(bad.stderr).startswith("refglm: error: t_r: expected a number > 0")

    code = textwrap.dedent(
        f"""
        import sys
        from refglm import cli
        from refglm.workflows import fit

        def boom(*args, **kwargs):
            raise RuntimeError("boom")

        fit.run_fit = boom
        sys.exit(cli.main({fit_args(run_files, tmp_path / "internal")!r}))
        """
    )
    internal = _script([sys.executable, "-c", code])
    assert internal.returncode == 1
    assert one_line(internal.stderr).endswith("RuntimeError: boom (rerun with --debug)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok"]


@pytest.mark.slow
def test_console_script_explain_voxel_into_a_closed_pipe():
    """`refglm explain-voxel ... | head -1`: no "internal error", no traceback; 141."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line is written
    try:
        proc = _script(
            [REFGLM, "explain-voxel", "--mm", "-60", "-6", "42", "--data-dir", spm_auditory_dir()],
            stdout=write,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write)
    assert (proc.returncode, proc.stderr) == (cli.EXIT_SIGPIPE, "")
