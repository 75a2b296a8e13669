"""The nilearn 0.6 image calls of a nistats script (``concat_imgs``, ``mean_img``), by refglm."""

from refglm.first_level.images import concat_imgs, mean_img

__all__ = ["concat_imgs", "mean_img"]
