"""BIDS-derivative outputs of a fitted model: contrast names, summaries, files.

``camel_case_contrast_name`` names contrasts as nilearn names its files;
:class:`ContrastSummary` (with its :class:`ThresholdedMap` figures) is what
the writers take; ``model_parameters`` is ``statmap.json``'s parameter block
(one function, so ``refglm fit`` and ``refglm tutorial`` write the same
keys); ``write_glm_outputs`` writes maps, tables, design, mask
and metadata (names as nilearn's ``save_glm_to_bids``), and
``write_figures_and_report`` the figures and ``report.html`` through
``refglm.report.write_products``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from refglm import io
from refglm.exceptions import InputError

__all__ = [
    "camel_case_contrast_name",
    "ThresholdedMap",
    "ContrastSummary",
    "cluster_rule_text",
    "model_parameters",
    "write_glm_outputs",
    "write_figures_and_report",
]


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


def cluster_rule_text(cluster_threshold) -> str:
    """What a cluster-size filter of ``cluster_threshold`` keeps, in words.

    The filter (``thresholds.map_threshold``, as nistats' and nilearn's)
    removes clusters of *fewer* than ``cluster_threshold`` voxels, so a
    cluster of exactly that many voxels is kept: ``10`` gives
    ``'clusters of at least 10 voxels'``. A threshold of 1 or less removes
    nothing and gives ``''``.

    Parameters
    ----------
    cluster_threshold : float or None

    Returns
    -------
    str
    """
    if cluster_threshold is None or cluster_threshold <= 1:
        return ""
    return f"clusters of at least {cluster_threshold:g} voxels"


@dataclass
class ThresholdedMap:
    """One thresholded map of a contrast, as drawn in a figure.

    ``key`` names the figure file (``contrast-<name>_thresh-<key>.png``);
    ``title`` is the figure title; ``threshold`` the display threshold;
    ``cluster_threshold`` the cluster-size filter the map went through (0:
    none; clusters of at least that many voxels are kept); ``note`` a
    sentence the report adds to the figure's caption.
    """

    key: str
    title: str
    threshold: float
    img: object
    cluster_threshold: float = 0
    note: str = ""


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


def model_parameters(model, contrasts, map_cluster_threshold) -> dict:
    """The model parameters ``statmap.json`` holds, read from a fitted model.

    The same keys for ``refglm fit`` and ``refglm tutorial``: ``t_r``,
    ``noise_model``, ``standardize``, ``hrf_model``, ``drift_model``,
    ``high_pass``, ``drift_order``, ``convention`` (its name), ``engine``,
    ``contrasts`` (BIDS name to definition) and ``map_cluster_threshold``
    (the cluster-size filter of the thresholded maps: clusters of fewer
    voxels are removed).

    Parameters
    ----------
    model : refglm.FirstLevelModel
        Fitted.
    contrasts : dict
        BIDS names to contrast definitions.
    map_cluster_threshold : int

    Returns
    -------
    dict
    """
    return dict(
        t_r=float(model.t_r),
        noise_model=model.noise_model,
        standardize=model.standardize,
        hrf_model=model.hrf_model,
        drift_model=model.drift_model,
        high_pass=model.high_pass,
        drift_order=model.drift_order,
        convention=model.convention_.name,
        engine=model.engine,
        contrasts=dict(contrasts),
        map_cluster_threshold=map_cluster_threshold,
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


def _table_params(threshold, height_control, alpha, two_sided, **table) -> dict:
    return {
        "stat_threshold": float(threshold),
        "height_control": height_control,
        "alpha": alpha,
        "cluster_threshold": table["cluster_threshold"],
        "min_distance": table["min_distance"],
        "two_sided": bool(two_sided),
    }


def write_figures_and_report(
    results, summaries, out_dir, written, *, figures: bool, report: bool, **products
) -> list[Path]:
    """Figures and ``report.html`` of a fit, through ``refglm.report.write_products``.

    The shared tail of ``write_tutorial`` and ``write_fit``: ``results``
    gives the model, mean image and parameters, ``written`` the files
    :func:`write_glm_outputs` wrote (listed in the report); ``products``
    are the remaining keywords of ``write_products`` (title, regressors,
    regressors_title, checks). Returns the files written.
    """
    from refglm import report as report_mod

    return report_mod.write_products(
        out_dir,
        model=results.model,
        mean_img=results.mean_img,
        summaries=summaries,
        parameters=results.parameters,
        figures=figures,
        report=report,
        outputs=[p.name for p in written],
        **products,
    )
