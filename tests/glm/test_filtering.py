"""refglm.glm.filtering: SPM12's DCT high-pass basis and filter against SPM's K.X0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from refglm.glm.filtering import spm_dctmtx, spm_drift_basis, spm_filter
from refglm.validation.spm12 import load_spm_golden

GOLDEN = Path(__file__).resolve().parents[1] / "peers" / "spm12" / "golden"
NAMES = sorted(p.stem for p in GOLDEN.glob("*.npz"))
# K.X0 is float64 in SPM.mat: the same cosines, 1e-16 measured
X0_ATOL = 1e-12


@pytest.mark.parametrize("name", NAMES)
def test_drift_basis_equals_spm_K_X0(name):
    golden = load_spm_golden(GOLDEN / f"{name}.npz")
    o = golden["model"]
    X0 = spm_drift_basis(o["nscan"], float(o["RT"]), float(o["hpf"]))
    assert X0.shape == golden["K_X0"].shape
    assert_allclose(X0, golden["K_X0"], rtol=0, atol=X0_ATOL)


@pytest.mark.parametrize("cutoff, columns", [(128, 10), (100, 13), (64, 21), (1e6, 0)])
def test_the_number_of_drifts_follows_spm_filter(cutoff, columns):
    # fix(2 * 96 * 7 / cutoff + 1) cosines, the constant dropped (docs/spm12.md: 10 for 128 s)
    assert spm_drift_basis(96, 7.0, cutoff).shape == (96, columns)


def test_no_cutoff_gives_no_filter():
    assert spm_drift_basis(50, 2.0, np.inf).shape == (50, 0)
    Y = np.arange(10.0)[:, None]
    assert_allclose(spm_filter(np.zeros((10, 0)), Y), Y)


def test_the_dct_basis_is_orthonormal():
    C = spm_dctmtx(40, 12)
    assert_allclose(C.T @ C, np.eye(12), atol=1e-13)


def test_the_filter_removes_the_drifts_and_nothing_else():
    X0 = spm_drift_basis(60, 2.0, 40.0)
    rng = np.random.default_rng(3)
    drift = X0 @ rng.standard_normal(X0.shape[1])
    assert_allclose(spm_filter(X0, drift[:, None]), 0, atol=1e-12)
    orthogonal = np.ones((60, 1))
    assert_allclose(spm_filter(X0, orthogonal), orthogonal, atol=1e-12)
