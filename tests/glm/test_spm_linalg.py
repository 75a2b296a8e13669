"""refglm.glm.spm_linalg: SPM12's building blocks against their definitions."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from refglm.glm.spm_linalg import (
    SpmSpace,
    matlab_pinv,
    matlab_rank,
    matlab_round,
    seqsum,
    spm_inv,
    spm_orth,
    spm_sqrtm,
    spm_svd,
)

# SVD-based identities in float64 on well-conditioned matrices
RTOL = 1e-10
ATOL = 1e-10

matrices = st.builds(
    lambda seed, m, n: np.random.default_rng(seed).standard_normal((m, n)),
    st.integers(0, 2**32 - 1),
    st.integers(2, 12),
    st.integers(1, 6),
)


def test_matlab_round_sends_halves_away_from_zero():
    # SPM12 spm_get_ons.m rounds with MATLAB's round; numpy's sends 0.5, 2.5 to even
    assert_array_equal(matlab_round([0.5, 1.5, 2.5, -0.5, -2.5, 2.4]), [1, 2, 3, -1, -3, 2])
    assert_array_equal(np.round([0.5, 2.5]), [0, 2])


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200))
def test_seqsum_adds_left_to_right(values):
    assert seqsum(np.array(values)) == functools.reduce(lambda a, b: a + b, values)


def test_seqsum_differs_from_numpy_pairwise_where_order_matters():
    values = np.tile([1e16, 1.0, -1e16], 50)
    assert seqsum(values) == functools.reduce(lambda a, b: a + b, values.tolist())


def test_spm_inv_adds_spms_tolerance():
    # SPM12 spm_inv.m: TOL = max(eps(norm(A,'inf'))*max(m,n), exp(-32))
    A = np.eye(4)
    tol = max(np.spacing(1.0) * 4, np.exp(-32))
    assert_array_equal(spm_inv(A), np.linalg.inv(A + tol * np.eye(4)))


@given(matrices)
def test_spm_svd_reconstructs_the_matrix(X):
    u, s, v = spm_svd(X, 0)
    assert_allclose((u * s) @ v.T, X, rtol=RTOL, atol=ATOL)


@given(matrices)
def test_spm_sqrtm_squares_to_a_psd_matrix(X):
    A = X @ X.T + np.eye(X.shape[0])
    root = spm_sqrtm(A)
    assert_allclose(root @ root, A, rtol=RTOL, atol=ATOL * np.abs(A).max())


@given(matrices)
def test_spm_orth_keeps_the_span_with_orthogonal_columns(X):
    O = spm_orth(X)
    kept = np.any(O, axis=0)
    assert_allclose(O[:, 0], X[:, 0])
    Ok = O[:, kept]
    gram = Ok.T @ Ok
    assert_allclose(gram - np.diag(np.diag(gram)), 0, atol=ATOL * np.abs(gram).max())
    assert matlab_rank(np.column_stack([Ok, X])) == matlab_rank(X)


def test_spm_orth_drops_a_dependent_column():
    X = np.column_stack([np.arange(5.0), np.ones(5), 2 * np.arange(5.0)])
    O = spm_orth(X)
    assert_array_equal(O[:, 2], 0)


@given(matrices)
def test_spm_space_pinv_and_residuals(X):
    space = SpmSpace(X)
    assert_allclose(space.pinv(), matlab_pinv(X), rtol=RTOL, atol=ATOL)
    assert space.rk == matlab_rank(X)
    Y = np.random.default_rng(0).standard_normal((X.shape[0], 3))
    residual = Y - X @ (np.linalg.pinv(X) @ Y)
    assert_allclose(space.res(Y), residual, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("shape", [(10, 3), (3, 10)])
def test_spm_space_of_tall_and_wide_matrices(shape):
    X = np.random.default_rng(1).standard_normal(shape)
    space = SpmSpace(X)
    assert_allclose((space.u[:, : space.rk] * space.ds[: space.rk]) @ space.v[:, : space.rk].T, X)


@given(matrices, st.integers(0, 2**32 - 1))
def test_residuals_written_over_y_are_the_residuals(X, seed):
    space = SpmSpace(X)
    Y = np.random.default_rng(seed).standard_normal((X.shape[0], 5))
    expected = space.res(Y)
    Y_copy = Y.copy()
    out = space.res(Y_copy, overwrite=True)
    assert_array_equal(out, expected)
    if 0 < space.rk < X.shape[0] - space.rk:  # the branch that writes over Y
        assert out is Y_copy
