"""``refglm explain-voxel``: every intermediate number, in full, recomputable, in 80 columns.

The printout elides 96-long vectors; the trace JSON holds them all (raw and
scaled series, OLS fit, whitened series and design, whitened residuals, the
design with its column names, (X~'X~)^+). Recomputing the steps from the
JSON's vectors gives the printed values. One run at the tutorial's peak. The
printout fits in 80 columns, each formula under its value; ``--wide`` prints the
long table. ``--from FIT_DIR --func ...`` traces a voxel of one's own fit
(``tests/workflows/test_explain_fit_voxel.py``: the traced z is the fit's).
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from refglm import cli
from tests.conftest import spm_auditory_dir

N_SCANS, N_COLUMNS = 96, 16
#: the printout has 6 decimals: half a unit of the last one, plus float noise
PRINTED = 0.5e-6 + 1e-12
#: recomputed in float64 from the JSON's float64 values vs. statsmodels' own
RECOMPUTED_RTOL = 1e-10
#: whitened residuals (of magnitude ~10) recomputed vs. the JSON's
RESID_ATOL = 1e-9
STEM = "voxel-51-29-36_trace"


@pytest.fixture(scope="module")
def peak(tmp_path_factory):
    """(printout, trace JSON) of ``refglm explain-voxel --mm -60 -6 42 --out DIR``."""
    out_dir = tmp_path_factory.mktemp("voxel")
    stdout = io.StringIO()
    args = ["explain-voxel", "--mm", "-60", "-6", "42", "--data-dir", str(spm_auditory_dir())]
    with contextlib.redirect_stdout(stdout):
        assert cli.main([*args, "--out", str(out_dir)]) == 0
    return stdout.getvalue(), json.loads((out_dir / f"{STEM}.json").read_text())


def _printed(printout: str, name: str) -> float:
    """The value printed on the row of the quantity ``name``."""
    rows = [line for line in printout.splitlines() if line.startswith(name + "  ")]
    assert len(rows) == 1, (name, rows)
    return float(rows[0].split()[-1])


@pytest.mark.slow
def test_json_holds_every_vector_and_matrix_in_full(peak):
    _, trace = peak
    for key in ("raw", "scaled", "ols_fitted", "ols_resid", "whitened", "whitened_resid"):
        assert len(trace[key]) == N_SCANS, key
    columns = trace["columns"]
    assert len(columns) == N_COLUMNS and columns[:2] == ["active", "rest"]
    for key, rows in (
        ("design", N_SCANS),
        ("whitened_design", N_SCANS),
        ("cov_unscaled", N_COLUMNS),
    ):
        assert trace[key]["columns"] == columns, key
        assert np.shape(trace[key]["rows"]) == (rows, N_COLUMNS), key


@pytest.mark.slow
def test_sigma2_recomputed_from_the_whitened_vectors_is_the_printed_one(peak):
    printout, trace = peak
    s, X = np.array(trace["whitened"]), np.array(trace["whitened_design"]["rows"])
    beta = np.linalg.pinv(X) @ s
    resid = s - X @ beta
    sigma2 = resid @ resid / trace["df"]
    assert abs(sigma2 - _printed(printout, "residual variance")) <= PRINTED
    np.testing.assert_allclose(resid, trace["whitened_resid"], rtol=0, atol=RESID_ATOL)


@pytest.mark.slow
def test_t_recomputed_from_the_whitened_vectors_is_the_printed_one(peak):
    printout, trace = peak
    s, X = np.array(trace["whitened"]), np.array(trace["whitened_design"]["rows"])
    c = np.array(trace["contrast"]["weights"])
    beta = np.linalg.pinv(X) @ s
    resid = s - X @ beta
    sigma2 = resid @ resid / trace["df"]
    cov = np.linalg.pinv(X.T @ X)
    np.testing.assert_allclose(cov, trace["cov_unscaled"]["rows"], rtol=RECOMPUTED_RTOL)
    t = (c @ beta) / np.sqrt(c @ cov @ c * sigma2)
    assert abs(t - _printed(printout, "t")) <= PRINTED
    np.testing.assert_allclose(t, trace["contrast"]["t"], rtol=RECOMPUTED_RTOL)


@pytest.mark.slow
def test_lag1_sum_and_rho_recomputed_from_the_ols_residuals_are_the_printed_ones(peak):
    printout, trace = peak
    r = np.array(trace["ols_resid"])
    lag1 = float(r[1:] @ r[:-1])
    assert abs(lag1 - _printed(printout, "lag-1 sum")) <= PRINTED
    assert abs(lag1 / (r @ r) - _printed(printout, "rho raw")) <= PRINTED


def _value_text(printout: str, name: str) -> str:
    """The value printed for ``name``: its line and the value's continuation lines."""
    lines = printout.splitlines()
    (k,) = [i for i, line in enumerate(lines) if line.startswith(name + "  ")]
    value = lines[k][len(name) :].strip()
    for line in lines[k + 1 :]:
        if not line.startswith(" " * 8):  # the formula (4 spaces) or the next step
            break
        value += " " + line.strip()
    return value


@pytest.mark.slow
def test_printout_shows_the_whitened_design_residuals_and_every_column_name(peak):
    printout, trace = peak
    rows = {line.split("  ")[0]: line for line in printout.splitlines()}
    for name in ("whitened design X~", "whitened residuals e~", "(X~'X~)^+"):
        assert name in rows, name
    assert _value_text(printout, "design columns") == ", ".join(trace["columns"])


@pytest.mark.slow
def test_printout_fits_in_80_columns(peak):
    """Every line but the paths written (``  -> DIR/...``, as long as --out is)."""
    printout, _ = peak
    lines = [line for line in printout.splitlines() if not line.startswith("  -> ")]
    assert len(lines) > 60 and max(len(line) for line in lines) <= 80


@pytest.mark.slow
def test_each_formula_is_printed_under_its_value(peak):
    printout, _ = peak
    lines = printout.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("rho raw  "))
    assert lines[k + 1] == "    rho_raw = lag-1 sum / residual sum of squares"


@pytest.fixture(scope="module")
def wide():
    """(printout, trace) of ``refglm explain-voxel --mm -60 -6 42 --wide``."""
    from refglm.workflows.explain_voxel import explain_voxel

    stdout = io.StringIO()
    args = ["explain-voxel", "--mm", "-60", "-6", "42", "--data-dir", str(spm_auditory_dir())]
    with contextlib.redirect_stdout(stdout):
        assert cli.main([*args, "--wide"]) == 0
    trace, _ = explain_voxel(mm=(-60, -6, 42), data_dir=spm_auditory_dir())
    return stdout.getvalue(), trace


@pytest.mark.slow
def test_wide_prints_the_long_table_one_line_a_step(wide):
    printout, trace = wide
    assert trace.table() in printout
    assert max(len(line) for line in printout.splitlines()) > 80


def test_func_without_from_is_refused(capsys):
    args = ["explain-voxel", "--ijk", "1", "2", "3", "--func", "run.nii.gz"]
    assert cli.main(args) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert "refglm: error: --func: used only with --from FIT_DIR" in err
