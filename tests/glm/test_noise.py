"""AR(1) estimation, binning and whitening (refglm.glm.noise)."""

import functools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from numpy.testing import assert_allclose, assert_array_equal
from scipy.signal import lfilter
from statsmodels.regression.linear_model import yule_walker

from refglm.exceptions import InputError
from refglm.glm.design.matrix import make_first_level_design_matrix
from refglm.glm.engines.statsmodels import run_glm
from refglm.glm.noise import ar1_whiten, bin_rho, estimate_rho, lag1_ratio, yule_walker_ar1
from tests.strategies import stationary_rhos

RHO_RTOL = 1e-12


def simulate_ar1(rng, rho, n, v=1):
    e = rng.standard_normal((n, v))
    x = np.empty_like(e)
    x[0] = e[0] / np.sqrt(1 - rho**2)
    for t in range(1, n):
        x[t] = rho * x[t - 1] + e[t]
    return x


def test_lag1_ratio_formula(rng):
    r = rng.standard_normal((50, 3))
    expected = np.array(
        [sum(r[t, k] * r[t - 1, k] for t in range(1, 50)) / sum(r[:, k] ** 2) for k in range(3)]
    )
    assert_allclose(lag1_ratio(r), expected, rtol=RHO_RTOL)


@given(rho=stationary_rhos())
def test_lag1_ratio_recovers_simulated_rho(rho):
    # 20000 scans: the estimator's sd is about sqrt((1 - rho^2) / n) <= 0.0071
    rng = np.random.default_rng(0)
    x = simulate_ar1(rng, rho, 20000)
    x -= x.mean()
    assert abs(lag1_ratio(x)[0] - rho) < 0.035


# ---------------------------------------------------------------------------
# rho through the model path: design + AR(1) noise -> refglm.glm.engines.statsmodels.run_glm
# ---------------------------------------------------------------------------

MODEL_SCANS, MODEL_VOXELS = 2400, 16
# The tutorial's block design (t_r 7 s, 6 scans on / 6 off, SPM HRF) made long, with a
# linear drift and a constant: 3 columns. Large effects, so that a rho taken from Y
# instead of the OLS residuals (about 0.74 here, whatever the noise) is far off.
MODEL_BETA = np.array([[20.0], [0.5], [100.0]])
# Statistical tolerance of the mean over voxels of the lag-1 ratio of OLS residuals:
# its standard error is sqrt((1 - rho^2) / (n V)) (Bartlett), <= 0.0051 here, and its
# bias is of order (1 + 3|rho|) p / n (Marriott & Pope 1954 for a mean, p = 1; each
# smooth regressor adds a term), <= 0.0047. Five standard errors plus that bias: a
# derandomized draw falls outside with probability below 1e-6 per example.
RHO_SE_MULTIPLE = 5.0


@functools.lru_cache(maxsize=1)
def _long_block_design() -> np.ndarray:
    t_r = 7.0
    frame_times = np.arange(MODEL_SCANS) * t_r
    onsets = np.arange(6 * t_r, MODEL_SCANS * t_r, 12 * t_r)
    events = pd.DataFrame({"onset": onsets, "duration": 6 * t_r, "trial_type": "active"})
    design = make_first_level_design_matrix(
        frame_times, events, hrf_model="spm", drift_model="polynomial", drift_order=1
    )
    assert design.columns.tolist() == ["active", "drift_1", "constant"]
    return design.to_numpy()


def _fit_design_plus_ar1_noise(rho: float):
    X = _long_block_design()
    rng = np.random.default_rng(20261124)
    e = rng.standard_normal((MODEL_SCANS, MODEL_VOXELS))
    e[0] /= np.sqrt(1 - rho**2)  # stationary start: x_0 ~ N(0, 1 / (1 - rho^2))
    noise = lfilter([1.0], [1.0, -rho], e, axis=0)  # x_t = rho x_{t-1} + e_t
    return run_glm(X @ MODEL_BETA + noise, X), X


