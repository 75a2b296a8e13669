"""The dtype in which a run's 4-D array is held (the convention's ``input_dtype``).

A module of its own, without nibabel at import, so that ``refglm.conventions`` (and
``refglm --help``) read :data:`INPUT_DTYPES` without loading nibabel.
"""

from __future__ import annotations

import numpy as np

from refglm.exceptions import InputError

__all__ = ["run_dtype", "INPUT_DTYPES", "CONCAT_DTYPE"]

INPUT_DTYPES = ("native", "float32", "float64")

# nilearn image/image.py concat_imgs(niimgs, dtype=np.float32, ...)
CONCAT_DTYPE = np.dtype(np.float32)


def run_dtype(run_imgs, input_dtype: str = "native") -> np.dtype:
    """The dtype in which a run's 4-D array is held, by the convention's ``input_dtype``.

    - ``'native'``: a list of 3-D volumes is stacked as float32, the default of
      ``nilearn.image.concat_imgs`` (nistats and nilearn 0.14.1 take a list as
      several runs, so one run of 3-D volumes must be stacked first, as the
      tutorial did); one 4-D image keeps its stored dtype (``check_niimg`` with
      ``dtype=None``);
    - ``'float32'``, ``'float64'``: that dtype, whatever the input.

    Raises
    ------
    InputError
        For an unknown ``input_dtype``.
    """
    if input_dtype == "float32":
        return np.dtype(np.float32)
    if input_dtype == "float64":
        return np.dtype(np.float64)
    if input_dtype != "native":
        raise InputError(
            f"input_dtype: expected one of {INPUT_DTYPES}, found {input_dtype!r}; pick a "
            "value from refglm.io.INPUT_DTYPES."
        )
    if isinstance(run_imgs, list | tuple):
        if len(run_imgs) != 1:
            return CONCAT_DTYPE
        run_imgs = run_imgs[0]
    from refglm.io.images import stored_dtype  # on use: this module loads without nibabel

    return stored_dtype(run_imgs)
