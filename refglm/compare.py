"""``refglm compare``: do two sets of first-level maps agree, and if not, why?

``refglm compare REFERENCE CANDIDATE [--out DIR] [--tolerance 1e-6]``

REFERENCE and CANDIDATE are each a statistical map (``.nii``/``.nii.gz``) or a
folder of maps with BIDS-derivative names, ``[...]contrast-<name>_stat-<kind>
_statmap.nii.gz`` (what ``refglm tutorial``, ``refglm fit`` and nilearn's
``save_glm_to_bids`` write); maps are paired by ``(name, kind)``. With
``--reference-from-data FUNC... --events E --t-r T [model flags]`` refglm fits
the reference itself (then only CANDIDATE is given).

For each pair of maps :math:`A` (reference) and :math:`B` (candidate), with
:math:`S_A, S_B` their supports (finite, non-zero voxels) and
:math:`\\Delta = B - A` on :math:`S_A \\cup S_B` (a map is 0 off its support):

- mask agreement: :math:`|S_A \\setminus S_B|`, :math:`|S_B \\setminus S_A|`;
- :math:`\\max|\\Delta|`, mean :math:`|\\Delta|`, 99th percentile of :math:`|\\Delta|`,
  Pearson correlation of :math:`A` and :math:`B`;
- a Bland-Altman plot (:math:`(A+B)/2` against :math:`\\Delta`) and axial slices of
  :math:`\\Delta`;
- for z maps: the fpr (.001), Bonferroni (.05) and FDR (.05) thresholds of each
  map under the chosen convention (``thresholds.map_threshold``) and the Dice
  coefficient :math:`2|T_A \\cap T_B| / (|T_A| + |T_B|)` of the suprathreshold
  sets (a voxel counts in both only with the same sign);
- for z maps: the clusters and peaks above the fpr threshold
  (``clusters.get_clusters_table``, clusters of at least 10 voxels, peaks 8 mm
  apart), each reference peak matched to its nearest candidate peak (distance
  in mm, difference of peak values);
- a verdict: within tolerance when every pair has the same grid, the same
  support and :math:`\\max|\\Delta| \\le` tolerance.

``--explain`` (with ``--reference-from-data``) refits the reference under every
named convention and under every single-choice flip of the default convention
(and of the closest named one), and reports which brings the candidate
closest, with the residual :math:`\\max|\\Delta|`.

Writes ``compare.md``, ``compare.json`` and ``compare.html`` (figures embedded as
base64 PNG). Exit code 0 within tolerance, 1 beyond it, 2 for bad input
(:class:`refglm.exceptions.InputError`). matplotlib is imported only to draw.
"""

from __future__ import annotations

import argparse
import base64
import glob
import html
import importlib.util
import json
import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refglm import io
from refglm.conventions import (
    CHOICE_VALUES,
    CONVENTIONS,
    DEFAULT_CONVENTION,
    Convention,
    get_convention,
)
from refglm.exceptions import InputError

__all__ = [
    "StatMap",
    "load_maps",
    "pair_maps",
    "compare_arrays",
    "threshold_agreement",
    "peak_matching",
    "compare_maps",
    "reference_from_data",
    "explain",
    "variants",
    "write_report",
    "add_parser",
    "run",
    "main",
    "DEFAULT_TOLERANCE",
    "MAP_CHOICES",
]

EXIT_WITHIN, EXIT_BEYOND, EXIT_INPUT = 0, 1, 2

#: Default tolerance on max |Delta| (the acceptance tolerance of refglm against its peers).
DEFAULT_TOLERANCE = 1e-6

#: BIDS-derivative map names: [entities_]contrast-<name>_stat-<kind>_statmap.nii[.gz]
MAP_NAME = re.compile(
    r"(?:^|_)contrast-(?P<contrast>[A-Za-z0-9]+)_stat-(?P<kind>[A-Za-z0-9]+)_statmap\.nii(?:\.gz)?$"
)

#: Voxel-level thresholds compared: (height_control, alpha), as the tutorial's.
HEIGHT_CONTROLS = (("fpr", 0.001), ("bonferroni", 0.05), ("fdr", 0.05))

# Peak matching: clusters above the fpr .001 threshold with at least 10 voxels,
# peaks at least 8 mm apart (the tutorial's min_distance and cluster size).
PEAK_ALPHA = 0.001
PEAK_CLUSTER_VOXELS = 10
PEAK_MIN_DISTANCE_MM = 8.0

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


# --------------------------------------------------------------------------- maps


