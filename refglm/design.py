"""First-level design matrices: event regressors, drifts, confounds.

Reproduces nistats 0.0.1rc0 ``nistats/design_matrix.py`` and
``nistats/experimental_paradigm.py`` (convention ``'nistats'``, the default) and
nilearn 0.14.1 ``nilearn/glm/first_level/design_matrix.py`` /
``experimental_paradigm.py`` (convention ``'nilearn'``). The HRF-level differences
are listed in ``refglm.hrf.HRF_CHOICES``; the design-level ones in ``DESIGN_CHOICES``:

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

Events are validated more strictly than in either source (see ``check_events``);
a missing ``trial_type`` column gives the single condition ``'dummy'`` as documented
by both sources (nistats 0.0.1rc0 ``check_events`` actually reads
``events['trial_type']`` before testing for it and raises ``KeyError``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.linalg as spl

from refglm.hrf import (
    HRF_CHOICES,
    _check_finite,
    _check_fir_delays,
    _check_frame_times,
    _check_hrf_model,
    _check_oversampling,
    _check_positive,
    _input_error,
    _is_real_number,
    _resolve_convention,
    compute_regressor,
    orthogonalize,
)

__all__ = [
    "DESIGN_CHOICES",
    "DRIFT_MODELS",
    "check_events",
    "make_drift",
    "make_first_level_design_matrix",
]

#: Accepted values of ``drift_model`` (strings are compared in lower case).
DRIFT_MODELS = ("cosine", "polynomial", None)

#: For each convention, the value of every design-level choice (see module docstring).
DESIGN_CHOICES: dict[str, dict[str, object]] = {
    "nistats": {"duplicate_events": "keep", "add_regs_names_from_dataframe": False},
    "nilearn": {"duplicate_events": "sum_modulation", "add_regs_names_from_dataframe": True},
}

# nistats 0.0.1rc0 utils.py full_rank: cmax=1e15
_CMAX = 1e15


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------


def _numeric_column(events: pd.DataFrame, column: str) -> np.ndarray:
    series = events[column]
    try:
        values = series.to_numpy(dtype=float)
    except (TypeError, ValueError):
        bad = None
        for value in series:
            try:
                float(value)
            except (TypeError, ValueError):
                bad = value
                break
        raise _input_error(
            f"events['{column}']",
            "numeric values",
            f"non-numeric value {bad!r}",
            f"convert the {column} column to numbers (seconds for onset/duration)",
        ) from None
    if not np.all(np.isfinite(values)):
        raise _input_error(
            f"events['{column}']",
            "finite values",
            f"{int(np.sum(~np.isfinite(values)))} NaN/inf value(s)",
            f"fill in or drop the events with a missing {column}",
        )
    return values


def check_events(events: pd.DataFrame) -> pd.DataFrame:
    """Validate an events table and return its four model columns.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event. Required columns ``onset`` and ``duration`` (seconds,
        numeric, finite, ``duration >= 0``); optional ``trial_type`` (condition
        label, default ``'dummy'`` for every event) and ``modulation`` (amplitude,
        default 1). Other columns are ignored.

    Returns
    -------
    events : pandas.DataFrame
        Columns ``trial_type``, ``onset``, ``duration``, ``modulation`` (the last three
        as float), rows in input order, index ``0 .. n_events - 1``.

    Notes
    -----
    Source: nistats 0.0.1rc0 experimental_paradigm.py ``check_events`` (requires
    ``onset`` and ``duration``; ``duration`` and ``modulation`` cast to float;
    ``modulation`` defaults to ``np.ones(n_events)``; ``trial_type`` documented to default
    to ``np.repeat('dummy', n_events)``); nilearn 0.14.1 ``check_events`` (also rejects
    NaN and non-castable onset/duration, defaults ``trial_type`` to ``'dummy'``).
    refglm additionally rejects negative durations and NaN modulations or trial types.
    """
    if not isinstance(events, pd.DataFrame):
        raise _input_error(
            "events",
            "a pandas DataFrame with 'onset' and 'duration' columns",
            type(events).__name__,
            "load the events with pandas.read_csv(path, sep='\\t')",
        )
    for column in ("onset", "duration"):
        if column not in events.columns:
            raise _input_error(
                "events",
                f"a '{column}' column",
                f"columns {list(events.columns)}",
                f"add the '{column}' column in seconds (BIDS events.tsv layout)",
            )
    onset = _numeric_column(events, "onset")
    duration = _numeric_column(events, "duration")
    if np.any(duration < 0):
        raise _input_error(
            "events['duration']",
            "durations >= 0 s",
            f"minimum duration {duration.min()!r}",
            "fix the negative durations (0 models an impulse)",
        )
    if "modulation" in events.columns:
        modulation = _numeric_column(events, "modulation")
    else:
        modulation = np.ones(len(events))
    if "trial_type" in events.columns:
        trial_type = np.asarray(events["trial_type"].to_numpy(), dtype=object)
        missing = pd.isna(events["trial_type"]).to_numpy()
        if missing.any():
            raise _input_error(
                "events['trial_type']",
                "a condition label for every event",
                f"{int(missing.sum())} missing label(s)",
                "fill in or drop the events without a trial_type",
            )
    else:
        trial_type = np.repeat("dummy", len(events)).astype(object)
    try:
        np.unique(trial_type)
    except TypeError:
        raise _input_error(
            "events['trial_type']",
            "labels of one sortable type (e.g. all strings)",
            f"types {sorted({type(t).__name__ for t in trial_type})}",
            "convert the trial_type column to str",
        ) from None
    return pd.DataFrame(
        {"trial_type": trial_type, "onset": onset, "duration": duration, "modulation": modulation}
    )


def _merge_duplicate_events(events: pd.DataFrame) -> pd.DataFrame:
    """Sum the modulation of events sharing trial_type, onset and duration.

    Source: nilearn 0.14.1 experimental_paradigm.py ``handle_modulation_of_duplicate_events``:
    ``events.groupby(["trial_type", "onset", "duration"], sort=False)
    .agg({"modulation": "sum"}).reset_index()`` (nilearn PR #2680).
    """
    return (
        events.groupby(["trial_type", "onset", "duration"], sort=False)
        .agg({"modulation": "sum"})
        .reset_index()
    )


# ---------------------------------------------------------------------------
# Drifts
# ---------------------------------------------------------------------------


def _cosine_drift(high_pass: float, frame_times: np.ndarray) -> np.ndarray:
    """DCT-II drift basis below ``high_pass`` plus a constant column.

    Parameters
    ----------
    high_pass : float
        Cut-off frequency in Hz (> 0).
    frame_times : ndarray of shape (n,)
        Acquisition times in seconds.

    Returns
    -------
    drift : ndarray of shape (n, order + 1)
        ``drift[j, k-1] = sqrt(2/n) cos(pi/n (j + 1/2) k)`` for ``k = 1 .. order``,
        ``order = min(n - 1, floor(2 n high_pass dt))``, ``dt = (t_{n-1} - t_0)/(n - 1)``;
        the last column is 1.

    Notes
    -----
    Source: nistats 0.0.1rc0 design_matrix.py ``_cosine_drift``; nilearn 0.14.1
    ``nilearn.signal.create_cosine_drift`` identical.
    """
    n_frames = len(frame_times)
    n_times = np.arange(n_frames)
    dt = (frame_times[-1] - frame_times[0]) / (n_frames - 1)
    if high_pass * dt >= 0.5:
        warnings.warn(
            "High-pass filter will span all accessible frequencies and saturate the design "
            f"matrix (high_pass={high_pass} Hz, t_r={dt} s); reduce high_pass.",
            UserWarning,
            stacklevel=3,
        )
    order = np.minimum(n_frames - 1, int(np.floor(2 * n_frames * high_pass * dt)))
    cosine_drift = np.zeros((n_frames, order + 1))
    normalizer = np.sqrt(2.0 / n_frames)
    for k in range(1, order + 1):
        cosine_drift[:, k - 1] = normalizer * np.cos((np.pi / n_frames) * (n_times + 0.5) * k)
    cosine_drift[:, -1] = 1.0
    return cosine_drift


def _poly_drift(order: int, frame_times: np.ndarray) -> np.ndarray:
    """Orthogonalised polynomial drifts of degree 1 .. order plus a constant column.

    Parameters
    ----------
    order : int
        Highest polynomial degree (>= 0).
    frame_times : ndarray of shape (n,)
        Acquisition times in seconds (last > 0).

    Returns
    -------
    drift : ndarray of shape (n, order + 1)
        Columns ``(t / t_max)^k`` for ``k = 0 .. order`` orthogonalised in that order with
        ``orthogonalize`` (not normalised), then the ``k = 0`` (constant) column moved last.

    Notes
    -----
    Source: nistats 0.0.1rc0 design_matrix.py ``_poly_drift``:
    ``pol[:, k] = (frame_times / tmax) ** k; pol = _orthogonalize(pol);
    pol = np.hstack((pol[:, 1:], pol[:, :1]))``; nilearn 0.14.1 identical.
    """
    order = int(order)
    pol = np.zeros((np.size(frame_times), order + 1))
    tmax = float(frame_times.max())
    for k in range(order + 1):
        pol[:, k] = (frame_times / tmax) ** k
    pol = orthogonalize(pol)
    pol = np.hstack((pol[:, 1:], pol[:, :1]))
    return pol


def _none_drift(frame_times: np.ndarray) -> np.ndarray:
    """Constant column ``ones(n, 1)`` (nistats 0.0.1rc0 design_matrix.py ``_none_drift``)."""
    return np.reshape(np.ones_like(frame_times), (np.size(frame_times), 1))


def _check_drift_model(drift_model: object) -> str | None:
    if isinstance(drift_model, str):
        drift_model = drift_model.lower()
    if drift_model not in DRIFT_MODELS:
        raise _input_error(
            "drift_model",
            f"one of {list(DRIFT_MODELS)}",
            repr(drift_model),
            "choose one of the listed models (the nistats tutorial uses 'cosine')",
        )
    return drift_model


def make_drift(
    drift_model: str | None,
    frame_times: np.ndarray,
    drift_order: int = 1,
    high_pass: float = 0.01,
) -> tuple[np.ndarray, list[str]]:
    """Drift regressors and their names.

    Parameters
    ----------
    drift_model : {'cosine', 'polynomial', None}
        Drift basis (case-insensitive).
    frame_times : array of shape (n_scans,)
        Acquisition times in seconds.
    drift_order : int, default=1
        Polynomial degree, used when ``drift_model='polynomial'`` (whole number >= 0).
    high_pass : float, default=0.01
        Cut-off in Hz, used when ``drift_model='cosine'`` (> 0).

    Returns
    -------
    drift : ndarray of shape (n_scans, n_drifts)
        ``_cosine_drift``, ``_poly_drift`` or ``_none_drift``; the last column is the
        constant.
    names : list of str
        ``['drift_1', ..., 'drift_{n_drifts-1}', 'constant']``.

    Notes
    -----
    Source: nistats 0.0.1rc0 design_matrix.py ``_make_drift`` (names ``'drift_%d' % k``
    then ``'constant'``); nilearn 0.14.1 identical.
    """
    drift_model = _check_drift_model(drift_model)
    frame_times = _check_frame_times(frame_times)
    if drift_model == "polynomial":
        if (
            not _is_real_number(drift_order)
            or not np.isfinite(drift_order)
            or drift_order < 0
            or float(drift_order) != int(drift_order)
        ):
            raise _input_error(
                "drift_order",
                "a whole number >= 0",
                repr(drift_order),
                "pass e.g. drift_order=1 (linear drift)",
            )
        drift = _poly_drift(int(drift_order), frame_times)
    elif drift_model == "cosine":
        high_pass = _check_positive(
            high_pass, "high_pass", "pass the cut-off frequency in Hz, e.g. high_pass=0.01 (100 s)"
        )
        drift = _cosine_drift(high_pass, frame_times)
    else:
        drift = _none_drift(frame_times)
    names = [f"drift_{k:d}" for k in range(1, drift.shape[1])]
    names.append("constant")
    return drift, names


# ---------------------------------------------------------------------------
# Design matrix
# ---------------------------------------------------------------------------


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
            raise _input_error(
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
        raise _input_error(
            "add_regs",
            "a numeric array of shape (n_scans, n_regressors)",
            "values that cannot be converted to float",
            "pass numeric confound regressors",
        ) from None
    if values.ndim == 1:
        # nistats 0.0.1rc0: a vector becomes one column
        values = np.reshape(values, (values.size, 1))
    if values.ndim != 2 or values.shape[0] != n_frames:
        raise _input_error(
            "add_regs",
            f"shape ({n_frames}, n_regressors), one row per frame time",
            f"shape {values.shape}",
            "pass one row per scan (transpose if needed)",
        )
    if not np.all(np.isfinite(values)):
        raise _input_error(
            "add_regs",
            "finite values",
            f"{int(np.sum(~np.isfinite(values)))} NaN/inf value(s)",
            "fill in the missing confound values (e.g. 0 for the first-frame derivatives)",
        )
    n_add_regs = values.shape[1]
    if add_reg_names is None:
        names = [f"reg{k:d}" for k in range(n_add_regs)]
    else:
        names = [str(name) for name in add_reg_names]
        if len(names) != n_add_regs:
            raise _input_error(
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
    hrf_model : str or None, default='glover'
        One of ``refglm.hrf.HRF_MODELS``.
    drift_model : {'cosine', 'polynomial', None}, default='cosine'
        Drift basis.
    high_pass : float, default=0.01
        Cosine cut-off in Hz (> 0).
    drift_order : int, default=1
        Polynomial degree.
    fir_delays : sequence of int, default=(0,)
        FIR delays in scans.
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
        ``refglm.hrf.HRF_CHOICES`` and ``DESIGN_CHOICES``.

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
    frame_times = _check_frame_times(frame_times)
    design_choices = _resolve_convention(convention, DESIGN_CHOICES)
    _resolve_convention(convention, HRF_CHOICES)
    hrf_model = _check_hrf_model(hrf_model)
    drift_model = _check_drift_model(drift_model)
    oversampling = _check_oversampling(oversampling)
    min_onset = _check_finite(min_onset, "min_onset", "pass a value <= 0 such as -24")
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
        raise _input_error(
            "design matrix column names",
            "unique names",
            f"duplicated {duplicated}",
            "rename the trial types or add_reg_names that collide with each other or with "
            "'drift_k'/'constant'",
        )

    # step 4: force the design matrix to be full rank at working precision
    matrix = _full_rank(np.hstack(blocks))
    return pd.DataFrame(matrix, columns=names, index=frame_times)
