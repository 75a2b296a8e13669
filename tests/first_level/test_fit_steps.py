"""The fit's steps around the load: the finite check read off the mean image, the gather.

Both must give what the former whole-run expressions gave: ``np.isfinite(data).all(axis=3)``
and ``np.ascontiguousarray(data[mask].T, dtype=...)``, whatever the run's layout.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from refglm.first_level.model import _finite_voxels, _masked_signals
from refglm.glm.masking import mean_epi


def _run(order="F", dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((6, 5, 4, 30)) * 100 + 1000).astype(dtype)
    return np.asfortranarray(data) if order == "F" else np.ascontiguousarray(data)


@pytest.mark.parametrize("mean_dtype", ["input", "float64"])
def test_finite_voxels_from_the_mean_are_the_whole_run_check(mean_dtype):
    data = _run()
    data[0, 0, 0, 3] = np.nan
    data[1, 0, 0, 0] = np.inf
    data[2, 0, 0, 7], data[2, 0, 0, 8] = np.inf, -np.inf  # inf - inf: NaN
    data[3, 0, 0, :] = np.finfo(np.float32).max  # finite values whose float32 sum overflows
    data[4, 0, 0, 29] = -np.inf
    mean = mean_epi(data, mean_dtype)
    expected = np.isfinite(data).all(axis=3)
    assert_array_equal(_finite_voxels(data, mean.astype(np.float64)), expected)
    if mean_dtype == "input":
        assert not np.isfinite(mean[3, 0, 0])  # the overflow case is a real one
    assert np.count_nonzero(~expected) == 4


def test_finite_voxels_of_a_finite_run():
    data = _run()
    assert _finite_voxels(data, mean_epi(data).astype(np.float64)).all()


@pytest.mark.parametrize("order", ["F", "C"])
@pytest.mark.parametrize("dtype, out", [(np.float32, np.float32), (np.float32, np.float64)])
def test_masked_signals_are_the_masked_run_transposed(order, dtype, out):
    data = _run(order, dtype)
    mask = np.random.default_rng(1).random(data.shape[:3]) > 0.4
    Y = _masked_signals(data, mask, out)
    expected = np.ascontiguousarray(data[mask].T, dtype=out)
    assert_array_equal(Y, expected, strict=True)
    assert Y.flags.c_contiguous
