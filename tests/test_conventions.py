"""Named conventions (refglm.conventions) and the step that implements each choice."""

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from statsmodels.regression.linear_model import yule_walker

from refglm import clusters, hrf, masking, model, noise, thresholds
from refglm.contrasts import Z_METHODS, compute_contrast, z_from_p
from refglm.conventions import (
    CHOICE_FIELDS,
    CHOICE_VALUES,
    CONVENTIONS,
    Convention,
    get_convention,
)
from refglm.exceptions import InputError
from refglm.fit import run_glm

RHO_RTOL = 1e-12
Z_RTOL = 1e-12
# sm.GLSAR(y, X, rho=1).iterative_fit() against the statsmodels convention: the same
# statsmodels calls, so equal to rounding (the acceptance tolerance is 1e-10).
GLSAR_ATOL = 1e-10


# ----------------------------------------------------------------------------- the table


def test_every_convention_value_is_accepted_by_its_field():
    for conv in CONVENTIONS.values():
        for key, value in conv.choices().items():
            allowed = CHOICE_VALUES[key]
            assert (isinstance(value, int) and value > 0) if allowed is int else value in allowed


def test_choice_values_cover_every_field():
    assert set(CHOICE_VALUES) == set(CHOICE_FIELDS)


def test_three_named_conventions():
    assert list(CONVENTIONS) == ["nistats", "nilearn", "statsmodels"]


def test_bad_choice_value_is_input_error_naming_the_field():
    with pytest.raises(InputError, match="choice ar_binning: expected one of"):
        get_convention("nistats").flipped(ar_binning="floor")


def test_flip_of_unknown_field_is_input_error():
    with pytest.raises(InputError, match="convention choice 'ar_estimatr'"):
        get_convention("nistats").flipped(ar_estimatr="yule_walker")


def test_flipped_is_named_by_base_and_change():
    conv = get_convention("nistats").flipped(ar_estimator="yule_walker")
    assert conv.name == "nistats+ar_estimator=yule_walker"
    assert conv.ar_estimator == "yule_walker"


def test_flipped_changes_only_that_choice():
    base = get_convention("nistats")
    assert base.differences(base.flipped(z_method="two_tailed_ppf")) == {
        "z_method": ("isf_clipped", "two_tailed_ppf")
    }


def test_get_convention_passes_a_convention_through():
    conv = get_convention("nilearn").flipped(ar_bins=1000)
    assert get_convention(conv) is conv


def test_nilearn_row():
    conv = get_convention("nilearn")
    assert conv.choices() == {
        "input_dtype": "native",
        "mask_mean_dtype": "input",
        "scaling_dtype": "input",
        "standardize_rule": "never",
        "ar_estimator": "yule_walker",
        "ar_binning": "truncate",
        "ar_bins": 100,
        "ar_fit": "fixed",
        "whiten_scan0": "keep",
        "df": "nobs_minus_rank",
        "hrf_formula": "nilearn",
        "z_method": "two_tailed_ppf",
        "two_sided": True,
        "fdr_formula": "bh",
        "cluster_connectivity": 6,
        "threshold_keep_equal": True,
        "threshold_split_signs": True,
        "cluster_table_two_sided": False,
        "cluster_table_rules": "nilearn",
    }


def test_statsmodels_row_differs_from_nistats_in_the_ar_fit_only():
    diff = get_convention("nistats").differences(get_convention("statsmodels"))
    assert diff == {
        "ar_estimator": ("lag1_ratio", "yule_walker_voxel"),
        "ar_binning": ("truncate", "none"),
        "ar_fit": ("fixed", "iterative"),
        "whiten_scan0": ("keep", "drop"),
    }


# ---------------------------------------------------------------- each choice has one home


def test_every_ar_estimator_is_implemented():
    resid = np.random.default_rng(0).standard_normal((40, 3))
    for value in CHOICE_VALUES["ar_estimator"]:
        assert noise.estimate_rho(resid, value).shape == (3,)


def test_every_ar_binning_is_implemented():
    for value in CHOICE_VALUES["ar_binning"]:
        assert noise.bin_rho(np.array([0.237]), 100, value).shape == (1,)


def test_every_scan0_rule_is_implemented():
    for value in CHOICE_VALUES["whiten_scan0"]:
        assert noise.ar1_whiten(np.ones(5), 0.5, value).ndim == 1


def test_every_z_method_is_implemented():
    assert set(CHOICE_VALUES["z_method"]) == set(Z_METHODS)


