"""``refglm compare --explain``: which convention, or flip of one, reproduces the candidate?

The run is refitted under every named convention and every single-choice flip
of the default convention (and of the closest named one); each variant is
scored by :math:`\\max|\\Delta|` against the candidate (see :func:`explain`).
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np

from refglm import io
from refglm.agreement import DEFAULT_TOLERANCE, compare_arrays
from refglm.agreement import support as _support
from refglm.compare_reference import _expand_func, _model_maps, _model_params, _run_imgs
from refglm.conventions import (
    CHOICE_VALUES,
    CONVENTIONS,
    DEFAULT_CONVENTION,
    Convention,
    get_convention,
)

__all__ = ["MAP_CHOICES", "CHOICE_LABELS", "EXPLAIN_BOX_VOXELS", "variants", "explain"]

#: Choices that change the statistical maps (the rest only change thresholds and tables).
MAP_CHOICES = (
    "input_dtype",
    "mask_mean_dtype",
    "scaling_dtype",
    "standardize_rule",
    "ar_estimator",
    "ar_binning",
    "ar_bins",
    "ar_fit",
    "whiten_scan0",
    "df",
    "hrf_formula",
    "z_method",
)

# Values tried for integer choices by --explain.
_INT_ALTERNATIVES = {"ar_bins": (1000,)}

#: Words for each choice, for the --explain message.
CHOICE_LABELS = {
    "input_dtype": "the input dtype",
    "mask_mean_dtype": "the dtype of the mask's mean image",
    "scaling_dtype": "the dtype of the signal scaling",
    "standardize_rule": "when standardize applies",
    "ar_estimator": "the AR estimator",
    "ar_binning": "the AR binning",
    "ar_bins": "the number of AR bins",
    "ar_fit": "the AR fit",
    "whiten_scan0": "the whitening of scan 0",
    "df": "the degrees of freedom",
    "hrf_formula": "the HRF formulas",
    "z_method": "the z conversion",
}

# Default number of mask voxels in --explain's sub-box (0: all voxels).
EXPLAIN_BOX_VOXELS = 5000


def _alternatives(key: str, base: Convention):
    allowed = CHOICE_VALUES[key]
    values = _INT_ALTERNATIVES.get(key, ()) if allowed is int else allowed
    return [v for v in values if v != getattr(base, key)]


def variants(base: Convention) -> list[Convention]:
    """Every single-choice flip of ``base`` over the choices that change the maps."""
    return [
        base.flipped(**{key: value}) for key in MAP_CHOICES for value in _alternatives(key, base)
    ]


def _describe(conv: Convention) -> tuple[str, dict]:
    """(base name, {choice: value}) of a named convention or a flip of one."""
    base_name = conv.name.split("+", 1)[0]
    base = CONVENTIONS.get(base_name)
    changes = {} if base is None else {k: v[1] for k, v in base.differences(conv).items()}
    return base_name, changes


def _label(conv: Convention) -> str:
    base, changes = _describe(conv)
    if not changes:
        return f"convention {base}"
    what = ", ".join(f"{CHOICE_LABELS.get(k, k)} ({k}={v})" for k, v in changes.items())
    return f"convention {base} except {what}"


def _vectorized_available() -> bool:
    return importlib.util.find_spec("refglm.fit_vectorized") is not None


def _box_around(center, support, n_voxels: int) -> np.ndarray:
    """The smallest cube centred on ``center`` holding at least ``n_voxels`` of ``support``."""
    shape = support.shape
    box = np.zeros(shape, dtype=bool)
    for half in range(1, max(shape) + 1):
        box[:] = False
        cube = tuple(
            slice(max(c - half, 0), min(c + half + 1, n))
            for c, n in zip(center, shape, strict=True)
        )
        box[cube] = True
        if (box & support).sum() >= n_voxels:
            break
    return box


def _score(candidate: dict, maps: dict, region=None) -> tuple[float, dict]:
    per_map = {}
    for key, cand in candidate.items():
        ref = maps.get(key)
        if ref is None:
            continue
        a, b = ref.data, cand.data
        if region is not None:
            a, b = np.where(region, a, 0.0), np.where(region, b, 0.0)
        per_map[cand.name] = compare_arrays(a, b)["max_abs"]
    return (max(per_map.values()) if per_map else math.inf), per_map


def explain(
    candidate: dict,
    func,
    events,
    contrasts: dict,
    tolerance: float = DEFAULT_TOLERANCE,
    engine: str | None = None,
    box_voxels: int = EXPLAIN_BOX_VOXELS,
    reference_convention="nistats",
    **model_params,
) -> dict:
    """Which convention, or single-choice flip of one, reproduces the candidate best?

    The run is refitted under every named convention and every single-choice
    flip (over :data:`MAP_CHOICES`) of the default convention, and of the
    closest named convention when that is another one. Each variant is scored
    by :math:`\\max|\\Delta|` against the candidate over the candidate's maps.
    Variants within ``tolerance`` rank first, named conventions before flips;
    the others by their score.

    To stay fast the variants are fitted on a cube of about ``box_voxels`` mask
    voxels centred on the largest difference between the candidate and the
    reference (``box_voxels=0``: every voxel); the three leading variants are
    then refitted on every voxel, ranked again, and the best one's residual
    over every voxel is reported.

    Parameters
    ----------
    candidate : dict
        The candidate's maps (:func:`load_maps`).
    func, events, contrasts, **model_params
        As :func:`reference_from_data`.
    engine : {'vectorized', 'statsmodels'} or None
        None: the vectorized engine when installed.
    reference_convention : str or Convention
        The reference's convention (its difference to the candidate centres the box).

    Returns
    -------
    dict
        ``best`` (name, label, max_abs, per_map), ``message``, ``ranking``,
        ``engine``, ``box``.
    """
    from refglm.masking import compute_epi_mask, mean_epi
    from refglm.model import FirstLevelModel, run_dtype

    if engine is None:
        engine = "vectorized" if _vectorized_available() else "statsmodels"
    run_imgs = _run_imgs(_expand_func(func))
    params = _model_params(model_params)
    user_mask = params.pop("mask_img", None)
    if isinstance(events, str | Path):
        events = io.read_events(events)

    loaded: dict = {}
    epi_masks: dict = {}

    def data_for(conv):
        dtype = run_dtype(run_imgs, conv.input_dtype)
        if dtype not in loaded:
            loaded[dtype] = io.load_run(run_imgs, dtype=dtype)
        return loaded[dtype]

    def mask_for(conv, data, affine):
        if user_mask is not None:
            mask_data, _ = io.image_data(user_mask)
            return mask_data > 0
        key = (data.dtype, conv.mask_mean_dtype)
        if key not in epi_masks:
            epi_masks[key] = compute_epi_mask(mean_epi(data, conv.mask_mean_dtype))
        return epi_masks[key]

    def fit(conv, region):
        data, affine = data_for(conv)
        mask = mask_for(conv, data, affine)
        if region is not None:
            mask = mask & region
        model = FirstLevelModel(**params, convention=conv, engine=engine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit_array(data, affine, events, mask=mask)
        return _model_maps(model, list(candidate), contrasts)

    # the box: around the largest difference between the candidate and the reference
    region = None
    reference = get_convention(reference_convention)
    if box_voxels:
        ref_maps = fit(reference, None)
        worst, center = -1.0, None
        for key, cand in candidate.items():
            if key not in ref_maps:
                continue
            stats = compare_arrays(ref_maps[key].data, cand.data)
            if stats["max_abs"] > worst and stats["argmax_ijk"] is not None:
                worst, center = stats["max_abs"], stats["argmax_ijk"]
        if center is not None:
            support = np.zeros(next(iter(candidate.values())).data.shape, dtype=bool)
            for cand in candidate.values():
                support |= _support(cand.data)
            if support.sum() > box_voxels:
                region = _box_around(center, support, box_voxels)

    tried: dict = {}

    def evaluate(conv):
        if conv.name not in tried:
            score, per_map = _score(candidate, fit(conv, region), region)
            tried[conv.name] = (conv, score, per_map)
        return tried[conv.name]

    default = get_convention(DEFAULT_CONVENTION)
    for conv in CONVENTIONS.values():
        evaluate(conv)
    for conv in variants(default):
        evaluate(conv)
    closest = min(CONVENTIONS.values(), key=lambda c: tried[c.name][1])
    if closest.name != default.name:
        for conv in variants(closest):
            evaluate(conv)

    def rank_key(item):
        conv, score, _ = item
        n_changes = len(_describe(conv)[1])
        within = score <= tolerance
        return (0 if within else 1, n_changes if within else 0, score)

    ranking = sorted(tried.values(), key=rank_key)
    if region is not None:
        # the box can miss sparse differences (a few voxels changing AR bin): the
        # leading variants are refitted on every voxel and ranked again
        leaders = [(conv, *_score(candidate, fit(conv, None))) for conv, _, _ in ranking[:3]]
        best_conv, best_score, best_per_map = sorted(leaders, key=rank_key)[0]
    else:
        best_conv, best_score, best_per_map = ranking[0]
    within = best_score <= tolerance
    label = _label(best_conv)
    message = (
        f"candidate matches {label}: max|Δ| {best_score:.2g}"
        if within
        else f"closest: {label}: max|Δ| {best_score:.2g} (beyond tolerance {tolerance:g})"
    )
    also = [
        _label(conv)
        for conv, score, _ in ranking[1:]
        if score <= tolerance and conv.name != best_conv.name
    ]
    return {
        "message": message,
        "best": {
            "name": best_conv.name,
            "label": label,
            "max_abs": best_score,
            "per_map": best_per_map,
            "within_tolerance": within,
            "choices": best_conv.choices(),
        },
        "also_within_tolerance": also,
        "ranking": [
            {"name": conv.name, "label": _label(conv), "max_abs": score, "per_map": per_map}
            for conv, score, per_map in ranking
        ],
        "engine": engine,
        "box": None
        if region is None
        else {"voxels": int(region.sum()), "requested_mask_voxels": int(box_voxels)},
    }
