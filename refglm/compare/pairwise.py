"""Two sets of maps compared pair by pair: agreement, thresholds and peaks, in one report."""

from __future__ import annotations

from refglm.compare.agreement import (
    DEFAULT_RELATIVE_TOLERANCE,
    DEFAULT_TOLERANCE,
    compare_arrays,
    peak_matching,
    threshold_agreement,
    tolerance_for,
)
from refglm.compare.maps import check_grids, pair_maps
from refglm.compare.report import CompareReport, PairReport
from refglm.conventions import get_convention

__all__ = ["compare_maps"]


def compare_maps(
    reference: dict,
    candidate: dict,
    tolerance: float = DEFAULT_TOLERANCE,
    convention="nistats",
    reference_label: str = "",
    candidate_label: str = "",
    relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE,
) -> CompareReport:
    """Compare paired maps (see the module docstring); thresholds and peaks for z maps.

    Statistics (z, t, F, p) are within ``tolerance`` in :math:`\\max|\\Delta|`;
    effects and variances within ``relative_tolerance`` times the reference's
    largest magnitude (``refglm.compare.agreement.tolerance_for``).
    """
    conv = get_convention(convention)
    pairs, only_ref, only_cand = pair_maps(reference, candidate)
    reports = []
    for key, map_a, map_b in pairs:
        check_grids(map_a, map_b)
        kind = key[1]
        tol, relative = tolerance_for(kind, tolerance, relative_tolerance)
        stats = compare_arrays(map_a.data, map_b.data, tol, relative=relative)
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
        relative_tolerance=float(relative_tolerance),
    )
