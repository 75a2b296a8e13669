"""``refglm fit``: fit any run, summarise its contrasts, write the outputs.

``parse_contrast`` reads ``--contrast`` values; ``first_level_design``
rebuilds the design ``FirstLevelModel.fit`` makes (to check contrasts
before the long fit); ``run_fit`` fits and summarises each contrast with
``refglm.maps`` (``map_title`` titles its map); ``write_fit`` writes through
``refglm.outputs``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from refglm import _checks, io, thresholds
from refglm.conventions import get_convention
from refglm.exceptions import InputError, NotEstimableError
from refglm.maps import get_clusters_table, map_threshold
from refglm.outputs import (
    ContrastSummary,
    ThresholdedMap,
    _table_params,
    camel_case_contrast_name,
    cluster_rule_text,
    model_parameters,
    write_figures_and_report,
    write_glm_outputs,
)

__all__ = [
    "run_fit",
    "write_fit",
    "parse_contrast",
    "first_level_design",
    "map_title",
    "FitResults",
]


def first_level_design(
    n_scans: int,
    events,
    t_r: float,
    hrf_model="glover",
    drift_model="cosine",
    high_pass=0.01,
    drift_order=1,
    slice_time_ref=0.0,
    min_onset=-24,
    convention="nistats",
) -> pd.DataFrame:
    """The design matrix ``FirstLevelModel.fit`` builds for a run of ``n_scans`` scans.

    Frame times ``np.linspace(slice_time_ref * t_r, (n_scans - 1 + slice_time_ref) * t_r,
    n_scans)`` (nistats first_level_model.py ``fit``), then
    ``design.make_first_level_design_matrix`` with the convention's HRF
    formula. Used by ``explain_voxel`` to rebuild the tutorial's design
    without fitting; ``tests/test_trace.py`` checks it equals the model's.
    """
    from refglm.design import make_first_level_design_matrix

    conv = get_convention(convention)
    if isinstance(events, str) or hasattr(events, "__fspath__"):
        events = io.read_events(events)
    start = slice_time_ref * t_r
    end = (n_scans - 1 + slice_time_ref) * t_r
    return make_first_level_design_matrix(
        np.linspace(start, end, n_scans),
        events,
        hrf_model=hrf_model,
        drift_model=drift_model,
        high_pass=high_pass,
        drift_order=drift_order,
        min_onset=min_onset,
        convention=conv.hrf_formula,
    )


@dataclass
class FitResults:
    """A fitted run with its contrasts summarised (``refglm fit``)."""

    model: object
    design: pd.DataFrame
    mask_voxels: int
    mean_img: object
    summaries: list
    parameters: dict
    timings: dict = field(default_factory=dict)


# The longest file name refglm writes is contrast-<name>_stat-variance_statmap.nii.gz
# (36 characters around the name); 255 bytes is the usual file-name limit.
MAX_CONTRAST_NAME_BYTES = 200


def parse_contrast(text: str) -> tuple[str, object]:
    """``NAME=EXPR`` or ``EXPR`` -> (BIDS name, definition); ``;`` separates F rows.

    ``"active - rest"`` -> ``('activeMinusRest', 'active - rest')``;
    ``"effects=active; rest"`` -> ``('effects', ['active', 'rest'])``. A
    given NAME made only of letters and digits is kept as it is; any other
    name (or the expression, when no name is given) is cleaned by
    :func:`camel_case_contrast_name`.
    """
    text = str(text).strip()
    name, sep, expr = text.partition("=")
    if not sep:
        name, expr = "", text
    name, expr = name.strip(), expr.strip()
    rows = [r.strip() for r in expr.split(";")]
    if not expr or any(not r for r in rows):
        raise InputError(
            f"--contrast {text!r}: expected NAME=EXPR or EXPR, e.g. 'active - rest' or "
            "'effects=active; rest' (rows separated by ';' make an F test)."
        )
    definition = rows[0] if len(rows) == 1 else rows
    if name and name.isalnum() and name.isascii():
        bids_name = name
    else:
        bids_name = camel_case_contrast_name(name or expr.replace(";", " "))
    if len(bids_name.encode()) > MAX_CONTRAST_NAME_BYTES:
        raise InputError(
            f"--contrast {text[:40]!r}...: expected a contrast name of at most "
            f"{MAX_CONTRAST_NAME_BYTES} characters (it names the output files, and file "
            f"names are limited to 255 bytes), found {len(bids_name.encode())}; give a short "
            "name, e.g. --contrast 'effects=active; rest'."
        )
    return bids_name, definition


def map_title(name, height_control, alpha, threshold, cluster_threshold) -> str:
    """The title of ``refglm fit``'s thresholded map of contrast ``name``.

    ``'activeMinusRest (fdr=0.05, clusters ≥ 10 voxels)'``: the height
    control (or ``z > threshold`` without one) and the cluster-size filter,
    which keeps clusters of ``cluster_threshold`` voxels or more (it removes
    those of fewer, as ``map_threshold`` does; a cluster of exactly
    ``cluster_threshold`` voxels stays). A filter of 1 voxel or less removes
    nothing and is not mentioned.

    Parameters
    ----------
    name : str
    height_control : {'fpr', 'bonferroni', 'fdr', None}
    alpha : float
    threshold : float or None
        The z threshold used when ``height_control`` is None.
    cluster_threshold : float

    Returns
    -------
    str
    """
    control = f"z > {threshold:g}" if height_control is None else f"{height_control}={alpha:g}"
    if cluster_rule_text(cluster_threshold):
        control += f", clusters \u2265 {cluster_threshold:g} voxels"
    return f"{name} ({control})"


def _count_scans(func) -> int:
    """Number of scans of a run, from the image headers (see :func:`refglm.io.run_shape`)."""
    if isinstance(func, list | tuple) and len(func) == 1:
        func = func[0]
    return int(io.run_shape(func)[3])


def _check_n_jobs(n_jobs, backend=None) -> None:
    _checks._check_n_jobs(n_jobs, "--n-jobs", backend=backend)


def _check_threshold_parameters(
    height_control, alpha, threshold, cluster_threshold, table_cluster_threshold, min_distance
) -> None:
    """Check ``refglm fit``'s threshold options before the (long) fit, not after it."""
    from refglm._map_checks import _check_alpha

    if height_control not in thresholds.HEIGHT_CONTROLS:
        raise InputError(
            f"--height-control: expected one of fpr, bonferroni, fdr, none; found "
            f"{height_control!r}; pick one (the tutorial uses fdr)."
        )
    if height_control is None:
        if threshold is None:
            raise InputError(
                "--height-control none: expected --threshold (a z value, e.g. 3.1), found "
                "none; add --threshold or choose another --height-control."
            )
        if _checks._finite_float(threshold) is None:
            raise InputError(
                f"--threshold: expected a finite z value, found {threshold!r}; pass e.g. "
                "--threshold 3.1."
            )
    else:
        if threshold is not None:
            raise InputError(
                f"--threshold: used only with --height-control none, found --threshold "
                f"{threshold!r} with --height-control {height_control}, which sets the "
                "threshold itself; drop --threshold, or pass --height-control none."
            )
        try:
            _check_alpha(alpha)
        except InputError as exc:
            raise InputError(str(exc).replace("alpha:", "--alpha:", 1)) from None
    for flag, value in (
        ("--cluster-threshold", cluster_threshold),
        ("--table-cluster-threshold", table_cluster_threshold),
        ("--min-distance", min_distance),
    ):
        _checks._check_nonnegative(value, flag, "pass 0 to turn it off")


