"""EPI mask (refglm.glm.masking) against nilearn's compute_epi_mask semantics."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import ndimage

from refglm.exceptions import InputError
from refglm.glm.masking import (
    compute_epi_mask,
    epi_threshold,
    largest_component,
    mean_epi,
    smooth_array,
)


def _blob(rng, shape=(20, 20, 20), radius=8):
    grid = np.indices(shape) - np.array(shape)[:, None, None, None] / 2
    inside = (grid**2).sum(0) < radius**2
    return np.where(inside, 1000.0, 50.0) + rng.standard_normal(shape)


def test_mean_epi_keeps_float32():
    data = np.ones((2, 2, 2, 5), dtype=np.float32)
    assert mean_epi(data).dtype == np.float32


def test_smooth_array_sigma_is_fwhm_over_2_sqrt_2ln2(rng):
    arr = rng.standard_normal((9, 9, 9))
    sigma = 1 / np.sqrt(8 * np.log(2))
    expected = arr.copy()
    for axis in range(3):
        expected = ndimage.gaussian_filter1d(expected, sigma, axis=axis)
    assert_allclose(smooth_array(arr, 1.0), expected, rtol=1e-12, atol=1e-12)


def test_epi_threshold_is_midpoint_of_largest_gap():
    values = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59.0])
    assert epi_threshold(values) == pytest.approx((9 + 50) / 2)


def test_largest_component_uses_faces_only():
    mask = np.zeros((5, 5, 5), bool)
    mask[0, 0, 0] = mask[1, 1, 0] = True  # touch by an edge: two components
    mask[3:5, 3:5, 3:5] = True
    out = largest_component(mask)
    assert out.sum() == 8 and not out[0, 0, 0]


def test_compute_epi_mask_finds_the_blob(rng):
    mean = _blob(rng)
    mask = compute_epi_mask(mean)
    truth = mean > 500
    assert (mask & truth).sum() / truth.sum() > 0.9
    assert (mask & ~truth).sum() < 0.2 * truth.sum()


def test_compute_epi_mask_matches_nilearn(rng):
    nib = pytest.importorskip("nibabel")
    from nilearn.masking import compute_epi_mask as nilearn_mask

    data = _blob(rng)[..., None] + rng.standard_normal((20, 20, 20, 6))
    ours = compute_epi_mask(mean_epi(data))
    theirs = nilearn_mask(nib.Nifti1Image(data, np.eye(4))).get_fdata().astype(bool)
    assert_array_equal(ours, theirs)


def test_constant_data_gives_empty_mask_error():
    with pytest.raises(InputError, match="mask"):
        compute_epi_mask(np.zeros((10, 10, 10)))
