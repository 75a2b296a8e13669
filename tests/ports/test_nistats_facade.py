"""``refglm.nistats``: nistats 0.0.1b1's names, signatures and defaults, convention 'nistats'.

nistats cannot be imported on this stack (numpy >= 1.24), so its 0.0.1b1 signatures are
written out here from its source (tag 0.0.1b1, commit b74b496); the numbers are the
nistats convention's, which the tutorial's golden values and the live nistats 0.0.1rc0
peer (tests/peers/test_nistats.py) check.
"""

from __future__ import annotations

import inspect
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

import refglm.nistats as facade
from refglm import FirstLevelModel as ReferenceModel

#: nistats 0.0.1b1's signatures: name -> [(parameter, default)] (inspect.Parameter.empty
#: for a required one).
EMPTY = inspect.Parameter.empty
B1_SIGNATURES = {
    "FirstLevelModel.__init__": [
        ("t_r", None), ("slice_time_ref", 0.0), ("hrf_model", "glover"),
        ("drift_model", "cosine"), ("high_pass", 0.01), ("drift_order", 1),
        ("fir_delays", [0]), ("min_onset", -24), ("mask_img", None), ("target_affine", None),
        ("target_shape", None), ("smoothing_fwhm", None), ("memory", None),
        ("memory_level", 1), ("standardize", False), ("signal_scaling", 0),
        ("noise_model", "ar1"), ("verbose", 0), ("n_jobs", 1), ("minimize_memory", True),
        ("subject_label", None),
    ],
    "FirstLevelModel.fit": [
        ("run_imgs", EMPTY), ("events", None), ("confounds", None), ("design_matrices", None),
    ],
    "FirstLevelModel.compute_contrast": [
        ("contrast_def", EMPTY), ("stat_type", None), ("output_type", "z_score"),
    ],
    "map_threshold": [
        ("stat_img", None), ("mask_img", None), ("alpha", 0.001), ("threshold", 3.0),
        ("height_control", "fpr"), ("cluster_threshold", 0),
    ],
    "get_clusters_table": [
        ("stat_img", EMPTY), ("stat_threshold", EMPTY), ("cluster_threshold", None),
        ("min_distance", 8.0),
    ],
    "plot_design_matrix": [
        ("design_matrix", EMPTY), ("rescale", True), ("ax", None), ("output_file", None),
    ],
    "plot_contrast_matrix": [
        ("contrast_def", EMPTY), ("design_matrix", EMPTY), ("colorbar", False), ("ax", None),
        ("output_file", None),
    ],
    "make_first_level_design_matrix": [
        ("frame_times", EMPTY), ("events", None), ("hrf_model", "glover"),
        ("drift_model", "cosine"), ("high_pass", 0.01), ("drift_order", 1),
        ("fir_delays", [0]), ("add_regs", None), ("add_reg_names", None), ("min_onset", -24),
        ("oversampling", 50),
    ],
    "fetch_spm_auditory": [
        ("data_dir", None), ("data_name", "spm_auditory"), ("subject_id", "sub001"),
        ("verbose", 1),
    ],
}  # fmt: skip
# nistats 0.0.1b1's memory default is Memory(None), a joblib object that caches nothing;
# None here (the same: no caching).


@pytest.mark.parametrize("name", list(B1_SIGNATURES))
def test_signature_is_nistats_b1s(name):
    obj = facade
    for part in name.split("."):
        obj = getattr(obj, part)
    params = [p for p in inspect.signature(obj).parameters.values() if p.name != "self"]
    assert [(p.name, p.default) for p in params] == B1_SIGNATURES[name]


def test_submodules_mirror_nistats():
    from refglm.nistats.datasets import fetch_spm_auditory
    from refglm.nistats.first_level_model import FirstLevelModel
    from refglm.nistats.reporting import get_clusters_table
    from refglm.nistats.thresholding import map_threshold

    assert FirstLevelModel is facade.FirstLevelModel
    assert (map_threshold, get_clusters_table) == (facade.map_threshold, facade.get_clusters_table)
    assert fetch_spm_auditory is facade.fetch_spm_auditory


def test_map_threshold_is_one_sided_without_an_image():
    _, fpr = facade.map_threshold(alpha=0.001, height_control="fpr")
    assert f"{fpr:.3f}" == "3.090"  # the tutorial's; two-sided would be 3.291
    assert facade.map_threshold(height_control=None) == (None, 3.0)


SHAPE, N_SCANS, T_R = (12, 12, 10), 40, 2.0


@pytest.fixture(scope="module")
def run():
    rng = np.random.default_rng(5)
    data = 5 + rng.standard_normal((*SHAPE, N_SCANS))
    data[2:10, 2:10, 2:8] += 100 + 3 * ((np.arange(N_SCANS) * T_R // 10) % 2)
    events = pd.DataFrame(
        {"onset": np.arange(0.0, 80.0, 20.0), "duration": 10.0, "trial_type": ["a", "b"] * 2}
    )
    return nib.Nifti1Image(data.astype(np.float32), np.diag([3.0, 3.0, 3.0, 1.0])), events


@pytest.fixture(scope="module")
def fitted(run):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return facade.FirstLevelModel(t_r=T_R).fit(*run)


def test_numbers_are_the_nistats_conventions(run, fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = ReferenceModel(t_r=T_R, engine="vectorized", convention="nistats").fit(*run)
    assert_array_equal(
        np.asarray(fitted.compute_contrast("a - b").dataobj),
        np.asarray(reference.compute_contrast("a - b").dataobj),
    )


def test_an_f_effect_size_is_its_first_whitened_row(fitted):
    # nistats 0.0.1b1 contrasts.py Contrast.effect_size: return self.effect[0, :]
    C = np.eye(fitted.design_matrices_[0].shape[1])[:2]
    effect = fitted.compute_contrast(C, output_type="effect_size")
    rows = fitted.contrast_result(C).f_effect
    assert effect.shape == SHAPE
    assert_array_equal(np.asarray(effect.dataobj)[fitted.mask_], rows[0])


def test_a_list_of_two_contrasts_on_one_run_is_refused_not_truncated(fitted):
    # nistats 0.0.1b1 repeats the list (zip) and silently computes its first contrast
    with pytest.raises(ValueError, match="2 contrasts given, while there are 1 runs"):
        fitted.compute_contrast(["a - b", "a + b"])


def test_confounds_are_fits_third_argument(run):
    confounds = pd.DataFrame({"motion": np.random.default_rng(1).standard_normal(N_SCANS)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = facade.FirstLevelModel(t_r=T_R).fit(*run, confounds)
    assert list(model.design_matrices_[0].columns[:3]) == ["a", "b", "motion"]


def test_parameters_are_stored_as_given(fitted):
    # nistats 0.0.1b1 rewrites signal_scaling=0 to True in __init__ (and clone then
    # scales over voxels); stored as given here
    from sklearn.base import clone

    assert fitted.get_params()["signal_scaling"] == 0
    assert clone(fitted).get_params() == fitted.get_params()
