"""``refglm explain-voxel``: one voxel of the tutorial model, each number with its formula."""

from __future__ import annotations

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_OK

EXAMPLES = (
    "example: refglm explain-voxel --mm -60 -6 42 --out results/voxel "
    "--data-dir ../shared/data/spm_auditory"
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "explain-voxel",
        help="trace one voxel of the tutorial model, each number with its formula",
        description="Refit one voxel of the tutorial model with statsmodels, step by step, "
        "and print every intermediate number with its formula; write a figure to --out.",
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--mm", nargs=3, type=float, metavar=("X", "Y", "Z"), help="world mm")
    where.add_argument("--ijk", nargs=3, type=int, metavar=("I", "J", "K"), help="voxel indices")
    p.add_argument(
        "--out",
        default=None,
        help="folder for the figure and the trace JSON (every vector and matrix in full)",
    )
    p.add_argument("--data-dir", default=None, metavar="DIR", help="SPM auditory folder")
    options.add_convention(p)
    return p


def run(args) -> int:
    import json

    from refglm import io, plotting
    from refglm.io import derivative_names as names
    from refglm.workflows.explain_voxel import explain_voxel

    trace, info = explain_voxel(
        mm=args.mm, ijk=args.ijk, data_dir=args.data_dir, convention=args.convention
    )
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
    print(
        f"refglm explain-voxel: SPM auditory tutorial model, voxel ijk ({i}, {j}, {k}) = "
        f"mm ({x:g}, {y:g}, {z:g}); in the mask of {info['mask_voxels']} voxels; "
        f"convention {trace.convention}"
    )
    print(trace.table())
    print(f"z ({trace.contrast_name}) = {trace.z:.6f}")
    if args.out:
        print(
            f"  -> {args.out}/{stem}_trace.png, {stem}_trace.json (every vector and matrix in full)"
        )
    return EXIT_OK