@given(rho=stationary_rhos())
def test_model_path_recovers_rho_from_design_plus_ar1_noise(rho):
    fit, X = _fit_design_plus_ar1_noise(rho)
    n, p = X.shape
    standard_error = np.sqrt((1 - rho**2) / (n * MODEL_VOXELS))
    bias_bound = (1 + 3 * abs(rho)) * p / n
    tolerance = RHO_SE_MULTIPLE * standard_error + bias_bound
    assert abs(fit.rho_raw.mean() - rho) < tolerance


@given(rho=stationary_rhos())
def test_model_path_bins_rho_by_truncation_toward_zero(rho):
    # nistats run_glm: (ar1 * 100).astype(int) / 100, i.e. floor(100 rho) / 100 for
    # rho >= 0 and ceil(100 rho) / 100 below 0: the bin toward zero.
    fit, _ = _fit_design_plus_ar1_noise(rho)
    expected = (
        np.where(fit.rho_raw >= 0, np.floor(fit.rho_raw * 100), np.ceil(fit.rho_raw * 100)) / 100
    )
    assert_array_equal(fit.rho, expected)


def test_yule_walker_matches_statsmodels_mle_scaled(rng):
    # statsmodels yule_walker(method='adjusted') divides lag k by n - k, as nilearn does.
    x = rng.standard_normal(64)
    rho_sm, _ = yule_walker(x, order=1, method="adjusted", demean=True, result_object=False)
    assert_allclose(yule_walker_ar1(x[:, None])[0], rho_sm[0], rtol=RHO_RTOL)


def test_yule_walker_is_scaled_lag1_ratio_for_centred_residuals(rng):
    r = rng.standard_normal((40, 5))
    r -= r.mean()
    assert_allclose(yule_walker_ar1(r), 40 / 39 * lag1_ratio(r), rtol=RHO_RTOL)


def test_estimate_rho_rejects_unknown_estimator():
    with pytest.raises(InputError, match="ar_estimator"):
        estimate_rho(np.zeros((5, 1)), "burg")


def test_bin_rho_truncates_toward_zero():
    assert_array_equal(bin_rho([0.129, -0.129, 0.99999, -0.001]), [0.12, -0.12, 0.99, 0.0])


def test_bin_rho_round_and_none():
    assert_array_equal(bin_rho([0.129, -0.125], method="round"), [0.13, -0.12])
    assert_array_equal(bin_rho([0.129], method="none"), [0.129])


def test_whiten_keep_leaves_scan0_unscaled(rng):
    x = rng.standard_normal((10, 2))
    w = ar1_whiten(x, 0.4, "keep")
    assert_array_equal(w[0], x[0])
    assert_allclose(w[1:], x[1:] - 0.4 * x[:-1], rtol=0, atol=0)


def test_whiten_drop_matches_statsmodels_glsar(rng):
    import statsmodels.api as sm

    x = rng.standard_normal((10, 2))
    model = sm.GLSAR(x[:, 0], np.ones(10), rho=0.4)
    assert_array_equal(ar1_whiten(x, 0.4, "drop"), model.whiten(x))


def test_whiten_prais_winsten_scales_scan0(rng):
    x = rng.standard_normal(8)
    assert_allclose(ar1_whiten(x, 0.6, "prais_winsten")[0], 0.8 * x[0], rtol=1e-15)


@pytest.mark.parametrize(
    ("bins", "rho", "expected"),
    [(50, [0.237, 0.29, -0.237], [0.24, 0.28, -0.24]), (200, [0.237, 0.2351], [0.235, 0.235])],
)
def test_round_binning_goes_to_the_nearest_bin_for_any_bin_count(bins, rho, expected):
    """'round' is rint(b rho)/b: nearest multiple of 1/b, not np.round to log10(b) decimals."""
    BIN_ATOL = 1e-15  # one rounding of the division by b
    assert_allclose(bin_rho(np.array(rho), bins, "round"), expected, rtol=0, atol=BIN_ATOL)


def test_round_binning_equals_numpy_round_for_100_bins():
    rho = np.random.default_rng(0).uniform(-1, 1, 10_000)
    assert_array_equal(bin_rho(rho, 100, "round"), np.round(rho, 2))
