"""nilearn 0.14.1's design functions, with its signatures and defaults, under its formulas.

Each calls ``refglm.glm.design`` with ``convention='nilearn'`` (the formulas of
nilearn's HRFs and design matrix: ``refglm.glm.design.formulas``), checked against
nilearn itself by ``tests/glm/design`` and ``tests/peers/test_nilearn_api.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from refglm.exceptions import InputError
from refglm.glm import design as _design
from refglm.glm.scaling import mean_scaling as _mean_scaling

__all__ = [
    "make_first_level_design_matrix",
    "check_design_matrix",
    "compute_regressor",
    "mean_scaling",
    "spm_hrf",
    "glover_hrf",
    "spm_time_derivative",
    "glover_time_derivative",
    "spm_dispersion_derivative",
    "glover_dispersion_derivative",
]

CONVENTION = "nilearn"


def make_first_level_design_matrix(
    frame_times,
    events=None,
    hrf_model="glover",
    drift_model="cosine",
    high_pass=0.01,
    drift_order=1,
    fir_delays=None,
    add_regs=None,
    add_reg_names=None,
    min_onset=-24,
    oversampling=50,
):
    """A first-level design matrix: nilearn 0.14.1's ``make_first_level_design_matrix``.

    The conditions' regressors (``np.unique`` order), ``add_regs``, the drifts and the
    constant, made full rank (condition number 1e15), by
    ``refglm.glm.design.make_first_level_design_matrix(..., convention='nilearn')``;
    ``events`` may be a TSV (tab) or CSV path, ``fir_delays=None`` is ``[0]``,
    ``hrf_model`` a name, a callable or a list of callables.
    # nilearn 0.14.1 glm/first_level/design_matrix.py make_first_level_design_matrix

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(events, str) or hasattr(events, "__fspath__"):
        path = str(events)
        events = pd.read_csv(path, sep="\t" if path.endswith(".tsv") else ",")
    return _design.make_first_level_design_matrix(
        frame_times,
        events,
        hrf_model=hrf_model,
        drift_model=drift_model,
        high_pass=high_pass,
        drift_order=drift_order,
        fir_delays=fir_delays,
        add_regs=add_regs,
        add_reg_names=add_reg_names,
        min_onset=min_onset,
        oversampling=oversampling,
        convention=CONVENTION,
    )


def check_design_matrix(design_matrix):
    """``(frame_times, matrix, names)`` of a design: nilearn 0.14.1's ``check_design_matrix``.

    # nilearn 0.14.1 glm/first_level/design_matrix.py check_design_matrix: the index,
    # design_matrix.to_numpy(), design_matrix.columns.tolist()
    """
    if not isinstance(design_matrix, pd.DataFrame):
        raise InputError(
            f"design_matrix: expected a pandas.DataFrame, found {type(design_matrix).__name__}."
        )
    return design_matrix.index, design_matrix.to_numpy(), design_matrix.columns.tolist()


def compute_regressor(
    exp_condition,
    hrf_model,
    frame_times,
    con_id="cond",
    oversampling=50,
    fir_delays=None,
    min_onset=-24,
):
    """One condition's regressors: nilearn 0.14.1's ``compute_regressor``.

    # nilearn 0.14.1 glm/first_level/hemodynamic_models.py compute_regressor
    """
    return _design.compute_regressor(
        exp_condition,
        hrf_model,
        frame_times,
        con_id=con_id,
        oversampling=oversampling,
        fir_delays=fir_delays,
        min_onset=min_onset,
        convention=CONVENTION,
    )


def mean_scaling(Y, axis=0):
    r"""Percent signal change :math:`100(Y/\max(\bar Y, 1) - 1)`: nilearn's ``mean_scaling``.

    # nilearn 0.14.1 glm/first_level/first_level.py mean_scaling
    """
    return _mean_scaling(np.asarray(Y), axis)


def spm_hrf(t_r, oversampling=50, time_length=32.0, onset=0.0):
    """SPM's canonical HRF: nilearn 0.14.1's ``spm_hrf`` (``refglm.glm.design.spm_hrf``)."""
    return _design.spm_hrf(t_r, oversampling, time_length, onset, convention=CONVENTION)


def glover_hrf(t_r, oversampling=50, time_length=32.0, onset=0.0):
    """Glover's HRF: nilearn 0.14.1's ``glover_hrf`` (ratio 0.48, PR #4452)."""
    return _design.glover_hrf(t_r, oversampling, time_length, onset, convention=CONVENTION)


def spm_time_derivative(t_r, oversampling=50, time_length=32.0, onset=0.0):
    """The SPM HRF's time derivative: nilearn 0.14.1's ``spm_time_derivative``."""
    return _design.spm_time_derivative(t_r, oversampling, time_length, onset, convention=CONVENTION)


def glover_time_derivative(t_r, oversampling=50, time_length=32.0, onset=0.0):
    """Glover's HRF's time derivative: nilearn 0.14.1's ``glover_time_derivative``."""
    return _design.glover_time_derivative(
        t_r, oversampling, time_length, onset, convention=CONVENTION
    )


def spm_dispersion_derivative(t_r, oversampling=50, time_length=32.0, onset=0.0):
    """The SPM HRF's dispersion derivative: nilearn 0.14.1's ``spm_dispersion_derivative``."""
    return _design.spm_dispersion_derivative(
        t_r, oversampling, time_length, onset, convention=CONVENTION
    )


def glover_dispersion_derivative(t_r, oversampling=50, time_length=32.0, onset=0.0):
    """Glover's HRF's dispersion derivative: nilearn 0.14.1's ``glover_dispersion_derivative``."""
    return _design.glover_dispersion_derivative(
        t_r, oversampling, time_length, onset, convention=CONVENTION
    )
