"""``refglm compare``: do two sets of first-level maps agree, and if not, why?

``refglm compare REFERENCE CANDIDATE [--out DIR] [--tolerance 1e-6]``

REFERENCE and CANDIDATE are each a statistical map or a folder of maps with
BIDS-derivative names; with ``--reference-from-data FUNC... --events E --t-r T
[model flags]`` refglm fits the reference itself (then only CANDIDATE is given),
and ``--explain`` refits it under every convention and single-choice flip to say
which one the candidate follows, and gives every voxel beyond tolerance a cause
(convention choice, AR-bin tie, quantized tail, mask edge, unexplained). With
``--allow-ties`` (the default) the verdict of ``--explain`` does not count the ties and
tails, which are not convention choices; ``--no-allow-ties`` counts them. What is
compared, and how: :mod:`refglm.compare`. Exit code 0 within tolerance, 1 beyond it,
2 for bad input.
"""

from __future__ import annotations

import argparse

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_FAILED, EXIT_OK
from refglm.cli.progress import Bars, finish, fit_progress
from refglm.compare.agreement import DEFAULT_RELATIVE_TOLERANCE, DEFAULT_TOLERANCE
from refglm.compare.variants import EXPLAIN_BOX_VOXELS
from refglm.conventions import CONVENTIONS, DEFAULT_CONVENTION
from refglm.exceptions import InputError
from refglm.glm.design.drifts import DRIFT_MODELS
from refglm.glm.design.hrf import HRF_MODELS
from refglm.glm.engines import ENGINE_NAMES

