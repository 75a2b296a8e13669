"""The vectorized engine against the statsmodels reference (refglm.glm.engines.statsmodels.run_glm).

(a) hypothesis designs and data under every convention choice of the fit;
(b) the real SPM auditory tutorial, fitted by both engines.
"""

import itertools
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.signal import lfilter

import refglm.glm.engines.vectorized as fit_vectorized
from refglm.exceptions import InputError
from refglm.glm.contrasts import compute_contrast
from refglm.glm.engines.statsmodels import run_glm
from refglm.glm.engines.vectorized import run_glm_vectorized
from refglm.glm.noise import AR_BINNINGS, AR_ESTIMATORS, WHITEN_SCAN0, ar1_whiten
from tests.strategies import data_for, estimable_contrasts, full_rank_designs, stationary_rhos

# The bound, 1e-10, per quantity. Both engines take the same pseudo-inverses
# (statsmodels' pinv_extended, batched) and differ only in summation order.
BETA_RTOL, BETA_ATOL = 1e-10, 1e-10
SIGMA2_RTOL, SIGMA2_ATOL = 1e-10, 1e-10
COV_RTOL, COV_ATOL = 1e-10, 1e-10
RHO_RTOL, RHO_ATOL = 1e-10, 1e-10  # before binning; binned rho must be identical
T_RTOL, T_ATOL = 1e-10, 1e-10
F_RTOL, F_ATOL = 1e-10, 1e-10
Z_RTOL, Z_ATOL = 1e-10, 1e-10

FIXED = [
    dict(ar_estimator=e, ar_binning=b, whiten_scan0=s)
    for e, b, s in itertools.product(AR_ESTIMATORS, AR_BINNINGS, WHITEN_SCAN0)
]
# The reference's iterative fit is statsmodels' GLSAR.iterative_fit: it ignores the
# estimator, binning and scan-0 choices; maxiter covers 0, 1 (no AR update), early
# convergence and the default.
ITERATIVE = [dict(ar_fit="iterative", ar_maxiter=m) for m in (0, 1, 2, 3, 8)]
CHOICES = [dict(noise_model="ols")] + FIXED + ITERATIVE

# fit_vectorized._gls has two strategies, chosen by MIN_VOXELS_PER_MODEL (voxels per
# whitened design): one product per model (binned rho, many voxels per bin) or voxel
# batches, each voxel with its own model's pseudo-inverse. Hypothesis draws a few
# voxels, which by default always take the second; the threshold is patched to force
# each strategy for every choice that whitens (OLS has no GLS pass).
GLS_STRATEGIES = {"by_model": 0, "voxel_batches": 10**9}
CASES = [(CHOICES[0], None)] + [
    (choice, strategy) for choice in CHOICES[1:] for strategy in GLS_STRATEGIES
]


def _id(choice):
    return ",".join(f"{k}={v}" for k, v in choice.items())


def _case_id(case):
    choice, strategy = case
    return _id(choice) + ("" if strategy is None else f",gls={strategy}")


def vectorized_fit(Y, X, choice, strategy):
    """``run_glm_vectorized`` with ``_gls`` forced to ``strategy`` (None: the default)."""
    if strategy is None:
        return run_glm_vectorized(Y, X, **choice)
    with mock.patch.object(fit_vectorized, "MIN_VOXELS_PER_MODEL", GLS_STRATEGIES[strategy]):
        return run_glm_vectorized(Y, X, **choice)


@st.composite
def ar1_problems(draw):
    """A full-rank design and data whose noise has an AR(1) coefficient in (-0.9, 0.9)."""
    X = draw(full_rank_designs())
    rho = draw(stationary_rhos())
    Y = lfilter([1.0], [1.0, -rho], draw(data_for(X)), axis=0)
    return X, Y


