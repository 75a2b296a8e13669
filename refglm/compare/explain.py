r"""``refglm compare --explain``: which convention, or flip of one choice, reproduces the candidate?

The run is refitted under every named convention and under every single-choice
flip of *each* named convention (every listed value of every choice that acts
on the maps, :func:`candidate_conventions`). Each variant :math:`V` is scored
against the candidate :math:`C` over the scored maps (:func:`scored_keys`) by

.. math:: s(V) = \big(\max|\Delta|,\ \#\{|\Delta| > \tau\},\ \overline{|\Delta|}\big),
          \qquad \Delta = V - C,

compared lexicographically (:func:`rank_key`). Variants whose maps are
bitwise identical to a simpler variant's (a choice that does not act on this
model or these data, e.g. the HRF formulas for the SPM HRF) are folded into
it and listed as "same maps", never ranked as a different explanation.

A variant *explains* the difference only when it brings the candidate within
tolerance on every voxel. The baseline, the residual of the reference's own
convention, is always reported; when no variant is within tolerance the
message says so, and how much the closest one improves on the baseline.

Then every voxel beyond tolerance is given a cause (:mod:`refglm.compare.accounting`,
rules in :mod:`refglm.compare.causes`): the closest convention choice, an AR-bin tie,
a quantized tail, a mask-edge voxel, or unexplained. The candidate is *explained* when
no voxel is unexplained: ties and tails are not convention choices, and a candidate
that differs from the reference only by them follows the reference's convention.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refglm import io
from refglm.compare.accounting import account_for_voxels, counts_line
from refglm.compare.agreement import (
    DEFAULT_RELATIVE_TOLERANCE,
    DEFAULT_TOLERANCE,
    compare_arrays,
    is_stat_kind,
)
from refglm.compare.agreement import support as _support
from refglm.compare.reference import _model_maps, _model_params, _run_imgs, expand_func
from refglm.compare.variants import (
    EXPLAIN_BOX_VOXELS,
    _describe,
    _label,
    candidate_conventions,
)
from refglm.conventions import (
    CONVENTIONS,
    Convention,
    get_convention,
)
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel
from refglm.glm.masking import compute_epi_mask, mean_epi

__all__ = ["scored_keys", "rank_key", "explain_differences"]

#: Variants of the box ranking refitted on every voxel (with their base conventions).
N_LEADERS = 3

# A variant beyond tolerance is reported as an improvement on the baseline only when
# it lowers max|Δ| by more than this fraction.
_MEANINGFUL = 0.01

_PARAMETER_HINT = (
    "the difference is likely in the model parameters (HRF model, noise model, drift "
    "model, high_pass/drift_order, slice_time_ref, min_onset, mask) or in the data each "
    "side was given: check that both fits used the same ones"
)


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


def _bounding_box(region: np.ndarray) -> tuple:
    """The slices of the smallest box holding every True voxel of ``region``."""
    found = np.argwhere(region)
    low, high = found.min(axis=0), found.max(axis=0) + 1
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))


def scored_keys(candidate: dict) -> tuple[list, bool]:
    """The candidate's maps --explain scores, and whether they are compared relatively.

    The statistics (z, t, F, p: ``refglm.compare.agreement.STAT_KINDS``) when the candidate has
    any, with the absolute tolerance; else its maps in signal units (effect,
    variance) relative to their largest magnitude (``refglm.compare.agreement.tolerance_for``).
    """
    stat = [key for key in candidate if is_stat_kind(key[1])]
    if stat:
        return stat, False
    return list(candidate), True


@dataclass
class _Result:
    """One variant's score against the candidate."""

    conv: Convention
    max_abs: float
    n_beyond: int
    mean_abs: float
    masks_equal: bool
    per_map: dict
    fingerprint: str
    same_maps: list = field(default_factory=list)

    def within(self, tolerance: float) -> bool:
        return self.masks_equal and self.max_abs <= tolerance

    region: str = "mask"  # where the scores are computed: "mask" (every voxel) or "box"

    def scores(self) -> dict:
        """The scores alone: max_abs, n_beyond_tolerance, mean_abs, masks_equal, per_map."""
        return {
            "max_abs": self.max_abs,
            "n_beyond_tolerance": self.n_beyond,
            "mean_abs": self.mean_abs,
            "masks_equal": self.masks_equal,
            "per_map": self.per_map,
        }

    def as_dict(self) -> dict:
        return {
            "name": self.conv.name,
            "label": _label(self.conv),
            **self.scores(),
            "region": self.region,
            "same_maps": [c.name for c in self.same_maps],
        }


