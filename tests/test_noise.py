"""AR(1) estimation, binning and whitening (refglm.noise)."""

import numpy as np
import pytest
from hypothesis import given
from numpy.testing import assert_allclose, assert_array_equal
from statsmodels.regression.linear_model import yule_walker

from refglm.exceptions import InputError
from refglm.noise import ar1_whiten, bin_rho, estimate_rho, lag1_ratio, yule_walker_ar1
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
