"""Reading and writing images: the only module of refglm that imports nibabel.

Everything numerical downstream takes plain arrays and affines; this module
turns files (or nibabel images) into those arrays, and back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import nibabel as nib
import numpy as np

from refglm.exceptions import InputError
from refglm.io.atomic import atomic_write_bytes
from refglm.io.files import check_input_file
from refglm.io.memory import memory_budget

__all__ = [
    "read_volume",
    "load_run",
    "LoadedRun",
    "MEAN_DTYPES",
    "run_shape",
    "stored_dtype",
    "to_image",
    "image_data",
    "save_image",
    "write_nifti_pair",
]


def _describe(img) -> str:
    return str(img) if isinstance(img, str | os.PathLike) else type(img).__name__


def _check_affine(img, shown: str) -> None:
    """Raise InputError unless the image's affine is finite and invertible.

    nibabel raises HeaderDataError (or returns NaN) for a header whose sform
    holds NaN, and a singular affine has no voxel <-> mm mapping; both would
    fail later, far from the file.
    """
    try:
        affine = np.asarray(img.affine, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - nibabel's HeaderDataError and relatives
        raise InputError(
            f"{shown}: expected a header with a valid voxel-to-mm affine, found one nibabel "
            f"cannot read ({exc.__class__.__name__}: {exc}); fix the sform/qform "
            "(e.g. with fslorient) or regenerate the image."
        ) from None
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise InputError(
            f"{shown}: expected a finite 4x4 voxel-to-mm affine, found "
            f"{'non-finite values in it' if affine.shape == (4, 4) else affine.shape}; fix the "
            "sform/qform (e.g. with fslorient) or regenerate the image."
        )
    if abs(np.linalg.det(affine[:3, :3])) == 0:
        raise InputError(
            f"{shown}: expected an invertible voxel-to-mm affine, found a singular one "
            "(zero voxel size or collinear axes); fix the sform/qform or regenerate the image."
        )


def _pair_file(header_path: Path) -> Path:
    """The ``.img`` beside a ``.hdr`` (same case as the header's suffix)."""
    return header_path.with_suffix(".IMG" if header_path.suffix == ".HDR" else ".img")


_IMAGE_FIX = "check the path, or fetch the data with `refglm fetch spm-auditory`."


def _load(img):
    """The nibabel image of a path (header read, data not) or of a nibabel image, checked.

    A path must be a regular file (:func:`refglm.io.files.check_input_file`: a folder,
    FIFO, device, symbolic link loop or missing file is named as what it is, before
    anything is opened), and so must the ``.img`` of an Analyze/NIfTI pair. The
    header's declared data must be in the file (:func:`_check_declared_bytes`), so
    that no read allocates more than the file holds.
    """
    if isinstance(img, str | os.PathLike):
        path = Path(img)
        check_input_file(path, "an image (NIfTI/Analyze)", _IMAGE_FIX)
        if path.suffix.lower() == ".hdr":
            pair = _pair_file(path)
            if not os.path.lexists(pair):
                raise InputError(
                    f"{path}: expected the Analyze/NIfTI pair {path.name} + "
                    f"{pair.name}, found the header without its data file; "
                    "copy the .img beside the .hdr (or re-download the data)."
                )
            check_input_file(pair, f"the data file of {path.name} (Analyze/NIfTI pair)", _IMAGE_FIX)
        try:
            loaded = nib.load(str(path), mmap=False)
            # Touch the header shape so that non-images fail here, not later.
            _ = loaded.shape
        except Exception as exc:  # nibabel raises several unrelated types
            raise InputError(
                f"{path}: expected a NIfTI-1/2 or Analyze image, found a file that is not a "
                f"readable image ({exc.__class__.__name__}: {exc}); re-download or regenerate it."
            ) from exc
        _check_affine(loaded, str(path))
        _check_declared_bytes(loaded, str(path))
        return loaded
    if hasattr(img, "get_fdata") and hasattr(img, "affine"):
        _check_affine(img, type(img).__name__)
        _check_declared_bytes(img, type(img).__name__)
        return img
    raise InputError(
        f"image input: expected a path or a nibabel image, found {type(img).__name__}; "
        "pass a filename or nibabel.load(filename)."
    )


# ---------------------------------------------------------------- bounded reads

_COMPRESSED = (".gz", ".bz2", ".zst")


def _declared(proxy) -> tuple[tuple[int, ...], np.dtype, int] | None:
    """(shape, stored dtype, bytes) a file-backed nibabel array proxy declares, or None."""
    try:
        shape = tuple(int(n) for n in proxy.shape)
        dtype = np.dtype(proxy.dtype)
    except (AttributeError, TypeError, ValueError):
        return None
    count = 1
    for n in shape:
        count *= max(n, 0)
    return shape, dtype, count * dtype.itemsize


def _data_file(loaded) -> tuple[Path, int] | None:
    """The file holding ``loaded``'s voxels and their offset in it, when it has one."""
    proxy = getattr(loaded, "dataobj", None)
    file_like = getattr(proxy, "file_like", None)
    if not isinstance(file_like, str | os.PathLike):
        return None
    try:
        return Path(file_like), int(proxy.offset)
    except (AttributeError, TypeError, ValueError):
        return None


def _decompressed_size(path: Path, wanted: int) -> int:
    """Bytes the compressed file ``path`` decompresses to, counted up to ``wanted``.

    A gzip file ends with its size modulo 2**32 (``ISIZE``); when that matches,
    the file is taken at its word. Otherwise the stream is decompressed and
    counted, one MiB at a time (nothing is kept), and counting stops at
    ``wanted``: the memory used is constant, whatever the file claims.
    """
    suffix = path.suffix.lower()
    if suffix == ".gz":
        try:
            with open(path, "rb") as fh:
                fh.seek(-4, os.SEEK_END)
                isize = int.from_bytes(fh.read(4), "little")
            if isize == wanted % 2**32:
                return wanted
        except OSError:
            pass
    from nibabel.openers import Opener

    total = 0
    try:
        with Opener(str(path), "rb") as fh:
            while total < wanted:
                chunk = fh.read(min(1 << 20, wanted - total))
                if not chunk:
                    break
                total += len(chunk)
    except Exception:  # noqa: BLE001 - a corrupt stream: what was read is what there is
        pass
    return total


def _check_declared_bytes(loaded, shown: str) -> None:
    """Refuse an image whose header declares more voxel data than its file holds.

    The declared bytes (shape x stored item size, after the header's offset) are
    compared with the file's size (its decompressed size for ``.gz``, ``.bz2``
    and ``.zst``) before any voxel is read: nibabel allocates the declared size
    first and reads into it, so a lying header would otherwise cost its claim
    in memory before the read fails.
    """
    located = _data_file(loaded)
    declared = _declared(getattr(loaded, "dataobj", None))
    if located is None or declared is None:
        return
    data_path, offset = located
    shape, dtype, nbytes = declared
    wanted = offset + nbytes
    try:
        size = os.stat(data_path).st_size
    except OSError:
        return  # the read reports it
    if data_path.suffix.lower() in _COMPRESSED:
        found, where = _decompressed_size(data_path, wanted), "decompressed"
    else:
        found, where = size, "in the file"
    if found < wanted:
        held = max(found - offset, 0)
        raise InputError(
            f"{shown}: expected {nbytes} bytes of voxel data ({_gib(nbytes)}) for the declared "
            f"shape {shape} of {dtype} after a {offset}-byte header, found {held} bytes "
            f"{where}{'' if data_path.name in shown else f' ({data_path.name})'}; the header "
            "claims more data than the file holds: the file is truncated or its header is "
            "wrong. Re-download or regenerate it."
        )


def _gib(nbytes: int) -> str:
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:.3g} GiB"
    if nbytes >= 2**20:
        return f"{nbytes / 2**20:.3g} MiB"
    return f"{nbytes / 2**10:.3g} KiB"


