"""Hypothesis strategies: full-rank designs, stationary rho, estimable contrasts."""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st


@st.composite
def full_rank_designs(draw, min_scans=20, max_scans=60, max_regressors=5):
    """A design with a constant column and a condition number below 1e6."""
    n = draw(st.integers(min_scans, max_scans))
    p = draw(st.integers(2, max_regressors))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.standard_normal((n, p - 1)), np.ones(n)])
    assume(np.linalg.matrix_rank(X) == p and np.linalg.cond(X) < 1e6)
    return X


def stationary_rhos():
    """AR(1) coefficients strictly inside the unit interval."""
    return st.floats(-0.9, 0.9, allow_nan=False, allow_infinity=False)


@st.composite
def data_for(draw, X, n_voxels_max=6):
    """Y = X beta + noise for a few voxels."""
    v = draw(st.integers(1, n_voxels_max))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    beta = rng.standard_normal((X.shape[1], v)) * 3
    return X @ beta + rng.standard_normal((X.shape[0], v))


@st.composite
def estimable_contrasts(draw, p, rows=1):
    """A contrast matrix with q rows of full row rank (estimable for a full-rank X)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    C = rng.integers(-2, 3, size=(rows, p)).astype(float)
    assume(np.linalg.matrix_rank(C) == rows)
    return C
