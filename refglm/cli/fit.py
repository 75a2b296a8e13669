"""``refglm fit``: fit one run and write BIDS-derivative maps, tables, figures and a report."""

from __future__ import annotations

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_OK
from refglm.cli.progress import Bars, finish, fit_progress
from refglm.exceptions import InputError
from refglm.glm.design.drifts import DRIFT_MODELS
from refglm.glm.design.hrf import HRF_MODELS
from refglm.inference.threshold_map import HEIGHT_CONTROLS

EXAMPLES = (
    "examples:\n"
    "  refglm fit --func sub-01_task-auditory_bold.nii.gz --events "
    "sub-01_task-auditory_events.tsv --t-r 7 --hrf-model spm --contrast 'active - rest' "
    "--contrast 'effects=active; rest' --out out\n"
    "  refglm fit --bids-dir ds000xyz --task auditory --subject 01 "
    "--contrast 'active - rest' --out out"
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "fit",
        help="fit one run and write BIDS-derivative maps, tables, figures and a report",
        description="Fit a first-level GLM to one run (3-D volumes or one 4-D image, or a "
        "BIDS raw folder) and write nilearn/fitlins-named derivatives into --out.",
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    src = p.add_argument_group("input (either --func/--events/--t-r or --bids-dir/--task)")
    src.add_argument(
        "--func",
        nargs="+",
        help="the run: 3-D volumes in order, or one 4-D image (required unless --bids-dir)",
    )
    src.add_argument(
        "--allow-repeated-volumes",
        action="store_true",
        help="accept a --func list that names one volume twice (a path repeated, or two "
        "identical files); refused by default, as almost certainly a mistake",
    )
    src.add_argument(
        "--events",
        help="BIDS events.tsv (onset, duration, trial_type) (required unless --bids-dir)",
    )
    src.add_argument(
        "--t-r",
        type=options.number(float, "a repetition time in seconds", "--t-r 7"),
        help="repetition time in seconds (required with --func; default with --bids-dir: "
        "the RepetitionTime of the run's JSON sidecar)",
    )
    src.add_argument(
        "--bids-dir", help="BIDS raw dataset root (default: none; --func, --events, --t-r)"
    )
    src.add_argument("--task", help="task label (required with --bids-dir)")
    src.add_argument(
        "--subject", help="subject label (default: the only one; required when there are several)"
    )
    src.add_argument(
        "--session", help="session label (default: the only one; required when there are several)"
    )
    src.add_argument(
        "--run", help="run label (default: the only run; required when the task has several)"
    )
    mdl = p.add_argument_group("model (defaults: nistats FirstLevelModel's)")
    mdl.add_argument(
        "--contrast",
        action="append",
        required=True,
        metavar="[NAME=]EXPR",
        help="contrast over the design's columns, e.g. 'active - rest'; rows separated by ';' "
        "make an F test ('effects=active; rest'); required, repeat for several",
    )
    mdl.add_argument(
        "--hrf-model",
        default="glover",
        type=options.choice(HRF_MODELS, "FirstLevelModel hrf_model"),
        metavar="MODEL",
        help=f"one of {options.names(HRF_MODELS)} (default: 'glover')",
    )
    mdl.add_argument(
        "--drift-model",
        default="cosine",
        type=options.choice(DRIFT_MODELS, "FirstLevelModel drift_model"),
        metavar="MODEL",
        help=f"one of {options.names(DRIFT_MODELS)} (default: 'cosine')",
    )
    mdl.add_argument(
        "--high-pass",
        type=options.number(float, "a cut-off frequency in Hz", "--high-pass 0.01"),
        default=0.01,
        help="Hz (default: 0.01)",
    )
    mdl.add_argument(
        "--drift-order",
        type=options.number(int, "a whole polynomial order", "--drift-order 1"),
        default=1,
        help="polynomial order (default: 1)",
    )
    options.add_noise_model(mdl)
    mdl.add_argument(
        "--mask",
        default=None,
        help="brain mask image (default: the convention's mask of the run: the EPI mask, or "
        "SPM's implicit mask under spm12)",
    )
    thr = p.add_argument_group("thresholds, clusters and report")
    thr.add_argument(
        "--height-control",
        default="fdr",
        type=options.choice(HEIGHT_CONTROLS, "map_threshold height_control"),
        metavar="CONTROL",
        help=f"one of {options.names(HEIGHT_CONTROLS)} (default: 'fdr')",
    )
    thr.add_argument(
        "--alpha",
        type=options.number(float, "a probability between 0 and 1", "--alpha 0.05"),
        default=0.05,
        help="false positive rate, family-wise error or false discovery rate of "
        "--height-control (default: 0.05)",
    )
    thr.add_argument(
        "--threshold",
        type=options.number(float, "a z value", "--threshold 3.1"),
        default=None,
        help="z threshold, with --height-control none (required there; default: none)",
    )
    thr.add_argument(
        "--cluster-threshold",
        type=options.number(int, "a whole number of voxels", "--cluster-threshold 10"),
        default=10,
        help="clusters smaller than this (voxels) are removed from the map (default: 10)",
    )
    thr.add_argument(
        "--table-cluster-threshold",
        type=options.number(int, "a whole number of voxels", "--table-cluster-threshold 20"),
        default=20,
        help="smallest cluster (voxels) listed in the cluster table (default: 20)",
    )
    thr.add_argument(
        "--min-distance",
        type=options.number(float, "a distance in mm", "--min-distance 8"),
        default=8.0,
        help="minimum distance in mm between the peaks of a cluster (default: 8)",
    )
    thr.add_argument("--no-report", action="store_true", help="skip figures and report.html")
    options.add_spm12_options(p)
    p.add_argument("--out", required=True, help="output folder (required)")
    options.add_engine(p)
    options.add_convention(p)
    options.add_n_jobs(p)
    options.add_scheduler(p)
    return p


def fit_inputs(args):
    """(func, events, t_r, description) from --func/--events/--t-r or --bids-dir/--task."""
    if args.bids_dir:
        if args.func or args.events:
            raise InputError(
                "fit: expected either --bids-dir (with --task) or --func/--events, found both."
            )
        if not args.task:
            raise InputError("fit: --bids-dir needs --task (e.g. --task auditory).")
        from refglm.io import find_bids_run

        run = find_bids_run(
            args.bids_dir,
            args.task,
            subject=args.subject,
            session=args.session,
            run=args.run,
            require_t_r=args.t_r is None,
        )
        t_r = args.t_r if args.t_r is not None else run.t_r
        return str(run.func), str(run.events), t_r, f"{run.func.name} (t_r {t_r:g} s)"
    missing = [
        flag
        for flag, value in (("--func", args.func), ("--events", args.events), ("--t-r", args.t_r))
        if value is None
    ]
    if missing:
        raise InputError(
            f"fit: missing {', '.join(missing)}; pass --func, --events and --t-r "
            "(or --bids-dir and --task)."
        )
    if not args.allow_repeated_volumes:
        check_distinct_volumes(args.func)
    func = args.func[0] if len(args.func) == 1 else list(args.func)
    return func, args.events, args.t_r, f"{len(args.func)} file(s) (t_r {args.t_r:g} s)"


def check_distinct_volumes(paths) -> None:
    """Refuse a ``--func`` list naming one volume twice: the same file, or identical files.

    A repeated scan is fitted silently otherwise (its residuals count twice, the
    degrees of freedom and every threshold move), and is almost never meant; the
    message names both positions (1-based, as typed) and the flag that accepts it.
    """
    from refglm.io import repeated_files

    repeats = repeated_files(paths)
    if not repeats:
        return
    first, later, how = repeats[0]
    more = f" ({len(repeats) - 1} more repeat(s) after it)" if len(repeats) > 1 else ""
    raise InputError(
        f"--func: expected each volume once, found volume {later + 1} ({paths[later]}) "
        f"repeating volume {first + 1} ({paths[first]}): {how}{more}; remove the repeat, or "
        "pass --allow-repeated-volumes if the run really holds it twice."
    )


def contrasts_of(args) -> dict:
    """The ``--contrast`` values as {BIDS name: definition}; a name used twice is refused."""
    contrasts = {}
    for text in args.contrast:
        name, definition = options.parse_contrast(text)
        if name in contrasts:
            raise InputError(
                f"--contrast {text!r}: the name {name!r} is already used; give it another "
                "with NAME=EXPR."
            )
        contrasts[name] = definition
    return contrasts


def run(args) -> int:
    from refglm import io
    from refglm.workflows import fit

    func, events, t_r, what = fit_inputs(args)
    contrasts = contrasts_of(args)
    with (
        Bars() as bars,
        io.staged_output_dir(args.out) as stage,
        options.dask_backend(args) as backend,
    ):
        progress = fit_progress(bars, args, args.noise_model, load="load and mask the run")
        results = fit.run_fit(
            func,
            events,
            t_r,
            contrasts,
            hrf_model=args.hrf_model,
            drift_model=args.drift_model,
            high_pass=args.high_pass,
            drift_order=args.drift_order,
            noise_model=args.noise_model,
            convention=args.convention,
            engine=args.engine,
            n_jobs=args.n_jobs,
            mask_img=args.mask,
            height_control=args.height_control,
            alpha=args.alpha,
            threshold=args.threshold,
            cluster_threshold=args.cluster_threshold,
            table_cluster_threshold=args.table_cluster_threshold,
            min_distance=args.min_distance,
            progress=progress,
            backend=backend,
            **options.spm12_options(args),
        )
        finish(progress)
        report = not args.no_report
        with bars.stepping("maps, figures and report" if report else "maps"):
            written = fit.write_fit(results, stage, figures=report, report=report)
    cost = options.engine_note(args.engine, results.timings["fit"], args.n_jobs, backend)
    print(f"refglm fit: {what}; {cost}; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels; design: {results.design.shape[1]} columns")
    for s in results.summaries:
        m = s.maps[0]
        rows = 0 if s.table is None else len(s.table)
        print(f"  contrast-{s.name} ({s.stat_type}): threshold {m.threshold:.3f}, {rows} rows")
    print(f"  -> {args.out}/")
    return EXIT_OK
