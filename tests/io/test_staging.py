"""--out on another filesystem, Ctrl-C while files move in, and an empty --out.

``io.staged_output_dir`` stages beside ``--out`` when it can, inside it when
``--out`` is a mount point (a Docker bind mount: renaming a file into it
from its parent fails with EXDEV), and moves files across filesystems by a
copy renamed into place. Signals arriving while the files move are held
until they all have moved. Mounts cannot be made in a test: a fake
"filesystem" of paths (everything under ``out`` is one device, the rest
another) makes ``os.replace`` and ``os.rename`` fail with EXDEV as the
kernel would.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from refglm import cli, io
from refglm.exceptions import InputError
from refglm.io import atomic, staging
from tests.cli.test_bad_inputs import fit_args, listing, one_line, run_cli, write_run

SENTINEL = b"results of an earlier run \x00\xff\n"
REPO = Path(__file__).resolve().parents[2]


def _existing_out(tmp_path: Path, names=("a.tsv", "b.tsv", "c.tsv")) -> Path:
    out = tmp_path / "results"
    out.mkdir()
    (out / "keep.bin").write_bytes(SENTINEL)
    for name in names:
        (out / name).write_text("old")
    return out


def _write_new(stage: Path, names=("a.tsv", "b.tsv", "c.tsv")) -> None:
    for name in names:
        io.atomic_write_text(stage / name, "new")


def _contents(out: Path, names=("a.tsv", "b.tsv", "c.tsv")) -> list[str]:
    return [(out / name).read_text() for name in names]


def _hidden_staging(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".staging"))


# ------------------------------------------------------- --out on another filesystem


class _TwoFilesystems:
    """Everything under ``mount`` is one filesystem, everything else another.

    ``os.rename`` and ``os.replace`` between the two fail with EXDEV
    ("Invalid cross-device link"), as they do into a Docker bind mount;
    ``mount`` counts as a mount point.
    """

    def __init__(self, monkeypatch, mount: Path):
        self.mount = Path(mount)
        self.crossings = []
        real_replace, real_rename = os.replace, os.rename

        def guarded(real):
            def move(src, dst, *args, **kwargs):
                if self.device(src) != self.device(dst):
                    self.crossings.append((Path(src), Path(dst)))
                    raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(src), None, str(dst))
                return real(src, dst, *args, **kwargs)

            return move

        real_ismount = os.path.ismount
        monkeypatch.setattr(os, "replace", guarded(real_replace))
        monkeypatch.setattr(os, "rename", guarded(real_rename))
        monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == self.mount or real_ismount(p))
        monkeypatch.setattr(
            staging, "_same_filesystem", lambda a, b: self.device(a) == self.device(b)
        )

    def device(self, path) -> str:
        path = Path(os.path.abspath(path))
        return "mount" if path == self.mount or self.mount in path.parents else "root"


def test_the_fake_mount_fails_as_the_kernel_does(tmp_path, monkeypatch):
    """What every run into a bind mount ended with before: EXDEV from os.replace."""
    out = _existing_out(tmp_path)
    (tmp_path / "staged.tsv").write_text("new")
    fs = _TwoFilesystems(monkeypatch, out)
    with pytest.raises(OSError) as excinfo:
        os.replace(tmp_path / "staged.tsv", out / "a.tsv")
    assert excinfo.value.errno == errno.EXDEV
    assert fs.crossings and os.path.ismount(out)


def test_out_a_mount_point_is_staged_inside_it(tmp_path, monkeypatch):
    out = _existing_out(tmp_path)
    fs = _TwoFilesystems(monkeypatch, out)
    with io.staged_output_dir(out) as stage:
        assert stage.parent == out  # on the mount's filesystem
        assert stage.name.startswith(f".refglm.{staging._host_tag()}-{os.getpid()}.")
        assert stage.name.endswith(".staging")
        _write_new(stage)
        (stage / "figures").mkdir()
        io.atomic_write_bytes(stage / "figures" / "f.png", b"png")
    assert fs.crossings == []
    assert _contents(out) == ["new"] * 3
    assert (out / "keep.bin").read_bytes() == SENTINEL
    assert listing(out) == ["a.tsv", "b.tsv", "c.tsv", "figures", "figures/f.png", "keep.bin"]
    assert listing(tmp_path) == ["results", *[f"results/{p}" for p in listing(out)]]


@pytest.mark.parametrize("error", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_failed_run_into_a_mount_point_leaves_it_as_it_was(tmp_path, monkeypatch, error):
    out = _existing_out(tmp_path)
    _TwoFilesystems(monkeypatch, out)
    with pytest.raises(type(error)), io.staged_output_dir(out) as stage:
        _write_new(stage)
        raise error
    assert _contents(out) == ["old"] * 3
    assert listing(out) == ["a.tsv", "b.tsv", "c.tsv", "keep.bin"]  # no staging folder left


def test_read_only_parent_stages_inside_out(tmp_path, monkeypatch):
    """--out writable, its parent not (a container's read-only root): stage inside --out."""
    out = _existing_out(tmp_path)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: Path(p) != tmp_path and real_access(p, mode, **kw)
    )
    with io.staged_output_dir(out) as stage:
        assert stage.parent == out
        _write_new(stage)
    assert _contents(out) == ["new"] * 3
    assert _hidden_staging(out) == [] and _hidden_staging(tmp_path) == []


