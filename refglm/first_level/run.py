"""The design of one run: its frame times, and the matrix built from its events (or given).

One formula for the frame times (:func:`frame_times`) and one function that builds a
run's design from a model's parameters (:func:`first_level_design`): the fit uses it
(:func:`run_design`, which also checks the design against the run), and so do
``refglm fit`` (to check the contrasts before the long fit) and ``refglm
explain-voxel`` (to rebuild the tutorial's design without fitting).

The convention's ``design_builder`` chooses the builder: nistats' and nilearn's
``make_first_level_design_matrix`` (drifts as columns), or SPM12's ``spm_fMRI_design``
(:func:`spm_design`: the conditions of the events and one constant; the drifts are
SPM's DCT basis, :func:`drift_basis`, which its filter removes from data and design).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from refglm import io
from refglm._validate import fmt, is_whole_number
from refglm.conventions import get_convention
from refglm.exceptions import InputError
from refglm.glm.design import make_first_level_design_matrix
from refglm.glm.design.events import check_events

__all__ = [
    "frame_times",
    "first_level_design",
    "confound_regressors",
    "run_design",
    "SPM_HRF_MODELS",
    "SPM_MICROTIME_RESOLUTION",
    "SPM_MICROTIME_ONSET",
    "spm_conditions",
    "spm_design",
    "drift_basis",
    "no_interest_columns",
    "check_design_parameters",
]

#: ``hrf_model`` under SPM's builder -> SPM's ``bases.hrf.derivs``.
SPM_HRF_MODELS = {
    "spm": (0, 0),
    "spm + derivative": (1, 0),
    "spm + derivative + dispersion": (1, 1),
}
#: SPM12 spm_defaults.m: stats.fmri.t = 16 microtime bins per scan (``fmri_t``) ...
SPM_MICROTIME_RESOLUTION = 16
#: ... and stats.fmri.t0 = 8, the 1-based bin at which each scan is sampled (``fmri_t0``).
SPM_MICROTIME_ONSET = 8


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


def confound_regressors(confounds, n_scans: int, run: int = 0):
    """A run's confounds as ``(values, names)`` for the design's ``add_regs``.

    A DataFrame gives its columns' names; an array (n_scans, k) the names
    ``confound_0 .. confound_{k-1}``; a path to a ``.tsv`` (tab-separated) or ``.csv``
    file is read as a table with a header. The rows must be the run's scans.
    # nilearn 0.14.1 glm/first_level/first_level.py _create_single_design: DataFrame ->
    # columns.tolist() and to_numpy(); ndarray -> [f"confound_{i}" ...]; "Rows in
    # confounds does not match n_scans in run_img at index {run_idx}."; nistats 0.0.1b1
    # first_level_model.py fit: confounds[run_idx].values and .columns.tolist()

    Returns
    -------
    values : ndarray (n_scans, k) ; names : list of str
    """
    if isinstance(confounds, str) or hasattr(confounds, "__fspath__"):
        path = str(confounds)
        if path.endswith(".tsv"):
            confounds = pd.read_csv(path, sep="\t")
        elif path.endswith(".csv"):
            confounds = pd.read_csv(path)
        else:
            raise InputError(
                f"confounds: expected a DataFrame, an array or a .tsv/.csv file, found "
                f"{path!r}; save the table as .tsv (tab-separated) or .csv."
            )
    if isinstance(confounds, pd.DataFrame):
        names = [str(c) for c in confounds.columns]
        values = confounds.to_numpy()
    else:
        values = np.asarray(confounds)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise InputError(
                f"confounds: expected a 2-D array (n_scans, n_confounds), found shape "
                f"{values.shape}."
            )
        names = [f"confound_{i}" for i in range(values.shape[1])]
    if values.shape[0] != n_scans:
        raise InputError(
            f"confounds: expected {n_scans} rows (the scans of run {run}), found "
            f"{values.shape[0]}; pass one row per scan (nilearn: 'Rows in confounds does not "
            f"match n_scans in run_img at index {run}')."
        )
    return values, names


def first_level_design(model, n_scans: int, events, confounds=None) -> pd.DataFrame:
    """The design matrix ``model.fit`` builds for a run of ``n_scans`` scans with ``events``.

    :func:`frame_times`, then ``make_first_level_design_matrix`` with the model's
    ``hrf_model``, drifts, ``fir_delays`` and ``min_onset``, the run's ``confounds``
    (:func:`confound_regressors`, after the event regressors) and its convention's
    HRF formula.

    Parameters
    ----------
    model : refglm.FirstLevelModel
        Fitted or not: only its parameters are read.
    n_scans : int
    events : pandas.DataFrame or path to a TSV
    confounds : pandas.DataFrame, ndarray, path or None

    Returns
    -------
    pandas.DataFrame
    """
    if isinstance(events, str) or hasattr(events, "__fspath__"):
        events = io.read_events(events)
    conv = get_convention(model.convention)
    if conv.design_builder == "spm_fMRI_design":
        if confounds is not None:
            raise InputError(
                "confounds: expected None under design_builder 'spm_fMRI_design' (SPM's "
                "multiple regressors are not implemented), found a table; use "
                "convention='nistats' or 'nilearn'."
            )
        return spm_design(model, n_scans, events)
    check_design_parameters(model)
    oversampling = getattr(model, "oversampling", None)
    extra = {} if oversampling is None else {"oversampling": oversampling}
    if confounds is not None:
        extra["add_regs"], extra["add_reg_names"] = confound_regressors(confounds, n_scans)
    fir_delays = model.fir_delays
    return make_first_level_design_matrix(
        frame_times(n_scans, model.t_r, model.slice_time_ref),
        events,
        hrf_model=model.hrf_model,
        drift_model=model.drift_model,
        high_pass=model.high_pass,
        drift_order=model.drift_order,
        fir_delays=None if fir_delays is None else list(fir_delays),
        min_onset=model.min_onset,
        convention=conv.hrf_formula,
        **extra,
    )


def run_design(model, events, design_matrices, n_scans: int, confounds=None):
    """The run's design (a DataFrame) and its float64 array ``X``, checked against the run.

    Built from ``events`` (and ``confounds``) with :func:`first_level_design` when
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
        design = first_level_design(model, n_scans, events, confounds)
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


