"""Named conventions (refglm.conventions) and the step that implements each choice."""

import numpy as np
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal
from scipy import stats
from statsmodels.regression.linear_model import yule_walker

from refglm import inference as clusters
from refglm import inference as thresholds
from refglm.conventions import (
    AR_CHOICES,
    CHOICE_FIELDS,
    CHOICE_VALUES,
    CONVENTIONS,
    ITERATIVE_REQUIRES,
    Convention,
    get_convention,
)
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel
from refglm.glm import masking, noise
from refglm.glm.contrasts import compute_contrast, z_from_p
from refglm.glm.engines.statsmodels import run_glm
from refglm.glm.scaling import mean_scaling, signal_dtype
from refglm.io import run_dtype

RHO_RTOL = 1e-12
Z_RTOL = 1e-12
# sm.GLSAR(y, X, rho=1).iterative_fit() against the statsmodels convention: the same
# statsmodels calls, so equal to rounding (the acceptance tolerance is 1e-10).
GLSAR_ATOL = 1e-10


# ----------------------------------------------------------------------------- the table


@pytest.mark.parametrize("key", CHOICE_FIELDS)
def test_a_value_outside_the_table_is_refused(key):
    fields = get_convention("nistats").as_dict()
    fields[key] = 0 if CHOICE_VALUES[key] is int else "not-a-value"
    with pytest.raises(InputError, match=f"choice {key}: expected"):
        Convention(**fields)


def test_choice_values_cover_every_field():
    assert set(CHOICE_VALUES) == set(CHOICE_FIELDS)


def test_four_named_conventions():
    assert list(CONVENTIONS) == ["nistats", "nilearn", "statsmodels", "spm12"]


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


