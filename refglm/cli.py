"""The ``refglm`` command line.

Exit codes: 0 ok, 1 internal error (or a golden check beyond tolerance),
2 bad input (one line on stderr; ``--debug`` adds the traceback).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import traceback
from pathlib import Path

from refglm.exceptions import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2

_EXAMPLES = {
    "tutorial": "example: refglm tutorial --out results --data-dir ../shared/data/spm_auditory",
    "validate": "example: refglm validate --data-dir ../shared/data/spm_auditory --n-jobs 2",
    "fetch": "example: refglm fetch spm-auditory --data-dir ~/data/spm_auditory",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as InputError (exit 2, one line)."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message}")


def _progress_factory():
    """A tqdm bar that switches itself off when stderr is not a terminal."""
    from tqdm import tqdm

    bars = {}

    def make(total, desc):
        bar = tqdm(total=total, desc=desc, unit="vox", disable=not sys.stderr.isatty())
        bars[desc] = bar
        return bar.update

    return make, bars


def _add_common(p, *, data_dir=True):
    if data_dir:
        p.add_argument(
            "--data-dir",
            default=None,
            help="SPM auditory folder (default: $REFGLM_DATA_DIR, then the refglm cache, "
            "then download)",
        )
    p.add_argument("--engine", default="statsmodels", help="fit engine (default: statsmodels)")
    p.add_argument("--convention", default="nistats", help="named convention (default: nistats)")
    p.add_argument("--n-jobs", type=int, default=1, help="joblib workers (default: 1)")


def _get_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="refglm",
        description="refglm: a correctness reference for first-level fMRI GLMs.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "tutorial",
        help="run the nistats SPM auditory tutorial and write its results",
        epilog=_EXAMPLES["tutorial"],
    )
    p.add_argument("--out", default="results", help="output folder (default: results)")
    _add_common(p)

    p = sub.add_parser(
        "validate",
        help="rerun the tutorial and compare every number with its golden value",
        epilog=_EXAMPLES["validate"],
    )
    _add_common(p)

    p = sub.add_parser(
        "fetch", help="download (if needed) and verify a dataset", epilog=_EXAMPLES["fetch"]
    )
    p.add_argument("dataset", choices=["spm-auditory"])
    p.add_argument("--data-dir", default=None, help="where the data are or should go")
    return parser


def _cmd_tutorial(args) -> int:
    from refglm import io
    from refglm.pipeline import run_tutorial, write_tutorial

    make_bar, bars = _progress_factory()
    update = make_bar(None, "fit")
    with io.staged_output_dir(args.out) as stage:
        results = run_tutorial(
            data_dir=args.data_dir,
            n_jobs=args.n_jobs,
            engine=args.engine,
            convention=args.convention,
            progress=update,
        )
        for bar in bars.values():
            bar.close()
        written = write_tutorial(results, stage)
    print(f"refglm tutorial: fit {results.timings['fit']:.1f} s; wrote {len(written)} files")
    print(f"  mask: {results.mask_voxels} voxels")
    for name in ("fpr", "bonferroni", "fdr"):
        print(f"  threshold {name}: {results.thresholds[name]:.3f}")
    print(f"  cluster table: {len(results.clusters)} rows -> {args.out}/")
    return EXIT_OK


def _validation_script() -> Path:
    path = Path(__file__).resolve().parents[1] / "validation" / "spm_auditory_tutorial.py"
    if not path.is_file():
        raise InputError(
            f"{path}: validation script not found; `refglm validate` needs refglm's source "
            "tree (install with `pip install -e .` from a clone)."
        )
    return path


def _cmd_validate(args) -> int:
    path = _validation_script()
    spec = importlib.util.spec_from_file_location("refglm_validation_spm_auditory", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["--n-jobs", str(args.n_jobs), "--engine", args.engine]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    return module.main(argv)


def _cmd_fetch(args) -> int:
    from refglm.datasets import fetch_spm_auditory

    data = fetch_spm_auditory(args.data_dir, progressbar=sys.stderr.isatty())
    print(f"spm-auditory: {len(data.func)} volumes verified in {data.data_dir}")
    return EXIT_OK


_COMMANDS = {"tutorial": _cmd_tutorial, "validate": _cmd_validate, "fetch": _cmd_fetch}


def main(argv=None) -> int:
    """Run the CLI; return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = _get_parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except InputError as exc:
        if debug:
            traceback.print_exc()
        message = " ".join(str(exc).split())
        print(f"refglm: error: {message}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("refglm: interrupted; the output folder was left as it was", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into an exit code
        if debug:
            traceback.print_exc()
        print(
            f"refglm: internal error: {exc.__class__.__name__}: {exc} (rerun with --debug)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
