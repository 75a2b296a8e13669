"""One run of a BIDS raw dataset: its BOLD image, events and RepetitionTime.

:func:`find_bids_run` picks the ``*_bold.nii[.gz]`` of a task (and subject,
session, run when the dataset has several), the events table that applies
to it and its metadata merged from the JSON sidecars by the BIDS
*inheritance principle* (BIDS 1.9, "The Inheritance Principle"): a metadata
file applies to a data file when it lies in the data file's folder or one
of its parents up to the dataset root, has the same suffix (``bold``) and
its entities are a subset of the data file's; values from deeper folders
override those from higher ones. Two applicable sidecars in one folder are
refused, as the specification forbids them. The events table is the
deepest applicable ``*_events.tsv`` by the same rule.

Only paths and JSON are handled here; images are read by ``refglm.io``. Each
sidecar is read with a stated bound (:mod:`refglm.io.files`): a regular file of
at most 8 MiB, nested at most 64 levels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from refglm._validate import finite_float
from refglm.exceptions import InputError
from refglm.io.files import check_input_file, load_json_bounded

__all__ = ["BidsRun", "parse_entities", "find_bids_run", "applicable_files"]

_BOLD = re.compile(r"^(?P<stem>.+)_bold\.nii(\.gz)?$")
_MAX_LISTED = 6


@dataclass
class BidsRun:
    """The inputs of one run, found in a BIDS raw folder.

    Attributes
    ----------
    func : Path
        The 4-D BOLD image.
    events : Path
        Its events table.
    t_r : float or None
        ``RepetitionTime`` (s) from the merged sidecars.
    entities : dict
        ``{'sub': '01', 'task': 'auditory', ...}`` of the BOLD file.
    metadata : dict
        The merged sidecar metadata.
    sidecars : list of Path
        The JSON files merged, from the root down (later ones win).
    """

    func: Path
    events: Path
    t_r: float | None
    entities: dict
    metadata: dict = field(default_factory=dict)
    sidecars: list = field(default_factory=list)


# No fMRI sequence repeats more slowly than this; a larger RepetitionTime is almost
# certainly in milliseconds (BIDS specifies seconds).
MAX_PLAUSIBLE_T_R = 100.0


def parse_entities(name: str) -> tuple[dict, str, str]:
    """Split a BIDS file name into entities, suffix and extension.

    ``'sub-01_task-auditory_run-1_bold.nii.gz'`` ->
    ``({'sub': '01', 'task': 'auditory', 'run': '1'}, 'bold', '.nii.gz')``.
    A top-level ``task-auditory_bold.json`` gives ``({'task': 'auditory'},
    'bold', '.json')``.
    """
    base = name.split("/")[-1]
    stem, dot, ext = base.partition(".")
    parts = stem.split("_")
    entities = {}
    for part in parts[:-1]:
        key, sep, value = part.partition("-")
        if not sep or not key or not value:
            raise InputError(
                f"{name}: not a BIDS file name (entity {part!r} is not key-value); expected "
                "e.g. sub-01_task-auditory_bold.nii.gz."
            )
        entities[key] = value
    return entities, parts[-1], (dot + ext) if dot else ""


def _same_label(key: str, a: str, b: str) -> bool:
    """Entity labels compare as text, ``run`` (an index) also as an integer."""
    if a == b:
        return True
    if key == "run" and a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return False


def _applies(meta_entities: dict, data_entities: dict) -> bool:
    return all(
        k in data_entities and _same_label(k, v, data_entities[k]) for k, v in meta_entities.items()
    )


def applicable_files(data_file, root, suffix: str, extension: str) -> list[Path]:
    """Metadata files that apply to ``data_file`` by the BIDS inheritance principle.

    Looks in ``data_file``'s folder and its parents up to ``root`` for files
    ``*_<suffix><extension>`` whose entities are a subset of the data
    file's. Returned from the root down (so later files override earlier
    ones).

    Raises
    ------
    InputError
        When two applicable files sit in one folder (BIDS: "there MUST NOT
        be multiple metadata files applicable to a data file at one level").
    """
    data_file = Path(data_file)
    root = Path(root).resolve()
    data_entities, _, _ = parse_entities(data_file.name)
    folders = []
    folder = data_file.parent.resolve()
    while True:
        folders.append(folder)
        if folder == root or folder.parent == folder:
            break
        folder = folder.parent
    found = []
    for folder in reversed(folders):
        level = []
        for path in sorted(folder.glob(f"*_{suffix}{extension}")):
            if _same_path(path, data_file):
                continue
            try:
                entities, sfx, ext = parse_entities(path.name)
            except InputError:
                continue
            if sfx == suffix and ext == extension and _applies(entities, data_entities):
                level.append(path)
        if len(level) > 1:
            raise InputError(
                f"{folder}: {len(level)} {suffix}{extension} files apply to {data_file.name} "
                f"({', '.join(p.name for p in level)}); BIDS allows one per folder. Remove or "
                "rename one."
            )
        found += level
    return found


def _same_path(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` resolve to one path; False when either cannot be resolved
    (a symbolic link loop: Python 3.11's ``resolve`` raises RuntimeError), whose reader
    then names it."""
    try:
        return a.resolve() == b.resolve()
    except (OSError, RuntimeError):
        return False


def _read_json(path: Path) -> dict:
    """A JSON sidecar: a regular file of at most ``MAX_JSON_BYTES``, nested at most
    ``MAX_JSON_DEPTH`` levels (:func:`refglm.io.files.load_json_bounded`)."""
    obj = load_json_bounded(
        path,
        "a JSON sidecar (BIDS metadata)",
        fix="fix the file, or remove it if it is not the run's metadata.",
    )
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a JSON object of metadata, found {type(obj).__name__}.")
    return obj


def _strip(prefix: str, value):
    if value is None:
        return None
    value = str(value)
    return value[len(prefix) + 1 :] if value.startswith(prefix + "-") else value


def _listing(paths, root) -> str:
    names = [str(Path(p).relative_to(root)) for p in paths]
    more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return ", ".join(names[:_MAX_LISTED]) + more


def find_bids_run(
    bids_dir, task: str, subject=None, session=None, run=None, require_t_r: bool = True
) -> BidsRun:
    """Find one run's BOLD image, events and RepetitionTime in a BIDS raw folder.

    Parameters
    ----------
    bids_dir : path
        The dataset root (holding ``sub-*/``).
    task : str
        Task label (``auditory`` or ``task-auditory``).
    subject, session, run : str or None
        Labels (with or without their ``sub-``/``ses-``/``run-`` prefix);
        needed only when the task has several subjects, sessions or runs.
    require_t_r : bool
        False accepts a run whose sidecars lack ``RepetitionTime`` (``t_r`` is
        then None; the caller has it from elsewhere, e.g. ``--t-r``).

    Returns
    -------
    BidsRun

    Raises
    ------
    InputError
        No matching BOLD file, several (listing them and the option that
        chooses), no events table, or no valid ``RepetitionTime``.
    """
    root = Path(bids_dir).expanduser()
    if not root.is_dir():
        raise InputError(f"--bids-dir {root}: folder not found; pass a BIDS raw dataset root.")
    root = root.resolve()
    task = _strip("task", task)
    if not task:
        raise InputError("--task: expected a task label, e.g. --task auditory.")
    wanted = {"task": task, "sub": _strip("sub", subject)}
    wanted["ses"] = _strip("ses", session)
    wanted["run"] = _strip("run", run)
    candidates = []
    for path in sorted(root.glob("sub-*/**/func/*_bold.nii*")):
        if not _BOLD.match(path.name):
            continue
        entities, _, _ = parse_entities(path.name)
        if all(
            value is None or (key in entities and _same_label(key, value, entities[key]))
            for key, value in wanted.items()
        ):
            candidates.append((path, entities))
    if not candidates:
        asked = ", ".join(f"{k}-{v}" for k, v in wanted.items() if v is not None)
        raise InputError(
            f"--bids-dir {root}: no *_bold.nii[.gz] matches {asked} under sub-*/[ses-*/]func/; "
            "check --task (and --subject, --session, --run)."
        )
    if len(candidates) > 1:
        options = []
        for key, flag in (("sub", "--subject"), ("ses", "--session"), ("run", "--run")):
            labels = sorted({e.get(key) for _, e in candidates if e.get(key) is not None})
            if len(labels) > 1:
                options.append(f"{flag} ({', '.join(labels)})")
        hint = f"choose with {' and '.join(options)}" if options else "remove the duplicates"
        raise InputError(
            f"--bids-dir {root}: {len(candidates)} BOLD runs match task-{task} "
            f"({_listing([p for p, _ in candidates], root)}); refglm fit takes one run: {hint}."
        )
    func, entities = candidates[0]
    check_input_file(func, "a BOLD image (NIfTI)", "fix or replace the file in the dataset.")
    sidecars = applicable_files(func, root, "bold", ".json")
    metadata = {}
    for path in sidecars:
        metadata.update(_read_json(path))
    t_r = metadata.get("RepetitionTime")
    where = _listing(sidecars, root) if sidecars else "no sidecar"
    if t_r is None and not require_t_r:
        pass
    elif isinstance(t_r, bool) or not isinstance(t_r, int | float) or finite_float(t_r) is None:
        raise InputError(
            f"{func.name}: expected a RepetitionTime in seconds in its JSON sidecars ({where}), "
            f'found {t_r!r}; add "RepetitionTime": <seconds> to a *_bold.json, or pass --t-r.'
        )
    elif t_r <= 0:
        raise InputError(
            f"{func.name}: RepetitionTime must be > 0 s, found {t_r!r} (from {where})."
        )
    elif t_r > MAX_PLAUSIBLE_T_R:
        raise InputError(
            f"{func.name}: expected RepetitionTime in seconds (BIDS), found {t_r!r} (from "
            f"{where}), more than {MAX_PLAUSIBLE_T_R:g} s: milliseconds? Write it in seconds "
            f"(e.g. {t_r / 1000:g}), or pass --t-r."
        )
    events = applicable_files(func, root, "events", ".tsv")
    if not events:
        raise InputError(
            f"{func.name}: no events table applies to it; expected "
            f"{func.name.split('_bold')[0]}_events.tsv beside it (or an inherited "
            "task-<label>_events.tsv)."
        )
    return BidsRun(
        func=func,
        events=events[-1],
        t_r=None if t_r is None else float(t_r),
        entities=entities,
        metadata=metadata,
        sidecars=sidecars,
    )
