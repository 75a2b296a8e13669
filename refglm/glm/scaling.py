"""Signal dtypes and mean scaling of masked signals (pure numerics).

The steps of ``FirstLevelModel.fit_array`` between masking and the GLM fit:
:func:`signal_dtype` (the dtype the masked signals are held in) and
:func:`mean_scaling` (percent signal change around the mean).
"""

from __future__ import annotations

import warnings

import numpy as np

from refglm.exceptions import InputError

__all__ = ["mean_scaling", "signal_dtype", "SCALING_DTYPES", "STANDARDIZE_RULES"]

SCALING_DTYPES = ("input", "float64")
STANDARDIZE_RULES = ("without_scaling", "never")


def signal_dtype(dtype) -> np.dtype:
    """The dtype of masked signals held in ``dtype``: floats kept, integers made float.

    # nilearn 0.14.1 signal.py _ensure_float: 8-byte integers -> float64, others -> float32
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype
    return np.dtype(np.float64) if dtype.itemsize == 8 else np.dtype(np.float32)


def mean_scaling(Y: np.ndarray, axis=0, dtype: str = "input") -> tuple[np.ndarray, np.ndarray]:
    r"""Percent signal change around the mean.

    .. math:: Y \leftarrow 100\,\left(\frac{Y}{\max(\bar Y, 1)} - 1\right)

    # nistats first_level_model.py mean_scaling; nilearn 0.14.1
    # glm/first_level/first_level.py mean_scaling (the same code).

    Parameters
    ----------
    Y : ndarray, shape (n_scans, n_voxels)
    axis : int or tuple
        0: each voxel's mean over time (the default of both).
    dtype : {'input', 'float64'}
        The convention's ``scaling_dtype``: ``'input'`` computes every step in
        Y's dtype (float32 for the tutorial, which its numbers depend on);
        ``'float64'`` converts Y to float64 first.

    Returns
    -------
    Y_scaled : ndarray
    mean : ndarray
    """
    if dtype not in SCALING_DTYPES:
        raise InputError(
            f"scaling_dtype: expected one of {SCALING_DTYPES}, found {dtype!r}; pick a "
            "value from refglm.first_level.model.SCALING_DTYPES."
        )
    if dtype == "float64":
        Y = np.asarray(Y, dtype=np.float64)
    # keepdims: axis=1 (each scan's mean over voxels) broadcasts too; nistats and
    # nilearn divide by the reduced array and fail on it unless Y is square.
    mean = Y.mean(axis=axis, keepdims=True)
    if (mean == 0).any():
        warnings.warn(
            "signal_scaling: mean values of 0 observed (centred data?); scaling divides by "
            "max(mean, 1) there, as nistats did.",
            stacklevel=2,
        )
    mean = np.maximum(mean, 1)
    return 100 * (Y / mean - 1), np.squeeze(mean, axis=axis)
