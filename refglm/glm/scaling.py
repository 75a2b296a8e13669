"""Signal dtypes and the scaling of signals (pure numerics).

The steps of ``FirstLevelModel.fit_array`` between loading and the GLM fit, chosen by
the convention's ``scaling_method`` (:data:`SCALING_METHODS`):

- ``'mean_scaling'`` (nistats, nilearn): :func:`signal_dtype` (the dtype the masked
  signals are held in), then :func:`mean_scaling` (percent signal change around each
  voxel's mean), after masking;
- ``'spm_global'`` (SPM12): each scan's global (:func:`spm_global`, from the whole
  raw volume), the scale factors ``gSF`` (:func:`spm_scale_factors`: session
  grand-mean scaling for global normalisation None, per-scan for ``'scaling'``), and
  the data SPM reads, :math:`Y \\cdot gSF` (:func:`spm_scale`).
"""

from __future__ import annotations

import warnings

import numpy as np

from refglm.exceptions import InputError
from refglm.glm.spm_linalg import seqsum

__all__ = [
    "mean_scaling",
    "signal_dtype",
    "SCALING_DTYPES",
    "STANDARDIZE_RULES",
    "STANDARDIZE_DDOFS",
    "standardize_signals",
    "SCALING_METHODS",
    "GLOBAL_NORMALIZATIONS",
    "SPM_GRAND_MEAN",
    "spm_global",
    "spm_globals",
    "spm_scale_factors",
    "spm_scale",
]

SCALING_DTYPES = ("input", "float64")
STANDARDIZE_RULES = ("without_scaling", "never")
#: ``standardize_ddof``: the degrees of freedom removed from the standard deviation by
#: which ``standardize=True`` divides (:func:`standardize_signals`).
STANDARDIZE_DDOFS = (0, 1)
#: ``scaling_method``: nistats' percent signal change per voxel, or SPM12's globals.
SCALING_METHODS = ("mean_scaling", "spm_global")
#: ``FirstLevelModel(global_normalization=...)`` under ``'spm_global'``: SPM's 'None'
#: (one factor for the session) and 'Scaling' (one per scan).
GLOBAL_NORMALIZATIONS = (None, "scaling")
#: SPM12 spm_fmri_spm_ui.m: GM = 100, the grand mean the session is scaled to.
SPM_GRAND_MEAN = 100.0


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


def standardize_signals(Y: np.ndarray, ddof: int = 1) -> np.ndarray:
    r"""Z-score each column (voxel) of ``Y``, in Y's dtype.

    .. math:: Y_{tv} \leftarrow \frac{Y_{tv} - \bar Y_v}{s_v},\qquad
              s_v = \sqrt{\frac{\sum_t (Y_{tv} - \bar Y_v)^2}{n - \delta}}

    with :math:`\delta` = ``ddof`` and :math:`s_v = 1` where :math:`s_v < \epsilon`.

    - ``ddof=0``: nistats' ``NiftiMasker(standardize=True)``;
      # nilearn 0.6.2 signal.py _standardize(signals, standardize='zscore'):
      # signals - signals.mean(axis=0); std = signals.std(axis=0); std[std < eps] = 1
    - ``ddof=1``: nilearn 0.14.1's ``'zscore_sample'`` (``standardize_signal``).

    Parameters
    ----------
    Y : ndarray, shape (n_scans, n_voxels)
    ddof : {0, 1}
        The convention's ``standardize_ddof``.

    Returns
    -------
    ndarray
    """
    if ddof not in STANDARDIZE_DDOFS:
        raise InputError(
            f"standardize_ddof: expected one of {STANDARDIZE_DDOFS}, found {ddof!r}; pick a "
            "value from refglm.glm.scaling.STANDARDIZE_DDOFS."
        )
    Y = Y - Y.mean(axis=0)
    std = Y.std(axis=0, ddof=ddof)
    std[std < np.finfo(np.float64).eps] = 1.0
    Y /= std
    return Y


def _spm_global_values(values: np.ndarray, work: np.ndarray | None = None) -> float:
    """:func:`spm_global` of one scan's values, in SPM's file (Fortran) order, 1-D.

    Non-finite values are set to 0 and not counted, and the voxels not above
    :math:`s_1` are set to 0 before the second sum: adding 0 leaves a running sum
    unchanged, so each sum (``np.add.accumulate``, left to right as the C loop adds) is
    the C loop's over the selected voxels. ``work``: a float64 buffer of the same size
    for the running sums (memory only).
    """
    values = np.asarray(values, dtype=np.float64)
    work = np.empty(values.shape) if work is None else work
    total = np.add.accumulate(values, out=work)[-1]
    if np.isfinite(total):  # no NaN or infinity among the values (they would propagate)
        m = values.size
        above = values > total / (8.0 * m)
    else:  # NaN/Inf set to 0 and not counted (or finite values whose sum overflows)
        finite = np.isfinite(values)
        m = np.count_nonzero(finite)
        values = np.where(finite, values, 0.0)
        s1 = np.add.accumulate(values, out=work)[-1] / (8.0 * m)
        above = finite & (values > s1)
    # the voxels above s1, in order (the zeros of the others leave a running sum as it is)
    selected = values[above]
    if selected.size == 0:  # no voxel above s1 (an empty or constant scan): 0 / 0
        return float("nan")
    total = np.add.accumulate(selected, out=work[: selected.size])[-1]
    return float(total / selected.size)


