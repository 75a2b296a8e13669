"""Nothing half-written survives: staged output folders and atomic files.

Every output file is written to a temporary name in its folder and renamed
(``io.atomic_write_bytes``); a command's outputs are staged in a hidden
folder beside ``--out`` (inside it when ``--out`` is a mount point: see
``tests/io/test_staging.py``) and moved in only when the run succeeds
(``io.staged_output_dir``). The slow tests run ``refglm tutorial`` on the
real data in a subprocess and interrupt it mid-fit with SIGINT, SIGTERM and
SIGKILL: ``--out`` must hold exactly what it held before.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from refglm import cli, io
from refglm.cli.main import _Terminated
from refglm.exceptions import InputError, OutputWriteError
from refglm.io import staging
from refglm.workflows import fit as fit_workflow
from tests.cli.test_bad_inputs import fit_args, listing, one_line, run_cli, write_run
from tests.conftest import spm_auditory_dir

REFGLM = Path(sys.executable).with_name("refglm")
SENTINEL = b"results of an earlier run \x00\xff\n"


def _staging_dirs(folder: Path, name: str) -> list[Path]:
    return sorted(Path(folder).glob(f".{name}.*.staging"))


def _out_with_sentinel(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    out.mkdir()
    (out / "keep.bin").write_bytes(SENTINEL)
    return out


def _assert_untouched(out: Path) -> None:
    assert listing(out) == ["keep.bin"]
    assert (out / "keep.bin").read_bytes() == SENTINEL


# ------------------------------------------------------------- staged_output_dir


def test_new_out_appears_in_one_step(tmp_path):
    out = tmp_path / "a" / "b" / "results"
    with io.staged_output_dir(out) as stage:
        assert stage.parent == tmp_path  # staged in the nearest existing folder
        assert stage.name.startswith(".results.") and stage.name.endswith(".staging")
        io.atomic_write_text(stage / "z.json", "{}\n")
        (stage / "figures").mkdir()
        io.atomic_write_bytes(stage / "figures" / "f.png", b"png")
        assert not out.exists() and not (tmp_path / "a").exists()
    assert listing(out) == ["figures", "figures/f.png", "z.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert (out.stat().st_mode & 0o777) == 0o777 & ~umask
    assert (out / "z.json").stat().st_mode & 0o777 == 0o666 & ~umask
    assert listing(tmp_path) == [
        "a",
        "a/b",
        "a/b/results",
        *[f"a/b/results/{p}" for p in listing(out)],
    ]


def test_existing_out_keeps_its_other_files(tmp_path):
    out = _out_with_sentinel(tmp_path)
    (out / "design.tsv").write_text("old")
    with io.staged_output_dir(out) as stage:
        assert stage.parent == tmp_path
        io.atomic_write_text(stage / "design.tsv", "new")
        (stage / "figures").mkdir()
        io.atomic_write_bytes(stage / "figures" / "f.png", b"png")
    assert listing(out) == ["design.tsv", "figures", "figures/f.png", "keep.bin"]
    assert (out / "design.tsv").read_text() == "new"
    assert (out / "keep.bin").read_bytes() == SENTINEL
    assert _staging_dirs(tmp_path, "results") == []


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
@pytest.mark.parametrize("existing", [True, False])
def test_failed_or_interrupted_block_leaves_out_as_it_was(tmp_path, error, existing):
    out = _out_with_sentinel(tmp_path) if existing else tmp_path / "new" / "results"
    with pytest.raises(type(error)), io.staged_output_dir(out) as stage:
        io.atomic_write_text(stage / "design.tsv", "half")
        (stage / "partial.nii.gz").write_bytes(b"\x1f\x8b")
        raise error
    if existing:
        _assert_untouched(out)
        assert listing(tmp_path) == ["results", "results/keep.bin"]
    else:
        assert listing(tmp_path) == []  # not even the parent folder


def test_clash_is_found_before_anything_moves(tmp_path):
    out = _out_with_sentinel(tmp_path)
    (out / "report.html").mkdir()  # a folder where a file will go
    with pytest.raises(InputError) as excinfo, io.staged_output_dir(out) as stage:
        io.atomic_write_text(stage / "a.tsv", "a")
        io.atomic_write_text(stage / "report.html", "<html>")
    message = str(excinfo.value)
    assert "report.html" in message and "expected" in message and "found a folder" in message
    assert listing(out) == ["keep.bin", "report.html"]
    assert _staging_dirs(tmp_path, "results") == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_of_dead_runs_is_removed(tmp_path):
    """SIGKILL leaves a staging folder; the next run removes it, and only such folders."""
    out = _out_with_sentinel(tmp_path)
    host = staging._host_tag()
    names = {
        "dead": f".results.{host}-{_dead_pid()}.abcd_123.staging",
        "live-parent": f".results.{host}-{os.getppid()}.abcd_123.staging",
        "this-process": f".results.{host}-{os.getpid()}.abcd_123.staging",
        "other-host": f".results.{host}x-{_dead_pid()}.abcd_123.staging",
        "other-name": f".results2.{host}-{_dead_pid()}.abcd_123.staging",
        "old-style": ".results.abcd_123.staging",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "design.tsv").write_text("stale")
    with io.staged_output_dir(out) as stage:
        io.atomic_write_text(stage / "design.tsv", "fresh")
    assert (out / "design.tsv").read_text() == "fresh"
    left = {p.name for p in tmp_path.iterdir() if p.name.startswith(".")}
    assert left == set(names.values()) - {names["dead"]}
    assert socket.gethostname()  # the tag is derived from it


# ------------------------------------------------------------------ atomic files


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "statmap.json"
    target.write_text("old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OutputWriteError, match="statmap.json: expected to write 14 bytes") as info:
        io.atomic_write_text(target, "new and longer")
    assert "no space left on the device ([Errno 28] ENOSPC)" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["statmap.json"]  # no .statmap.json.*.part left


def test_interrupted_atomic_write_keeps_the_old_image(tmp_path, monkeypatch):
    import numpy as np

    target = io.save_image(np.zeros((2, 2, 2)), tmp_path / "z.nii.gz", np.eye(4))
    before = target.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        io.save_image(np.ones((2, 2, 2)), target, np.eye(4))
    assert target.read_bytes() == before
    assert listing(tmp_path) == ["z.nii.gz"]


# ------------------------------------------------------------ the CLI, in-process


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("atomic"))


def test_fit_failing_while_writing_leaves_out_as_it_was(run_files, tmp_path, monkeypatch):
    out = _out_with_sentinel(tmp_path)
    real_write = fit_workflow.write_fit

    def write_then_fail(results, stage, **kwargs):
        real_write(results, stage, **kwargs)  # every output written, in the stage
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(fit_workflow, "write_fit", write_then_fail)
    code, _, err = run_cli(fit_args(run_files, out))
    assert code == cli.EXIT_INTERNAL
    assert "RuntimeError: disk on fire" in one_line(err)
    _assert_untouched(out)
    assert _staging_dirs(tmp_path, "results") == []


@pytest.mark.parametrize(
    "interrupt, code",
    [(KeyboardInterrupt, cli.EXIT_SIGINT), (_Terminated, cli.EXIT_SIGTERM)],
    ids=["ctrl-c", "sigterm"],
)
def test_fit_interrupted_leaves_out_as_it_was(run_files, tmp_path, monkeypatch, interrupt, code):
    out = _out_with_sentinel(tmp_path)
    real_fit = fit_workflow.run_fit

    def fit_then_interrupt(*args, **kwargs):
        real_fit(*args, **kwargs)
        raise interrupt()

    monkeypatch.setattr(fit_workflow, "run_fit", fit_then_interrupt)
    exit_code, _, err = run_cli(fit_args(run_files, out))
    assert exit_code == code
    assert "the output folder was left as it was" in one_line(err)
    _assert_untouched(out)
    assert _staging_dirs(tmp_path, "results") == []


# -------------------------------------------------- real runs, killed mid-fit


def _start_tutorial(tmp_path: Path, out: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFGLM_")}
    return subprocess.Popen(
        [str(REFGLM), "tutorial", "--out", str(out), "--data-dir", str(spm_auditory_dir())],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_fitting(proc: subprocess.Popen, tmp_path: Path, name: str) -> Path:
    """Wait for the staging folder, then a few seconds more: the fit is running by then.

    The staging folder appears before the data are verified and loaded
    (about 2 s on the real data); the fit starts about 2 s later and takes
    10-15 s, so 4 s after the staging folder the run is mid-fit.
    """
    deadline = time.monotonic() + 120
    while not _staging_dirs(tmp_path, name):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no staging folder after 120 s"
        time.sleep(0.05)
    (stage,) = _staging_dirs(tmp_path, name)
    time.sleep(4.0)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    return stage


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, code",
    [(signal.SIGINT, cli.EXIT_SIGINT), (signal.SIGTERM, cli.EXIT_SIGTERM)],
    ids=["SIGINT", "SIGTERM"],
)
def test_tutorial_interrupted_mid_fit(tmp_path, signum, code):
    out = _out_with_sentinel(tmp_path)
    proc = _start_tutorial(tmp_path, out)
    try:
        _wait_until_fitting(proc, tmp_path, "results")
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == code, stderr
    assert "interrupted" in one_line(stderr) or "terminated" in one_line(stderr)
    assert stdout == ""
    _assert_untouched(out)
    assert _staging_dirs(tmp_path, "results") == []  # cleaned up


@pytest.mark.slow
def test_tutorial_killed_mid_fit_and_the_next_run(tmp_path, run_files):
    """SIGKILL: --out untouched; the stale staging folder is never read, and removed next time."""
    out = _out_with_sentinel(tmp_path)
    proc = _start_tutorial(tmp_path, out)
    try:
        stage = _wait_until_fitting(proc, tmp_path, "results")
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    _assert_untouched(out)
    assert _staging_dirs(tmp_path, "results") == [stage]  # SIGKILL cannot clean up
    (stage / "design.tsv").write_text("stale, must never be used")

    code, _, err = run_cli(fit_args(run_files, out))
    assert code == cli.EXIT_OK, err
    assert (out / "keep.bin").read_bytes() == SENTINEL
    assert (out / "design.tsv").read_text().startswith("active\trest\t")
    assert _staging_dirs(tmp_path, "results") == []  # the dead run's folder was removed
