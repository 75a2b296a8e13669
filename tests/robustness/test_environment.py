"""Interrupts at any moment, and the user's environment (robustness issue, class 2).

- Ctrl-C (SIGINT) or SIGTERM while ``refglm`` is still importing: the same one
  line and exit code as during a run. The signal is sent deterministically: a
  wrapper runs the real console script (or ``python -m refglm``) with an import
  hook that signals the process when a chosen module starts importing.
- A full disk (a real, small tmpfs in a private mount namespace, and an injected
  ``ENOSPC``), a read-only folder (a read-only bind mount, and an injected
  ``EROFS``) and a missing permission (an injected ``EACCES``: the tests run as
  root, whom permissions do not stop): exit 2, one line naming the path and
  what was being written, and ``--out`` as it was.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from refglm import cli, io
from refglm.cli import exit_codes
from refglm.exceptions import OutputWriteError
from refglm.io import atomic
from refglm.workflows import fit as fit_workflow
from tests.cli.test_bad_inputs import assert_words, fit_args, listing, one_line, run_cli, write_run

REPO = Path(__file__).resolve().parents[2]
REFGLM = Path(sys.executable).with_name("refglm")
INTERRUPTED = "refglm: interrupted; the output folder was left as it was"
TERMINATED = "refglm: terminated (SIGTERM); the output folder was left as it was"


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("environment"))


# ------------------------------------------------------------- signals during start-up

# Runs the console script as the shell does (its own file, as __main__), after
# installing an import hook that sends SIGNAL to this process when MODULE starts
# importing: the signal arrives exactly then, whatever the machine's speed.
SIGNAL_DURING_IMPORT = textwrap.dedent(
    """
    import importlib.abc, os, runpy, signal, sys

    target, module, signame, *args = sys.argv[1:]

    class SignalOnImport(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == module:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), getattr(signal, signame))
            return None

    sys.meta_path.insert(0, SignalOnImport())
    if target == "-m":
        sys.argv = ["-m", *args]
        runpy.run_module("refglm", run_name="__main__", alter_sys=True)
    else:
        sys.argv = [target, *args]
        runpy.run_path(target, run_name="__main__")
    """
)


def _signal_during_import(tmp_path, module, signame, target=None, args=None):
    wrapper = tmp_path / "signal_during_import.py"
    wrapper.write_text(SIGNAL_DURING_IMPORT)
    args = args if args is not None else ["fit", "--help"]
    return subprocess.run(
        [sys.executable, str(wrapper), str(target or REFGLM), module, signame, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


# modules imported at start-up, early to late (numpy by refglm.conventions)
STARTUP_MODULES = ["refglm.cli.main", "refglm.cli.options", "numpy", "refglm.io.staging"]


@pytest.mark.parametrize("module", STARTUP_MODULES)
def test_ctrl_c_during_startup_is_one_line_and_130(module, tmp_path):
    done = _signal_during_import(tmp_path, module, "SIGINT")
    assert (done.returncode, done.stderr.strip()) == (cli.EXIT_SIGINT, INTERRUPTED), done.stderr
    assert done.stdout == ""  # the help was never printed: the command stopped


@pytest.mark.parametrize("module", ["refglm.cli.options", "numpy"])
def test_sigterm_during_startup_is_one_line_and_143(module, tmp_path):
    done = _signal_during_import(tmp_path, module, "SIGTERM")
    assert (done.returncode, done.stderr.strip()) == (cli.EXIT_SIGTERM, TERMINATED), done.stderr


def test_ctrl_c_during_startup_of_python_m_refglm(tmp_path):
    done = _signal_during_import(tmp_path, "refglm.cli.options", "SIGINT", target="-m")
    assert (done.returncode, done.stderr.strip()) == (cli.EXIT_SIGINT, INTERRUPTED), done.stderr


def test_ctrl_c_during_startup_of_a_fit_writes_nothing(run_files, tmp_path):
    out = tmp_path / "out"
    args = fit_args(run_files, out)
    done = _signal_during_import(tmp_path, "refglm.conventions", "SIGINT", args=args)
    assert (done.returncode, done.stderr.strip()) == (cli.EXIT_SIGINT, INTERRUPTED)
    assert not out.exists()


def test_startup_and_mid_run_interrupts_print_the_same_line(run_files, tmp_path, monkeypatch):
    """The line of a Ctrl-C during the fit (in-process) is the start-up one."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fit_workflow, "run_fit", interrupted)
    code, _, err = run_cli(fit_args(run_files, tmp_path / "out"))
    assert (code, one_line(err)) == (cli.EXIT_SIGINT, INTERRUPTED)


def test_the_startup_guard_is_only_for_the_command():
    """A program (pytest here) that imports refglm.cli keeps Python's own handlers."""
    assert signal.getsignal(signal.SIGINT) is not exit_codes._startup_signal
    assert signal.getsignal(signal.SIGTERM) is not exit_codes._startup_signal
    assert exit_codes.guard_startup() is False  # argv[0] is pytest, not refglm