def rank_key(result: _Result, tolerance: float) -> tuple:
    """Order of the ranking: within tolerance first, simplest first; then by score.

    Within tolerance: (0, number of changed choices, max|Δ|, ...): a named
    convention before a flip of one. Beyond: (1, max|Δ|, voxels beyond
    tolerance, mean|Δ|, number of changed choices).
    """
    n_changes = len(_describe(result.conv)[1])
    score = (result.max_abs, result.n_beyond, result.mean_abs)
    if result.within(tolerance):
        return (0, n_changes, *score)
    return (1, *score, n_changes)


def _score(candidate, maps, keys, tolerance, relative, region=None) -> dict | None:
    per_map, n_beyond, means, masks_equal = {}, 0, [], True
    digest = hashlib.sha1()
    for key in keys:
        cand, ref = candidate[key], maps.get(key)
        if ref is None:
            return None
        a, b = cand.data, ref.data
        if region is not None:
            a, b = np.where(region, a, 0.0), np.where(region, b, 0.0)
        digest.update(np.ascontiguousarray(b, dtype=np.float64).tobytes())
        stats = compare_arrays(a, b, tolerance, relative=relative)
        if relative:
            scale = stats["reference_max_abs"] or 1.0
            value, mean = stats["max_abs"] / scale, stats["mean_abs"] / scale
        else:
            value, mean = stats["max_abs"], stats["mean_abs"]
        per_map[cand.name] = value
        n_beyond += stats["n_beyond_tolerance"]
        means.append(mean)
        masks_equal &= stats["only_reference"] == 0 and stats["only_candidate"] == 0
    return {
        "max_abs": max(per_map.values()) if per_map else math.inf,
        "n_beyond": n_beyond,
        "mean_abs": float(np.mean(means)) if means else math.inf,
        "masks_equal": masks_equal,
        "per_map": per_map,
        "fingerprint": digest.hexdigest(),
    }


class _NoBar:
    """A progress bar that draws nothing (``progress=None``)."""

    def update(self, n=1):
        pass

    def set_postfix_str(self, text, refresh=True):
        pass

    def close(self):
        pass


class _NoProgress:
    """Progress that draws nothing: :func:`explain_differences` without ``progress``."""

    def bar(self, total, desc, unit="vox"):
        return _NoBar()

    @contextlib.contextmanager
    def stepping(self, desc):
        yield