def run_fit(
    func,
    events,
    t_r: float,
    contrasts,
    *,
    hrf_model="glover",
    drift_model="cosine",
    high_pass=0.01,
    drift_order=1,
    noise_model="ar1",
    convention="nistats",
    engine="statsmodels",
    n_jobs=1,
    mask_img=None,
    height_control="fdr",
    alpha=0.05,
    threshold=None,
    cluster_threshold=10,
    table_cluster_threshold=20,
    min_distance=8.0,
    progress=None,
    backend=None,
) -> FitResults:
    """Fit one run and summarise each contrast: thresholded map and cluster table.

    The number of scans comes from the file list or the 4-D image's header,
    so the design is built and the contrasts are checked against it before
    the (long) fit; the model is
    :class:`refglm.FirstLevelModel` with the given parameters (its defaults
    are nistats'). Each contrast's z map is thresholded with
    :func:`map_threshold` (``height_control``, ``alpha`` or ``threshold``,
    clusters of fewer than ``cluster_threshold`` voxels removed, so clusters
    of at least ``cluster_threshold`` voxels are kept) and tabulated
    with :func:`get_clusters_table` at that threshold
    (``table_cluster_threshold``, ``min_distance``), as the tutorial does.

    Parameters
    ----------
    func : path, list of paths, or nibabel image
        One 4-D image or the run's 3-D volumes.
    events : path or DataFrame
        BIDS events.
    t_r : float
        Repetition time (s).
    contrasts : dict or sequence of (name, definition)
        BIDS names to contrast definitions (see :func:`parse_contrast`).

    Returns
    -------
    FitResults
    """
    from refglm.contrasts import as_contrast_matrix, is_estimable
    from refglm.events import check_onsets_in_run
    from refglm.model import FirstLevelModel

    conv = get_convention(convention)
    contrasts = dict(contrasts.items() if isinstance(contrasts, dict) else contrasts)
    if not contrasts:
        raise InputError(
            "--contrast: expected at least one contrast, found none; add e.g. "
            "--contrast 'active - rest'."
        )
    _check_threshold_parameters(
        height_control, alpha, threshold, cluster_threshold, table_cluster_threshold, min_distance
    )
    _check_n_jobs(n_jobs, backend)
    timings = {}
    t0 = time.perf_counter()
    n_scans = _count_scans(func)
    grid = func[0] if isinstance(func, list | tuple) and len(func) == 1 else func
    n_voxels = int(np.prod(io.run_shape(grid)[:3]))
    for flag, value in (
        ("--cluster-threshold", cluster_threshold),
        ("--table-cluster-threshold", table_cluster_threshold),
    ):
        _checks._check_nonnegative(
            value,
            flag,
            f"pass at most the image's {n_voxels} voxels (0 keeps every cluster)",
            maximum=n_voxels,
        )
    events_source = "events"
    if isinstance(events, str) or hasattr(events, "__fspath__"):
        events_source = f"--events {events}"
        events = io.read_events(events)
    model = FirstLevelModel(
        t_r=t_r,
        hrf_model=hrf_model,
        drift_model=drift_model,
        high_pass=high_pass,
        drift_order=drift_order,
        noise_model=noise_model,
        mask_img=mask_img,
        n_jobs=n_jobs,
        convention=convention,
        engine=engine,
        progress=progress,
        backend=backend,
    )
    model._check_params()
    check_onsets_in_run(events, np.arange(n_scans) * float(t_r), source=events_source)
    with warnings.catch_warnings():
        # the fit builds this design again and warns about it then (rank, full_rank)
        warnings.simplefilter("ignore")
        design = first_level_design(
            n_scans,
            events,
            t_r,
            hrf_model=hrf_model,
            drift_model=drift_model,
            high_pass=high_pass,
            drift_order=drift_order,
            convention=conv,
        )
    if design.shape[1] >= n_scans:
        raise InputError(
            f"--func: expected more scans than design columns, found {n_scans} scans for "
            f"{design.shape[1]} columns ({', '.join(map(str, design.columns))}); pass the "
            "whole run, or use fewer regressors (fewer conditions, a lower --high-pass)."
        )
    X = design.to_numpy(dtype=np.float64)
    for name, definition in contrasts.items():
        try:
            C = as_contrast_matrix(definition, design.columns)
        except InputError as exc:
            raise InputError(f"contrast {name}: {exc}") from None
        if not is_estimable(C, X):
            rank = int(np.linalg.matrix_rank(X))
            if rank < X.shape[1]:
                why = f"its rank-deficient design (rank {rank} < {X.shape[1]} columns)"
            else:
                why = (
                    f"its nearly rank-deficient design (condition number "
                    f"{np.linalg.cond(X):.1e}: a regressor is almost zero or almost a "
                    "combination of others, e.g. an event at the very end of the run)"
                )
            raise NotEstimableError(
                f"contrast {name} ({definition!r}): expected a contrast estimable with the "
                f"design, found one outside the row space of {why}; contrast "
                "combinations of the collinear columns only, or merge those conditions."
            )
    timings["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(func, events)
    timings["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    summaries = []
    for name, definition in contrasts.items():
        res = model.contrast_result(definition)
        z_img = io.to_image(model.to_volume(res.z_score), model.affine_)
        kwargs = dict(height_control=height_control, convention=conv)
        if height_control is None:
            kwargs["threshold"] = threshold
        else:
            kwargs["alpha"] = alpha
        thr_img, thr = map_threshold(z_img, cluster_threshold=cluster_threshold, **kwargs)
        table = get_clusters_table(
            z_img,
            stat_threshold=thr,
            cluster_threshold=table_cluster_threshold,
            min_distance=min_distance,
            convention=conv,
        )
        title = map_title(name, height_control, alpha, threshold, cluster_threshold)
        summaries.append(
            ContrastSummary(
                name,
                definition,
                res.stat_type,
                [ThresholdedMap("map", title, float(thr), thr_img, cluster_threshold)],
                table,
                _table_params(
                    thr,
                    height_control,
                    None if height_control is None else alpha,
                    conv.cluster_table_two_sided,
                    cluster_threshold=table_cluster_threshold,
                    min_distance=min_distance,
                ),
            )
        )
    timings["contrasts_thresholds_clusters"] = time.perf_counter() - t0
    parameters = model_parameters(model, contrasts, cluster_threshold)
    return FitResults(
        model=model,
        design=model.design_matrices_[0],
        mask_voxels=int(model.mask_.sum()),
        mean_img=io.to_image(model.mean_img_data_, model.affine_),
        summaries=summaries,
        parameters=parameters,
        timings=timings,
    )


def write_fit(results: FitResults, out_dir, figures: bool = True, report: bool = True):
    """Write ``refglm fit``'s outputs: :func:`write_glm_outputs`, figures and report.html."""
    written = write_glm_outputs(
        results.model, results.summaries, out_dir, parameters=results.parameters
    )
    if figures or report:
        written += write_figures_and_report(
            results,
            results.summaries,
            out_dir,
            written,
            title="first-level GLM",
            regressors=None,
            regressors_title="Expected responses",
            checks=None,
            figures=figures,
            report=report,
        )
    return written
