r"""``refglm compare --explain``: a cause for every voxel beyond tolerance.

For each pair of maps (reference :math:`A`, candidate :math:`B`), the voxels beyond
tolerance (:math:`|B - A| > \tau`, or in one support only; ``compare_arrays``' set) are
each given one cause by :func:`refglm.compare.causes.classify_voxels`: a mask-edge
voxel, an AR-bin tie, a quantized tail, a convention choice, or unexplained. This
module gathers the arrays it decides from:

- the reference model's p values and statistics (``FirstLevelModel.contrast_result``)
  and the candidate's (its ``stat-p`` and ``stat-t``/``stat-F`` maps when it has them;
  else :math:`p = 1 - \Phi(z)` of its z map, and no statistic);
- for the voxels beyond tolerance whose raw :math:`\hat\rho` lies within
  ``causes.TIE_RHO_ATOL`` of a bin edge, the reference's value recomputed with the
  neighbouring bin (``causes.contrast_with_rho``, from the model's ``signals_`` and
  ``X_``: a model fitted with ``minimize_memory=False``);
- the maps of the closest convention choice that ``--explain`` found, when it is not the
  reference's own convention.

The result (:func:`account_for_voxels`) goes into ``compare.json``, ``compare.md`` and
``compare.html``; with ``--allow-ties`` (the default) the verdict does not count the
ties and tails (``refglm.compare.report.CompareReport``).
"""

from __future__ import annotations

import numpy as np

from refglm.compare.agreement import (
    DEFAULT_RELATIVE_TOLERANCE,
    DEFAULT_TOLERANCE,
    compare_arrays,
    finite_or_zero,
    support,
    tolerance_for,
)
from refglm.compare.causes import (
    CAUSES,
    TAIL_MAX_DP_SPACINGS,
    TAIL_SLACK,
    TAIL_STAT_RTOL,
    TIE_RHO_ATOL,
    classify_voxels,
    contrast_with_rho,
    neighbouring_bins,
)
from refglm.compare.maps import pair_maps
from refglm.compare.reference import _map_from_result, _model_maps
from refglm.glm.z_quantization import quantization_onset, spacings_from_one, step_below

__all__ = ["MAX_LISTED", "EXCUSED", "CAUSE_NAMES", "account_for_voxels", "counts_line"]

#: Voxels listed per map and cause in the reports (the largest |Δ| first); counts are full.
MAX_LISTED = 10

#: The causes that are not a difference of the models: ``--allow-ties`` excuses them.
EXCUSED = ("tie", "tail")

#: How reports name each cause.
CAUSE_NAMES = {
    "convention": "convention choice",
    "tie": "AR-bin tie",
    "tail": "quantized tail",
    "mask_edge": "mask edge",
    "unexplained": "unexplained",
}

_STAT_KINDS = ("t", "F", "stat")


def counts_line(counts: dict) -> str:
    """``'0 convention choice, 1 AR-bin tie, 258 quantized tail, 0 mask edge, 0 unexplained'``."""
    return ", ".join(f"{counts.get(cause, 0)} {CAUSE_NAMES[cause]}" for cause in CAUSES)


def _candidate_p(candidate: dict, contrast, z_values, union):
    """The candidate's one-sided p: its p map, else :math:`1 - \\Phi(z)` of its z map."""
    p_map = candidate.get((contrast, "p"))
    if p_map is not None and p_map.data.shape == union.shape:
        return finite_or_zero(p_map.data)[union], "p map"
    from scipy import stats

    return stats.norm.sf(z_values), "norm.sf of the z map"


def _candidate_stat(candidate: dict, contrast, union):
    for kind in _STAT_KINDS:
        stat_map = candidate.get((contrast, kind))
        if stat_map is not None and stat_map.data.shape == union.shape:
            return finite_or_zero(stat_map.data)[union]
    return None