def explain_differences(
    candidate: dict,
    func,
    events,
    contrasts: dict,
    tolerance: float = DEFAULT_TOLERANCE,
    engine: str | None = None,
    box_voxels: int = EXPLAIN_BOX_VOXELS,
    reference_convention="nistats",
    relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE,
    reference_maps: dict | None = None,
    reference_model=None,
    progress=None,
    **model_params,
) -> dict:
    r"""Which convention, or single-choice flip of one, reproduces the candidate?

    The run is refitted under every named convention and every single-choice
    flip of each (:func:`candidate_conventions`). Each variant is scored
    against the candidate over :func:`scored_keys` by
    (:math:`\max|\Delta|`, voxels beyond tolerance, mean :math:`|\Delta|`) and
    ranked by :func:`rank_key`; a variant whose maps are bitwise identical to
    an earlier (simpler) one's is folded into it (``same_maps``).

    To stay fast the variants are fitted on a cube of about ``box_voxels`` mask
    voxels centred on the largest difference between the candidate and the
    reference (``box_voxels=0``: every voxel); the :data:`N_LEADERS` leading
    variants and their base conventions are then refitted on every voxel and
    ranked again. The best one *explains* the candidate only when it is within
    tolerance on every voxel; the message always quotes the baseline, the
    reference convention's own residual.

    Every voxel beyond tolerance is then given a cause
    (:func:`refglm.compare.accounting.account_for_voxels`): against the reference
    (``reference_maps`` and ``reference_model`` when the caller fitted it, else the
    reference convention's own full fit here) and the best variant's maps when it is
    not the reference convention. ``explained`` is True when no voxel is unexplained.

    Parameters
    ----------
    candidate : dict
        The candidate's maps (:func:`load_maps`).
    func, events, contrasts, **model_params
        As :func:`reference_from_data`.
    tolerance : float
        On the statistics (absolute).
    engine : {'vectorized', 'statsmodels'} or None
        None: the vectorized engine when installed.
    box_voxels : int
    reference_convention : str or Convention
        The reference's convention: the baseline, and its difference to the
        candidate centres the box.
    relative_tolerance : float
        Used instead of ``tolerance`` when the candidate has only maps in signal
        units (effect, variance), scored relative to their largest magnitude.
    reference_maps : dict or None
        The reference's maps as the caller compared them (``reference_from_data``);
        the voxels beyond tolerance are those of this comparison.
    reference_model : FirstLevelModel or None
        The model that gave ``reference_maps`` (fitted with ``minimize_memory=False``
        for the tie check).
    progress : object or None
        Draws the steps: ``stepping(desc)`` (a context manager) and ``bar(total, desc,
        unit)`` (``update``, ``set_postfix_str``, ``close``), as
        ``refglm.cli.progress.Bars``; None draws nothing.

    Every score is computed either on every voxel of the mask (``region`` ``'mask'``:
    the baseline, the best variant, its base convention, the leaders refitted) or on
    the box (``'box'``: the other rows of the ranking, each leader's row keeping its
    whole-mask scores under ``mask``); ``regions`` says how many voxels each holds.
    When ``reference_maps`` are given, the baseline is their own comparison with the
    candidate (the one ``compare_maps``' verdict is made of), not a refit.

    Returns
    -------
    dict
        ``message``, ``explained`` (bool: no voxel unexplained), ``voxels`` (the
        causes, :func:`refglm.compare.accounting.account_for_voxels`), ``best``
        (name, label, max_abs, n_beyond_tolerance, mean_abs, per_map, within_tolerance, choices,
        same_maps), ``baseline`` (the reference convention's scores),
        ``best_base`` (the best flip's named convention's scores, or None),
        ``also_within_tolerance`` (on the whole mask), ``within_tolerance_on_box_only``,
        ``ranking``, ``scored_maps``, ``relative``, ``tolerance``, ``engine``, ``box``,
        ``regions``, ``n_variants``.
    """
    if engine is None:
        engine = "vectorized"
    if progress is None:
        progress = _NoProgress()
    run_imgs = _run_imgs(expand_func(func))
    params = _model_params(model_params)
    noise_model = params.get("noise_model", "ar1")
    user_mask = params.pop("mask_img", None)
    if isinstance(events, str | Path):
        events = io.read_events(events)
    keys, relative = scored_keys(candidate)
    tol = relative_tolerance if relative else tolerance

    loaded: dict = {}
    epi_masks: dict = {}

    def data_for(conv):
        dtype = io.run_dtype(run_imgs, conv.input_dtype)
        if dtype not in loaded:
            loaded[dtype] = io.load_run(run_imgs, dtype=dtype)
        return loaded[dtype]

    def mask_for(conv, data):
        if user_mask is not None:
            mask_data, _ = io.image_data(user_mask)
            return mask_data > 0
        if conv.mask_method == "spm_implicit":
            return None  # SPM's implicit mask, computed by the model (a given mask would
            # be SPM's explicit mask, intersected with it)
        key = (data.dtype, conv.mask_mean_dtype)
        if key not in epi_masks:
            epi_masks[key] = compute_epi_mask(mean_epi(data, conv.mask_mean_dtype))
        return epi_masks[key]

    reference = get_convention(reference_convention)
    models: dict = {}

    def fit(conv, region):
        data, affine = data_for(conv)
        mask = mask_for(conv, data)
        crop = None
        whole_volume = conv.scaling_method == "spm_global" or conv.mask_method == "spm_implicit"
        if region is not None and whole_volume:
            # SPM's globals and implicit mask are computed over the whole volume: the
            # run is not cropped, the region is SPM's explicit mask
            mask = region if mask is None else mask & region
        elif region is not None:
            # the run cropped to the region's bounding box: each voxel's fit depends on
            # its own series only, and the model's whole-run steps (finite check, mean
            # image) then cost the box, not the run
            crop = _bounding_box(region)
            mask = (mask & region)[crop]
            data = data[crop]
        # the reference's full fit keeps its signals: the tie check refits voxels of it
        keep = region is None and conv.name == reference.name and reference_model is None
        model = FirstLevelModel(**params, convention=conv, engine=engine, minimize_memory=not keep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit_array(data, affine, events, mask=mask)
        if keep:
            models[conv.name] = model
        # a full fit gives every map the candidate has (the causes of the voxels beyond
        # tolerance are counted on each, effects and variances too); the box, the scored ones
        maps = _model_maps(model, keys if region is not None else list(candidate), contrasts)
        if crop is not None:
            for stat_map in maps.values():
                full = np.zeros(region.shape)
                full[crop] = stat_map.data
                stat_map.data = full
        return maps

    def score(conv, maps, region):
        scores = _score(candidate, maps, keys, tol, relative, region)
        if scores is None:
            raise InputError(
                f"--explain: convention {conv.name} gives none of the candidate's maps "
                f"{', '.join(candidate[k].name for k in keys)}; expected --contrast NAME=EXPR "
                "for each contrast the candidate names."
            )
        return _Result(conv, **scores, region="mask" if region is None else "box")

    full: dict = {}
    full_maps: dict = {}

    def full_result(conv):
        if conv.name not in full:
            full_maps[conv.name] = fit(conv, None)
            full[conv.name] = score(conv, full_maps[conv.name], None)
        return full[conv.name]

    with progress.stepping(f"--explain: fit the reference convention {reference.name}"):
        baseline = full_result(reference)
    if reference_maps is not None and all(key in reference_maps for key in keys):
        # the baseline's scores are the verdict's own comparison (the reference as the
        # caller fitted it, with its engine), so that both say the same numbers; its
        # fingerprint stays this fit's, against which the variants' maps are folded
        verdict = score(reference, reference_maps, None)
        verdict.fingerprint = baseline.fingerprint
        full[reference.name] = baseline = verdict
    support = np.zeros(candidate[keys[0]].data.shape, dtype=bool)
    for key in keys:
        support |= _support(candidate[key].data)
    region = None
    if box_voxels:
        ref_maps = full_maps[reference.name]
        worst, center = -1.0, None
        for key in keys:
            stats = compare_arrays(ref_maps[key].data, candidate[key].data)
            if stats["max_abs"] > worst and stats["argmax_ijk"] is not None:
                worst, center = stats["max_abs"], stats["argmax_ijk"]
        if center is not None and support.sum() > box_voxels:
            region = _box_around(center, support, box_voxels)
    where = "every voxel" if region is None else f"the box of {int(region.sum())} voxels"

    # every variant on the region; identical maps folded into the first (simplest)
    groups: dict[str, _Result] = {}
    conventions = candidate_conventions(noise_model, params)
    skipped = []
    bar = progress.bar(len(conventions), f"--explain: fit each variant on {where}", unit="variant")
    for conv in conventions:
        bar.set_postfix_str(conv.name)
        try:
            result = (
                score(conv, fit(conv, region), region) if region is not None else full_result(conv)
            )
        except InputError as exc:  # a variant that cannot fit this run (e.g. SPM's ReML
            # finds no voxel of the effects of interest in the box): reported, not ranked
            skipped.append({"name": conv.name, "reason": " ".join(str(exc).split())})
            bar.update(1)
            continue
        bar.update(1)
        first = groups.get(result.fingerprint)
        if first is None:
            groups[result.fingerprint] = result
        else:
            first.same_maps.append(conv)
    bar.close()
    ranking = sorted(groups.values(), key=lambda r: rank_key(r, tol))

    refitted: dict = {}  # name -> the whole-mask result of a ranked (box) row
    if region is not None:
        # the box can miss sparse differences (a few voxels changing AR bin): the
        # leading variants and their bases are refitted on every voxel and ranked again
        leaders = []
        bar = progress.bar(
            min(N_LEADERS, len(ranking)),
            "--explain: refit the leading variants on every voxel",
            unit="variant",
        )
        for result in ranking[:N_LEADERS]:
            bar.set_postfix_str(result.conv.name)
            full_res = full_result(result.conv)
            full_res.same_maps = result.same_maps
            refitted[result.conv.name] = full_res
            leaders.append(full_res)
            bar.update(1)
        bar.close()
        leaders.sort(key=lambda r: rank_key(r, tol))
        # leaders identical on every voxel are one explanation
        best = leaders[0]
        for other in leaders[1:]:
            if other.fingerprint == best.fingerprint and other.conv.name != best.conv.name:
                best.same_maps = [*best.same_maps, other.conv, *other.same_maps]
    else:
        best = ranking[0]

    within = best.within(tol)
    base_name = _describe(best.conv)[0]
    best_base = None
    if base_name in CONVENTIONS and base_name != best.conv.name:
        with progress.stepping(f"--explain: fit convention {base_name} on every voxel"):
            best_base = full_result(CONVENTIONS[base_name])
    # a cause for every voxel beyond tolerance; the best variant is a convention
    # choice only when its maps are not the reference convention's own
    other = best.fingerprint != baseline.fingerprint and best.conv.name != reference.name
    with progress.stepping("--explain: give each voxel beyond tolerance a cause"):
        voxels = account_for_voxels(
            {key: candidate[key] for key in candidate},
            reference_maps if reference_maps is not None else full_maps[reference.name],
            reference_model if reference_model is not None else models[reference.name],
            contrasts,
            tolerance=tolerance,
            relative_tolerance=relative_tolerance,
            convention_maps=full_maps.get(best.conv.name) if other else None,
            convention_label=_label(best.conv) if other else None,
        )
    models.clear()
    explained = voxels["unexplained"] == 0
    n_maps = len(keys)
    message = _message(best, baseline, best_base, reference, within, tol, relative)
    message = _with_causes(message, voxels, within, best, baseline, reference, tol, relative)
    message += f" {_region_sentence(n_maps, int(support.sum()), region, refitted)}"
    # "also within tolerance" is a verdict: only on the whole mask (the leaders refitted)
    whole = list(refitted.values()) if region is not None else ranking
    also = [
        _label(r.conv)
        for r in whole
        if r.within(tol) and r.conv.name != best.conv.name and r.fingerprint != best.fingerprint
    ]
    box_only = [
        _label(r.conv)
        for r in ranking
        if region is not None and r.within(tol) and r.conv.name not in refitted
    ]
    best_dict = best.as_dict()
    best_dict.update(within_tolerance=within, choices=best.conv.choices())
    rows = []
    for r in ranking:
        row = r.as_dict()
        if r.conv.name in refitted:
            row["mask"] = refitted[r.conv.name].scores()
        elif region is not None and r.conv.name == reference.name:
            row["mask"] = baseline.scores()  # the baseline: every voxel, whatever its rank
        rows.append(row)
    return {
        "message": message,
        "explained": explained,
        "voxels": voxels,
        "best": best_dict,
        "baseline": baseline.as_dict(),
        "best_base": None if best_base is None else best_base.as_dict(),
        "also_within_tolerance": also,
        "leaders": list(refitted),
        "within_tolerance_on_box_only": box_only,
        "ranking": rows,
        "scored_maps": [candidate[k].name for k in keys],
        "relative": relative,
        "tolerance": tol,
        "engine": engine,
        "n_variants": len(conventions),
        "skipped": skipped,
        "box": None
        if region is None
        else {
            "voxels": int(region.sum()),
            "support_voxels": int((region & support).sum()),
            "requested_mask_voxels": int(box_voxels),
        },
        "regions": {
            "mask": {"voxels": int(support.sum()), "maps": n_maps},
            "box": None
            if region is None
            else {"voxels": int(region.sum()), "support_voxels": int((region & support).sum())},
        },
    }


def _region_sentence(n_maps: int, mask_voxels: int, region, refitted: dict) -> str:
    """Where the numbers of the --explain message are computed (the verdict: whole mask)."""
    text = (
        "Every number above is computed on every voxel of the mask (the "
        f"{mask_voxels} voxels of the candidate's maps)"
    )
    if n_maps > 1:
        text += f", a variant's voxels beyond tolerance summed over the {n_maps} scored maps"
    if region is None:
        return text + "."
    return (
        f"{text}; the variants were ranked on a box of {int(region.sum())} voxels around the "
        f"largest difference and the {len(refitted)} leading ones refitted on every voxel "
        "(the ranking table gives both)."
    )


def _with_causes(message, voxels, within, best, baseline, reference, tolerance, relative) -> str:
    """The verdict of --explain (:func:`_message`) with the causes of the voxels beyond tolerance.

    When every voxel is accounted for but some only by ties and tails (not convention
    choices), the candidate follows the convention whose maps it matches elsewhere.
    """
    counts = voxels["counts"]
    n = voxels["n_beyond"]
    if n == 0:
        return message
    pairs = len(voxels["maps"])
    over = f" over the {pairs} map pairs" if pairs > 1 else ""
    causes = f"the {n} voxels beyond tolerance{over} are {counts_line(counts)}"
    if within or voxels["unexplained"]:
        return f"{message[:-1]}; {causes}."
    rest = max(m["max_abs_without_excused"] for m in voxels["maps"].values())
    if counts["convention"]:
        follows = f"{_label(best.conv)} (--convention {best.conv.name})"
    else:
        follows = f"the reference convention {reference.name}"
    return (
        f"candidate matches {follows} but for AR-bin ties and quantized tails, which are "
        f"not convention choices: {causes}; max|Δ| over the other voxels {rest:.3g} "
        f"(tolerance {tolerance:g}); baseline: reference convention {reference.name}, "
        f"{_residual(baseline, tolerance, relative)}."
    )


def _residual(result: _Result, tolerance: float, relative: bool) -> str:
    what = "max|Δ|/max|candidate|" if relative else "max|Δ|"
    text = f"{what} {result.max_abs:.3g}"
    if result.max_abs > tolerance or not result.masks_equal:
        text += f", {result.n_beyond} voxels beyond tolerance"
        if not result.masks_equal:
            text += ", masks differ"
    return text


def _message(best, baseline, best_base, reference, explained, tolerance, relative) -> str:
    """The one-paragraph verdict of --explain (see :func:`explain`)."""
    base_text = (
        f"baseline: reference convention {reference.name}, "
        f"{_residual(baseline, tolerance, relative)}"
    )
    use = f" (--convention {best.conv.name})"
    if explained:
        text = f"candidate matches {_label(best.conv)}{use}: {_residual(best, tolerance, relative)}"
        if _describe(best.conv)[0] == "spm12" and reference.name != "spm12":
            text = f"an SPM-like map: {text} (SPM12's model, not the nistats/nilearn lineage's)"
        parts = [text] if best.conv.name == reference.name else [text, base_text]
        if best_base is not None and best_base.conv.name != reference.name:
            parts.append(
                f"convention {best_base.conv.name} alone: "
                f"{_residual(best_base, tolerance, relative)}"
            )
        return "; ".join(parts) + "."
    if best.conv.name == reference.name or best.max_abs >= baseline.max_abs * (1 - _MEANINGFUL):
        closest = (
            f"no variant comes meaningfully closer than the reference convention "
            f"{reference.name} ({_residual(baseline, tolerance, relative)}"
            + (
                ""
                if best.conv.name == reference.name
                else f"; the closest, {_label(best.conv)}, leaves {best.max_abs:.3g}"
            )
            + ")"
        )
    else:
        spm_like = (
            " (an SPM-like map: SPM12's model comes closest)"
            if _describe(best.conv)[0] == "spm12" and reference.name != "spm12"
            else ""
        )
        closest = (
            f"the closest variant, {_label(best.conv)}{use}{spm_like}, leaves "
            f"{_residual(best, tolerance, relative)} (tolerance {tolerance:g}), against "
            f"{baseline.max_abs:.3g} for the reference convention {reference.name}: "
            f"{baseline.max_abs / best.max_abs:.3g} times smaller, still beyond tolerance"
        )
    return f"no convention choice explains this: {closest}; {_PARAMETER_HINT}."
