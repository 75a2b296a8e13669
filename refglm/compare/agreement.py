r"""Agreement of two statistical maps on one grid: pure numerics of ``refglm compare``.

With :math:`S_A, S_B` the supports (finite, non-zero voxels) of the reference
:math:`A` and the candidate :math:`B`, and :math:`\Delta = B - A` on
:math:`S_A \cup S_B` (a map is 0 off its support): mask agreement, |Δ|
statistics and correlation (:func:`compare_arrays`), Dice coefficients of the
suprathreshold sets (:func:`threshold_agreement`) and peak matching
(:func:`peak_matching`). Arrays in, numbers out: no files, no printing.

Tolerances depend on the kind of map. Statistics (z, t, F, p: :data:`STAT_KINDS`)
are unitless and compared with an absolute tolerance on :math:`\max|\Delta|`.
Effects and variances are in signal units (squared for the variance), which
differ between implementations that scale the signal differently and would
dominate any absolute tolerance; they are compared relative to the reference's
largest magnitude, :math:`\max|\Delta| \le r \max_{S_A}|A|` (:func:`tolerance_for`).
"""

from __future__ import annotations

import warnings

import numpy as np

from refglm import inference
from refglm.conventions import get_convention

__all__ = [
    "DEFAULT_TOLERANCE",
    "DEFAULT_RELATIVE_TOLERANCE",
    "STAT_KINDS",
    "is_stat_kind",
    "tolerance_for",
    "HEIGHT_CONTROLS",
    "support",
    "finite_or_zero",
    "compare_arrays",
    "threshold_agreement",
    "peak_matching",
]

#: Default tolerance on max |Delta| (the acceptance tolerance of refglm against its peers).
DEFAULT_TOLERANCE = 1e-6

#: Default tolerance on max |Delta| / max |reference| for maps in signal units
#: (effect, variance): the relative size of a 1e-6 difference in z.
DEFAULT_RELATIVE_TOLERANCE = 1e-6

#: Kinds (BIDS ``stat-<kind>``) of unitless maps, compared with the absolute tolerance;
#: None is an unnamed map (a z map unless named otherwise). Every other kind (effect,
#: variance, ...) is in signal units and compared relative to the reference.
STAT_KINDS = (None, "z", "t", "F", "p", "stat")


def is_stat_kind(kind) -> bool:
    """True for unitless statistics (:data:`STAT_KINDS`), False for maps in signal units."""
    return kind in STAT_KINDS


def tolerance_for(
    kind,
    tolerance: float = DEFAULT_TOLERANCE,
    relative_tolerance: float = DEFAULT_RELATIVE_TOLERANCE,
) -> tuple[float, bool]:
    """``(tolerance, relative)`` for a map of this kind (see the module docstring)."""
    if is_stat_kind(kind):
        return float(tolerance), False
    return float(relative_tolerance), True


#: Voxel-level thresholds compared: (height_control, alpha), as the tutorial's.
HEIGHT_CONTROLS = (("fpr", 0.001), ("bonferroni", 0.05), ("fdr", 0.05))

# Peak matching: clusters above the fpr .001 threshold with at least 10 voxels,
# peaks at least 8 mm apart (the tutorial's min_distance and cluster size).
PEAK_ALPHA = 0.001
PEAK_CLUSTER_VOXELS = 10
PEAK_MIN_DISTANCE_MM = 8.0


def support(data: np.ndarray) -> np.ndarray:
    """The voxels of a map that are finite and non-zero."""
    return np.isfinite(data) & (data != 0)


def finite_or_zero(data: np.ndarray) -> np.ndarray:
    """The map with its non-finite voxels set to 0."""
    return np.where(np.isfinite(data), data, 0.0)