def _tie_values(model, result, kind, pos, candidates):
    """The reference's value of ``kind`` recomputed with the neighbouring AR bin (NaN elsewhere).

    Only for ``candidates`` (voxels beyond tolerance, in the model's mask), and only
    where the raw rho is within ``TIE_RHO_ATOL`` of an edge. Returns ``(values,
    own_rho, other_rho, checked)``; ``checked`` is False when the model kept no signals.
    """
    n = pos.shape[0]
    values = np.full(n, np.nan)
    own_u = np.full(n, np.nan)
    other_u = np.full(n, np.nan)
    fit = model.fit_
    conv = model.convention_
    if fit.noise_model != "ar1" or conv.ar_binning == "none":
        return values, own_u, other_u, True
    own, other = neighbouring_bins(fit.rho_raw, conv.ar_bins, conv.ar_binning)
    inside = pos >= 0
    own_u[inside] = own[pos[inside]]
    other_u[inside] = other[pos[inside]]
    todo = np.nonzero(candidates & inside & np.isfinite(other_u))[0]
    if todo.size == 0:
        return values, own_u, other_u, True
    signals = getattr(model, "signals_", None)
    if signals is None:
        return values, own_u, other_u, False
    voxels = pos[todo]
    redo = contrast_with_rho(
        signals[:, voxels],
        model.X_,
        other[voxels],
        result.contrast,
        result.stat_type,
        whiten_scan0=conv.whiten_scan0,
        cov_pinv=conv.cov_pinv,
        z_method=conv.z_method,
    )
    values[todo] = _map_from_result(redo, kind)
    return values, own_u, other_u, True


def _listed(label, order, cause, limit):
    chosen = [i for i in order if label[i] == cause]
    return chosen[:limit]


