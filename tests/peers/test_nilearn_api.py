"""``refglm.nilearn`` against nilearn 0.14.1, live: each feature of nilearn's first-level API.

Issue 12 ("Bring your own code"): confounds, censoring (``sample_masks``), smoothing,
several runs (fixed effects, nilearn's multi-run mask), AR(2) (sklearn's KMeans with
``random_state``), residuals, predictions and R², ``output_type='all'``, a
rank-deficient censored design (the ``df_scale`` choice), custom HRFs and
``fir_delays=None``, ``compute_fixed_effects`` and ``first_level_from_bids``. Each is
computed by nilearn and by ``refglm.nilearn`` (convention 'nilearn', the vectorized
engine) on the same input: effects and variances within 1e-10, z within 1e-6.

The fits use a box of the real SPM auditory run (64 x 10 x 10 voxels, both auditory
cortices, 96 scans), cut into a 4-D image that both sides read, so that each fit takes a
fraction of a second. Both compute their own EPI masks on it, which must be equal.

nilearn is a test-only extra (``pip install .[peers]``): with ``REFGLM_REQUIRE_PEERS=1``
or ``CI`` set, a missing nilearn fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytestmark = [pytest.mark.peers]

NILEARN_VERSION = "0.14.1"


def _peers_required() -> bool:
    flags = (os.environ.get("REFGLM_REQUIRE_PEERS", ""), os.environ.get("CI", ""))
    return any(flag.strip().lower() not in ("", "0", "false", "no") for flag in flags)


if _peers_required():
    try:
        import nilearn
    except ImportError as exc:  # a collection error: the run fails, it does not skip
        raise ImportError(
            f"nilearn {NILEARN_VERSION} is required here (REFGLM_REQUIRE_PEERS or CI is set) "
            "but cannot be imported; install the peers extra: pip install -e '.[peers]'."
        ) from exc
else:
    nilearn = pytest.importorskip("nilearn", minversion=NILEARN_VERSION)

EFFECT_ATOL = 1e-10  # the tolerance on effects (and their variances)
VARIANCE_ATOL = 1e-10
Z_ATOL = 1e-6  # the tolerance on z
# R² and the fitted series are computed from the same betas as the effects: the same
# tolerance as effects (scaled data of order 100: 1e-10 absolute is ~1e-12 relative)
SERIES_ATOL = 1e-10
DESIGN_ATOL = 1e-12  # as tests/peers/test_nilearn.py: designs are computed by one formula

BOX = (slice(0, 64), slice(24, 34), slice(31, 41))
TUTORIAL = dict(t_r=7, hrf_model="spm", drift_model="cosine", high_pass=0.01)


@pytest.fixture(scope="module")
def box_run(spm_auditory):
    """The tutorial's 96 volumes cut to BOX: a float32 4-D image, and the events."""
    from nilearn.image import concat_imgs

    run = concat_imgs(spm_auditory.func)
    data = np.asarray(run.dataobj)[BOX]
    affine = run.affine.copy()
    affine[:3, 3] = run.affine[:3, :3] @ [s.start for s in BOX] + run.affine[:3, 3]
    events = pd.read_csv(spm_auditory.events, sep="\t")
    return nib.Nifti1Image(np.asarray(data), affine), events


