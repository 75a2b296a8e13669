"""What the SPM auditory (MoAEpilot) data set holds, and where its files lie.

The names, folder layout, repetition time and events table of the data set
as the nistats fetcher left them::

    <data_dir>/sub001/fM00223/fM00223_004.hdr, fM00223_004.img, ...
    <data_dir>/sub001/fM00223/fM00223_events.tsv

and the check that a folder holds every one of those files. Verification
against the manifest is in :mod:`refglm.datasets.verify`, unpacking the archive in
:mod:`refglm.datasets.archive`, locating and downloading in :mod:`refglm.datasets`.
"""

from __future__ import annotations

import os
from pathlib import Path

from refglm.exceptions import InputError

#: Where the legacy SPM99 MoAEpilot archive is downloaded from. Override with
#: the ``url=`` keyword or the ``REFGLM_SPM_AUDITORY_URL`` environment variable.
SPM_AUDITORY_URL = "https://www.fil.ion.ucl.ac.uk/spm/download/data/MoAEpilot/MoAEpilot.zip"

ENV_DATA_DIR = "REFGLM_DATA_DIR"
ENV_CACHE_DIR = "REFGLM_CACHE_DIR"
ENV_URL = "REFGLM_SPM_AUDITORY_URL"

#: Repetition time of the SPM auditory data, in seconds.
T_R = 7.0

DATASET_NAME = "spm_auditory"
FUNC_SUBDIR = "sub001/fM00223"
FUNC_STEMS = tuple(f"fM00223_{index:03d}" for index in range(4, 100))
EVENTS_NAME = "fM00223_events.tsv"
ARCHIVE_NAME = "MoAEpilot.zip"

_LOCATE_HINT = (
    f"Set {ENV_DATA_DIR} to a folder holding sub001/fM00223/fM00223_004..099.{{hdr,img}} "
    f"and sub001/fM00223/fM00223_events.tsv, or download them with `refglm fetch "
    f"spm-auditory --cache-dir DIR` (plain `refglm fetch spm-auditory`, with {ENV_DATA_DIR} "
    "unset, downloads into the refglm cache)."
)


def spm_auditory_events_text() -> str:
    """Return the events table of the SPM auditory data, as the nistats fetcher wrote it.

    Returns
    -------
    str
        Tab-separated ``onset``, ``duration``, ``trial_type``; 16 blocks of
        42 s alternating ``rest``/``active`` from 0.0 s, ``\\n`` line endings.
    """
    epoch = 6 * T_R
    lines = ["onset\tduration\ttrial_type"]
    for block in range(16):
        kind = "rest" if block % 2 == 0 else "active"
        lines.append(f"{block * epoch!r}\t{epoch!r}\t{kind}")
    return "\n".join(lines) + "\n"


def required_files() -> list[str]:
    files = [f"{FUNC_SUBDIR}/{stem}.{ext}" for stem in FUNC_STEMS for ext in ("hdr", "img")]
    files.append(f"{FUNC_SUBDIR}/{EVENTS_NAME}")
    return files


def missing_files(root: Path) -> list[str]:
    return [rel for rel in required_files() if not (root / rel).is_file()]


def has_data(root: Path) -> bool:
    return root.is_dir() and not missing_files(root)


def abbreviate(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")


def _describe(root: Path) -> str:
    """``root`` as given, plus where it points when it is relative.

    A relative ``$REFGLM_DATA_DIR`` is read against the working directory of
    the process that reads it, which is easy to get wrong from a Makefile or a
    subprocess; the message says which folder was actually looked at.
    """
    if root.is_absolute():
        return str(root)
    return f"{root} (relative to the working directory {Path.cwd()}: {os.path.abspath(root)})"


def require_data(root: Path, source: str) -> None:
    """Raise InputError unless ``root`` holds every required file."""
    if not root.is_dir():
        from refglm.io import why_not_found

        why = why_not_found(root)
        if why is None:
            found = "it is not a directory"
        elif why.startswith("no such file"):
            found = "it does not exist"
        else:
            found = f"it is {why}"
        raise InputError(
            f"{source} {_describe(root)}: expected a folder holding the SPM auditory data, but "
            f"{found}. {_LOCATE_HINT}"
        )
    missing = missing_files(root)
    if not missing:
        return
    hint = ""
    if (root / "fM00223").is_dir() or (root / f"{FUNC_STEMS[0]}.img").is_file():
        hint = (
            " (It looks like you gave the sub001 or fM00223 folder itself; give the "
            "folder that contains sub001/.)"
        )
    raise InputError(
        f"{source} {_describe(root)}: expected sub001/fM00223/fM00223_004..099.{{hdr,img}} and "
        f"sub001/fM00223/{EVENTS_NAME}, but {len(missing)} of {len(required_files())} "
        f"files are missing: {abbreviate(missing)}.{hint} {_LOCATE_HINT}"
    )
