"""Numbers of any size: huge Python ints are InputErrors, not TypeErrors; n_jobs is bounded.

Python ints have no size limit; ``float(10**400)`` raises OverflowError and
``np.isfinite(10**400)`` a TypeError, so every number check goes through the
helpers of ``refglm._validate``, which describe such a value by its size
("an integer too large for a float (401 digits)"). ``check_n_jobs`` bounds
the workers a run may start (``--n-jobs 99999`` started more than 1000 loky
workers and was killed for lack of memory).

The tests marked xfail need call sites outside ``_checks`` to use the
helpers (``model.py``, ``fit_run.py``, ``thresholds.py``); the lead removes
the marks with those changes.
"""

from __future__ import annotations

import fractions
import sys

import numpy as np
import pytest

from refglm import _validate as _checks
from refglm import cli
from refglm._validate import (
    check_finite,
    check_n_jobs,
    check_nonnegative,
    check_positive,
    fmt,
    is_whole_number,
)
from refglm.exceptions import InputError
from refglm.glm.design._validate import check_oversampling
from tests.cli.test_bad_inputs import fit_args, one_line, run_cli, synthetic_run, write_run

HUGE = 10**400  # beyond float: float(HUGE) raises OverflowError
ENORMOUS = 10**5000  # beyond repr(): more digits than sys.get_int_max_str_digits()


# ---------------------------------------------------------------- the helpers


@pytest.mark.parametrize(
    "value",
    [HUGE, -HUGE, ENORMOUS, fractions.Fraction(HUGE, 3)],
    ids=["1e400", "-1e400", "1e5000", "fraction"],
)
@pytest.mark.parametrize("check", [check_positive, check_finite, check_nonnegative])
def test_numbers_too_large_for_a_float_are_input_errors(check, value):
    with pytest.raises(InputError) as excinfo:
        check(value, "high_pass", "pass e.g. 0.01")
    message = str(excinfo.value)
    assert message.startswith("high_pass: expected a finite number")
    assert "too large for a float" in message and "Fix: pass e.g. 0.01" in message
    assert len(message) < 300  # described by its size, never written out


def test_large_ints_within_float_range_are_accepted():
    assert check_positive(10**30, "t_r", "") == 1e30
    assert check_finite(-(10**300), "onset", "") == -1e300
    assert check_nonnegative(np.uint64(2**64 - 1), "size", "") == 2.0**64
    assert check_positive(np.float32(2), "t_r", "") == 2.0


@pytest.mark.parametrize(
    "value", [True, np.bool_(True), "2", None, float("nan"), float("inf"), np.longdouble("1e400")]
)
def test_what_is_not_a_finite_number(value):
    with pytest.raises(InputError, match="expected a finite number"):
        check_finite(value, "x", "fix")


def test_whole_numbers():
    assert is_whole_number(50, 1) and is_whole_number(np.int64(3), 0) and is_whole_number(2.0, 1)
    for value in (HUGE, ENORMOUS, 0.5, True, float("inf"), "3", 0):
        assert not is_whole_number(value, 1), value
    with pytest.raises(InputError) as excinfo:
        check_oversampling(ENORMOUS)
    assert "oversampling: expected a whole number >= 1" in str(excinfo.value)
    assert "too large for a float (5001 digits)" in str(excinfo.value)


def test_nonnegative_with_a_maximum():
    assert check_nonnegative(10, "cluster_threshold", "", maximum=1000) == 10.0
    for value in (10**30, 1001, -1, HUGE):
        with pytest.raises(InputError) as excinfo:
            check_nonnegative(value, "cluster_threshold", "pass 0", maximum=1000)
        assert "cluster_threshold: expected a finite number >= 0 and <= 1000" in str(excinfo.value)


def test_fmt_describes_integers_by_size():
    assert fmt(10**35) == "an integer of 36 digits"
    assert fmt(-HUGE) == "an integer too large for a float (401 digits)"
    assert fmt(ENORMOUS) == "an integer too large for a float (5001 digits)"
    assert fmt(12345) == "12345" and fmt(np.float64(2.5)) == "2.5" and fmt(True) == "True"
    assert _checks.int_digits(10**4299 - 1) == 4299 and _checks.int_digits(10**4299) == 4300
    assert sys.get_int_max_str_digits() < 5001  # why repr() cannot be used for ENORMOUS


# ---------------------------------------------------------------------- n_jobs


@pytest.fixture()
def four_cpus(monkeypatch):
    monkeypatch.setattr(_checks, "cpu_count", lambda: 4)


@pytest.mark.parametrize("n_jobs", [1, 2, 16, -1, -2, -4, np.int64(3)])
def test_n_jobs_accepted(four_cpus, n_jobs):
    assert check_n_jobs(n_jobs) == int(n_jobs)


