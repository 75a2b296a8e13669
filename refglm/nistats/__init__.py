"""nistats 0.0.1b1's API, computed by refglm: port a nistats script by changing its imports.

The submodules mirror nistats': ``from nistats.first_level_model import
FirstLevelModel`` becomes ``from refglm.nistats.first_level_model import
FirstLevelModel``, and likewise ``datasets``, ``design_matrix``, ``thresholding`` and
``reporting``; the nilearn 0.6 calls of a nistats script (``nilearn.image``,
``nilearn.plotting``) are ``refglm.nistats.image`` and ``refglm.nistats.plotting``.
Names, signatures and defaults are nistats 0.0.1b1's (the SPM auditory tutorial's
version), the numbers those of convention 'nistats' (the tutorial's golden values).
The same names are importable from ``refglm.nistats`` directly.

The top-level ``refglm.FirstLevelModel`` uses the same convention with refglm's own
defaults; ``refglm.nilearn`` is the facade of nilearn 0.14.1.
"""

from refglm.nistats.datasets import fetch_spm_auditory
from refglm.nistats.design_matrix import check_design_matrix, make_first_level_design_matrix
from refglm.nistats.first_level_model import FirstLevelModel, mean_scaling
from refglm.nistats.reporting import (
    get_clusters_table,
    make_glm_report,
    plot_contrast_matrix,
    plot_design_matrix,
)
from refglm.nistats.thresholding import fdr_threshold, map_threshold

__all__ = [
    "FirstLevelModel",
    "check_design_matrix",
    "fdr_threshold",
    "fetch_spm_auditory",
    "get_clusters_table",
    "make_first_level_design_matrix",
    "make_glm_report",
    "map_threshold",
    "mean_scaling",
    "plot_contrast_matrix",
    "plot_design_matrix",
]
