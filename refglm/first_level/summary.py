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

__all__ = [
    "ThresholdedMap",
    "ContrastSummary",
    "model_parameters",
    "spm_option_keys",
    "table_params",
]


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


def spm_option_keys(convention) -> tuple:
    """The SPM12 options (``FirstLevelModel`` parameters) a convention's steps read.

    ``oversampling`` and ``microtime_onset`` under SPM's design builder
    (``design_builder='spm_fMRI_design'``: SPM's ``fmri_t``, ``fmri_t0``);
    ``global_normalization`` wherever SPM's globals are computed (``scaling_method
    'spm_global'`` or ``mask_method 'spm_implicit'``); ``implicit_mask_threshold`` under
    SPM's implicit mask. Under ``'spm12'`` all four; under nistats' and nilearn's
    conventions none. These are the keys :func:`model_parameters` always writes for the
    convention, and the ones ``refglm explain-voxel --from`` needs to rebuild its model.
    """
    from refglm.conventions import get_convention

    conv = get_convention(convention)
    keys = []
    if conv.design_builder == "spm_fMRI_design":
        keys += ["oversampling", "microtime_onset"]
    if conv.scaling_method == "spm_global" or conv.mask_method == "spm_implicit":
        keys.append("global_normalization")
    if conv.mask_method == "spm_implicit":
        keys.append("implicit_mask_threshold")
    return tuple(keys)


def _option_values(model, conv) -> dict:
    """The SPM options the fit used (:func:`spm_option_keys`), their defaults resolved.

    ``oversampling`` outside SPM's builder is written only when the model was given one
    (None is the builder's own default, 50): a fit that did not set it writes the keys
    it always did.
    """
    keys = spm_option_keys(conv)
    values = {}
    if "oversampling" in keys:
        from refglm.first_level.run import SPM_MICROTIME_ONSET, SPM_MICROTIME_RESOLUTION

        given = model.oversampling
        onset = model.microtime_onset
        values["oversampling"] = int(SPM_MICROTIME_RESOLUTION if given is None else given)
        values["microtime_onset"] = int(SPM_MICROTIME_ONSET if onset is None else onset)
    elif model.oversampling is not None:
        values["oversampling"] = int(model.oversampling)
    if "global_normalization" in keys:
        values["global_normalization"] = model.global_normalization
    if "implicit_mask_threshold" in keys:
        from refglm.glm.masking import SPM_MASK_THRESHOLD

        threshold = model.implicit_mask_threshold
        values["implicit_mask_threshold"] = float(
            SPM_MASK_THRESHOLD if threshold is None else threshold
        )
    return values


def model_parameters(model, contrasts, map_cluster_threshold) -> dict:
    """The model parameters ``statmap.json`` holds, read from a fitted model.

    The same keys for ``refglm fit`` and ``refglm tutorial``: ``t_r``,
    ``noise_model``, ``standardize``, ``hrf_model``, ``drift_model``,
    ``high_pass``, ``drift_order``, ``convention`` (its name), ``engine``,
    ``contrasts`` (BIDS name to definition) and ``map_cluster_threshold``
    (the cluster-size filter of the thresholded maps: clusters of fewer
    voxels are removed). Under a convention with SPM12's steps, the SPM options
    they read (:func:`spm_option_keys`), with the values used (defaults resolved:
    ``oversampling`` 16, ``microtime_onset`` 8, ``global_normalization`` None for
    SPM's 'None', ``implicit_mask_threshold`` 0.8); elsewhere ``oversampling`` when
    the model was given one.

    The other parameters of the design and scaling (``slice_time_ref`` 0,
    ``min_onset`` -24, ``fir_delays`` (0,), ``signal_scaling`` 0) are fixed by
    ``refglm fit`` and ``refglm tutorial``; a given mask is in ``input_files`` (role
    ``mask``, by sha256) and the mask fitted in ``mask.nii.gz``.

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
        **_option_values(model, model.convention_),
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
