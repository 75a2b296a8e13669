"""refglm: a correctness reference for first-level fMRI GLMs.

Every voxel is fitted in the open with statsmodels (OLS pass, AR(1)
estimate, GLSAR on whitened data); the nistats SPM auditory tutorial is
reproduced exactly under the default ``'nistats'`` convention.
"""

from refglm.conventions import CONVENTIONS, get_convention
from refglm.exceptions import DataIntegrityError, InputError, NotEstimableError
from refglm.model import FirstLevelModel
from refglm.pipeline import get_clusters_table, map_threshold

__version__ = "0.1.0"

__all__ = [
    "FirstLevelModel",
    "map_threshold",
    "get_clusters_table",
    "CONVENTIONS",
    "get_convention",
    "InputError",
    "DataIntegrityError",
    "NotEstimableError",
    "__version__",
]