def _spm_microtime(model) -> tuple[int, int]:
    """SPM's ``fmri_t`` and ``fmri_t0`` from a model's ``oversampling`` and ``microtime_onset``."""
    fmri_t = getattr(model, "oversampling", None)
    fmri_t0 = getattr(model, "microtime_onset", None)
    fmri_t = SPM_MICROTIME_RESOLUTION if fmri_t is None else fmri_t
    fmri_t0 = SPM_MICROTIME_ONSET if fmri_t0 is None else fmri_t0
    if not is_whole_number(fmri_t, 1):
        raise InputError(
            f"oversampling: expected a whole number of microtime bins per scan >= 1 (SPM's "
            f"fmri_t), found {fmt(fmri_t)}; pass e.g. 16 (SPM's default)."
        )
    if not is_whole_number(fmri_t0, 1) or fmri_t0 > fmri_t:
        raise InputError(
            f"microtime_onset: expected a whole number between 1 and oversampling "
            f"({fmri_t}) (SPM's fmri_t0, 1-based), found {fmt(fmri_t0)}; pass e.g. 8 (SPM's "
            "default: the middle of a scan of 16 bins)."
        )
    return int(fmri_t), int(fmri_t0)


def check_design_parameters(model) -> tuple | None:
    """Check the model's parameters against its convention's design builder.

    Under SPM's builder (``'spm_fMRI_design'``): an SPM HRF (:data:`SPM_HRF_MODELS`),
    ``slice_time_ref=0``, cosine drifts or none, and a valid microtime
    (``oversampling``, ``microtime_onset``); returns SPM's ``derivs``, ``fmri_t`` and
    ``fmri_t0``. Under nistats' builder: no ``microtime_onset`` (SPM's ``fmri_t0``);
    returns None.

    Raises
    ------
    InputError
        Naming the parameter and what the builder takes instead.
    """
    conv = get_convention(model.convention)
    if conv.design_builder != "spm_fMRI_design":
        if getattr(model, "microtime_onset", None) is not None:
            raise InputError(
                f"microtime_onset: expected None under design_builder "
                f"'make_first_level_design_matrix' (convention {conv.name!r}), found "
                f"{model.microtime_onset!r}; it is SPM's fmri_t0: use slice_time_ref here, or "
                "convention='spm12'."
            )
        return None
    hrf_model = model.hrf_model.lower() if isinstance(model.hrf_model, str) else model.hrf_model
    if hrf_model not in SPM_HRF_MODELS:
        raise InputError(
            f"hrf_model: expected one of {list(SPM_HRF_MODELS)} under design_builder "
            f"'spm_fMRI_design' (convention {conv.name!r}: SPM's canonical HRF and its "
            f"derivatives), found {model.hrf_model!r}; use hrf_model='spm'."
        )
    if model.slice_time_ref:
        raise InputError(
            f"slice_time_ref: expected 0 under design_builder 'spm_fMRI_design', found "
            f"{fmt(model.slice_time_ref)}; SPM samples each scan at a microtime bin: pass "
            "microtime_onset (SPM's fmri_t0, 1-based, 8 of 16 by default) instead."
        )
    if model.drift_model not in ("cosine", None):
        raise InputError(
            f"drift_model: expected 'cosine' (SPM's DCT high-pass filter) or None under "
            f"design_builder 'spm_fMRI_design', found {model.drift_model!r}; SPM has no "
            "polynomial drifts."
        )
    return SPM_HRF_MODELS[hrf_model], *_spm_microtime(model)


