"""``refglm compare``: do two sets of first-level maps agree, and if not, why?

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
  map under the chosen convention (``refglm.inference.map_threshold``) and the Dice
  coefficient :math:`2|T_A \\cap T_B| / (|T_A| + |T_B|)` of the suprathreshold
  sets (a voxel counts in both only with the same sign);
- for z maps: the clusters and peaks above the fpr threshold
  (``refglm.inference.get_clusters_table``, clusters of at least 10 voxels, peaks 8 mm
  apart), each reference peak matched to its nearest candidate peak (distance
  in mm, difference of peak values);
- a verdict: within tolerance when every map of REFERENCE has a partner in
  CANDIDATE, and every pair has the same grid, the same support and
  :math:`\\max|\\Delta| \\le \\tau`. For the statistics (z, t, F, p)
  :math:`\\tau` is ``--tolerance``; for maps in signal units (effect, variance)
  :math:`\\tau` is ``--relative-tolerance`` times the reference's largest
  :math:`|A|` (``refglm.compare.agreement.tolerance_for``). A reference map missing from the
  candidate fails the verdict (exit 1); candidate maps without a reference are
  reported as not compared.

``--explain`` (with ``--reference-from-data``) refits the reference under every
named convention and under every single-choice flip of each, scores each on the
candidate's statistics (:math:`\\max|\\Delta|`, voxels beyond tolerance, mean
:math:`|\\Delta|`), and names the one that brings the candidate within tolerance,
with the baseline (the reference convention's own residual); when none does it
says so (``refglm.compare.explain``). The names it prints
(``nilearn+ar_binning=round``) are accepted by ``--convention``. It then gives every
voxel beyond tolerance one cause: the closest convention choice, an AR-bin tie, a
quantized tail, a mask-edge voxel, or unexplained (``refglm.compare.accounting``, rules
and their measured parameters in ``refglm.compare.causes``); with ``--allow-ties`` (the
default) the verdict does not count the ties and tails.

Modules: :mod:`.maps` (reading and pairing maps), :mod:`.agreement` (the
numerics), :mod:`.reference` (``--reference-from-data``), :mod:`.explain` and
:mod:`.variants` (``--explain``), :mod:`.accounting` and :mod:`.causes` (a cause for
each voxel beyond tolerance), :mod:`.report` (``compare.md``,
``compare.json`` and ``compare.html``, figures from ``refglm.plotting``);
:mod:`.pairwise` pairs and compares the maps (:func:`compare_maps`). The command line is
``refglm.cli.compare``.
"""

from __future__ import annotations

__all__ = [
    "compare_maps",
    "StatMap",
    "load_maps",
    "pair_maps",
    "check_grids",
    "compare_arrays",
    "threshold_agreement",
    "peak_matching",
    "tolerance_for",
    "DEFAULT_TOLERANCE",
    "DEFAULT_RELATIVE_TOLERANCE",
    "reference_from_data",
    "expand_func",
    "explain_differences",
    "account_for_voxels",
    "classify_voxels",
    "CAUSES",
    "single_flips",
    "candidate_conventions",
    "MAP_CHOICES",
    "EXPLAIN_BOX_VOXELS",
    "write_report",
    "CompareReport",
    "PairReport",
]

_PAIRWISE_NAMES = frozenset({"compare_maps"})
_MAPS_NAMES = frozenset({"StatMap", "load_maps", "pair_maps", "check_grids"})
_AGREEMENT_NAMES = frozenset(
    {
        "compare_arrays",
        "threshold_agreement",
        "peak_matching",
        "tolerance_for",
        "DEFAULT_TOLERANCE",
        "DEFAULT_RELATIVE_TOLERANCE",
    }
)
_REFERENCE_NAMES = frozenset({"reference_from_data", "expand_func"})
_EXPLAIN_NAMES = frozenset({"explain_differences"})
_ACCOUNTING_NAMES = frozenset({"account_for_voxels"})
_CAUSES_NAMES = frozenset({"classify_voxels", "CAUSES"})
_VARIANTS_NAMES = frozenset(
    {"single_flips", "candidate_conventions", "MAP_CHOICES", "EXPLAIN_BOX_VOXELS"}
)
_REPORT_NAMES = frozenset({"write_report", "CompareReport", "PairReport"})


def __getattr__(name):
    # PEP 562: a name is imported from its module on first use, so that importing
    # one module of this package does not load the others' dependencies
    if name in _PAIRWISE_NAMES:
        import refglm.compare.pairwise as module
    elif name in _MAPS_NAMES:
        import refglm.compare.maps as module
    elif name in _AGREEMENT_NAMES:
        import refglm.compare.agreement as module
    elif name in _REFERENCE_NAMES:
        import refglm.compare.reference as module
    elif name in _EXPLAIN_NAMES:
        import refglm.compare.explain as module
    elif name in _ACCOUNTING_NAMES:
        import refglm.compare.accounting as module
    elif name in _CAUSES_NAMES:
        import refglm.compare.causes as module
    elif name in _VARIANTS_NAMES:
        import refglm.compare.variants as module
    elif name in _REPORT_NAMES:
        import refglm.compare.report as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