def _fit_both(run_imgs, events=None, fit_kwargs=None, **params):
    from nilearn.glm.first_level import FirstLevelModel as NilearnModel

    from refglm.nilearn import FirstLevelModel

    fit_kwargs = fit_kwargs or {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nl = NilearnModel(**{**TUTORIAL, **params}).fit(run_imgs, events, **fit_kwargs)
        rg = FirstLevelModel(**{**TUTORIAL, **params}).fit(run_imgs, events, **fit_kwargs)
    return nl, rg


def _all(model, contrast, stat_type=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = model.compute_contrast(contrast, stat_type=stat_type, output_type="all")
    return {k: np.asarray(v.dataobj) for k, v in out.items()}


def _assert_same_contrast(nl, rg, contrast, stat_type=None):
    """Masks equal; effect and variance within 1e-10, z within 1e-6; the maps' keys."""
    mask = np.asarray(nl.masker_.mask_img_.dataobj) > 0
    assert_array_equal(mask, np.asarray(rg.mask_img_.dataobj) > 0)
    a, b = _all(nl, contrast, stat_type), _all(rg, contrast, stat_type)
    assert list(a) == list(b) == ["z_score", "stat", "p_value", "effect_size", "effect_variance"]
    assert a["effect_size"].shape == b["effect_size"].shape
    assert_allclose(b["effect_size"][mask], a["effect_size"][mask], rtol=0, atol=EFFECT_ATOL)
    assert_allclose(
        b["effect_variance"][mask], a["effect_variance"][mask], rtol=0, atol=VARIANCE_ATOL
    )
    assert_allclose(b["z_score"][mask], a["z_score"][mask], rtol=0, atol=Z_ATOL)


def _assert_same_designs(nl, rg):
    assert len(nl.design_matrices_) == len(rg.design_matrices_)
    for d_nl, d_rg in zip(nl.design_matrices_, rg.design_matrices_, strict=True):
        assert list(d_nl.columns) == list(d_rg.columns)
        assert_allclose(d_rg.to_numpy(), d_nl.to_numpy(), rtol=0, atol=DESIGN_ATOL)


# ---------------------------------------------------------------------------- confounds


@pytest.fixture(scope="module")
def confounds(box_run):
    rng = np.random.default_rng(12)
    n = box_run[0].shape[3]
    return pd.DataFrame({"motion_x": rng.standard_normal(n), "trend2": np.linspace(-1, 1, n) ** 2})


@pytest.fixture(scope="module")
def confounds_pair(box_run, confounds):
    img, events = box_run
    return _fit_both(img, events, fit_kwargs=dict(confounds=confounds))


def test_confounds_positional_third_argument_are_nilearns_design(box_run, confounds):
    from refglm.nilearn import FirstLevelModel

    img, events = box_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rg = FirstLevelModel(**TUTORIAL).fit(img, events, confounds)  # nilearn's positions
    assert list(rg.design_matrices_[0].columns[:4]) == ["active", "rest", "motion_x", "trend2"]


def test_confounds_match_nilearn(confounds_pair):
    _assert_same_designs(*confounds_pair)
    _assert_same_contrast(*confounds_pair, np.eye(18)[0] - np.eye(18)[1])


def test_confounds_array_columns_are_named_confound_i(box_run, confounds):
    img, events = box_run
    nl, rg = _fit_both(img, events, fit_kwargs=dict(confounds=confounds.to_numpy()))
    _assert_same_designs(nl, rg)
    assert list(rg.design_matrices_[0].columns[2:4]) == ["confound_0", "confound_1"]


# ---------------------------------------------------------------- censoring, df_scale


@pytest.mark.parametrize(
    "keep",
    [np.r_[0:30, 36:96], np.arange(5, 96)],
    ids=["scans 30-35 censored (full rank)", "scans 0-4 censored (rank-deficient)"],
)
def test_censored_scans_match_nilearn(box_run, keep):
    img, events = box_run
    nl, rg = _fit_both(img, events, fit_kwargs=dict(sample_masks=keep))
    _assert_same_designs(nl, rg)
    assert rg.design_matrices_[0].shape[0] == keep.size
    _assert_same_contrast(nl, rg, "active - rest")


def test_rank_deficient_censoring_needs_nilearns_df_scale(box_run):
    # issue item 6: censoring scans 0-4 leaves 91 rows of rank 15 for 16 columns; nilearn
    # divides the RSS by 91 - 16 = 75 and uses 91 - 15 = 76 df. With df_scale='rank'
    # (statsmodels') the variance is 75/76 of nilearn's.
    from refglm.nilearn import FirstLevelModel

    img, events = box_run
    keep = np.arange(5, 96)
    nl, rg = _fit_both(img, events, fit_kwargs=dict(sample_masks=keep))
    assert np.linalg.matrix_rank(rg.design_matrices_[0].to_numpy()) == 15
    assert np.unique(rg.fit_.df_resid).tolist() == [76.0]
    statsmodels_scale = type("RankScale", (FirstLevelModel,), {})
    statsmodels_scale.convention = "nilearn+df_scale=rank"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = statsmodels_scale(**TUTORIAL).fit(img, events, sample_masks=keep)
    mask = np.asarray(rg.mask_img_.dataobj) > 0
    v_nl = _all(nl, "active - rest")["effect_variance"][mask]
    v_rank = _all(other, "active - rest")["effect_variance"][mask]
    assert_allclose(v_rank / v_nl, 75 / 76, rtol=1e-12)


def test_sample_masks_of_booleans_are_indices(box_run):
    from refglm.nilearn import FirstLevelModel

    img, events = box_run
    keep = np.ones(96, dtype=bool)
    keep[30:36] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_bool = FirstLevelModel(**TUTORIAL).fit(img, events, sample_masks=keep)
        by_index = FirstLevelModel(**TUTORIAL).fit(img, events, sample_masks=np.flatnonzero(keep))
    assert_array_equal(by_bool.fit_.beta, by_index.fit_.beta)


# ---------------------------------------------------------------------------- smoothing


def test_smoothing_matches_nilearn(box_run):
    img, events = box_run
    nl, rg = _fit_both(img, events, smoothing_fwhm=6.0)
    _assert_same_contrast(nl, rg, "active - rest")


# ------------------------------------------------------------------------- several runs


#: Slabs of the box dimmed to background in one run each (run 0, run 1): their voxels
#: are in 2 of the 3 runs' EPI masks, so nilearn keeps them and nistats' first-run rule
#: (or an intersection) would not.
DIMMED = {
    0: (slice(40, 46), slice(None), slice(None)),
    1: (slice(12, 18), slice(None), slice(None)),
}


@pytest.fixture(scope="module")
def three_runs(box_run):
    """The run cut into three runs of 32 scans, each with its events (onsets shifted)."""
    img, events = box_run
    data = np.asarray(img.dataobj)
    runs, tables = [], []
    for k in range(3):
        part = data[..., 32 * k : 32 * (k + 1)].copy()
        if k in DIMMED:
            part[DIMMED[k]] *= np.float32(0.05)
        runs.append(nib.Nifti1Image(part, img.affine))
        start = 32 * k * 7.0
        table = events[(events.onset >= start) & (events.onset < start + 32 * 7.0)].copy()
        table["onset"] -= start
        tables.append(table.reset_index(drop=True))
    return runs, tables


@pytest.fixture(scope="module")
def runs_pair(three_runs):
    runs, tables = three_runs
    return _fit_both(runs, tables)


def test_several_runs_mask_is_nilearns_more_than_half(runs_pair, three_runs):
    from refglm.glm.masking import compute_epi_mask

    nl, rg = runs_pair
    assert_array_equal(
        np.asarray(nl.masker_.mask_img_.dataobj) > 0, np.asarray(rg.mask_img_.dataobj) > 0
    )
    # the dimmed slabs are in the mask (2 of 3 runs), which the first run's mask lacks
    first = compute_epi_mask(np.asarray(three_runs[0][0].dataobj).mean(axis=3))
    assert rg.mask_[DIMMED[0]].any() and not first[DIMMED[0]].any()
    assert rg.mask_[DIMMED[1]].any()


@pytest.mark.parametrize("contrast", ["t", "F"])
def test_several_runs_fixed_effects_match_nilearn(runs_pair, contrast):
    nl, rg = runs_pair
    _assert_same_designs(nl, rg)
    n_columns = rg.design_matrices_[0].shape[1]  # 32 scans: 5 drifts, 7 columns
    definition = "active - rest" if contrast == "t" else np.eye(n_columns)[:2]
    _assert_same_contrast(nl, rg, definition)


def test_one_contrast_per_run_matches_nilearn(runs_pair):
    nl, rg = runs_pair
    _assert_same_contrast(nl, rg, ["active - rest", "active", "active - rest"])


def test_a_list_of_two_contrasts_on_one_run_raises_as_nilearn(box_run):
    from refglm.nilearn import FirstLevelModel

    img, events = box_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rg = FirstLevelModel(**TUTORIAL, noise_model="ols").fit(img, events)
    with pytest.raises(ValueError, match="2 contrasts given, while there are 1 runs"):
        rg.compute_contrast(["active - rest", "active + rest"])
    with pytest.raises(ValueError, match="does not match len"):
        rg.fit(img, design_matrices=[rg.design_matrices_[0]] * 2)


# ------------------------------------------------------------------------------ AR(2)


def test_ar2_matches_nilearn(box_run):
    img, events = box_run
    nl, rg = _fit_both(img, events, noise_model="ar2", random_state=0)
    assert sorted(nl.results_[0]) == sorted(rg.results_[0])  # the KMeans models' labels
    assert_array_equal(nl.labels_[0], rg.labels_[0])
    _assert_same_contrast(nl, rg, "active - rest")


# ---------------------------------------------------------- residuals, predicted, R²


@pytest.mark.parametrize("noise_model", ["ols", "ar1", "ar2"])
def test_residuals_predicted_r_square_match_nilearn(box_run, noise_model):
    img, events = box_run
    nl, rg = _fit_both(img, events, noise_model=noise_model, random_state=0, minimize_memory=False)
    mask = np.asarray(nl.masker_.mask_img_.dataobj) > 0
    for name in ("residuals_", "predicted_", "r_square_"):
        a, b = getattr(nl, name), getattr(rg, name)
        assert len(a) == len(b) == 1
        assert a[0].shape == b[0].shape, name
        assert_allclose(
            np.asarray(b[0].dataobj)[mask], np.asarray(a[0].dataobj)[mask], rtol=0,
            atol=SERIES_ATOL, err_msg=name,
        )  # fmt: skip


def test_residuals_need_minimize_memory_false(box_run):
    from refglm.nilearn import FirstLevelModel

    img, events = box_run
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rg = FirstLevelModel(**TUTORIAL, noise_model="ols").fit(img, events)
    with pytest.raises(AttributeError, match="minimize_memory"):
        rg.residuals_  # noqa: B018


# ------------------------------------------------------------------- output_type='all'


@pytest.fixture(scope="module")
def tutorial_pair(box_run):
    img, events = box_run
    return _fit_both(img, events)


def test_output_type_all_t_matches_nilearn(tutorial_pair):
    _assert_same_contrast(*tutorial_pair, "active - rest")


def test_output_type_all_f_matches_nilearn(tutorial_pair):
    # the F effect is nilearn's whitened effect, a 4-D image of two volumes
    _assert_same_contrast(*tutorial_pair, np.eye(16)[:2])
    assert _all(tutorial_pair[1], np.eye(16)[:2])["effect_size"].shape[-1] == 2


def test_f_of_one_row_matches_nilearn(tutorial_pair):
    _assert_same_contrast(*tutorial_pair, np.eye(16)[0] - np.eye(16)[1], "F")


# --------------------------------------------------------------- designs, HRFs, sklearn


def _squared_spm(t_r, oversampling=50):
    from nilearn.glm.first_level import spm_hrf

    return spm_hrf(t_r, oversampling) ** 2


@pytest.mark.parametrize(
    "params",
    [
        dict(hrf_model=_squared_spm),
        dict(hrf_model=[_squared_spm, lambda t_r, oversampling=50: np.ones(3)]),
        dict(hrf_model="fir", fir_delays=None),
        dict(hrf_model="glover", drift_model="polynomial", drift_order=2),
    ],
    ids=["callable HRF", "list of callables", "fir, fir_delays=None", "glover, polynomial"],
)
def test_design_options_match_nilearn(box_run, params):
    img, events = box_run
    nl, rg = _fit_both(img, events, noise_model="ols", **{**params, "t_r": 7})
    _assert_same_designs(nl, rg)


def test_make_first_level_design_matrix_defaults_are_nilearns(box_run):
    from nilearn.glm.first_level import make_first_level_design_matrix as nilearn_design

    from refglm.nilearn import make_first_level_design_matrix

    _, events = box_run
    frame_times = np.arange(96) * 7.0
    a, b = nilearn_design(frame_times, events), make_first_level_design_matrix(frame_times, events)
    assert list(a.columns) == list(b.columns)
    assert_allclose(b.to_numpy(), a.to_numpy(), rtol=0, atol=DESIGN_ATOL)


def test_clone_and_params_are_sklearns(tutorial_pair):
    from sklearn.base import clone

    nl, rg = tutorial_pair
    assert rg.get_params() == nl.get_params()
    copy = clone(rg)
    assert copy.get_params() == rg.get_params() and not hasattr(copy, "fit_")
    assert copy.set_params(noise_model="ols").noise_model == "ols"


def test_generate_report_is_an_html_report(tutorial_pair):
    report = tutorial_pair[1].generate_report(contrasts="active - rest")
    assert type(report).__name__ == "HTMLReport"
    html = report.get_standalone()
    assert html.lstrip().lower().startswith("<!doctype html") and "active" in html


# ----------------------------------------------------------------- compute_fixed_effects


@pytest.mark.parametrize("precision_weighted", [False, True])
def test_compute_fixed_effects_matches_nilearn(runs_pair, precision_weighted):
    from nilearn.glm import compute_fixed_effects as nilearn_fixed

    from refglm.nilearn import compute_fixed_effects

    _, rg = runs_pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        effects, variances = [], []
        for k in range(3):
            con = ["active - rest" if i == k else np.zeros(7) for i in range(3)]
            maps = rg.compute_contrast(con, output_type="all")
            effects.append(maps["effect_size"])
            variances.append(maps["effect_variance"])
        a = nilearn_fixed(effects, variances, precision_weighted=precision_weighted, dofs=[26] * 3)
        b = compute_fixed_effects(
            effects, variances, precision_weighted=precision_weighted, dofs=[26] * 3
        )
    for img_a, img_b, atol in zip(a, b, (EFFECT_ATOL, VARIANCE_ATOL, Z_ATOL, Z_ATOL), strict=True):
        assert_allclose(np.asarray(img_b.dataobj), np.asarray(img_a.dataobj), rtol=0, atol=atol)


# ------------------------------------------------------------------ first_level_from_bids


def test_first_level_from_bids_matches_nilearn(tmp_path):
    from nilearn._utils.data_gen import create_fake_bids_dataset
    from nilearn.glm.first_level import first_level_from_bids as nilearn_from_bids

    from refglm.nilearn import first_level_from_bids

    root = create_fake_bids_dataset(base_dir=tmp_path, n_sub=2, n_ses=2, tasks=["main"], n_runs=[2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = nilearn_from_bids(root, "main", "MNI", img_filters=[("desc", "preproc")])
        b = first_level_from_bids(root, "main", "MNI", img_filters=[("desc", "preproc")])
    for model_a, model_b in zip(a[0], b[0], strict=True):
        # nilearn's memory=None becomes joblib's Memory(None): no caching either way
        params_a, params_b = model_a.get_params(), model_b.get_params()
        assert params_a.pop("memory").location is None and params_b.pop("memory") is None
        assert params_b == params_a
    assert b[1] == a[1]  # the images, per subject and run
    for events_a, events_b in zip(a[2], b[2], strict=True):
        for x, y in zip(events_a, events_b, strict=True):
            pd.testing.assert_frame_equal(y, x)
    for conf_a, conf_b in zip(a[3], b[3], strict=True):
        for x, y in zip(conf_a, conf_b, strict=True):
            pd.testing.assert_frame_equal(y, x)


# ------------------------------------------------------------------------- signatures

SIGNATURES = [
    ("nilearn.glm.first_level", "FirstLevelModel.__init__"),
    ("nilearn.glm.first_level", "FirstLevelModel.fit"),
    ("nilearn.glm.first_level", "FirstLevelModel.compute_contrast"),
    ("nilearn.glm.first_level", "FirstLevelModel.generate_report"),
    ("nilearn.glm.first_level", "make_first_level_design_matrix"),
    ("nilearn.glm.first_level", "first_level_from_bids"),
    ("nilearn.glm.first_level", "compute_regressor"),
    ("nilearn.glm.first_level", "glover_hrf"),
    ("nilearn.glm", "threshold_stats_img"),
    ("nilearn.glm", "compute_fixed_effects"),
    ("nilearn.glm", "fdr_threshold"),
    ("nilearn.reporting", "get_clusters_table"),
    ("nilearn.reporting", "make_glm_report"),
    ("nilearn.plotting", "plot_design_matrix"),
    ("nilearn.plotting", "plot_contrast_matrix"),
    ("nilearn.image", "concat_imgs"),
    ("nilearn.image", "mean_img"),
]


def _signature(module: str, name: str):
    import importlib
    import inspect

    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return [(p.name, p.kind, p.default) for p in inspect.signature(obj).parameters.values()]


@pytest.mark.parametrize("module, name", SIGNATURES, ids=[n for _, n in SIGNATURES])
def test_facade_signature_is_nilearns(module, name):
    # names, positions, kinds and defaults, as a ported call meets them
    ours = _signature(module.replace("nilearn", "refglm.nilearn", 1), name)
    assert ours == _signature(module, name)
