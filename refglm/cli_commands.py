"""The ``refglm`` subcommands: one ``_cmd_<name>(args) -> exit code`` per command.

Each handler takes the parsed arguments (see :mod:`refglm._cli_args`), runs
the command, prints its summary and returns an exit code; :func:`refglm.cli.main`
turns exceptions into exit codes. Every command that writes ``--out`` stages
its files (``refglm.io.staged_output_dir``).

The fitting commands draw their progress on stderr when it is a terminal
(:class:`refglm.cli._Bars`): a step line while the run is loaded and masked,
one bar per pass over the voxels, with the voxel count as its total ("OLS
pass", then "AR(1) fit"), and step lines for what follows.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

from refglm._cli_args import _fit_inputs
from refglm.cli import EXIT_INTERNAL, EXIT_OK, _Bars, _FitProgress, _stderr_is_terminal
from refglm.exceptions import InputError

# --------------------------------------------------------------------------- progress


def _fit_passes(convention, noise_model: str = "ar1") -> list[str]:
    """The passes over the voxels that the fit reports, in order (both engines).

    ``refglm.fit.run_glm`` and ``refglm.fit_vectorized.run_glm_vectorized``
    call ``progress(n)`` for the n voxels of each chunk of an OLS pass, then
    of the AR(1) fit; there is one pass for ``noise_model='ols'``, and one
    for a convention whose ``ar_fit`` is ``'iterative'`` (GLSAR.iterative_fit).
    """
    from refglm.conventions import get_convention

    if noise_model == "ols":
        return ["OLS fit"]
    if get_convention(convention).ar_fit == "iterative":
        return ["AR(1) iterative fit"]
    return ["OLS pass", "AR(1) fit"]


def _fit_progress(bars, args, noise_model, load):
    """A :class:`refglm.cli._FitProgress` when bars are drawn, else None."""
    if not bars.enabled:
        return None
    passes = _fit_passes(args.convention, noise_model)
    if args.engine == "vectorized" and passes == ["AR(1) iterative fit"]:
        # the vectorized rho iterations report only their last pass
        passes = ["AR(1) iterative fit; rho iterations first"]
    return _FitProgress(bars, passes, load, after="contrasts, thresholds, clusters")


def _finish(progress):
    if progress is not None:
        progress.finish()


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


def _run_tutorial(args, bars, backend=None):
    """``run_tutorial`` with the command's options, drawing its progress on ``bars``."""
    from refglm.pipeline import run_tutorial

    progress = _fit_progress(
        bars,
        args,
        "ar1",
        load="fetch, load and mask the SPM auditory run",
    )
    results = run_tutorial(
        data_dir=args.data_dir,
        n_jobs=args.n_jobs,
        engine=args.engine,
        convention=args.convention,
        progress=progress,
        backend=backend,
    )
    _finish(progress)
    return results


def _cmd_tutorial(args) -> int:
    from refglm import io
    from refglm.pipeline import write_tutorial

    with (
        _Bars() as bars,
        io.staged_output_dir(args.out) as stage,
        _dask_backend(args) as backend,
    ):
        results = _run_tutorial(args, bars, backend)
        with bars.stepping("maps, figures and report"):
            written = write_tutorial(results, stage, figures=True, report=True)
    print(f"refglm tutorial: fit {results.timings['fit']:.1f} s; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels")
    for name in ("fpr", "bonferroni", "fdr"):
        print(f"  threshold {name}: {results.thresholds[name]:.3f}")
    print(f"  cluster table: {len(results.clusters)} rows -> {args.out}/")
    print(f"  report: {args.out}/report.html")
    return EXIT_OK


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
    with (
        _Bars() as bars,
        io.staged_output_dir(args.out) as stage,
        _dask_backend(args) as backend,
    ):
        progress = _fit_progress(
            bars,
            args,
            args.noise_model,
            load="load and mask the run",
        )
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
            progress=progress,
            backend=backend,
        )
        _finish(progress)
        report = not args.no_report
        with bars.stepping("maps, figures and report" if report else "maps"):
            written = write_fit(results, stage, figures=report, report=report)
    print(f"refglm fit: {what}; fit {results.timings['fit']:.1f} s; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels; design: {results.design.shape[1]} columns")
    for s in results.summaries:
        m = s.maps[0]
        rows = 0 if s.table is None else len(s.table)
        print(f"  contrast-{s.name} ({s.stat_type}): threshold {m.threshold:.3f}, {rows} rows")
    print(f"  -> {args.out}/")
    return EXIT_OK


