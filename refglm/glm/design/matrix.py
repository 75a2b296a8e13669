"""First-level design matrices: event regressors, confounds, drifts, constant.

Reproduces nistats 0.0.1rc0 ``nistats/design_matrix.py`` and
``nistats/experimental_paradigm.py`` (convention ``'nistats'``, the default) and
nilearn 0.14.1 ``nilearn/glm/first_level/design_matrix.py`` /
``experimental_paradigm.py`` (convention ``'nilearn'``). The HRF-level differences
are listed in :mod:`refglm.glm.design.formulas` (``HRF_CHOICES``); the design-level ones
(``DESIGN_CHOICES``) act here:

``duplicate_events``
    nistats 0.0.1rc0 passes the events of a condition unchanged to
    ``compute_regressor`` (``'keep'``). nilearn PR #2680 (addresses nilearn issue
    #2668), now ``handle_modulation_of_duplicate_events``, first merges events with
    the same ``trial_type``, ``onset`` and ``duration`` and sums their
    ``modulation`` (``'sum_modulation'``, ``groupby(..., sort=False)``).
``add_regs_names_from_dataframe``
    nilearn 0.14.1 takes the names of a DataFrame ``add_regs`` from its columns and
    ignores ``add_reg_names`` (``True``); nistats 0.0.1rc0 treats it as an array
    (``False``).

The drift models (``_cosine_drift``, ``_poly_drift``, the constant), the column
order (conditions in ``np.unique`` order, then ``add_regs``, then drifts, then
``constant``) and the ``full_rank`` regularisation are the same in both.

This module assembles the matrix; the steps live in their own modules: events in
:mod:`refglm.glm.design.events`, drifts in :mod:`refglm.glm.design.drifts`, event
regressors in :mod:`refglm.glm.design.hrf`; ``refglm.glm.design`` collects their public
names.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.linalg as spl

from refglm._validate import check_finite, input_error
from refglm.glm.design._validate import (
    check_all_finite,
    check_frame_times,
    check_oversampling,
    resolve_convention,
)
from refglm.glm.design.drifts import _check_drift_model, make_drift
from refglm.glm.design.events import _merge_duplicate_events, check_events
from refglm.glm.design.formulas import DESIGN_CHOICES, HRF_CHOICES
from refglm.glm.design.hrf import _check_fir_delays, _check_hrf_model, compute_regressor

__all__ = ["make_first_level_design_matrix"]


# nistats 0.0.1rc0 utils.py full_rank: cmax=1e15
_CMAX = 1e15


def _full_rank(X: np.ndarray, cmax: float = _CMAX) -> np.ndarray:
    """Regularise ``X`` to condition number ``cmax`` if it is numerically singular.

    ``U, s, V = svd(X)``; if ``max(s) / min(s) >= cmax``, return ``U diag(s + l) V`` with
    ``l = (max(s) - cmax min(s)) / (cmax - 1)``, else ``X`` unchanged.

    Source: nistats 0.0.1rc0 utils.py ``full_rank``; nilearn 0.14.1
    ``nilearn.glm._utils.full_rank`` identical.
    """
    U, s, V = spl.svd(X, full_matrices=False)
    smax, smin = s.max(), s.min()
    if smax / smin < cmax:
        return X
    warnings.warn(
        "Design matrix is singular at working precision; regularising it to condition "
        f"number {cmax:g} as nistats/nilearn full_rank does. Check for empty or collinear "
        "regressors.",
        UserWarning,
        stacklevel=3,
    )
    lda = (smax - cmax * smin) / (cmax - 1)
    return np.dot(U, np.dot(np.diag(s + lda), V))


def _check_add_regs(
    add_regs: object,
    add_reg_names: Sequence[str] | None,
    n_frames: int,
    names_from_dataframe: bool,
) -> tuple[np.ndarray | None, list[str]]:
    if add_regs is None:
        if add_reg_names is not None and len(add_reg_names) != 0:
            raise input_error(
                "add_reg_names",
                "no names when add_regs is None",
                f"{len(add_reg_names)} name(s)",
                "pass the regressors as add_regs or drop add_reg_names",
            )
        return None, []
    if isinstance(add_regs, pd.DataFrame):
        if names_from_dataframe:
            add_reg_names = [str(column) for column in add_regs.columns]
        add_regs = add_regs.to_numpy()
    try:
        values = np.asarray(add_regs, dtype=float)
    except (TypeError, ValueError):
        raise input_error(
            "add_regs",
            "a numeric array of shape (n_scans, n_regressors)",
            "values that cannot be converted to float",
            "pass numeric confound regressors",
        ) from None
    if values.ndim == 1:
        # nistats 0.0.1rc0: a vector becomes one column
        values = np.reshape(values, (values.size, 1))
    if values.ndim != 2 or values.shape[0] != n_frames:
        raise input_error(
            "add_regs",
            f"shape ({n_frames}, n_regressors), one row per frame time",
            f"shape {values.shape}",
            "pass one row per scan (transpose if needed)",
        )
    check_all_finite(
        values,
        "add_regs",
        "fill in the missing confound values (e.g. 0 for the first-frame derivatives)",
    )
    n_add_regs = values.shape[1]
    if add_reg_names is None:
        names = [f"reg{k:d}" for k in range(n_add_regs)]
    else:
        names = [str(name) for name in add_reg_names]
        if len(names) != n_add_regs:
            raise input_error(
                "add_reg_names",
                f"{n_add_regs} name(s), one per column of add_regs",
                f"{len(names)} name(s)",
                "pass one name per additional regressor",
            )
    return values, names


def make_first_level_design_matrix(
    frame_times: np.ndarray,
    events: pd.DataFrame | None = None,
    hrf_model: str | None = "glover",
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
    drift_order: int = 1,
    fir_delays: Sequence[int] = (0,),
    add_regs: np.ndarray | pd.DataFrame | None = None,
    add_reg_names: Sequence[str] | None = None,
    min_onset: float = -24.0,
    oversampling: int = 50,
    convention: str | Mapping = "nistats",
) -> pd.DataFrame:
    """First-level design matrix: event regressors, extra regressors, drifts, constant.

    Parameters
    ----------
    frame_times : array of shape (n_scans,)
        Acquisition times in seconds, strictly increasing, counted from the run start
        (nistats ``FirstLevelModel``: ``np.linspace(slice_time_ref * t_r,
        (n_scans - 1 + slice_time_ref) * t_r, n_scans)``).
    events : pandas.DataFrame, optional
        Events table (see ``check_events``). ``None`` gives drifts only.
    hrf_model : str, None, callable or list of callables, default='glover'
        One of ``refglm.glm.design.hrf.HRF_MODELS``, or a custom model: a callable
        ``f(t_r, oversampling)`` returning its kernel, or a list of them (columns
        ``<condition>_<f.__name__>``; ``refglm.glm.design.hrf.hrf_kernel``).
    drift_model : {'cosine', 'polynomial', None}, default='cosine'
        Drift basis.
    high_pass : float, default=0.01
        Cosine cut-off in Hz (> 0).
    drift_order : int, default=1
        Polynomial degree.
    fir_delays : sequence of int or None, default=(0,)
        FIR delays in scans; None is ``[0]`` (nilearn 0.14.1's default).
    add_regs : array of shape (n_scans, n_add_regs) or DataFrame, optional
        Extra regressors (confounds), placed after the event regressors.
    add_reg_names : sequence of str, optional
        Their names; default ``'reg0'``, ``'reg1'``, ...
    min_onset : float, default=-24
        Start of the high-resolution grid relative to the first frame (seconds, <= 0).
    oversampling : int, default=50
        Temporal oversampling factor of the convolution.
    convention : str or mapping, default='nistats'
        ``'nistats'``, ``'nilearn'`` or a mapping holding every key of
        ``refglm.glm.design.hrf.HRF_CHOICES`` and ``DESIGN_CHOICES``.

    Returns
    -------
    design_matrix : pandas.DataFrame
        Index ``frame_times``; columns, in order: for each condition in ``np.unique``
        (sorted) order its regressors (``c``, ``c_derivative``, ``c_dispersion`` or
        ``c_delay_d``), then the ``add_regs`` columns, then ``drift_1 .. drift_K``, then
        ``constant``.

    Notes
    -----
    ``X = full_rank([R_c1 .. R_cm, A, D])`` with ``R_c = compute_regressor(c)``,
    ``A = add_regs``, ``D = make_drift(...)``.

    Source: nistats 0.0.1rc0 design_matrix.py ``make_first_level_design_matrix`` and
    ``_convolve_regressors``; nilearn 0.14.1 ``make_first_level_design_matrix``.
    For the nistats tutorial (96 scans, t_r 7 s, ``frame_times = np.linspace(0, 665, 96)``,
    ``hrf_model='spm'``, ``high_pass=0.01``) the columns are ``active, rest,
    drift_1 .. drift_13, constant``.
    """
    frame_times = check_frame_times(frame_times)
    # A convention must set the design-level and the HRF-level choices (design keys first).
    design_choices = resolve_convention(convention, DESIGN_CHOICES)
    resolve_convention(convention, HRF_CHOICES)
    hrf_model = _check_hrf_model(hrf_model)
    drift_model = _check_drift_model(drift_model)
    oversampling = check_oversampling(oversampling)
    min_onset = check_finite(min_onset, "min_onset", "pass a value <= 0 such as -24")
    fir_delays = _check_fir_delays(fir_delays, hrf_model)
    add_values, add_names = _check_add_regs(
        add_regs,
        add_reg_names,
        frame_times.size,
        bool(design_choices["add_regs_names_from_dataframe"]),
    )

    names: list[str] = []
    blocks: list[np.ndarray] = []

    # step 1: events-related regressors
    if events is not None:
        table = check_events(events)
        if design_choices["duplicate_events"] == "sum_modulation":
            table = _merge_duplicate_events(table)
        trial_type = table["trial_type"].to_numpy()
        onset = table["onset"].to_numpy()
        duration = table["duration"].to_numpy()
        modulation = table["modulation"].to_numpy()
        for condition in np.unique(trial_type):
            mask = trial_type == condition
            regressors, reg_names = compute_regressor(
                (onset[mask], duration[mask], modulation[mask]),
                hrf_model,
                frame_times,
                con_id=str(condition),
                oversampling=oversampling,
                fir_delays=fir_delays,
                min_onset=min_onset,
                convention=convention,
            )
            blocks.append(regressors)
            names += reg_names

    # step 2: additional regressors
    if add_values is not None:
        blocks.append(add_values)
        names += add_names

    # step 3: drifts
    drift, drift_names = make_drift(drift_model, frame_times, drift_order, high_pass)
    blocks.append(drift)
    names += drift_names

    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise input_error(
            "design matrix column names",
            "unique names",
            f"duplicated {duplicated}",
            "rename the trial types or add_reg_names that collide with each other or with "
            "'drift_k'/'constant'",
        )

    # step 4: force the design matrix to be full rank at working precision
    matrix = _full_rank(np.hstack(blocks))
    return pd.DataFrame(matrix, columns=names, index=frame_times)