def spm_conditions(events: pd.DataFrame, modulators=None) -> list:
    """SPM's conditions (``sess.cond``) from an events table, for ``spm_fMRI_design``.

    One condition per ``trial_type``, in the order of their first event; onsets and
    durations in seconds (SPM's ``units='secs'``), events in the table's order.

    Parameters
    ----------
    events : pandas.DataFrame
        BIDS events (``check_events``); a ``modulation`` column must be all 1 (SPM
        has no amplitude modulation: it adds parametric modulators as columns).
    modulators : dict or None
        SPM's modulators per trial type, ``{trial_type: {"pmod": [(column, order),
        ...], "tmod": order, "orth": bool}}``: parametric modulators whose values
        are the events' ``column`` (polynomial ``order``), time modulation (time in
        minutes, ``tmod``), and whether they are orthogonalised (SPM's ``orth``,
        default True).

    Returns
    -------
    list of refglm.glm.design.spm.SpmCondition
    """
    from refglm.glm.design.spm import SpmCondition

    table = check_events(events)
    if not np.all(table["modulation"].to_numpy() == 1):
        raise InputError(
            "events['modulation']: expected 1 for every event under design_builder "
            "'spm_fMRI_design' (SPM scales no event), found other values; express them "
            "as a parametric modulator: modulators={trial_type: {'pmod': [(column, 1)]}}."
        )
    original = events.reset_index(drop=True)
    modulators = {} if modulators is None else dict(modulators)
    names = list(pd.unique(table["trial_type"]))
    unknown = [k for k in modulators if k not in names]
    if unknown:
        raise InputError(
            f"modulators: expected trial types of the events ({', '.join(map(str, names))}), "
            f"found {unknown}; key the modulators by trial_type."
        )
    conditions = []
    for name in names:
        rows = np.flatnonzero(table["trial_type"].to_numpy() == name)
        spec = dict(modulators.get(name, {}))
        bad = set(spec) - {"pmod", "tmod", "orth"}
        if bad:
            raise InputError(
                f"modulators[{name!r}]: expected the keys 'pmod', 'tmod', 'orth', found "
                f"{sorted(bad)}."
            )
        pmod = []
        for column, order in spec.get("pmod", ()):
            if column not in original.columns:
                raise InputError(
                    f"modulators[{name!r}]['pmod']: expected a column of the events, found "
                    f"{column!r}; add the modulator's values as a column."
                )
            values = pd.to_numeric(original[column].iloc[rows], errors="coerce").to_numpy()
            if not np.all(np.isfinite(values)):
                raise InputError(
                    f"events[{column!r}]: expected a finite number for every {name!r} event."
                )
            if not is_whole_number(order, 1):
                raise InputError(
                    f"modulators[{name!r}]['pmod']: expected a polynomial order >= 1 for "
                    f"{column!r}, found {fmt(order)}."
                )
            pmod.append((str(column), values, int(order)))
        tmod = spec.get("tmod", 0) or 0
        if not is_whole_number(tmod, 0):
            raise InputError(f"modulators[{name!r}]['tmod']: expected an order >= 0.")
        conditions.append(
            SpmCondition(
                str(name),
                table["onset"].to_numpy()[rows],
                table["duration"].to_numpy()[rows],
                int(tmod),
                pmod,
                bool(spec.get("orth", True)),
            )
        )
    return conditions


