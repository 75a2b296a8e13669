"""``model_parameters``: statmap.json's model block, SPM12's options included under spm12.

A fit under ``spm12`` records the four options it used, defaults resolved; a nistats
fit records the keys it always did, ``oversampling`` only when given (so that the
tutorial's statmap.json is unchanged).
"""

from __future__ import annotations

from refglm.conventions import get_convention
from refglm.first_level import FirstLevelModel, model_parameters
from refglm.first_level.summary import spm_option_keys

#: The keys every statmap.json has held (refglm fit and tutorial, any convention).
BASE_KEYS = {
    "t_r",
    "noise_model",
    "standardize",
    "hrf_model",
    "drift_model",
    "high_pass",
    "drift_order",
    "convention",
    "engine",
    "contrasts",
    "map_cluster_threshold",
}


def _parameters(**params):
    model = FirstLevelModel(t_r=7.0, hrf_model="spm", **params)
    model.convention_ = get_convention(model.convention)  # what fit sets; only it is read
    return model_parameters(model, {"active": "active"}, 10)


def test_spm12_records_its_options_with_the_defaults_resolved():
    found = _parameters(convention="spm12")
    assert set(found) == BASE_KEYS | set(spm_option_keys("spm12"))
    assert spm_option_keys("spm12") == (
        "oversampling",
        "microtime_onset",
        "global_normalization",
        "implicit_mask_threshold",
    )
    assert (found["oversampling"], found["microtime_onset"]) == (16, 8)
    assert (found["global_normalization"], found["implicit_mask_threshold"]) == (None, 0.8)


def test_spm12_records_the_options_given():
    given = dict(oversampling=8, microtime_onset=3, global_normalization="scaling")
    found = _parameters(convention="spm12", implicit_mask_threshold=0.5, **given)
    assert {key: found[key] for key in given} == given
    assert found["implicit_mask_threshold"] == 0.5


def test_nistats_keeps_its_keys_and_adds_oversampling_only_when_given():
    assert set(_parameters()) == BASE_KEYS
    assert spm_option_keys("nistats") == spm_option_keys("nilearn") == ()
    assert _parameters(oversampling=16)["oversampling"] == 16
