"""The ``refglm`` command line.

Subcommands: ``tutorial`` (the whole nistats SPM auditory tutorial, with
figures and report), ``fit`` (one run, BIDS-derivative outputs),
``validate`` (golden checks), ``fetch`` (data), ``explain-voxel`` (one
voxel's fit, number by number).

Exit codes: 0 ok, 1 internal error (or a golden check beyond tolerance),
2 bad input (one line on stderr; ``--debug`` adds the traceback), 130
interrupted by Ctrl-C (SIGINT), 143 terminated (SIGTERM). Every command
that writes ``--out`` stages its files (``refglm.io.staged_output_dir``), so
a run that fails or is interrupted leaves ``--out`` as it was. Warnings are
printed as one line each (``refglm: warning: ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
import traceback
import warnings

from refglm.exceptions import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM

_EXAMPLES = {
    "tutorial": "example: refglm tutorial --out results --data-dir ../shared/data/spm_auditory",
    "fit": (
        "examples:\n"
        "  refglm fit --func sub-01_task-auditory_bold.nii.gz --events "
        "sub-01_task-auditory_events.tsv --t-r 7 --hrf-model spm --contrast 'active - rest' "
        "--contrast 'effects=active; rest' --out out\n"
        "  refglm fit --bids-dir ds000xyz --task auditory --subject 01 "
        "--contrast 'active - rest' --out out"
    ),
    "validate": "example: refglm validate --data-dir ../shared/data/spm_auditory --n-jobs 2",
    "fetch": "example: refglm fetch spm-auditory --data-dir ~/data/spm_auditory",
    "explain-voxel": (
        "example: refglm explain-voxel --mm -60 -6 42 --out results/voxel "
        "--data-dir ../shared/data/spm_auditory"
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as InputError (exit 2, one line)."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message}")


class _Terminated(KeyboardInterrupt):
    """Raised in the main thread by SIGTERM, so that cleanup runs as for Ctrl-C."""


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


def _install_sigterm():
    """Turn SIGTERM into :class:`_Terminated`; return the previous handler (or None)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGTERM, _raise_terminated)
    except (ValueError, OSError):  # no signals here (embedded interpreter)
        return None


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Print a warning as one line, ``refglm: warning: <message>``."""
    text = " ".join(str(message).split())
    print(f"refglm: warning: {text}", file=sys.stderr if file is None else file)


def _number(kind, what: str, example: str, nonzero: bool = False):
    """An argparse ``type`` that parses ``kind`` and says what was expected on failure."""

    def parse(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(
                f"expected {what}, found {text!r}; pass e.g. {example}"
            ) from None
        if nonzero and value == 0:
            raise argparse.ArgumentTypeError(
                f"expected {what}, found {text!r}; pass e.g. {example}"
            )
        return value

    parse.__name__ = kind.__name__
    return parse


@contextlib.contextmanager
def _quiet_downloads(command: str):
    """Silence pooch's "Downloading data from ..." line when stderr is not a terminal.

    Like the progress bars, download chatter is for terminals; a script reading
    stderr sees only errors and warnings, one line each.
    """
    if command not in _DOWNLOADING or sys.stderr.isatty():
        yield
        return
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _progress_factory():
    """A tqdm bar that switches itself off when stderr is not a terminal."""
    from tqdm import tqdm

    bars = {}

    def make(total, desc, unit="vox"):
        bar = tqdm(total=total, desc=desc, unit=unit, disable=not sys.stderr.isatty())
        bars[desc] = bar
        return bar.update

    return make, bars


def _close(bars):
    for bar in bars.values():
        bar.close()
    bars.clear()


def _add_common(p, *, data_dir=True, scheduler=True):
    if data_dir:
        p.add_argument(
            "--data-dir",
            default=None,
            help="SPM auditory folder (default: $REFGLM_DATA_DIR, then the refglm cache, "
            "then download)",
        )
    p.add_argument("--engine", default="statsmodels", help="fit engine (default: statsmodels)")
    p.add_argument("--convention", default="nistats", help="named convention (default: nistats)")
    p.add_argument(
        "--n-jobs",
        type=_number(int, "a whole number of workers other than 0", "--n-jobs 2", nonzero=True),
        default=1,
        help="joblib workers (default: 1; -1: all CPUs)",
    )
    if not scheduler:
        return
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run the statsmodels engine's voxel chunks on this Dask scheduler "
        "(e.g. tcp://127.0.0.1:8786) through joblib's Dask backend; needs refglm[dask]",
    )


@contextlib.contextmanager
def _dask_backend(args):
    """Connect to ``--scheduler`` and yield the joblib backend name (or None)."""
    address = getattr(args, "scheduler", None)
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise InputError(
            "--scheduler: expected the Dask extra, found no 'distributed' package; "
            "install it with pip install 'refglm[dask]'."
        ) from None
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError(
            f"--scheduler {address}: expected a reachable Dask scheduler, found "
            f"{exc.__class__.__name__}: {exc}; start one (dask scheduler) or drop --scheduler."
        ) from None
    with client:
        if args.n_jobs == 1:
            args.n_jobs = -1  # every worker of the cluster
        yield "dask"


def _add_debug(p):
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )


def _none_or(text):
    return None if str(text).lower() == "none" else text


def _get_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="refglm",
        description="refglm: a correctness reference for first-level fMRI GLMs.",
        epilog="examples:\n"
        + "\n".join(
            "  " + line.strip().removeprefix("example: ")
            for text in _EXAMPLES.values()
            for line in text.splitlines()
            if line.strip() and line.strip() != "examples:"
        )
        + "\n\nexit codes: 0 ok, 1 internal error (or a failed golden check), 2 bad input",
        formatter_class=raw,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "tutorial",
        help="run the nistats SPM auditory tutorial and write its results",
        description="Run the whole nistats SPM auditory tutorial; write its maps, tables, "
        "figures and report.html into --out (left as it was if the run fails).",
        epilog=_EXAMPLES["tutorial"],
    )
    p.add_argument("--out", default="results", help="output folder (default: results)")
    _add_common(p)

    p = sub.add_parser(
        "fit",
        help="fit one run and write BIDS-derivative maps, tables, figures and a report",
        description="Fit a first-level GLM to one run (3-D volumes or one 4-D image, or a "
        "BIDS raw folder) and write nilearn/fitlins-named derivatives into --out.",
        epilog=_EXAMPLES["fit"],
        formatter_class=raw,
    )
    src = p.add_argument_group("input (either --func/--events/--t-r or --bids-dir/--task)")
    src.add_argument("--func", nargs="+", help="the run: 3-D volumes in order, or one 4-D image")
    src.add_argument("--events", help="BIDS events.tsv (onset, duration, trial_type)")
    src.add_argument(
        "--t-r",
        type=_number(float, "a repetition time in seconds", "--t-r 7"),
        help="repetition time in seconds",
    )
    src.add_argument("--bids-dir", help="BIDS raw dataset root")
    src.add_argument("--task", help="task label (with --bids-dir)")
    src.add_argument("--subject", help="subject label (when the task has several)")
    src.add_argument("--session", help="session label (when the subject has several)")
    src.add_argument("--run", help="run label (when the task has several runs)")
    mdl = p.add_argument_group("model (defaults: nistats FirstLevelModel's)")
    mdl.add_argument(
        "--contrast",
        action="append",
        default=[],
        metavar="[NAME=]EXPR",
        help="contrast over the design's columns, e.g. 'active - rest'; rows separated by ';' "
        "make an F test ('effects=active; rest'); repeat for several",
    )
    mdl.add_argument("--hrf-model", default="glover", type=_none_or, help="(default: glover)")
    mdl.add_argument("--drift-model", default="cosine", type=_none_or, help="(default: cosine)")
    mdl.add_argument(
        "--high-pass",
        type=_number(float, "a cut-off frequency in Hz", "--high-pass 0.01"),
        default=0.01,
        help="Hz (default: 0.01)",
    )
    mdl.add_argument(
        "--drift-order",
        type=_number(int, "a whole polynomial order", "--drift-order 1"),
        default=1,
        help="polynomial order (default: 1)",
    )
    mdl.add_argument("--noise-model", default="ar1", help="ar1 or ols (default: ar1)")
    mdl.add_argument("--mask", default=None, help="brain mask image (default: the EPI mask)")
    thr = p.add_argument_group("thresholds, clusters and report")
    thr.add_argument(
        "--height-control",
        default="fdr",
        type=_none_or,
        help="fpr, bonferroni, fdr or none (default: fdr)",
    )
    thr.add_argument(
        "--alpha",
        type=_number(float, "a probability between 0 and 1", "--alpha 0.05"),
        default=0.05,
        help="(default: 0.05)",
    )
    thr.add_argument(
        "--threshold",
        type=_number(float, "a z value", "--threshold 3.1"),
        default=None,
        help="z, with --height-control none",
    )
    thr.add_argument(
        "--cluster-threshold",
        type=_number(int, "a whole number of voxels", "--cluster-threshold 10"),
        default=10,
        help="clusters smaller than this (voxels) are removed from the map (default: 10)",
    )
    thr.add_argument(
        "--table-cluster-threshold",
        type=_number(int, "a whole number of voxels", "--table-cluster-threshold 20"),
        default=20,
        help="smallest cluster (voxels) listed in the cluster table (default: 20)",
    )
    thr.add_argument(
        "--min-distance",
        type=_number(float, "a distance in mm", "--min-distance 8"),
        default=8.0,
        help="mm between peaks (8)",
    )
    thr.add_argument("--no-report", action="store_true", help="skip figures and report.html")
    p.add_argument("--out", required=True, help="output folder")
    _add_common(p, data_dir=False)

    p = sub.add_parser(
        "validate",
        help="rerun the tutorial and compare every number with its golden value",
        epilog=_EXAMPLES["validate"],
    )
    _add_common(p, scheduler=False)

    p = sub.add_parser(
        "fetch", help="download (if needed) and verify a dataset", epilog=_EXAMPLES["fetch"]
    )
    p.add_argument("dataset", choices=["spm-auditory"])
    p.add_argument("--data-dir", default=None, help="where the data are or should go")

    p = sub.add_parser(
        "explain-voxel",
        help="trace one voxel of the tutorial model, each number with its formula",
        description="Refit one voxel of the tutorial model with statsmodels, step by step, "
        "and print every intermediate number with its formula; write a figure to --out.",
        epilog=_EXAMPLES["explain-voxel"],
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--mm", nargs=3, type=float, metavar=("X", "Y", "Z"), help="world mm")
    where.add_argument("--ijk", nargs=3, type=int, metavar=("I", "J", "K"), help="voxel indices")
    p.add_argument("--out", default=None, help="folder for the figure and trace JSON")
    p.add_argument("--data-dir", default=None, help="SPM auditory folder")
    p.add_argument("--convention", default="nistats", help="named convention (default: nistats)")
    importlib.import_module("refglm.compare").add_parser(sub)
    for p in sub.choices.values():
        _add_debug(p)
    return parser


def _cmd_tutorial(args) -> int:
    from refglm import io
    from refglm.pipeline import run_tutorial, write_tutorial

    make_bar, bars = _progress_factory()
    update = make_bar(None, "fit")
    with io.staged_output_dir(args.out) as stage, _dask_backend(args) as backend:
        results = run_tutorial(
            data_dir=args.data_dir,
            n_jobs=args.n_jobs,
            engine=args.engine,
            convention=args.convention,
            progress=update,
            backend=backend,
        )
        _close(bars)
        written = write_tutorial(results, stage, figures=True, report=True)
    print(f"refglm tutorial: fit {results.timings['fit']:.1f} s; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels")
    for name in ("fpr", "bonferroni", "fdr"):
        print(f"  threshold {name}: {results.thresholds[name]:.3f}")
    print(f"  cluster table: {len(results.clusters)} rows -> {args.out}/")
    print(f"  report: {args.out}/report.html")
    return EXIT_OK


def _fit_inputs(args):
    """(func, events, t_r, description) from --func/--events/--t-r or --bids-dir/--task."""
    if args.bids_dir:
        if args.func or args.events:
            raise InputError(
                "fit: expected either --bids-dir (with --task) or --func/--events, found both."
            )
        if not args.task:
            raise InputError("fit: --bids-dir needs --task (e.g. --task auditory).")
        from refglm.bids import find_bids_run

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
    func = args.func[0] if len(args.func) == 1 else list(args.func)
    return func, args.events, args.t_r, f"{len(args.func)} file(s) (t_r {args.t_r:g} s)"


def _cmd_fit(args) -> int:
    from refglm import io
    from refglm.pipeline import parse_contrast, run_fit, write_fit

    func, events, t_r, what = _fit_inputs(args)
    contrasts = {}
    for text in args.contrast:
        name, definition = parse_contrast(text)
        if name in contrasts:
            raise InputError(
                f"--contrast {text!r}: the name {name!r} is already used; give it another "
                "with NAME=EXPR."
            )
        contrasts[name] = definition
    make_bar, bars = _progress_factory()
    with io.staged_output_dir(args.out) as stage, _dask_backend(args) as backend:
        results = run_fit(
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
            progress=make_bar(None, "fit"),
            backend=backend,
        )
        _close(bars)
        written = write_fit(results, stage, figures=not args.no_report, report=not args.no_report)
    print(f"refglm fit: {what}; fit {results.timings['fit']:.1f} s; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels; design: {results.design.shape[1]} columns")
    for s in results.summaries:
        m = s.maps[0]
        rows = 0 if s.table is None else len(s.table)
        print(f"  contrast-{s.name} ({s.stat_type}): threshold {m.threshold:.3f}, {rows} rows")
    print(f"  -> {args.out}/")
    return EXIT_OK


def _cmd_validate(args) -> int:
    from refglm.report import load_validation_module

    module = load_validation_module()
    argv = ["--n-jobs", str(args.n_jobs), "--engine", args.engine]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    return module.main(argv)


def _cmd_fetch(args) -> int:
    from refglm.datasets import fetch_spm_auditory

    data = fetch_spm_auditory(args.data_dir, progressbar=sys.stderr.isatty())
    print(f"spm-auditory: {len(data.func)} volumes verified in {data.data_dir}")
    return EXIT_OK


def _cmd_explain_voxel(args) -> int:
    import json

    from refglm.pipeline import explain_voxel

    trace, info = explain_voxel(
        mm=args.mm, ijk=args.ijk, data_dir=args.data_dir, convention=args.convention
    )
    i, j, k = info["ijk"]
    x, y, z = info["xyz"]
    print(
        f"refglm explain-voxel: SPM auditory tutorial model, voxel ijk ({i}, {j}, {k}) = "
        f"mm ({x:g}, {y:g}, {z:g}); in the mask of {info['mask_voxels']} voxels; "
        f"convention {trace.convention}"
    )
    print(trace.table())
    print(f"z ({trace.contrast_name}) = {trace.z:.6f}")
    if args.out:
        from refglm import io, plotting

        stem = f"voxel-{i}-{j}-{k}"
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
        print(f"  -> {args.out}/{stem}_trace.png, {stem}_trace.json")
    return EXIT_OK


# commands that may download the SPM auditory data
_DOWNLOADING = ("tutorial", "validate", "fetch", "explain-voxel")

_COMMANDS = {
    "tutorial": _cmd_tutorial,
    "fit": _cmd_fit,
    "validate": _cmd_validate,
    "fetch": _cmd_fetch,
    "explain-voxel": _cmd_explain_voxel,
    "compare": lambda args: importlib.import_module("refglm.compare").run(args),
}


def main(argv=None) -> int:
    """Run the CLI; return the exit code.

    Bad input (:class:`~refglm.exceptions.InputError`) gives exit code 2 and
    one line on stderr; any other exception exit code 1 and one line;
    ``--debug`` adds the traceback to both. Ctrl-C gives 130 and SIGTERM 143,
    after the staged outputs are removed.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    previous_sigterm = _install_sigterm()
    try:
        with warnings.catch_warnings():
            if not debug:
                warnings.showwarning = _show_warning
            return _run(argv, debug)
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)


def _run(argv, debug: bool) -> int:
    try:
        args = _get_parser().parse_args(argv)
        with _quiet_downloads(args.command):
            return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except InputError as exc:
        if debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"refglm: error: {message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt as exc:
        if debug:
            traceback.print_exc()
        if isinstance(exc, _Terminated):
            print(
                "refglm: terminated (SIGTERM); the output folder was left as it was",
                file=sys.stderr,
            )
            return EXIT_SIGTERM
        print("refglm: interrupted; the output folder was left as it was", file=sys.stderr)
        return EXIT_SIGINT
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into an exit code
        if debug:
            traceback.print_exc()
        message = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        print(f"refglm: internal error: {message} (rerun with --debug)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
