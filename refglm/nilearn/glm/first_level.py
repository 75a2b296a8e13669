"""``nilearn.glm.first_level``'s names, computed by refglm under convention 'nilearn'.

``from nilearn.glm.first_level import FirstLevelModel`` becomes ``from
refglm.nilearn.glm.first_level import FirstLevelModel``.
"""

from refglm.nilearn.bids import first_level_from_bids
from refglm.nilearn.design import (
    check_design_matrix,
    compute_regressor,
    glover_dispersion_derivative,
    glover_hrf,
    glover_time_derivative,
    make_first_level_design_matrix,
    mean_scaling,
    spm_dispersion_derivative,
    spm_hrf,
    spm_time_derivative,
)
from refglm.nilearn.model import FirstLevelModel

__all__ = [
    "FirstLevelModel",
    "check_design_matrix",
    "compute_regressor",
    "first_level_from_bids",
    "glover_dispersion_derivative",
    "glover_hrf",
    "glover_time_derivative",
    "make_first_level_design_matrix",
    "mean_scaling",
    "spm_dispersion_derivative",
    "spm_hrf",
    "spm_time_derivative",
]
