"""Reading and writing images: the only module of refglm that imports nibabel.

Everything numerical downstream takes plain arrays and affines; this module
turns files (or nibabel images) into those arrays, and back.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from refglm.exceptions import InputError

__all__ = [
    "read_volume",
    "load_run",
    "to_image",
    "image_data",
    "save_image",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_events",
    "staged_output_dir",
    "write_nifti_pair",
]


def _describe(img) -> str:
    return str(img) if isinstance(img, str | os.PathLike) else type(img).__name__


def _load(img):
    if isinstance(img, str | os.PathLike):
        path = Path(img)
        if not path.exists():
            raise InputError(
                f"{path}: file not found; expected an image (NIfTI/Analyze). "
                "Check the path, or fetch the data with `refglm fetch spm-auditory`."
            )
        try:
            loaded = nib.load(str(path), mmap=False)
            # Touch the header shape so that non-images fail here, not later.
            _ = loaded.shape
        except Exception as exc:  # nibabel raises several unrelated types
            raise InputError(
                f"{path}: not a readable image ({exc.__class__.__name__}: {exc}); "
                "expected a NIfTI-1/2 or Analyze file. Re-download or regenerate it."
            ) from exc
        return loaded
    if hasattr(img, "get_fdata") and hasattr(img, "affine"):
        return img
    raise InputError(
        f"image input: expected a path or a nibabel image, found {type(img).__name__}; "
        "pass a filename or nibabel.load(filename)."
    )


def read_volume(img) -> tuple[np.ndarray, np.ndarray]:
    """Read one image as float64 data and its affine, with mmap off.

    A ``(x, y, z, 1)`` volume is squeezed to 3-D, as the nistats fetcher
    wrote the SPM auditory data.

    Returns
    -------
    data : ndarray, float64, 3-D or 4-D
    affine : ndarray, shape (4, 4)
    """
    loaded = _load(img)
    try:
        data = np.asarray(loaded.dataobj, dtype=np.float64)
    except Exception as exc:
        raise InputError(
            f"{_describe(img)}: image data could not be read ({exc.__class__.__name__}: "
            f"{exc}); the file is probably truncated. Re-download or regenerate it."
        ) from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    return data, np.asarray(loaded.affine, dtype=np.float64)


def load_run(run_imgs, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the volumes of one run into a 4-D array of ``dtype``.

    Mirrors ``nilearn.image.concat_imgs(..., dtype=np.float32)`` as the
    nistats tutorial called it: each volume is read as float64 and cast to
    ``dtype`` as it is placed into the 4-D array. The cast is where the
    tutorial's numbers come from (see ``conventions.py``, ``input_dtype``).

    Parameters
    ----------
    run_imgs : path, nibabel image, or sequence of 3-D paths/images
        Either one 4-D image or a list of 3-D volumes of equal shape and
        affine.
    dtype : numpy dtype
        Storage dtype of the 4-D array.

    Returns
    -------
    data : ndarray, shape (x, y, z, n_scans)
    affine : ndarray, shape (4, 4)
    """
    if isinstance(run_imgs, str | os.PathLike) or hasattr(run_imgs, "affine"):
        run_imgs = [run_imgs]
    if not isinstance(run_imgs, Sequence) or len(run_imgs) == 0:
        raise InputError(
            "run_imgs: expected a 4-D image or a non-empty list of 3-D volumes, "
            f"found {run_imgs!r}; pass the functional files of one run."
        )
    first, affine = read_volume(run_imgs[0])
    if len(run_imgs) == 1:
        if first.ndim != 4:
            raise InputError(
                f"{_describe(run_imgs[0])}: expected a 4-D run or several 3-D volumes, "
                f"found a single volume of shape {first.shape}; pass every scan of the run."
            )
        return first.astype(dtype), affine
    if first.ndim != 3:
        raise InputError(
            f"{_describe(run_imgs[0])}: expected 3-D volumes when several files are given, "
            f"found shape {first.shape}; pass either one 4-D file or a list of 3-D files."
        )
    data = np.empty(first.shape + (len(run_imgs),), dtype=dtype)
    data[..., 0] = first
    for k, img in enumerate(run_imgs[1:], start=1):
        vol, aff = read_volume(img)
        if vol.shape != first.shape:
            raise InputError(
                f"{_describe(img)}: expected a 3-D volume of shape {first.shape} like "
                f"{_describe(run_imgs[0])}, found shape {vol.shape}; all volumes of a run "
                "must share one grid."
            )
        if not np.allclose(aff, affine, rtol=0, atol=1e-6):
            raise InputError(
                f"{_describe(img)}: affine differs from {_describe(run_imgs[0])}'s; "
                "all volumes of a run must share one grid. Resample them first."
            )
        data[..., k] = vol
    return data, affine


