"""refglm.first_level.trace: one voxel refitted step by step equals the full fit at that voxel.

The full fit is the session's tutorial model (``tutorial_results``); the
trace reloads the run, rebuilds the design without fitting, and refits the
voxel with statsmodels directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refglm.exceptions import InputError
from refglm.first_level import format_value, trace_voxel
from tests.conftest import spm_auditory_dir

PEAK_MM = (-60, -6, 42)


@pytest.fixture(scope="module")
def run_and_design(tutorial_results):
    """The tutorial run as FirstLevelModel holds it, its EPI mask, and the rebuilt design."""
    from refglm import io
    from refglm.datasets import fetch_spm_auditory
    from refglm.first_level import FirstLevelModel, first_level_design
    from refglm.glm.masking import compute_epi_mask, mean_epi
    from refglm.workflows import TUTORIAL_PARAMETERS

    conv = tutorial_results.model.convention_
    data = fetch_spm_auditory(spm_auditory_dir(), verify=False)
    run, _ = io.load_run(data.func, dtype=io.run_dtype(data.func, conv.input_dtype))
    mask = compute_epi_mask(mean_epi(run, conv.mask_mean_dtype))
    model = FirstLevelModel(**TUTORIAL_PARAMETERS, convention=conv)
    design = first_level_design(model, run.shape[3], data.events)
    return run, mask, design


def _index(model, ijk):
    flat = np.ravel_multi_index(ijk, model.mask_.shape)
    return int(np.flatnonzero(model.mask_.ravel()).searchsorted(flat))


@pytest.mark.slow
def test_rebuilt_design_and_mask_equal_the_model(tutorial_results, run_and_design):
    _, mask, design = run_and_design
    pd.testing.assert_frame_equal(design, tutorial_results.design, check_exact=True)
    assert_array_equal(mask, tutorial_results.model.mask_)


def _voxels(model, n=12, seed=20261124):
    rng = np.random.default_rng(seed)
    ijks = np.argwhere(model.mask_)
    picks = [tuple(v) for v in ijks[rng.choice(len(ijks), n, replace=False)]]
    peak = tuple(np.rint(np.linalg.inv(model.affine_) @ [*PEAK_MM, 1])[:3].astype(int).tolist())
    return [peak] + picks


@pytest.mark.slow
def test_trace_equals_full_fit(tutorial_results, run_and_design):
    model = tutorial_results.model
    run, _, design = run_and_design
    fit = model.fit_
    t_res = model.contrast_result("active - rest")
    f_res = model.contrast_result(["active", "rest"])
    for ijk in _voxels(model):
        v = _index(model, ijk)
        tr = trace_voxel(run[ijk], design, "active - rest", ["active", "rest"])
        # the same float32 scaling and the same statsmodels calls: bit-identical estimates
        assert_array_equal(tr.beta, fit.beta[:, v], err_msg=str(ijk))
        assert tr.rho == fit.rho[v]
        assert_allclose(tr.rho_raw, fit.rho_raw[v], rtol=1e-12, atol=1e-15)
        assert tr.sigma2 == fit.sigma2[v]
        assert tr.df == fit.df_resid[v] == 80
        assert_allclose(tr.effect, t_res.effect[0, v], rtol=1e-13)
        assert_allclose(tr.variance, t_res.variance[0, 0, v], rtol=1e-12)
        assert_allclose(tr.t, t_res.stat[v], rtol=1e-12)
        assert_allclose(tr.p, t_res.p_value[v], rtol=1e-9, atol=1e-300)
        assert_allclose(tr.z, t_res.z_score[v], rtol=1e-10, atol=1e-12)
        assert_allclose(tr.f, f_res.stat[v], rtol=1e-10)
        assert_allclose(tr.f_z, f_res.z_score[v], rtol=1e-9, atol=1e-12)


@pytest.mark.slow
def test_trace_agrees_with_statsmodels_own_tests(tutorial_results, run_and_design):
    run, _, design = run_and_design
    ijk = _voxels(tutorial_results.model, n=0)[0]
    tr = trace_voxel(run[ijk], design, "active - rest", ["active", "rest"])
    X = design.to_numpy(dtype=np.float64)
    # statsmodels' own t_test / f_test on the convention's GLSAR class
    from refglm.glm.engines.statsmodels import glsar_class

    res = glsar_class("keep")(tr.scaled.astype(np.float64), X, rho=tr.rho).fit()
    tt = res.t_test(tr.contrast[None])
    assert_allclose(tr.effect, tt.effect[0], rtol=1e-12)
    assert_allclose(tr.t, np.ravel(tt.tvalue)[0], rtol=1e-12)
    ft = res.f_test(tr.f_contrast)
    assert_allclose(tr.f, float(np.ravel(ft.fvalue)[0]), rtol=1e-10)
    # whitening formula shown in the trace
    s = tr.scaled.astype(np.float64)
    assert_array_equal(tr.whitened[1:], s[1:] - tr.rho * s[:-1])
    assert tr.whitened[0] == s[0]


@pytest.mark.slow
def test_peak_z_is_the_tutorials(tutorial_results):
    from refglm.workflows.explain_voxel import explain_voxel

    tr, info = explain_voxel(mm=PEAK_MM, data_dir=spm_auditory_dir())
    assert info["ijk"] == (51, 29, 36)
    assert info["xyz"] == (-60.0, -6.0, 42.0)
    assert f"{tr.z:.6f}" == "9.811979"
    v = _index(tutorial_results.model, info["ijk"])
    assert tr.z == tutorial_results.model.contrast_result("active - rest").z_score[v]
    table = tr.table()
    for name in (
        "raw series y",
        "scaled series s",
        "design row X[0]",
        "OLS beta[active]",
        "OLS residuals r",
        "lag-1 sum",
        "rho raw",
        "rho binned",
        "whitened series s~",
        "AR beta[active]",
        "residual variance",
        "residual df",
        "contrast effect",
        "contrast variance",
        "t",
        "p (one-sided)",
        "z",
    ):
        assert any(line.startswith(name + " ") for line in table.splitlines()), name
    assert "9.811979" in table
    assert tr.as_dict()["contrast"]["z"] == tr.z


@pytest.mark.slow
def test_explain_voxel_refuses_voxels_outside(tutorial_results):
    from refglm.workflows.explain_voxel import explain_voxel

    with pytest.raises(InputError, match="outside the brain mask"):
        explain_voxel(ijk=(0, 0, 0), data_dir=spm_auditory_dir())
    with pytest.raises(InputError, match="outside the image grid"):
        explain_voxel(mm=(500, 0, 0), data_dir=spm_auditory_dir())
    with pytest.raises(InputError, match="exactly one"):
        explain_voxel(data_dir=spm_auditory_dir())


def _synthetic(rng, n=60):
    t = np.arange(n) * 2.0
    X = np.column_stack([np.sin(t / 9.0) > 0, np.cos(t / 30.0), np.ones(n)]).astype(float)
    design = pd.DataFrame(X, columns=["task", "drift_1", "constant"], index=t)
    e = np.zeros(n)
    for k in range(1, n):
        e[k] = 0.4 * e[k - 1] + rng.standard_normal()
    y = (100 + 3 * X[:, 0] + e).astype(np.float32)
    return y, design


@pytest.mark.parametrize("convention", ["nistats", "nilearn", "statsmodels"])
def test_trace_equals_run_glm_on_synthetic_data(rng, convention):
    from refglm.conventions import get_convention
    from refglm.first_level.model import mean_scaling
    from refglm.glm.engines.statsmodels import run_glm

    conv = get_convention(convention)
    y, design = _synthetic(rng)
    X = design.to_numpy()
    Y, _ = mean_scaling(np.ascontiguousarray(np.column_stack([y, y + 1])))
    for noise in ("ar1", "ols"):
        fit = run_glm(
            Y[:, :1],  # one voxel: nilearn's global residual mean is then this voxel's
            X,
            noise_model=noise,
            ar_estimator=conv.ar_estimator,
            ar_binning=conv.ar_binning,
            ar_bins=conv.ar_bins,
            whiten_scan0=conv.whiten_scan0,
            ar_fit=conv.ar_fit,
            cov_pinv=conv.cov_pinv,
        )
        tr = trace_voxel(y, design, "task", noise_model=noise, convention=conv)
        assert_array_equal(tr.scaled, Y[:, 0])
        assert_allclose(tr.beta, fit.beta[:, 0], rtol=1e-12)
        assert_allclose(tr.sigma2, fit.sigma2[0], rtol=1e-12)
        assert_allclose(tr.rho, fit.rho[0], rtol=1e-12, atol=1e-15)
        assert tr.df == fit.df_resid[0]


def test_trace_bad_input(rng):
    y, design = _synthetic(rng)
    with pytest.raises(InputError, match="one value per scan"):
        trace_voxel(y[:-1], design, "task")
    bad = y.copy()
    bad[3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        trace_voxel(bad, design, "task")
    with pytest.raises(InputError, match="one row"):
        trace_voxel(y, design, ["task", "drift_1"])
    with pytest.raises(InputError, match="noise_model"):
        trace_voxel(y, design, "task", noise_model="ar2")


def test_nilearn_z_formulas_name_the_cdf_of_their_own_statistic(rng):
    y, design = _synthetic(rng)
    tr = trace_voxel(y, design, "task", ["task", "drift_1"], convention="nilearn")
    formulas = {s.name: s.formula for s in tr.steps}
    assert "F_t(t; nu)" in formulas["z"]
    assert "F_F(F; q, nu)" in formulas["F z"] and "F_t" not in formulas["F z"]


def test_as_dict_holds_every_vector_in_full_as_json(rng):
    import json

    y, design = _synthetic(rng)
    tr = trace_voxel(y, design, "task", ["task", "drift_1"])
    d = json.loads(json.dumps(tr.as_dict()))
    n, p = design.shape
    for key in ("raw", "scaled", "ols_fitted", "ols_resid", "whitened", "whitened_resid"):
        assert_array_equal(d[key], getattr(tr, key), err_msg=key)
    assert_array_equal(d["design"]["rows"], design.to_numpy())
    assert d["design"]["columns"] == list(design.columns)
    assert np.shape(d["whitened_design"]["rows"]) == (n, p)
    assert_array_equal(d["cov_unscaled"]["rows"], tr.cov_unscaled)
    assert [s["name"] for s in d["steps"]] == [s.name for s in tr.steps]


def test_format_value():
    assert format_value(9.811979058604333) == "9.811979"
    assert format_value(4.999e-23) == "4.999000e-23"
    assert format_value(80) == "80"
    text = format_value(np.arange(96.0), width=44)
    assert text.startswith("[0, 1.000, ") and text.endswith("95.000]  (n=96)")
    assert len(text) <= 44
    assert format_value(np.eye(3), width=60) == "3 x 3, row 0: [1.000, 0, 0]  (n=3)"


# ------------------------------------------------------- where z is quantized
#: The tutorial voxel whose z of `active - rest` sits deepest among the quantized
#: levels that nistats 0.0.1rc0 (scipy 1.10.1) and refglm (scipy 1.17.1) reach one
#: spacing apart (validation/peers/nistats, tests/peers/test_nistats.py): t = -8.8925,
#: nu = 80, 1 - p = 643 spacings of 2**-53 here (644 under nistats rc0).
QUANTIZED_VOXEL = (22, 30, 26)


def _steps(trace) -> dict:
    return {s.name: s for s in trace.steps}


@pytest.mark.slow
def test_trace_says_where_the_tutorial_voxels_z_is_quantized(tutorial_results, run_and_design):
    from scipy import stats

    run, _, design = run_and_design
    tr = trace_voxel(run[QUANTIZED_VOXEL], design, "active - rest")
    note = _steps(tr)["z quantization"]
    assert "z* = -6.6336" in note.formula and "t* = -7.6893 at nu = 80" in note.formula
    assert note.value.startswith("quantized: 1 - p = 643 spacings of 2^-53")
    u = 2.0**-53
    above, below = stats.norm.isf(tr.p - u), stats.norm.isf(tr.p + u)
    assert f"z = {above:.6f} and {below:.6f}" in note.value
    assert f"(steps {above - tr.z:.3g} and {tr.z - below:.3g})" in note.value
    assert f"{above - tr.z:.3g}" == "0.000207"


@pytest.mark.parametrize(
    "t, verdict",
    [
        (3.0, "not quantized (p <= 1/2"),
        (-7.0, "not quantized here (step 2^-53/phi(z) = 5e-08 < 1e-06)"),
        (-8.8925, "quantized: 1 - p = 643 spacings"),
        (-40.0, "at the floor: z = norm.isf(1 - 1e-16) = -8.2095"),
    ],
)
def test_z_quantization_verdict_follows_the_voxels_p(t, verdict):
    from scipy import stats

    from refglm.first_level.trace import _z_quantization
    from refglm.glm.contrasts import z_from_p

    p = float(stats.t.sf(t, 80))
    z = float(z_from_p(p, "isf_clipped"))
    _, value = _z_quantization(p, z, 80.0, "isf_clipped")
    assert value.startswith(verdict)


def test_nilearn_z_is_not_quantized_and_says_so(rng):
    y, design = _synthetic(rng)
    tr = trace_voxel(y, design, "task", ["task", "drift_1"], convention="nilearn")
    steps = _steps(tr)
    assert steps["z quantization"].value == "not quantized: z = Phi^-1(F(t)) where p > 1/2"
    assert steps["F z quantization"].value == "not quantized: z = Phi^-1(F(F)) where p > 1/2"
    assert "t*" not in steps["F z quantization"].formula