@dataclass
class StatMap:
    """One statistical map: its key ``(contrast, kind)``, data, affine and source."""

    contrast: str | None
    kind: str | None
    data: np.ndarray
    affine: np.ndarray
    source: str

    @property
    def key(self) -> tuple:
        return (self.contrast, self.kind)

    @property
    def name(self) -> str:
        if self.contrast is None:
            return Path(self.source).name
        return f"contrast-{self.contrast}_stat-{self.kind}"


def _parse_map_name(path: Path):
    match = MAP_NAME.search(path.name)
    if match is None:
        return None, None
    return match["contrast"], match["kind"]


def _read_map(path: Path, contrast, kind, role: str) -> StatMap:
    data, affine = io.image_data(path)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise InputError(
            f"{role} {path}: expected a 3-D statistical map, found shape {data.shape}; "
            "pass one volume per map."
        )
    return StatMap(contrast, kind, data, np.asarray(affine, dtype=np.float64), str(path))


def load_maps(path, role: str = "REFERENCE") -> dict:
    """The maps of a file or a folder, keyed by ``(contrast, kind)``.

    A folder contributes every file (searched recursively) whose name matches
    ``contrast-<name>_stat-<kind>_statmap.nii[.gz]``; a file is keyed by its
    name when it matches, else by ``(None, None)``.

    Raises
    ------
    InputError
        For a missing path, a folder without maps, or a map that is not 3-D.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{role} {path}: not found; expected a statistical map (.nii/.nii.gz) or a folder "
            "of BIDS-derivative maps named contrast-<name>_stat-<kind>_statmap.nii.gz."
        )
    if path.is_dir():
        found = {}
        for file in sorted(path.rglob("*statmap.nii*")):
            contrast, kind = _parse_map_name(file)
            if contrast is not None and (contrast, kind) not in found:
                found[(contrast, kind)] = _read_map(file, contrast, kind, role)
        if not found:
            raise InputError(
                f"{role} {path}: no statistical maps found; expected files named "
                "contrast-<name>_stat-<kind>_statmap.nii.gz (e.g. the output of `refglm "
                "tutorial`). Pass the folder that holds them, or one map file."
            )
        return found
    contrast, kind = _parse_map_name(path)
    stat_map = _read_map(path, contrast, kind, role)
    return {stat_map.key: stat_map}


def pair_maps(reference: dict, candidate: dict):
    """Pairs ``(key, reference map, candidate map)`` by name, and the unpaired keys.

    Two single maps are paired whatever their names.

    Raises
    ------
    InputError
        When no map pairs up.
    """
    if len(reference) == 1 and len(candidate) == 1:
        (key_a, map_a), (key_b, map_b) = (
            next(iter(reference.items())),
            next(iter(candidate.items())),
        )
        key = key_a if key_a != (None, None) else key_b
        return [(key, map_a, map_b)], [], []
    keys = [k for k in reference if k in candidate and k != (None, None)]
    if not keys:
        names_a = ", ".join(m.name for m in reference.values())
        names_b = ", ".join(m.name for m in candidate.values())
        raise InputError(
            f"maps: no map of REFERENCE ({names_a}) has the name of one of CANDIDATE "
            f"({names_b}); expected matching contrast-<name>_stat-<kind> names. Rename the "
            "files, or compare two single map files."
        )
    pairs = [(k, reference[k], candidate[k]) for k in keys]
    only_ref = [reference[k].name for k in reference if k not in candidate]
    only_cand = [candidate[k].name for k in candidate if k not in reference]
    return pairs, only_ref, only_cand


# --------------------------------------------------------------------------- numerics


def _support(data: np.ndarray) -> np.ndarray:
    return np.isfinite(data) & (data != 0)


def _finite_or_zero(data: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(data), data, 0.0)


def _check_grids(a: StatMap, b: StatMap) -> None:
    if a.data.shape != b.data.shape or not np.allclose(a.affine, b.affine, rtol=0, atol=1e-5):
        raise InputError(
            f"{b.name}: the candidate's grid (shape {b.data.shape}) differs from the "
            f"reference's (shape {a.data.shape}) or their affines differ; expected maps on "
            "one grid. Resample the candidate to the reference (e.g. nilearn.image."
            "resample_to_img) before comparing."
        )


def compare_arrays(a: np.ndarray, b: np.ndarray, tolerance: float = DEFAULT_TOLERANCE) -> dict:
    r"""Agreement of two maps on one grid.

    With :math:`S_A, S_B` the supports (finite, non-zero) and
    :math:`\Delta = B - A` on :math:`U = S_A \cup S_B` (each map 0 off its support):

    .. math::
        \max_U|\Delta|,\quad \frac{1}{|U|}\sum_U|\Delta|,\quad
        Q_{0.99}(|\Delta|),\quad r = \mathrm{corr}_U(A, B)

    Returns
    -------
    dict
        ``n_reference, n_candidate, n_both, only_reference, only_candidate,
        max_abs, mean_abs, p99_abs, correlation, argmax_ijk, n_beyond_tolerance,
        within_tolerance``.
    """
    support_a, support_b = _support(a), _support(b)
    union = support_a | support_b
    values_a = _finite_or_zero(a)[union]
    values_b = _finite_or_zero(b)[union]
    delta = np.abs(values_b - values_a)
    only_a = int((support_a & ~support_b).sum())
    only_b = int((support_b & ~support_a).sum())
    if delta.size:
        max_abs = float(delta.max())
        argmax = np.argwhere(union)[int(delta.argmax())]
        mean_abs = float(delta.mean())
        p99 = float(np.percentile(delta, 99))
    else:
        max_abs, mean_abs, p99, argmax = 0.0, 0.0, 0.0, None
    correlation = None
    if delta.size > 1 and values_a.std() > 0 and values_b.std() > 0:
        correlation = float(np.corrcoef(values_a, values_b)[0, 1])
    return {
        "n_reference": int(support_a.sum()),
        "n_candidate": int(support_b.sum()),
        "n_both": int((support_a & support_b).sum()),
        "only_reference": only_a,
        "only_candidate": only_b,
        "max_abs": max_abs,
        "mean_abs": mean_abs,
        "p99_abs": p99,
        "correlation": correlation,
        "argmax_ijk": None if argmax is None else [int(i) for i in argmax],
        "n_beyond_tolerance": int((delta > tolerance).sum()),
        "within_tolerance": bool(only_a == 0 and only_b == 0 and max_abs <= tolerance),
    }


def threshold_agreement(a: np.ndarray, b: np.ndarray, convention="nistats") -> list[dict]:
    r"""Thresholds of both z maps and the Dice coefficient of their suprathreshold sets.

    For each (height control, alpha) of :data:`HEIGHT_CONTROLS`, each map is
    thresholded on its own support by ``thresholds.map_threshold`` with the
    convention's sidedness, FDR formula and equality rule; :math:`T_A, T_B` are
    the surviving voxels with their signs, and

    .. math:: \mathrm{Dice} = \frac{2\,|\{v: \mathrm{sign}\,A_v = \mathrm{sign}\,B_v \ne 0\}|}
              {|T_A| + |T_B|}

    (1 when both sets are empty).
    """
    from refglm import thresholds

    conv = get_convention(convention)
    rows = []
    for height_control, alpha in HEIGHT_CONTROLS:
        row = {"height_control": height_control, "alpha": alpha}
        signs = []
        for side, data in (("reference", a), ("candidate", b)):
            data = _finite_or_zero(data)
            if not _support(data).any():
                row[f"threshold_{side}"] = None
                row[f"n_{side}"] = 0
                signs.append(np.zeros(data.shape))
                continue
            out, thr = thresholds.map_threshold(
                data,
                None,
                alpha=alpha,
                height_control=height_control,
                two_sided=conv.two_sided,
                fdr_formula=conv.fdr_formula,
                connectivity=conv.cluster_connectivity,
                keep_equal=conv.threshold_keep_equal,
                split_signs=conv.threshold_split_signs,
            )
            row[f"threshold_{side}"] = float(thr)
            row[f"n_{side}"] = int((out != 0).sum())
            signs.append(np.sign(out))
        both = int(((signs[0] != 0) & (signs[0] == signs[1])).sum())
        total = row["n_reference"] + row["n_candidate"]
        row["n_both"] = both
        row["dice"] = 1.0 if total == 0 else 2.0 * both / total
        rows.append(row)
    return rows


def _cluster_table(data, affine, threshold, conv):
    from refglm import clusters

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return clusters.get_clusters_table(
            _finite_or_zero(data),
            affine,
            threshold,
            cluster_threshold=PEAK_CLUSTER_VOXELS,
            min_distance=PEAK_MIN_DISTANCE_MM,
            two_sided=conv.cluster_table_two_sided,
            connectivity=conv.cluster_connectivity,
        )


def peak_matching(a: np.ndarray, b: np.ndarray, affine, convention="nistats") -> dict:
    """Clusters and peaks of both z maps, each reference peak matched to the nearest candidate.

    Clusters of ``z > t`` (fpr .001 threshold of the convention's sidedness) with
    at least 10 voxels; every row of the reference's table (peaks and subpeaks)
    is matched to the candidate row nearest in world space (mm), with
    ``delta = candidate peak - reference peak``.
    """
    from refglm.thresholds import fpr_threshold

    conv = get_convention(convention)
    threshold = fpr_threshold(PEAK_ALPHA, conv.two_sided)
    table_a = _cluster_table(a, affine, threshold, conv)
    table_b = _cluster_table(b, affine, threshold, conv)
    xyz_b = table_b[["X", "Y", "Z"]].to_numpy(dtype=float) if len(table_b) else np.zeros((0, 3))
    peaks_b = table_b["Peak Stat"].to_numpy(dtype=float) if len(table_b) else np.zeros(0)
    matches = []
    for _, row in table_a.iterrows():
        xyz = np.array([row["X"], row["Y"], row["Z"]], dtype=float)
        match = {
            "id": str(row["Cluster ID"]),
            "xyz": [float(v) for v in xyz],
            "peak": float(row["Peak Stat"]),
        }
        if len(xyz_b):
            dist = np.linalg.norm(xyz_b - xyz, axis=1)
            j = int(dist.argmin())
            match.update(
                candidate_id=str(table_b["Cluster ID"].iloc[j]),
                candidate_xyz=[float(v) for v in xyz_b[j]],
                distance_mm=float(dist[j]),
                delta=float(peaks_b[j] - row["Peak Stat"]),
            )
        else:
            match.update(candidate_id=None, candidate_xyz=None, distance_mm=None, delta=None)
        matches.append(match)

    def n_clusters(table):
        return int(sum(str(i).isdigit() for i in table["Cluster ID"])) if len(table) else 0

    distances = [m["distance_mm"] for m in matches if m["distance_mm"] is not None]
    deltas = [abs(m["delta"]) for m in matches if m["delta"] is not None]
    return {
        "threshold": float(threshold),
        "cluster_threshold_voxels": PEAK_CLUSTER_VOXELS,
        "n_clusters_reference": n_clusters(table_a),
        "n_clusters_candidate": n_clusters(table_b),
        "n_peaks_reference": len(table_a),
        "n_peaks_candidate": len(table_b),
        "max_distance_mm": max(distances) if distances else None,
        "max_abs_peak_delta": max(deltas) if deltas else None,
        "matches": matches,
    }


# --------------------------------------------------------------------------- report


@dataclass
class PairReport:
    """The comparison of one pair of maps."""

    name: str
    kind: str | None
    reference_source: str
    candidate_source: str
    stats: dict
    thresholds: list | None = None
    peaks: dict | None = None
    figures: dict = field(default_factory=dict)
    reference_map: StatMap | None = field(default=None, repr=False)
    candidate_map: StatMap | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "kind": self.kind,
            "reference": self.reference_source,
            "candidate": self.candidate_source,
            "stats": self.stats,
            "thresholds": self.thresholds,
            "peaks": self.peaks,
        }


@dataclass
class CompareReport:
    """Everything ``refglm compare`` found."""

    reference: str
    candidate: str
    tolerance: float
    convention: str
    pairs: list
    only_reference: list
    only_candidate: list
    explain: dict | None = None

    @property
    def within_tolerance(self) -> bool:
        return bool(self.pairs) and all(p.stats["within_tolerance"] for p in self.pairs)

    @property
    def verdict(self) -> str:
        worst = max(self.pairs, key=lambda p: p.stats["max_abs"])
        mask_a = sum(p.stats["only_reference"] for p in self.pairs)
        mask_b = sum(p.stats["only_candidate"] for p in self.pairs)
        n = len(self.pairs)
        masks = (
            "masks identical"
            if mask_a == mask_b == 0
            else f"{mask_a} voxels only in the reference, {mask_b} only in the candidate"
        )
        if self.within_tolerance:
            return (
                f"WITHIN TOLERANCE: candidate matches the reference within {self.tolerance:g} "
                f"in {n} map pair(s): max|Δ| {worst.stats['max_abs']:.3g} "
                f"({worst.name}); {masks}."
            )
        return (
            f"BEYOND TOLERANCE: max|Δ| {worst.stats['max_abs']:.3g} in {worst.name} "
            f"(tolerance {self.tolerance:g}; {worst.stats['n_beyond_tolerance']} voxels beyond "
            f"it); {masks}."
        )

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "candidate": self.candidate,
            "tolerance": self.tolerance,
            "convention": self.convention,
            "within_tolerance": self.within_tolerance,
            "verdict": self.verdict,
            "pairs": [p.as_dict() for p in self.pairs],
            "only_reference": self.only_reference,
            "only_candidate": self.only_candidate,
            "explain": self.explain,
        }


def compare_maps(
    reference: dict,
    candidate: dict,
    tolerance: float = DEFAULT_TOLERANCE,
    convention="nistats",
    reference_label: str = "",
    candidate_label: str = "",
) -> CompareReport:
    """Compare paired maps (see the module docstring); thresholds and peaks for z maps."""
    conv = get_convention(convention)
    pairs, only_ref, only_cand = pair_maps(reference, candidate)
    reports = []
    for key, map_a, map_b in pairs:
        _check_grids(map_a, map_b)
        stats = compare_arrays(map_a.data, map_b.data, tolerance)
        kind = key[1]
        name = map_a.name if map_a.contrast is not None else map_b.name
        pair = PairReport(
            name, kind, map_a.source, map_b.source, stats, reference_map=map_a, candidate_map=map_b
        )
        if kind in (None, "z"):
            pair.thresholds = threshold_agreement(map_a.data, map_b.data, conv)
            pair.peaks = peak_matching(map_a.data, map_b.data, map_a.affine, conv)
        reports.append(pair)
    return CompareReport(
        reference_label or "REFERENCE",
        candidate_label or "CANDIDATE",
        float(tolerance),
        conv.name,
        reports,
        only_ref,
        only_cand,
    )


# --------------------------------------------------------------------------- reference from data


def _expand_func(func) -> list[str]:
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


def _default_contrasts(design_columns) -> dict:
    """Definitions for the names a candidate may use: the tutorial's, conditions, differences."""
    from refglm.pipeline import TUTORIAL_CONTRASTS, camel_case_contrast_name

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
        "drift_model",
        "high_pass",
        "drift_order",
        "min_onset",
        "noise_model",
        "mask_img",
        "n_jobs",
    )
    return {k: params[k] for k in keys if k in params}


