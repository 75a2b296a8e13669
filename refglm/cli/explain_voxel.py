"""``refglm explain-voxel``: one voxel of a fit, each number with its formula.

Without ``--from`` the voxel is one of the tutorial model's (the SPM auditory run);
with ``--from FIT_DIR --func ...`` it is one of the user's own ``refglm fit`` (its
``statmap.json``, ``design.tsv`` and ``mask.nii.gz``, the run given again; a fit under
``spm12`` is refitted first, for SPM's whole-volume matrices). The table
fits in 80 columns, each step's formula on the line below its value; ``--wide`` prints
the long form, one line a step.
"""

from __future__ import annotations

import textwrap

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_OK
from refglm.conventions import DEFAULT_CONVENTION
from refglm.exceptions import InputError

EXAMPLES = (
    "examples:\n"
    "  refglm explain-voxel --mm -60 -6 42 --out results/voxel "
    "--data-dir ../shared/data/spm_auditory\n"
    "  refglm explain-voxel --from out --func sub-01_task-auditory_bold.nii.gz --mm -60 -6 42"
)

#: The width of the printout without ``--wide``.
COLUMNS = 80


def add_parser(subparsers):
    p = subparsers.add_parser(
        "explain-voxel",
        help="trace one voxel of the tutorial model or of a fit, each number with its formula",
        description="Refit one voxel with statsmodels, step by step, and print every "
        "intermediate number with its formula; write a figure and every vector in full to "
        "--out. The voxel is one of the tutorial model's, or with --from one of your own "
        "refglm fit's, whose numbers it reproduces.",
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--mm",
        nargs=3,
        type=options.number(float, "a coordinate in mm", "--mm -60 -6 42"),
        metavar=("X", "Y", "Z"),
        help="the voxel nearest these world coordinates in mm (this or --ijk is required)",
    )
    where.add_argument(
        "--ijk",
        nargs=3,
        type=options.number(int, "a whole voxel index", "--ijk 51 29 36"),
        metavar=("I", "J", "K"),
        help="the voxel of these indices (this or --mm is required)",
    )
    fit = p.add_argument_group("a voxel of your own fit")
    fit.add_argument(
        "--from",
        dest="from_dir",
        default=None,
        metavar="FIT_DIR",
        help="the --out folder of refglm fit (or refglm tutorial): its statmap.json, "
        "design.tsv and mask.nii.gz give the model; a fit under spm12 is refitted first, for "
        "SPM's whole-volume V, W and scale factors (default: none, the tutorial's model)",
    )
    fit.add_argument(
        "--func",
        nargs="+",
        default=None,
        help="with --from, the run that fit read (checked by content against statmap.json; "
        "required with --from)",
    )
    fit.add_argument(
        "--contrast",
        default=None,
        metavar="NAME",
        help="with --from, the fit's t contrast to trace, by name (default: its first t "
        "contrast; its first F contrast is traced beside it)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for the figure and the trace JSON (every vector and matrix in full; "
        "default: none, print only)",
    )
    options.add_data_dir(p)
    options.add_convention(
        p, default=None, default_text=f"{DEFAULT_CONVENTION}; with --from, the fit's"
    )
    p.add_argument(
        "--wide",
        action="store_true",
        help=f"print the long table, one line a step (default: off, {COLUMNS} columns)",
    )
    return p


def _table(trace, wide: bool) -> str:
    """The trace's table: the long form with ``--wide``, else :data:`COLUMNS` wide."""
    return trace.table() if wide else trace.table(width=COLUMNS, wide=False)


def _say(text: str, wide: bool) -> str:
    """A line of the printout, wrapped to :data:`COLUMNS` unless ``--wide``."""
    if wide:
        return text
    return textwrap.fill(
        text, COLUMNS, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False
    )


def run(args) -> int:
    import json

    from refglm import io, plotting
    from refglm.io import derivative_names as names
    from refglm.workflows import explain_voxel as workflow

    if args.from_dir is not None:
        if not args.func:
            raise InputError(
                "--from: expected --func too, the run that fit read (its images in order); "
                "pass them."
            )
        if args.convention is not None:
            raise InputError(
                f"--convention {args.convention}: with --from the convention is the fit's "
                "(statmap.json); drop --convention."
            )
        trace, info = workflow.explain_fit_voxel(
            args.from_dir, args.func, mm=args.mm, ijk=args.ijk, contrast=args.contrast
        )
        what = f"the fit in {args.from_dir} (engine {info['engine']}, contrast {info['contrast']})"
        if info.get("refit_engine") is not None:
            what += (
                f"; SPM's whole-volume gSF, V, W and X0 from a refit of its statmap.json "
                f"options with the {info['refit_engine']} engine ({info['refit_seconds']:.1f} s)"
            )
    else:
        for flag, value in (("--func", args.func), ("--contrast", args.contrast)):
            if value is not None:
                raise InputError(
                    f"{flag}: used only with --from FIT_DIR (a voxel of your own fit); add "
                    f"--from, or drop {flag}."
                )
        trace, info = workflow.explain_voxel(
            mm=args.mm,
            ijk=args.ijk,
            data_dir=args.data_dir,
            convention=args.convention or DEFAULT_CONVENTION,
        )
        what = "SPM auditory tutorial model"
    i, j, k = info["ijk"]
    x, y, z = info["xyz"]
    stem = names.voxel_trace_stem(info["ijk"])
    if args.out:
        # written before anything is printed: a reader that closes stdout early
        # (`| head -1`) stops the printout, not the files
        with io.staged_output_dir(args.out) as stage:
            plotting.plot_voxel_trace(
                trace,
                title=f"voxel ({i}, {j}, {k}) = ({x:g}, {y:g}, {z:g}) mm",
                path=stage / f"{stem}_trace.png",
            )
            payload = dict(trace.as_dict(), ijk=list(info["ijk"]), mm=list(info["xyz"]))
            io.atomic_write_text(
                stage / f"{stem}_trace.json",
                json.dumps(payload, indent=2, sort_keys=True) + "\n",
            )
    wide = args.wide
    print(_say(f"refglm explain-voxel: {what}; convention {trace.convention}", wide))
    print(
        _say(
            f"voxel ijk ({i}, {j}, {k}) = mm ({x:g}, {y:g}, {z:g}), in the mask of "
            f"{info['mask_voxels']} voxels",
            wide,
        )
    )
    print(_table(trace, wide))
    print(f"z ({trace.contrast_name}) = {trace.z:.6f}")
    if info.get("fit_z") is not None:
        print(
            _say(
                f"  the fit's z map there: {info['fit_z']:.6f} (|difference| "
                f"{abs(trace.z - info['fit_z']):.1e})",
                wide,
            )
        )
    if args.out:
        print("wrote the figure and the trace JSON (every vector and matrix in full):")
        print(f"  -> {args.out}/{stem}_trace.png")  # a path may be longer than the line
        print(f"  -> {args.out}/{stem}_trace.json")
    return EXIT_OK