def test_every_hrf_formula_is_a_design_convention():
    assert set(CHOICE_VALUES["hrf_formula"]) == set(hrf.CONVENTIONS)


def test_every_fdr_formula_is_implemented():
    assert set(CHOICE_VALUES["fdr_formula"]) == set(thresholds.FDR_FORMULAS)


def test_every_connectivity_is_implemented():
    assert set(CHOICE_VALUES["cluster_connectivity"]) == set(clusters.CONNECTIVITIES)


def test_every_input_dtype_is_implemented():
    assert set(CHOICE_VALUES["input_dtype"]) == set(model.INPUT_DTYPES)


def test_every_scaling_dtype_is_implemented():
    assert set(CHOICE_VALUES["scaling_dtype"]) == set(model.SCALING_DTYPES)


def test_every_standardize_rule_is_implemented():
    assert set(CHOICE_VALUES["standardize_rule"]) == set(model.STANDARDIZE_RULES)


def test_every_mask_mean_dtype_is_implemented():
    assert set(CHOICE_VALUES["mask_mean_dtype"]) == set(masking.MASK_MEAN_DTYPES)


# ------------------------------------------------------------------------------ AR(1)


def test_yule_walker_voxel_is_statsmodels_yule_walker_per_voxel(rng):
    resid = rng.standard_normal((50, 4)) + rng.standard_normal(4)  # each voxel its own mean
    expected = [
        yule_walker(resid[:, k], order=1, method="adjusted", result_object=False)[0][0]
        for k in range(4)
    ]
    assert_allclose(noise.yule_walker_voxel_ar1(resid), expected, rtol=RHO_RTOL)


def test_yule_walker_demeans_globally_as_nilearn(rng):
    resid = rng.standard_normal((30, 2)) + np.array([5.0, -5.0])
    e = resid - resid.mean()
    expected = 30 / 29 * (e[1:] * e[:-1]).sum(0) / (e**2).sum(0)
    assert_allclose(noise.yule_walker_ar1(resid), expected, rtol=RHO_RTOL)


# ---------------------------------------------------------------------------- z scores


def test_two_tailed_ppf_does_not_saturate_for_large_negative_t():
    t, df = np.array([-12.0]), np.array([80.0])
    z = z_from_p(stats.t.sf(t, df), "two_tailed_ppf", stat=t, df=df)
    assert_allclose(z, stats.norm.ppf(stats.t.cdf(t, df)), rtol=Z_RTOL)
    assert z[0] < -9


def test_isf_clipped_saturates_for_large_negative_t():
    t, df = np.array([-12.0]), np.array([80.0])
    assert_allclose(z_from_p(stats.t.sf(t, df)), stats.norm.isf(1 - 1e-16), rtol=Z_RTOL)


def test_two_tailed_ppf_keeps_isf_for_the_upper_tail():
    p = np.array([1e-10, 0.3, 0.5])
    assert_array_equal(z_from_p(p, "two_tailed_ppf", one_minus_p=1 - p), z_from_p(p, "isf_clipped"))


def test_f_z_uses_the_cdf_below_the_median_under_two_tailed_ppf(rng):
    # nilearn glm/_utils.py z_score applies to F contrasts too (one_minus_pvalue = F cdf)
    X = np.column_stack([rng.standard_normal((40, 2)), np.ones(40)])
    fit = run_glm(rng.standard_normal((40, 30)), X, noise_model="ols")
    C = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    res = compute_contrast(fit, C, z_method="two_tailed_ppf")
    low = res.p_value > 0.5
    cdf = stats.f.cdf(res.stat, 2, fit.df_resid)
    assert_allclose(res.z_score[low], stats.norm.ppf(cdf[low]), rtol=Z_RTOL)


def test_unknown_z_method_is_input_error():
    with pytest.raises(InputError, match="z_method: expected one of"):
        z_from_p(np.array([0.1]), "ppf")


# ------------------------------------------------------------------ dtypes, mean, scaling


def test_mean_epi_sums_scan_by_scan_as_fortran_ordered_numpy(rng):
    # nilearn's concat_imgs and nibabel give Fortran-ordered runs: numpy adds whole volumes
    data = (rng.standard_normal((4, 5, 6, 96)) * 1000 + 3000).astype(np.float32)
    assert_array_equal(masking.mean_epi(data), np.asfortranarray(data).mean(axis=-1))


def test_mean_epi_of_integers_is_float64():
    assert masking.mean_epi(np.ones((2, 2, 2, 3), dtype=np.int16)).dtype == np.float64


