"""nilearn's ``concat_imgs`` and ``mean_img``, so that a ported script needs no nilearn."""

from refglm.first_level.images import concat_imgs, mean_img

__all__ = ["concat_imgs", "mean_img"]