def _documented_table():
    """{choice: {convention: cell}} from the table of docs/conventions.md."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text()
    section = text.split("## The table", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:-1] for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip().strip("`") for cell in rows[0]]
    table = {}
    for row in rows[1:]:
        cells = dict(zip(header, (cell.strip() for cell in row), strict=True))
        table[cells["choice"].split("`")[1]] = cells
    return table


@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_docs_table_states_every_choice_of_every_convention(name):
    # docs/conventions.md's table is written by hand: it must say what the code does
    table = _documented_table()
    assert set(table) == set(CHOICE_FIELDS)
    for key, value in CONVENTIONS[name].choices().items():
        assert table[key][name].split(" ")[0] == str(value), key


def test_statsmodels_row_differs_from_nistats_in_the_ar_fit_its_pinv_and_scale_only():
    diff = get_convention("nistats").differences(get_convention("statsmodels"))
    assert diff == {
        "ar_estimator": ("lag1_ratio", "yule_walker_voxel"),
        "ar_binning": ("truncate", "none"),
        "ar_p_binning": ("refuse", "none"),
        "ar_fit": ("fixed", "iterative"),
        "whiten_scan0": ("keep", "drop"),
        "df_scale": ("columns", "rank"),
        "cov_pinv": ("scipy", "statsmodels"),
    }


# ---------------------------------------------------------------- each choice has one home


def test_each_ar_estimator_gives_its_own_rho(rng):
    # residuals with a global and per-voxel means: the three estimators differ
    resid = rng.standard_normal((40, 3)) + np.array([1.0, -1.0, 2.0])
    rhos = [noise.estimate_rho(resid, value) for value in CHOICE_VALUES["ar_estimator"]]
    for i in range(len(rhos)):
        for j in range(i):
            assert np.abs(rhos[i] - rhos[j]).min() > 1e-3


@pytest.mark.parametrize(
    "method, expected", [("truncate", [0.23, -0.23]), ("round", [0.24, -0.24]), ("none", None)]
)
def test_each_ar_binning(method, expected):
    rho = np.array([0.237, -0.237])
    assert_allclose(noise.bin_rho(rho, 100, method), rho if expected is None else expected)


# noise.bin_rho rounded with np.round(rho, int(log10(bins))), the 1/bins grid only for
# powers of ten; it is rint(bins * rho) / bins since e75f57f
def test_round_binning_uses_the_grid_of_any_bin_count():
    assert_allclose(noise.bin_rho(np.array([0.237, 0.251]), 50, "round"), [0.24, 0.26])


@pytest.mark.parametrize(
    "scan0, first_row", [("keep", 2.0), ("drop", 3.0 - 0.5 * 2.0), ("prais_winsten", 3**0.5)]
)
def test_each_scan0_rule(scan0, first_row):
    # x = (2, 3, 5), rho = .5: rows t >= 1 are x_t - rho x_(t-1) = (2, 3.5)
    whitened = noise.ar1_whiten(np.array([2.0, 3.0, 5.0]), 0.5, scan0)
    assert_allclose(whitened[0], first_row, rtol=RHO_RTOL)
    assert_allclose(whitened[-2:], [2.0, 3.5], rtol=RHO_RTOL)


def test_hrf_formulas_differ_for_glover_and_agree_for_spm():
    # docs/conventions.md: the Glover change moves the tutorial's design by 0.40; the
    # SPM HRF is the same in both
    import pandas as pd

    from refglm.glm.design.matrix import make_first_level_design_matrix

    frame_times = np.arange(96) * 7.0
    events = pd.DataFrame({"onset": np.arange(0, 672, 84.0), "duration": 42.0})

    def design(hrf_model, formula):
        return make_first_level_design_matrix(
            frame_times, events, hrf_model=hrf_model, convention=formula
        ).to_numpy()

    assert np.abs(design("glover", "nistats") - design("glover", "nilearn")).max() > 0.1
    assert_array_equal(design("spm", "nistats"), design("spm", "nilearn"))


def test_fdr_formulas_differ_between_half_and_whole_ranks():
    # n = 2, alpha = .05: p_(1) = .02 lies between alpha (1 - 1/2) / n = .0125 (nistats)
    # and alpha * 1 / n = .025 (bh): a discovery under bh only
    z = np.array([stats.norm.isf(0.02), 0.0])
    assert thresholds.fdr_threshold(z, 0.05, "nistats") == np.inf
    assert_allclose(thresholds.fdr_threshold(z, 0.05, "bh"), z[0], rtol=0, atol=1e-11)


@pytest.mark.parametrize("connectivity, n_clusters", [(6, 3), (18, 2), (26, 1)])
def test_each_connectivity(connectivity, n_clusters):
    # voxel 0, a voxel sharing an edge with it, and one sharing only a corner with that
    mask = np.zeros((4, 4, 4), dtype=bool)
    mask[0, 0, 0] = mask[1, 1, 0] = mask[2, 2, 1] = True
    assert clusters.cluster_labels(mask, connectivity)[1] == n_clusters


@pytest.mark.parametrize("choice, dtype", [("native", np.float64), ("float32", np.float32)])
def test_each_input_dtype_of_a_float64_image(choice, dtype):
    import nibabel as nib

    img = nib.Nifti1Image(np.ones((2, 2, 2, 3)), np.eye(4))
    assert run_dtype(img, choice) == dtype


@pytest.mark.parametrize("rule, standardized", [("without_scaling", True), ("never", False)])
def test_each_standardize_rule(rng, rule, standardized):
    import pandas as pd

    data = 100 + rng.standard_normal((3, 3, 3, 30)) * 5
    events = pd.DataFrame({"onset": [10.0, 40.0], "duration": 10.0, "trial_type": "a"})
    conv = get_convention("nistats").flipped(standardize_rule=rule)
    fitted = FirstLevelModel(
        t_r=2,
        signal_scaling=False,
        standardize=True,
        convention=conv,
        minimize_memory=False,
        engine="vectorized",
    ).fit_array(data, np.eye(4), events, mask=np.ones((3, 3, 3), dtype=bool))
    std = fitted.signals_.std(axis=0, ddof=conv.standardize_ddof)
    assert np.allclose(std, 1.0, rtol=1e-6) == standardized


@pytest.mark.parametrize("ddof", [0, 1])
def test_each_standardize_ddof(rng, ddof):
    import pandas as pd

    data = 100 + rng.standard_normal((3, 3, 3, 30)) * 5
    events = pd.DataFrame({"onset": [10.0, 40.0], "duration": 10.0, "trial_type": "a"})
    conv = get_convention("nistats").flipped(standardize_ddof=ddof)
    fitted = FirstLevelModel(
        t_r=2,
        signal_scaling=False,
        standardize=True,
        convention=conv,
        minimize_memory=False,
        engine="vectorized",
    ).fit_array(data, np.eye(4), events, mask=np.ones((3, 3, 3), dtype=bool))
    signals = fitted.signals_.astype(np.float64)
    assert_allclose(signals.std(axis=0, ddof=ddof), 1.0, rtol=1e-6)
    # the other ddof is off by sqrt(n / (n - 1)) = 1.7 % at 30 scans
    assert not np.allclose(signals.std(axis=0, ddof=1 - ddof), 1.0, rtol=1e-3)


def test_nistats_standardizes_with_ddof_0_and_nilearn_never():
    assert get_convention("nistats").standardize_ddof == 0
    assert "standardize_ddof" in get_convention("nilearn").inert_choices()


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
    assert mean_scaling(Y, dtype="float64")[0].dtype == np.float64


def test_mean_scaling_keeps_float32_by_default():
    Y = np.full((4, 2), 3.0, dtype=np.float32)
    assert mean_scaling(Y)[0].dtype == np.float32


def test_native_dtype_of_a_list_of_volumes_is_float32(tmp_path):
    import nibabel as nib

    paths = []
    for k in range(3):
        path = tmp_path / f"v{k}.nii"
        nib.save(nib.Nifti1Image(np.ones((2, 2, 2)), np.eye(4)), path)
        paths.append(path)
    assert run_dtype(paths, "native") == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int16])
def test_native_dtype_of_a_4d_image_is_its_stored_dtype(dtype):
    import nibabel as nib

    img = nib.Nifti1Image(np.ones((2, 2, 2, 3), dtype=dtype), np.eye(4))
    assert run_dtype(img, "native") == dtype


@pytest.mark.parametrize(
    "stored, signals", [(np.int16, np.float32), (np.int64, np.float64), (np.float64, np.float64)]
)
def test_signal_dtype_is_nilearn_ensure_float(stored, signals):
    assert signal_dtype(stored) == signals


def test_unknown_input_dtype_is_input_error():
    with pytest.raises(InputError, match="input_dtype: expected one of"):
        run_dtype([], "float16")


# --------------------------------------------------------------- statsmodels convention


@pytest.fixture(scope="module")
def statsmodels_fit(spm_auditory):
    """The statsmodels convention on a small box of the tutorial's mask (~700 voxels)."""
    import nibabel as nib

    from refglm.first_level.model import FirstLevelModel

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


