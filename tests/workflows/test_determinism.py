"""Same inputs, same bytes: across repeated runs, ``n_jobs``, chunk sizes and engines' settings.

Every output of ``refglm fit`` (maps, tables, JSON, figures, report) must be
bitwise identical whatever the number of joblib workers or the number of
voxels per chunk (``FirstLevelModel(chunk_size=...)``); nothing may depend on
the time of the run (no timestamps in JSON or HTML, gzip mtime fixed at 0).
The synthetic run keeps this fast; one comparison runs on the real SPM
auditory data inside a small box mask around the tutorial's auditory peak.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pytest

import refglm.first_level.model
from refglm import cli, io
from refglm.datasets import fetch_spm_auditory
from tests.cli.test_bad_inputs import fit_args, run_cli, write_run
from tests.conftest import spm_auditory_dir

ORIGINAL_MODEL = refglm.first_level.model.FirstLevelModel

# a date (2026-11-24, 24/11/2026), a clock time (02:18:39) or a Unix time in seconds
TIMESTAMP = re.compile(
    rb"\b(19|20)\d\d-[01]\d-[0-3]\d\b|\b[0-3]\d/[01]\d/(19|20)\d\d\b|\b[0-2]\d:[0-5]\d:[0-5]\d\b"
    rb"|\b1[6-9]\d{8}(\.\d+)?\b"
)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _assert_same_bytes(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    different = [name for name in a if a[name] != b[name]]
    assert different == [], different


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("determinism"))


def _fit(
    run_files,
    out: Path,
    monkeypatch,
    *,
    chunk_size=2048,
    n_jobs=1,
    engine="statsmodels",
    report=False,
) -> dict[str, bytes]:
    """``refglm fit`` on the synthetic run with a chunk size the CLI does not expose."""

    class Chunked(ORIGINAL_MODEL):
        def __init__(self, **kwargs):
            super().__init__(chunk_size=chunk_size, **kwargs)

    monkeypatch.setattr(refglm.first_level.model, "FirstLevelModel", Chunked)
    args = fit_args(run_files, out, extra=["--n-jobs", str(n_jobs), "--engine", engine])
    args += ["--contrast", "effectsOfInterest=active; rest"]
    if report:
        args.remove("--no-report")
    code, _, err = run_cli(args)
    assert code == cli.EXIT_OK, err
    return _files(out)


@pytest.mark.parametrize("engine", ["statsmodels", "vectorized"])
def test_outputs_do_not_depend_on_jobs_or_chunks(run_files, tmp_path, monkeypatch, engine):
    reference = _fit(run_files, tmp_path / "ref", monkeypatch, engine=engine)
    assert "contrast-effectsOfInterest_stat-F_statmap.nii.gz" in reference
    for k, (chunk_size, n_jobs) in enumerate([(7, 1), (1, 1), (13, 2), (2048, 2)]):
        outputs = _fit(
            run_files,
            tmp_path / f"run{k}",
            monkeypatch,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            engine=engine,
        )
        _assert_same_bytes(reference, outputs)


def test_repeated_runs_with_report_are_identical(run_files, tmp_path, monkeypatch):
    first = _fit(run_files, tmp_path / "first", monkeypatch, report=True)
    again = _fit(run_files, tmp_path / "again", monkeypatch, report=True, n_jobs=2, chunk_size=5)
    assert "report.html" in first and "figures/design_matrix.png" in first
    _assert_same_bytes(first, again)
    _assert_nothing_depends_on_the_time(first)


def _assert_nothing_depends_on_the_time(files: dict[str, bytes]) -> None:
    for name, payload in files.items():
        if name.endswith(".gz"):
            assert payload[:3] == b"\x1f\x8b\x08", name
            assert payload[4:8] == b"\x00\x00\x00\x00", f"{name}: gzip mtime is not 0"
            assert not payload[3] & 0x08, f"{name}: gzip stores a file name"
            gzip.decompress(payload)
        elif name.endswith(".png"):
            assert b"tIME" not in payload, f"{name}: PNG time chunk"
            assert not TIMESTAMP.search(payload), name
        else:
            assert not TIMESTAMP.search(payload), f"{name}: {TIMESTAMP.search(payload)}"
        if name.endswith(".json"):
            json.loads(payload)


def test_no_timestamps_in_outputs(run_files, tmp_path, monkeypatch):
    _assert_nothing_depends_on_the_time(_fit(run_files, tmp_path / "out", monkeypatch))


def test_save_image_is_byte_identical_and_mtime_free(tmp_path):
    data = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    a = io.save_image(data, tmp_path / "a.nii.gz", np.eye(4)).read_bytes()
    b = io.save_image(data, tmp_path / "b.nii.gz", np.eye(4)).read_bytes()
    assert a == b and a[4:8] == b"\x00" * 4


def test_real_data_in_a_box_is_identical_across_jobs_and_chunks(tmp_path, monkeypatch):
    """The 96 real volumes, fitted inside an 8 x 8 x 8 box at the tutorial's peak (51, 29, 36)."""
    data = fetch_spm_auditory(spm_auditory_dir(), verify=False)
    _, affine = io.read_volume(data.func[0])
    box = np.zeros((64, 64, 64), dtype=np.uint8)
    box[47:55, 25:33, 32:40] = 1
    mask = io.save_image(box, tmp_path / "box.nii.gz", affine)
    runs = {}
    for key, (chunk_size, n_jobs) in {"a": (2048, 1), "b": (50, 2), "c": (7, 1)}.items():

        class Chunked(ORIGINAL_MODEL):
            def __init__(self, chunk_size=chunk_size, **kwargs):
                super().__init__(chunk_size=chunk_size, **kwargs)

        monkeypatch.setattr(refglm.first_level.model, "FirstLevelModel", Chunked)
        args = ["fit", "--func", *data.func, "--events", data.events, "--t-r", "7"]
        args += ["--hrf-model", "spm", "--mask", mask, "--contrast", "active - rest"]
        args += ["--n-jobs", n_jobs, "--no-report", "--out", tmp_path / key]
        code, stdout, err = run_cli(args)
        assert code == cli.EXIT_OK, err
        assert "mask: 512 voxels; design: 16 columns" in stdout
        runs[key] = _files(tmp_path / key)
    _assert_same_bytes(runs["a"], runs["b"])
    _assert_same_bytes(runs["a"], runs["c"])
    z = io.image_data(tmp_path / "a" / "contrast-activeMinusRest_stat-z_statmap.nii.gz")[0]
    assert z[51, 29, 36] == pytest.approx(9.811979, abs=1e-6)  # the tutorial's peak z


