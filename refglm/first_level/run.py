"""The design of one run: its frame times, and the matrix built from its events (or given).

One formula for the frame times (:func:`frame_times`) and one function that builds a
run's design from a model's parameters (:func:`first_level_design`): the fit uses it
(:func:`run_design`, which also checks the design against the run), and so do
``refglm fit`` (to check the contrasts before the long fit) and ``refglm
explain-voxel`` (to rebuild the tutorial's design without fitting).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from refglm import io
from refglm.conventions import get_convention
from refglm.exceptions import InputError
from refglm.glm.design import make_first_level_design_matrix

__all__ = ["frame_times", "first_level_design", "run_design"]


def frame_times(n_scans: int, t_r: float, slice_time_ref: float = 0.0) -> np.ndarray:
    """The acquisition time of each scan, in seconds.

    .. math:: t_k = (k + s)\\,T_R, \\quad k = 0, \\dots, n - 1

    with :math:`s` = ``slice_time_ref`` (the fraction of the repetition time at which
    each scan is referenced).
    # nistats first_level_model.py fit: start_time = slice_time_ref * t_r; end_time =
    # (n_scans - 1 + slice_time_ref) * t_r; np.linspace(start_time, end_time, n_scans)
    """
    start = slice_time_ref * t_r
    end = (n_scans - 1 + slice_time_ref) * t_r
    return np.linspace(start, end, n_scans)


def first_level_design(model, n_scans: int, events) -> pd.DataFrame:
    """The design matrix ``model.fit`` builds for a run of ``n_scans`` scans with ``events``.

    :func:`frame_times`, then ``make_first_level_design_matrix`` with the model's
    ``hrf_model``, drifts, ``fir_delays`` and ``min_onset`` and its convention's
    HRF formula.

    Parameters
    ----------
    model : refglm.FirstLevelModel
        Fitted or not: only its parameters are read.
    n_scans : int
    events : pandas.DataFrame or path to a TSV

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(events, str) or hasattr(events, "__fspath__"):
        events = io.read_events(events)
    conv = get_convention(model.convention)
    return make_first_level_design_matrix(
        frame_times(n_scans, model.t_r, model.slice_time_ref),
        events,
        hrf_model=model.hrf_model,
        drift_model=model.drift_model,
        high_pass=model.high_pass,
        drift_order=model.drift_order,
        fir_delays=list(model.fir_delays),
        min_onset=model.min_onset,
        convention=conv.hrf_formula,
    )


def run_design(model, events, design_matrices, n_scans: int):
    """The run's design (a DataFrame) and its float64 array ``X``, checked against the run.

    Built from ``events`` with :func:`first_level_design` when
    ``design_matrices`` is None. The design must have fewer columns than the
    run has scans; a rank-deficient one is warned about, naming the caller of
    ``fit``/``fit_array`` (``stacklevel=4``: run_design, _fit_run, fit_array).
    """
    if design_matrices is None:
        if events is None:
            raise InputError(
                "events: expected a DataFrame or a TSV path, found None; pass the run's "
                "events.tsv (or design_matrices=)."
            )
        design = first_level_design(model, n_scans, events)
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
