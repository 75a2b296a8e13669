"""Image-level steps, the tutorial, ``refglm fit`` and ``explain-voxel`` as pipelines.

``map_threshold`` and ``get_clusters_table`` take nibabel images (or paths),
as nistats' did, and hand arrays to the numerics in ``thresholds.py`` and
``clusters.py``. ``run_tutorial`` runs the whole seed tutorial and
``write_tutorial`` writes its results; ``run_fit`` and ``write_fit`` do the
same for any run (``refglm fit``). Both writers go through
``write_glm_outputs`` (BIDS-derivative names as nilearn's
``save_glm_to_bids``) and ``refglm.report.write_products`` (figures and
``report.html``). ``explain_voxel`` traces one voxel of the tutorial model
with ``refglm.trace``.
"""

from __future__ import annotations

import json
import numbers
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from refglm import clusters, io, thresholds
from refglm.conventions import get_convention
from refglm.exceptions import InputError, NotEstimableError

__all__ = [
    "map_threshold",
    "get_clusters_table",
    "run_tutorial",
    "write_tutorial",
    "tutorial_summaries",
    "write_glm_outputs",
    "run_fit",
    "write_fit",
    "parse_contrast",
    "explain_voxel",
    "first_level_design",
    "TutorialResults",
    "FitResults",
    "ContrastSummary",
    "ThresholdedMap",
    "camel_case_contrast_name",
    "TUTORIAL_CONTRASTS",
]

# The tutorial's contrasts over `active, rest, drift_1..drift_13, constant`.
TUTORIAL_CONTRASTS = {
    "activeMinusRest": "active - rest",
    "effectsOfInterest": ["active", "rest"],
}


def _two_sided(two_sided, conv):
    return conv.two_sided if two_sided is None else bool(two_sided)


def map_threshold(
    stat_img,
    mask_img=None,
    alpha=0.001,
    threshold=None,
    height_control="fpr",
    cluster_threshold=0,
    two_sided=None,
    convention="nistats",
):
    """Threshold a statistical map; the image version of ``thresholds.map_threshold``.

    Parameters
    ----------
    stat_img : path or nibabel image
        A z map.
    mask_img : path, nibabel image or None
        Voxels to test; None tests the non-zero voxels of ``stat_img``
        (so Bonferroni's n is their count, 62073 on the tutorial).
    alpha : float in (0, 1)
    threshold : float or None
        Used when ``height_control`` is None.
    height_control : {'fpr', 'bonferroni', 'fdr', None}
    cluster_threshold : int >= 0
        Clusters smaller than this many voxels are removed.
    two_sided : bool or None
        None takes the convention's default (one-sided for nistats).
    convention : str

    Returns
    -------
    thresholded_img : nibabel.Nifti1Image
    threshold : float
    """
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    mask = None
    if mask_img is not None:
        mask, _ = io.image_data(mask_img)
        mask = mask > 0
    out, thr = thresholds.map_threshold(
        stat,
        mask,
        alpha=alpha,
        height_control=height_control,
        threshold=threshold,
        cluster_threshold=cluster_threshold,
        two_sided=_two_sided(two_sided, conv),
        fdr_formula=conv.fdr_formula,
        connectivity=conv.cluster_connectivity,
        keep_equal=conv.threshold_keep_equal,
        split_signs=conv.threshold_split_signs,
    )
    return io.to_image(out, affine), float(thr)


def get_clusters_table(
    stat_img,
    stat_threshold,
    cluster_threshold=None,
    min_distance=8.0,
    two_sided=None,
    convention="nistats",
) -> pd.DataFrame:
    """Clusters and peaks of a map; the image version of ``clusters.get_clusters_table``.

    Columns ``Cluster ID, X, Y, Z, Peak Stat, Cluster Size (mm3)``; at most 3
    subpeaks per cluster, more than ``min_distance`` mm apart. The input
    image is not modified.
    """
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    return clusters.get_clusters_table(
        stat,
        affine,
        stat_threshold,
        cluster_threshold=cluster_threshold,
        min_distance=min_distance,
        # nilearn's tables are one-sided by default although its thresholds are not
        two_sided=conv.cluster_table_two_sided if two_sided is None else bool(two_sided),
        connectivity=conv.cluster_connectivity,
        rules=conv.cluster_table_rules,
    )


