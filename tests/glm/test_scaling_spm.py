"""refglm.glm.scaling and masking, SPM12's globals, scale factors and implicit mask.

Golden numbers: SPM12 r7771's ``xGX.rg``, ``xGX.gSF`` and ``xM.TH``
(``tests/peers/spm12/golden/*.npz``); no data needed for them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from refglm.exceptions import InputError
from refglm.glm.masking import spm_implicit_mask, spm_mask_thresholds
from refglm.glm.scaling import spm_global, spm_globals, spm_scale, spm_scale_factors
from refglm.validation.spm12 import load_spm_golden

GOLDEN = Path(__file__).resolve().parents[1] / "peers" / "spm12" / "golden"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.npz"))


def _reference_global(volume):
    """spm_global.c written out: finite voxels, Fortran order, sums left to right."""
    values = [v for v in np.asarray(volume, dtype=float).ravel(order="F") if np.isfinite(v)]
    s1 = functools.reduce(lambda a, b: a + b, values) / (8.0 * len(values))
    above = [v for v in values if v > s1]
    return functools.reduce(lambda a, b: a + b, above) / len(above)


@given(st.integers(0, 2**32 - 1), st.integers(1, 5))
def test_globals_are_spm_global_c_scan_by_scan(seed, batch):
    rng = np.random.default_rng(seed)
    data = np.where(rng.random((6, 5, 4, 7)) < 0.3, 0.0, rng.uniform(100, 1000, (6, 5, 4, 7)))
    data[0, 0, 0, 2] = np.nan
    expected = [_reference_global(data[..., j]) for j in range(7)]
    assert_array_equal(spm_globals(data, batch), expected)
    # a Fortran-ordered run (io.load_run's) is read scan by scan without copies
    assert_array_equal(spm_globals(np.asfortranarray(data)), expected)
    assert_array_equal([spm_global(data[..., j]) for j in range(7)], expected)


@pytest.mark.parametrize("name", NAMES)
def test_scale_factors_of_spms_globals_equal_spm_gSF(name):
    golden = load_spm_golden(GOLDEN / f"{name}.npz")
    rule = {"None": None, "Scaling": "scaling"}[golden["model"]["global_normalisation"]]
    assert_array_equal(spm_scale_factors(golden["gx"], rule), golden["gSF"])


@pytest.mark.parametrize("name", NAMES)
def test_mask_thresholds_equal_spm_xM_TH(name):
    golden = load_spm_golden(GOLDEN / f"{name}.npz")
    thresholds = spm_mask_thresholds(golden["gx"], golden["gSF"], golden["model"]["mthresh"])
    assert_array_equal(thresholds, golden["TH"])


def test_global_none_scales_the_session_to_a_grand_mean_of_100():
    g = np.array([300.0, 400.0, 500.0])
    assert_array_equal(spm_scale_factors(g), [0.25, 0.25, 0.25])
    assert_array_equal(spm_scale_factors(g, "scaling"), 100 / g)


def test_unknown_global_normalization_is_input_error():
    with pytest.raises(InputError, match="global_normalization: expected one of"):
        spm_scale_factors(np.ones(3), "Scaling")


def test_the_data_spm_reads_are_raw_times_gsf():
    Y = np.array([[1, 2], [3, 4]], dtype=np.int16)
    assert_array_equal(spm_scale(Y, np.array([2.0, 0.5])), [[2.0, 4.0], [1.5, 2.0]])


def test_implicit_mask_needs_every_scan_above_its_threshold():
    data = np.full((2, 1, 1, 3), 10.0)
    data[0, 0, 0] = [10.0, 10.0, 7.9]  # below 8 in scan 2
    data[1, 0, 0] = [10.0, 11.0, 9.0]
    mask = spm_implicit_mask(data, np.ones(3), np.full(3, 8.0))
    assert_array_equal(mask[:, 0, 0], [False, True])


def test_implicit_mask_drops_constant_series_and_nan():
    data = np.full((3, 1, 1, 3), 10.0)
    data[1, 0, 0, 1] = 11.0
    data[2, 0, 0] = [np.nan, 12.0, 13.0]
    mask = spm_implicit_mask(data, np.ones(3), np.full(3, 8.0))
    assert_array_equal(mask[:, 0, 0], [False, True, False])


def test_implicit_mask_threshold_is_strict():
    data = np.array([8.0, 9.0, 10.0]).reshape(1, 1, 1, 3)
    assert not spm_implicit_mask(data, np.ones(3), np.full(3, 8.0)).any()


def _reference_implicit_mask(data, gSF, TH):
    """spm_spm.m lines 591, 596 on the whole series at once: every scan above, not constant."""
    series = data.reshape(-1, data.shape[3]) * gSF  # (voxels, scans)
    keep = np.all(series > TH, axis=1) & np.any(np.diff(series, axis=1) != 0, axis=1)
    return keep.reshape(data.shape[:3])


@given(st.integers(0, 2**32 - 1), st.booleans(), st.sampled_from([np.float64, np.float32]))
def test_implicit_mask_scan_by_scan_is_the_whole_series_rule(seed, fortran, dtype):
    rng = np.random.default_rng(seed)
    data = rng.uniform(0, 20, (5, 4, 3, 6)).astype(dtype)
    data[0, 0, 0] = 15.0  # constant
    data[1, 0, 0, 2] = np.nan
    data[2, 0, 0, 4] = np.inf
    data[3, 1, 1, :] = [12.0, 12.0, 12.0, 12.0, 12.0, 13.0]  # changes in the last scan only
    gSF = rng.uniform(0.5, 2.0, 6)
    TH = rng.uniform(2.0, 8.0, 6)
    data = np.asfortranarray(data) if fortran else data
    expected = _reference_implicit_mask(np.asarray(data, dtype=np.float64), gSF, TH)
    assert_array_equal(spm_implicit_mask(data, gSF, TH), expected)


def test_scaled_in_place_is_the_scaled_copy():
    rng = np.random.default_rng(3)
    Y = rng.uniform(100, 1000, (6, 9))
    gSF = rng.uniform(0.1, 0.3, 6)
    expected = spm_scale(Y, gSF)
    out = spm_scale(Y, gSF, overwrite=True)
    assert out is Y
    assert_array_equal(out, expected)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_global_of_a_scan_with_a_non_finite_voxel_skips_it(value):
    volume = np.arange(1.0, 25.0).reshape(2, 3, 4)
    volume[1, 2, 3] = value
    assert spm_global(volume) == _reference_global(volume)


def test_global_of_an_empty_scan_is_nan():
    # no voxel above s1 = 0: SPM's 0 / 0
    assert np.isnan(spm_global(np.zeros((2, 3, 4))))
