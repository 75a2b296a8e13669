"""The design of one run for ``FirstLevelModel.fit_array``: built from events, or given.

Also checks that the design has fewer columns than the run has scans and
warns when it is rank-deficient.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from refglm import io
from refglm.design import make_first_level_design_matrix
from refglm.exceptions import InputError

__all__ = ["run_design"]


def run_design(model, conv, events, design_matrices, n_scans: int):
    """The run's design (a DataFrame) and its float64 array ``X``.

    ``model`` is the ``FirstLevelModel`` whose parameters (``t_r``,
    ``hrf_model``, drifts, ...) build the design from ``events`` when
    ``design_matrices`` is None. The rank warning names the caller of
    ``fit``/``fit_array`` (``stacklevel=4``: run_design, _fit_run, fit_array).
    """
    if design_matrices is None:
        if events is None:
            raise InputError(
                "events: expected a DataFrame or a TSV path, found None; pass the run's "
                "events.tsv (or design_matrices=)."
            )
        if isinstance(events, str) or hasattr(events, "__fspath__"):
            events = io.read_events(events)
        start = model.slice_time_ref * model.t_r
        end = (n_scans - 1 + model.slice_time_ref) * model.t_r
        # nistats first_level_model.py fit: np.linspace(start_time, end_time, n_scans)
        frame_times = np.linspace(start, end, n_scans)
        design = make_first_level_design_matrix(
            frame_times,
            events,
            hrf_model=model.hrf_model,
            drift_model=model.drift_model,
            high_pass=model.high_pass,
            drift_order=model.drift_order,
            fir_delays=list(model.fir_delays),
            min_onset=model.min_onset,
            convention=conv.hrf_formula,
        )
    else:
        design = design_matrices[0] if isinstance(design_matrices, list) else design_matrices
        if not isinstance(design, pd.DataFrame) or design.shape[0] != n_scans:
            raise InputError(
                f"design_matrices: expected a DataFrame with {n_scans} rows (one per scan), "
                f"found {getattr(design, 'shape', type(design).__name__)}."
            )
    X = design.to_numpy(dtype=np.float64)
    if X.shape[1] >= n_scans:
        raise InputError(
            f"run: expected more scans than design columns, found {n_scans} scans for "
            f"{X.shape[1]} columns; use a longer run or fewer regressors (raise high_pass?)."
        )
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        warnings.warn(
            f"design: rank {rank} < {X.shape[1]} columns; the design is rank-deficient, "
            "only estimable contrasts can be computed.",
            stacklevel=4,
        )
    return design, X
