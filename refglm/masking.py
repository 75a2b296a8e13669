"""Brain mask from the mean EPI, with ``nilearn.masking.compute_epi_mask`` semantics.

nistats' ``FirstLevelModel.fit`` builds ``NiftiMasker(mask_strategy='epi')``
and fits it on the run; that calls ``compute_epi_mask`` with its defaults
(lower_cutoff=0.2, upper_cutoff=0.85, connected=True, opening=2,
exclude_zeros=False, ensure_finite=True). The steps below follow nilearn
``masking.py`` (unchanged in substance from nilearn 0.5 to 0.14.1).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from refglm.exceptions import InputError

__all__ = ["mean_epi", "smooth_array", "epi_threshold", "compute_epi_mask", "largest_component"]

# FWHM = sigma * sqrt(8 ln 2)
FWHM_OVER_SIGMA = np.sqrt(8 * np.log(2))


def mean_epi(data: np.ndarray) -> np.ndarray:
    r"""Mean over time of a 4-D run, in the run's dtype.

    .. math:: \bar{y}_v = \frac{1}{T} \sum_t y_{v,t}

    For float32 input numpy accumulates in float32, as ``nilearn.image``'s
    ``_compute_mean`` (``mean_data.mean(axis=-1)``) did for the tutorial; the
    summation order follows the array's memory layout.
    """
    if data.ndim != 4:
        raise InputError(f"data: expected a 4-D run (x, y, z, t), found shape {data.shape}")
    return data.mean(axis=-1)


def smooth_array(arr: np.ndarray, fwhm_voxels: float = 1.0) -> np.ndarray:
    r"""Gaussian smoothing with a FWHM given in voxels, in place on a copy.

    .. math:: \sigma = \mathrm{FWHM} / \sqrt{8 \ln 2}

    applied as separable ``scipy.ndimage.gaussian_filter1d`` passes along
    x, y then z (default truncate 4.0). Non-finite values are set to 0 first.
    # nilearn image.py _smooth_array, called with affine=np.eye(4) by _compute_mean
    """
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
