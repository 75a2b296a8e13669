"""refglm's progress bars: a step line, then one bar per pass over the voxels.

The fit reports ``progress(n)`` per chunk of voxels, pass after pass, without
the pass; ``FirstLevelModel`` calls ``progress.begin(n_voxels)`` once the run
is masked. ``refglm.cli.progress.FitProgress`` draws one bar per pass with that count
as its total. These tests check that drawing (forced on, into the captured
stderr), that the passes the CLI assumes are what both engines report over the
count the model announces, and, through a pseudo-terminal, what a user of
``refglm fit`` sees.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path
from types import SimpleNamespace

import pytest

from refglm.cli.progress import Bars, FitProgress
from refglm.cli.progress import fit_progress as _fit_progress
from refglm.conventions import get_convention
from refglm.glm.engines import fit_passes
from tests.cli.test_bad_inputs import fit_args, synthetic_run, write_run

REFGLM = Path(sys.executable).with_name("refglm")
VOXELS = 136  # a made-up voxel count, reported in chunks of 50 as run_glm reports them
CHUNKS = [50, 50, 36]
PASSES = ["OLS pass", "AR(1) fit"]


def _drawn(bars):
    return [(bar.desc, bar.total, bar.n) for bar in bars.bars]


def _progress(bars, voxels=VOXELS):
    progress = FitProgress(bars, PASSES, load="load", after="after")
    if voxels is not None:
        progress.begin(voxels)
    return progress


def test_each_pass_has_a_bar_with_the_voxel_count_as_total(capsys):
    with Bars(enabled=True) as bars:
        progress = _progress(bars)
        for n in CHUNKS + CHUNKS:
            progress(n)
        progress.finish()
        drawn = _drawn(bars)
    assert drawn == [
        ("load", 1, 1),
        ("OLS pass", VOXELS, VOXELS),
        ("AR(1) fit", VOXELS, VOXELS),
        ("after", 1, 1),
    ]


def test_a_report_across_two_passes_is_split_between_their_bars(capsys):
    with Bars(enabled=True) as bars:
        progress = _progress(bars)
        for n in (100, 100, 2 * VOXELS - 200):
            progress(n)
        drawn = _drawn(bars)
    assert drawn[1:3] == [("OLS pass", VOXELS, VOXELS), ("AR(1) fit", VOXELS, VOXELS)]


def test_without_a_count_one_counter_stands_for_every_pass(capsys):
    with Bars(enabled=True) as bars:
        progress = _progress(bars, voxels=None)
        for n in CHUNKS + CHUNKS:
            progress(n)
        drawn = _drawn(bars)
    assert drawn == [("load", 1, 1), ("OLS pass, then AR(1) fit", None, 2 * VOXELS)]


def test_no_progress_callback_when_bars_are_off():
    args = SimpleNamespace(convention="nistats", engine="statsmodels")
    assert _fit_progress(Bars(enabled=False), args, "ar1", "load") is None


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("progress"))


@pytest.mark.parametrize("engine", ["statsmodels", "vectorized"])
@pytest.mark.parametrize("convention", ["nistats", "nilearn", "statsmodels"])
@pytest.mark.parametrize("noise_model", ["ar1", "ols"])
def test_the_engines_report_each_assumed_pass_over_the_counted_voxels(
    run_files, engine, convention, noise_model
):
    from refglm.first_level.model import FirstLevelModel

    class Recorder(list):
        def begin(self, n_voxels):
            self.announced = n_voxels

        def __call__(self, n):
            self.append(n)

    data, affine, events = synthetic_run()
    reports = Recorder()
    model = FirstLevelModel(
        t_r=2.0,
        engine=engine,
        convention=convention,
        noise_model=noise_model,
        chunk_size=50,
        progress=reports,
    ).fit(str(run_files[0]), events)
    voxels = int(model.mask_.sum())
    assert reports.announced == voxels
    assert sum(reports) == len(fit_passes(noise_model, get_convention(convention).ar_fit)) * voxels


def _run_on_a_terminal(args, columns=100):
    """Run the console script with stderr on a pseudo-terminal; return (code, stdout, stderr)."""
    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        [str(REFGLM), *map(str, args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=side,
    )
    os.close(side)
    err = b""
    while True:
        ready, _, _ = select.select([main], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal's other side is closed: the process ended
                break
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=120)
    os.close(main)
    return code, out, err.decode(errors="replace").replace("\r", "\n")


def test_fit_on_a_terminal_draws_a_full_bar_per_pass(run_files, tmp_path):
    code, out, err = _run_on_a_terminal(fit_args(run_files, tmp_path / "out"))
    assert code == 0, err
    voxels = int(out.split("mask: ")[1].split(" voxels")[0])
    lines = [line.strip() for line in err.splitlines()]
    for label in PASSES:
        assert any(
            line.startswith(f"{label}: 100%") and f" {voxels}/{voxels} " in line for line in lines
        ), (label, err)
    assert f"{2 * voxels}/" not in err  # the passes are not added up in one bar
    assert "load and mask the run (" in err
