"""Argument checks shared by the statistical-map numerics.

``voxel_thresholds``, ``thresholds``, ``peaks`` and ``clusters`` validate their
arguments with these helpers, so that one kind of bad input gives one error
message wherever it is passed. Every error is an
:class:`~refglm.exceptions.InputError` naming the argument, what was expected,
what was found and the fix.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from refglm._validate import as_float, fmt
from refglm.exceptions import InputError


def check_real(name: str, value, *, allow_none: bool = False, minimum=None):
    """Return ``value`` as a float, or raise InputError naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(
            f"{name}: expected a real number, found {type(value).__name__} {value!r}; pass a float."
        )
    number = as_float(value)
    if number is None:
        raise InputError(
            f"{name}: expected a real number, found {fmt(value)}; pass a float in range."
        )
    value = number
    if math.isnan(value):
        raise InputError(f"{name}: expected a real number, found nan; pass a finite float.")
    if minimum is not None and value < minimum:
        raise InputError(
            f"{name}: expected a number >= {minimum}, found {value!r}; pass {minimum} or more."
        )
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of the strings ``choices``, or raise InputError."""
    if not isinstance(value, str) or value not in choices:
        raise InputError(
            f"{name}: expected one of {list(choices)}, found {value!r}; pass e.g. {choices[0]!r}."
        )
    return value


def check_stat(stat, name: str = "stat", nonfinite: str = "raise") -> np.ndarray:
    """Return a float64 copy of a 3-D statistical map.

    ``nonfinite='raise'`` refuses NaN and infinite voxels; ``nonfinite='zero'``
    sets them to 0 with a ``UserWarning``, as nilearn 0.14.1 does when it loads
    an image with ``safe_get_data(img, ensure_finite=True)``
    (``nilearn/_utils/niimg.py`` lines 83-98, ``ensure_finite_data``).
    """
    arr = np.asarray(stat)
    if arr.ndim != 3:
        raise InputError(
            f"{name}: expected a 3-D array (one statistical volume), found an array of "
            f"shape {arr.shape}; pass a single volume, e.g. stat[..., 0] for a 4-D map."
        )
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise InputError(
            f"{name}: expected a real numeric array, found dtype {arr.dtype}; pass a float array."
        )
    # An explicit copy: nothing below may write into the caller's array.
    out = np.array(arr, dtype=np.float64, copy=True)
    bad = ~np.isfinite(out)
    n_bad = int(np.count_nonzero(bad))
    if n_bad and nonfinite == "zero":
        warnings.warn(
            f"{name}: {n_bad} NaN or infinite voxel(s) replaced with zeros (nilearn's "
            "ensure_finite rule).",
            UserWarning,
            stacklevel=3,
        )
        out[bad] = 0.0
    elif n_bad:
        raise InputError(
            f"{name}: expected finite values, found {n_bad} NaN or infinite voxel(s); "
            "set them to 0 first, e.g. np.nan_to_num(stat, nan=0.0, posinf=0.0, "
            "neginf=0.0) (what nilearn does implicitly)."
        )
    return out


def check_affine(affine) -> np.ndarray:
    aff = np.asarray(affine, dtype=np.float64)
    if aff.shape != (4, 4) or not np.all(np.isfinite(aff)):
        raise InputError(
            f"affine: expected a finite 4x4 voxel-to-world matrix, found shape "
            f"{aff.shape}; pass the image's affine (e.g. img.affine)."
        )
    return aff