def reference_from_data(
    func,
    events,
    candidate: dict,
    contrasts: dict | None = None,
    convention="nistats",
    engine: str = "statsmodels",
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
        Passed to :class:`refglm.model.FirstLevelModel`.

    Returns
    -------
    maps : dict
    model : FirstLevelModel
    definitions : dict
        The definition used for each contrast name.
    """
    from refglm.model import FirstLevelModel

    files = _expand_func(func)
    model = FirstLevelModel(
        **_model_params(model_params), convention=convention, engine=engine
    ).fit(files if len(files) > 1 else files[0], events)
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


# --------------------------------------------------------------------------- explain


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
    files = _expand_func(func)
    run_imgs = files if len(files) > 1 else files[0]
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


# --------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    from io import BytesIO

    plt = _pyplot()
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def bland_altman_png(a: np.ndarray, b: np.ndarray, title: str = "") -> bytes:
    r"""Bland-Altman plot: :math:`(A+B)/2` against :math:`B-A` on the union of supports,
    with the mean difference and :math:`\pm 1.96` standard deviations."""
    plt = _pyplot()
    union = _support(a) | _support(b)
    va, vb = _finite_or_zero(a)[union], _finite_or_zero(b)[union]
    mean, diff = (va + vb) / 2, vb - va
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(mean, diff, s=2, alpha=0.3, color="#1f77b4", rasterized=True, linewidths=0)
    if diff.size:
        mu, sd = float(diff.mean()), float(diff.std())
        for y, style in ((mu, "-"), (mu + 1.96 * sd, "--"), (mu - 1.96 * sd, "--")):
            ax.axhline(y, color="#d62728", linestyle=style, linewidth=1)
    ax.set_xlabel("(reference + candidate) / 2")
    ax.set_ylabel("candidate − reference")
    ax.set_title(title or "Bland–Altman")
    fig.tight_layout()
    return _png(fig)


def delta_slices_png(a: np.ndarray, b: np.ndarray, affine, title: str = "") -> bytes:
    """Three axial slices (voxel axis 2) of Δ = B − A: through the largest |Δ| and at
    1/3 and 2/3 of the support's extent; the support in grey."""
    plt = _pyplot()
    union = _support(a) | _support(b)
    delta = np.where(union, _finite_or_zero(b) - _finite_or_zero(a), 0.0)
    ks = np.nonzero(union.any(axis=(0, 1)))[0]
    if ks.size == 0:
        ks = np.array([a.shape[2] // 2])
    k_max = int(np.unravel_index(np.abs(delta).argmax(), delta.shape)[2])
    cuts = sorted({int(ks[len(ks) // 3]), k_max, int(ks[(2 * len(ks)) // 3])})
    vmax = float(np.abs(delta).max()) or 1.0
    fig, axes = plt.subplots(1, len(cuts), figsize=(4 * len(cuts), 4), squeeze=False)
    image = None
    for ax, k in zip(axes[0], cuts, strict=True):
        ax.imshow(union[:, :, k].T, origin="lower", cmap="Greys", vmin=0, vmax=4)
        shown = np.ma.masked_where(~union[:, :, k], delta[:, :, k])
        image = ax.imshow(shown.T, origin="lower", cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        z_mm = float((np.asarray(affine) @ [0, 0, k, 1])[2])
        ax.set_title(f"k = {k} (z = {z_mm:.0f} mm)")
        ax.set_axis_off()
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="Δ = candidate − reference")
    fig.suptitle(title or "Δ")
    return _png(fig)


# --------------------------------------------------------------------------- writing


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        return f"{value:.{digits}g}"
    return str(value)


def _md_table(header, rows) -> list[str]:
    header = [h.replace("|", "\\|") for h in header]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _pair_tables(pair: PairReport):
    s = pair.stats
    tables = [
        (
            "Agreement",
            ["quantity", "value"],
            [
                ["voxels in reference", s["n_reference"]],
                ["voxels in candidate", s["n_candidate"]],
                ["voxels only in reference", s["only_reference"]],
                ["voxels only in candidate", s["only_candidate"]],
                ["max |Δ|", s["max_abs"]],
                ["mean |Δ|", s["mean_abs"]],
                ["99th percentile |Δ|", s["p99_abs"]],
                ["correlation", s["correlation"]],
                ["voxels with |Δ| > tolerance", s["n_beyond_tolerance"]],
                ["voxel of max |Δ| (i, j, k)", s["argmax_ijk"]],
            ],
        )
    ]
    if pair.thresholds:
        tables.append(
            (
                "Thresholds and Dice of suprathreshold sets",
                ["control", "alpha", "thr ref", "thr cand", "n ref", "n cand", "n both", "Dice"],
                [
                    [
                        r["height_control"],
                        r["alpha"],
                        r["threshold_reference"],
                        r["threshold_candidate"],
                        r["n_reference"],
                        r["n_candidate"],
                        r["n_both"],
                        r["dice"],
                    ]
                    for r in pair.thresholds
                ],
            )
        )
    if pair.peaks:
        p = pair.peaks
        tables.append(
            (
                f"Peaks above z > {p['threshold']:.3f} (clusters ≥ {p['cluster_threshold_voxels']} "
                f"voxels): {p['n_clusters_reference']} clusters / {p['n_peaks_reference']} peaks "
                f"in the reference, {p['n_clusters_candidate']} / {p['n_peaks_candidate']} in "
                "the candidate",
                ["ref id", "ref x, y, z (mm)", "ref peak", "cand id", "distance (mm)", "Δ peak"],
                [
                    [
                        m["id"],
                        ", ".join(f"{v:g}" for v in m["xyz"]),
                        m["peak"],
                        m["candidate_id"],
                        m["distance_mm"],
                        m["delta"],
                    ]
                    for m in p["matches"]
                ],
            )
        )
    return tables


def _explain_lines(ex: dict, top: int = 10) -> tuple[str, list, list]:
    rows = [[r["label"], r["max_abs"]] for r in ex["ranking"][:top]]
    note = f"engine {ex['engine']}; " + (
        f"ranked on a cube of {ex['box']['voxels']} voxels around the largest difference; "
        "the three leading variants refitted on every voxel"
        if ex["box"]
        else "ranked on every voxel"
    )
    return note, ["variant", "max |Δ|"], rows


def report_markdown(report: CompareReport) -> str:
    """The report as Markdown: verdict, explain ranking, and each pair's tables."""
    lines = [
        "# refglm compare",
        "",
        f"- reference: `{report.reference}`",
        f"- candidate: `{report.candidate}`",
        f"- tolerance: {report.tolerance:g}; thresholds and tables: convention "
        f"`{report.convention}`",
        "",
        f"**Verdict: {report.verdict}**",
        "",
    ]
    if report.only_reference or report.only_candidate:
        lines += [
            f"Unpaired maps: reference only {report.only_reference or '–'}; candidate only "
            f"{report.only_candidate or '–'}.",
            "",
        ]
    if report.explain:
        note, header, rows = _explain_lines(report.explain)
        lines += ["## Explain", "", f"**{report.explain['message']}**", "", f"({note})", ""]
        lines += _md_table(header, rows) + [""]
    for pair in report.pairs:
        lines += [f"## {pair.name}", ""]
        for title, header, rows in _pair_tables(pair):
            lines += [f"### {title}", ""] + _md_table(header, rows) + [""]
    lines.append("Figures (Bland–Altman, slices of Δ): compare.html.")
    return "\n".join(lines) + "\n"


def _html_table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(report: CompareReport) -> str:
    """The report as one self-contained HTML page (figures embedded as base64 PNG)."""
    esc = html.escape
    ok = report.within_tolerance
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>refglm compare</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:right}th{background:#eee}.ok{color:#1a7f37}"
        ".bad{color:#cf222e}img{max-width:100%}</style></head><body>",
        "<h1>refglm compare</h1>",
        f"<p>reference: <code>{esc(report.reference)}</code><br>candidate: "
        f"<code>{esc(report.candidate)}</code><br>tolerance {report.tolerance:g}; thresholds "
        f"and tables: convention <code>{esc(report.convention)}</code></p>",
        f"<h2 class='{'ok' if ok else 'bad'}'>{esc(report.verdict)}</h2>",
    ]
    if report.explain:
        note, header, rows = _explain_lines(report.explain)
        parts += [
            "<h2>Explain</h2>",
            f"<p><b>{esc(report.explain['message'])}</b> ({esc(note)})</p>",
            _html_table(header, rows),
        ]
    for pair in report.pairs:
        parts.append(f"<h2>{esc(pair.name)}</h2>")
        for title, header, rows in _pair_tables(pair):
            parts += [f"<h3>{esc(title)}</h3>", _html_table(header, rows)]
        for caption, png in pair.figures.items():
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f"<figure><img alt='{esc(caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def write_report(report: CompareReport, out_dir) -> list[Path]:
    """Draw the figures and write ``compare.md``, ``compare.json``, ``compare.html``."""
    for pair in report.pairs:
        map_a, map_b = pair.reference_map, pair.candidate_map
        if map_a is None or map_b is None:
            continue
        pair.figures["Bland–Altman: " + pair.name] = bland_altman_png(
            map_a.data, map_b.data, f"Bland–Altman: {pair.name}"
        )
        pair.figures["Δ = candidate − reference: " + pair.name] = delta_slices_png(
            map_a.data, map_b.data, map_a.affine, f"Δ: {pair.name}"
        )
    with io.staged_output_dir(out_dir) as stage:
        io.atomic_write_text(stage / "compare.md", report_markdown(report))
        io.atomic_write_text(
            stage / "compare.json",
            json.dumps(_jsonable(report.as_dict()), indent=2, sort_keys=True) + "\n",
        )
        io.atomic_write_text(stage / "compare.html", report_html(report))
    out = Path(out_dir)
    return [out / "compare.md", out / "compare.json", out / "compare.html"]


# --------------------------------------------------------------------------- command line

_EPILOG = """examples:
  refglm compare results/ nilearn_out/ --out cmp
  refglm compare nilearn_out/ --reference-from-data 'sub001/fM00223/fM00223_*.img' \\
      --events fM00223_events.tsv --t-r 7 --hrf-model spm --explain
(with --reference-from-data, give CANDIDATE before it, or end its list with --)"""


def _none_or_str(value: str):
    return None if value.lower() == "none" else value


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``compare`` sub-command to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "compare",
        help="compare two sets of statistical maps (or refglm's own against a candidate)",
        description=__doc__.split("\n\n")[0],
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "maps",
        nargs="+",
        metavar="MAPS",
        help="REFERENCE CANDIDATE (or only CANDIDATE with --reference-from-data): a map file "
        "or a folder of contrast-<name>_stat-<kind>_statmap.nii.gz",
    )
    p.add_argument("--out", default="compare", help="output folder (default: compare)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=DEFAULT_TOLERANCE,
        help=f"max |Δ| allowed (default: {DEFAULT_TOLERANCE:g})",
    )
    p.add_argument(
        "--convention",
        default=DEFAULT_CONVENTION,
        help="convention of the thresholds, tables and the reference fit (default: nistats)",
    )
    g = p.add_argument_group("reference from data")
    g.add_argument(
        "--reference-from-data",
        nargs="+",
        metavar="FUNC",
        help="fit the reference with refglm on these functional images (paths or a glob)",
    )
    g.add_argument("--events", help="events.tsv of the run")
    g.add_argument("--t-r", type=float, help="repetition time in seconds")
    g.add_argument("--hrf-model", type=_none_or_str, default="glover")
    g.add_argument("--drift-model", type=_none_or_str, default="cosine")
    g.add_argument("--high-pass", type=float, default=0.01)
    g.add_argument("--drift-order", type=int, default=1)
    g.add_argument("--slice-time-ref", type=float, default=0.0)
    g.add_argument("--min-onset", type=float, default=-24)
    g.add_argument("--noise-model", default="ar1", choices=["ar1", "ols"])
    g.add_argument("--mask", default=None, help="brain mask image (default: the EPI mask)")
    g.add_argument(
        "--contrast",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="a contrast the candidate names, e.g. 'activeMinusRest=active - rest' "
        "('a; b' rows make an F test); repeatable",
    )
    g.add_argument("--engine", default="statsmodels", help="fit engine (default: statsmodels)")
    g.add_argument("--n-jobs", type=int, default=1)
    g.add_argument(
        "--explain",
        action="store_true",
        help="refit under each convention and single-choice flips; report the closest",
    )
    g.add_argument(
        "--explain-voxels",
        type=int,
        default=EXPLAIN_BOX_VOXELS,
        help="voxels of the sub-box --explain ranks on (0: all; default: %(default)s)",
    )
    p.set_defaults(func=run)
    return p


def _name_unnamed(candidate: dict, contrasts: dict) -> dict:
    """Key a single unnamed candidate map by the one ``--contrast`` given (a z map)."""
    if list(candidate) != [(None, None)]:
        return candidate
    if len(contrasts) != 1:
        raise InputError(
            "--contrast: the candidate map has no contrast-<name>_stat-<kind> name, so "
            "refglm cannot tell which contrast to compute; expected exactly one "
            f"--contrast NAME=EXPR, found {len(contrasts)}."
        )
    stat_map = candidate[(None, None)]
    stat_map.contrast, stat_map.kind = next(iter(contrasts)), "z"
    return {stat_map.key: stat_map}


def _contrasts_from_args(items) -> dict:
    from refglm.pipeline import parse_contrast

    return dict(parse_contrast(item) for item in items)


def run(args) -> int:
    """Run ``refglm compare``; return 0 within tolerance, 1 beyond. Raises InputError."""
    if not args.tolerance >= 0:
        raise InputError(
            f"--tolerance: expected a number >= 0, found {args.tolerance}; pass e.g. 1e-6."
        )
    conv = get_convention(args.convention)
    contrasts = _contrasts_from_args(args.contrast)
    if args.reference_from_data:
        if len(args.maps) != 1:
            raise InputError(
                f"MAPS: with --reference-from-data expected only CANDIDATE, found "
                f"{len(args.maps)} paths ({', '.join(args.maps)}); put CANDIDATE before "
                "--reference-from-data, or end the FUNC list with --."
            )
        if args.events is None or args.t_r is None:
            raise InputError(
                "--reference-from-data: expected --events EVENTS.tsv and --t-r SECONDS too; "
                "pass both."
            )
        candidate = _name_unnamed(load_maps(args.maps[0], "CANDIDATE"), contrasts)
        model_params = dict(
            t_r=args.t_r,
            slice_time_ref=args.slice_time_ref,
            hrf_model=args.hrf_model,
            drift_model=args.drift_model,
            high_pass=args.high_pass,
            drift_order=args.drift_order,
            min_onset=args.min_onset,
            noise_model=args.noise_model,
            mask_img=args.mask,
            n_jobs=args.n_jobs,
        )
        reference, model, definitions = reference_from_data(
            args.reference_from_data,
            args.events,
            candidate,
            contrasts,
            convention=conv,
            engine=args.engine,
            **model_params,
        )
        files = _expand_func(args.reference_from_data)
        reference_label = (
            f"refglm fit (convention {conv.name}, engine {args.engine}, hrf {args.hrf_model}, "
            f"{len(files)} file(s) from {files[0]})"
        )
        candidate_label = args.maps[0]
    else:
        if args.explain:
            raise InputError(
                "--explain: refits the reference, so it needs --reference-from-data FUNC... "
                "--events E --t-r T; pass them (and only CANDIDATE)."
            )
        if len(args.maps) != 2:
            raise InputError(
                f"MAPS: expected REFERENCE and CANDIDATE, found {len(args.maps)} path(s); pass "
                "two maps or folders, or use --reference-from-data."
            )
        reference = load_maps(args.maps[0], "REFERENCE")
        candidate = load_maps(args.maps[1], "CANDIDATE")
        reference_label, candidate_label = args.maps
    report = compare_maps(
        reference, candidate, args.tolerance, conv, reference_label, candidate_label
    )
    if args.explain:
        report.explain = explain(
            candidate,
            args.reference_from_data,
            args.events,
            definitions,
            tolerance=args.tolerance,
            box_voxels=args.explain_voxels,
            reference_convention=conv,
            **model_params,
        )
    write_report(report, args.out)
    print(report.verdict)
    if report.explain:
        print(report.explain["message"])
    print(f"wrote {args.out}/compare.md, compare.json, compare.html")
    return EXIT_WITHIN if report.within_tolerance else EXIT_BEYOND


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(f"{self.prog}: {message}")


def main(argv=None) -> int:
    """``python -m refglm.compare``: the sub-command alone, with the CLI's exit codes."""
    parser = _Parser(prog="refglm")
    add_parser(parser.add_subparsers(dest="command", required=True, parser_class=_Parser))
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(["compare", *argv])
        return run(args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except InputError as exc:
        print(f"refglm: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_INPUT


if __name__ == "__main__":
    sys.exit(main())
