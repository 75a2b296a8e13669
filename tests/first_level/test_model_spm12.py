"""FirstLevelModel under convention='spm12': its parameters and fitted attributes.

A small synthetic run (a block of brain with a strong block effect, zeros around it);
SPM12's numbers are checked on the real data in tests/peers/test_spm12.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refglm.conventions import get_convention
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel

T_R, N_SCANS = 2.0, 60
SPM = dict(t_r=T_R, hrf_model="spm", high_pass=1 / 64, convention="spm12", engine="vectorized")


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(20261207)
    shape = (6, 6, 6)
    events = pd.DataFrame({"onset": np.arange(8.0, 110, 24), "duration": 12.0, "trial_type": "a"})
    frame = np.arange(N_SCANS) * T_R
    box = np.zeros(N_SCANS)
    for onset in events["onset"]:
        box[(frame >= onset + 4) & (frame < onset + 16)] = 1.0
    data = np.zeros((*shape, N_SCANS))
    gain = rng.uniform(5, 20, (4, 4, 4, 1))
    data[1:5, 1:5, 1:5] = 1000 + gain * box + 3 * rng.standard_normal((4, 4, 4, N_SCANS))
    return data, np.eye(4), events


@pytest.fixture(scope="module")
def fitted(run):
    data, affine, events = run
    return FirstLevelModel(**SPM).fit_array(data, affine, events)


def test_design_is_the_conditions_then_the_constant(fitted):
    assert list(fitted.design_matrices_[0].columns) == ["a", "constant"]


def test_drift_basis_is_kept_apart(fitted):
    # fix(2 * 60 * 2 / 64 + 1) = 4 cosines, the constant dropped
    assert fitted.drift_basis_.shape == (N_SCANS, 3)


def test_the_mask_is_spms_implicit_mask(fitted):
    expected = np.zeros((6, 6, 6), dtype=bool)
    expected[1:5, 1:5, 1:5] = True
    assert_array_equal(fitted.mask_, expected)


def test_fitted_attributes_of_spms_model(fitted):
    assert fitted.reml_hyperparameters_.shape == (2,)
    assert fitted.noise_correlation_.shape == (N_SCANS, N_SCANS)
    assert_allclose(np.trace(fitted.noise_correlation_), N_SCANS)
    assert fitted.erdf_ < N_SCANS - 2 - 3
    assert fitted.smoothness_.shape == (3,) and fitted.resels_.shape == (4,)
    assert fitted.search_volume_ == 64


def test_effect_size_of_an_F_contrast_is_spms_ess_image(fitted):
    result = fitted.contrast_result(["a"], "F")
    image = fitted.compute_contrast(["a"], "F", output_type="effect_size")
    assert_array_equal(np.asarray(image.dataobj)[fitted.mask_], result.ess)


def test_height_thresholds_in_the_statistics_units(fitted):
    from scipy import stats

    u = fitted.height_threshold(0.001, "fpr", "t")
    assert abs(u - stats.t.isf(0.001, fitted.erdf_)) < 1e-7
    assert fitted.height_threshold(0.05, "fwe") <= fitted.height_threshold(0.05, "fwe_rft")
    with pytest.raises(InputError, match="contrast: expected the F contrast"):
        fitted.height_threshold(0.05, "fwe", "F")
    assert fitted.height_threshold(0.05, "fwe", "F", ["a"]) > 0


def test_ols_is_spms_none(run):
    data, affine, events = run
    model = FirstLevelModel(**SPM, noise_model="ols").fit_array(data, affine, events)
    assert model.reml_hyperparameters_.size == 0
    assert_allclose(model.whitening_matrix_, np.eye(N_SCANS), rtol=1e-13)


def test_global_scaling_changes_the_scale_factors_per_scan(run):
    data, affine, events = run
    model = FirstLevelModel(**SPM, global_normalization="scaling").fit_array(data, affine, events)
    assert np.unique(model.scale_factors_).size > 1


def test_spms_design_fitted_voxel_by_voxel_puts_the_drifts_in_the_engines_design(run):
    # nistats' per-voxel AR(1) on SPM's design: the drift basis enters as regressors
    data, affine, events = run
    conv = get_convention("nistats").flipped(design_builder="spm_fMRI_design")
    model = FirstLevelModel(t_r=T_R, hrf_model="spm", high_pass=1 / 64, convention=conv,
                            engine="vectorized")  # fmt: skip
    model.fit_array(data, affine, events, mask=data[..., 0] > 0)
    assert model.fit_.beta.shape[0] == 2 + 3
    assert np.isfinite(model.contrast_result("a").stat).all()


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hrf_model="glover"), "hrf_model: expected one of"),
        (dict(drift_model="polynomial"), "drift_model: expected 'cosine'"),
        (dict(slice_time_ref=0.5), "slice_time_ref: expected 0"),
        (dict(microtime_onset=17), "microtime_onset: expected a whole number between 1"),
        (dict(standardize=True), "standardize: expected False"),
        (dict(global_normalization="Scaling"), "global_normalization: expected one of"),
    ],
)
def test_what_spms_model_cannot_express_is_input_error(params, match):
    with pytest.raises(InputError, match=match):
        FirstLevelModel(**{**SPM, **params}).check_parameters()


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(microtime_onset=8), "microtime_onset: expected None"),
        (dict(global_normalization="scaling"), "global_normalization: expected None"),
        (dict(implicit_mask_threshold=0.5), "implicit_mask_threshold: expected None"),
        (dict(modulators={"a": {"tmod": 1}}), "modulators: expected None"),
    ],
)
def test_spms_parameters_are_refused_by_the_other_conventions(params, match):
    with pytest.raises(InputError, match=match):
        FirstLevelModel(t_r=2, **params).check_parameters()


def test_modulation_of_events_is_refused_by_spms_design(run):
    data, affine, events = run
    events = events.assign(modulation=2.0)
    with pytest.raises(InputError, match="modulation'\\]: expected 1"):
        FirstLevelModel(**SPM).fit_array(data, affine, events)


def test_no_high_pass_is_spms_infinite_cutoff(run):
    data, affine, events = run
    model = FirstLevelModel(**{**SPM, "high_pass": 0}, noise_model="ols")
    model.fit_array(data, affine, events)
    assert model.drift_basis_.shape == (N_SCANS, 0)


def test_an_implicit_mask_threshold_of_minus_infinity_keeps_every_non_constant_voxel(run):
    data, affine, events = run
    model = FirstLevelModel(**SPM, noise_model="ols", implicit_mask_threshold=-np.inf)
    model.fit_array(data, affine, events)
    # the zero voxels around the block are constant: spm_spm.m's any(diff(Y)) drops them
    assert model.mask_.sum() == 64
