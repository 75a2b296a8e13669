"""``refglm tutorial``: run the nistats SPM auditory tutorial and write its results."""

from __future__ import annotations

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_OK
from refglm.cli.progress import Bars, finish, fit_progress

EXAMPLES = "example: refglm tutorial --out results --data-dir ../shared/data/spm_auditory"


def add_parser(subparsers):
    p = subparsers.add_parser(
        "tutorial",
        help="run the nistats SPM auditory tutorial and write its results",
        description="Run the whole nistats SPM auditory tutorial; write its maps, tables, "
        "figures and report.html into --out (left as it was if the run fails).",
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    p.add_argument("--out", default="results", help="output folder (default: results)")
    options.add_data_dir(p)
    options.add_engine(p)
    options.add_convention(p)
    options.add_n_jobs(p)
    options.add_scheduler(p)
    return p


def run_with_progress(args, bars, backend=None):
    """``run_tutorial`` with the command's options, drawing its progress on ``bars``.

    Shared with ``refglm validate``, which reruns the same tutorial.
    """
    from refglm.workflows import tutorial

    progress = fit_progress(bars, args, "ar1", load="fetch, load and mask the SPM auditory run")
    results = tutorial.run_tutorial(
        data_dir=args.data_dir,
        n_jobs=args.n_jobs,
        engine=args.engine,
        convention=args.convention,
        progress=progress,
        backend=backend,
    )
    finish(progress)
    return results


def run(args) -> int:
    from refglm import io
    from refglm.workflows import tutorial

    with (
        Bars() as bars,
        io.staged_output_dir(args.out) as stage,
        options.dask_backend(args) as backend,
    ):
        results = run_with_progress(args, bars, backend)
        with bars.stepping("maps, figures and report"):
            written = tutorial.write_tutorial(results, stage, figures=True, report=True)
    cost = options.engine_note(args.engine, results.timings["fit"], args.n_jobs, backend)
    print(f"refglm tutorial: {cost}; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels")
    for name in ("fpr", "bonferroni", "fdr"):
        print(f"  threshold {name}: {results.thresholds[name]:.3f}")
    print(f"  cluster table: {len(results.clusters)} rows -> {args.out}/")
    print(f"  report: {args.out}/report.html")
    return EXIT_OK