def camel_case_contrast_name(name: str) -> str:
    """BIDS-safe camelCase name of a contrast, as nilearn names its output files.

    ``'active - rest'`` -> ``'activeMinusRest'``: ``-`` ``+`` ``>`` ``<`` become
    the words Minus, Plus, Gt, Lt; ``_`` becomes a space; the words (split on
    single spaces) are joined with the first lower-cased and the others
    ``str.title``-cased; non-alphanumeric characters are dropped.
    # nilearn 0.14.1 glm/_base.py _clean_contrast_name (without its warning);
    # tests/test_cli.py compares the two on a list of names.

    Raises InputError when nothing alphanumeric is left (nilearn would
    return an empty name, which cannot name a file).
    """
    new_name = str(name)
    for char, word in (("-", " Minus "), ("+", " Plus "), (">", " Gt "), ("<", " Lt ")):
        new_name = new_name.replace(char, word)
    new_name = new_name.replace("_", " ")
    words = new_name.split(" ")
    words[0] = words[0].lower()
    words[1:] = [w.title() for w in words[1:]]
    new_name = "".join(ch for ch in " ".join(words) if ch.isalnum())
    if not new_name:
        raise InputError(f"contrast name {name!r}: expected letters or digits to name it by.")
    return new_name


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
class ThresholdedMap:
    """One thresholded map of a contrast, as drawn in a figure.

    ``key`` names the figure file (``contrast-<name>_thresh-<key>.png``);
    ``title`` is the figure title; ``threshold`` the display threshold.
    """

    key: str
    title: str
    threshold: float
    img: object