def assert_fits_equal(ref, vec, binned):
    assert_allclose(vec.beta, ref.beta, rtol=BETA_RTOL, atol=BETA_ATOL, err_msg="beta")
    assert_allclose(vec.sigma2, ref.sigma2, rtol=SIGMA2_RTOL, atol=SIGMA2_ATOL, err_msg="sigma2")
    assert_array_equal(vec.df_resid, ref.df_resid, err_msg="df_resid")
    assert_allclose(vec.rho_raw, ref.rho_raw, rtol=RHO_RTOL, atol=RHO_ATOL, err_msg="rho_raw")
    if binned:
        assert_array_equal(vec.rho, ref.rho, err_msg="binned rho")
        assert_array_equal(vec.labels, ref.labels, err_msg="labels")
    assert_allclose(
        vec.cov_unscaled[vec.labels],
        ref.cov_unscaled[ref.labels],
        rtol=COV_RTOL,
        atol=COV_ATOL,
        err_msg="cov_unscaled of each voxel's model",
    )


# --------------------------------------------------------------- (a) hypothesis
@pytest.mark.parametrize("case", CASES, ids=_case_id)
@given(problem=ar1_problems())
def test_fit_equals_reference(case, problem):
    choice, strategy = case
    X, Y = problem
    binned = choice.get("ar_binning", "truncate") != "none" and "ar_fit" not in choice
    assert_fits_equal(run_glm(Y, X, **choice), vectorized_fit(Y, X, choice, strategy), binned)


@pytest.mark.parametrize("case", CASES, ids=_case_id)
@given(data=st.data())
def test_contrast_statistics_equal_reference(case, data):
    choice, strategy = case
    X, Y = data.draw(ar1_problems())
    c = data.draw(estimable_contrasts(X.shape[1], rows=1))
    C = data.draw(estimable_contrasts(X.shape[1], rows=2))
    ref, vec = run_glm(Y, X, **choice), vectorized_fit(Y, X, choice, strategy)
    t_ref, t_vec = compute_contrast(ref, c), compute_contrast(vec, c)
    assert_allclose(t_vec.stat, t_ref.stat, rtol=T_RTOL, atol=T_ATOL, err_msg="t")
    assert_allclose(t_vec.z_score, t_ref.z_score, rtol=Z_RTOL, atol=Z_ATOL, err_msg="z of t")
    F_ref, F_vec = compute_contrast(ref, C), compute_contrast(vec, C)
    assert_allclose(F_vec.stat, F_ref.stat, rtol=F_RTOL, atol=F_ATOL, err_msg="F")
    assert_allclose(F_vec.z_score, F_ref.z_score, rtol=Z_RTOL, atol=Z_ATOL, err_msg="z of F")


# ------------------------------------------------------------ engine behaviours
@pytest.fixture
def problem(rng):
    """60 scans, 300 voxels with AR(1) noise of rho from -0.5 to 0.8 (many bins)."""
    n, v = 60, 300
    X = np.column_stack([rng.standard_normal((n, 3)), np.ones(n)])
    noise = rng.standard_normal((n, v))
    for j, rho in enumerate(np.linspace(-0.5, 0.8, v)):
        noise[:, j] = lfilter([1.0], [1.0, -rho], noise[:, j])
    return X, X @ rng.standard_normal((4, v)) + noise


@pytest.mark.parametrize("binning", ["truncate", "none"])
def test_model_by_model_and_voxel_batches_agree(problem, binning):
    # _gls solves binned models one matrix product per model, unbinned ones in voxel
    # batches; force each strategy on the same data.
    X, Y = problem
    choice = dict(ar_binning=binning)
    by_model = vectorized_fit(Y, X, choice, "by_model")
    by_voxel = vectorized_fit(Y, X, choice, "voxel_batches")
    assert_fits_equal(by_model, by_voxel, binned=True)


@pytest.mark.parametrize("strategy, rho_ndim", [("by_model", 0), ("voxel_batches", 1)])
def test_patched_threshold_selects_the_gls_strategy(problem, monkeypatch, strategy, rho_ndim):
    # The hypothesis tests rely on MIN_VOXELS_PER_MODEL choosing _gls's strategy: by
    # model whitens each model's voxels with that model's scalar rho, voxel batches
    # whiten with one rho per voxel (the designs are whitened as a 3-D stack).
    X, Y = problem
    rho_ndims = []

    def spy(x, rho, scan0):
        if np.ndim(x) == 2:  # data (n, c), not a stack of designs (n, p, k)
            rho_ndims.append(np.ndim(rho))
        return ar1_whiten(x, rho, scan0)

    monkeypatch.setattr(fit_vectorized, "ar1_whiten", spy)
    vectorized_fit(Y, X, {}, strategy)
    assert rho_ndims and set(rho_ndims) == {rho_ndim}


