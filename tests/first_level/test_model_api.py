"""``refglm.FirstLevelModel``'s nilearn-shaped API, under refglm's own conventions.

Several runs and their fixed effects, the list rules of ``compute_contrast``,
confounds, censoring, smoothing, AR(p), ``output_type='all'``, residuals, the sklearn
parameter protocol, and what each convention refuses. nilearn's numbers for these
features are checked live by ``tests/peers/test_nilearn_api.py``; here, on synthetic
runs, the rules themselves.
"""

from __future__ import annotations

import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose, assert_array_equal

from refglm.conventions import get_convention
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel
from refglm.glm.masking import compute_epi_mask

SHAPE = (12, 12, 10)
N_SCANS = 40
T_R = 2.0
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
# two runs of the same data fitted separately and together: the same float64 numbers,
# summed in another order
RUNS_RTOL = 1e-12


def _events():
    return pd.DataFrame(
        {
            "onset": np.arange(0.0, N_SCANS * T_R, 20.0),
            "duration": 10.0,
            "trial_type": ["a", "b"] * (N_SCANS * int(T_R) // 40),
        }
    )


def _run(seed, dim=None):
    """A bright box in a dark volume (an EPI mask finds it), task-modulated noise."""
    rng = np.random.default_rng(seed)
    data = 5 + rng.standard_normal((*SHAPE, N_SCANS))
    data[2:10, 2:10, 2:8] += 100
    box = ((np.arange(N_SCANS) * T_R // 10) % 2)[None, None, None]
    data[2:10, 2:10, 2:8] += 3 * box * rng.random((8, 8, 6))[..., None]
    if dim is not None:
        data[dim] = 5 + rng.standard_normal(data[dim].shape)
    return nib.Nifti1Image(data.astype(np.float32), AFFINE)


def _model(**params):
    return FirstLevelModel(t_r=T_R, engine="vectorized", **params)


def _fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


# ------------------------------------------------------------------------- several runs


def test_a_list_of_4d_images_is_several_runs():
    model = _fit(_model(), [_run(0), _run(1)], [_events(), _events()])
    assert len(model.fits_) == len(model.design_matrices_) == 2


def test_a_list_of_3d_volumes_is_one_run(tmp_path):
    run = _run(0)
    paths = []
    for k in range(N_SCANS):
        paths.append(tmp_path / f"v{k:02d}.nii")
        nib.save(nib.Nifti1Image(np.asarray(run.dataobj)[..., k], AFFINE), paths[-1])
    by_volumes = _fit(_model(), paths, _events())
    assert len(by_volumes.fits_) == 1
    assert_array_equal(by_volumes.fit_.beta, _fit(_model(), run, _events()).fit_.beta)


def test_one_events_table_for_two_runs_is_refused():
    with pytest.raises(InputError, match="len\\(run_imgs\\) 2 does not match len\\(events\\) 1"):
        _fit(_model(), [_run(0), _run(1)], _events())


def test_two_copies_of_a_run_halve_the_variance_and_double_the_df():
    one = _fit(_model(), _run(0), _events())
    two = _fit(_model(), [_run(0), _run(0)], [_events(), _events()])
    a, b = one.contrast_result("a - b"), two.contrast_result("a - b")
    assert_allclose(b.effect, a.effect, rtol=RUNS_RTOL)
    assert_allclose(b.variance, a.variance / 2, rtol=RUNS_RTOL)
    assert_array_equal(b.df, 2 * a.df)


def test_one_contrast_per_run_is_the_mean_of_their_effects():
    model = _fit(_model(noise_model="ols"), [_run(0), _run(1)], [_events(), _events()])
    both = model.contrast_result  # same contrast: the fixed effect of the two runs
    with pytest.warns(RuntimeWarning, match="same contrast will be used for all 2 runs"):
        z_same = np.asarray(model.compute_contrast("a - b").dataobj)
    assert_allclose(z_same[model.mask_], both("a - b").z_score, rtol=RUNS_RTOL)
    per_run = model.compute_contrast(["a - b", "a"], output_type="effect_size")
    e0 = model._run_contrast(0, "a - b").effect[0]
    e1 = model._run_contrast(1, "a").effect[0]
    assert_allclose(np.asarray(per_run.dataobj)[model.mask_], (e0 + e1) / 2, rtol=RUNS_RTOL)


def test_a_null_contrast_leaves_its_run_out():
    model = _fit(_model(noise_model="ols"), [_run(0), _run(1)], [_events(), _events()])
    with pytest.warns(UserWarning, match="Contrast for run 1 is null"):
        z = model.compute_contrast(["a - b", np.zeros(model.design_matrices_[1].shape[1])])
    alone = model._run_contrast(0, "a - b").z_score
    assert_allclose(np.asarray(z.dataobj)[model.mask_], alone, rtol=RUNS_RTOL)


@pytest.mark.parametrize("convention, rule", [("nistats", "first_run"), ("nilearn", "more")])
def test_the_mask_of_several_runs_follows_the_convention(convention, rule):
    # the slab x 8-9 is background in run 0 only: in 2 of 3 runs' masks
    runs = [_run(0, dim=(slice(8, 10),)), _run(1), _run(2)]
    model = _fit(_model(convention=convention), runs, [_events()] * 3)
    first = compute_epi_mask(np.asarray(runs[0].dataobj).mean(axis=3))
    assert not first[8:10].any()
    if rule == "first_run":
        assert_array_equal(model.mask_, first)
    else:
        assert model.mask_[8:10].any()


def test_the_mask_of_one_run_is_its_epi_mask_under_every_rule():
    run = _run(0)
    masks = [
        _fit(_model(convention=get_convention("nistats").flipped(multi_run_mask=r)), run, _events())
        for r in ("first_run", "more_than_half")
    ]
    assert_array_equal(masks[0].mask_, masks[1].mask_)


# ---------------------------------------------------------------------- list rules


def test_a_list_of_expressions_on_one_run_is_a_deprecated_f_test():
    model = _fit(_model(noise_model="ols"), _run(0), _events())
    with pytest.warns(DeprecationWarning, match="deprecated: pass contrast_result"):
        z = model.compute_contrast(["a", "b"])
    assert_array_equal(
        np.asarray(z.dataobj)[model.mask_], model.contrast_result(["a", "b"]).z_score
    )


def test_two_contrasts_for_one_run_are_refused():
    model = _fit(_model(noise_model="ols"), _run(0), _events())
    with pytest.raises(InputError, match="2 contrasts given, while there are 1 runs"):
        model.compute_contrast([np.eye(4)[0], np.eye(4)[1]])


def test_output_type_all_gives_the_five_maps_in_nilearns_order():
    model = _fit(_model(noise_model="ols"), _run(0), _events())
    maps = model.compute_contrast("a - b", output_type="all")
    assert list(maps) == ["z_score", "stat", "p_value", "effect_size", "effect_variance"]
    t = model.contrast_result("a - b")
    assert_array_equal(np.asarray(maps["stat"].dataobj)[model.mask_], t.stat)


def test_an_f_effect_is_the_whitened_effect_in_q_volumes():
    model = _fit(_model(noise_model="ols"), _run(0), _events())
    effect = model.compute_contrast(np.eye(4)[:2], output_type="effect_size")
    F = model.contrast_result(np.eye(4)[:2])
    assert effect.shape == (*SHAPE, 2)
    # its squares sum to q F sigma^2, the F numerator
    quad = np.sum(np.asarray(effect.dataobj)[model.mask_] ** 2, axis=1)
    assert_allclose(quad, 2 * F.stat * model.fit_.sigma2, rtol=1e-10)


# ------------------------------------------------------------ confounds and censoring


def test_confounds_are_named_by_their_columns_or_confound_i(tmp_path):
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"motion": rng.standard_normal(N_SCANS)})
    by_frame = _fit(_model(), _run(0), _events(), table)  # nilearn's third position
    by_array = _fit(_model(), _run(0), _events(), confounds=table.to_numpy())
    table.to_csv(tmp_path / "confounds.tsv", sep="\t", index=False)
    by_path = _fit(_model(), _run(0), _events(), str(tmp_path / "confounds.tsv"))
    assert list(by_frame.design_matrices_[0].columns[:3]) == ["a", "b", "motion"]
    assert by_array.design_matrices_[0].columns[2] == "confound_0"
    assert_array_equal(by_path.design_matrices_[0], by_frame.design_matrices_[0])


def test_censoring_removes_scans_before_the_mean_scaling():
    keep = np.r_[0:10, 16:N_SCANS]
    model = _fit(_model(minimize_memory=False), _run(0), _events(), sample_masks=keep)
    assert model.design_matrices_[0].shape[0] == keep.size
    assert model.signals_.shape[0] == keep.size
    # percent signal change around the mean of the kept scans: mean 0 (float32 sums)
    assert np.abs(model.signals_.astype(np.float64).mean(axis=0)).max() < 1e-3


def test_sample_masks_must_be_one_per_run():
    with pytest.raises(InputError, match="Number of sample_mask \\(2\\)"):
        _fit(_model(), _run(0), _events(), sample_masks=[np.arange(30), np.arange(30)])


# ----------------------------------------------------------------- smoothing, AR(p)


def test_smoothing_changes_the_fit_and_not_the_mask():
    plain = _fit(_model(), _run(0), _events())
    smooth = _fit(_model(smoothing_fwhm=6.0), _run(0), _events())
    assert_array_equal(smooth.mask_, plain.mask_)
    assert not np.allclose(smooth.fit_.beta, plain.fit_.beta)


def test_ar2_is_refused_under_nistats_and_spm12():
    for convention in ("nistats", "spm12"):
        with pytest.raises(InputError, match="noise_model: expected one of \\('ar1', 'ols'\\)"):
            FirstLevelModel(t_r=T_R, noise_model="ar2", convention=convention).check_parameters()


def test_ar2_under_statsmodels_is_glsar_iterative_fit_of_order_2():
    model = _fit(
        FirstLevelModel(
            t_r=T_R, noise_model="ar2", convention="statsmodels", minimize_memory=False
        ),
        _run(0),
        _events(),
    )
    X = model.X_
    for v in (0, 7, 50):
        res = sm.GLSAR(model.signals_[:, v].astype(np.float64), X, rho=2).iterative_fit(maxiter=3)
        assert_allclose(model.fit_.beta[:, v], res.params, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------- residuals, parameters, SPM12


def test_residuals_and_predictions_add_up_to_the_data():
    model = _fit(_model(noise_model="ols", minimize_memory=False), _run(0), _events())
    residuals = np.asarray(model.residuals_[0].dataobj)[model.mask_].T
    predicted = np.asarray(model.predicted_[0].dataobj)[model.mask_].T
    assert_allclose(residuals + predicted, model.signals_, rtol=0, atol=1e-10)
    assert model.r_square_[0].shape == (*SHAPE, 1)


def test_residuals_of_dropped_scans_are_refused():
    model = _fit(
        FirstLevelModel(t_r=T_R, convention="statsmodels", minimize_memory=False),
        _run(0),
        _events(),
    )
    with pytest.raises(InputError, match="statsmodels' GLSAR drops the first scans"):
        model.residuals_  # noqa: B018


def test_parameters_follow_sklearns_protocol():
    from sklearn.base import clone

    model = FirstLevelModel(t_r=T_R, noise_model="ols", smoothing_fwhm=4.0)
    params = model.get_params()
    assert params["smoothing_fwhm"] == 4.0 and params["convention"] == "nistats"
    assert clone(model).get_params() == params
    assert model.set_params(t_r=3.0) is model and model.t_r == 3.0
    with pytest.raises(InputError, match="set_params: expected a parameter"):
        model.set_params(nope=1)


@pytest.mark.parametrize(
    "fit_kwargs, words",
    [
        (dict(run_imgs=[_run(0), _run(1)], events=[_events()] * 2), "2 runs"),
        (dict(confounds=np.ones((N_SCANS, 1))), "confounds"),
        (dict(sample_masks=np.arange(30)), "sample_masks"),
    ],
    ids=["several runs", "confounds", "censoring"],
)
def test_spm12_refuses_what_its_model_has_no_place_for(fit_kwargs, words):
    fit_kwargs = {"run_imgs": _run(0), "events": _events(), **fit_kwargs}
    model = FirstLevelModel(t_r=T_R, hrf_model="spm", convention="spm12")
    with pytest.raises(InputError, match=words):
        model.fit(**fit_kwargs)
