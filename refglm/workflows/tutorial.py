"""The nistats SPM auditory tutorial: run it, summarise it, write it.

``run_tutorial`` runs the whole seed tutorial (fit, contrasts, thresholds,
cluster table) into a :class:`TutorialResults`; ``tutorial_summaries``
turns those into :class:`refglm.first_level.ContrastSummary` objects and
``write_tutorial`` writes them through ``refglm.first_level.write_glm_outputs``
and the report (with the golden checks of ``refglm.validation``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from refglm import io
from refglm.datasets import fetch_spm_auditory
from refglm.first_level import (
    ContrastSummary,
    FirstLevelModel,
    ThresholdedMap,
    get_clusters_table,
    map_threshold,
    model_parameters,
    table_params,
    write_glm_outputs,
)
from refglm.glm.contrasts import as_contrast_matrix
from refglm.io import derivative_names as names
from refglm.report.wording import one_sided_title, tutorial_title_note
from refglm.validation import checks_for
from refglm.workflows._products import run_record, write_figures_and_report

__all__ = [
    "run_tutorial",
    "write_tutorial",
    "tutorial_summaries",
    "TutorialResults",
    "TUTORIAL_CONTRASTS",
    "TUTORIAL_PARAMETERS",
    "TUTORIAL_CLUSTER_THRESHOLD",
    "TUTORIAL_MAPS",
    "TUTORIAL_F_MAP",
    "TUTORIAL_TABLE",
]

# The tutorial's contrasts over `active, rest, drift_1..drift_13, constant`.
TUTORIAL_CONTRASTS = {
    "activeMinusRest": "active - rest",
    "effectsOfInterest": ["active", "rest"],
}


@dataclass
class TutorialResults:
    """Everything the seed tutorial computes."""

    model: object
    design: pd.DataFrame
    mask_voxels: int
    mean_img: object
    z_maps: dict
    thresholds: dict
    clusters: pd.DataFrame
    maps_thresholded: dict
    timings: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)


# map_threshold(cluster_threshold=10): clusters of fewer than 10 voxels are removed, so
# clusters of exactly 10 voxels stay (6 of them in each cluster-filtered map of the tutorial),
# although the tutorial's figure titles say "clusters > 10 voxels".
TUTORIAL_CLUSTER_THRESHOLD = 10

TUTORIAL_PARAMETERS = dict(
    t_r=7.0,
    noise_model="ar1",
    standardize=False,
    hrf_model="spm",
    drift_model="cosine",
    high_pass=0.01,
)


def run_tutorial(
    data_dir=None,
    n_jobs=1,
    engine="statsmodels",
    convention="nistats",
    progress=None,
    backend=None,
) -> TutorialResults:
    """Run the nistats SPM auditory tutorial end to end.

    load -> FirstLevelModel(t_r=7, ar1, spm HRF, cosine drifts at .01 Hz) ->
    active - rest z map -> thresholds at fpr .001, Bonferroni .05, FDR .05 ->
    FDR map without clusters of fewer than 10 voxels (the tutorial's
    ``cluster_threshold=10``: clusters of at least 10 voxels are kept) ->
    cluster table (cluster_threshold=20) -> the F test of (active, rest).
    The parameters (``statmap.json``) are those ``refglm fit`` writes for
    the same run (:func:`refglm.first_level.derivatives.model_parameters` and
    the run's record, :func:`refglm.workflows._products.run_record`: input
    files with their hashes, library versions).
    """
    timings = {}
    t0 = time.perf_counter()
    data = fetch_spm_auditory(data_dir)
    timings["fetch"] = time.perf_counter() - t0

    model = FirstLevelModel(
        **TUTORIAL_PARAMETERS,
        n_jobs=n_jobs,
        engine=engine,
        convention=convention,
        progress=progress,
        backend=backend,
    )
    t0 = time.perf_counter()
    model.fit(data.func, data.events)
    timings["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # a list of expressions is one contrast per run for compute_contrast (nistats,
    # nilearn): the F test of the effects of interest is passed as its matrix
    columns = model.design_matrices_[0].columns
    z_maps = {
        name: model.compute_contrast(
            definition if isinstance(definition, str) else as_contrast_matrix(definition, columns),
            output_type="z_score",
        )
        for name, definition in TUTORIAL_CONTRASTS.items()
    }
    z_map = z_maps["activeMinusRest"]
    thr = {}
    maps = {}
    maps["z3"], thr["z3"] = map_threshold(
        z_map, height_control=None, threshold=3.0, convention=convention
    )
    for name, alpha in (("fpr", 0.001), ("bonferroni", 0.05), ("fdr", 0.05)):
        maps[name], thr[name] = map_threshold(
            z_map, alpha=alpha, height_control=name, convention=convention
        )
    maps["fdr_cluster10"], thr["fdr_cluster10"] = map_threshold(
        z_map,
        alpha=0.05,
        height_control="fdr",
        cluster_threshold=TUTORIAL_CLUSTER_THRESHOLD,
        convention=convention,
    )
    table = get_clusters_table(
        z_map, stat_threshold=thr["fdr_cluster10"], cluster_threshold=20, convention=convention
    )
    maps["F_fdr_cluster10"], thr["F_fdr_cluster10"] = map_threshold(
        z_maps["effectsOfInterest"],
        alpha=0.05,
        height_control="fdr",
        cluster_threshold=TUTORIAL_CLUSTER_THRESHOLD,
        convention=convention,
    )
    timings["contrasts_thresholds_clusters"] = time.perf_counter() - t0
    mean = io.to_image(model.mean_img_data_, model.affine_)
    return TutorialResults(
        model=model,
        design=model.design_matrices_[0],
        mask_voxels=int(model.mask_.sum()),
        mean_img=mean,
        z_maps=z_maps,
        thresholds=thr,
        clusters=table,
        maps_thresholded=maps,
        timings=timings,
        parameters=dict(
            model_parameters(model, TUTORIAL_CONTRASTS, TUTORIAL_CLUSTER_THRESHOLD),
            **run_record(data.func, data.events, model.convention_),
        ),
    )


# Figures of the seed tutorial: (maps_thresholded key, figure key, title as the seed printed
# it, cluster_threshold of the map, drawn from). The titles are the tutorial's, "clusters > 10
# voxels" included; the report's captions state the rule (clusters of at least 10 voxels kept).
# "z": the tutorial draws the raw z map at that threshold, plot_stat_map(z_map,
# threshold=...), so both signs show; "thresholded": it draws map_threshold's map, which keeps
# the positive side only (nistats), and the figure's title says so.
TUTORIAL_MAPS = (
    ("z3", "z3", "Active minus Rest (Z>3)", 0, "z"),
    ("fpr", "fpr", "Active minus Rest (p<0.001)", 0, "z"),
    ("bonferroni", "bonferroni", "Active minus Rest (p<0.05, corrected)", 0, "z"),
    ("fdr", "fdr", "Active minus Rest (fdr=0.05)", 0, "z"),
    (
        "fdr_cluster10",
        "fdrCluster10",
        "Active minus Rest (fdr=0.05), clusters > 10 voxels",
        TUTORIAL_CLUSTER_THRESHOLD,
        "thresholded",
    ),
)
TUTORIAL_F_MAP = (
    "F_fdr_cluster10",
    "fdrCluster10",
    "Effects of interest (fdr=0.05), clusters > 10 voxels",
    TUTORIAL_CLUSTER_THRESHOLD,
    "thresholded",
)
# nistats get_clusters_table as the tutorial called it
TUTORIAL_TABLE = dict(cluster_threshold=20, min_distance=8.0)


def _tutorial_map(results, contrast, spec) -> ThresholdedMap:
    """One of the seed's figures: the map it draws, the seed's title, and a note.

    ``spec`` is a row of :data:`TUTORIAL_MAPS`: the raw z map of ``contrast`` at the
    threshold (both signs, as ``plot_stat_map(z_map, threshold=...)`` draws it), or
    ``map_threshold``'s map, whose title then says that it shows the positive side only.
    """
    key, fig_key, title, cluster_threshold, drawn = spec
    threshold = float(results.thresholds[key])
    if drawn == "z":
        img = results.z_maps[contrast]
    else:
        img = results.maps_thresholded[key]
        if not results.model.convention_.two_sided:
            title = one_sided_title(title, threshold)
    return ThresholdedMap(
        fig_key, title, threshold, img, cluster_threshold, tutorial_title_note(cluster_threshold)
    )


def tutorial_summaries(results: TutorialResults) -> list[ContrastSummary]:
    """The tutorial's two contrasts with their thresholded maps and cluster tables.

    ``activeMinusRest``: the z map drawn at z > 3, fpr .001, Bonferroni .05 and
    FDR .05 (both signs, as the tutorial's ``plot_stat_map(z_map, threshold=...)``),
    the FDR .05 map with clusters of at least 10 voxels (``map_threshold``'s: the
    positive side), and the seed's cluster table (``results.clusters``).
    ``effectsOfInterest`` (the F test): its map at FDR .05 with clusters of at
    least 10 voxels, and a cluster table of its z map made with the same
    parameters as the t contrast's (the seed printed none). The maps keep the
    seed's titles ("clusters > 10 voxels"); their ``note`` says what the filter
    kept.
    """
    model = results.model
    conv = model.convention_
    thr = results.thresholds
    maps = [_tutorial_map(results, "activeMinusRest", spec) for spec in TUTORIAL_MAPS]
    t_summary = ContrastSummary(
        "activeMinusRest",
        TUTORIAL_CONTRASTS["activeMinusRest"],
        "t",
        maps,
        results.clusters,
        table_params(
            thr["fdr_cluster10"], "fdr", 0.05, conv.cluster_table_two_sided, **TUTORIAL_TABLE
        ),
    )
    key = TUTORIAL_F_MAP[0]
    f_table = get_clusters_table(
        results.z_maps["effectsOfInterest"],
        stat_threshold=thr[key],
        convention=conv,
        **TUTORIAL_TABLE,
    )
    f_summary = ContrastSummary(
        "effectsOfInterest",
        TUTORIAL_CONTRASTS["effectsOfInterest"],
        "F",
        [_tutorial_map(results, "effectsOfInterest", TUTORIAL_F_MAP)],
        f_table,
        table_params(thr[key], "fdr", 0.05, conv.cluster_table_two_sided, **TUTORIAL_TABLE),
    )
    return [t_summary, f_summary]


def write_tutorial(
    results: TutorialResults, out_dir, figures: bool = False, report: bool = False
) -> list[Path]:
    """Write the tutorial's maps, tables and parameters with BIDS-derivative names.

    Through :func:`write_glm_outputs`, plus ``thresholds.json`` (the five
    thresholds of the tutorial). With ``figures=True`` also every figure of
    the seed tutorial under ``figures/``; with ``report=True`` also
    ``report.html`` (figures embedded, with the golden-value checks of
    :mod:`refglm.validation`). Every file is written atomically.
    """
    summaries = tutorial_summaries(results)
    written = write_glm_outputs(
        results.model,
        summaries,
        out_dir,
        parameters=results.parameters,
        dataset_name="refglm first-level results: SPM auditory tutorial",
        extra_json={names.THRESHOLDS_JSON: {k: float(v) for k, v in results.thresholds.items()}},
    )
    if figures or report:
        checks = checks_for(results) if report else None
        written += write_figures_and_report(
            results,
            summaries,
            out_dir,
            written,
            title="SPM auditory tutorial",
            regressors=["active"],
            regressors_title="Expected Auditory Response",
            checks=checks,
            figures=figures,
            report=report,
        )
    return written