@dataclass
class ContrastSummary:
    """A contrast with its thresholded maps and cluster table.

    ``name`` is the BIDS (camelCase) name, ``definition`` what
    ``FirstLevelModel.contrast_result`` takes; ``table_params`` are the
    cluster-table parameters written to ``contrast-<name>_clusters.json``.
    """

    name: str
    definition: object
    stat_type: str
    maps: list
    table: pd.DataFrame | None = None
    table_params: dict | None = None


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
    FDR map with clusters > 10 voxels -> cluster table (cluster_threshold=20)
    -> the F test of (active, rest).
    """
    from refglm.datasets import fetch_spm_auditory
    from refglm.model import FirstLevelModel

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
    z_maps = {
        name: model.compute_contrast(definition, output_type="z_score")
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
        z_map, alpha=0.05, height_control="fdr", cluster_threshold=10, convention=convention
    )
    table = get_clusters_table(
        z_map, stat_threshold=thr["fdr_cluster10"], cluster_threshold=20, convention=convention
    )
    maps["F_fdr_cluster10"], thr["F_fdr_cluster10"] = map_threshold(
        z_maps["effectsOfInterest"],
        alpha=0.05,
        height_control="fdr",
        cluster_threshold=10,
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
        parameters=dict(TUTORIAL_PARAMETERS, convention=convention, engine=engine),
    )


def _json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n"


def _output_folder(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder, found a file; choose another path.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_glm_outputs(
    model,
    summaries,
    out_dir,
    *,
    parameters: dict,
    dataset_name: str = "refglm first-level results",
    extra_json: dict | None = None,
) -> list[Path]:
    """Write a fitted model's contrasts, design, mask and metadata as BIDS derivatives.

    The shared writer of ``refglm fit`` and ``refglm tutorial``. File names
    follow nilearn 0.14.1 ``glm.io.save_glm_to_bids`` (and fitlins): for each
    :class:`ContrastSummary`, ``contrast-<name>_stat-{effect,variance,t|F,z,p}_statmap.nii.gz``
    (effect and variance for t contrasts only), and, when it has a table,
    ``contrast-<name>_clusters.tsv`` with its threshold parameters in
    ``contrast-<name>_clusters.json``; then ``design.tsv``, ``design.json``
    (columns and frame times), ``mask.nii.gz``, ``statmap.json`` (the model
    parameters and the convention's choices) and ``dataset_description.json``
    (``GeneratedBy``). ``extra_json`` maps further file names to JSON objects.

    Every file is written atomically; ``.nii.gz`` files with a fixed gzip
    mtime and JSON with sorted keys and no timestamp, so repeated runs give
    identical bytes.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    from refglm import __version__

    out = _output_folder(out_dir)
    written = []
    for summary in summaries:
        res = model.contrast_result(summary.definition)
        stat_kind = "t" if res.stat_type == "t" else "F"
        maps = {"z": res.z_score, stat_kind: res.stat, "p": res.p_value}
        if res.stat_type == "t":
            maps["effect"] = res.effect[0]
            maps["variance"] = res.variance[0, 0]
        for kind, values in maps.items():
            path = out / f"contrast-{summary.name}_stat-{kind}_statmap.nii.gz"
            written.append(io.save_image(model.to_volume(values), path, model.affine_))
        if summary.table is not None:
            written.append(
                io.atomic_write_text(
                    out / f"contrast-{summary.name}_clusters.tsv",
                    summary.table.to_csv(sep="\t", index=False),
                )
            )
            written.append(
                io.atomic_write_text(
                    out / f"contrast-{summary.name}_clusters.json", _json(summary.table_params)
                )
            )
    for name, obj in (extra_json or {}).items():
        written.append(io.atomic_write_text(out / name, _json(obj)))
    design = model.design_matrices_[0]
    written.append(io.atomic_write_text(out / "design.tsv", design.to_csv(sep="\t", index=False)))
    written.append(
        io.atomic_write_text(
            out / "design.json",
            _json(
                {
                    "columns": [str(c) for c in design.columns],
                    "frame_times": [float(t) for t in design.index],
                }
            ),
        )
    )
    written.append(io.save_image(model.mask_.astype(np.uint8), out / "mask.nii.gz", model.affine_))
    written.append(
        io.atomic_write_text(
            out / "statmap.json",
            _json(dict(parameters, convention_choices=model.convention_.as_dict())),
        )
    )
    written.append(
        io.atomic_write_text(
            out / "dataset_description.json",
            _json(
                {
                    "Name": dataset_name,
                    "BIDSVersion": "1.9.0",
                    "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "refglm", "Version": __version__}],
                }
            ),
        )
    )
    return written


# Figures of the seed tutorial: (maps_thresholded key, figure key, title as the seed printed it)
TUTORIAL_MAPS = (
    ("z3", "z3", "Active minus Rest (Z>3)"),
    ("fpr", "fpr", "Active minus Rest (p<0.001)"),
    ("bonferroni", "bonferroni", "Active minus Rest (p<0.05, corrected)"),
    ("fdr", "fdr", "Active minus Rest (fdr=0.05)"),
    ("fdr_cluster10", "fdrCluster10", "Active minus Rest (fdr=0.05), clusters > 10 voxels"),
)
TUTORIAL_F_MAP = (
    "F_fdr_cluster10",
    "fdrCluster10",
    "Effects of interest (fdr=0.05), clusters > 10 voxels",
)
# nistats get_clusters_table as the tutorial called it
TUTORIAL_TABLE = dict(cluster_threshold=20, min_distance=8.0)


def _table_params(threshold, height_control, alpha, two_sided, **table) -> dict:
    return {
        "stat_threshold": float(threshold),
        "height_control": height_control,
        "alpha": alpha,
        "cluster_threshold": table["cluster_threshold"],
        "min_distance": table["min_distance"],
        "two_sided": bool(two_sided),
    }


def tutorial_summaries(results: TutorialResults) -> list[ContrastSummary]:
    """The tutorial's two contrasts with their thresholded maps and cluster tables.

    ``activeMinusRest``: the maps at z > 3, fpr .001, Bonferroni .05, FDR .05
    and FDR .05 with clusters > 10 voxels, and the seed's cluster table
    (``results.clusters``). ``effectsOfInterest`` (the F test): its map at
    FDR .05 with clusters > 10 voxels, and a cluster table of its z map made
    with the same parameters as the t contrast's (the seed printed none).
    """
    model = results.model
    conv = model.convention_
    thr = results.thresholds
    maps = [
        ThresholdedMap(fig_key, title, float(thr[key]), results.maps_thresholded[key])
        for key, fig_key, title in TUTORIAL_MAPS
    ]
    t_summary = ContrastSummary(
        "activeMinusRest",
        TUTORIAL_CONTRASTS["activeMinusRest"],
        "t",
        maps,
        results.clusters,
        _table_params(
            thr["fdr_cluster10"], "fdr", 0.05, conv.cluster_table_two_sided, **TUTORIAL_TABLE
        ),
    )
    key, fig_key, title = TUTORIAL_F_MAP
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
        [ThresholdedMap(fig_key, title, float(thr[key]), results.maps_thresholded[key])],
        f_table,
        _table_params(thr[key], "fdr", 0.05, conv.cluster_table_two_sided, **TUTORIAL_TABLE),
    )
    return [t_summary, f_summary]


