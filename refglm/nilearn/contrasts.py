"""nilearn 0.14.1's ``compute_fixed_effects`` and ``expression_to_contrast_vector``, on images."""

from __future__ import annotations

import numpy as np

from refglm import io
from refglm.exceptions import InputError
from refglm.glm.contrasts import expression_to_contrast_vector, fixed_effects_params
from refglm.glm.masking import background_mask

__all__ = ["compute_fixed_effects", "expression_to_contrast_vector"]


def _masked(imgs, mask):
    values = []
    for img in imgs:
        data, _ = io.image_data(img)
        values.append(data[mask] if data.ndim == 3 else data[mask].T)
    return np.asarray(values)


def compute_fixed_effects(
    contrast_imgs, variance_imgs, mask=None, precision_weighted=False, dofs=None
):
    r"""Fixed effects of contrast and variance images: nilearn 0.14.1's ``compute_fixed_effects``.

    Over the mask (None: nilearn's background mask of the contrast images,
    ``refglm.glm.masking.background_mask``), with :math:`v_i = \max(v_i, 10^{-16})`:
    precision-weighted :math:`V = (\sum 1/v_i)^{-1}`, :math:`E = V\sum e_i/v_i`, else
    :math:`V = \bar v / n`, :math:`E = \bar e`; t (or F) on :math:`\sum` ``dofs``
    degrees of freedom (100 per image when None), and z by nilearn's two-tailed rule
    (``refglm.glm.contrasts.fixed_effects_params``).
    # nilearn 0.14.1 glm/contrasts.py compute_fixed_effects, _compute_fixed_effects_params

    Returns
    -------
    fixed_fx_contrast_img, fixed_fx_variance_img, fixed_fx_stat_img, fixed_fx_z_score_img
    """
    if len(contrast_imgs) != len(variance_imgs):
        raise InputError(
            f"contrast_imgs, variance_imgs: expected as many of each, found "
            f"{len(contrast_imgs)} and {len(variance_imgs)}."
        )
    first, affine = io.image_data(contrast_imgs[0])
    if mask is None:
        stack = [io.image_data(img)[0] for img in contrast_imgs]
        mask = background_mask(np.stack(stack, axis=-1))
    else:
        mask = io.image_data(mask)[0] > 0
    effect, variance, stat, z = fixed_effects_params(
        _masked(contrast_imgs, mask),
        _masked(variance_imgs, mask),
        precision_weighted,
        dofs,
        z_method="two_tailed_ppf",
    )

    def image(values):
        values = np.asarray(values)
        vol = np.zeros((*mask.shape, values.shape[0]) if values.ndim == 2 else mask.shape)
        vol[mask] = values.T if values.ndim == 2 else values
        return io.to_image(vol, affine)

    return image(effect), image(variance), image(stat), image(z)