@pytest.mark.parametrize("existing", [True, False], ids=["existing-out", "new-out"])
def test_staging_is_on_the_destinations_device(tmp_path, existing):
    out = _existing_out(tmp_path) if existing else tmp_path / "new" / "results"
    with io.staged_output_dir(out) as stage:
        destination = out if existing else tmp_path
        assert os.stat(stage).st_dev == os.stat(destination).st_dev
        assert stage.parent == tmp_path  # beside --out: a SIGKILL leaves --out untouched
        _write_new(stage)
    assert _contents(out) == ["new"] * 3


def test_new_out_inside_a_mount_point(tmp_path, monkeypatch):
    """--out /mnt/results, /mnt mounted: staged in /mnt (its nearest existing folder)."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    fs = _TwoFilesystems(monkeypatch, mount)
    out = mount / "deeper" / "results"
    with io.staged_output_dir(out) as stage:
        assert stage.parent == mount
        _write_new(stage)
    assert fs.crossings == []
    assert _contents(out) == ["new"] * 3 and _hidden_staging(mount) == []


def test_new_out_renamed_across_devices_is_moved_file_by_file(tmp_path, monkeypatch):
    """os.rename of the staging folder fails with EXDEV: --out is built file by file."""
    out = tmp_path / "results"
    real_rename = os.rename

    def cross_device_rename(src, dst, *args, **kwargs):
        if Path(dst) == out:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        return real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "rename", cross_device_rename)
    with io.staged_output_dir(out) as stage:
        _write_new(stage)
        (stage / "figures").mkdir()
        io.atomic_write_bytes(stage / "figures" / "f.png", b"png")
    assert listing(out) == ["a.tsv", "b.tsv", "c.tsv", "figures", "figures/f.png"]
    assert _hidden_staging(tmp_path) == []


def test_file_moved_across_devices_is_copied_then_renamed(tmp_path, monkeypatch):
    """EXDEV on one file (a mount inside --out): a copy beside it, renamed into place."""
    out = _existing_out(tmp_path)
    real_replace = os.replace
    renames = []

    def replace(src, dst, *args, **kwargs):
        if Path(src).parent.name.endswith(".staging"):  # from the stage: another device
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        renames.append((Path(src).parent, Path(dst)))
        return real_replace(src, dst, *args, **kwargs)

    with io.staged_output_dir(out) as stage:
        _write_new(stage)
        os.chmod(stage / "b.tsv", 0o640)
        monkeypatch.setattr(os, "replace", replace)
    assert _contents(out) == ["new"] * 3
    assert (out / "b.tsv").stat().st_mode & 0o777 == 0o640
    assert [parent for parent, _ in renames] == [out] * 3  # each renamed within --out
    assert listing(out) == ["a.tsv", "b.tsv", "c.tsv", "keep.bin"]  # no .part left
    assert _hidden_staging(tmp_path) == []


def test_move_file_across_real_devices(tmp_path):
    """/dev/shm is another filesystem on Linux: the real EXDEV, not a simulated one."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second filesystem to move across")
    try:
        import tempfile

        other = Path(tempfile.mkdtemp(dir=shm, prefix="refglm-test-"))
    except OSError:
        pytest.skip("/dev/shm is not writable")
    try:
        src = other / "a.tsv"
        src.write_text("new")
        dest = tmp_path / "a.tsv"
        dest.write_text("old")
        with pytest.raises(OSError) as excinfo:
            os.link(src, tmp_path / "link")
        assert excinfo.value.errno == errno.EXDEV
        atomic.move_file(src, dest)
        assert dest.read_text() == "new" and not src.exists()
        assert listing(tmp_path) == ["a.tsv"]
    finally:
        import shutil

        shutil.rmtree(other, ignore_errors=True)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_staging_inside_out_is_removed_and_never_output(tmp_path, monkeypatch):
    out = _existing_out(tmp_path)
    host = staging._host_tag()
    names = {
        "dead": f".refglm.{host}-{_dead_pid()}.abcd_123.staging",
        "live": f".refglm.{host}-{os.getppid()}.abcd_123.staging",
        "other-host": f".refglm.{host}x-{_dead_pid()}.abcd_123.staging",
        "user-file": ".refglm.json",
    }
    for name in names.values():
        (out / name).mkdir()
    beside = tmp_path / f".results.{host}-{_dead_pid()}.abcd_123.staging"
    beside.mkdir()  # a dead run that staged beside --out, before it became a mount
    _TwoFilesystems(monkeypatch, out)
    with io.staged_output_dir(out) as stage:
        assert stage.parent == out
        _write_new(stage)
    left = {p.name for p in out.iterdir() if p.name.startswith(".")}
    assert left == set(names.values()) - {names["dead"]}
    assert not beside.exists()
    assert _contents(out) == ["new"] * 3


