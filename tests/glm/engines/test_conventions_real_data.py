"""The two engines on the real SPM auditory run under the other conventions.

``tests/glm/engines/test_vectorized.py`` compares the engines on the whole tutorial
under the default ``nistats`` convention. Here the ``nilearn`` convention
(Yule-Walker rho, binned) and the ``statsmodels`` convention (GLSAR's iterative
fit, scan 0 dropped, no binning) are compared on every 25th voxel of the EPI
mask (2483 voxels spread over the brain), which keeps the reference's per-voxel
loop short: beta, sigma2, t, z and F within the issue's 1e-10.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refglm import io
from refglm.conventions import get_convention
from refglm.first_level import FirstLevelModel
from refglm.glm.masking import compute_epi_mask, mean_epi
from refglm.io import run_dtype
from refglm.workflows.tutorial import TUTORIAL_CONTRASTS, TUTORIAL_PARAMETERS

# The bound, 1e-10, per quantity (as tests/glm/engines/test_vectorized.py).
BETA_RTOL, BETA_ATOL = 1e-10, 1e-10
SIGMA2_RTOL, SIGMA2_ATOL = 1e-10, 1e-10
T_RTOL, T_ATOL = 1e-10, 1e-10
F_RTOL, F_ATOL = 1e-10, 1e-10
Z_RTOL, Z_ATOL = 1e-10, 1e-10

EVERY_NTH_VOXEL = 25
CONVENTIONS = ("nilearn", "statsmodels")


@pytest.fixture(scope="module")
def run(spm_auditory):
    """The tutorial's 96 volumes (float32, as every convention stacks them) and events."""
    dtype = run_dtype(spm_auditory.func, get_convention("nistats").input_dtype)
    data, affine = io.load_run(spm_auditory.func, dtype=dtype)
    return data, affine, spm_auditory.events


@pytest.fixture(scope="module")
def subset_mask(run):
    """Every 25th voxel of the tutorial's EPI mask."""
    data, _, _ = run
    mask = compute_epi_mask(mean_epi(data))
    keep = np.zeros(mask.sum(), dtype=bool)
    keep[::EVERY_NTH_VOXEL] = True
    subset = np.zeros_like(mask)
    subset[mask] = keep
    return subset


@pytest.fixture(scope="module", params=CONVENTIONS)
def models(request, run, subset_mask):
    """(reference, vectorized) fitted under one convention on the voxel subset."""
    data, affine, events = run
    fitted = []
    for engine in ("statsmodels", "vectorized"):
        model = FirstLevelModel(**TUTORIAL_PARAMETERS, convention=request.param, engine=engine)
        fitted.append(model.fit_array(data, affine, events, mask=subset_mask))
    return fitted


@pytest.mark.slow
def test_fit_equals_reference(models, subset_mask):
    ref, vec = models
    assert ref.fit_.n_voxels == int(subset_mask.sum()) > 2000
    assert_allclose(vec.fit_.beta, ref.fit_.beta, rtol=BETA_RTOL, atol=BETA_ATOL, err_msg="beta")
    assert_allclose(
        vec.fit_.sigma2, ref.fit_.sigma2, rtol=SIGMA2_RTOL, atol=SIGMA2_ATOL, err_msg="sigma2"
    )
    assert_array_equal(vec.fit_.df_resid, ref.fit_.df_resid, err_msg="df_resid")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["activeMinusRest", "effectsOfInterest"])
def test_statistics_equal_reference(models, name):
    ref, vec = (m.contrast_result(TUTORIAL_CONTRASTS[name]) for m in models)
    assert ref.stat_type == vec.stat_type
    stat_rtol, stat_atol = (T_RTOL, T_ATOL) if ref.stat_type == "t" else (F_RTOL, F_ATOL)
    assert_allclose(vec.stat, ref.stat, rtol=stat_rtol, atol=stat_atol, err_msg=ref.stat_type)
    assert_allclose(vec.z_score, ref.z_score, rtol=Z_RTOL, atol=Z_ATOL, err_msg="z")
