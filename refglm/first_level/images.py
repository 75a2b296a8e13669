"""The two image operations the tutorials call around the model: stacking and averaging a run.

``concat_imgs`` and ``mean_img`` with nilearn's names and defaults, through
``refglm.io`` (images in, images out), so that a ported script needs no nilearn:
``refglm.nilearn.image`` and ``refglm.nistats.image`` export them.
"""

from __future__ import annotations

import numpy as np

from refglm import io
from refglm.exceptions import InputError

__all__ = ["concat_imgs", "mean_img"]


def concat_imgs(
    niimgs,
    dtype=np.float32,
    ensure_ndim=None,
    memory=None,
    memory_level=0,
    auto_resample=False,
    verbose=0,
):
    """Stack 3-D volumes (or 4-D images) into one 4-D image of ``dtype``, as nilearn.

    Each volume's values are nibabel's float64 read cast to ``dtype`` (float32 by
    default), in a Fortran-ordered array (``refglm.io.load_run``).
    # nilearn 0.14.1 image/image.py concat_imgs(niimgs, dtype=np.float32, ...) (0.6.2:
    # the same default), as the nistats tutorial stacks ``subject_data.func``

    Parameters
    ----------
    niimgs : list of paths or nibabel images (3-D), or one 4-D image
    dtype : numpy dtype, default float32
    ensure_ndim, memory, memory_level, verbose
        Accepted for nilearn's signature; ``ensure_ndim`` must be None or 4.
    auto_resample : bool
        False only: the volumes must share one grid (refglm does not resample).

    Returns
    -------
    nibabel.Nifti1Image
    """
    del memory, memory_level, verbose  # no caching, no log
    if ensure_ndim not in (None, 4):
        raise InputError(f"ensure_ndim: expected None or 4, found {ensure_ndim!r}.")
    if auto_resample:
        raise InputError(
            "auto_resample: expected False (refglm does not resample images), found True; "
            "resample the volumes to one grid first."
        )
    if not isinstance(niimgs, list | tuple):
        niimgs = [niimgs]
    data, affine = io.load_run(list(niimgs), dtype=np.dtype(dtype))
    return io.to_image(data, affine)


def mean_img(imgs, target_affine=None, target_shape=None, verbose=0, n_jobs=1, copy_header=True):
    """The mean over time of a 4-D image (or of a list of images), as nilearn's ``mean_img``.

    .. math:: \\bar y_v = \\frac{1}{n} \\sum_t y_{v,t}

    as a 3-D image on the same grid, computed in float64 (nilearn keeps the data's
    dtype: the two differ by float32 rounding, a background for figures either way).
    # nilearn 0.14.1 image/image.py mean_img -> compute_mean: data.mean(axis=-1)

    Parameters
    ----------
    imgs : path, nibabel image, or list of them
    target_affine, target_shape
        None only (refglm does not resample).
    verbose, n_jobs, copy_header
        Accepted for nilearn's signature.

    Returns
    -------
    nibabel.Nifti1Image
    """
    del verbose, n_jobs, copy_header
    if target_affine is not None or target_shape is not None:
        raise InputError(
            "target_affine, target_shape: expected None (refglm does not resample), found a "
            "target; resample the images first."
        )
    if isinstance(imgs, list | tuple):
        data, affine = io.load_run(list(imgs), dtype=np.float32)
    else:
        data, affine = io.image_data(imgs)
    if data.ndim == 4:
        data = data.mean(axis=-1)
    return io.to_image(np.asarray(data), affine)