def test_main_hands_the_signals_back_after_startup(tmp_path):
    """Once main() runs, Ctrl-C is a KeyboardInterrupt again (staged outputs are cleaned)."""
    code = textwrap.dedent(
        """
        import signal, sys
        sys.argv[0] = "refglm"
        from refglm.cli import exit_codes  # installs the guard: argv[0] is the command's
        assert signal.getsignal(signal.SIGINT) is exit_codes._startup_signal
        assert signal.getsignal(signal.SIGTERM) is exit_codes._startup_signal
        from refglm.cli import main
        main(["fetch", "--help"])
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.stdout.split()[-2:] == ["True", "True"], done.stderr


# ------------------------------------------------------------------ full disk, for real


def _unshare_mount_works() -> bool:
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


needs_mounts = pytest.mark.skipif(
    sys.platform != "linux" or not _unshare_mount_works(),
    reason="cannot mount in a private namespace here (needs root and unshare)",
)

# In a private mount namespace: a 64 KiB tmpfs on MOUNT, nearly filled, holding an
# --out with a sentinel (or no --out yet); runs refglm fit into it and reports the
# exit code, stderr, and what the tmpfs holds afterwards.
IN_NAMESPACE = textwrap.dedent(
    """
    import json, os, subprocess, sys
    mount, out, existing, fill, *args = sys.argv[1:]
    os.makedirs(mount, exist_ok=True)
    if fill == "ro":
        source = mount + ".src"
        os.makedirs(os.path.join(source, "out"), exist_ok=True)
        with open(os.path.join(source, "out", "keep.txt"), "w") as fh:
            fh.write("sentinel")
        subprocess.run(["mount", "--bind", source, mount], check=True)
        subprocess.run(["mount", "-o", "remount,bind,ro", mount], check=True)
    else:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mount], check=True)
        if existing == "1":
            os.makedirs(out)
            with open(os.path.join(out, "keep.txt"), "w") as fh:
                fh.write("sentinel")
        with open(os.path.join(mount, "filler"), "wb") as fh:
            fh.write(b"\\0" * int(fill))
    before = sorted(os.path.relpath(os.path.join(d, f), mount)
                    for d, ds, fs in os.walk(mount) for f in ds + fs)
    done = subprocess.run([sys.executable, "-m", "refglm", *args], capture_output=True, text=True)
    after = sorted(os.path.relpath(os.path.join(d, f), mount)
                   for d, ds, fs in os.walk(mount) for f in ds + fs)
    print(json.dumps({"code": done.returncode, "err": done.stderr, "before": before,
                      "after": after}))
    """
)


def _in_namespace(tmp_path, run_files, existing: bool, fill: str) -> dict:
    mount = tmp_path / "disk"
    out = mount / "out"
    driver = tmp_path / "driver.py"
    driver.write_text(IN_NAMESPACE)
    args = fit_args(run_files, out)
    done = subprocess.run(
        ["unshare", "-m", sys.executable, str(driver), str(mount), str(out)]
        + ["1" if existing else "0", fill, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@needs_mounts
@pytest.mark.parametrize("existing", [True, False], ids=["existing-out", "new-out"])
def test_full_disk_is_exit_2_naming_the_file(run_files, tmp_path, existing):
    """Before: `internal error: OSError: [Errno 28] No space left on device`."""
    result = _in_namespace(tmp_path, run_files, existing, fill=str(40_000))
    assert result["code"] == cli.EXIT_INPUT, result["err"]
    line = one_line(result["err"])
    assert line.startswith(f"refglm: error: {tmp_path / 'disk' / 'out'}/"), line
    assert_words(
        line,
        "expected to write",
        "bytes",
        "no space left on the device ([Errno 28] ENOSPC)",
        "the output folder was left as it was",
    )
    assert "internal error" not in line and ".staging" not in line
    assert result["after"] == result["before"]  # no staging folder, no partial file


@needs_mounts
def test_read_only_folder_is_exit_2(run_files, tmp_path):
    result = _in_namespace(tmp_path, run_files, existing=True, fill="ro")
    assert result["code"] == cli.EXIT_INPUT, result["err"]
    assert_words(
        one_line(result["err"]),
        f"--out {tmp_path / 'disk' / 'out'}",
        "expected a writable folder",
        "read-only filesystem",
    )
    assert result["after"] == result["before"] == ["out", "out/keep.txt"]


# ------------------------------------------------- the same faults, injected in-process


def _out_with_sentinel(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("sentinel")
    return out


def _fail_on(monkeypatch, code: int, name_part: str):
    """Make atomic writes of files whose name holds ``name_part`` fail with ``code``."""
    real_fsync = os.fsync
    current = {}
    real_fdopen = os.fdopen

    def fdopen(fd, *args, **kwargs):
        current["path"] = os.readlink(f"/proc/self/fd/{fd}") if Path("/proc").is_dir() else ""
        return real_fdopen(fd, *args, **kwargs)

    def fsync(fd):
        if name_part in current.get("path", ""):
            raise OSError(code, os.strerror(code))
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fdopen", fdopen)
    monkeypatch.setattr(atomic.os, "fsync", fsync)


@pytest.mark.parametrize(
    "code, words",
    [
        (errno.ENOSPC, "no space left on the device ([Errno 28] ENOSPC)"),
        (errno.EDQUOT, "the disk quota exceeded"),
        (errno.EROFS, "a read-only filesystem ([Errno 30] EROFS)"),
        (errno.EACCES, "no permission (permission denied) ([Errno 13] EACCES)"),
        (errno.EFBIG, "a file too large for that filesystem"),
    ],
    ids=["ENOSPC", "EDQUOT", "EROFS", "EACCES", "EFBIG"],
)
def test_refused_write_names_the_file_in_out(code, words, run_files, tmp_path, monkeypatch):
    out = _out_with_sentinel(tmp_path)
    _fail_on(monkeypatch, code, "_stat-z_statmap")
    status, stdout, err = run_cli(fit_args(run_files, out))
    assert status == cli.EXIT_INPUT, err
    line = one_line(err)
    assert line.startswith(f"refglm: error: {out}/contrast-activeMinusRest_stat-z_statmap.nii.gz")
    assert_words(line, "expected to write", "(z map of the contrast)", words, "left as it was")
    assert stdout == "" and listing(tmp_path) == ["out", "out/keep.txt"]


def test_refused_write_by_another_writer_names_the_file_in_out(run_files, tmp_path, monkeypatch):
    """A writer outside refglm.io (a figure library, say) whose OSError names its file."""
    out = _out_with_sentinel(tmp_path)

    def write_fails(results, stage, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(stage / "figures" / "z.png"))

    monkeypatch.setattr(fit_workflow, "write_fit", write_fails)
    status, _, err = run_cli(fit_args(run_files, out))
    assert status == cli.EXIT_INPUT
    assert_words(one_line(err), f"{out}/figures/z.png", "ENOSPC", "left as it was")
    assert listing(tmp_path) == ["out", "out/keep.txt"]


def test_refused_write_that_names_no_file_names_out(run_files, tmp_path, monkeypatch):
    out = _out_with_sentinel(tmp_path)

    def write_fails(results, stage, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fit_workflow, "write_fit", write_fails)
    status, _, err = run_cli(fit_args(run_files, out))
    assert status == cli.EXIT_INPUT
    assert_words(one_line(err), f"--out {out}", "the run's outputs", "EROFS", "left as it was")


def test_permission_denied_outside_out_is_exit_2(run_files, tmp_path, monkeypatch):
    """An environment error met anywhere (here a cache the run reads): exit 2, not 1."""

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "/var/cache/refglm/x")

    monkeypatch.setattr(fit_workflow, "run_fit", refused)
    status, _, err = run_cli(fit_args(run_files, tmp_path / "out"))
    assert status == cli.EXIT_INPUT
    assert_words(one_line(err), "/var/cache/refglm/x", "read or write", "EACCES")


def test_staging_folder_that_cannot_be_created(run_files, tmp_path, monkeypatch):
    import tempfile

    def mkdtemp(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    out = _out_with_sentinel(tmp_path)
    status, _, err = run_cli(fit_args(run_files, out))
    assert status == cli.EXIT_INPUT
    assert_words(one_line(err), f"--out {out}", "No space left on device")
    assert listing(tmp_path) == ["out", "out/keep.txt"]


def test_refused_write_keeps_the_old_file_and_says_what(tmp_path, monkeypatch):
    """The library: OutputWriteError (an InputError), the old file kept, no .part left."""
    target = tmp_path / "design.tsv"
    target.write_text("old")
    _fail_on(monkeypatch, errno.ENOSPC, "design.tsv")
    with pytest.raises(OutputWriteError) as excinfo:
        io.atomic_write_text(target, "onset\n")
    assert_words(str(excinfo.value), str(target), "6 bytes (design matrix", "ENOSPC")
    assert target.read_text() == "old" and listing(tmp_path) == ["design.tsv"]


def test_other_os_errors_stay_internal(run_files, tmp_path, monkeypatch):
    """Only the environment's errnos are exit 2: an unexpected OSError is still a bug."""

    def broken(*args, **kwargs):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fit_workflow, "run_fit", broken)
    status, _, err = run_cli(fit_args(run_files, tmp_path / "out"))
    assert status == cli.EXIT_INTERNAL
    assert "internal error: OSError" in one_line(err)