def test_cli_fit_into_a_mount_point(tmp_path, monkeypatch):
    """The reviewer's run: every `refglm fit --out <bind mount>` ended in 'internal error'."""
    run_files = write_run(tmp_path / "run")
    out = tmp_path / "mnt"
    out.mkdir()
    (out / "keep.bin").write_bytes(SENTINEL)
    _TwoFilesystems(monkeypatch, out)
    code, stdout, err = run_cli(fit_args(run_files, out))
    assert code == cli.EXIT_OK, err
    assert err == "" and "refglm fit:" in stdout
    assert (out / "contrast-activeMinusRest_stat-z_statmap.nii.gz").is_file()
    assert (out / "keep.bin").read_bytes() == SENTINEL
    assert _hidden_staging(out) == [] and _hidden_staging(tmp_path) == []


# ----------------------------------------------------- interrupted while moving into --out


def _replace_that_signals(monkeypatch, signum, at_call=2):
    """os.replace that sends ``signum`` to this process during its ``at_call``-th call."""
    real_replace = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        calls.append(Path(dst).name)
        if len(calls) == at_call:
            signal.raise_signal(signum)  # a real signal, delivered to the handler now
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return calls


class _Terminated(KeyboardInterrupt):
    pass


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_the_merge_is_delivered_after_it(tmp_path, monkeypatch, signum):
    out = _existing_out(tmp_path)
    previous = signal.signal(signal.SIGTERM, _raise_terminated)  # as the CLI does
    try:
        expected = KeyboardInterrupt if signum == signal.SIGINT else _Terminated
        with pytest.raises(expected) as excinfo, io.staged_output_dir(out) as stage:
            _write_new(stage)
            calls = _replace_that_signals(monkeypatch, signum)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert calls == ["a.tsv", "b.tsv", "c.tsv"]  # the merge went on to the end
    assert _contents(out) == ["new"] * 3  # never a.tsv new and b.tsv old
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers restored
    state = staging.out_state(excinfo.value)
    assert "already been written" in state and str(out) in state
    assert _hidden_staging(tmp_path) == []


