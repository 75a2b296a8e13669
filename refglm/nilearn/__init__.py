"""nilearn 0.14.1's first-level API, computed by refglm: port a nilearn script by one import.

``from nilearn.glm.first_level import FirstLevelModel`` becomes ``from refglm.nilearn
import FirstLevelModel`` (or ``from refglm.nilearn.glm.first_level import ...``: the
submodules mirror nilearn's, ``glm``, ``glm.first_level``, ``reporting``, ``plotting``
and ``image``), with nilearn 0.14.1's names, signatures, defaults and convention
(``refglm.conventions.CONVENTIONS['nilearn']``): nilearn's numbers, checked live by
``tests/peers/test_nilearn.py`` and ``tests/peers/test_nilearn_api.py``.

The top-level ``refglm.FirstLevelModel`` keeps the nistats tutorial's convention;
``refglm.nistats`` is the facade of nistats 0.0.1b1.
"""

from refglm.nilearn.bids import first_level_from_bids
from refglm.nilearn.contrasts import compute_fixed_effects, expression_to_contrast_vector
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
from refglm.nilearn.plotting import (
    plot_contrast_matrix,
    plot_design_matrix,
    plot_design_matrix_correlation,
    plot_stat_map,
)
from refglm.nilearn.reporting import get_clusters_table, make_glm_report
from refglm.nilearn.thresholding import fdr_threshold, threshold_stats_img

__all__ = [
    "FirstLevelModel",
    "check_design_matrix",
    "compute_fixed_effects",
    "compute_regressor",
    "expression_to_contrast_vector",
    "fdr_threshold",
    "first_level_from_bids",
    "get_clusters_table",
    "glover_dispersion_derivative",
    "glover_hrf",
    "glover_time_derivative",
    "make_first_level_design_matrix",
    "make_glm_report",
    "mean_scaling",
    "plot_contrast_matrix",
    "plot_design_matrix",
    "plot_design_matrix_correlation",
    "plot_stat_map",
    "spm_dispersion_derivative",
    "spm_hrf",
    "spm_time_derivative",
    "threshold_stats_img",
]
