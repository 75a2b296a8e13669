"""What a fitted model's contrasts are summarised into, for the writers and the report.

:class:`ContrastSummary` (with its :class:`ThresholdedMap` figures) is what
``write_glm_outputs`` and ``refglm.report`` take; :func:`model_parameters` is
``statmap.json``'s parameter block (one function, so ``refglm fit`` and ``refglm
tutorial`` write the same keys); :func:`table_params` the parameters written
beside a cluster table.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["ThresholdedMap", "ContrastSummary", "model_parameters", "table_params"]


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


def table_params(threshold, height_control, alpha, two_sided, **table) -> dict:
    """The parameters of a cluster table, as ``contrast-<name>_clusters.json`` holds them."""
    return {
        "stat_threshold": float(threshold),
        "height_control": height_control,
        "alpha": alpha,
        "cluster_threshold": table["cluster_threshold"],
        "min_distance": table["min_distance"],
        "two_sided": bool(two_sided),
    }
