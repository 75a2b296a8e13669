"""The ``refglm`` command line's argument parser: subcommands, options, value parsers.

Used by :mod:`refglm.cli` (:func:`_get_parser`) and :mod:`refglm.cli_commands`
(:func:`_fit_inputs`, the run named by ``refglm fit``'s arguments). Options
with a fixed set of values list them in ``--help`` and refuse any other with
exit code 2 and one line.
"""

from __future__ import annotations

import argparse
import importlib

from refglm.conventions import CONVENTIONS, DEFAULT_CONVENTION
from refglm.drifts import DRIFT_MODELS
from refglm.exceptions import InputError
from refglm.hrf import HRF_MODELS
from refglm.model import ENGINES

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
    "fetch": (
        "examples:\n"
        "  refglm fetch spm-auditory                      # download into refglm's cache\n"
        "  refglm fetch spm-auditory --cache-dir ~/data   # download into ~/data/spm_auditory\n"
        "  refglm fetch spm-auditory --data-dir ~/data/spm_auditory   # verify data there"
    ),
    "explain-voxel": (
        "example: refglm explain-voxel --mm -60 -6 42 --out results/voxel "
        "--data-dir ../shared/data/spm_auditory"
    ),
}


class _Formatter(argparse.HelpFormatter):
    """Wrap descriptions to the terminal; print examples (and the epilog) as written."""

    def _fill_text(self, text, width, indent):
        if text.startswith("example") or "\n" in text:  # one runnable command a line
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as InputError (exit 2, one line)."""

    def error(self, message):
        raise InputError(f"{self.prog}: {message}")


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


def _add_common(p, *, data_dir=True, scheduler=True):
    if data_dir:
        p.add_argument(
            "--data-dir",
            default=None,
            metavar="DIR",
            help="SPM auditory folder (default: $REFGLM_DATA_DIR, then the refglm cache, "
            "then download)",
        )
    p.add_argument(
        "--engine",
        default="statsmodels",
        type=_choice(ENGINES, "FirstLevelModel engine"),
        metavar=_braced(ENGINES),
        help="fit engine (default: statsmodels, the per-voxel reference)",
    )
    _add_convention(p)
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


def _add_debug(p):
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )


def _none_or(text):
    return None if str(text).lower() == "none" else text


def _names(values) -> str:
    """``values`` as --help lists them: ``'spm', 'glover', none``."""
    return ", ".join("none" if v is None else repr(v) for v in values)


def _choice(values, field: str):
    """An argparse ``type`` for one of ``values``: case-insensitive, ``none`` for None.

    A bad value is refused as ``argument --flag: expected one of ..., found
    'x' (<field>)``, ``field`` naming the parameter the value is passed to.
    """

    def parse(text):
        key = str(text).strip().lower()
        for value in values:
            if key == ("none" if value is None else value):
                return value
        raise argparse.ArgumentTypeError(
            f"expected one of {_names(values)}, found {text!r} ({field})"
        )

    parse.__name__ = "choice"
    return parse


def _braced(values) -> str:
    """The metavar that lists ``values`` in the usage line: ``{a,b}``."""
    return "{" + ",".join(values) + "}"


def _add_convention(p):
    p.add_argument(
        "--convention",
        default=DEFAULT_CONVENTION,
        type=_choice(tuple(CONVENTIONS), "refglm.conventions.CONVENTIONS"),
        metavar=_braced(CONVENTIONS),
        help=f"named convention (default: {DEFAULT_CONVENTION})",
    )


def _get_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="refglm",
        description="refglm: a correctness reference for first-level fMRI GLMs.",
        epilog="examples:\n"
        + "\n".join(
            "  " + line.split("  #")[0].strip().removeprefix("example: ")
            for text in _EXAMPLES.values()
            for line in text.splitlines()
            if line.strip() and line.strip() != "examples:"
        )
        + "\n\nexit codes: 0 ok, 1 internal error (or a failed golden check), 2 bad input, "
        "130 Ctrl-C, 141 stdout closed by its reader (| head), 143 SIGTERM",
        formatter_class=_Formatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser(
        "tutorial",
        help="run the nistats SPM auditory tutorial and write its results",
        description="Run the whole nistats SPM auditory tutorial; write its maps, tables, "
        "figures and report.html into --out (left as it was if the run fails).",
        epilog=_EXAMPLES["tutorial"],
        formatter_class=_Formatter,
    )
    p.add_argument("--out", default="results", help="output folder (default: results)")
    _add_common(p)

    p = sub.add_parser(
        "fit",
        help="fit one run and write BIDS-derivative maps, tables, figures and a report",
        description="Fit a first-level GLM to one run (3-D volumes or one 4-D image, or a "
        "BIDS raw folder) and write nilearn/fitlins-named derivatives into --out.",
        epilog=_EXAMPLES["fit"],
        formatter_class=_Formatter,
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
    mdl.add_argument(
        "--hrf-model",
        default="glover",
        type=_choice(HRF_MODELS, "FirstLevelModel hrf_model"),
        metavar="MODEL",
        help=f"one of {_names(HRF_MODELS)} (default: 'glover')",
    )
    mdl.add_argument(
        "--drift-model",
        default="cosine",
        type=_choice(DRIFT_MODELS, "FirstLevelModel drift_model"),
        metavar="MODEL",
        help=f"one of {_names(DRIFT_MODELS)} (default: 'cosine')",
    )
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
        description="Rerun the tutorial and print every golden comparison (value, golden, "
        "delta, tolerance); exit 1 when any is beyond its tolerance. The golden values are "
        "the nistats tutorial's: under another --convention the table shows how far that "
        "convention lands from them.",
        epilog=_EXAMPLES["validate"],
        formatter_class=_Formatter,
    )
    _add_common(p, scheduler=False)

    p = sub.add_parser(
        "fetch",
        help="download (if needed) and verify a dataset",
        description="Verify the SPM auditory data, downloading them first into a cache "
        "folder when they are not there. --data-dir (like $REFGLM_DATA_DIR) names a folder "
        "that already holds the data: it is verified, nothing is downloaded.",
        epilog=_EXAMPLES["fetch"],
        formatter_class=_Formatter,
    )
    p.add_argument("dataset", choices=["spm-auditory"])
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="verify the data already in DIR (the folder holding sub001/); downloads nothing",
    )
    where.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="download into DIR/spm_auditory unless already there, then verify (default "
        "cache: $REFGLM_CACHE_DIR, else the user cache folder; $REFGLM_DATA_DIR is ignored)",
    )

    p = sub.add_parser(
        "explain-voxel",
        help="trace one voxel of the tutorial model, each number with its formula",
        description="Refit one voxel of the tutorial model with statsmodels, step by step, "
        "and print every intermediate number with its formula; write a figure to --out.",
        epilog=_EXAMPLES["explain-voxel"],
        formatter_class=_Formatter,
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
    _add_convention(p)
    importlib.import_module("refglm.compare").add_parser(sub)
    for p in sub.choices.values():
        _add_debug(p)
    return parser


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