def spm_design(model, n_scans: int, events) -> pd.DataFrame:
    r"""SPM12's design ``xX.X`` of a run (design builder ``'spm_fMRI_design'``).

    :func:`spm_conditions` of the events, then
    ``refglm.glm.design.spm.spm_fmri_design`` with the model's ``hrf_model``
    (``'spm'``, ``'spm + derivative'``, ``'spm + derivative + dispersion'``),
    ``oversampling`` (SPM's ``fmri_t``, 16 by default) and ``microtime_onset``
    (``fmri_t0``, 8 by default). The columns are named after the conditions
    (``<condition>_derivative``, ``<condition>_dispersion``,
    ``<condition>x<modulator>^<order>``) and ``constant``; the index is the scans'
    onsets, :math:`k\,T_R`. There is no drift column: see :func:`drift_basis`.
    """
    from refglm.glm.design.spm import spm_fmri_design

    derivatives, fmri_t, fmri_t0 = check_design_parameters(model)
    if events is None:
        raise InputError(
            "events: expected a DataFrame or a TSV path, found None; SPM's design needs "
            "the run's conditions."
        )
    conditions = spm_conditions(events, getattr(model, "modulators", None))
    built = spm_fmri_design(
        conditions,
        n_scans,
        float(model.t_r),
        units="secs",
        fmri_t=fmri_t,
        fmri_t0=fmri_t0,
        derivatives=derivatives,
    )
    duplicated = sorted({c for c in built["names"] if built["names"].count(c) > 1})
    if duplicated:
        raise InputError(
            f"design matrix column names: expected unique names, found duplicated "
            f"{duplicated}; rename the trial types that collide with 'constant' or with "
            "each other's derivative columns."
        )
    return pd.DataFrame(
        built["X"], columns=built["names"], index=np.arange(n_scans) * float(model.t_r)
    )


def drift_basis(model, n_scans: int) -> pd.DataFrame | None:
    """SPM's drift basis ``K.X0`` of a run, or None when the drifts are design columns.

    Under design builder ``'spm_fMRI_design'``: ``refglm.glm.filtering.spm_drift_basis``
    with the cut-off ``1 / high_pass`` seconds (``drift_model='cosine'``; None, or
    ``high_pass=0``: no filter, SPM's ``hpf = Inf``). Columns ``drift_1 .. drift_k``.
    """
    from refglm.glm.filtering import spm_drift_basis

    conv = get_convention(model.convention)
    if conv.design_builder != "spm_fMRI_design":
        return None
    check_design_parameters(model)
    high_pass = model.high_pass
    if isinstance(high_pass, bool) or not isinstance(high_pass, int | float | np.number):
        high_pass = float("nan")
    if model.drift_model is None or high_pass == 0:
        cutoff = float("inf")  # SPM's hpf = Inf: no DCT column, no filter
    else:
        if not high_pass > 0 or not np.isfinite(high_pass):
            raise InputError(
                f"high_pass: expected a cut-off frequency >= 0 Hz (0: no high-pass filter), "
                f"found {model.high_pass!r}; pass e.g. 1/128 (SPM's default cut-off of 128 s)."
            )
        cutoff = 1.0 / float(high_pass)
    X0 = spm_drift_basis(n_scans, float(model.t_r), cutoff)
    return pd.DataFrame(
        X0,
        columns=[f"drift_{k + 1}" for k in range(X0.shape[1])],
        index=np.arange(n_scans) * float(model.t_r),
    )


def no_interest_columns(design: pd.DataFrame) -> np.ndarray:
    """Columns outside SPM's 'effects of interest': the constant and drift columns.

    SPM's ``xX.iB`` (the session constant); with drifts in the design, its drift
    columns too (they are SPM's ``X0``). The ReML selects voxels with the F test of
    the other columns (``refglm.glm.noise.spm_pooled_covariance``).
    """
    columns = [str(c) for c in design.columns]
    return np.array(
        [i for i, c in enumerate(columns) if c == "constant" or c.startswith("drift_")],
        dtype=int,
    )