def test_mean_epi_float64_choice():
    data = np.ones((2, 2, 2, 3), dtype=np.float32)
    assert masking.mean_epi(data, "float64").dtype == np.float64


def test_mean_scaling_float64_choice():
    Y = np.full((4, 2), 3.0, dtype=np.float32)
    assert model.mean_scaling(Y, dtype="float64")[0].dtype == np.float64


def test_mean_scaling_keeps_float32_by_default():
    Y = np.full((4, 2), 3.0, dtype=np.float32)
    assert model.mean_scaling(Y)[0].dtype == np.float32


def test_native_dtype_of_a_list_of_volumes_is_float32(tmp_path):
    import nibabel as nib

    paths = []
    for k in range(3):
        path = tmp_path / f"v{k}.nii"
        nib.save(nib.Nifti1Image(np.ones((2, 2, 2)), np.eye(4)), path)
        paths.append(path)
    assert model.run_dtype(paths, "native") == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_native_dtype_of_a_4d_image_is_its_stored_dtype(dtype):
    import nibabel as nib

    img = nib.Nifti1Image(np.ones((2, 2, 2, 3), dtype=dtype), np.eye(4))
    assert model.run_dtype(img, "native") == dtype


@pytest.mark.parametrize(
    "stored, signals", [(np.int16, np.float32), (np.int64, np.float64), (np.float64, np.float64)]
)
def test_signal_dtype_is_nilearn_ensure_float(stored, signals):
    assert model.signal_dtype(stored) == signals


def test_unknown_input_dtype_is_input_error():
    with pytest.raises(InputError, match="input_dtype: expected one of"):
        model.run_dtype([], "float16")


# --------------------------------------------------------------- statsmodels convention


@pytest.fixture(scope="module")
def statsmodels_fit(spm_auditory):
    """The statsmodels convention on a small box of the tutorial's mask (~700 voxels)."""
    import nibabel as nib

    from refglm.model import FirstLevelModel

    first = FirstLevelModel(t_r=7, hrf_model="spm", engine="vectorized", noise_model="ols")
    first.fit(spm_auditory.func, spm_auditory.events)
    box = np.zeros(first.mask_.shape, dtype=np.int8)
    box[40:56, 26:32, 33:41] = first.mask_[40:56, 26:32, 33:41]
    fitted = FirstLevelModel(
        t_r=7,
        hrf_model="spm",
        mask_img=nib.Nifti1Image(box, first.affine_),
        convention="statsmodels",
        minimize_memory=False,
        n_jobs=2,
    ).fit(spm_auditory.func, spm_auditory.events)
    return fitted


def _sampled_voxels(fitted, n=25):
    return np.random.default_rng(7).choice(fitted.signals_.shape[1], n, replace=False)


@pytest.mark.slow
def test_statsmodels_convention_betas_are_glsar_iterative_fit(statsmodels_fit):
    m = statsmodels_fit
    for v in _sampled_voxels(m):
        res = sm.GLSAR(m.signals_[:, v].astype(np.float64), m.X_, rho=1).iterative_fit()
        assert_allclose(m.fit_.beta[:, v], res.params, rtol=0, atol=GLSAR_ATOL)


@pytest.mark.slow
def test_statsmodels_convention_t_is_glsar_t_test(statsmodels_fit):
    m = statsmodels_fit
    t = m.contrast_result("active - rest").stat
    c = (m.design_matrices_[0].columns == "active") * 1.0 - (
        m.design_matrices_[0].columns == "rest"
    )
    for v in _sampled_voxels(m):
        res = sm.GLSAR(m.signals_[:, v].astype(np.float64), m.X_, rho=1).iterative_fit()
        assert_allclose(t[v], res.t_test(c).tvalue.item(), rtol=0, atol=GLSAR_ATOL)


@pytest.mark.slow
def test_statsmodels_convention_df_is_n_minus_1_minus_p(statsmodels_fit):
    m = statsmodels_fit
    n, p = m.X_.shape
    assert_array_equal(np.unique(m.fit_.df_resid), [n - 1 - p])


# ------------------------------------------------------------------------------ Convention


def test_convention_is_frozen():
    with pytest.raises(AttributeError):
        get_convention("nistats").ar_bins = 10  # type: ignore[misc]


def test_convention_rejects_bool_as_int():
    fields = get_convention("nistats").as_dict()
    fields["ar_bins"] = True
    with pytest.raises(InputError, match="choice ar_bins"):
        Convention(**fields)
