"""The per-voxel statsmodels reference fit (refglm.glm.engines.statsmodels.run_glm)."""

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.signal import lfilter

from refglm.glm.engines.statsmodels import KeepScan0GLSAR, run_glm
from refglm.glm.engines.vectorized import run_glm_vectorized
from refglm.glm.noise import ar1_whiten
from tests.strategies import data_for, full_rank_designs, stationary_rhos

BETA_RTOL, BETA_ATOL = 1e-9, 1e-9
SIGMA2_RTOL = 1e-9


# Least squares through an SVD pseudo-inverse is backward stable: X'r is at worst of
# order eps * cond(X) * ||X|| * ||y||, with eps = 2.2e-16, cond(X) < 1e6
# (full_rank_designs) and whitening multiplying cond by at most (1 + |rho|) / (1 - |rho|)
# = 19 (|rho| <= 0.9): below 4.2e-9 * ||X|| * ||y||. Measured: ~2e-15; the OLS beta in
# place of the whitened one gives a median 5e-2.
ORTHO_RTOL = 1e-8
ENGINES = {"statsmodels": run_glm, "vectorized": run_glm_vectorized}


def _orthogonality_bound(X, y):
    return ORTHO_RTOL * np.linalg.norm(X, 2) * np.linalg.norm(y)


@pytest.mark.parametrize("engine", ENGINES)
@given(data=st.data())
def test_ols_residuals_are_orthogonal_to_design(engine, data):
    # refglm's OLS pass: r = Y - X beta is orthogonal to every column of X.
    X = data.draw(full_rank_designs())
    Y = data.draw(data_for(X))
    fit = ENGINES[engine](Y, X, noise_model="ols")
    resid = Y - X @ fit.beta
    for j in range(Y.shape[1]):
        assert_allclose(X.T @ resid[:, j], 0, rtol=0, atol=_orthogonality_bound(X, Y[:, j]))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("scan0", ["keep", "drop", "prais_winsten"])
@given(data=st.data())
def test_ar1_whitened_residuals_are_orthogonal_to_whitened_design(engine, scan0, data):
    # refglm's AR(1) pass: with each voxel's binned rho, the whitened residuals
    # W(y) - W(X) beta are orthogonal to W(X), W the whitening of the convention.
    # The data are AR(1)-filtered so that rho does not bin to 0, where the whitened fit
    # is the OLS fit and a pass that skipped whitening would go unnoticed.
    X = data.draw(full_rank_designs())
    rho = data.draw(stationary_rhos())
    Y = lfilter([1.0], [1.0, -rho], data.draw(data_for(X)), axis=0)
    fit = ENGINES[engine](Y, X, whiten_scan0=scan0)
    for j in range(Y.shape[1]):
        wX = ar1_whiten(X, fit.rho[j], scan0)
        wy = ar1_whiten(Y[:, j], fit.rho[j], scan0)
        wresid = wy - wX @ fit.beta[:, j]
        assert_allclose(wX.T @ wresid, 0, rtol=0, atol=_orthogonality_bound(wX, wy))


@given(st.data())
def test_ar1_fit_with_rho_zero_equals_ols(data):
    X = data.draw(full_rank_designs())
    Y = data.draw(data_for(X))
    ols = run_glm(Y, X, noise_model="ols")
    # lag1 ratio of pure noise residuals may bin to 0.0; force it through a 0-bin model
    for j in range(Y.shape[1]):
        ar = KeepScan0GLSAR(Y[:, j], X, rho=0.0).fit()
        assert_allclose(ar.params, ols.beta[:, j], rtol=BETA_RTOL, atol=BETA_ATOL)
        assert_allclose(ar.scale, ols.sigma2[j], rtol=SIGMA2_RTOL)


def test_keep_scan0_glsar_is_ols_on_whitened_data(rng):
    X = np.column_stack([rng.standard_normal((30, 2)), np.ones(30)])
    y = rng.standard_normal(30)
    rho = 0.37
    ar = KeepScan0GLSAR(y, X, rho=rho).fit()
    ols = sm.OLS(ar1_whiten(y, rho), ar1_whiten(X, rho)).fit()
    assert_allclose(ar.params, ols.params, rtol=1e-12, atol=1e-12)
    assert_allclose(ar.scale, ols.scale, rtol=1e-12)
    assert ar.df_resid == 30 - 3


def test_ar1_fit_uses_truncated_lag1_rho(rng):
    X = np.column_stack([rng.standard_normal((50, 1)), np.ones(50)])
    Y = rng.standard_normal((50, 4))
    fit = run_glm(Y, X)
    for j in range(4):
        r = sm.OLS(Y[:, j], X).fit().resid
        rho = np.sum(r[1:] * r[:-1]) / np.sum(r**2)
        assert fit.rho_raw[j] == rho or abs(fit.rho_raw[j] - rho) < 1e-14
        assert fit.rho[j] == int(rho * 100) / 100
        expected = KeepScan0GLSAR(Y[:, j], X, rho=fit.rho[j]).fit()
        assert_allclose(fit.beta[:, j], expected.params, rtol=0, atol=0)


def test_df_is_n_minus_rank_with_scan0_kept(rng):
    X = np.column_stack([rng.standard_normal((40, 3)), np.ones(40)])
    fit = run_glm(rng.standard_normal((40, 3)), X)
    assert_array_equal(fit.df_resid, 36.0)


def test_df_is_n_minus_1_minus_rank_with_scan0_dropped(rng):
    X = np.column_stack([rng.standard_normal((40, 3)), np.ones(40)])
    fit = run_glm(rng.standard_normal((40, 3)), X, whiten_scan0="drop")
    assert_array_equal(fit.df_resid, 35.0)