def test_interrupt_before_the_merge_leaves_out_as_it_was(tmp_path):
    out = _existing_out(tmp_path)
    with pytest.raises(KeyboardInterrupt) as excinfo, io.staged_output_dir(out) as stage:
        _write_new(stage)
        signal.raise_signal(signal.SIGINT)
    assert _contents(out) == ["old"] * 3
    assert staging.out_state(excinfo.value) == "the output folder was left as it was"


def test_interrupt_that_cannot_be_deferred_is_reported_as_it_is(tmp_path, monkeypatch):
    """KeyboardInterrupt raised inside a move (not a signal): the message says what is left."""
    out = _existing_out(tmp_path)
    real_replace = os.replace
    calls = []

    def replace(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) == 3:  # two files moved, then the interrupt
            raise KeyboardInterrupt
        return real_replace(src, dst, *args, **kwargs)

    with pytest.raises(KeyboardInterrupt) as excinfo, io.staged_output_dir(out) as stage:
        _write_new(stage)
        monkeypatch.setattr(os, "replace", replace)
    assert _contents(out) == ["new", "new", "old"]
    state = staging.out_state(excinfo.value)
    assert "left with 2 of the run's 3" in state and "run the command again" in state
    assert "as it was" not in state.replace("the others as they were", "")


def test_merge_check_refuses_a_read_only_subfolder_before_moving(tmp_path, monkeypatch):
    out = _existing_out(tmp_path)
    (out / "figures").mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda p, mode, **kw: Path(p) != out / "figures" and real_access(p, mode, **kw),
    )
    with pytest.raises(InputError) as excinfo, io.staged_output_dir(out) as stage:
        _write_new(stage)
        (stage / "figures").mkdir()
        io.atomic_write_bytes(stage / "figures" / "f.png", b"png")
    message = str(excinfo.value)
    assert "figures" in message and "expected" in message and "without write permission" in message
    assert _contents(out) == ["old"] * 3