EXAMPLES = (
    "examples:\n"
    "  refglm compare results/ nilearn_out/ --out cmp\n"
    "  refglm compare nilearn_out/ --reference-from-data 'sub001/fM00223/fM00223_*.img' "
    "--events fM00223_events.tsv --t-r 7 --hrf-model spm --explain\n"
    "(with --reference-from-data, give CANDIDATE before it: the paths after it are FUNC)"
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "compare",
        help="compare two sets of statistical maps (or refglm's own against a candidate)",
        description="Compare two sets of first-level maps (or refglm's own fit against a "
        "candidate), map by map, and say whether they agree within tolerance; with "
        "--explain, which convention choice explains a difference.",
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    # nargs="*": a CANDIDATE swallowed by --reference-from-data's list is named in run()
    p.add_argument(
        "maps",
        nargs="*",
        metavar="MAPS",
        help="REFERENCE CANDIDATE (or only CANDIDATE with --reference-from-data, given "
        "before it): each a map file or a folder of contrast-<name>_stat-<kind>_statmap.nii.gz",
    )
    p.add_argument(
        "--out",
        default="compare",
        help="output folder of compare.md, .json and .html (default: compare)",
    )
    p.add_argument(
        "--tolerance",
        type=options.number(float, "a number >= 0", "--tolerance 1e-6"),
        default=DEFAULT_TOLERANCE,
        help=f"max |Δ| allowed on z, t, F and p maps (default: {DEFAULT_TOLERANCE:g})",
    )
    p.add_argument(
        "--relative-tolerance",
        type=options.number(float, "a number >= 0", "--relative-tolerance 1e-6"),
        default=DEFAULT_RELATIVE_TOLERANCE,
        help="max |Δ| allowed on effect and variance maps, as a fraction of the reference's "
        f"largest |value| (default: {DEFAULT_RELATIVE_TOLERANCE:g})",
    )
    p.add_argument(
        "--convention",
        default=DEFAULT_CONVENTION,
        type=options.convention_name,
        metavar=options.CONVENTION_METAVAR,
        help="convention of the thresholds, tables and the reference fit: one of "
        f"{', '.join(CONVENTIONS)}, optionally with changed choices, e.g. "
        f"nilearn+ar_binning=round (default: {DEFAULT_CONVENTION})",
    )
    g = p.add_argument_group("reference from data")
    g.add_argument(
        "--reference-from-data",
        nargs="+",
        metavar="FUNC",
        help="fit the reference with refglm on these functional images (paths or a glob; "
        "default: none, REFERENCE is a map or folder); every path up to the next option is "
        "one of them, so give CANDIDATE before this option",
    )
    g.add_argument("--events", help="events.tsv of the run (required with --reference-from-data)")
    g.add_argument(
        "--t-r",
        type=options.number(float, "a repetition time in seconds", "--t-r 7"),
        help="repetition time in seconds (required with --reference-from-data)",
    )
    g.add_argument(
        "--hrf-model",
        default="glover",
        type=options.choice(HRF_MODELS, "FirstLevelModel hrf_model"),
        metavar="MODEL",
        help=f"one of {options.names(HRF_MODELS)} (default: 'glover')",
    )
    g.add_argument(
        "--drift-model",
        default="cosine",
        type=options.choice(DRIFT_MODELS, "FirstLevelModel drift_model"),
        metavar="MODEL",
        help=f"one of {options.names(DRIFT_MODELS)} (default: 'cosine')",
    )
    g.add_argument(
        "--high-pass",
        type=options.number(float, "a cut-off frequency in Hz", "--high-pass 0.01"),
        default=0.01,
        help="Hz (default: 0.01)",
    )
    g.add_argument(
        "--drift-order",
        type=options.number(int, "a whole polynomial order", "--drift-order 1"),
        default=1,
        help="polynomial order (default: 1)",
    )
    g.add_argument(
        "--slice-time-ref",
        type=options.number(float, "a fraction of the repetition time", "--slice-time-ref 0.5"),
        default=0.0,
        help="fraction of t_r at which each scan is referenced (default: 0)",
    )
    g.add_argument(
        "--min-onset",
        type=options.number(float, "a time in seconds", "--min-onset -24"),
        default=-24,
        help="earliest onset (s) the design can represent (default: -24)",
    )
    g.add_argument(
        "--fir-delays",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="delays in scans of the FIR model, with --hrf-model fir (default: 0)",
    )
    options.add_noise_model(g)
    g.add_argument(
        "--mask",
        default=None,
        help="brain mask image (default: the convention's mask of the run: the EPI mask, or "
        "SPM's implicit mask under spm12)",
    )
    options.add_spm12_options(p)
    g.add_argument(
        "--contrast",
        action="append",
        default=[],
        metavar="NAME=EXPR",
        help="a contrast the candidate names, e.g. 'activeMinusRest=active - rest' "
        "('a; b' rows make an F test); repeatable (default: the tutorial's contrasts, "
        "each condition and each difference of two, by their camelCase names)",
    )
    g.add_argument(
        "--engine",
        default=ENGINE_NAMES[0],
        type=options.choice(ENGINE_NAMES, "FirstLevelModel engine"),
        metavar=options.braced(ENGINE_NAMES),
        help=f"fit engine of the reference (default: {ENGINE_NAMES[0]})",
    )
    options.add_n_jobs(g)
    g.add_argument(
        "--explain",
        action="store_true",
        help="refit under each convention and single-choice flip; report the closest and give "
        "each voxel beyond tolerance a cause (needs --reference-from-data)",
    )
    g.add_argument(
        "--allow-ties",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --explain, give the verdict without the voxels that are AR-bin ties or "
        "quantized tails (not convention choices; counted and listed either way; default: "
        "--allow-ties)",
    )
    g.add_argument(
        "--explain-voxels",
        type=options.number(int, "a whole number of voxels", "--explain-voxels 5000"),
        default=EXPLAIN_BOX_VOXELS,
        help="voxels of the sub-box --explain ranks on (0: all; default: %(default)s)",
    )
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


def _swallowed_candidate(func: list) -> str:
    """The message for ``--reference-from-data`` given with no CANDIDATE left after it.

    argparse gives an option with ``nargs="+"`` every path up to the next option, so
    ``--reference-from-data a.img b.img cand/`` takes ``cand/`` as a functional image.
    The message names the path that was most likely meant as CANDIDATE (a folder, or a
    file named as a statistical map; else the last one) and the two ways to write it.
    """
    from pathlib import Path

    from refglm.io.derivative_names import MAP_NAME

    def looks_like_maps(path: str) -> bool:
        return Path(path).is_dir() or MAP_NAME.search(Path(path).name) is not None

    likely = [path for path in func if looks_like_maps(path)]
    meant = likely[-1] if likely else func[-1]
    rest = [path for path in func if path != meant] or ["FUNC..."]
    # the paths kept, then one "..." for the other paths and the model flags
    shown = " ".join(rest[:2]) + " ..."
    fix = f"give CANDIDATE before it: `refglm compare {meant} --reference-from-data {shown}`"
    if likely:
        found = f"{meant} included, a folder or a statistical map, so likely the CANDIDATE"
    else:
        found = f"{meant} included; if that is the CANDIDATE"
    return (
        "MAPS: expected CANDIDATE, found none: --reference-from-data takes every path up to "
        f"the next option as a functional image ({found}); {fix}."
    )


def _compare(args, conv, contrasts, relative_tolerance, bars):
    """Load or fit both sides, compare them, and explain with ``--explain``: the report.

    Each phase draws a step line or a bar on ``bars``: the candidate's maps, the
    reference fit (a bar per pass over the voxels), the comparison, and ``--explain``'s
    steps (the reference convention, a bar over the variants, the leaders refitted on
    every voxel, the causes of the voxels beyond tolerance).
    """
    import numpy as np

    from refglm import compare

    model = None
    if args.reference_from_data:
        if not args.maps:
            raise InputError(_swallowed_candidate(args.reference_from_data))
        if len(args.maps) != 1:
            after_dashes = any(path.startswith("-") for path in args.maps)
            raise InputError(
                f"MAPS: with --reference-from-data expected only CANDIDATE, found "
                f"{len(args.maps)} paths ({', '.join(args.maps)}); "
                + (
                    "every argument after -- is a path: put the options before --."
                    if after_dashes
                    else "put CANDIDATE before --reference-from-data, or end the FUNC list "
                    "with -- CANDIDATE after every option."
                )
            )
        if args.events is None or args.t_r is None:
            raise InputError(
                "--reference-from-data: expected --events EVENTS.tsv and --t-r SECONDS too; "
                "pass both."
            )
        with bars.stepping("load the candidate's maps"):
            candidate = _name_unnamed(compare.load_maps(args.maps[0], "CANDIDATE"), contrasts)
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
            **options.spm12_options(args),
        )
        if getattr(args, "fir_delays", None) is not None:
            model_params["fir_delays"] = args.fir_delays
        progress = fit_progress(
            bars, args, args.noise_model, "reference: load and mask the run", "reference's maps"
        )
        reference, model, definitions = compare.reference_from_data(
            args.reference_from_data,
            args.events,
            candidate,
            contrasts,
            convention=conv,
            engine=args.engine,
            keep_signals=args.explain,
            progress=progress,
            **model_params,
        )
        finish(progress)
        files = compare.expand_func(args.reference_from_data)
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
        with bars.stepping("load the maps"):
            reference = compare.load_maps(args.maps[0], "REFERENCE")
            candidate = compare.load_maps(args.maps[1], "CANDIDATE")
        reference_label, candidate_label = args.maps
    with bars.stepping("compare the maps (thresholds, clusters, peaks)"):
        report = compare.compare_maps(
            reference,
            candidate,
            args.tolerance,
            conv,
            reference_label,
            candidate_label,
            relative_tolerance=relative_tolerance,
        )
    if model is not None:
        # the Δ slices are drawn over the reference fit's mean image
        report.background = np.asarray(model.mean_img_data_, dtype=np.float64)
    if args.explain:
        report.explain = compare.explain_differences(
            {key: candidate[key] for key in reference},
            args.reference_from_data,
            args.events,
            definitions,
            tolerance=args.tolerance,
            box_voxels=args.explain_voxels,
            reference_convention=conv,
            relative_tolerance=relative_tolerance,
            reference_maps=reference,
            reference_model=model,
            progress=bars,
            **model_params,
        )
        report.allow_ties = args.allow_ties
    return report