def test_iterative_fit_equals_statsmodels_glsar_iterative_fit(rng):
    X = np.column_stack([rng.standard_normal((60, 2)), np.ones(60)])
    Y = rng.standard_normal((60, 3)).cumsum(axis=0) * 0.3 + rng.standard_normal((60, 3))
    fit = run_glm(Y, X, ar_fit="iterative", ar_binning="none", whiten_scan0="drop")
    for j in range(3):
        model = sm.GLSAR(Y[:, j], X, rho=1)
        res = model.iterative_fit()
        assert_allclose(fit.beta[:, j], res.params, rtol=1e-10, atol=1e-10)
        assert_allclose(fit.sigma2[j], res.scale, rtol=1e-10)
        assert_allclose(fit.rho[j], model.rho[0], rtol=1e-10)


def test_results_do_not_depend_on_chunking_or_jobs(rng):
    X = np.column_stack([rng.standard_normal((40, 2)), np.ones(40)])
    Y = rng.standard_normal((40, 37))
    a = run_glm(Y, X, chunk_size=5)
    b = run_glm(Y, X, chunk_size=100, n_jobs=2)
    for name in ("beta", "sigma2", "rho", "cov_unscaled", "labels"):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_permuting_voxels_permutes_outputs(rng):
    X = np.column_stack([rng.standard_normal((40, 2)), np.ones(40)])
    Y = rng.standard_normal((40, 12))
    perm = rng.permutation(12)
    a = run_glm(Y, X)
    b = run_glm(Y[:, perm], X)
    assert_array_equal(a.beta[:, perm], b.beta)
    assert_array_equal(a.sigma2[perm], b.sigma2)
    assert_array_equal(a.rho[perm], b.rho)
    assert_array_equal(a.cov_unscaled[a.labels[perm]], b.cov_unscaled[b.labels])


def test_float32_input_is_converted_exactly(rng):
    X = np.column_stack([rng.standard_normal((30, 1)), np.ones(30)])
    Y32 = rng.standard_normal((30, 4)).astype(np.float32)
    a = run_glm(Y32, X)
    b = run_glm(Y32.astype(np.float64), X)
    assert_array_equal(a.beta, b.beta)


def test_iterative_fit_refuses_choices_it_would_ignore():
    """GLSAR.iterative_fit has its own unbinned rho and drops scan 0: nothing else is fitted."""
    from refglm.exceptions import InputError

    rng = np.random.default_rng(0)
    X = np.c_[np.ones(30), np.arange(30.0)]
    Y = rng.standard_normal((30, 3))
    for engine in (run_glm, run_glm_vectorized):
        with pytest.raises(InputError, match="ar_fit='iterative': expected .*found whiten_scan0"):
            engine(Y, X, ar_fit="iterative", whiten_scan0="keep")
        with pytest.raises(InputError, match="found ar_estimator='lag1_ratio'"):
            engine(Y, X, ar_fit="iterative", ar_estimator="lag1_ratio")


def test_iterative_fit_defaults_to_the_choices_it_implies():
    rng = np.random.default_rng(1)
    X = np.c_[np.ones(30), np.arange(30.0)]
    Y = rng.standard_normal((30, 3))
    implied = run_glm(
        Y,
        X,
        ar_fit="iterative",
        ar_estimator="yule_walker_voxel",
        ar_binning="none",
        whiten_scan0="drop",
    )
    assert_array_equal(run_glm(Y, X, ar_fit="iterative").beta, implied.beta)


@pytest.mark.parametrize(
    "choice",
    [{}, {"noise_model": "ols"}, {"ar_binning": "none"}, {"ar_fit": "iterative"}, {"n_jobs": 2}],
    ids=["fixed", "ols", "unbinned", "iterative", "two-jobs"],
)
def test_rank_deficient_design_warns_once_not_once_per_voxel(choice):
    """statsmodels warns at every voxel's fit; refglm reports it once per run_glm."""
    import warnings

    rng = np.random.default_rng(0)
    X = np.c_[np.ones(30), np.arange(30.0), np.zeros(30)]
    Y = rng.standard_normal((30, 50))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_glm(Y, X, chunk_size=7, **choice)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages
    assert "rank 2 < 3 columns" in messages[0]


# ------------------------------------------------------- SPM12's estimation, per voxel
def test_spm_fit_is_statsmodels_ols_on_the_whitened_filtered_data(rng):
    # SPM12 spm_spm.m: KWY = spm_filter(K, W*Y); beta = pinv(KWX) KWY; ResMS = ResSS/trRV
    import statsmodels.api as sm

    from refglm.glm.engines import spm_design_space
    from refglm.glm.filtering import spm_drift_basis, spm_filter
    from refglm.glm.noise import spm_ar_components, spm_whitening

    n = 40
    X = np.column_stack([rng.standard_normal(n), np.ones(n)])
    Q = spm_ar_components(n)
    V = 0.9 * Q[0] + 0.3 * Q[1]
    V = V * n / np.trace(V)
    W = spm_whitening(V)
    X0 = spm_drift_basis(n, 2.0, 40.0)
    Y = rng.standard_normal((n, 3))
    fit = run_glm(Y, X, ar_fit="spm_reml", whitening=W, covariance=V, drift_basis=X0,
                  df="spm_effective", cov_pinv="spm")  # fmt: skip
    space = spm_design_space(X, X0, W, V)
    for j in range(3):
        res = sm.OLS(spm_filter(X0, W @ Y[:, [j]])[:, 0], spm_filter(X0, W @ X)).fit()
        np.testing.assert_allclose(fit.beta[:, j], res.params, rtol=1e-12)
        np.testing.assert_allclose(fit.sigma2[j], res.ssr / space.trRV, rtol=1e-12)
    assert fit.df_resid[0] == space.erdf
