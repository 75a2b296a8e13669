"""refglm.first_level.trace_spm_voxel: one voxel through SPM12's steps equals the full fit there.

``refglm explain-voxel --convention spm12`` (``workflows.explain_voxel``) fits SPM's model
of the auditory run with the vectorized engine (for the volume's scale factors, mask,
ReML and W), then refits the voxel alone with statsmodels, step by step. The traced
numbers must be the fit's at that voxel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from refglm.exceptions import InputError
from refglm.first_level import trace_spm_voxel, trace_voxel
from tests.conftest import spm_auditory_dir

PEAK_MM = (-60, -6, 42)
# statsmodels' OLS on K W s for one voxel against the vectorized engine's batched
# product: the engines' equality bound
BETA_RTOL = RESMS_RTOL = 1e-10
# erdf and Bcov come from the same function of the same matrices: equal to rounding
ERDF_ATOL = 1e-10
# T and F are float32 images: the two float64 values (1e-13 apart) round to the same
# float32, or to neighbours at a rounding boundary (one ulp, 6e-8 relative)
STAT_RTOL = 1.2e-7


@pytest.fixture(scope="module")
def traced(spm_auditory):
    from refglm.workflows.explain_voxel import explain_voxel

    trace, info = explain_voxel(mm=PEAK_MM, data_dir=spm_auditory_dir(), convention="spm12")
    return trace, info


def _index(model, ijk) -> int:
    flat = np.ravel_multi_index(ijk, model.mask_.shape)
    return int(np.flatnonzero(model.mask_.ravel()).searchsorted(flat))


@pytest.mark.slow
def test_the_peak_is_traced_in_spms_model(traced):
    trace, info = traced
    assert info["ijk"] == (51, 29, 36) and info["xyz"] == (-60.0, -6.0, 42.0)
    assert list(trace.design.columns) == ["active", "constant"]
    assert trace.convention == "spm12" and trace.contrast_name == "active"


@pytest.mark.slow
def test_traced_beta_equals_the_fit(traced):
    trace, info = traced
    model = info["model"]
    assert_allclose(trace.beta, model.fit_.beta[:, _index(model, info["ijk"])], rtol=BETA_RTOL)


@pytest.mark.slow
def test_traced_ResMS_and_erdf_equal_the_fit(traced):
    trace, info = traced
    model = info["model"]
    assert_allclose(trace.sigma2, model.fit_.sigma2[_index(model, info["ijk"])], rtol=RESMS_RTOL)
    assert abs(trace.df - model.erdf_) <= ERDF_ATOL


@pytest.mark.slow
def test_traced_T_and_F_equal_the_fit(traced):
    trace, info = traced
    model = info["model"]
    i = _index(model, info["ijk"])
    assert_allclose(trace.t, model.contrast_result("active").stat[i], rtol=STAT_RTOL)
    assert_allclose(trace.f, model.contrast_result(["active"], "F").stat[i], rtol=STAT_RTOL)


@pytest.mark.slow
def test_the_trace_shows_spms_steps(traced):
    trace, _ = traced
    names = [step.name for step in trace.steps]
    for name in (
        "scaled series s",
        "whitened, filtered s~",
        "whitened, filtered design X~",
        "beta[active]",
        "ResMS",
        "trRV",
        "erdf",
        "T",
    ):
        assert name in names, name


@pytest.mark.slow
def test_other_voxels_trace_to_the_fit(traced):
    _, info = traced
    model = info["model"]
    rng = np.random.default_rng(20261207)
    voxels = np.argwhere(model.mask_)[rng.choice(int(model.mask_.sum()), 5, replace=False)]
    from refglm import io
    from refglm.datasets import fetch_spm_auditory

    data = fetch_spm_auditory(spm_auditory_dir(), verify=False)
    run, _ = io.load_run(data.func, dtype=np.float64)
    T = model.contrast_result("active").stat
    for ijk in map(tuple, voxels):
        trace = trace_spm_voxel(
            run[ijk],
            model.design_matrices_[0],
            model.drift_basis_,
            model.scale_factors_,
            model.whitening_matrix_,
            model.noise_correlation_,
            "active",
        )
        i = _index(model, ijk)
        assert_allclose(trace.beta, model.fit_.beta[:, i], rtol=BETA_RTOL, atol=1e-12)
        assert_allclose(trace.t, T[i], rtol=STAT_RTOL)


def test_trace_voxel_sends_spms_estimation_to_trace_spm_voxel():
    design = pd.DataFrame({"active": np.ones(4), "constant": np.ones(4)})
    with pytest.raises(InputError, match="trace_spm_voxel"):
        trace_voxel(np.ones(4), design, "active", convention="spm12")


def test_trace_spm_voxel_refuses_a_per_voxel_convention():
    design = pd.DataFrame({"active": np.arange(4.0), "constant": np.ones(4)})
    eye = np.eye(4)
    with pytest.raises(InputError, match="ar_fit='spm_reml'"):
        trace_spm_voxel(
            np.ones(4), design, np.zeros((4, 0)), np.ones(4), eye, eye, convention="nistats"
        )