def to_image(data: np.ndarray, affine: np.ndarray, header_descrip: str | None = None):
    """Wrap an array and affine in a ``nibabel.Nifti1Image``."""
    img = nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=np.float64))
    if header_descrip is not None:
        img.header["descrip"] = header_descrip[:79].encode("ascii", "replace")
    return img


def image_data(img) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(data, affine)`` of a path or nibabel image, data as float64."""
    loaded = _load(img)
    return np.asarray(loaded.dataobj, dtype=np.float64), np.asarray(loaded.affine)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_nifti_pair(data: np.ndarray, affine: np.ndarray, img_path) -> None:
    """Write ``data`` as a NIfTI-1 pair (``.hdr`` + ``.img``), as the nistats fetcher did."""
    nib.save(nib.Nifti1Pair(np.asarray(data), np.asarray(affine)), str(img_path))


def atomic_write_bytes(path, payload: bytes) -> Path:
    """Write ``payload`` to a temporary file beside ``path``, then rename it.

    ``os.replace`` is atomic on POSIX within one filesystem, so a reader sees
    either the old file or the new one, never half of it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path, text: str) -> Path:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def save_image(img_or_data, path, affine=None) -> Path:
    """Save a NIfTI image atomically; ``.nii.gz`` is written with a fixed mtime.

    gzip stores a timestamp; nibabel's ``to_bytes`` followed by our own gzip
    call with ``mtime=0`` makes repeated runs byte-identical.
    """
    import gzip

    img = img_or_data if affine is None else to_image(img_or_data, affine)
    raw = img.to_bytes()
    path = Path(path)
    if path.name.endswith(".gz"):
        raw = gzip.compress(raw, compresslevel=6, mtime=0)
    return atomic_write_bytes(path, raw)


def read_events(path) -> pd.DataFrame:
    """Read a BIDS events TSV into a DataFrame (validation is ``design.check_events``).

    Raises InputError naming the file when it is missing, empty, or not a
    tab-separated table.
    """

    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: events file not found; expected a BIDS events.tsv with onset and "
            "duration columns. Check the path."
        )
    try:
        events = pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{path}: events file is empty; expected a header 'onset<TAB>duration"
            "<TAB>trial_type' and one row per event."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{path}: not a tab-separated events table ({exc}); write it as BIDS events.tsv."
        ) from None
    if events.empty:
        raise InputError(
            f"{path}: events file has a header but no rows; expected one row per event."
        )
    if len(events.columns) == 1 and "," in str(events.columns[0]):
        raise InputError(
            f"{path}: expected tab-separated columns, found commas; BIDS events files use tabs."
        )
    return events


@contextlib.contextmanager
def staged_output_dir(out_dir):
    """Stage a run's outputs in a hidden sibling folder; move them in on success.

    A run that fails or is interrupted leaves ``out_dir`` exactly as it was:
    nothing is moved unless the block finishes, and each move is an atomic
    ``os.replace`` within one filesystem.

    Raises InputError when ``out_dir`` is an existing file or cannot be
    written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"--out {out}: expected a folder, found an existing file; choose another path."
        )
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".staging", dir=parent))
    except OSError as exc:
        raise InputError(
            f"--out {out}: cannot write there ({exc.strerror}); choose a writable folder."
        ) from None
    try:
        yield stage
        out.mkdir(exist_ok=True)
        if not os.access(out, os.W_OK):
            raise InputError(f"--out {out}: folder is not writable; choose a writable folder.")
        for src in sorted(stage.rglob("*")):
            dest = out / src.relative_to(stage)
            if src.is_dir():
                dest.mkdir(exist_ok=True)
            else:
                os.replace(src, dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
