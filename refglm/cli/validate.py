"""``refglm validate``: rerun the tutorial and compare every number with its golden value."""

from __future__ import annotations

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_FAILED, EXIT_OK
from refglm.cli.progress import Bars
from refglm.cli.tutorial import run_with_progress
from refglm.conventions import DEFAULT_CONVENTION

EXAMPLES = "example: refglm validate --data-dir ../shared/data/spm_auditory --n-jobs 2"


def add_parser(subparsers):
    p = subparsers.add_parser(
        "validate",
        help="rerun the tutorial and compare every number with its golden value",
        description="Rerun the tutorial and print the verdict of the golden comparisons "
        "first (how many pass, the largest deltas), then every comparison (value, golden, "
        "delta, tolerance); exit 1 when any is beyond its tolerance. The golden values are "
        "the nistats tutorial's: under another --convention the table shows how far that "
        "convention lands from them.",
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    options.add_data_dir(p)
    options.add_engine(p)
    options.add_convention(p)
    options.add_n_jobs(p)
    p.add_argument(
        "--quiet",
        action="store_true",
        help="print the verdict line only (not the rows)",
    )
    return p


def run(args) -> int:
    """Rerun the tutorial with the command's options and print the golden checks.

    The verdict comes first, then the largest deltas and every row (the
    verdict alone with ``--quiet``); the checks and their text are
    ``refglm.validation``'s (``checks_for``, ``format_checks``). The run is made
    here so that ``--convention`` and the progress bars reach it. The golden
    values are the nistats tutorial's: under another convention the table
    shows how far that convention lands.
    """
    from refglm import validation

    with Bars() as bars:
        results = run_with_progress(args, bars)
    if args.convention != DEFAULT_CONVENTION:
        print(
            f"convention {args.convention}: compared with the golden values of the nistats "
            f"tutorial (convention {DEFAULT_CONVENTION})"
        )
    checks = validation.checks_for(results)
    print(validation.format_checks(checks, quiet=args.quiet))
    if not args.quiet:
        print(
            f"fit time: {results.timings['fit']:.1f} s (engine {args.engine}, "
            f"n_jobs {args.n_jobs}, convention {args.convention})"
        )
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FAILED
