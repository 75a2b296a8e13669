"""Tests for refglm.glm.design.hrf: HRF kernels and event regressors.

The oracle for the default ('nistats') convention is the frozen copy of nistats
0.0.1rc0 in tests/_nistats_ref (see its README for the patches); the oracle for the
'nilearn' convention is the installed nilearn 0.14.1 (tests marked ``peers``).
"""

import importlib
import importlib.util
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import gammaln

from refglm.exceptions import InputError
from refglm.glm import design as hrf

# Named tolerances, one per compared quantity.
KERNEL_ATOL = 1e-12  # HRF kernels vs the reference implementation
REGRESSOR_ATOL = 1e-12  # sampled event regressors vs the reference implementation
CLOSED_FORM_RTOL = 1e-10  # scipy gamma.pdf vs the explicit gamma density formula
HRF_SUM_RTOL = 1e-12  # sum of a normalised HRF vs 1
ORTHOGONALITY_ATOL = 1e-10  # inner products of orthogonalised columns (scaled units)

_REF_DIR = Path(__file__).resolve().parents[2] / "_nistats_ref"

HRF_FUNCTIONS = [
    "spm_hrf",
    "glover_hrf",
    "spm_time_derivative",
    "glover_time_derivative",
    "spm_dispersion_derivative",
    "glover_dispersion_derivative",
]
GAMMA_MODELS = [m for m in hrf.HRF_MODELS if m not in ("fir", None)]
ALL_MODELS = list(hrf.HRF_MODELS)