_DRIVER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from refglm import io
    from refglm.io import staging

    out, marker = Path(sys.argv[1]), Path(sys.argv[2])
    real_replace = os.replace

    def slow_replace(src, dst):
        if Path(dst).parent == out and not marker.exists():
            marker.write_text("merging")
        if Path(dst).parent == out:
            time.sleep(0.05)
        return real_replace(src, dst)

    try:
        with io.staged_output_dir(out) as stage:
            for k in range(20):
                io.atomic_write_text(stage / f"f{k:02d}.tsv", "new")
            os.replace = slow_replace
    except KeyboardInterrupt as exc:
        print(staging.out_state(exc))
        sys.exit(130)
    print("finished without an interrupt")
    """
)


def test_real_sigint_during_a_slowed_merge(tmp_path):
    """Ctrl-C from outside while 20 files move (0.05 s each): all 20 move, then exit 130."""
    out = tmp_path / "results"
    out.mkdir()
    for k in range(20):
        (out / f"f{k:02d}.tsv").write_text("old")
    marker = tmp_path / "merging"
    driver = tmp_path / "driver.py"
    driver.write_text(_DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(out), str(marker)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the merge never started"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "already been written" in stdout, stdout
    assert [(out / f"f{k:02d}.tsv").read_text() for k in range(20)] == ["new"] * 20
    assert sorted(p.name for p in out.iterdir()) == [f"f{k:02d}.tsv" for k in range(20)]
    assert _hidden_staging(tmp_path) == []


def test_cli_interrupt_during_the_merge_says_the_outputs_were_written(tmp_path, monkeypatch):
    run_files = write_run(tmp_path / "run")
    out = tmp_path / "results"
    out.mkdir()
    (out / "design.tsv").write_text("old")
    from refglm.workflows import fit as fit_workflow

    real_write = fit_workflow.write_fit

    def write_then_arm(results, stage, **kwargs):
        written = real_write(results, stage, **kwargs)
        _replace_that_signals(monkeypatch, signal.SIGINT)  # Ctrl-C once the merge runs
        return written

    monkeypatch.setattr(fit_workflow, "write_fit", write_then_arm)
    code, _, err = run_cli(fit_args(run_files, out))
    assert code == cli.EXIT_SIGINT
    line = one_line(err)
    assert (out / "design.tsv").read_text() != "old"  # the merge completed ...
    assert "left as it was" not in line  # ... so the message must not say otherwise
    assert "written" in line


# ---------------------------------------------------------------------- empty --out


@pytest.mark.parametrize("value", ["", "   ", "\t\n"], ids=["empty", "spaces", "blank"])
def test_empty_out_is_refused(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.bin").write_bytes(SENTINEL)
    with pytest.raises(InputError) as excinfo, io.staged_output_dir(value):
        pytest.fail("the block must not run for an empty --out")
    message = str(excinfo.value)
    for word in ("--out", "out_dir", "expected a folder path", "--out results"):
        assert word in message, message
    assert ("an empty string" if value == "" else "only whitespace") in message
    assert listing(tmp_path) == ["keep.bin"]


def test_check_out_refuses_an_empty_path():
    with pytest.raises(InputError, match="found an empty string"):
        staging._check_out(Path(os.path.abspath("")), "")


@pytest.mark.parametrize("value", ["", "  "], ids=["empty", "spaces"])
def test_cli_empty_out_writes_nothing_into_the_working_folder(tmp_path, monkeypatch, value):
    run_files = write_run(tmp_path / "run")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, stdout, err = run_cli(fit_args(run_files, value))
    assert code == cli.EXIT_INPUT, err
    line = one_line(err)
    assert line.startswith("refglm: error: --out") and "expected a folder path" in line
    assert stdout == "" and listing(work) == []


# ------------------------------------------------------- real mounts, where allowed

_MOUNTED_DRIVER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from refglm import io

    out = Path(sys.argv[1])
    (out / "keep.bin").write_text("keep")
    (out / "a.tsv").write_text("old")
    with io.staged_output_dir(out) as stage:
        print("staged in", "out" if stage.parent == out else "parent")
        for name in ("a.tsv", "b.tsv"):
            io.atomic_write_text(stage / name, "new")
        (stage / "figures").mkdir()
        io.atomic_write_bytes(stage / "figures" / "f.png", b"png")
    print(sorted(str(p.relative_to(out)) for p in out.rglob("*")))
    print((out / "a.tsv").read_text(), sorted(os.listdir(out.parent)))
    """
)


def _unshare_mount_works() -> bool:
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.mark.parametrize("kind", ["tmpfs", "bind"], ids=["another-filesystem", "bind-mount"])
def test_real_mount_point_as_out(tmp_path, kind):
    """In a private mount namespace (root only): --out is a real tmpfs or bind mount."""
    if sys.platform != "linux" or not _unshare_mount_works():
        pytest.skip("cannot mount in a private namespace here (needs root and unshare)")
    out, source = tmp_path / "mnt", tmp_path / "src"
    out.mkdir()
    source.mkdir()
    driver = tmp_path / "driver.py"
    driver.write_text(_MOUNTED_DRIVER)
    mount = f"mount -t tmpfs tmpfs {out}" if kind == "tmpfs" else f"mount --bind {source} {out}"
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", f'{mount} && exec "$0" "$@"', sys.executable, driver, out],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    where, files, contents = done.stdout.splitlines()
    # another device: staged inside --out; a bind mount of the same device looks like a
    # folder of its parent: staged beside it, the files copied across (EXDEV) and renamed
    assert where == ("staged in out" if kind == "tmpfs" else "staged in parent")
    assert files == str(["a.tsv", "b.tsv", "figures", "figures/f.png", "keep.bin"])
    assert contents == "new " + str(["driver.py", "mnt", "src"])
