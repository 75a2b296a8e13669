"""Reads are bounded before they start (robustness issue, class 1).

- Images whose header declares more data than the file holds (3-D, 4-D, gzip,
  Analyze pair), or more than the memory the process may use (a real, sparse
  file under an address-space cap): exit 2 naming the file, the declared shape,
  the bytes expected and the bytes found, with the peak memory of the refused
  run measured in a fresh process (``VmHWM``) and compared with a good run's.
- JSON sidecars and events tables: a regular file under a stated size limit,
  JSON nested at most 64 levels (a sidecar 100000 arrays deep, a symbolic link
  to ``/dev/zero``, a file over the limit, a FIFO, a folder).
- Special files given where a file is expected, for every reader: a symbolic
  link loop, a FIFO, a device, a folder, a broken link.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from refglm import cli, io
from refglm.exceptions import InputError
from refglm.io import files
from tests.cli.test_bad_inputs import (
    assert_words,
    fit_args,
    listing,
    one_line,
    run_cli,
    synthetic_run,
    write_run,
)

REPO = Path(__file__).resolve().parents[2]
HEADER_BYTES = 352  # a NIfTI-1 header and its 4 extension bytes
needs_proc = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)"
)


# ----------------------------------------------------------------------------- helpers


def lying_nifti(path: Path, declared, real=(16, 16, 8), dtype=np.float64, size=None) -> Path:
    """A NIfTI-1 file whose header declares ``declared`` but which holds ``real`` voxels.

    ``size`` (bytes) extends the file to that length with a hole (a sparse file: the
    data are really there, as zeros, and take no disk).
    """
    img = nib.Nifti1Image(np.zeros(real, dtype=dtype), np.eye(4))
    header = img.header
    header.set_data_shape(declared)
    header["vox_offset"] = HEADER_BYTES
    raw = header.binaryblock + b"\0" * 4 + np.zeros(real, dtype=dtype).tobytes()
    if str(path).endswith(".gz"):
        raw = gzip.compress(raw, mtime=0)
    Path(path).write_bytes(raw)
    if size is not None:
        os.truncate(path, size)
    return Path(path)


def declared_bytes(shape, dtype=np.float64) -> int:
    return int(np.prod(shape)) * np.dtype(dtype).itemsize


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("bounded"))


def expect_refused(args, *words) -> str:
    code, stdout, err = run_cli(args)
    assert code == cli.EXIT_INPUT, (code, err)
    line = one_line(err)
    assert line.startswith("refglm: error: "), line
    assert_words(line, *words)
    assert stdout == ""
    return line


# ------------------------------------------------------------ images: declared bytes

LYING = {
    # id: (file name, declared shape)
    "3-D header claiming 983 MB": ("big3d.nii", (30000, 64, 64)),
    "4-D header claiming 11.8 GB": ("big4d.nii", (64, 64, 60, 6000)),
    "gzip header claiming 983 MB": ("big3d.nii.gz", (30000, 64, 64)),
}


@pytest.mark.parametrize("case", list(LYING))
def test_header_claiming_more_than_the_file_is_refused_by_the_reader(case, tmp_path):
    name, shape = LYING[case]
    path = lying_nifti(tmp_path / name, shape)
    with pytest.raises(InputError) as excinfo:
        io.read_volume(path)
    found = 16 * 16 * 8 * 8  # the bytes really there, after the header
    assert_words(
        str(excinfo.value),
        str(path),
        f"declared shape {shape} of float64",
        f"expected {declared_bytes(shape)} bytes of voxel data",
        f"found {found} bytes",
    )


@pytest.mark.parametrize("case", list(LYING))
def test_header_claiming_more_than_the_file_is_exit_2(case, run_files, tmp_path):
    name, shape = LYING[case]
    path = lying_nifti(tmp_path / name, shape)
    out = tmp_path / "out"
    expect_refused(
        fit_args(run_files, out, **{"--func": [str(path)]}),
        str(path),
        f"expected {declared_bytes(shape)} bytes",
        str(shape),
    )
    assert not out.exists()


def test_analyze_pair_whose_img_is_short(tmp_path):
    data, affine, _ = synthetic_run()
    hdr = tmp_path / "vol.hdr"
    io.write_nifti_pair(data[..., 0], affine, tmp_path / "vol.img")
    img = tmp_path / "vol.img"
    img.write_bytes(img.read_bytes()[:1000])
    with pytest.raises(InputError) as excinfo:
        io.read_volume(hdr)
    assert_words(str(excinfo.value), str(hdr), "vol.img", "expected 4000 bytes", "found 1000 bytes")


def test_gzip_of_several_members_is_counted_not_trusted(tmp_path):
    """Two gzip members: the last trailer (ISIZE) says nothing of the whole, so the
    stream is counted (in constant memory): a good file is read, a short one refused."""
    path = tmp_path / "two_members.nii.gz"
    shape = (16, 16, 8)
    whole = lying_nifti(tmp_path / "plain.nii", shape).read_bytes()
    path.write_bytes(gzip.compress(whole[:500], mtime=0) + gzip.compress(whole[500:], mtime=0))
    data, _ = io.read_volume(path)  # a good multi-member file is read
    assert data.shape == shape
    short = tmp_path / "short.nii.gz"
    short.write_bytes(gzip.compress(whole[:500], mtime=0) + gzip.compress(whole[500:900], mtime=0))
    with pytest.raises(InputError, match="expected 16384 bytes of voxel data"):
        io.read_volume(short)


def test_a_good_image_is_read_as_before(tmp_path):
    data, affine, _ = synthetic_run()
    path = io.save_image(data[..., 0], tmp_path / "good.nii", affine)
    read, _ = io.read_volume(path, np.float32)
    np.testing.assert_array_equal(read, data[..., 0])


# ------------------------------------------------------------ peak memory when refused

# The child runs `refglm fit` in-process and prints its exit code and the process's
# peak resident memory (VmHWM, KiB), which starts afresh at exec.
PEAK_CHILD = textwrap.dedent(
    """
    import contextlib, io, json, os, resource, sys
    cap = int(os.environ.get("CAP_ABOVE_VMSIZE", "0"))
    if cap:
        with open("/proc/self/status") as status:
            vmsize = next(int(l.split()[1]) for l in status if l.startswith("VmSize:")) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vmsize + cap, resource.RLIM_INFINITY))
    from refglm import cli
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(json.loads(sys.argv[1]))
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    print(json.dumps({"code": code, "peak_kib": peak, "err": err.getvalue()}))
    """
)


def child_peak(args, cap_above_vmsize: int = 0) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    if cap_above_vmsize:
        env["CAP_ABOVE_VMSIZE"] = str(cap_above_vmsize)
    done = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, json.dumps([str(a) for a in args])],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def good_peak(tmp_path_factory):
    """The peak of a good 24-scan run (`refglm fit`, no report), in a fresh process."""
    folder = tmp_path_factory.mktemp("good24")
    bold, tsv = write_run(folder, n_scans=24)
    measured = child_peak(fit_args((bold, tsv), folder / "out"))
    assert measured["code"] == 0, measured["err"]
    return measured["peak_kib"]


REFUSED = {
    # id: (file name, declared shape, file size or None)
    "3-D header claiming 983 MB": ("big3d.nii", (30000, 64, 64), None),
    "4-D header claiming 11.8 GB": ("big4d.nii", (64, 64, 60, 6000), None),
    "gzip header claiming 983 MB": ("big3d.nii.gz", (30000, 64, 64), None),
}


@needs_proc
@pytest.mark.slow
@pytest.mark.parametrize("case", list(REFUSED))
def test_peak_memory_of_a_refused_image_stays_near_a_good_run(case, good_peak, tmp_path):
    name, shape, size = REFUSED[case]
    bad = lying_nifti(tmp_path / name, shape, size=size)
    _, tsv = write_run(tmp_path / "run", n_scans=24)
    measured = child_peak(fit_args((bad, tsv), tmp_path / "out"))
    assert measured["code"] == cli.EXIT_INPUT, measured["err"]
    assert "bytes of voxel data" in measured["err"]
    # the bound: near a good 24-scan run (about 200 MB), not the claim (983 MB+)
    assert measured["peak_kib"] <= good_peak * 1.1, (measured["peak_kib"], good_peak)
    assert measured["peak_kib"] < 300 * 1024


@needs_proc
@pytest.mark.slow
def test_a_real_image_larger_than_a_memory_cap_is_refused_before_reading(good_peak, tmp_path):
    """A 4-D file really holding 11.8 GB (sparse: no disk used) under a 1 GiB cap.

    Its header is true, so only the memory budget can refuse it: before, the read
    asked for it all and failed with MemoryError (an internal error) under the cap.
    """
    shape = (64, 64, 60, 6000)
    size = HEADER_BYTES + declared_bytes(shape)
    bad = lying_nifti(tmp_path / "huge.nii", shape, size=size)
    _, tsv = write_run(tmp_path / "run", n_scans=24)
    measured = child_peak(fit_args((bad, tsv), tmp_path / "out"), cap_above_vmsize=2**30)
    assert measured["code"] == cli.EXIT_INPUT, measured["err"]
    assert_words(
        measured["err"],
        str(bad),
        "expected an image that fits in memory",
        str(shape),
        "ulimit -v",
    )
    assert "MemoryError" not in measured["err"]
    assert measured["peak_kib"] <= good_peak * 1.1, (measured["peak_kib"], good_peak)


def test_memory_budget_is_refused_in_process(tmp_path, monkeypatch):
    """The budget check itself: a true header larger than the budget, nothing allocated."""
    from refglm.io import images

    shape = (64, 64, 60, 100)
    bad = lying_nifti(tmp_path / "true.nii", shape, size=HEADER_BYTES + declared_bytes(shape))
    monkeypatch.setattr(images, "memory_budget", lambda: (10 * 2**20, "a test budget"))
    with pytest.raises(InputError) as excinfo:
        io.load_run(bad)
    message = str(excinfo.value)
    assert_words(message, str(bad), "fits in memory", str(shape), "10485760 bytes", "a test budget")


def test_memory_budget_reads_the_address_space_limit():
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2**31, resource.RLIM_INFINITY))
        from refglm.io.memory import memory_budget
        budget, why = memory_budget()
        print(budget < 2**31, "ulimit -v" in why)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.stdout.split() == ["True", "True"], done.stderr


# ------------------------------------------------------------------ sidecars and text


def make_bids(root: Path, sidecar: bytes | None = None) -> Path:
    """A one-run BIDS dataset of the synthetic run; ``sidecar`` is task-syn_bold.json."""
    func = root / "sub-01" / "func"
    write_run(func)
    if sidecar is not None:
        (root / "task-syn_bold.json").write_bytes(sidecar)
    return root


def bids_args(root: Path, out: Path) -> list[str]:
    return ["fit", "--bids-dir", str(root), "--task", "syn", "--contrast", "active - rest"] + [
        "--out",
        str(out),
        "--no-report",
    ]


def test_sidecar_nested_100000_deep_is_exit_2(tmp_path):
    """Before: `internal error: RecursionError` (exit 1)."""
    root = make_bids(tmp_path / "ds", b"[" * 100_000 + b"]" * 100_000)
    line = expect_refused(
        bids_args(root, tmp_path / "out"),
        "task-syn_bold.json",
        f"nested at most {files.MAX_JSON_DEPTH} levels",
    )
    assert "RecursionError" not in line


def test_sidecar_nested_deep_inside_an_object(tmp_path):
    text = '{"RepetitionTime": 2, "x": ' + "[" * 65 + "]" * 65 + "}"
    root = make_bids(tmp_path / "ds", text.encode())
    expect_refused(bids_args(root, tmp_path / "out"), "task-syn_bold.json", "64 levels")


def test_sidecar_at_the_depth_limit_is_read(tmp_path):
    deep = "[" * (files.MAX_JSON_DEPTH - 1) + "]" * (files.MAX_JSON_DEPTH - 1)
    path = tmp_path / "ok.json"
    path.write_text('{"RepetitionTime": 2, "x": ' + deep + "}")
    assert files.load_json_bounded(path)["RepetitionTime"] == 2


def test_brackets_inside_strings_do_not_count_as_depth():
    text = json.dumps({"a": '[[[[[[[[[[[[[[[[[[[[[[[\\"{{{{{{{{{{{{', "b": [1, [2]]})
    assert files.json_nesting_depth(text) == 3  # {, [ and [: none of the string


def test_sidecar_linked_to_dev_zero_is_exit_2(tmp_path):
    """Before: read until MemoryError."""
    root = make_bids(tmp_path / "ds")
    (root / "task-syn_bold.json").symlink_to("/dev/zero")
    expect_refused(
        bids_args(root, tmp_path / "out"), "task-syn_bold.json", "found a character device"
    )


def test_sidecar_larger_than_the_limit_is_exit_2(tmp_path):
    root = make_bids(tmp_path / "ds")
    sidecar = root / "task-syn_bold.json"
    sidecar.write_bytes(b'{"RepetitionTime": 2}')
    os.truncate(sidecar, files.MAX_JSON_BYTES + 1)  # a hole: no disk, no time
    expect_refused(
        bids_args(root, tmp_path / "out"),
        "task-syn_bold.json",
        f"at most {files.MAX_JSON_BYTES} bytes",
        f"found {files.MAX_JSON_BYTES + 1} bytes",
    )


def test_sidecar_that_is_a_fifo_is_exit_2_without_blocking(tmp_path):
    root = make_bids(tmp_path / "ds")
    os.mkfifo(root / "task-syn_bold.json")
    expect_refused(bids_args(root, tmp_path / "out"), "task-syn_bold.json", "named pipe (FIFO)")


def test_sidecar_that_is_a_folder_is_exit_2(tmp_path):
    root = make_bids(tmp_path / "ds")
    (root / "task-syn_bold.json").mkdir()
    expect_refused(bids_args(root, tmp_path / "out"), "task-syn_bold.json", "found a folder")


@pytest.mark.parametrize(
    "where",
    ["task-syn_bold.json", "sub-01/func/sub-01_task-syn_bold.nii.gz", "task-syn_events.tsv"],
    ids=["sidecar", "bold", "inherited-events"],
)
def test_bids_file_that_is_a_symlink_loop_is_exit_2(where, tmp_path):
    """Before, for the sidecar: `internal error: RuntimeError: Symlink loop` (exit 1)."""
    root = make_bids(tmp_path / "ds", b'{"RepetitionTime": 2}')
    if where == "task-syn_events.tsv":
        (root / "sub-01" / "func" / "sub-01_task-syn_events.tsv").unlink()
    path = root / where
    path.unlink(missing_ok=True)
    path.symlink_to(path)
    line = expect_refused(bids_args(root, tmp_path / "out"), where.rsplit("/")[-1])
    assert "too many levels of symbolic links" in line


def test_events_linked_to_dev_zero_is_exit_2(run_files, tmp_path):
    events = tmp_path / "events.tsv"
    events.symlink_to("/dev/zero")
    out = tmp_path / "out"
    expect_refused(
        fit_args(run_files, out, **{"--events": str(events)}),
        str(events),
        "found a character device",
    )


def test_events_larger_than_the_limit_is_exit_2(run_files, tmp_path):
    events = tmp_path / "events.tsv"
    events.write_text("onset\tduration\ttrial_type\n0\t10\tactive\n")
    os.truncate(events, files.MAX_TSV_BYTES + 10)
    expect_refused(
        fit_args(run_files, tmp_path / "out", **{"--events": str(events)}),
        str(events),
        f"at most {files.MAX_TSV_BYTES} bytes",
    )


def test_events_that_is_a_fifo_is_exit_2_without_blocking(run_files, tmp_path):
    events = tmp_path / "events.tsv"
    os.mkfifo(events)
    expect_refused(
        fit_args(run_files, tmp_path / "out", **{"--events": str(events)}),
        str(events),
        "named pipe (FIFO)",
    )


def test_a_file_that_reports_no_size_is_read_to_the_limit_only():
    """/proc files report size 0: the bound is on what is read, not on what stat says."""
    with pytest.raises(InputError) as excinfo:
        files.read_bytes_bounded("/proc/self/status", "a status file", 16, "none.")
    assert_words(str(excinfo.value), "/proc/self/status", "at most 16 bytes", "more than that")


# ------------------------------------------------------- special files and links


def _special(tmp_path: Path, kind: str) -> tuple[Path, str]:
    """A path of ``kind`` and the words its message must hold."""
    path = tmp_path / f"{kind}.nii"
    if kind == "loop":
        path.symlink_to(tmp_path / "other.nii")
        (tmp_path / "other.nii").symlink_to(path)
        return path, "too many levels of symbolic links"
    if kind == "self-loop":
        path.symlink_to(path)
        return path, "too many levels of symbolic links"
    if kind == "fifo":
        os.mkfifo(path)
        return path, "a named pipe (FIFO)"
    if kind == "device":
        path.symlink_to("/dev/null")
        return path, "a character device"
    if kind == "folder":
        path.mkdir()
        return path, "found a folder"
    if kind == "broken-link":
        path.symlink_to(tmp_path / "gone.nii")
        return path, "a broken symbolic link"
    if kind == "missing":
        return path, "no such file"
    raise AssertionError(kind)


KINDS = ["loop", "self-loop", "fifo", "device", "folder", "broken-link", "missing"]


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_the_image(kind, run_files, tmp_path):
    path, words = _special(tmp_path, kind)
    line = expect_refused(fit_args(run_files, tmp_path / "out", **{"--func": [str(path)]}), words)
    assert str(path) in line and "expected an image" in line
    if kind.endswith("loop"):
        assert "no such file" not in line  # the issue: a loop was "no such file"


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_the_events(kind, run_files, tmp_path):
    path, words = _special(tmp_path, kind)
    line = expect_refused(fit_args(run_files, tmp_path / "out", **{"--events": str(path)}), words)
    assert str(path) in line


@pytest.mark.parametrize("kind", ["loop", "fifo", "device", "folder"])
def test_special_file_as_the_mask(kind, run_files, tmp_path):
    path, words = _special(tmp_path, kind)
    expect_refused(fit_args(run_files, tmp_path / "out", extra=["--mask", str(path)]), words)


@pytest.mark.parametrize("kind", ["loop", "fifo", "device"])
def test_special_file_as_one_of_several_volumes(kind, tmp_path):
    from tests.cli.test_bad_inputs import write_volumes

    volumes = write_volumes(tmp_path / "vols", 3)
    path, words = _special(tmp_path, kind)
    with pytest.raises(InputError) as excinfo:
        io.run_shape([*volumes, path])
    assert_words(str(excinfo.value), str(path), words)


def test_special_file_as_the_data_of_an_analyze_pair(tmp_path):
    data, affine, _ = synthetic_run()
    io.write_nifti_pair(data[..., 0], affine, tmp_path / "vol.img")
    (tmp_path / "vol.img").unlink()
    os.mkfifo(tmp_path / "vol.img")
    with pytest.raises(InputError) as excinfo:
        io.read_volume(tmp_path / "vol.hdr")
    assert_words(str(excinfo.value), "vol.img", "named pipe (FIFO)")


def test_nothing_is_written_when_an_input_is_refused(run_files, tmp_path):
    path, _ = _special(tmp_path, "loop")
    before = listing(tmp_path)
    run_cli(fit_args(run_files, tmp_path / "out", **{"--func": [str(path)]}))
    assert listing(tmp_path) == before


def test_out_that_is_a_symlink_loop_is_named_so(run_files, tmp_path):
    out = tmp_path / "out"
    out.symlink_to(out)
    expect_refused(fit_args(run_files, out), f"--out {out}", "a symbolic link loop")


@pytest.mark.parametrize("how", ["--data-dir", "REFGLM_DATA_DIR"])
def test_data_dir_that_is_a_symlink_loop_is_named_so(how, tmp_path, monkeypatch):
    loop = tmp_path / "data"
    loop.symlink_to(loop)
    if how == "--data-dir":
        args = ["fetch", "spm-auditory", "--data-dir", str(loop)]
    else:
        monkeypatch.setenv("REFGLM_DATA_DIR", str(loop))
        args = ["explain-voxel", "--ijk", "1", "2", "3", "--out", str(tmp_path / "v")]
    expect_refused(args, str(loop), "a symbolic link loop (too many levels of symbolic links)")