def test_iterative_fit_alone_is_refused():
    with pytest.raises(InputError, match="ar_fit='iterative': expected ar_estimator"):
        get_convention("nistats").flipped(ar_fit="iterative")


@pytest.mark.parametrize("key", list(ITERATIVE_REQUIRES))
def test_iterative_fit_refuses_each_other_ar_choice(key):
    other = next(v for v in CHOICE_VALUES[key] if v != ITERATIVE_REQUIRES[key])
    with pytest.raises(InputError, match=f"found {key}="):
        get_convention("statsmodels").flipped(**{key: other})


def test_iterative_fit_with_its_requirements_is_the_statsmodels_row():
    conv = get_convention("nistats").flipped(
        ar_fit="iterative",
        cov_pinv="statsmodels",
        df_scale="rank",
        ar_p_binning="none",
        **ITERATIVE_REQUIRES,
    )
    assert conv.choices() == get_convention("statsmodels").choices()


def test_ar_bins_is_inert_without_binning():
    assert get_convention("statsmodels").inert_choices() == ("ar_bins", "ar_p_binning")
    assert get_convention("nistats").inert_choices() == ("ar_p_binning",)


def test_ar_p_binning_acts_on_ar_p_only_and_ar_binning_on_ar1_only():
    nilearn = get_convention("nilearn")
    assert "ar_p_binning" in nilearn.inert_choices("ar1")
    assert "ar_binning" not in nilearn.inert_choices("ar1")
    assert "ar_binning" in nilearn.inert_choices("ar2")
    assert {"ar_p_binning", "ar_bins"} & set(nilearn.inert_choices("ar2")) == set()
    # unclustered AR(p) models use no bin count
    assert "ar_bins" in nilearn.flipped(ar_p_binning="none").inert_choices("ar3")


def test_ar_choices_are_inert_under_ols():
    assert get_convention("nistats").inert_choices("ols") == AR_CHOICES


def test_name_with_changed_choices_is_parsed():
    conv = get_convention("nilearn+ar_binning=round+ar_bins=1000+two_sided=False")
    assert get_convention("nilearn").differences(conv) == {
        "ar_binning": ("truncate", "round"),
        "ar_bins": (100, 1000),
        "two_sided": (True, False),
    }


def test_every_flip_name_round_trips():
    from refglm.compare.explain import candidate_conventions

    for conv in candidate_conventions():
        parsed = get_convention(conv.name)
        assert (parsed.name, parsed.choices()) == (conv.name, conv.choices())


def test_flip_back_to_the_base_value_drops_it_from_the_name():
    conv = get_convention("nistats").flipped(ar_bins=1000).flipped(ar_bins=100)
    assert conv.name == "nistats"