@pytest.mark.parametrize(
    "n_jobs, found",
    [
        (0, "found 0"),
        (17, "found 17"),
        (99999, "found 99999"),
        (-5, "found -5"),
        (HUGE, "too large for a float"),
        (True, "found bool True"),
        (2.0, "found 2"),
        ("2", "found str '2'"),
        (None, "found NoneType None"),
    ],
)
def test_n_jobs_refused(four_cpus, n_jobs, found):
    with pytest.raises(InputError) as excinfo:
        check_n_jobs(n_jobs, "--n-jobs")
    message = str(excinfo.value)
    assert message.startswith("--n-jobs: expected a whole number of workers from 1 to 16")
    assert "4 per CPU; 4 CPU(s) here" in message and "-1 (every CPU) to -4" in message
    assert found in message and "Fix: pass e.g. 1" in message


def test_n_jobs_on_a_dask_cluster_is_not_bounded_by_local_cpus(four_cpus):
    assert check_n_jobs(500, backend="dask") == 500
    assert check_n_jobs(-1, backend="dask") == -1
    for n_jobs in (-2, 5000, 0):
        with pytest.raises(InputError, match="every worker of the dask cluster"):
            check_n_jobs(n_jobs, backend="dask")


def test_cpu_count_honours_joblib():
    import joblib

    assert _checks.cpu_count() == joblib.cpu_count() >= 1


# ------------------------------------------------- call sites that use the helpers


def test_huge_high_pass_through_the_model():
    from refglm.first_level.model import FirstLevelModel

    data, affine, events = synthetic_run()
    with pytest.raises(InputError, match="high_pass: expected a finite number > 0; found an int"):
        FirstLevelModel(t_r=2.0, high_pass=HUGE).fit_array(data, affine, events)


def test_huge_hrf_arguments():
    from refglm.glm.design.hrf_shapes import glover_hrf

    with pytest.raises(InputError, match="t_r: expected a finite number > 0"):
        glover_hrf(HUGE)
    with pytest.raises(InputError, match="oversampling: expected a whole number"):
        glover_hrf(2.0, oversampling=HUGE)


# ------------------------------------------- call sites outside _checks (lead: to switch)


def test_huge_t_r_through_the_model():
    from refglm.first_level.model import FirstLevelModel

    data, affine, events = synthetic_run()
    with pytest.raises(InputError, match="t_r.*too large for a float"):
        FirstLevelModel(t_r=HUGE).fit_array(data, affine, events)


def test_model_n_jobs_is_bounded(monkeypatch):
    from refglm.first_level.model import FirstLevelModel

    monkeypatch.setattr(_checks, "cpu_count", lambda: 2)
    with pytest.raises(InputError, match="n_jobs: expected a whole number of workers from 1 to 8"):
        FirstLevelModel(t_r=2.0, n_jobs=99999)._check_params()  # never fit: 99999 workers


def test_map_threshold_cluster_threshold_beyond_the_map():
    from refglm import inference as thresholds

    z = np.random.default_rng(0).standard_normal((10, 10, 10))
    with pytest.raises(InputError, match="cluster_threshold"):
        thresholds.map_threshold(z, cluster_threshold=10**30)


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("numbers"))


@pytest.fixture()
def never_fit(monkeypatch):
    """Fail loudly instead of fitting (an unchecked --n-jobs 99999 would start 99999 workers)."""
    from refglm.workflows import fit as fit_run

    def refuse(*args, **kwargs):
        raise RuntimeError("reached the fit: the option was not checked")

    monkeypatch.setattr(fit_run, "_count_scans", refuse)


@pytest.mark.parametrize("flag", ["--cluster-threshold", "--table-cluster-threshold"])
def test_cli_threshold_option_too_large_for_a_float(run_files, tmp_path, never_fit, flag):
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args(run_files, out, extra=[flag, "9" * 400]))
    assert code == cli.EXIT_INPUT, err
    line = one_line(err)
    assert flag in line and "expected a finite number >= 0" in line
    assert "too large for a float (400 digits)" in line
    assert not out.exists()


@pytest.mark.parametrize("flag", ["--cluster-threshold", "--table-cluster-threshold"])
def test_cli_cluster_threshold_beyond_the_image(run_files, tmp_path, flag):
    """The reviewer's `--cluster-threshold 99999999999999999999999` (an internal error then)."""
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args(run_files, out, extra=[flag, "9" * 23]))
    assert code == cli.EXIT_INPUT, err
    line = one_line(err)
    assert flag in line and "<= 1000" in line  # the synthetic run's 10 x 10 x 10 voxels
    assert not out.exists()


def test_cli_n_jobs_is_bounded(run_files, tmp_path, never_fit):
    out = tmp_path / "out"
    code, _, err = run_cli(fit_args(run_files, out, extra=["--n-jobs", "99999"]))
    assert code == cli.EXIT_INPUT, err
    line = one_line(err)
    assert "--n-jobs" in line and "found 99999" in line and "per CPU" in line
    assert not out.exists()
