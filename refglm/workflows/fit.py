"""``refglm fit``: fit any run, summarise its contrasts, write the outputs.

``run_fit`` checks the options and the contrasts against the run's design
(``refglm.first_level.first_level_design``, before the long fit), fits, and
summarises each contrast with the image-level ``map_threshold`` and
``get_clusters_table`` (titled by ``refglm.report.wording.map_title``);
``write_fit`` writes through ``refglm.first_level.write_glm_outputs`` and the report.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from refglm import inference, io
from refglm._validate import check_alpha, check_n_jobs, check_nonnegative, finite_float
from refglm.conventions import get_convention
from refglm.exceptions import InputError, NotEstimableError
from refglm.first_level import (
    ContrastSummary,
    FirstLevelModel,
    ThresholdedMap,
    first_level_design,
    frame_times,
    get_clusters_table,
    map_threshold,
    model_parameters,
    table_params,
    write_glm_outputs,
)
from refglm.glm.contrasts import as_contrast_matrix, is_estimable
from refglm.glm.design import check_onsets_in_run
from refglm.report.wording import map_title, one_sided_title
from refglm.workflows._products import run_record, write_figures_and_report

__all__ = ["run_fit", "write_fit", "FitResults"]


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


def _count_scans(func) -> int:
    """Number of scans of a run, from the image headers (see :func:`refglm.io.run_shape`)."""
    if isinstance(func, list | tuple) and len(func) == 1:
        func = func[0]
    return int(io.run_shape(func)[3])


def _check_threshold_parameters(
    height_control, alpha, threshold, cluster_threshold, table_cluster_threshold, min_distance
) -> None:
    """Check ``refglm fit``'s threshold options before the (long) fit, not after it."""
    if height_control not in inference.HEIGHT_CONTROLS:
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
        if finite_float(threshold) is None:
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
            check_alpha(alpha)
        except InputError as exc:
            raise InputError(str(exc).replace("alpha:", "--alpha:", 1)) from None
    for flag, value in (
        ("--cluster-threshold", cluster_threshold),
        ("--table-cluster-threshold", table_cluster_threshold),
        ("--min-distance", min_distance),
    ):
        check_nonnegative(value, flag, "pass 0 to turn it off")


def _clusters_table(name, z_img, **kwargs):
    """``get_clusters_table`` of contrast ``name``, its warnings naming the contrast.

    (An empty table warns "No clusters of at least 20 voxels with stat higher
    than 4.61..."; with several contrasts the warning must say which one.)
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = get_clusters_table(z_img, **kwargs)
    for warning in caught:
        warnings.warn(f"contrast {name}: {warning.message}", warning.category, stacklevel=3)
    return table


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
    oversampling=None,
    microtime_onset=None,
    global_normalization=None,
    implicit_mask_threshold=None,
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
        BIDS names to contrast definitions (``refglm fit --contrast``: see
        :func:`refglm.cli.options.parse_contrast`).

    Returns
    -------
    FitResults
    """
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
    check_n_jobs(n_jobs, "--n-jobs", backend=backend)
    timings = {}
    t0 = time.perf_counter()
    n_scans = _count_scans(func)
    grid = func[0] if isinstance(func, list | tuple) and len(func) == 1 else func
    n_voxels = int(np.prod(io.run_shape(grid)[:3]))
    for flag, value in (
        ("--cluster-threshold", cluster_threshold),
        ("--table-cluster-threshold", table_cluster_threshold),
    ):
        check_nonnegative(
            value,
            flag,
            f"pass at most the image's {n_voxels} voxels (0 keeps every cluster)",
            maximum=n_voxels,
        )
    events_source = "events"
    events_given = events
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
        oversampling=oversampling,
        microtime_onset=microtime_onset,
        global_normalization=global_normalization,
        implicit_mask_threshold=implicit_mask_threshold,
    )
    model._check_params()
    check_onsets_in_run(
        events, frame_times(n_scans, t_r, model.slice_time_ref), source=events_source
    )
    with warnings.catch_warnings():
        # the fit builds this design again and warns about it then (rank, full_rank)
        warnings.simplefilter("ignore")
        design = first_level_design(model, n_scans, events)
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
        table = _clusters_table(
            name,
            z_img,
            stat_threshold=thr,
            cluster_threshold=table_cluster_threshold,
            min_distance=min_distance,
            convention=conv,
        )
        title = map_title(name, height_control, alpha, threshold, cluster_threshold)
        if not conv.two_sided:
            title = one_sided_title(title, thr)
        summaries.append(
            ContrastSummary(
                name,
                definition,
                res.stat_type,
                [ThresholdedMap("map", title, float(thr), thr_img, cluster_threshold)],
                table,
                table_params(
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
    parameters = dict(
        model_parameters(model, contrasts, cluster_threshold),
        **run_record(func, events_given, conv, mask_img),
    )
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