def compare_arrays(
    a: np.ndarray, b: np.ndarray, tolerance: float = DEFAULT_TOLERANCE, relative: bool = False
) -> dict:
    r"""Agreement of two maps on one grid.

    With :math:`S_A, S_B` the supports (finite, non-zero) and
    :math:`\Delta = B - A` on :math:`U = S_A \cup S_B` (each map 0 off its support):

    .. math::
        \max_U|\Delta|,\quad \frac{1}{|U|}\sum_U|\Delta|,\quad
        Q_{0.99}(|\Delta|),\quad r = \mathrm{corr}_U(A, B)

    A voxel is beyond tolerance when :math:`|\Delta| > \tau`, with
    :math:`\tau` = ``tolerance``, or with ``relative``
    :math:`\tau = \text{tolerance} \cdot \max_{S_A}|A|` (maps in signal units);
    the pair is within tolerance when the supports are equal and
    :math:`\max_U|\Delta| \le \tau`.

    Returns
    -------
    dict
        ``n_reference, n_candidate, n_both, only_reference, only_candidate,
        max_abs, mean_abs, p99_abs, correlation, argmax_ijk, reference_max_abs,
        max_rel, tolerance, relative, threshold, n_beyond_tolerance,
        within_tolerance``; ``max_rel`` is :math:`\max|\Delta| / \max_{S_A}|A|`
        (None when the reference is empty).
    """
    support_a, support_b = support(a), support(b)
    union = support_a | support_b
    values_a = finite_or_zero(a)[union]
    values_b = finite_or_zero(b)[union]
    delta = np.abs(values_b - values_a)
    only_a = int((support_a & ~support_b).sum())
    only_b = int((support_b & ~support_a).sum())
    scale = float(np.abs(finite_or_zero(a)[support_a]).max()) if support_a.any() else 0.0
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
    threshold = float(tolerance) * scale if relative else float(tolerance)
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
        "reference_max_abs": scale,
        "max_rel": max_abs / scale if scale > 0 else None,
        "tolerance": float(tolerance),
        "relative": bool(relative),
        "threshold": threshold,
        "n_beyond_tolerance": int((delta > threshold).sum()),
        "within_tolerance": bool(only_a == 0 and only_b == 0 and max_abs <= threshold),
    }


def threshold_agreement(a: np.ndarray, b: np.ndarray, convention="nistats") -> list[dict]:
    r"""Thresholds of both z maps and the Dice coefficient of their suprathreshold sets.

    For each (height control, alpha) of :data:`HEIGHT_CONTROLS`, each map is
    thresholded on its own support by ``refglm.inference.map_threshold`` with the
    convention's sidedness, FDR formula and equality rule; :math:`T_A, T_B` are
    the surviving voxels with their signs, and

    .. math:: \mathrm{Dice} = \frac{2\,|\{v: \mathrm{sign}\,A_v = \mathrm{sign}\,B_v \ne 0\}|}
              {|T_A| + |T_B|}

    (1 when both sets are empty).
    """
    conv = get_convention(convention)
    rows = []
    for height_control, alpha in HEIGHT_CONTROLS:
        row = {"height_control": height_control, "alpha": alpha}
        signs = []
        for side, data in (("reference", a), ("candidate", b)):
            data = finite_or_zero(data)
            if not support(data).any():
                row[f"threshold_{side}"] = None
                row[f"n_{side}"] = 0
                signs.append(np.zeros(data.shape))
                continue
            out, thr = inference.map_threshold(
                data, None, alpha=alpha, height_control=height_control, **conv.threshold_options()
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return inference.get_clusters_table(
            finite_or_zero(data),
            affine,
            threshold,
            cluster_threshold=PEAK_CLUSTER_VOXELS,
            min_distance=PEAK_MIN_DISTANCE_MM,
            **conv.cluster_table_options(),
        )


def peak_matching(a: np.ndarray, b: np.ndarray, affine, convention="nistats") -> dict:
    """Clusters and peaks of both z maps, each reference peak matched to the nearest candidate.

    Clusters of ``z > t`` (fpr .001 threshold of the convention's sidedness) with
    at least 10 voxels, tabulated under the convention's ``cluster_table_rules``,
    sidedness and connectivity (``refglm.inference.get_clusters_table``); every row of the
    reference's table (peaks and subpeaks) is matched to the candidate row nearest
    in world space (mm), with ``delta = candidate peak - reference peak``.
    """
    conv = get_convention(convention)
    threshold = inference.fpr_threshold(PEAK_ALPHA, conv.two_sided)
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
