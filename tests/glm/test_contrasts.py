"""Contrasts: parsing, t and F statistics against statsmodels, z conversion."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from statsmodels.tools.sm_exceptions import ValueWarning

from refglm.exceptions import InputError, NotEstimableError
from refglm.glm.contrasts import (
    as_contrast_matrix,
    compute_contrast,
    expression_to_contrast_vector,
    is_estimable,
    z_from_p,
)
from refglm.glm.engines.statsmodels import KeepScan0GLSAR, run_glm
from refglm.glm.engines.vectorized import run_glm_vectorized
from tests.strategies import data_for, estimable_contrasts, full_rank_designs

COLUMNS = ["active", "rest", "drift_1", "constant"]
STAT_RTOL = 1e-9
P_RTOL = 1e-8
T_INVARIANCE_RTOL = 1e-6  # a*Y + b re-rounds Y; ratios of sums of squares keep ~1e-9


def test_expression_difference():
    assert_array_equal(expression_to_contrast_vector("active - rest", COLUMNS), [1, -1, 0, 0])


def test_expression_arithmetic():
    vec = expression_to_contrast_vector("2*active - 0.5*(rest + constant)/2", COLUMNS)
    assert_allclose(vec, [2, -0.25, 0, -0.25], rtol=0, atol=1e-15)


def test_expression_unknown_column_names_it():
    with pytest.raises(InputError, match="unknown column 'activ'.*active, rest"):
        expression_to_contrast_vector("activ - rest", COLUMNS)


def test_expression_malformed():
    with pytest.raises(InputError, match="syntax error"):
        expression_to_contrast_vector("active - - (", COLUMNS)


def test_expression_rejects_code():
    with pytest.raises(InputError, match="cannot use"):
        expression_to_contrast_vector("__import__('os')", COLUMNS)


def test_expression_rejects_product_of_columns():
    with pytest.raises(InputError, match="not linear"):
        expression_to_contrast_vector("active * rest", COLUMNS)


@given(st.text(max_size=40))
def test_expression_parser_raises_only_input_error(text):
    try:
        expression_to_contrast_vector(text, COLUMNS)
    except InputError:
        pass


def test_vector_of_wrong_length():
    with pytest.raises(InputError, match="expected 4 weights"):
        as_contrast_matrix([1, -1], COLUMNS)


def test_all_zero_contrast():
    with pytest.raises(InputError, match="all zeros"):
        as_contrast_matrix([0, 0, 0, 0], COLUMNS)


def test_estimability():
    X = np.column_stack([np.ones(10), np.ones(10), np.arange(10.0)])
    assert is_estimable(np.array([[1.0, 1.0, 0.0]]), X)
    assert not is_estimable(np.array([[1.0, -1.0, 0.0]]), X)


def _fit(X, Y):
    return run_glm(Y, X)


@given(st.data())
def test_t_matches_statsmodels_t_test(data):
    X = data.draw(full_rank_designs())
    Y = data.draw(data_for(X))
    C = data.draw(estimable_contrasts(X.shape[1]))
    fit = _fit(X, Y)
    res = compute_contrast(fit, C)
    for j in range(Y.shape[1]):
        sm_res = KeepScan0GLSAR(Y[:, j], X, rho=fit.rho[j]).fit().t_test(C)
        assert_allclose(res.effect[0, j], sm_res.effect[0], rtol=STAT_RTOL, atol=1e-10)
        assert_allclose(res.stat[j], sm_res.tvalue.ravel()[0], rtol=STAT_RTOL, atol=1e-10)
        assert_allclose(res.variance[0, 0, j], sm_res.sd.ravel()[0] ** 2, rtol=STAT_RTOL)
        # statsmodels reports two-sided p; ours is the upper tail (nistats)
        assert_allclose(
            res.p_value[j], stats.t.sf(sm_res.tvalue.ravel()[0], sm_res.df_denom), rtol=P_RTOL
        )


@given(st.data())
def test_f_matches_statsmodels_f_test(data):
    X = data.draw(full_rank_designs(max_regressors=5))
    Y = data.draw(data_for(X))
    q = data.draw(st.integers(1, X.shape[1] - 1))
    C = data.draw(estimable_contrasts(X.shape[1], rows=q))
    fit = _fit(X, Y)
    res = compute_contrast(fit, C, stat_type="F")
    for j in range(Y.shape[1]):
        sm_res = KeepScan0GLSAR(Y[:, j], X, rho=fit.rho[j]).fit().f_test(C)
        assert_allclose(res.stat[j], float(sm_res.fvalue), rtol=STAT_RTOL)
        assert_allclose(res.p_value[j], float(sm_res.pvalue), rtol=P_RTOL, atol=1e-300)


@given(st.data())
def test_t_squared_equals_f_for_one_row(data):
    X = data.draw(full_rank_designs())
    Y = data.draw(data_for(X))
    C = data.draw(estimable_contrasts(X.shape[1]))
    fit = _fit(X, Y)
    t = compute_contrast(fit, C, stat_type="t").stat
    F = compute_contrast(fit, C, stat_type="F").stat
    assert_allclose(t**2, F, rtol=STAT_RTOL)


@given(st.data(), st.floats(0.5, 50), st.floats(-100, 100))
def test_t_invariant_to_affine_change_of_y(data, a, b):
    X = data.draw(full_rank_designs())
    Y = data.draw(data_for(X))
    C = data.draw(estimable_contrasts(X.shape[1]))
    C[0, -1] = 0.0  # the constant's weight would pick up b
    if not np.any(C):
        C[0, 0] = 1.0
    t1 = compute_contrast(run_glm(Y, X, ar_binning="none"), C).stat
    t2 = compute_contrast(run_glm(a * Y + b, X, ar_binning="none"), C).stat
    assert_allclose(t1, t2, rtol=T_INVARIANCE_RTOL, atol=1e-9)


def test_z_isf_clipped_is_nistats_z_score():
    p = np.array([0.5, 1e-320, 1.0, 0.001])
    assert_allclose(
        z_from_p(p), stats.norm.isf([0.5, 1e-300, 1 - 1e-16, 0.001]), rtol=1e-15, atol=0
    )


def test_contrast_result_outputs_by_nilearn_name(rng):
    X = np.column_stack([rng.standard_normal((30, 2)), np.ones(30)])
    fit = run_glm(rng.standard_normal((30, 5)), X)
    res = compute_contrast(fit, np.array([[1.0, -1.0, 0.0]]))
    assert_array_equal(res.output("effect_size"), res.effect[0])
    assert_array_equal(res.output("effect_variance"), res.variance[0, 0])
    with pytest.raises(InputError, match="output_type"):
        res.output("beta")


# ---------------------------------------------------------------------------
# F contrasts with linearly dependent rows, and zero residual variance
# ---------------------------------------------------------------------------

# The rank-reduced F of dependent rows and the F of an independent subset are two
# roundings of the same quadratic form (pinv vs inv of a small matrix): ~1e-15 relative.
SAME_HYPOTHESIS_RTOL = 1e-10
ENGINES = {"statsmodels": run_glm, "vectorized": run_glm_vectorized}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("dependent", "independent"),
    [
        (["active", "active"], ["active"]),
        (["active - rest", "rest - active"], ["active - rest"]),
        (["active", "rest", "active + rest"], ["active", "rest"]),
    ],
)
def test_f_with_dependent_rows_equals_f_of_an_independent_subset(
    rng, engine, dependent, independent
):
    X = np.column_stack([rng.standard_normal((40, 3)), np.ones(40)])
    fit = ENGINES[engine](rng.standard_normal((40, 6)) + X[:, :1], X)
    C_dep = as_contrast_matrix(dependent, COLUMNS)
    C_ind = as_contrast_matrix(independent, COLUMNS)
    with pytest.warns(UserWarning, match=rf"rank {len(independent)} < {len(dependent)}.*drop"):
        dep = compute_contrast(fit, C_dep, stat_type="F")
    ind = compute_contrast(fit, C_ind, stat_type="F")
    assert_array_equal(dep.df_num, len(independent))
    assert_allclose(dep.stat, ind.stat, rtol=SAME_HYPOTHESIS_RTOL)
    assert_allclose(dep.p_value, ind.p_value, rtol=SAME_HYPOTHESIS_RTOL)
    assert_allclose(dep.z_score, ind.z_score, rtol=SAME_HYPOTHESIS_RTOL)


@given(st.data())
def test_f_with_dependent_rows_matches_statsmodels_f_test(data):
    X = data.draw(full_rank_designs(max_regressors=5))
    Y = data.draw(data_for(X))
    C = data.draw(estimable_contrasts(X.shape[1]))
    C = np.vstack([C, -2.0 * C])  # rank 1: statsmodels uses pinv and df_num = 1
    fit = _fit(X, Y)
    with pytest.warns(UserWarning, match="linearly dependent"):
        res = compute_contrast(fit, C, stat_type="F")
    for j in range(Y.shape[1]):
        with pytest.warns(ValueWarning, match="does not have full rank"):
            sm_res = KeepScan0GLSAR(Y[:, j], X, rho=fit.rho[j]).fit().f_test(C)
        assert float(sm_res.df_num) == res.df_num[j] == 1.0
        assert_allclose(res.stat[j], float(sm_res.fvalue), rtol=STAT_RTOL)
        assert_allclose(res.p_value[j], float(sm_res.pvalue), rtol=P_RTOL, atol=1e-300)


def test_f_of_a_zero_variance_voxel_is_zero_not_a_singular_matrix(rng):
    # Y = 0 gives beta = 0 and sigma2 = 0 exactly; nistats divides by
    # max(sigma2, 1e-50), so F = 0 there (an inverse of C V C' sigma2 would be singular).
    X = np.column_stack([rng.standard_normal((30, 2)), np.ones(30)])
    Y = rng.standard_normal((30, 3))
    Y[:, 1] = 0.0
    fit = run_glm(Y, X, noise_model="ols")
    assert fit.sigma2[1] == 0.0
    res = compute_contrast(fit, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert res.stat[1] == 0.0 and res.p_value[1] == 1.0
    assert np.all(np.isfinite(res.stat))


# statsmodels warns that the design with a zero column is rank-deficient: that is the setup.
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.SingularMatrixWarning")
def test_f_with_rows_outside_the_design_is_not_estimable(rng):
    # A zero column: C V C' = 0 exactly for a contrast of that column alone.
    X = np.column_stack([rng.standard_normal((30, 2)), np.zeros(30), np.ones(30)])
    fit = run_glm(rng.standard_normal((30, 2)), X, noise_model="ols")
    C = np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 2.0, 0.0]])
    with pytest.raises(NotEstimableError, match=r"rank 0.*is_estimable"):
        compute_contrast(fit, C, stat_type="F")