@pytest.mark.parametrize(
    "name, match",
    [
        ("nilearn+ar_binning", "expected name\\+choice=value"),
        ("nilearn+binning=round", "expected name\\+choice=value"),
        ("nilearn+ar_binning=floor", "choice ar_binning: expected one of"),
        ("nilearn+ar_bins=ten", "choice ar_bins: expected a positive int"),
        ("fsl+ar_bins=10", "convention: expected one of nistats"),
    ],
)
def test_malformed_convention_name_is_input_error(name, match):
    with pytest.raises(InputError, match=match):
        get_convention(name)


def test_convention_is_frozen():
    with pytest.raises(AttributeError):
        get_convention("nistats").ar_bins = 10  # type: ignore[misc]


def test_convention_rejects_bool_as_int():
    fields = get_convention("nistats").as_dict()
    fields["ar_bins"] = True
    with pytest.raises(InputError, match="choice ar_bins"):
        Convention(**fields)


# ------------------------------------------------------------------------------ spm12


def test_spm12_choice_values_are_the_step_modules_own():
    from refglm.glm import contrasts, engines, masking, scaling
    from refglm.glm.design import formulas
    from refglm.inference import rft

    assert CHOICE_VALUES["mask_method"] is masking.MASK_METHODS
    assert CHOICE_VALUES["scaling_method"] is scaling.SCALING_METHODS
    assert CHOICE_VALUES["design_builder"] is formulas.DESIGN_BUILDERS
    assert CHOICE_VALUES["contrast_dtype"] is contrasts.CONTRAST_DTYPES
    assert CHOICE_VALUES["height_rule"] is rft.HEIGHT_RULES
    assert "spm_reml" in engines.AR_FITS and "spm_effective" in engines.DF_RULES


def test_the_lineage_rows_name_the_steps_they_always_took():
    for name in ("nistats", "nilearn", "statsmodels"):
        conv = get_convention(name)
        assert (conv.mask_method, conv.scaling_method, conv.design_builder) == (
            "compute_epi_mask",
            "mean_scaling",
            "make_first_level_design_matrix",
        )
        assert (conv.contrast_dtype, conv.height_rule) == ("float64", "scipy")


def test_spm12_differs_from_nistats_in_spms_steps():
    diff = get_convention("nistats").differences(get_convention("spm12"))
    acting = {k: v[1] for k, v in diff.items() if k not in CONVENTIONS["spm12"].inert_choices()}
    assert acting == {
        "input_dtype": "float64",
        "mask_method": "spm_implicit",
        "scaling_method": "spm_global",
        "ar_fit": "spm_reml",
        "df": "spm_effective",
        "cov_pinv": "spm",
        "design_builder": "spm_fMRI_design",
        "contrast_dtype": "float32_images",
        "height_rule": "spm",
        "fdr_formula": "bh",
        "cluster_connectivity": 18,
    }


def test_spm12_inert_choices():
    assert get_convention("spm12").inert_choices() == (
        "mask_mean_dtype",
        "scaling_dtype",
        "standardize_rule",
        "standardize_ddof",
        "ar_estimator",
        "ar_binning",
        "ar_bins",
        "ar_p_binning",
        "whiten_scan0",
        "df_scale",
        "hrf_formula",
    )
    assert "ar_fit" in get_convention("spm12").inert_choices("ols")


def test_effective_df_requires_spms_reml():
    with pytest.raises(InputError, match="df='spm_effective': expected ar_fit='spm_reml'"):
        get_convention("spm12").flipped(ar_fit="fixed")
    with pytest.raises(InputError, match="df='spm_effective'"):
        get_convention("nistats").flipped(df="spm_effective")


def test_spms_reml_with_classical_df_is_a_convention():
    conv = get_convention("nistats").flipped(ar_fit="spm_reml")
    assert conv.inert_choices() == (
        "ar_estimator",
        "ar_binning",
        "ar_bins",
        "ar_p_binning",
        "whiten_scan0",
        "df_scale",
    )


def test_explain_tries_spm12_only_with_parameters_it_can_fit():
    from refglm.compare.variants import candidate_conventions

    without = {c.name for c in candidate_conventions()}
    assert not [n for n in without if n.startswith("spm12")]  # Glover, the default HRF
    spm = {c.name for c in candidate_conventions("ar1", {"t_r": 7, "hrf_model": "spm"})}
    assert {"spm12", "spm12+contrast_dtype=float64", "spm12+df=nobs_minus_rank"} <= spm
    assert "spm12+mask_method=compute_epi_mask" in spm


