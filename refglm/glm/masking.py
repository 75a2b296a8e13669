"""Brain masks: nilearn's EPI mask, or SPM12's implicit mask (the convention's ``mask_method``).

- ``'compute_epi_mask'`` (nistats, nilearn): nistats' ``FirstLevelModel.fit`` builds
  ``NiftiMasker(mask_strategy='epi')`` and fits it on the run; that calls
  ``compute_epi_mask`` with its defaults (lower_cutoff=0.2, upper_cutoff=0.85,
  connected=True, opening=2, exclude_zeros=False, ensure_finite=True). The steps
  below follow nilearn ``masking.py`` (unchanged in substance from nilearn 0.5 to 0.14.1).
- ``'spm_implicit'`` (SPM12): a voxel is analysed when its scaled value exceeds
  ``mask_threshold * global * gSF`` in every scan (:func:`spm_implicit_mask`).

Several runs (the convention's ``multi_run_mask``, :func:`multi_run_mask`): nistats fits
the first run's EPI mask to every run, nilearn keeps the voxels of more than half of
the runs' EPI masks. Also here: nilearn's spatial smoothing of a run
(:func:`smooth_run`, ``smoothing_fwhm``) and its background mask of a set of images
(:func:`background_mask`, what ``compute_fixed_effects`` and ``threshold_stats_img``
fit when given no mask).
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError

__all__ = [
    "MASK_MEAN_DTYPES",
    "mean_epi",
    "smooth_array",
    "epi_threshold",
    "compute_epi_mask",
    "largest_component",
    "MASK_METHODS",
    "MULTI_RUN_MASKS",
    "multi_run_mask",
    "smooth_run",
    "background_mask",
    "SPM_MASK_THRESHOLD",
    "spm_mask_thresholds",
    "spm_implicit_mask",
]

# FWHM = sigma * sqrt(8 ln 2)
FWHM_OVER_SIGMA = np.sqrt(8 * np.log(2))


MASK_MEAN_DTYPES = ("input", "float64")
#: ``mask_method``: nilearn's EPI mask of the mean image, or SPM12's implicit mask.
MASK_METHODS = ("compute_epi_mask", "spm_implicit")
#: ``multi_run_mask``: the mask of several runs, from their masks (:func:`multi_run_mask`).
MULTI_RUN_MASKS = ("first_run", "more_than_half")
#: SPM12 spm_fmri_spm_ui.m: the default implicit-mask threshold (batch ``mthresh``), a
#: fraction of each scan's global.
SPM_MASK_THRESHOLD = 0.8


def mean_epi(data: np.ndarray, dtype: str = "input") -> np.ndarray:
    r"""Mean over time of a 4-D run, summed scan by scan.

    .. math:: \bar{y}_v = \Big(\big((y_{v,0} + y_{v,1}) + y_{v,2}\big) + \dots
              + y_{v,T-1}\Big) / T

    The sum runs in scan order whatever the array's memory layout: nilearn's
    ``image.compute_mean`` (0.14.1; ``_compute_mean`` in the nilearn that nistats
    used) calls ``data.mean(axis=-1)`` on the Fortran-ordered arrays that
    ``concat_imgs`` and nibabel produce, for which numpy adds whole volumes one
    after the other; numpy's pairwise summation (C order) can differ in the
    last bit for float32.

    Parameters
    ----------
    data : ndarray, 4-D (x, y, z, t)
    dtype : {'input', 'float64'}
        The convention's ``mask_mean_dtype``. ``'input'``: numpy's mean dtype
        for the data (float32 stays float32, integers accumulate in float64),
        as nilearn; ``'float64'``: always float64.

    Returns
    -------
    mean : ndarray, 3-D
    """
    if data.ndim != 4:
        raise InputError(
            f"data: expected a 4-D run (x, y, z, t), found shape {data.shape}; pass every "
            "scan of the run."
        )
    if dtype not in MASK_MEAN_DTYPES:
        raise InputError(
            f"mask_mean_dtype: expected one of {MASK_MEAN_DTYPES}, found {dtype!r}; pick a "
            "value from refglm.glm.masking.MASK_MEAN_DTYPES."
        )
    if dtype == "float64":
        acc_dtype = np.dtype(np.float64)
    else:
        # the dtype numpy's ndarray.mean returns for this input
        acc_dtype = np.zeros(1, dtype=data.dtype).mean().dtype
    n_scans = data.shape[3]
    total = np.array(data[..., 0], dtype=acc_dtype, copy=True)
    for t in range(1, n_scans):
        total += data[..., t]
    # numpy _methods._mean: true_divide(sum, count) in the sum's dtype
    return np.true_divide(total, n_scans, dtype=acc_dtype)


def smooth_array(arr: np.ndarray, fwhm_voxels: float = 1.0) -> np.ndarray:
    r"""Gaussian smoothing with a FWHM given in voxels, in place on a copy.

    .. math:: \sigma = \mathrm{FWHM} / \sqrt{8 \ln 2}

    applied as separable ``scipy.ndimage.gaussian_filter1d`` passes along
    x, y then z (default truncate 4.0). Non-finite values are set to 0 first.
    # nilearn image.py _smooth_array, called with affine=np.eye(4) by _compute_mean
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    out = np.array(arr, copy=True)
    out[~np.isfinite(out)] = 0
    sigma = fwhm_voxels / FWHM_OVER_SIGMA
    for axis in range(out.ndim):
        ndimage.gaussian_filter1d(out, sigma, output=out, axis=axis)
    return out


