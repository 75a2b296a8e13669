"""refglm.validation.spm12.spm_batch_model: an SPM12 batch model's options as refglm arguments.

No data needed: each test maps one kind of option (``validation/peers/spm12/models.json``
keys) and checks the arguments, events or contrasts it gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from refglm.exceptions import InputError
from refglm.validation.spm12 import spm_batch_model


def _options(**changes):
    options = {
        "name": "m",
        "units": "scans",
        "RT": 7,
        "fmri_t": 16,
        "fmri_t0": 8,
        "nscan": 96,
        "hpf": 128,
        "derivs": [0, 0],
        "cvi": "AR(1)",
        "global_normalisation": "None",
        "mthresh": 0.8,
        "conditions": [
            {"name": "active", "onset": [6, 18], "duration": [6], "tmod": 0, "pmod": [], "orth": 1}
        ],
        "contrasts": [
            {"name": "active", "type": "T", "weights": [1]},
            {"name": "F", "type": "F", "weights": [[1, 0]]},
        ],
        "alpha_fwe": 0.05,
        "alpha_unc": 0.001,
    }
    options.update(changes)
    return options


def test_onsets_and_durations_in_scans_become_seconds():
    batch = spm_batch_model(_options())
    expected = pd.DataFrame(
        {"trial_type": ["active"] * 2, "onset": [42.0, 126.0], "duration": [42.0, 42.0]}
    )
    pd.testing.assert_frame_equal(batch.events, expected)


def test_onsets_in_seconds_stay():
    cond = {"name": "a", "onset": [12.5, 40], "duration": [0, 3], "tmod": 0, "pmod": []}
    batch = spm_batch_model(_options(units="secs", conditions=[cond], contrasts=[]))
    assert_array_equal(batch.events["onset"], [12.5, 40.0])
    assert_array_equal(batch.events["duration"], [0.0, 3.0])


def test_conditions_keep_spm_order():
    conds = [
        {"name": "zeta", "onset": [30], "duration": [2]},
        {"name": "alpha", "onset": [6], "duration": [2]},
    ]
    batch = spm_batch_model(_options(conditions=conds, contrasts=[]))
    assert list(pd.unique(batch.events["trial_type"])) == ["zeta", "alpha"]


@pytest.mark.parametrize(
    "key, value, argument, expected",
    [
        ("RT", 2.5, "t_r", 2.5),
        ("fmri_t", 32, "oversampling", 32),
        ("fmri_t0", 1, "microtime_onset", 1),
        ("hpf", 64, "high_pass", 1 / 64),
        ("derivs", [0, 0], "hrf_model", "spm"),
        ("derivs", [1, 0], "hrf_model", "spm + derivative"),
        ("derivs", [1, 1], "hrf_model", "spm + derivative + dispersion"),
        ("cvi", "AR(1)", "noise_model", "ar1"),
        ("cvi", "none", "noise_model", "ols"),
        ("global_normalisation", "None", "global_normalization", None),
        ("global_normalisation", "Scaling", "global_normalization", "scaling"),
        ("mthresh", 0.5, "implicit_mask_threshold", 0.5),
    ],
)
def test_each_batch_option_maps_to_its_argument(key, value, argument, expected):
    arguments = spm_batch_model(_options(**{key: value})).model_arguments
    assert arguments[argument] == expected
    assert arguments["convention"] == "spm12"
    assert arguments["drift_model"] == "cosine"


def test_nscan_is_the_number_of_scans_modelled():
    assert spm_batch_model(_options(nscan=40)).n_scans == 40


def test_contrast_weights_are_padded_as_spm_parsecon_pads_them():
    batch = spm_batch_model(_options())
    assert_array_equal(batch.contrasts["active"][0], [[1.0, 0.0]])
    assert batch.contrasts["active"][1] == "t"
    assert batch.contrasts["F"][1] == "F"


def test_contrast_columns_count_derivatives_and_modulators():
    cond = {
        "name": "a",
        "onset": [1, 2],
        "duration": [0],
        "tmod": 1,
        "pmod": [{"name": "p", "param": [3, 4], "poly": 2}],
        "orth": 0,
    }
    options = _options(conditions=[cond], derivs=[1, 0])
    batch = spm_batch_model(options)
    # (1 + tmod 1 + poly 2) regressors x 2 basis functions + the constant
    assert batch.contrasts["active"][0].shape == (1, 9)


def test_parametric_modulators_become_events_columns_and_modulators():
    cond = {
        "name": "a",
        "onset": [1, 2],
        "duration": [0],
        "tmod": 1,
        "pmod": [{"name": "p", "param": [3, 4], "poly": 2}],
        "orth": 0,
    }
    batch = spm_batch_model(_options(conditions=[cond], contrasts=[]))
    assert_array_equal(batch.events["p"], [3.0, 4.0])
    assert batch.model_arguments["modulators"] == {
        "a": {"pmod": [("p", 2)], "tmod": 1, "orth": False}
    }


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"cvi": "FAST"}, "cvi: expected 'AR\\(1\\)' or 'none'"),
        ({"units": "ms"}, "units: expected 'scans' or 'secs'"),
        ({"derivs": [0, 1]}, "derivs: expected one of"),
        ({"global_normalisation": "Other"}, "global_normalisation: expected"),
    ],
)
def test_options_outside_the_batch_are_input_errors(changes, match):
    with pytest.raises(InputError, match=match):
        spm_batch_model(_options(**changes))


def test_the_arguments_are_accepted_by_first_level_model():
    from refglm.first_level import FirstLevelModel

    arguments = spm_batch_model(_options()).model_arguments
    conv = FirstLevelModel(**arguments).check_parameters()
    assert conv.name == "spm12"
    assert np.isclose(1 / arguments["high_pass"], 128)
