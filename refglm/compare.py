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
- a verdict: within tolerance when every map of REFERENCE has a partner in
  CANDIDATE, and every pair has the same grid, the same support and
  :math:`\\max|\\Delta| \\le \\tau`. For the statistics (z, t, F, p)
  :math:`\\tau` is ``--tolerance``; for maps in signal units (effect, variance)
  :math:`\\tau` is ``--relative-tolerance`` times the reference's largest
  :math:`|A|` (``agreement.tolerance_for``). A reference map missing from the
  candidate fails the verdict (exit 1); candidate maps without a reference are
  reported as not compared.

``--explain`` (with ``--reference-from-data``) refits the reference under every
named convention and under every single-choice flip of each, scores each on the
candidate's statistics (:math:`\\max|\\Delta|`, voxels beyond tolerance, mean
:math:`|\\Delta|`), and names the one that brings the candidate within tolerance,
with the baseline (the reference convention's own residual); when none does it
says so (``refglm.compare_explain``). The names it prints
(``nilearn+ar_binning=round``) are accepted by ``--convention``.

Modules: :mod:`refglm.statmaps` (reading and pairing maps),
:mod:`refglm.agreement` (the numerics), :mod:`refglm.compare_reference`
(``--reference-from-data``), :mod:`refglm.compare_explain` (``--explain``),
:mod:`refglm.compare_report` and :mod:`refglm.compare_figures` (the reports);
this one pairs and compares the maps and holds the command line.

Writes ``compare.md``, ``compare.json`` and ``compare.html`` (figures embedded as
base64 PNG). Exit code 0 within tolerance, 1 beyond it, 2 for bad input
(:class:`refglm.exceptions.InputError`). matplotlib is imported only to draw.
"""

from __future__ import annotations

import argparse
import sys

from refglm.agreement import (
    DEFAULT_RELATIVE_TOLERANCE,
    DEFAULT_TOLERANCE,
    compare_arrays,
    peak_matching,
    threshold_agreement,
    tolerance_for,
)
from refglm.compare_explain import EXPLAIN_BOX_VOXELS, MAP_CHOICES, explain, variants
from refglm.compare_reference import _expand_func, reference_from_data
from refglm.compare_report import CompareReport, PairReport, write_report
from refglm.conventions import DEFAULT_CONVENTION, get_convention
from refglm.exceptions import InputError
from refglm.statmaps import StatMap, check_grids, load_maps, pair_maps

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
    "DEFAULT_RELATIVE_TOLERANCE",
    "MAP_CHOICES",
]

EXIT_WITHIN, EXIT_BEYOND, EXIT_INPUT = 0, 1, 2


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
    largest magnitude (``agreement.tolerance_for``).
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
        help=f"max |Δ| allowed on z, t, F and p maps (default: {DEFAULT_TOLERANCE:g})",
    )
    p.add_argument(
        "--relative-tolerance",
        type=float,
        default=DEFAULT_RELATIVE_TOLERANCE,
        help="max |Δ| allowed on effect and variance maps, as a fraction of the reference's "
        f"largest |value| (default: {DEFAULT_RELATIVE_TOLERANCE:g})",
    )
    p.add_argument(
        "--convention",
        default=DEFAULT_CONVENTION,
        help="convention of the thresholds, tables and the reference fit: a name "
        "(nistats, nilearn, statsmodels) optionally with changed choices, e.g. "
        "nilearn+ar_binning=round (default: nistats)",
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
    g.add_argument(
        "--fir-delays",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="delays in scans of the FIR model (with --hrf-model fir)",
    )
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
    """Run ``refglm compare``; return 0 within tolerance, 1 beyond. Raises InputError.

    Beyond also when a map of the reference is missing from the candidate.
    """
    if not args.tolerance >= 0:
        raise InputError(
            f"--tolerance: expected a number >= 0, found {args.tolerance}; pass e.g. 1e-6."
        )
    relative_tolerance = getattr(args, "relative_tolerance", DEFAULT_RELATIVE_TOLERANCE)
    if not relative_tolerance >= 0:
        raise InputError(
            f"--relative-tolerance: expected a number >= 0, found {relative_tolerance}; "
            "pass e.g. 1e-6."
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
        if getattr(args, "fir_delays", None) is not None:
            model_params["fir_delays"] = args.fir_delays
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
        reference,
        candidate,
        args.tolerance,
        conv,
        reference_label,
        candidate_label,
        relative_tolerance=relative_tolerance,
    )
    if args.explain:
        report.explain = explain(
            {key: candidate[key] for key in reference},
            args.reference_from_data,
            args.events,
            definitions,
            tolerance=args.tolerance,
            box_voxels=args.explain_voxels,
            reference_convention=conv,
            relative_tolerance=relative_tolerance,
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
