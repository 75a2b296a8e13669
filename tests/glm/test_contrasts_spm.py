"""refglm.glm.contrasts, SPM12's statistics: T and F from float32 images, trMV, eidf."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from refglm.glm.contrasts import (
    compute_contrast,
    spm_contrast_df,
    spm_contrast_space,
    spm_f_contrast,
    spm_t_contrast,
)
from refglm.glm.engines.vectorized import run_glm_vectorized
from refglm.glm.spm_linalg import SpmSpace
from tests.strategies import data_for, estimable_contrasts, full_rank_designs

# the same quadratic form by two routes (Hsqr and the inverse of C cov C'): float64 rounding
F_RTOL = 1e-10


def test_t_is_computed_from_float32_images_as_spm_does():
    # SPM12 spm_contrasts.m: con = sum_j c_j * float32(beta_j), stored float32; T from it
    beta = np.array([[1.1, 2.2], [3.3, -4.4]])
    c = np.array([1.0, -1.0])
    ResMS, Bcov = np.array([2.0, 3.0]), np.array([[1.0, 0.1], [0.1, 2.0]])
    b32 = beta.astype(np.float32).astype(np.float64)
    con = (0.0 + c[0] * b32[0] + c[1] * b32[1]).astype(np.float32).astype(np.float64)
    T = (con / np.sqrt(ResMS * ((c @ Bcov) @ c))).astype(np.float32)
    got_con, got_T = spm_t_contrast(c, beta, ResMS, Bcov, "float32_images")
    assert_array_equal(got_con, con)
    assert_array_equal(got_T, T)


def test_float64_contrasts_keep_every_bit():
    beta = np.array([[1.1], [3.3]])
    con, _ = spm_t_contrast([1.0, -1.0], beta, np.ones(1), np.eye(2), "float64")
    assert con[0] == 1.1 - 3.3


@given(data=st.data())
def test_spms_F_with_V_identity_is_the_classical_F(data):
    # with V = I, trMV = rank(X1o) = q and ESS = (Cb)'(C (X'X)^+ C')^-1 (Cb): nistats' F
    X = data.draw(full_rank_designs(max_regressors=4))
    Y = data.draw(data_for(X))
    C = data.draw(estimable_contrasts(X.shape[1], rows=2))
    fit = run_glm_vectorized(Y, X, "ols")
    _, X1o, Hsqr = spm_contrast_space(SpmSpace(X), C.T)
    trMV, _, eidf = spm_contrast_df(X1o, np.eye(X.shape[0]))
    assert trMV == pytest.approx(2.0) and eidf == pytest.approx(2.0)
    _, F = spm_f_contrast(Hsqr, trMV, fit.beta, fit.sigma2, "float64")
    assert_allclose(F, compute_contrast(fit, C, "F").stat, rtol=F_RTOL)


def test_a_rank_deficient_F_has_the_rank_of_its_rows():
    X = np.column_stack([np.random.default_rng(2).standard_normal((30, 2)), np.ones(30)])
    C = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0]])
    _, X1o, Hsqr = spm_contrast_space(SpmSpace(X), C.T)
    assert Hsqr.shape[0] == 2
    assert spm_contrast_df(X1o, np.eye(30))[0] == pytest.approx(2.0)


def test_float32_images_under_a_per_voxel_fit():
    rng = np.random.default_rng(6)
    X = np.column_stack([rng.standard_normal(40), np.ones(40)])
    fit = run_glm_vectorized(rng.standard_normal((40, 3)), X, "ols")
    result = compute_contrast(fit, np.array([[1.0, 0.0]]), contrast_dtype="float32_images")
    assert_array_equal(result.stat, result.stat.astype(np.float32))
    assert_array_equal(result.effect, result.effect.astype(np.float32))