def run(args) -> int:
    """Run ``refglm compare``; return 0 within tolerance, 1 beyond. Raises InputError.

    Beyond also when a map of the reference is missing from the candidate.
    """
    from refglm import compare

    if not args.tolerance >= 0:
        raise InputError(
            f"--tolerance: expected a number >= 0, found {args.tolerance}; pass e.g. 1e-6."
        )
    relative_tolerance = args.relative_tolerance
    if not relative_tolerance >= 0:
        raise InputError(
            f"--relative-tolerance: expected a number >= 0, found {relative_tolerance}; "
            "pass e.g. 1e-6."
        )
    from refglm.conventions import get_convention

    conv = get_convention(args.convention)
    contrasts = dict(options.parse_contrast(item) for item in args.contrast)
    with Bars() as bars:
        report = _compare(args, conv, contrasts, relative_tolerance, bars)
        with bars.stepping("figures, compare.md, compare.json, compare.html"):
            compare.write_report(report, args.out)
    print(report.verdict)
    if report.explain:
        print(report.explain["message"])
        print(report.causes_line)
    elif not report.within_tolerance and args.reference_from_data:
        print(
            "--explain gives each voxel beyond tolerance a cause: a convention choice, an "
            "AR-bin tie, a quantized tail, a mask edge, or unexplained."
        )
    print(f"wrote {args.out}/compare.md, compare.json, compare.html")
    return EXIT_OK if report.within_tolerance else EXIT_FAILED
