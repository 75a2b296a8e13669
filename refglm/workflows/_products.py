"""The shared parts of ``write_tutorial`` and ``write_fit``: the run's record, figures, report.

:func:`run_record` is what ``statmap.json`` and the report's methods say about
the run itself: its input files with their content hashes, how its data were
stored and held, and the versions of the libraries that computed the numbers.
:func:`write_figures_and_report` draws the figures and writes ``report.html``.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

from refglm import io
from refglm._version import __version__
from refglm.report import write_products

__all__ = ["write_figures_and_report", "run_record", "library_versions", "VERSIONED_LIBRARIES"]

#: The libraries whose versions a run records (besides refglm's own).
VERSIONED_LIBRARIES = ("numpy", "scipy", "statsmodels", "nibabel")


def library_versions() -> dict:
    """``{'refglm': ..., 'numpy': ..., ...}``: the versions that computed the numbers.

    Read from the installed distributions' metadata (nothing is imported).
    """
    versions = {"refglm": __version__}
    for name in VERSIONED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _is_path(value) -> bool:
    return isinstance(value, str | os.PathLike)


def _companions(path: Path) -> list[Path]:
    """The file and, for an ANALYZE/NIfTI pair, its other half (``.hdr`` with ``.img``)."""
    pair = {".img": ".hdr", ".hdr": ".img"}.get(path.suffix.lower())
    files = [path]
    if pair is not None and path.with_suffix(pair).exists():
        files.append(path.with_suffix(pair))
    return files


def _file_entry(path: Path, role: str) -> dict:
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return {"role": role, "file": path.name, "bytes": path.stat().st_size, "sha256": digest}


def run_record(func, events, convention, mask_img=None) -> dict:
    """What the run was made from: ``input_files``, ``input_data`` and ``versions``.

    - ``input_files``: each input file (the functional images, the ``.hdr`` of
      each ``.img``, the events file, the mask when one was given) by name and
      ``role``, with its size and sha256; an image or events table given in
      memory has ``file`` None and no hash;
    - ``input_data``: ``layout`` (``'3-D volumes'`` or ``'4-D image'``),
      ``n_volumes`` (files or 1), ``stored_dtype`` (as stored on disk, the
      distinct ones joined by ``', '``) and ``held_dtype`` (the dtype the run was
      held in, by the convention's ``input_dtype``: ``refglm.io.run_dtype``);
    - ``versions``: :func:`library_versions`.

    Names, not paths, so that the record does not depend on where the data sit.

    Parameters
    ----------
    func : path, list of paths, or image
    events : path, DataFrame or None
    convention : refglm.conventions.Convention
    mask_img : path, image or None
        The mask given to the model (None: computed from the data).

    Returns
    -------
    dict
    """
    volumes = list(func) if isinstance(func, list | tuple) else [func]
    files = []
    stored = []
    for volume in volumes:
        if _is_path(volume):
            for path in _companions(Path(volume)):
                files.append(_file_entry(path, "func"))
        else:
            files.append({"role": "func", "file": None, "bytes": None, "sha256": None})
        dtype = str(io.stored_dtype(volume))
        if dtype not in stored:
            stored.append(dtype)
    if events is not None:
        if _is_path(events):
            files.append(_file_entry(Path(events), "events"))
        else:
            files.append({"role": "events", "file": None, "bytes": None, "sha256": None})
    if mask_img is not None:
        if _is_path(mask_img):
            files += [_file_entry(path, "mask") for path in _companions(Path(mask_img))]
        else:
            files.append({"role": "mask", "file": None, "bytes": None, "sha256": None})
    layout = "4-D image" if len(volumes) == 1 else "3-D volumes"  # one file is a 4-D run
    return {
        "input_files": files,
        "input_data": {
            "layout": layout,
            "n_volumes": len(volumes),
            "stored_dtype": ", ".join(stored),
            "held_dtype": str(io.run_dtype(func, convention.input_dtype)),
        },
        "versions": library_versions(),
    }


def write_figures_and_report(
    results, summaries, out_dir, written, *, figures: bool, report: bool, **products
) -> list[Path]:
    """Figures and ``report.html`` of a fit, through :func:`refglm.report.write_products`.

    ``results`` gives the model, mean image and parameters, ``written`` the files
    ``write_glm_outputs`` wrote (listed in the report); ``products`` are the
    remaining keywords of ``write_products`` (title, regressors,
    regressors_title, checks). Returns the files written.
    """
    return write_products(
        out_dir,
        model=results.model,
        mean_img=results.mean_img,
        summaries=summaries,
        parameters=results.parameters,
        figures=figures,
        report=report,
        outputs=[p.name for p in written],
        **products,
    )