def epi_threshold(mean_img: np.ndarray, lower_cutoff: float = 0.2, upper_cutoff: float = 0.85):
    r"""Intensity threshold at the largest gap of the sorted mean image.

    With :math:`s` the sorted voxel values, :math:`l = \lfloor 0.2 N \rfloor`,
    :math:`u = \min(\lfloor 0.85 N \rfloor, N - 1)`, and
    :math:`i^* = \arg\max_{l \le i < u} (s_{i+1} - s_i)`, the threshold is
    :math:`(s_{i^*} + s_{i^*+1}) / 2`.
    # nilearn masking.py compute_epi_mask (exclude_zeros=False)
    """
    sorted_input = np.sort(np.ravel(mean_img))
    n = len(sorted_input)
    lower = int(np.floor(lower_cutoff * n))
    upper = min(int(np.floor(upper_cutoff * n)), n - 1)
    delta = sorted_input[lower + 1 : upper + 1] - sorted_input[lower:upper]
    if delta.size == 0 or not delta.max() > 0:
        raise InputError(
            "mask: the mean EPI is constant between its 20th and 85th percentiles (all-zero "
            "or constant data?), so no brain/background gap exists and the EPI mask is empty; "
            "check the functional images, or pass mask_img."
        )
    ia = delta.argmax()
    return 0.5 * (sorted_input[ia + lower] + sorted_input[ia + lower + 1])


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Largest 6-connected component of a boolean volume.

    # nilearn _utils/ndimage.py largest_connected_component: ndimage.label
    # with its default (face, 6-connected) structure; ties go to the lowest label.
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    labels, n_labels = ndimage.label(mask)
    if n_labels <= 1:
        return mask.astype(bool)
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    return labels == counts.argmax()


def compute_epi_mask(
    mean_img: np.ndarray,
    lower_cutoff: float = 0.2,
    upper_cutoff: float = 0.85,
    connected: bool = True,
    opening: int = 2,
) -> np.ndarray:
    r"""Brain mask of an EPI run from its mean image.

    1. smooth the mean image with FWHM 1 voxel (only when ``opening``);
    2. keep voxels :math:`\ge` :func:`epi_threshold`;
    3. erode ``opening`` times, keep the largest 6-connected component,
       dilate ``2 * opening`` times, erode ``opening`` times.

    # nilearn masking.py compute_epi_mask + _post_process_mask; on the SPM
    # auditory tutorial this gives 62073 voxels.

    Parameters
    ----------
    mean_img : ndarray, 3-D
        Mean EPI (see :func:`mean_epi`), un-smoothed.

    Returns
    -------
    mask : ndarray of bool, 3-D
    """
    from scipy import ndimage  # on use: the module loads without it (refglm --help)

    if mean_img.ndim != 3:
        raise InputError(f"mean_img: expected a 3-D array, found shape {mean_img.shape}")
    if opening:
        nan_mask = np.isnan(mean_img)
        mean_img = smooth_array(mean_img, 1.0)
        mean_img[nan_mask] = np.nan
    mean_img = np.where(np.isfinite(mean_img), mean_img, 0)
    threshold = epi_threshold(mean_img, lower_cutoff, upper_cutoff)
    mask = mean_img >= threshold
    if opening:
        mask = ndimage.binary_erosion(mask, iterations=int(opening))
    if not mask.any():
        raise InputError(
            "mask: the EPI mask came out empty (constant or all-zero data?); expected "
            "brain voxels above the intensity gap. Check the functional images, or pass mask_img."
        )
    if connected:
        mask = largest_component(mask)
    if opening:
        mask = ndimage.binary_dilation(mask, iterations=2 * int(opening))
        mask = ndimage.binary_erosion(mask, iterations=int(opening))
    return mask.astype(bool)