def test_explain_does_not_graft_spms_steps_onto_the_nistats_lineage():
    from refglm.compare.variants import SPM_STEP_VALUES, single_flips

    for name in ("nistats", "nilearn", "statsmodels"):
        for conv in single_flips(get_convention(name)):
            changed = get_convention(name).differences(conv)
            assert not [(k, v[1]) for k, v in changed.items() if (k, v[1]) in SPM_STEP_VALUES]


def test_explain_tries_every_map_choice_of_the_facades_round():
    # df_scale (n - rank or, as nistats and nilearn, n - columns), standardize_ddof and
    # ar_p_binning change maps, so compare --explain flips them too
    from refglm.compare.variants import single_flips

    def flipped(name, noise_model="ar1"):
        base = get_convention(name)
        return {
            (k, v[1])
            for conv in single_flips(base, noise_model)
            for k, v in base.differences(conv).items()
        }

    assert ("df_scale", "rank") in flipped("nistats")
    assert ("df_scale", "rank") in flipped("nilearn")
    assert ("df_scale", "columns") in flipped("statsmodels")
    assert ("standardize_ddof", 1) in flipped("nistats")
    assert ("ar_p_binning", "none") in flipped("nilearn", "ar2")
    assert not any(key == "ar_p_binning" for key, _ in flipped("nilearn", "ar1"))  # inert


# ------------------------------------------------------------ df_scale, multi_run_mask

N_SCANS, RANK, COLUMNS = 30, 4, 5  # the design below: 5 columns of rank 4


def _rank_deficient_run(rng):
    X = rng.standard_normal((N_SCANS, 3))
    X = np.column_stack([X, X[:, 0] + X[:, 1], np.ones(N_SCANS)])
    Y = X @ rng.standard_normal((COLUMNS, 20)) + rng.standard_normal((N_SCANS, 20))
    return Y, X


@pytest.mark.parametrize(
    "df_scale, denominator", [("rank", N_SCANS - RANK), ("columns", N_SCANS - COLUMNS)]
)
@pytest.mark.parametrize("noise_model", ["ols", "ar1"])
def test_each_df_scale_divides_the_rss_by_its_count(rng, df_scale, denominator, noise_model):
    import warnings

    Y, X = _rank_deficient_run(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rank deficiency, reported once
        fit = run_glm(Y, X, noise_model, df_scale=df_scale)
    rss = np.empty(Y.shape[1])
    for j in range(Y.shape[1]):  # each voxel's own whitened OLS, in numpy
        wX = noise.ar1_whiten(X, fit.rho[j]) if noise_model == "ar1" else X
        wy = noise.ar1_whiten(Y[:, j], fit.rho[j]) if noise_model == "ar1" else Y[:, j]
        rss[j] = np.sum((wy - wX @ (np.linalg.pinv(wX) @ wy)) ** 2)
    assert_allclose(fit.sigma2, rss / denominator, rtol=1e-10)
    assert_array_equal(fit.df_resid, N_SCANS - RANK)  # the t and F df stay n - rank


def test_df_scales_agree_on_a_full_rank_design_to_the_bit(rng):
    Y, X = _rank_deficient_run(rng)
    X = np.delete(X, 3, axis=1)
    fits = [run_glm(Y, X, "ar1", df_scale=scale) for scale in ("rank", "columns")]
    assert_array_equal(fits[0].sigma2, fits[1].sigma2)


def _three_run_masks():
    masks = np.zeros((3, 5, 5, 5), dtype=bool)
    masks[:, 1:4, 1:4, 1:4] = True  # the core, in every run
    masks[0, 4, 2, 2] = masks[1, 4, 2, 2] = True  # in 2 of 3 runs: kept
    masks[2, 0, 2, 2] = True  # in 1 of 3 runs: dropped
    masks[1, 0, 0, 0] = masks[2, 0, 0, 0] = True  # in 2 of 3 runs, but off the core
    return masks


def test_multi_run_mask_first_run_is_nistats():
    masks = _three_run_masks()
    assert_array_equal(masking.multi_run_mask(masks, "first_run"), masks[0])


def test_multi_run_mask_more_than_half_is_nilearns_intersect_masks():
    masks = _three_run_masks()
    expected = np.zeros((5, 5, 5), dtype=bool)
    expected[1:4, 1:4, 1:4] = True
    expected[4, 2, 2] = True  # 2 of 3; (0, 0, 0) too, but it is not the largest component
    assert_array_equal(masking.multi_run_mask(masks, "more_than_half"), expected)


def test_multi_run_mask_of_each_convention():
    assert get_convention("nistats").multi_run_mask == "first_run"
    assert get_convention("nilearn").multi_run_mask == "more_than_half"
