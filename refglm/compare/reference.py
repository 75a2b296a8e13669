"""``refglm compare --reference-from-data``: fit the reference with refglm.

The run is fitted with :class:`refglm.first_level.model.FirstLevelModel` and the maps the
candidate has (its ``(contrast, kind)`` keys) are computed from the fit; a
contrast name the user does not define is looked up among the tutorial's
contrasts, the design's conditions and their differences.
"""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from refglm.compare.maps import StatMap
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel
from refglm.io.derivative_names import camel_case_contrast_name
from refglm.workflows import TUTORIAL_CONTRASTS

__all__ = ["reference_from_data"]


def expand_func(func) -> list[str]:
    """The functional files: paths as given, glob patterns expanded in sorted order."""
    files = []
    for item in [func] if isinstance(func, str | Path) else list(func):
        item = str(item)
        if any(ch in item for ch in "*?["):
            matched = sorted(glob.glob(item))
            if not matched:
                raise InputError(
                    f"--reference-from-data {item}: no file matches this pattern; expected the "
                    "run's functional images. Check the path."
                )
            files.extend(matched)
        else:
            files.append(item)
    if not files:
        raise InputError(
            "--reference-from-data: expected the run's functional images (one 4-D file or "
            "its 3-D volumes in order), found none."
        )
    return files


def _run_imgs(files: list[str]):
    """What a model fits: the one file, or the list of volumes in order."""
    return files if len(files) > 1 else files[0]


def _default_contrasts(design_columns) -> dict:
    """Definitions for the names a candidate may use: the tutorial's, conditions, differences."""
    conditions = [
        str(c) for c in design_columns if not str(c).startswith("drift") and str(c) != "constant"
    ]
    known = {}
    for column in conditions:
        known.setdefault(camel_case_contrast_name(column), column)
        known.setdefault(column, column)
    for first in conditions:
        for second in conditions:
            if first != second:
                expr = f"{first} - {second}"
                known.setdefault(camel_case_contrast_name(expr), expr)
    for name, definition in TUTORIAL_CONTRASTS.items():
        rows = [definition] if isinstance(definition, str) else definition
        if all(r in conditions for r in rows):
            known.setdefault(name, definition)
    return known


def _map_from_result(result, kind):
    """The map of a ``ContrastResult`` named by a BIDS ``stat-<kind>`` (None if it has none)."""
    if kind in ("z", None):
        return result.z_score
    if kind in ("t", "F", "stat"):
        return result.stat
    if kind == "p":
        return result.p_value
    if kind in ("effect", "variance") and result.stat_type == "t":
        return result.effect[0] if kind == "effect" else result.variance[0, 0]
    return None


def _model_maps(model, wanted_keys, definitions) -> dict:
    """Maps of a fitted model for each wanted ``(contrast, kind)`` that can be computed."""
    maps = {}
    results = {}
    for contrast, kind in wanted_keys:
        definition = definitions.get(contrast)
        if definition is None:
            continue
        if contrast not in results:
            results[contrast] = model.contrast_result(definition)
        values = _map_from_result(results[contrast], kind)
        if values is None:
            continue
        maps[(contrast, kind)] = StatMap(
            contrast,
            kind,
            model.to_volume(values),
            np.asarray(model.affine_, dtype=np.float64),
            f"refglm ({model.convention_.name})",
        )
    return maps


def _model_params(params: dict) -> dict:
    keys = (
        "t_r",
        "slice_time_ref",
        "hrf_model",
        "fir_delays",
        "drift_model",
        "high_pass",
        "drift_order",
        "min_onset",
        "noise_model",
        "mask_img",
        "n_jobs",
        # SPM12's options (the spm12 convention)
        "oversampling",
        "microtime_onset",
        "global_normalization",
        "implicit_mask_threshold",
        "modulators",
    )
    return {k: params[k] for k in keys if k in params}


def reference_from_data(
    func,
    events,
    candidate: dict,
    contrasts: dict | None = None,
    convention="nistats",
    engine: str = "statsmodels",
    keep_signals: bool = False,
    progress=None,
    **model_params,
):
    """Fit the reference with refglm and compute the maps the candidate has.

    Parameters
    ----------
    func : path, list of paths or glob pattern
        The run's functional images.
    events : path or DataFrame
    candidate : dict
        The candidate's maps (:func:`load_maps`), whose keys say what to compute.
    contrasts : dict or None
        ``{name: definition}``; names not given are looked up among the
        tutorial's contrasts, the design's conditions and their differences.
    convention, engine, **model_params
        Passed to :class:`refglm.first_level.model.FirstLevelModel`.
    keep_signals : bool
        Keep the model's scaled signals (``minimize_memory=False``): ``--explain``
        refits voxels of it (AR-bin ties).
    progress : callable or None
        The fit's progress callback (``FirstLevelModel(progress=...)``).

    Returns
    -------
    maps : dict
    model : FirstLevelModel
    definitions : dict
        The definition used for each contrast name.
    """
    model = FirstLevelModel(
        **_model_params(model_params),
        convention=convention,
        engine=engine,
        minimize_memory=not keep_signals,
        progress=progress,
    ).fit(_run_imgs(expand_func(func)), events)
    definitions = _default_contrasts(model.design_matrices_[0].columns)
    definitions.update(contrasts or {})
    maps = _model_maps(model, list(candidate), definitions)
    if not maps:
        names = ", ".join(sorted({str(k[0]) for k in candidate}))
        raise InputError(
            f"--contrast: no definition for the candidate's contrasts ({names}); expected "
            "--contrast NAME=EXPR for each (e.g. --contrast 'activeMinusRest=active - rest')."
        )
    return maps, model, definitions