def spm_mask_thresholds(g, gSF, threshold: float = SPM_MASK_THRESHOLD) -> np.ndarray:
    r"""SPM's analysis thresholds ``xM.TH``, one per scan, SPM12 ``spm_fmri_spm_ui.m``.

    .. math:: TH_j = g_j\, gSF_j\, \theta

    with :math:`\theta` the batch's ``mthresh`` (0.8). With global normalisation None
    every :math:`gSF_j` is the session's factor, so each threshold still follows its
    own scan's global.
    # SPM12 spm_fmri_spm_ui.m line 367: xM.TH = xGX.rg.*xGX.gSF*gMT (in this order)
    """
    return (np.asarray(g, dtype=np.float64) * np.asarray(gSF, dtype=np.float64)) * threshold


def spm_implicit_mask(data: np.ndarray, gSF, TH) -> np.ndarray:
    r"""SPM12's analysis mask of a 4-D run (no explicit mask), SPM12 ``spm_spm.m``.

    A voxel is kept when its scaled value exceeds the scan's threshold in *every*
    scan (NaN fails) and its scaled series is not constant:

    .. math:: \forall j:\ y_{vj}\, gSF_j > TH_j \quad\text{and}\quad
              \exists j:\ y_{v,j+1} gSF_{j+1} \ne y_{vj} gSF_j

    # SPM12 spm_spm.m lines 591, 596: Cm(Cm) = Y(:,Cm) > xM.TH(i); Cm(Cm) = any(diff(Y(:,Cm),1))

    Parameters
    ----------
    data : ndarray, 4-D (x, y, z, n_scans)
        The raw run (real values; compared in float64).
    gSF, TH : ndarray, shape (n_scans,)
        :func:`refglm.glm.scaling.spm_scale_factors` and :func:`spm_mask_thresholds`.

    Returns
    -------
    mask : ndarray of bool, 3-D
    """
    if data.ndim != 4:
        raise InputError(
            f"data: expected a 4-D run (x, y, z, t), found shape {data.shape}; pass every "
            "scan of the run."
        )
    gSF = np.asarray(gSF, dtype=np.float64)
    TH = np.asarray(TH, dtype=np.float64)
    # one scan at a time (a contiguous volume of a Fortran-ordered run): the same
    # products y * gSF_j, compared with TH_j, as over the whole series at once
    n = data.shape[3]
    keep = np.ones(data.shape[:3], dtype=bool)
    for j in range(n):
        keep &= np.asarray(data[..., j], dtype=np.float64) * gSF[j] > TH[j]
    # not constant: some (y_j+1 gSF_j+1) - (y_j gSF_j) != 0, np.diff's differences
    kept = np.flatnonzero(keep.ravel(order="F"))
    previous = np.asarray(data[..., 0].ravel(order="F")[kept], dtype=np.float64) * gSF[0]
    changes = np.zeros(kept.size, dtype=bool)
    for j in range(1, n):
        current = np.asarray(data[..., j].ravel(order="F")[kept], dtype=np.float64) * gSF[j]
        changes |= (current - previous) != 0
        previous = current
    keep[np.unravel_index(kept, keep.shape, order="F")] = changes
    return keep


# --------------------------------------------------------------- several runs, smoothing


def multi_run_mask(masks, rule: str = "first_run") -> np.ndarray:
    r"""The analysis mask of several runs from each run's mask, by ``multi_run_mask``.

    - ``'first_run'``: the first run's mask;
      # nistats 0.0.1b1 first_level_model.py fit: self.masker_.fit(run_imgs[0])
    - ``'more_than_half'``: the voxels in more than half of the masks, then the
      largest 6-connected component (when any voxel is left):

      .. math:: M = \mathrm{LCC}\Big(\Big\{v : \sum_r M_r(v) > \min(0.5, 1 - 10^{-7})\,
                R\Big\}\Big)

      # nilearn 0.14.1 masking.py compute_multi_epi_mask(threshold=0.5, connected=True)
      # -> intersect_masks: grp_mask > threshold * len(mask_imgs), then
      # largest_connected_component

    Parameters
    ----------
    masks : sequence of ndarray of bool, 3-D, one per run
    rule : {'first_run', 'more_than_half'}

    Returns
    -------
    mask : ndarray of bool, 3-D
    """
    if rule not in MULTI_RUN_MASKS:
        raise InputError(
            f"multi_run_mask: expected one of {MULTI_RUN_MASKS}, found {rule!r}; pick a "
            "value from refglm.glm.masking.MULTI_RUN_MASKS."
        )
    masks = [np.asarray(m, dtype=bool) for m in masks]
    if not masks:
        raise InputError("masks: expected one mask per run, found none.")
    if rule == "first_run":
        return masks[0]
    count = np.zeros(masks[0].shape, dtype=int)
    for m in masks:
        count += m
    keep = count > min(0.5, 1 - 1.0e-7) * len(masks)
    if keep.any():
        keep = largest_component(keep)
    return keep


