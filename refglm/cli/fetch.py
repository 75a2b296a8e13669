"""``refglm fetch``: download (if needed) and verify a dataset."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from refglm.cli import options
from refglm.cli.exit_codes import EXIT_OK
from refglm.cli.progress import stderr_is_terminal
from refglm.exceptions import InputError

EXAMPLES = (
    "examples:\n"
    "  refglm fetch spm-auditory                      # download into refglm's cache\n"
    "  refglm fetch spm-auditory --cache-dir ~/data   # download into ~/data/spm_auditory\n"
    "  refglm fetch spm-auditory --data-dir ~/data/spm_auditory   # verify data there"
)

#: The two folders, as ``refglm fetch --help`` explains them.
LAYOUTS = (
    "The two options name two different folders. --data-dir DIR is the dataset folder "
    "itself, DIR/sub001/fM00223/fM00223_004.img ...: refglm only verifies it (as it does "
    "$REFGLM_DATA_DIR); tutorial, validate and explain-voxel take the same --data-dir. "
    "--cache-dir DIR is a "
    "cache that holds one folder per dataset: the data go into DIR/spm_auditory/sub001/..., "
    "downloaded unless already there, so the other commands then find them with "
    "--data-dir DIR/spm_auditory or with REFGLM_CACHE_DIR=DIR."
)


def add_parser(subparsers):
    p = subparsers.add_parser(
        "fetch",
        help="download (if needed) and verify a dataset",
        description="Verify the SPM auditory data, downloading them first into a cache "
        "folder when they are not there. " + LAYOUTS,
        epilog=EXAMPLES,
        formatter_class=options.Formatter,
    )
    p.add_argument(
        "dataset",
        choices=["spm-auditory"],
        help="the dataset: spm-auditory (the SPM auditory run of the nistats tutorial)",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help="the dataset folder itself (DIR/sub001/fM00223/...): verify the data there; "
        "downloads nothing (default: $REFGLM_DATA_DIR when set)",
    )
    where.add_argument(
        "--cache-dir",
        default=None,
        metavar="DIR",
        help="a cache folder: download into DIR/spm_auditory/sub001/... unless already there, "
        "then verify; $REFGLM_DATA_DIR is ignored (default: $REFGLM_CACHE_DIR, else the user "
        "cache folder)",
    )
    return p


@contextlib.contextmanager
def _environ_without(name: str):
    """Unset the environment variable ``name`` for the body of a ``with`` block."""
    saved = os.environ.pop(name, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[name] = saved


def run(args) -> int:
    """Verify the data in --data-dir (or $REFGLM_DATA_DIR), or download them into a cache.

    ``--data-dir DIR`` and ``$REFGLM_DATA_DIR`` name a folder that must
    already hold the data: fetch verifies it and downloads nothing.
    ``--cache-dir DIR`` downloads into ``DIR/spm_auditory`` when the data are
    not there yet (``$REFGLM_DATA_DIR`` is then ignored); without either, the
    data go into refglm's cache.
    """
    from refglm import datasets

    progressbar = stderr_is_terminal()
    if args.cache_dir is not None:
        with _environ_without(datasets.ENV_DATA_DIR):
            data = datasets.fetch_spm_auditory(cache_dir=args.cache_dir, progressbar=progressbar)
    else:
        env = datasets.ENV_DATA_DIR
        if args.data_dir is not None:
            root, source = Path(args.data_dir).expanduser(), "--data-dir"
        elif os.environ.get(env):
            root, source = Path(os.environ[env]).expanduser(), f"${env}"
        else:
            root = source = None
        try:
            data = datasets.fetch_spm_auditory(args.data_dir, progressbar=progressbar)
        except InputError:
            if root is None or datasets.has_data(root):
                raise
            raise InputError(datasets.fetch_hint(Path(os.path.abspath(root)), source)) from None
    print(f"spm-auditory: {len(data.func)} volumes verified in {data.data_dir}")
    if args.cache_dir is not None:
        # a cache of the user's choosing is not searched by the other commands
        print(
            f"  the other commands read them with --data-dir {data.data_dir} "
            f"(or REFGLM_CACHE_DIR={Path(args.cache_dir).expanduser()})"
        )
    return EXIT_OK