def write_tutorial(
    results: TutorialResults, out_dir, figures: bool = False, report: bool = False
) -> list[Path]:
    """Write the tutorial's maps, tables and parameters with BIDS-derivative names.

    Through :func:`write_glm_outputs`, plus ``thresholds.json`` (the five
    thresholds of the tutorial). With ``figures=True`` also every figure of
    the seed tutorial under ``figures/``; with ``report=True`` also
    ``report.html`` (figures embedded, golden-value check table included when
    ``validation/`` is present). Every file is written atomically.
    """
    summaries = tutorial_summaries(results)
    written = write_glm_outputs(
        results.model,
        summaries,
        out_dir,
        parameters=results.parameters,
        dataset_name="refglm first-level results: SPM auditory tutorial",
        extra_json={"thresholds.json": {k: float(v) for k, v in results.thresholds.items()}},
    )
    if figures or report:
        from refglm import report as report_mod

        written += report_mod.write_products(
            out_dir,
            model=results.model,
            mean_img=results.mean_img,
            summaries=summaries,
            parameters=results.parameters,
            title="SPM auditory tutorial",
            regressors=["active"],
            regressors_title="Expected Auditory Response",
            checks=report_mod.golden_checks(results) if report else None,
            figures=figures,
            report=report,
            outputs=[p.name for p in written],
        )
    return written


# --------------------------------------------------------------------------- refglm fit


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
        return name, definition
    return camel_case_contrast_name(name or expr.replace(";", " ")), definition


def _count_scans(func) -> int:
    """Number of scans of a run, from the image headers (see :func:`refglm.io.run_shape`)."""
    if isinstance(func, list | tuple) and len(func) == 1:
        func = func[0]
    return int(io.run_shape(func)[3])