@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_results_do_not_depend_on_chunk_size(problem, chunk_size):
    X, Y = problem
    whole = run_glm_vectorized(Y, X, chunk_size=10**6)
    assert_fits_equal(whole, run_glm_vectorized(Y, X, chunk_size=chunk_size), binned=True)


def test_results_do_not_depend_on_blas_threads(problem):
    X, Y = problem
    one = run_glm_vectorized(Y, X, n_jobs=1)
    assert_fits_equal(one, run_glm_vectorized(Y, X, n_jobs=-1), binned=True)


@pytest.mark.parametrize("choice", [{}, dict(ar_fit="iterative")], ids=["fixed", "iterative"])
def test_float32_input_equals_reference(problem, choice):
    # The tutorial's signals are float32: the engine must compute in float64 from
    # them as the reference does (any float32 arithmetic would cost ~1e-7).
    X, Y = problem
    Y32 = Y.astype(np.float32)
    binned = "ar_fit" not in choice
    assert_fits_equal(run_glm(Y32, X, **choice), run_glm_vectorized(Y32, X, **choice), binned)


@pytest.mark.parametrize("ar_fit", ["fixed", "iterative"])
def test_progress_counts_every_voxel_of_each_pass(problem, ar_fit):
    X, Y = problem
    done = []
    run_glm_vectorized(Y, X, ar_fit=ar_fit, chunk_size=64, progress=done.append)
    passes = 2 if ar_fit == "fixed" else 1  # as fit.run_glm: OLS + GLS, or the iterative fit
    assert sum(done) == passes * Y.shape[1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(noise_model="ar2"), "noise_model"),
        (dict(ar_fit="newton"), "ar_fit"),
        (dict(whiten_scan0="skip"), "whiten_scan0"),
        (dict(ar_estimator="burg"), "ar_estimator"),
        (dict(ar_binning="floor"), "ar_binning"),
    ],
)
def test_bad_choices_raise_input_error(problem, kwargs, match):
    X, Y = problem
    with pytest.raises(InputError, match=match):
        run_glm_vectorized(Y, X, **kwargs)


def test_mismatched_shapes_raise_input_error(problem):
    X, Y = problem
    with pytest.raises(InputError, match="same\nn_scans|same n_scans"):
        run_glm_vectorized(Y[1:], X)


# --------------------------------------------------------- (b) the real tutorial
@pytest.fixture(scope="module")
def vectorized_model(spm_auditory):
    """The tutorial's model fitted by the vectorized engine."""
    from refglm.first_level.model import FirstLevelModel
    from refglm.workflows import TUTORIAL_PARAMETERS

    return FirstLevelModel(**TUTORIAL_PARAMETERS, engine="vectorized").fit(
        spm_auditory.func, spm_auditory.events
    )


@pytest.mark.slow
def test_tutorial_rho_bins_are_identical(tutorial_model, vectorized_model):
    # A voxel whose 100 rho lies within rounding of an integer could change bin;
    # measured: the nearest is 5.9e-7 from a bin edge, so none may differ.
    ref, vec = tutorial_model.fit_, vectorized_model.fit_
    differ = np.flatnonzero(ref.rho != vec.rho)
    assert differ.size == 0, (
        f"{differ.size} voxels change AR bin between engines: indices {differ[:10]}, "
        f"rho_raw {ref.rho_raw[differ[:10]]} vs {vec.rho_raw[differ[:10]]}"
    )
    assert_allclose(vec.rho_raw, ref.rho_raw, rtol=RHO_RTOL, atol=RHO_ATOL)


@pytest.mark.slow
def test_tutorial_fit_equals_reference(tutorial_model, vectorized_model):
    assert_array_equal(vectorized_model.mask_, tutorial_model.mask_)
    assert_fits_equal(tutorial_model.fit_, vectorized_model.fit_, binned=True)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["activeMinusRest", "effectsOfInterest"])