@pytest.mark.slow
def test_scheduler_flag_runs_on_a_local_dask_cluster_with_identical_bytes(
    run_files, tmp_path, monkeypatch
):
    """``refglm fit --scheduler ADDRESS``: the voxel chunks run on Dask workers, same bytes."""
    from distributed import Client, LocalCluster, get_task_stream

    reference = _fit(run_files, tmp_path / "ref", monkeypatch, chunk_size=16)
    # a scheduler on TCP at 127.0.0.1, as a real cluster's address reads; the workers
    # run in this process (cheap), and the CLI connects to the scheduler by address
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp://",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
        get_task_stream(client) as tasks,
    ):
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        out = tmp_path / "dask"
        args = fit_args(run_files, out, extra=["--scheduler", cluster.scheduler_address])
        args += ["--contrast", "effectsOfInterest=active; rest"]
        code, _, err = run_cli(args)
    assert code == cli.EXIT_OK, err
    assert len(tasks.data) > 0, "no voxel chunk ran on the Dask workers"
    # chunk_size only changes the partition, never the bytes (test above)
    _assert_same_bytes(reference, _files(out))


def test_scheduler_flag_unreachable_is_exit_2(run_files, tmp_path):
    args = fit_args(run_files, tmp_path / "out", extra=["--scheduler", "tcp://127.0.0.1:9"])
    code, _, err = run_cli(args)
    assert code == cli.EXIT_INPUT
    assert "--scheduler tcp://127.0.0.1:9" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