def _nistats_ref(module):
    """Import ``module`` from the vendored nistats 0.0.1rc0 copy in tests/_nistats_ref."""
    if "_nistats_ref" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "_nistats_ref", _REF_DIR / "__init__.py", submodule_search_locations=[str(_REF_DIR)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["_nistats_ref"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"_nistats_ref.{module}")


def _nilearn_hrf():
    pytest.importorskip("nilearn")
    return importlib.import_module("nilearn.glm.first_level.hemodynamic_models")


def _random_condition(seed, run_end, n_events=12):
    """Onsets on a 0.1 s grid (so some share a high-resolution sample), mixed durations."""
    rng = np.random.default_rng(seed)
    onsets = np.round(rng.uniform(0, 0.9 * run_end, n_events), 1)
    onsets[1] = onsets[0]  # a duplicated onset: the fancy-index vs sequential choice
    durations = rng.choice([0.0, 0.5, 1.0, 2.5, 10.0], n_events)
    amplitudes = rng.uniform(0.5, 2.0, n_events)
    return onsets, durations, amplitudes


def _frame_times(n_scans, t_r, slice_time_ref=0.0):
    # nistats 0.0.1rc0 first_level_model.py: np.linspace(start_time, end_time, n_scans)
    return np.linspace(slice_time_ref * t_r, (n_scans - 1 + slice_time_ref) * t_r, n_scans)


REGRESSOR_CASES = [
    pytest.param(96, 7.0, 0.0, 50, id="tutorial-96x7s"),
    pytest.param(63, 2.5, 0.0, 50, id="63x2.5s"),
    pytest.param(40, 2.5, 0.5, 16, id="40x2.5s-slice0.5-os16"),
    pytest.param(120, 0.72, 0.0, 10, id="120x0.72s-os10"),
]


# ---------------------------------------------------------------------------
# HRF kernels against nistats 0.0.1rc0
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", HRF_FUNCTIONS)
@pytest.mark.parametrize(("t_r", "oversampling"), [(7.0, 50), (2.5, 50), (0.72, 16), (2.0, 1)])
def test_hrf_function_matches_nistats(name, t_r, oversampling):
    reference = getattr(_nistats_ref("hemodynamic_models"), name)(t_r, oversampling)
    actual = getattr(hrf, name)(t_r, oversampling)
    assert_allclose(actual, reference, rtol=0, atol=KERNEL_ATOL)


@pytest.mark.parametrize("name", HRF_FUNCTIONS)
def test_hrf_function_with_onset_and_length_matches_nistats(name):
    reference = getattr(_nistats_ref("hemodynamic_models"), name)(2.0, 20, 40.0, 1.3)
    actual = getattr(hrf, name)(2.0, 20, 40.0, 1.3)
    assert_allclose(actual, reference, rtol=0, atol=KERNEL_ATOL)


@pytest.mark.parametrize("hrf_model", ALL_MODELS)
def test_hrf_kernel_matches_nistats(hrf_model):
    reference = _nistats_ref("hemodynamic_models")._hrf_kernel(hrf_model, 7.0, 50, [0, 1, 3])
    actual = hrf.hrf_kernel(hrf_model, 7.0, 50, [0, 1, 3])
    assert len(actual) == len(reference)
    for kernel, expected in zip(actual, reference, strict=True):
        assert_allclose(kernel, expected, rtol=0, atol=KERNEL_ATOL)


# ---------------------------------------------------------------------------
# HRF kernels against nilearn 0.14.1 (nilearn convention)
# ---------------------------------------------------------------------------


@pytest.mark.peers
@pytest.mark.parametrize("name", HRF_FUNCTIONS)
@pytest.mark.parametrize(("t_r", "oversampling"), [(7.0, 50), (2.5, 50), (0.72, 16), (2.0, 1)])
def test_hrf_function_matches_nilearn(name, t_r, oversampling):
    reference = getattr(_nilearn_hrf(), name)(t_r, oversampling)
    actual = getattr(hrf, name)(t_r, oversampling, convention="nilearn")
    assert_allclose(actual, reference, rtol=0, atol=KERNEL_ATOL)


@pytest.mark.peers
@pytest.mark.parametrize("hrf_model", ALL_MODELS)
def test_hrf_kernel_matches_nilearn(hrf_model):
    reference = _nilearn_hrf()._hrf_kernel(hrf_model, 7.0, 50, [0, 1, 3])
    actual = hrf.hrf_kernel(hrf_model, 7.0, 50, [0, 1, 3], convention="nilearn")
    assert len(actual) == len(reference)
    for kernel, expected in zip(actual, reference, strict=True):
        assert_allclose(kernel, expected, rtol=0, atol=KERNEL_ATOL)


# ---------------------------------------------------------------------------
# The maths behind the kernels
# ---------------------------------------------------------------------------


def _gamma_density(t, shape, loc, scale):
    """Explicit gamma density, independent of scipy's argument order."""
    x = (t - loc) / scale
    out = np.zeros_like(t)
    positive = x > 0
    out[positive] = np.exp(
        (shape - 1) * np.log(x[positive]) - x[positive] - gammaln(shape) - np.log(scale)
    )
    return out


def _closed_form_hrf(t_r, oversampling, peak, undershoot, ratio):
    dt = t_r / oversampling
    n_samples = int(np.rint(32.0 / dt))
    t = np.linspace(0, 32.0, n_samples)
    h = _gamma_density(t, *peak(dt)) - ratio * _gamma_density(t, *undershoot(dt))
    return h / h.sum()


def test_spm_hrf_is_closed_form_gamma_difference():
    expected = _closed_form_hrf(
        2.0, 50, lambda dt: (6.0, dt, 1.0), lambda dt: (16.0, dt, 1.0), 0.167
    )
    assert_allclose(hrf.spm_hrf(2.0, 50), expected, rtol=CLOSED_FORM_RTOL, atol=1e-15)


def test_nistats_glover_hrf_puts_dispersion_in_loc():
    # nistats 0.0.1rc0: gamma.pdf(t, 6/.9, dt/.9) -> shape 6/0.9, loc dt/0.9, scale 1
    expected = _closed_form_hrf(
        2.0, 50, lambda dt: (6 / 0.9, dt / 0.9, 1.0), lambda dt: (12 / 0.9, dt / 0.9, 1.0), 0.35
    )
    actual = hrf.glover_hrf(2.0, 50, convention="nistats")
    assert_allclose(actual, expected, rtol=CLOSED_FORM_RTOL, atol=1e-15)


def test_nilearn_glover_hrf_uses_dispersion_as_scale():
    # nilearn PR #3297 + #4452: gamma.pdf(t, 6/.9, loc=dt, scale=.9), ratio 0.48
    expected = _closed_form_hrf(
        2.0, 50, lambda dt: (6 / 0.9, dt, 0.9), lambda dt: (12 / 0.9, dt, 0.9), 0.48
    )
    actual = hrf.glover_hrf(2.0, 50, convention="nilearn")
    assert_allclose(actual, expected, rtol=CLOSED_FORM_RTOL, atol=1e-15)


def test_spm_hrf_is_the_same_in_both_conventions():
    assert_array_equal(hrf.spm_hrf(7.0, 50, convention="nilearn"), hrf.spm_hrf(7.0, 50))


def test_glover_hrf_differs_between_conventions():
    difference = np.abs(hrf.glover_hrf(2.0, 50) - hrf.glover_hrf(2.0, 50, convention="nilearn"))
    assert difference.max() > 1e-4


def test_time_derivative_is_forward_difference_of_hrf():
    expected = (hrf.spm_hrf(2.0, 50) - hrf.spm_hrf(2.0, 50, onset=0.1)) / 0.1
    assert_allclose(hrf.spm_time_derivative(2.0, 50), expected, rtol=1e-12, atol=1e-12)


def test_kernel_length_is_rint_time_length_over_dt():
    assert hrf.spm_hrf(7.0, 50).size == int(np.rint(32.0 / (7.0 / 50)))


@settings(deadline=None, max_examples=60)
@given(
    t_r=st.floats(0.3, 8.0),
    oversampling=st.integers(4, 100),
    name=st.sampled_from(["spm_hrf", "glover_hrf"]),
    convention=st.sampled_from(hrf.HRF_FORMULAS),
)
def test_hrf_sums_to_one(t_r, oversampling, name, convention):
    kernel = getattr(hrf, name)(t_r, oversampling, convention=convention)
    assert_allclose(kernel.sum(), 1.0, rtol=HRF_SUM_RTOL)


# ---------------------------------------------------------------------------
# Event regressors
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Some stimulus onsets")
@pytest.mark.parametrize("hrf_model", ALL_MODELS)
@pytest.mark.parametrize(("n_scans", "t_r", "slice_time_ref", "oversampling"), REGRESSOR_CASES)
def test_compute_regressor_matches_nistats(hrf_model, n_scans, t_r, slice_time_ref, oversampling):
    frame_times = _frame_times(n_scans, t_r, slice_time_ref)
    condition = _random_condition(n_scans, frame_times[-1])
    reference, ref_names = _nistats_ref("hemodynamic_models").compute_regressor(
        condition, hrf_model, frame_times, "c", oversampling, [0, 2], -24
    )
    actual, names = hrf.compute_regressor(
        condition, hrf_model, frame_times, "c", oversampling, [0, 2], -24
    )
    assert names == ref_names
    assert_allclose(actual, reference, rtol=0, atol=REGRESSOR_ATOL)


@pytest.mark.peers
@pytest.mark.filterwarnings("ignore:Some stimulus onsets")
@pytest.mark.parametrize("hrf_model", ALL_MODELS)
@pytest.mark.parametrize(("n_scans", "t_r", "slice_time_ref", "oversampling"), REGRESSOR_CASES)
def test_compute_regressor_matches_nilearn(hrf_model, n_scans, t_r, slice_time_ref, oversampling):
    frame_times = _frame_times(n_scans, t_r, slice_time_ref)
    condition = _random_condition(n_scans, frame_times[-1])
    reference, ref_names = _nilearn_hrf().compute_regressor(
        condition, hrf_model, frame_times, "c", oversampling, [0, 2], -24
    )
    actual, names = hrf.compute_regressor(
        condition, hrf_model, frame_times, "c", oversampling, [0, 2], -24, convention="nilearn"
    )
    assert names == ref_names
    assert_allclose(actual, reference, rtol=0, atol=REGRESSOR_ATOL)


def test_nistats_counts_events_on_the_same_sample_once():
    frame_times = np.arange(20.0)
    condition = ([2.0, 2.0], [3.0, 3.0], [1.0, 1.0])
    regressor, _ = hrf.compute_regressor(condition, None, frame_times, convention="nistats")
    assert_allclose(regressor.max(), 1.0, rtol=0, atol=REGRESSOR_ATOL)


def test_nilearn_adds_events_on_the_same_sample():
    frame_times = np.arange(20.0)
    condition = ([2.0, 2.0], [3.0, 3.0], [1.0, 1.0])
    regressor, _ = hrf.compute_regressor(condition, None, frame_times, convention="nilearn")
    assert_allclose(regressor.max(), 2.0, rtol=0, atol=REGRESSOR_ATOL)


def test_nistats_t_r_estimate_assumes_first_frame_at_zero():
    frame_times = _frame_times(10, 2.0, slice_time_ref=0.5)
    assert hrf.estimate_t_r(frame_times, "nistats") == pytest.approx(19.0 / 9.0)


def test_nilearn_t_r_estimate_is_minimal_spacing():
    frame_times = _frame_times(10, 2.0, slice_time_ref=0.5)
    assert hrf.estimate_t_r(frame_times, "nilearn") == pytest.approx(2.0)


def test_derivative_regressor_is_orthogonal_to_main_regressor():
    frame_times = _frame_times(96, 7.0)
    condition = ([42.0, 126.0, 210.0], [42.0, 42.0, 42.0], [1.0, 1.0, 1.0])
    regressors, _ = hrf.compute_regressor(condition, "spm + derivative", frame_times)
    scale = np.linalg.norm(regressors[:, 0]) * np.linalg.norm(regressors[:, 1])
    assert_allclose(regressors[:, 0] @ regressors[:, 1] / scale, 0.0, atol=ORTHOGONALITY_ATOL)


def test_orthogonalize_does_not_modify_its_input():
    X = np.random.default_rng(0).normal(size=(30, 3))
    before = X.copy()
    hrf.orthogonalize(X)
    assert_array_equal(X, before)


def test_orthogonalize_makes_later_columns_orthogonal_to_earlier_ones():
    X = hrf.orthogonalize(np.random.default_rng(1).normal(size=(30, 4)))
    gram = X.T @ X
    off_diagonal = gram - np.diag(np.diag(gram))
    assert_allclose(off_diagonal / np.trace(gram), 0.0, atol=ORTHOGONALITY_ATOL)


def test_convention_mapping_equal_to_named_convention_gives_same_kernel():
    mapping = dict(hrf.HRF_CHOICES["nilearn"])
    assert_array_equal(
        hrf.glover_hrf(2.0, convention=mapping), hrf.glover_hrf(2.0, convention="nilearn")
    )


@pytest.mark.parametrize(
    ("hrf_model", "names"),
    [
        ("spm", ["c"]),
        ("glover + derivative", ["c", "c_derivative"]),
        ("spm + derivative + dispersion", ["c", "c_derivative", "c_dispersion"]),
        ("fir", ["c_delay_0", "c_delay_2"]),
        (None, ["c"]),
    ],
)
def test_regressor_names(hrf_model, names):
    assert hrf.regressor_names("c", hrf_model, [0, 2]) == names


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("t_r", [0.0, -2.0, float("nan"), float("inf"), "2"])
def test_non_positive_t_r_is_rejected(t_r):
    with pytest.raises(InputError, match="t_r"):
        hrf.spm_hrf(t_r)


def test_unknown_hrf_model_is_rejected():
    with pytest.raises(InputError, match="hrf_model"):
        hrf.hrf_kernel("canonical", 2.0)


def test_unknown_convention_is_rejected():
    with pytest.raises(InputError, match="convention"):
        hrf.glover_hrf(2.0, convention="spm12")


def test_incomplete_convention_mapping_is_rejected():
    with pytest.raises(InputError, match="convention"):
        hrf.glover_hrf(2.0, convention={"glover_ratio": 0.48})


@pytest.mark.parametrize("oversampling", [0, -3, 2.5])
def test_bad_oversampling_is_rejected(oversampling):
    with pytest.raises(InputError, match="oversampling"):
        hrf.spm_hrf(2.0, oversampling)


def test_fir_without_delays_is_delay_zero_as_nilearn():
    # nilearn 0.14.1: fir_delays=None means [0] (make_first_level_design_matrix, fit)
    (kernel,) = hrf.hrf_kernel("fir", 2.0)
    assert_array_equal(kernel, hrf.hrf_kernel("fir", 2.0, fir_delays=[0])[0])
    assert hrf.regressor_names("c", "fir") == ["c_delay_0"]


def test_negative_fir_delay_is_rejected():
    with pytest.raises(InputError, match="fir_delays"):
        hrf.hrf_kernel("fir", 2.0, fir_delays=[-1])


@pytest.mark.parametrize(
    "frame_times",
    [np.array([0.0]), np.array([0.0, 2.0, 2.0]), np.array([4.0, 2.0, 0.0]), np.array([-2.0, 0.0])],
)
def test_bad_frame_times_are_rejected(frame_times):
    with pytest.raises(InputError, match="frame_times"):
        hrf.compute_regressor(([0.0], [1.0], [1.0]), "spm", frame_times)


def test_negative_duration_is_rejected():
    with pytest.raises(InputError, match="durations"):
        hrf.compute_regressor(([0.0], [-1.0], [1.0]), "spm", np.arange(10.0))


def test_nan_onset_is_rejected():
    with pytest.raises(InputError, match="onsets"):
        hrf.compute_regressor(([np.nan], [1.0], [1.0]), "spm", np.arange(10.0))


def test_onsets_all_after_run_end_are_rejected():
    with pytest.raises(InputError, match="after the run's end"):
        hrf.compute_regressor(([50.0, 60.0], [1.0, 1.0], [1.0, 1.0]), "spm", np.arange(10.0))


def test_positive_min_onset_is_rejected():
    with pytest.raises(InputError, match="min_onset"):
        hrf.compute_regressor(([0.0], [1.0], [1.0]), "spm", np.arange(10.0), min_onset=5)


def test_error_message_names_expected_found_and_fix():
    with pytest.raises(InputError) as excinfo:
        hrf.spm_hrf(-1.0)
    message = str(excinfo.value)
    assert "t_r" in message and "expected" in message and "found" in message and "Fix" in message


def test_early_onsets_warn_like_the_sources():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hrf.compute_regressor(([-30.0, 5.0], [1.0, 1.0], [1.0, 1.0]), "spm", np.arange(20.0))
    assert any("earlier than" in str(w.message) for w in caught)
