"""refglm.glm.noise, SPM12's global ReML of AR(0.2): components, ReML, V and W against SPM.

The golden numbers are SPM12 r7771's (``tests/peers/spm12/golden/*.npz``: ``xVi.Vi``,
``xVi.Cy``, ``xVi.h``, ``xVi.V``, ``xX.W``); no data needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from refglm.exceptions import InputError
from refglm.glm.noise import (
    spm_ar_components,
    spm_nonsphericity,
    spm_pooled_covariance,
    spm_reml,
    spm_whitening,
)
from refglm.inference.rft import spm_invFcdf
from refglm.validation.spm12 import load_spm_golden

GOLDEN = Path(__file__).resolve().parents[1] / "peers" / "spm12" / "golden"
AR_NAMES = [
    p.stem for p in sorted(GOLDEN.glob("*.npz")) if load_spm_golden(p)["model"]["cvi"] == "AR(1)"
]
# xVi.Vi: the same products, 1e-16 measured
COMPONENTS_ATOL = 1e-12
# xVi.h from SPM's own pooled Cy: spm_reml's iterations reproduced, 1e-12 measured
# (the tolerance on h: 1e-6 relative)
H_RTOL = 1e-6
# xVi.V and xX.W: 1e-13 measured
V_ATOL = W_ATOL = 1e-10


@pytest.mark.parametrize("name", AR_NAMES)
def test_ar_components_equal_spm_xVi_Vi(name):
    golden = load_spm_golden(GOLDEN / f"{name}.npz")
    components = spm_ar_components(golden["model"]["nscan"])
    assert_allclose(np.stack(components), golden["xVi_Vi"], rtol=0, atol=COMPONENTS_ATOL)


@pytest.mark.parametrize("name", AR_NAMES)
def test_reml_of_spms_pooled_covariance_gives_spm_xVi_h_and_V(name):
    golden = load_spm_golden(GOLDEN / f"{name}.npz")
    n = golden["model"]["nscan"]
    found = spm_nonsphericity(golden["xVi_Cy"], golden["X"], golden["K_X0"], spm_ar_components(n))
    assert_allclose(found["h"], golden["xVi_h"], rtol=H_RTOL)
    assert_allclose(found["V"], golden["xVi_V"], rtol=0, atol=V_ATOL)


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.npz")))
def test_whitening_of_spms_V_equals_spm_xX_W(name):
    golden = load_spm_golden(GOLDEN / f"{name}.npz")
    assert_allclose(spm_whitening(golden["xVi_V"]), golden["W"], rtol=0, atol=W_ATOL)


def test_spms_none_is_not_quite_the_identity():
    # spm_inv adds its tolerance: W = (1 + tol)^(-1/2) I, 1 - 1.07e-14 for n = 96
    W = spm_whitening(np.eye(96))
    tol = max(np.spacing(1.0) * 96, np.exp(-32))
    assert_array_equal(np.diag(W), np.full(96, (1 / (1 + tol)) ** 0.5))
    assert W[0, 0] < 1


def test_reml_stops_by_spms_rule_not_at_convergence():
    golden = load_spm_golden(GOLDEN / "block_base.npz")
    log = []
    Q = spm_ar_components(96)
    design = np.column_stack([golden["X"], golden["K_X0"]])
    spm_reml(golden["xVi_Cy"], design, Q, log=log)
    assert len(log) == 2  # dF < 0.1 after two Fisher steps
    assert log[-1][1] < 0.1


def _f_threshold(df1, df2):
    return spm_invFcdf(1 - 0.001, df1, df2)


@given(st.integers(0, 2**32 - 1))
def test_pooled_covariance_does_not_depend_on_each_voxels_scale(seed):
    # each selected voxel is scaled to unit OLS residual variance before pooling
    rng = np.random.default_rng(seed)
    n = 40
    X = np.column_stack([np.repeat([0.0, 1.0], n // 2), np.ones(n)])
    Y = 5 * X[:, [0]] + rng.standard_normal((n, 30))
    scales = rng.uniform(0.1, 10, 30)
    a = spm_pooled_covariance(Y, X, np.zeros((n, 0)), [1], _f_threshold)
    b = spm_pooled_covariance(Y * scales, X, np.zeros((n, 0)), [1], _f_threshold)
    assert_array_equal(a["selected"], b["selected"])
    assert_allclose(a["Cy"], b["Cy"], rtol=1e-10, atol=1e-12)


def test_no_significant_voxel_is_input_error():
    rng = np.random.default_rng(4)
    n = 40
    X = np.column_stack([np.repeat([0.0, 1.0], n // 2), np.ones(n)])
    with pytest.raises(InputError, match="no significant voxels|found none"):
        spm_pooled_covariance(rng.standard_normal((n, 5)), X, np.zeros((n, 0)), [1], _f_threshold)