def _check_n_jobs(n_jobs) -> None:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise InputError(
            f"--n-jobs: expected a whole number of workers other than 0 (negative counts "
            f"back from the number of CPUs, as in joblib), found {n_jobs!r}; pass e.g. "
            "--n-jobs 1."
        )


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
        if not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
            raise InputError(
                f"--threshold: expected a finite z value, found {threshold!r}; pass e.g. "
                "--threshold 3.1."
            )
    else:
        try:
            _check_alpha(alpha)
        except InputError as exc:
            raise InputError(str(exc).replace("alpha:", "--alpha:", 1)) from None
    for flag, value in (
        ("--cluster-threshold", cluster_threshold),
        ("--table-cluster-threshold", table_cluster_threshold),
        ("--min-distance", min_distance),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, numbers.Real)
            or not np.isfinite(value)
            or value < 0
        ):
            raise InputError(
                f"{flag}: expected a number >= 0, found {value!r}; pass 0 to turn it off."
            )


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
    clusters smaller than ``cluster_threshold`` voxels removed) and tabulated
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
    _check_n_jobs(n_jobs)
    timings = {}
    t0 = time.perf_counter()
    n_scans = _count_scans(func)
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
            raise NotEstimableError(
                f"contrast {name} ({definition!r}): expected a contrast estimable with the "
                f"design, found one outside the row space of its rank-deficient design "
                f"(rank {np.linalg.matrix_rank(X)} < {X.shape[1]} columns); contrast "
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
        control = "z" if height_control is None else f"{height_control}={alpha:g}"
        title = f"{name} ({control}, clusters > {cluster_threshold} voxels)"
        summaries.append(
            ContrastSummary(
                name,
                definition,
                res.stat_type,
                [ThresholdedMap("map", title, float(thr), thr_img)],
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
    parameters = dict(
        t_r=float(t_r),
        noise_model=noise_model,
        standardize=False,
        hrf_model=hrf_model,
        drift_model=drift_model,
        high_pass=high_pass,
        drift_order=drift_order,
        convention=conv.name,
        engine=engine,
        contrasts=dict(contrasts),
        map_cluster_threshold=cluster_threshold,
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
        from refglm import report as report_mod

        written += report_mod.write_products(
            out_dir,
            model=results.model,
            mean_img=results.mean_img,
            summaries=results.summaries,
            parameters=results.parameters,
            title="first-level GLM",
            regressors=None,
            regressors_title="Expected responses",
            checks=None,
            figures=figures,
            report=report,
            outputs=[p.name for p in written],
        )
    return written


# --------------------------------------------------------------------------- explain-voxel


def explain_voxel(
    mm=None, ijk=None, data_dir=None, convention="nistats", contrast="active - rest"
) -> tuple:
    """Trace one voxel of the tutorial model (``refglm explain-voxel``).

    Loads the SPM auditory run once (for the EPI mask, which needs every
    voxel's mean), rebuilds the tutorial's design with
    :func:`first_level_design`, and hands the voxel's raw series to
    :func:`refglm.trace.trace_voxel` with the t contrast ``active - rest``
    and the F contrast ``[active, rest]``.

    Parameters
    ----------
    mm : (x, y, z) or None
        World coordinates in mm; rounded to the nearest voxel.
    ijk : (i, j, k) or None
        Voxel indices (exactly one of ``mm``, ``ijk``).

    Returns
    -------
    trace : refglm.trace.VoxelTrace
    info : dict
        ``ijk``, ``xyz`` (the voxel centre in mm), ``mask_voxels``,
        ``data_dir``.
    """
    from refglm.datasets import fetch_spm_auditory
    from refglm.masking import compute_epi_mask, mean_epi
    from refglm.trace import trace_voxel

    if (mm is None) == (ijk is None):
        raise InputError("explain-voxel: expected exactly one of --mm X Y Z or --ijk I J K.")
    from refglm.model import run_dtype

    conv = get_convention(convention)
    data = fetch_spm_auditory(data_dir)
    run, affine = io.load_run(data.func, dtype=run_dtype(data.func, conv.input_dtype))
    shape = run.shape[:3]
    if mm is not None:
        coords = np.asarray(mm, dtype=np.float64)
        if coords.shape != (3,) or not np.all(np.isfinite(coords)):
            raise InputError(f"--mm {mm}: expected three finite numbers X Y Z in mm.")
        ijk = np.rint(np.linalg.inv(affine) @ np.append(coords, 1.0))[:3].astype(int)
    ijk = tuple(int(v) for v in ijk)
    if len(ijk) != 3 or not all(0 <= v < n for v, n in zip(ijk, shape, strict=True)):
        where = f"mm {tuple(mm)}" if mm is not None else "ijk"
        raise InputError(
            f"voxel {ijk} ({where}): outside the image grid {shape}; pick a voxel inside, "
            "e.g. --mm -60 -6 42 (the tutorial's peak)."
        )
    mask = compute_epi_mask(mean_epi(run, conv.mask_mean_dtype))
    xyz = tuple(float(v) for v in (affine @ np.append(ijk, 1.0))[:3])
    if not mask[ijk]:
        raise InputError(
            f"voxel {ijk} (mm {xyz}): outside the brain mask ({int(mask.sum())} voxels), "
            "so the tutorial does not fit it; pick a voxel inside, e.g. --mm -60 -6 42."
        )
    raw = np.array(run[ijk], copy=True)
    del run
    design = first_level_design(
        raw.shape[0],
        data.events,
        TUTORIAL_PARAMETERS["t_r"],
        hrf_model=TUTORIAL_PARAMETERS["hrf_model"],
        drift_model=TUTORIAL_PARAMETERS["drift_model"],
        high_pass=TUTORIAL_PARAMETERS["high_pass"],
        convention=conv,
    )
    trace = trace_voxel(
        raw,
        design,
        contrast,
        TUTORIAL_CONTRASTS["effectsOfInterest"],
        noise_model=TUTORIAL_PARAMETERS["noise_model"],
        convention=conv,
    )
    info = dict(ijk=ijk, xyz=xyz, mask_voxels=int(mask.sum()), data_dir=data.data_dir)
    return trace, info
