"""The ``refglm`` subcommands: one ``_cmd_<name>(args) -> exit code`` per command.

Each handler takes the parsed arguments (see :mod:`refglm._cli_args`), runs
the command, prints its summary and returns an exit code; :func:`refglm.cli.main`
turns exceptions into exit codes. Every command that writes ``--out`` stages
its files (``refglm.io.staged_output_dir``).
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import sys

from refglm.exceptions import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 128 + signal.SIGINT, 128 + signal.SIGTERM


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


COMMANDS = {
    "tutorial": _cmd_tutorial,
    "fit": _cmd_fit,
    "validate": _cmd_validate,
    "fetch": _cmd_fetch,
    "explain-voxel": _cmd_explain_voxel,
    "compare": lambda args: importlib.import_module("refglm.compare").run(args),
}