def test_tutorial_statistics_equal_reference(tutorial_model, vectorized_model, name):
    from refglm.workflows import TUTORIAL_CONTRASTS

    ref = tutorial_model.contrast_result(TUTORIAL_CONTRASTS[name])
    vec = vectorized_model.contrast_result(TUTORIAL_CONTRASTS[name])
    assert ref.stat_type == vec.stat_type
    stat_rtol, stat_atol = (T_RTOL, T_ATOL) if ref.stat_type == "t" else (F_RTOL, F_ATOL)
    assert_allclose(vec.stat, ref.stat, rtol=stat_rtol, atol=stat_atol, err_msg=ref.stat_type)
    assert_allclose(vec.z_score, ref.z_score, rtol=Z_RTOL, atol=Z_ATOL, err_msg="z")


# ------------------------------------------- (c) SPM12's estimation (ar_fit='spm_reml')
SPM_CHOICES = [
    dict(df=df, cov_pinv=pinv, noise_model=noise)
    for df in ("spm_effective", "nobs_minus_rank")
    for pinv in ("spm", "scipy", "statsmodels")
    for noise in ("ar1", "ols")
]


@st.composite
def spm_problems(draw):
    """A design, SPM's V for an AR(0.2) ReML (random hyperparameters), W, a DCT drift
    basis and data: what ``ar_fit='spm_reml'`` is given."""
    from refglm.glm.filtering import spm_drift_basis
    from refglm.glm.noise import spm_ar_components, spm_whitening

    X = draw(full_rank_designs(min_scans=24, max_scans=60, max_regressors=4))
    n = X.shape[0]
    h = draw(st.tuples(st.floats(0.5, 1.5), st.floats(-0.3, 0.6)))
    Q = spm_ar_components(n)
    V = h[0] * Q[0] + h[1] * Q[1]
    V = V * n / np.trace(V)
    cutoff = draw(st.sampled_from([np.inf, 8.0 * n, 2.0 * n]))
    X0 = spm_drift_basis(n, 1.0, cutoff)
    Y = draw(data_for(X))
    return X, Y, spm_whitening(V), V, X0


@pytest.mark.parametrize("choice", SPM_CHOICES, ids=_id)
@given(problem=spm_problems())
def test_spm_fit_equals_reference(choice, problem):
    X, Y, W, V, X0 = problem
    kwargs = dict(ar_fit="spm_reml", whitening=W, covariance=V, drift_basis=X0, **choice)
    ref, vec = run_glm(Y, X, **kwargs), run_glm_vectorized(Y, X, **kwargs)
    assert_allclose(vec.beta, ref.beta, rtol=BETA_RTOL, atol=BETA_ATOL, err_msg="beta")
    assert_allclose(vec.sigma2, ref.sigma2, rtol=SIGMA2_RTOL, atol=SIGMA2_ATOL, err_msg="ResMS")
    assert_array_equal(vec.df_resid, ref.df_resid, err_msg="erdf")
    assert_allclose(
        vec.cov_unscaled, ref.cov_unscaled, rtol=COV_RTOL, atol=COV_ATOL, err_msg="Bcov"
    )
    assert_allclose(vec.std_resid, ref.std_resid, rtol=BETA_RTOL, atol=BETA_ATOL, err_msg="ResI")


@pytest.mark.parametrize("contrast_dtype", ["float64", "float32_images"])
@given(data=st.data())
def test_spm_contrast_statistics_equal_reference(contrast_dtype, data):
    X, Y, W, V, X0 = data.draw(spm_problems())
    c = data.draw(estimable_contrasts(X.shape[1], rows=1))
    C = data.draw(estimable_contrasts(X.shape[1], rows=2))
    kwargs = dict(ar_fit="spm_reml", whitening=W, covariance=V, drift_basis=X0, df="spm_effective")
    ref, vec = run_glm(Y, X, **kwargs), run_glm_vectorized(Y, X, **kwargs)
    for contrast in (c, C):
        r = compute_contrast(ref, contrast, contrast_dtype=contrast_dtype)
        v = compute_contrast(vec, contrast, contrast_dtype=contrast_dtype)
        if contrast_dtype == "float64":
            assert_allclose(v.stat, r.stat, rtol=T_RTOL, atol=T_ATOL, err_msg="T/F")
        else:
            # float32 images: the 1e-14 apart float64 values round to the same float32
            # or to neighbours (one ulp, 2**-23 relative)
            assert_allclose(v.stat, r.stat, rtol=2.0**-23, atol=1e-30, err_msg="T/F f32")