def smooth_run(data: np.ndarray, affine: np.ndarray, fwhm) -> np.ndarray:
    r"""Gaussian smoothing of a volume or run with a FWHM in millimetres, as nilearn's masker.

    With the voxel sizes :math:`s_n = \lVert A_{:, n} \rVert` (the column norms of the
    affine's 3x3 part) and :math:`\sigma_n = \mathrm{FWHM}_n / (\sqrt{8\ln 2}\, s_n)`,
    ``scipy.ndimage.gaussian_filter1d(arr, sigma_n, axis=n)`` along x, y, z (each with
    :math:`\sigma_n > 0`), in place on a copy in the data's float dtype (integers:
    float32, or float64 for 64-bit ones), after setting non-finite values to 0; the
    filter's defaults (``mode='reflect'``, ``truncate=4.0``).
    # nilearn 0.14.1 image/image.py smooth_array(arr, affine, fwhm, ensure_finite=True,
    # copy=True), called by maskers' filter_and_extract on the whole 4-D image before
    # masking. nistats' nilearn 0.6 _smooth_array: the same formula.

    Parameters
    ----------
    data : ndarray, 3-D or 4-D
    affine : ndarray (4, 4)
    fwhm : float, sequence of 3 floats (None entries: no smoothing on that axis), or None

    Returns
    -------
    ndarray
        A smoothed copy (``data`` itself when ``fwhm`` is None or 0).
    """
    from scipy.ndimage import gaussian_filter1d  # on use: the module loads without scipy

    if fwhm is None or (np.ndim(fwhm) == 0 and float(fwhm) == 0.0):
        return data
    arr = np.asarray(data)
    if arr.dtype.kind in ("i", "u"):
        arr = arr.astype(np.float64 if arr.dtype in (np.int64, np.uint64) else np.float32)
    arr = arr.copy()
    arr[~np.isfinite(arr)] = 0
    fwhm = np.asarray([fwhm], dtype=object).ravel()
    fwhm = np.asarray([0.0 if elem is None else elem for elem in fwhm], dtype=np.float64)
    scale = np.asarray(affine, dtype=np.float64)[:3, :3]
    vox_size = np.sqrt(np.sum(scale**2, axis=0))
    sigma = fwhm / (FWHM_OVER_SIGMA * vox_size)
    for n, s in enumerate(sigma):
        if s > 0.0:
            gaussian_filter1d(arr, s, output=arr, axis=n)
    return arr


def background_mask(data: np.ndarray, border_size: int = 2) -> np.ndarray:
    r"""nilearn's background mask of a 3-D or 4-D array: what differs from the border.

    With :math:`\bar x` the mean over the 4th axis (if any) and :math:`B` the voxels
    within ``border_size`` of a face:

    .. math:: M = \{v : \bar x_v \ne \mathrm{median}_{u \in B}\, \bar x_u\}

    or, when the border holds NaN, :math:`M = \{v : \bar x_v \text{ is not NaN}\}`.
    # nilearn 0.14.1 masking.py compute_background_mask (opening=False, connected=False)
    # and _utils/ndimage.py get_border_data; NiftiMasker(mask_strategy='background')

    Returns
    -------
    mask : ndarray of bool, 3-D
    """
    mean = np.asarray(data)
    if mean.ndim == 4:
        mean = mean.mean(axis=-1)
    b = int(border_size)
    border = np.concatenate(
        [
            mean[:b, :, :].ravel(),
            mean[-b:, :, :].ravel(),
            mean[:, :b, :].ravel(),
            mean[:, -b:, :].ravel(),
            mean[:, :, :b].ravel(),
            mean[:, :, -b:].ravel(),
        ]
    )
    if np.isnan(border).any():
        mask = ~np.isnan(mean)
    else:
        mask = mean != np.median(border)
    if not mask.any():
        raise InputError(
            "mask: the background mask is empty (every voxel equals the border's median); "
            "pass a mask."
        )
    return mask
