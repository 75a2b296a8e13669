"""refglm's progress bars: a step line, then one bar per pass over the voxels.

The fit reports ``progress(n)`` per chunk of voxels, pass after pass, without
the pass; ``FirstLevelModel`` calls ``progress.begin(n_voxels)`` once the run
is masked. ``refglm.cli.progress.FitProgress`` draws one bar per pass with that count
as its total. These tests check that drawing (forced on, into the captured
stderr), that the passes the CLI assumes are what both engines report over the
count the model announces, and, through a pseudo-terminal, what a user of
``refglm fit`` and ``refglm compare`` sees: bars on a terminal with a width, plain
lines on one without (``script``, some CI), and no remaining time before the bar
can tell it.
"""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path
from types import SimpleNamespace

import pytest

from refglm.cli.progress import ETA_MIN_FRACTION, Bars, FitProgress
from refglm.cli.progress import fit_progress as _fit_progress
from refglm.conventions import get_convention
from refglm.glm.engines import fit_passes
from tests.cli.test_bad_inputs import T_R, fit_args, synthetic_run, write_run
from tests.conftest import spm_auditory_dir

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
    # the terminal ends lines with \r\n; a bar redraws itself after a lone \r
    return code, out, err.decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")


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


# ------------------------------------------------------------- a terminal without width


def test_without_a_width_each_bar_is_a_line_when_it_opens_and_when_it_closes(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    with Bars(enabled=True, lines=True) as bars:
        with bars.stepping("load"):
            pass
        bar = bars.bar(VOXELS, "OLS pass")
        for n in CHUNKS:
            bar.update(n)
        bar.close()
    lines = err.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "load ...",
        "load: done",
        "OLS pass ...",
        f"OLS pass: {VOXELS}/{VOXELS} vox",
    ]


def test_a_zero_width_terminal_gets_plain_lines_a_wide_one_bars(monkeypatch):
    import refglm.cli.progress as progress

    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(progress, "terminal_columns", lambda: 0)
    assert Bars().lines
    monkeypatch.setattr(progress, "terminal_columns", lambda: 100)
    assert not Bars().lines


def test_fit_on_a_zero_width_terminal_prints_step_lines_not_blank_ones(run_files, tmp_path):
    code, out, err = _run_on_a_terminal(fit_args(run_files, tmp_path / "out"), columns=0)
    assert code == 0, err
    voxels = int(out.split("mask: ")[1].split(" voxels")[0])
    lines = err.splitlines()
    assert lines and all(line.strip() for line in lines), err  # no blank line
    assert "load and mask the run ..." in lines
    for label in PASSES:
        assert any(line.startswith(f"{label}: {voxels}/{voxels} vox (") for line in lines), err
    assert not any("%|" in line for line in lines)  # no bar was drawn


# ------------------------------------------------------------------ the remaining time


class _Clock:
    """A clock the test moves by hand (tqdm reads ``bar._time``)."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _eta_bar(monkeypatch, total):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    bars = Bars(enabled=True, lines=False)
    bar = bars.bar(total, "AR(1) fit")
    clock = _Clock()
    bar._time = clock
    bar.start_t = bar.last_print_t = 0.0
    return bars, bar, clock


def test_no_remaining_time_before_enough_of_the_bar_is_done(monkeypatch):
    bars, bar, clock = _eta_bar(monkeypatch, 1000)
    clock.now = 0.2
    bar.update(int(ETA_MIN_FRACTION * 1000) - 1)
    assert bar.format_dict["rate"] == 0  # tqdm prints "?"
    bars.close()


def test_the_set_up_before_the_first_report_is_not_spread_over_the_voxels(monkeypatch):
    """The vectorized AR(1) pass: 0.165 s of set-up, then 1000 voxels at 0.1 ms each.

    Measured on the tutorial run (62073 voxels): the first report came 0.165 s after the
    pass began with 3 voxels; tqdm's estimate from the bar's start read 1:48:38.
    """
    bars, bar, clock = _eta_bar(monkeypatch, 1000)
    clock.now = 0.165
    bar.update(3)
    for _ in range(9):
        clock.now += 0.01
        bar.update(10)
    rate = bar.format_dict["rate"]
    remaining = (1000 - bar.n) / rate
    assert abs(remaining - (1000 - bar.n) * 0.001) < 1e-9  # 10 voxels per 10 ms
    bars.close()


def _remaining_seconds(err: str, label: str) -> list[int]:
    """Every remaining time drawn on the bar ``label`` (``[elapsed<remaining, ...]``)."""
    found = re.findall(re.escape(label) + r":[^\n]*?<((?:\d+:)?\d+:\d+),", err)
    out = []
    for text in found:
        seconds = 0
        for part in text.split(":"):
            seconds = 60 * seconds + int(part)
        out.append(seconds)
    return out


@pytest.mark.slow
def test_the_vectorized_ar1_bar_shows_no_absurd_remaining_time(tmp_path):
    """On the tutorial run the AR(1) pass takes about half a second: no hours flash."""
    data = spm_auditory_dir() / "sub001" / "fM00223"
    args = ["fit", "--func", *sorted(map(str, data.glob("fM00223_0*.img")))]
    args += ["--events", data / "fM00223_events.tsv", "--t-r", "7", "--contrast", "active - rest"]
    args += ["--engine", "vectorized", "--no-report", "--out", tmp_path / "out"]
    code, out, err = _run_on_a_terminal(args)
    assert code == 0, err
    assert "AR(1) fit: 100%" in err
    assert max(_remaining_seconds(err, "AR(1) fit"), default=0) <= 60, err


def test_the_remaining_time_reader_reads_hours():
    text = "AR(1) fit:   0%|   | 3/62073 [00:00<1:48:38,  9.52vox/s]"
    assert _remaining_seconds(text, "AR(1) fit") == [6518]


# ------------------------------------------------------------------------------ compare


@pytest.mark.slow
def test_compare_explain_on_a_zero_width_terminal_prints_a_line_per_phase(run_files, tmp_path):
    code, _, err = _run_on_a_terminal(fit_args(run_files, tmp_path / "fit"))
    assert code == 0, err
    bold, events = run_files
    args = ["compare", tmp_path / "fit", "--reference-from-data", bold, "--events", events]
    args += ["--t-r", T_R, "--contrast", "activeMinusRest=active - rest", "--explain"]
    code, _, err = _run_on_a_terminal([*args, "--out", tmp_path / "cmp"], columns=0)
    assert code == 0, err
    opened = [line.removesuffix(" ...") for line in err.splitlines() if line.endswith(" ...")]
    assert opened == [
        "load the candidate's maps",
        "reference: load and mask the run",
        *PASSES,
        "reference's maps",
        "compare the maps (thresholds, clusters, peaks)",
        "--explain: fit the reference convention nistats",
        "--explain: fit each variant on every voxel",  # too few voxels for a box
        "--explain: give each voxel beyond tolerance a cause",
        "figures, compare.md, compare.json, compare.html",
    ]
    assert re.search(r"^--explain: fit each variant on every voxel: (\d+)/\1 variant ", err, re.M)