def test_spm_effective_df_needs_spms_reml():
    X = np.column_stack([np.arange(10.0), np.ones(10)])
    with pytest.raises(InputError, match="df='spm_effective': expected ar_fit='spm_reml'"):
        run_glm_vectorized(np.ones((10, 2)), X, df="spm_effective")


def test_spm_fit_needs_w_and_v():
    X = np.column_stack([np.arange(10.0), np.ones(10)])
    with pytest.raises(InputError, match="expected whitening= \\(W\\) and covariance="):
        run_glm_vectorized(np.ones((10, 2)), X, ar_fit="spm_reml")


# ------------------------------------------------------- AR(p), p >= 2, and df_scale

#: AR(p) choices: nilearn's (Yule-Walker, sklearn's KMeans with a seed, scan rows kept),
#: every voxel its own coefficients (kept or dropped first scans), statsmodels'
#: GLSAR(rho=p).iterative_fit. (df_scale cannot act on the full-rank designs drawn here:
#: test_rank_deficient_design_equals_reference checks it.)
AR_P = [
    dict(
        ar_estimator="yule_walker",
        whiten_scan0="keep",
        ar_p_binning="kmeans",
        random_state=0,
        ar_bins=4,
    ),
    dict(ar_estimator="yule_walker", whiten_scan0="keep", ar_p_binning="none"),
    dict(ar_estimator="yule_walker_voxel", whiten_scan0="drop", ar_p_binning="none"),
    dict(ar_fit="iterative"),
]
AR_P_CASES = [
    (dict(noise_model=noise_model, **choice), strategy)
    for noise_model in ("ar2", "ar3")
    for choice in AR_P
    for strategy in GLS_STRATEGIES
]


@pytest.mark.parametrize("case", AR_P_CASES, ids=_case_id)
@settings(max_examples=15)  # 16 cases (the KMeans runs 10 times per example); make test time
@given(problem=ar1_problems())
def test_ar_p_fit_equals_reference(case, problem):
    choice, strategy = case
    X, Y = problem
    ref, vec = run_glm(Y, X, **choice), vectorized_fit(Y, X, choice, strategy)
    assert_fits_equal(ref, vec, binned=False)
    # the coefficients each voxel is whitened with (KMeans: identical models)
    assert_allclose(vec.ar_coef, ref.ar_coef, rtol=RHO_RTOL, atol=RHO_ATOL, err_msg="ar_coef")
    if choice.get("ar_p_binning") == "kmeans":
        assert_array_equal(vec.model_names, ref.model_names)
        assert_array_equal(vec.labels, ref.labels)


@pytest.mark.parametrize("df_scale", ["rank", "columns"])
@pytest.mark.parametrize("noise_model", ["ols", "ar1", "ar2"])
def test_rank_deficient_design_equals_reference(rng, df_scale, noise_model):
    X = rng.standard_normal((40, 3))
    X = np.column_stack([X, X[:, 0] - X[:, 2], np.ones(40)])  # rank 4 of 5 columns
    Y = X @ rng.standard_normal((5, 30)) + rng.standard_normal((40, 30))
    choice = dict(noise_model=noise_model, df_scale=df_scale)
    if noise_model == "ar2":
        choice.update(ar_estimator="yule_walker", ar_p_binning="none")
    with pytest.warns(UserWarning, match="rank 4 < 5"):
        ref = run_glm(Y, X, **choice)
    vec = run_glm_vectorized(Y, X, **choice)
    assert_fits_equal(ref, vec, binned=noise_model == "ar1")
    assert_array_equal(vec.df_resid, 40 - 4)


def test_ar_p_of_lag1_ratio_is_refused(problem):
    X, Y = problem
    for engine in (run_glm, run_glm_vectorized):
        with pytest.raises(InputError, match="lag-1 ratio is of order 1"):
            engine(Y, X, "ar2", ar_estimator="lag1_ratio")
