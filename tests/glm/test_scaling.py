"""Mean scaling of the signals (refglm.glm.scaling.mean_scaling).

The formula is nistats' ``first_level_model.py mean_scaling`` (nilearn 0.14.1's is
the same code): ``Y <- 100 * (Y / max(mean(Y, axis), 1) - 1)``. References here
compute the mean with ``math.fsum`` (correctly rounded), not with numpy.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from refglm.exceptions import InputError
from refglm.glm.scaling import mean_scaling

# float64: the mean's relative error from numpy's pairwise sum is at most ~log2(n) * eps
# (1.3e-15 for n <= 64); 100 * (y / m - 1) turns it into 100 * (y / m) * 1.3e-15 <= 2e-13
# for y / m <= 1.5, plus 100 * eps from the division and subtraction. 1e-12 covers both.
SCALING_ATOL = 1e-12
# Division by exactly 1.0 and the same float operations on both sides: bit for bit.
EXACT = {"rtol": 0.0, "atol": 0.0}


def _fsum_mean(values) -> float:
    values = np.ravel(values)
    return math.fsum(values.tolist()) / values.size


def _reference(Y, axis):
    """100 * (Y / max(mean, 1) - 1) with a correctly rounded float64 mean."""
    Y = np.asarray(Y, dtype=np.float64)
    if axis == 0:
        mean = np.array([[_fsum_mean(Y[:, v]) for v in range(Y.shape[1])]])
    elif axis == 1:
        mean = np.array([[_fsum_mean(Y[t])] for t in range(Y.shape[0])])
    else:
        mean = np.array([[_fsum_mean(Y)]])
    mean = np.maximum(mean, 1.0)
    return 100.0 * (Y / mean - 1.0), mean


@pytest.fixture
def signals(rng):
    # 64 scans, 5 voxels around different baselines (as EPI intensities are)
    base = np.array([1000.0, 250.0, 37.5, 4.0, 1500.0])
    return base * (1.0 + 0.02 * rng.standard_normal((64, 5)))


def test_scaled_signal_is_percent_change_around_each_voxels_mean(signals):
    scaled, _ = mean_scaling(signals)
    expected, _ = _reference(signals, axis=0)
    assert_allclose(scaled, expected, rtol=0, atol=SCALING_ATOL)


def test_returned_mean_is_the_clamped_mean_per_voxel(signals):
    signals[:, 3] *= 0.1  # a voxel of mean ~0.4: reported as 1
    _, mean = mean_scaling(signals)
    _, expected = _reference(signals, axis=0)
    assert mean.shape == (5,)
    assert mean[3] == 1.0
    assert_allclose(mean, expected[0], rtol=0, atol=SCALING_ATOL)


@pytest.mark.parametrize("level", [0.5, -3.0])
def test_mean_below_one_is_clamped_to_one(rng, level):
    # max(mean, 1): a mean in (0, 1) or below 0 divides by 1, so Y <- 100 * (Y - 1)
    Y = level + 0.01 * rng.standard_normal((40, 2))  # means within 0.01 of level
    scaled, _ = mean_scaling(Y)
    assert_allclose(scaled, 100 * (Y - 1), **EXACT)


def test_zero_mean_warns_and_is_clamped_to_one():
    Y = np.array([[1.0, 5.0], [-1.0, 7.0], [0.0, 6.0]])  # voxel 0 has mean exactly 0
    with pytest.warns(UserWarning, match=r"mean values of 0 observed.*max\(mean, 1\)"):
        scaled, mean = mean_scaling(Y)
    assert mean[0] == 1.0
    assert_allclose(scaled[:, 0], 100 * (Y[:, 0] - 1), **EXACT)


def test_no_warning_when_no_mean_is_zero(rng):
    Y = 0.5 + 0.01 * rng.standard_normal((30, 3))  # clamped, but no mean is 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mean_scaling(Y)


@pytest.mark.parametrize(
    ("axis", "mean_shape"),
    [(0, (5,)), (1, (64,)), ((0, 1), ())],
)
def test_axis_selects_the_mean_that_divides(signals, axis, mean_shape):
    # axis=0: each voxel's mean over scans (nistats' default); axis=1: each scan's mean
    # over voxels (broadcast with keepdims, where nistats fails unless Y is square);
    # axis=(0, 1): the grand mean.
    scaled, mean = mean_scaling(signals, axis=axis)
    expected, expected_mean = _reference(signals, axis=axis)
    assert mean.shape == mean_shape
    assert_allclose(scaled, expected, rtol=0, atol=SCALING_ATOL)
    assert_allclose(mean, np.squeeze(expected_mean), rtol=0, atol=SCALING_ATOL)


def test_input_dtype_keeps_float32_arithmetic(signals):
    # scaling_dtype='input' (the nistats tutorial): every step in float32, so the
    # result is the float32 operations, not the float64 result rounded to float32.
    Y32 = signals.astype(np.float32)
    scaled, mean = mean_scaling(Y32, dtype="input")
    assert scaled.dtype == np.float32 and mean.dtype == np.float32
    m32 = np.maximum(Y32.mean(axis=0, keepdims=True), np.float32(1))
    assert_array_equal(scaled, np.float32(100) * (Y32 / m32 - np.float32(1)))
    rounded_once = _reference(Y32, axis=0)[0].astype(np.float32)
    assert np.any(scaled != rounded_once)


def test_float64_dtype_converts_before_scaling(signals):
    # scaling_dtype='float64': float32 signals are converted exactly, then scaled in
    # float64, so the result is the float64 formula on the same (float32) values.
    Y32 = signals.astype(np.float32)
    scaled, mean = mean_scaling(Y32, dtype="float64")
    assert scaled.dtype == np.float64 and mean.dtype == np.float64
    expected, _ = _reference(Y32, axis=0)
    assert_allclose(scaled, expected, rtol=0, atol=SCALING_ATOL)
    scaled32, _ = mean_scaling(Y32, dtype="input")
    assert np.abs(scaled - scaled32).max() > SCALING_ATOL


def test_input_is_not_modified(signals):
    before = signals.copy()
    mean_scaling(signals)
    assert_array_equal(signals, before)


def test_unknown_dtype_is_refused_naming_the_choice(signals):
    with pytest.raises(InputError, match=r"scaling_dtype: expected one of \('input', 'float64'\)"):
        mean_scaling(signals, dtype="float32")