def _check_fits_in_memory(shown: str, shape, stored, out_dtype, nbytes_read: int) -> None:
    """Refuse a read that needs more memory than this process may still use.

    ``nbytes_read`` is what the read allocates (the stored array and the array
    returned); the budget is :func:`refglm.io.memory.memory_budget`. Checked
    before anything is allocated, so that a read too large for the machine (or
    for a memory cap: ``ulimit -v``, a cgroup) is an input error, not a
    ``MemoryError`` after a long wait.
    """
    budget, why = memory_budget()
    if budget is None or nbytes_read <= budget:
        return
    raise InputError(
        f"{shown}: expected an image that fits in memory, found the declared shape "
        f"{tuple(shape)} of {np.dtype(stored)}, whose read as {np.dtype(out_dtype)} needs "
        f"{nbytes_read} bytes ({_gib(nbytes_read)}), more than the {max(budget, 0)} bytes "
        f"({_gib(max(budget, 0))}) this process may still use ({why}); run it on a machine "
        "with more memory, or crop or split the run."
    )


def read_volume(img, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """Read one image as ``dtype`` data and its affine, with mmap off.

    The values are those of ``np.asarray(img.dataobj, dtype=np.float64).astype(dtype)``
    (nibabel's scaling applied in float64, then one cast to ``dtype``), bit for bit,
    without holding a float64 copy of the whole image when ``dtype`` is narrower:
    the stored array is cast to ``dtype`` directly when every stored value is
    exact in float64 and the image is unscaled, else one volume at a time through
    float64. The layout is nibabel's (Fortran order).

    A ``(x, y, z, 1)`` volume is squeezed to 3-D, as the nistats fetcher
    wrote the SPM auditory data.

    Parameters
    ----------
    img : path or nibabel image
    dtype : numpy dtype
        Of the returned data (float64 by default; ``load_run`` asks for the run's
        dtype).

    Returns
    -------
    data : ndarray of ``dtype``, 3-D or 4-D
    affine : ndarray, shape (4, 4)
    """
    loaded = _load(img)
    _check_real(loaded, img)
    _check_read_fits(loaded, _describe(img), dtype)
    try:
        data = _read_as(loaded.dataobj, np.dtype(dtype))
    except Exception as exc:
        raise _unreadable(img, loaded, exc) from exc
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    return data, np.asarray(loaded.affine, dtype=np.float64)


def _read_bytes(loaded, out_dtype) -> int:
    """Bytes a whole read of ``loaded`` as ``out_dtype`` allocates: stored array and result."""
    declared = _declared(getattr(loaded, "dataobj", None))
    if declared is None:  # an in-memory array: only the result is new
        count = int(np.prod(loaded.shape, dtype=np.float64))
        return count * np.dtype(out_dtype).itemsize
    shape, stored, nbytes = declared
    return nbytes + (nbytes // stored.itemsize) * np.dtype(out_dtype).itemsize


def _check_read_fits(loaded, shown: str, out_dtype) -> None:
    """:func:`_check_fits_in_memory` for a whole read of ``loaded`` as ``out_dtype``."""
    _check_fits_in_memory(
        shown, loaded.shape, loaded.get_data_dtype(), out_dtype, _read_bytes(loaded, out_dtype)
    )


def _exact_in_float64(dtype: np.dtype) -> bool:
    """Whether every value of ``dtype`` is a float64 (so casting through float64 is exact)."""
    return (dtype.kind == "f" and dtype.itemsize <= 8) or (
        dtype.kind in "biu" and dtype.itemsize <= 4
    )


def _read_as(dataobj, dtype: np.dtype) -> np.ndarray:
    """``np.asarray(dataobj, dtype=np.float64).astype(dtype)``, without the float64 copy.

    For a narrower ``dtype``, always a new array (never the caller's in-memory array,
    never a memory map); float64 is read exactly as before.
    # nibabel arrayproxy.py ArrayProxy.__array__(dtype) -> _get_scaled(dtype): slope and
    # intercept cast to dtype, volumeutils.apply_read_scaling (which returns the stored
    # array itself for slope 1, intercept 0), promote_types(scaled, dtype), astype(dtype)
    """
    if dtype == np.float64:
        return np.asarray(dataobj, dtype=np.float64)
    if hasattr(dataobj, "get_unscaled"):
        stored, slope, inter = dataobj.get_unscaled(), dataobj.slope, dataobj.inter
        fresh = not isinstance(stored, np.memmap)  # nib.load(..., mmap=False) reads a new array
    else:  # an in-memory image: the caller's array, unscaled
        stored, slope, inter, fresh = np.asanyarray(dataobj), 1.0, 0.0, False
    if (slope, inter) == (1, 0) and _exact_in_float64(stored.dtype):
        # stored -> float64 is exact, so one cast gives the values of the two
        data = np.asarray(stored, dtype=dtype)
        if not fresh and np.may_share_memory(data, stored):
            data = data.copy(order="K")
        return data
    # one volume (last axis) at a time through float64, as nibabel scales in float64
    out = np.empty(stored.shape, dtype=dtype, order="F")
    if stored.ndim < 4:
        out[...] = _float64_of(stored, slope, inter)
        return out
    for k in range(stored.shape[-1]):
        out[..., k] = _float64_of(stored[..., k], slope, inter)
    return out


def _float64_of(stored: np.ndarray, slope, inter) -> np.ndarray:
    """nibabel's float64 read of part of a stored array (``ArrayProxy._get_scaled``)."""
    from nibabel.volumeutils import apply_read_scaling

    slope, inter = np.asanyarray(slope), np.asanyarray(inter)
    if np.can_cast(slope, np.float64):
        slope = slope.astype(np.float64)
    if np.can_cast(inter, np.float64):
        inter = inter.astype(np.float64)
    scaled = apply_read_scaling(stored, slope, inter)
    scaled = scaled.astype(np.promote_types(scaled.dtype, np.float64), copy=False)
    return scaled.astype(np.float64, copy=False)


def _as_run_list(run_imgs) -> Sequence:
    """One run as a non-empty sequence: a single path or image becomes a list of one."""
    if isinstance(run_imgs, str | os.PathLike) or hasattr(run_imgs, "affine"):
        run_imgs = [run_imgs]
    if not isinstance(run_imgs, Sequence) or len(run_imgs) == 0:
        raise InputError(
            "run_imgs: expected a 4-D image or a non-empty list of 3-D volumes, "
            f"found {run_imgs!r}; pass the functional files of one run."
        )
    return run_imgs


#: ``load_run(..., mean_dtype=...)``: the dtype of the mean image, as the convention's
#: ``mask_mean_dtype`` (:data:`refglm.glm.masking.MASK_MEAN_DTYPES`).
MEAN_DTYPES = ("input", "float64")


class LoadedRun(NamedTuple):
    """A run loaded with its mean image (:func:`load_run` with ``mean_dtype``)."""

    #: ndarray (x, y, z, n_scans), Fortran order
    data: np.ndarray
    #: ndarray (4, 4)
    affine: np.ndarray
    #: ndarray (x, y, z): ``refglm.glm.masking.mean_epi(data, mean_dtype)``, bit for bit
    mean: np.ndarray


class _RunningMean:
    """``refglm.glm.masking.mean_epi`` summed one volume at a time, as the volumes arrive.

    The same operations in the same order as ``mean_epi``: a copy of scan 0 in the
    accumulation dtype, ``total += scan`` for each further scan in scan order, then
    ``true_divide(total, n)`` in that dtype; so the same bits.
    """

    def __init__(self, run_dtype, mean_dtype: str):
        if mean_dtype not in MEAN_DTYPES:
            raise InputError(
                f"mask_mean_dtype: expected one of {MEAN_DTYPES}, found {mean_dtype!r}; pick "
                "a value from refglm.io.MEAN_DTYPES."
            )
        if mean_dtype == "float64":
            self.dtype = np.dtype(np.float64)
        else:  # the dtype numpy's ndarray.mean returns for this input
            self.dtype = np.zeros(1, dtype=run_dtype).mean().dtype
        self.total = None
        self.count = 0

    def add(self, volume: np.ndarray) -> None:
        if self.total is None:
            self.total = np.array(volume, dtype=self.dtype, copy=True, order="F")
        else:
            self.total += volume
        self.count += 1

    def mean(self) -> np.ndarray:
        # numpy _methods._mean: true_divide(sum, count) in the sum's dtype
        return np.true_divide(self.total, self.count, dtype=self.dtype)


def load_run(run_imgs, dtype=np.float32, mean_dtype: str | None = None):
    """Concatenate the volumes of one run into a 4-D array of ``dtype``.

    Mirrors ``nilearn.image.concat_imgs(..., dtype=np.float32)`` as the
    nistats tutorial called it: each volume's values are nibabel's float64 read
    cast to ``dtype``, and the array is in Fortran order, as ``concat_imgs`` and
    nibabel give it (each volume contiguous). The cast is where the tutorial's
    numbers come from (see ``conventions.py``, ``input_dtype``). The run is held
    once: a 4-D file is read straight into ``dtype`` (:func:`read_volume`); 3-D
    volumes are read one by one into the preallocated 4-D array, each file's bytes
    through one small buffer that every volume reuses (unscaled files whose values
    are exact in float64, the SPM auditory data among them) or through
    :func:`read_volume` (any other image), so the peak is about one ``dtype`` copy
    of the run.

    Every volume's header is read and checked before its data (a regular file, a
    readable image with a valid affine, the declared bytes present in the file,
    the grid of the first volume), and the whole run's memory before the 4-D
    array is allocated.

    Parameters
    ----------
    run_imgs : path, nibabel image, or sequence of 3-D paths/images
        Either one 4-D image or a list of 3-D volumes of equal shape and
        affine.
    dtype : numpy dtype
        Storage dtype of the 4-D array.
    mean_dtype : {None, 'input', 'float64'}
        With a value, also the mean image over time, computed as the volumes are
        read (no second pass over the run): the bits of
        ``refglm.glm.masking.mean_epi(data, mean_dtype)``.

    Returns
    -------
    data : ndarray, shape (x, y, z, n_scans), Fortran order
    affine : ndarray, shape (4, 4)
    mean : ndarray, shape (x, y, z)
        Only with ``mean_dtype``: then a :class:`LoadedRun` ``(data, affine, mean)``.
    """
    run_imgs = _as_run_list(run_imgs)
    mean = None if mean_dtype is None else _RunningMean(dtype, mean_dtype)
    if len(run_imgs) == 1:
        data, affine = read_volume(run_imgs[0], dtype)
        if data.ndim != 4:
            raise InputError(
                f"{_describe(run_imgs[0])}: expected a 4-D run or several 3-D volumes, "
                f"found {_shape_words(data.shape)}; pass every scan of the run as one 4-D "
                "image or a list of 3-D volumes."
            )
        if mean is not None:
            for k in range(data.shape[3]):
                mean.add(data[..., k])
    else:
        data, affine = _load_volumes(run_imgs, np.dtype(dtype), mean)
    if mean is None:
        return data, affine
    return LoadedRun(data, affine, mean.mean())


def _load_volumes(run_imgs, dtype: np.dtype, mean: _RunningMean | None):
    """:func:`load_run` of several 3-D volumes, each read into its place in the 4-D array."""
    first_img = run_imgs[0]
    header = _load(first_img)
    _check_real(header, first_img)
    shape = _squeezed_shape(header.shape)
    affine = np.asarray(header.affine, dtype=np.float64)
    if len(shape) != 3:
        raise InputError(
            f"{_describe(first_img)}: expected 3-D volumes when several files are given, "
            f"found shape {shape}; pass either one 4-D file or a list of 3-D files."
        )
    volume_nbytes = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    _check_fits_in_memory(
        f"--func ({len(run_imgs)} volumes from {_describe(first_img)})",
        shape + (len(run_imgs),),
        dtype,
        dtype,
        (len(run_imgs) + 1) * volume_nbytes,
    )
    data = np.empty(shape + (len(run_imgs),), dtype=dtype, order="F")
    buffers: dict = {}
    for k, img in enumerate(run_imgs):
        if k > 0:
            header = _load(img)
            _check_real(header, img)
            _check_same_grid(
                img,
                _squeezed_shape(header.shape),
                np.asarray(header.affine, dtype=np.float64),
                first_img,
                shape,
                affine,
            )
        _read_volume_into(header, img, data[..., k], buffers)
        if mean is not None:
            mean.add(data[..., k])
    return data, affine


def _check_real(loaded, img) -> None:
    if np.dtype(loaded.get_data_dtype()).kind == "c":
        raise InputError(
            f"{_describe(img)}: expected real-valued image data, found complex values "
            f"({loaded.get_data_dtype()}); pass the magnitude (or real part) images."
        )


def _direct_source(loaded) -> tuple[Path, int, np.dtype] | None:
    """(file, offset, stored dtype) when ``loaded``'s voxels can be read as raw bytes.

    That is: an uncompressed file-backed array proxy in Fortran order, unscaled
    (slope 1, intercept 0), whose stored values are exact in float64, so that one
    cast of the raw values gives nibabel's float64 read cast to the run's dtype.
    """
    proxy = getattr(loaded, "dataobj", None)
    located = _data_file(loaded)
    declared = _declared(proxy)
    if located is None or declared is None or located[0].suffix.lower() in _COMPRESSED:
        return None
    try:
        order, slope, inter = proxy.order, float(proxy.slope), float(proxy.inter)
    except (AttributeError, TypeError, ValueError):
        return None
    _, stored, _ = declared
    if order != "F" or (slope, inter) != (1.0, 0.0) or not _exact_in_float64(stored):
        return None
    return located[0], located[1], stored


def _read_volume_into(loaded, img, out: np.ndarray, buffers: dict) -> None:
    """Read the checked image ``loaded`` into ``out`` (its place in the 4-D run).

    The values of :func:`read_volume`. Raw bytes go through a buffer of the stored
    dtype kept in ``buffers`` for the next volume; anything else through
    :func:`read_volume`'s own read (its memory check included).
    """
    source = _direct_source(loaded)
    if source is None:
        _check_read_fits(loaded, _describe(img), out.dtype)
        try:
            volume = _read_as(loaded.dataobj, out.dtype)
        except Exception as exc:
            raise _unreadable(img, loaded, exc) from exc
        out[...] = volume.reshape(out.shape)
        return
    path, offset, stored = source
    count = out.size
    buffer = buffers.get(stored)
    if buffer is None or buffer.size != count:
        buffer = buffers[stored] = np.empty(count, dtype=stored)
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            got = fh.readinto(memoryview(buffer).cast("B"))
        if got != buffer.nbytes:
            raise OSError(f"read {got} of {buffer.nbytes} bytes")
    except OSError as exc:
        raise _unreadable(img, loaded, exc) from exc
    # one cast, as np.asarray(stored_array, dtype=out.dtype) in _read_as
    np.copyto(out, buffer.reshape(out.shape, order="F"), casting="unsafe")


def _unreadable(img, loaded, exc) -> InputError:
    return InputError(
        f"{_describe(img)}: expected image data of shape {tuple(loaded.shape)}, found "
        f"data that cannot be read ({exc.__class__.__name__}: {exc}); the file is "
        "probably truncated. Re-download or regenerate it."
    )


def run_shape(run_imgs) -> tuple[int, ...]:
    """The 4-D shape of a run, from the image headers only (no voxel data is read).

    Checks what :func:`load_run` checks, short of reading the data, so that a
    missing, unreadable or mismatched file is reported before anything long
    starts: the files exist and are images, several files are 3-D volumes of
    one shape and affine, one file is a 4-D run.

    Parameters
    ----------
    run_imgs : path, nibabel image, or sequence of 3-D paths/images
        As :func:`load_run`.

    Returns
    -------
    shape : tuple of int
        ``(x, y, z, n_scans)``.

    Raises
    ------
    InputError
        As :func:`load_run` (a truncated data block is found only when read).
    """
    run_imgs = _as_run_list(run_imgs)
    headers = [_load(img) for img in run_imgs]
    shapes = [_squeezed_shape(h.shape) for h in headers]
    if len(run_imgs) == 1:
        if len(shapes[0]) != 4:
            raise InputError(
                f"{_describe(run_imgs[0])}: expected a 4-D run or several 3-D volumes, "
                f"found {_shape_words(shapes[0])}; pass every scan of the run as one 4-D "
                "image or a list of 3-D volumes."
            )
        # the run is held as float32 at least: refuse now what cannot be read later
        _check_read_fits(headers[0], _describe(run_imgs[0]), np.float32)
        return shapes[0]
    first, affine = shapes[0], np.asarray(headers[0].affine, dtype=np.float64)
    if len(first) != 3:
        raise InputError(
            f"{_describe(run_imgs[0])}: expected 3-D volumes when several files are given, "
            f"found shape {first}; pass either one 4-D file or a list of 3-D files."
        )
    for img, header, shape in zip(run_imgs[1:], headers[1:], shapes[1:], strict=True):
        _check_same_grid(
            img, shape, np.asarray(header.affine, dtype=np.float64), run_imgs[0], first, affine
        )
    voxels = int(np.prod(first, dtype=np.float64))
    _check_fits_in_memory(
        f"--func ({len(run_imgs)} volumes from {_describe(run_imgs[0])})",
        first + (len(run_imgs),),
        headers[0].get_data_dtype(),
        np.float32,
        voxels * len(run_imgs) * np.dtype(np.float32).itemsize,
    )
    return first + (len(run_imgs),)


def _shape_words(shape) -> str:
    """``'a single volume of shape (x, y, z)'`` or ``'a 5-D image of shape (...)'``."""
    shape = tuple(shape)
    if len(shape) <= 3:
        return f"a single volume of shape {shape}"
    return f"a {len(shape)}-D image of shape {shape}"


def _squeezed_shape(shape) -> tuple[int, ...]:
    """A header shape as :func:`read_volume` returns the data: ``(x, y, z, 1)`` -> 3-D."""
    shape = tuple(int(n) for n in shape)
    return shape[:3] if len(shape) == 4 and shape[3] == 1 else shape


def _check_same_grid(img, shape, aff, first_img, first_shape, first_affine) -> None:
    if shape != first_shape:
        raise InputError(
            f"{_describe(img)}: expected a 3-D volume of shape {first_shape} like "
            f"{_describe(first_img)}, found shape {shape}; all volumes of a run "
            "must share one grid."
        )
    if not np.allclose(aff, first_affine, rtol=0, atol=1e-6):
        raise InputError(
            f"{_describe(img)}: expected the affine of {_describe(first_img)} (all "
            f"volumes of a run share one grid), found one that differs by up to "
            f"{float(np.abs(aff - first_affine).max()):g}; resample the volumes to one grid."
        )


def to_image(data: np.ndarray, affine: np.ndarray, header_descrip: str | None = None):
    """Wrap an array and affine in a ``nibabel.Nifti1Image``."""
    img = nib.Nifti1Image(np.asarray(data), np.asarray(affine, dtype=np.float64))
    if header_descrip is not None:
        img.header["descrip"] = header_descrip[:79].encode("ascii", "replace")
    return img


def image_data(img) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(data, affine)`` of a path or nibabel image, data as float64."""
    loaded = _load(img)
    _check_read_fits(loaded, _describe(img), np.float64)
    return np.asarray(loaded.dataobj, dtype=np.float64), np.asarray(loaded.affine)


def write_nifti_pair(data: np.ndarray, affine: np.ndarray, img_path) -> None:
    """Write ``data`` as a NIfTI-1 pair (``.hdr`` + ``.img``), as the nistats fetcher did."""
    nib.save(nib.Nifti1Pair(np.asarray(data), np.asarray(affine)), str(img_path))


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


def stored_dtype(img) -> np.dtype:
    """The dtype nibabel gives for an image's data (``np.asanyarray(img.dataobj)``).

    Read from a one-voxel slice, which goes through the same scaling path as
    the whole array. # nilearn _utils/niimg.py _get_data: np.asanyarray(img._dataobj)
    """
    loaded = _load(img)
    corner = (slice(0, 1),) * len(loaded.shape)
    return np.asanyarray(loaded.dataobj[corner]).dtype
