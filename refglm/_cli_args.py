"""The ``refglm`` command line's argument parser: subcommands, options, number parsers.

Used by :mod:`refglm.cli`, which re-exports :func:`_get_parser`.
"""

from __future__ import annotations

import argparse
import importlib

from refglm.exceptions import InputError

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