def spm_global(volume: np.ndarray) -> float:
    r"""The global mean of one scan, SPM12 ``src/spm_global.c``.

    .. math::
        s_1 = \frac{\sum_v y_v}{8\,m},\qquad
        g = \frac{1}{|\{v : y_v > s_1\}|} \sum_{v:\, y_v > s_1} y_v

    over the :math:`m` finite voxels of the raw scan, both sums in double precision,
    voxel after voxel in file (Fortran) order, as the C loop runs.
    # SPM12 src/spm_global.c lines 60-80: s1 = s1/(8.0*m); then the mean of the voxels > s1

    Parameters
    ----------
    volume : ndarray, 3-D
        The raw scan, before any scaling.
    """
    return _spm_global_values(np.asarray(volume).ravel(order="F"))


def spm_globals(data: np.ndarray, scans_per_batch: int | None = None) -> np.ndarray:
    """:func:`spm_global` of every scan of a 4-D run (x, y, z, n), SPM's ``xGX.rg``.

    One scan at a time: a scan of a Fortran-ordered run (``io.load_run``'s, nibabel's)
    is one contiguous volume, read in SPM's file order without a copy.
    ``scans_per_batch`` is accepted for compatibility and unused (the result never
    depended on it).
    """
    if data.ndim != 4:
        raise InputError(
            f"data: expected a 4-D run (x, y, z, n_scans), found shape {data.shape}; pass "
            "every scan of the run."
        )
    work = np.empty(int(np.prod(data.shape[:3])))
    return np.array(
        [_spm_global_values(data[..., j].ravel(order="F"), work) for j in range(data.shape[3])],
        dtype=np.float64,
    )


def spm_scale_factors(g: np.ndarray, global_normalization=None) -> np.ndarray:
    r"""SPM's scale factors ``xGX.gSF``, SPM12 ``spm_fmri_spm_ui.m``.

    - global normalisation None (SPM's 'None'): one factor for the session, the
      grand-mean scaling :math:`gSF_j = 100 / \bar g` (mean of the globals, summed in order);
    - ``'scaling'`` (SPM's 'Scaling'): :math:`gSF_j = 100 / g_j` for each scan.

    # SPM12 spm_fmri_spm_ui.m lines 318-330: gSF = GM./g; for 'None',
    # gSF(SPM.Sess(i).row) = GM/mean(g(SPM.Sess(i).row))
    """
    if global_normalization not in GLOBAL_NORMALIZATIONS:
        raise InputError(
            f"global_normalization: expected one of {GLOBAL_NORMALIZATIONS}, found "
            f"{global_normalization!r}; use None (SPM's 'None': session grand-mean "
            "scaling) or 'scaling' (SPM's 'Scaling': each scan scaled by its own global)."
        )
    g = np.asarray(g, dtype=np.float64)
    if global_normalization == "scaling":
        return SPM_GRAND_MEAN / g
    return np.full(g.shape, SPM_GRAND_MEAN / (seqsum(g) / g.size))


def spm_scale(Y: np.ndarray, gSF: np.ndarray, overwrite: bool = False) -> np.ndarray:
    r"""The data SPM reads: :math:`Y_{jv}\, gSF_j` in float64.

    # SPM12 @file_array/subsref.m: the images are read as raw*scl_slope + scl_inter,
    # with VY(j).pinfo(1:2,:) scaled by xGX.gSF(j) in spm_fmri_spm_ui.m

    Parameters
    ----------
    Y : ndarray, shape (n_scans, n_voxels)
        Raw signals (any real dtype; converted exactly to float64).
    gSF : ndarray, shape (n_scans,)
    overwrite : bool
        Scale a float64 ``Y`` in place (the same products, no second array).
    """
    gSF = np.asarray(gSF, dtype=np.float64)[:, None]
    if overwrite and isinstance(Y, np.ndarray) and Y.dtype == np.float64:
        return np.multiply(Y, gSF, out=Y)
    return np.asarray(Y, dtype=np.float64) * gSF