def _cmd_validate(args) -> int:
    """Rerun the tutorial with the command's options and print the golden checks.

    The checks and their table are the validation script's
    (``validation/spm_auditory_tutorial.py``: ``checks_for``,
    ``format_checks``); the run is made here so that ``--convention`` and the
    progress bars reach it. The golden values are the nistats tutorial's:
    under another convention the table shows how far that convention lands.
    """
    from refglm.conventions import DEFAULT_CONVENTION
    from refglm.report import load_validation_module

    module = load_validation_module()
    with _Bars() as bars:
        results = _run_tutorial(args, bars)
    if args.convention != DEFAULT_CONVENTION:
        print(
            f"convention {args.convention}: compared with the golden values of the nistats "
            f"tutorial (convention {DEFAULT_CONVENTION})"
        )
    checks = module.checks_for(results)
    print(module.format_checks(checks))
    print(
        f"fit time: {results.timings['fit']:.1f} s (engine {args.engine}, n_jobs {args.n_jobs}, "
        f"convention {args.convention})"
    )
    return EXIT_OK if all(c.ok for c in checks) else EXIT_INTERNAL


# ---------------------------------------------------------------------------- fetch


@contextlib.contextmanager
def _environ_without(name: str):
    """Unset the environment variable ``name`` for the body of a ``with`` block."""
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


def _fetch_hint(root: Path, source: str) -> str:
    """Why ``root`` holds no data to verify, and the commands that download them."""
    from refglm._data_layout import (
        DATASET_NAME,
        ENV_DATA_DIR,
        FUNC_STEMS,
        _abbreviate,
        _missing_files,
        _required_files,
    )
    from refglm.datasets import _cache_root

    if not root.exists():
        found = "it does not exist"
    elif not root.is_dir():
        found = "it is not a folder"
    elif not any(root.iterdir()):
        found = "it is empty"
    else:
        missing = _missing_files(root)
        found = f"{len(missing)} of {len(_required_files())} files are missing"
        found += f" ({_abbreviate(missing, 2)})"
    head = (
        f"{source} {root}: expected the SPM auditory data (sub001/fM00223/...), but {found}; "
        f"{source} only verifies data already there."
    )
    if (root / "fM00223").is_dir() or (root / f"{FUNC_STEMS[0]}.img").is_file():
        return f"{head} This looks like the sub001 or fM00223 folder: give the one above sub001/."
    # --cache-dir D downloads into D/spm_auditory: name the folder the user meant
    into = root.parent if root.name == DATASET_NAME else root
    to_cache = "refglm fetch spm-auditory"
    if os.environ.get(ENV_DATA_DIR):  # fetch would verify that folder instead
        to_cache = f"env -u {ENV_DATA_DIR} {to_cache}"
    return (
        f"{head} To download them, run `refglm fetch spm-auditory --cache-dir {into}` (into "
        f"{into / DATASET_NAME}) or `{to_cache}` (into {_cache_root(None) / DATASET_NAME})."
    )


def _cmd_fetch(args) -> int:
    """Verify the data in --data-dir (or $REFGLM_DATA_DIR), or download them into a cache.

    ``--data-dir DIR`` and ``$REFGLM_DATA_DIR`` name a folder that must
    already hold the data: fetch verifies it and downloads nothing.
    ``--cache-dir DIR`` downloads into ``DIR/spm_auditory`` when the data are
    not there yet (``$REFGLM_DATA_DIR`` is then ignored); without either, the
    data go into refglm's cache.
    """
    from refglm import datasets
    from refglm._data_layout import ENV_DATA_DIR, _has_data

    progressbar = _stderr_is_terminal()
    if args.cache_dir is not None:
        with _environ_without(ENV_DATA_DIR):
            data = datasets.fetch_spm_auditory(cache_dir=args.cache_dir, progressbar=progressbar)
    else:
        if args.data_dir is not None:
            root, source = Path(args.data_dir).expanduser(), "--data-dir"
        elif os.environ.get(ENV_DATA_DIR):
            root, source = Path(os.environ[ENV_DATA_DIR]).expanduser(), f"${ENV_DATA_DIR}"
        else:
            root = source = None
        try:
            data = datasets.fetch_spm_auditory(args.data_dir, progressbar=progressbar)
        except InputError:
            if root is None or _has_data(root):
                raise
            raise InputError(_fetch_hint(Path(os.path.abspath(root)), source)) from None
    print(f"spm-auditory: {len(data.func)} volumes verified in {data.data_dir}")
    return EXIT_OK


# -------------------------------------------------------------------- explain-voxel


def _cmd_explain_voxel(args) -> int:
    import json

    from refglm.pipeline import explain_voxel

    trace, info = explain_voxel(
        mm=args.mm, ijk=args.ijk, data_dir=args.data_dir, convention=args.convention
    )
    i, j, k = info["ijk"]
    x, y, z = info["xyz"]
    stem = f"voxel-{i}-{j}-{k}"
    if args.out:
        # written before anything is printed: a reader that closes stdout early
        # (`| head -1`) stops the printout, not the files
        from refglm import io, plotting

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


COMMANDS = {
    "tutorial": _cmd_tutorial,
    "fit": _cmd_fit,
    "validate": _cmd_validate,
    "fetch": _cmd_fetch,
    "explain-voxel": _cmd_explain_voxel,
    "compare": lambda args: importlib.import_module("refglm.compare").run(args),
}
