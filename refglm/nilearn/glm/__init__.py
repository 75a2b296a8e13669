"""``nilearn.glm``'s names, computed by refglm under convention 'nilearn'.

``from nilearn.glm import threshold_stats_img`` becomes ``from refglm.nilearn.glm import
threshold_stats_img``; ``nilearn.glm.first_level`` is :mod:`refglm.nilearn.glm.first_level`.
"""

from refglm.nilearn.contrasts import compute_fixed_effects, expression_to_contrast_vector
from refglm.nilearn.thresholding import fdr_threshold, threshold_stats_img

__all__ = [
    "compute_fixed_effects",
    "expression_to_contrast_vector",
    "fdr_threshold",
    "threshold_stats_img",
]