def account_for_voxels(
    candidate: dict,
    reference: dict | None,
    model,
    definitions: dict,
    tolerance: float = DEFAULT_TOLERANCE,
    relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE,
    convention_maps: dict | None = None,
    convention_label: str | None = None,
    max_listed: int = MAX_LISTED,
) -> dict:
    """The cause of every voxel beyond tolerance, map by map (module docstring).

    Parameters
    ----------
    candidate, reference : dict
        Maps keyed by ``(contrast, kind)`` (``load_maps``, ``reference_from_data``);
        paired as ``compare_maps`` pairs them. ``reference`` None: the model's maps of
        the candidate's keys.
    model : FirstLevelModel
        The fitted reference (its maps are ``reference``); ``minimize_memory=False``
        for the tie check.
    definitions : dict
        Contrast name -> definition, as given to the reference.
    tolerance, relative_tolerance : float
        As ``compare_maps``: absolute on z, t, F, p; relative on effects and variances.
    convention_maps : dict or None
        The maps of the closest convention choice (None: no convention class).
    convention_label : str or None
        Its name, for the reports.
    max_listed : int
        Voxels listed per map and cause.

    Returns
    -------
    dict
        ``maps`` (name -> ``counts``, ``n_beyond``, ``max_abs``,
        ``max_abs_without_excused`` (ties and tails), ``voxels`` (the listed ones),
        ``candidate_p_from``, ``ties_checked``), ``counts`` (summed), ``unexplained``,
        ``n_beyond``, ``rules`` (the parameters, and where the quantization begins).
    """
    if reference is None:
        reference = _model_maps(model, list(candidate), definitions)
    pairs, _, _ = pair_maps(reference, candidate)
    mask_pos = np.full(model.mask_.shape, -1)
    mask_pos[model.mask_] = np.arange(int(model.mask_.sum()))
    results: dict = {}
    maps: dict = {}
    totals = dict.fromkeys(CAUSES, 0)
    for key, map_a, map_b in pairs:
        contrast, kind = key
        tol, relative = tolerance_for(kind, tolerance, relative_tolerance)
        threshold = compare_arrays(map_a.data, map_b.data, tol, relative=relative)["threshold"]
        in_a, in_b = support(map_a.data), support(map_b.data)
        union = in_a | in_b
        a = finite_or_zero(map_a.data)[union]
        b = finite_or_zero(map_b.data)[union]
        pos = mask_pos[union]
        beyond = (in_a & in_b)[union] & (np.abs(b - a) > threshold)
        definition = definitions.get(contrast)
        result = None
        if definition is not None:
            if contrast not in results:
                results[contrast] = model.contrast_result(definition)
            result = results[contrast]
        inside = pos >= 0

        def on_union(values, inside=inside, pos=pos):
            out = np.full(pos.shape, np.nan)
            out[inside] = values[pos[inside]]
            return out

        kwargs: dict = {}
        p_from, checked = None, True
        own = other = np.full(pos.shape, np.nan)
        if result is not None:
            if kind in (None, "z"):
                kwargs["reference_p"] = on_union(result.p_value)
                kwargs["candidate_p"], p_from = _candidate_p(candidate, contrast, b, union)
                kwargs["reference_stat"] = on_union(result.stat)
                kwargs["candidate_stat"] = _candidate_stat(candidate, contrast, union)
                if kwargs["candidate_stat"] is None:
                    kwargs["reference_stat"] = None
            if _map_from_result(result, kind) is not None:
                tie, own, other, checked = _tie_values(model, result, kind, pos, beyond)
                kwargs["tie_values"] = tie
        if convention_maps is not None and key in convention_maps:
            kwargs["convention"] = finite_or_zero(convention_maps[key].data)[union]
        out = classify_voxels(a, b, in_a[union], in_b[union], threshold, **kwargs)
        label = out["label"]
        delta = np.abs(b - a)
        flagged = np.nonzero(out["beyond"])[0]
        order = flagged[np.argsort(-delta[flagged], kind="stable")]
        ijk = np.argwhere(union)
        listed = []
        for cause in CAUSES:
            for i in _listed(label, order, cause, max_listed):
                row = {
                    "cause": cause,
                    "ijk": [int(v) for v in ijk[i]],
                    "reference": float(a[i]),
                    "candidate": float(b[i]),
                    "abs_delta": float(delta[i]),
                }
                if cause == "tie":
                    row.update(
                        rho_raw=float(model.fit_.rho_raw[pos[i]]),
                        bins=[float(own[i]), float(other[i])],
                        values=[float(a[i]), float(kwargs["tie_values"][i])],
                    )
                elif cause == "tail":
                    p_ref = float(kwargs["reference_p"][i])
                    p_cand = float(kwargs["candidate_p"][i])
                    row.update(
                        p_spacings_from_one=[
                            float(spacings_from_one(p_ref)),
                            float(spacings_from_one(p_cand)),
                        ],
                        step=float(step_below(max(p_ref, p_cand))),
                    )
                elif cause == "convention":
                    row["convention"] = float(kwargs["convention"][i])
                listed.append(row)
        kept = out["beyond"] & ~np.isin(label, EXCUSED)
        counts = out["counts"]
        for cause, n in counts.items():
            totals[cause] += n
        maps[map_a.name if map_a.contrast is not None else map_b.name] = {
            "key": [contrast, kind],
            "counts": counts,
            "n_beyond": int(out["beyond"].sum()),
            "threshold": float(threshold),
            "max_abs": float(delta.max()) if delta.size else 0.0,
            "max_abs_without_excused": float(
                np.where(out["beyond"] & ~kept, 0.0, delta).max() if delta.size else 0.0
            ),
            "candidate_p_from": p_from,
            "ties_checked": bool(checked),
            "voxels": listed,
        }
    z_star, k_star = quantization_onset(tolerance)
    return {
        "maps": maps,
        "counts": totals,
        "n_beyond": int(sum(totals.values())),
        "unexplained": totals["unexplained"],
        "convention": convention_label,
        "rules": {
            "tie_rho_atol": TIE_RHO_ATOL,
            "tail_max_dp_spacings": TAIL_MAX_DP_SPACINGS,
            "tail_slack": TAIL_SLACK,
            "tail_stat_rtol": TAIL_STAT_RTOL,
            "quantization_onset_z": z_star,
            "quantization_onset_spacings": k_star,
            "tolerance": float(tolerance),
        },
    }
