"""refglm: a correctness reference for first-level fMRI GLMs.

Every voxel is fitted in the open with statsmodels (OLS pass, AR(1)
estimate, GLSAR on whitened data); the nistats SPM auditory tutorial is
reproduced exactly under the default ``'nistats'`` convention.

``refglm.FirstLevelModel`` computes under that ``'nistats'`` convention; code written for
nilearn 0.14.1 ports by importing from ``refglm.nilearn`` instead of ``nilearn`` (its
names, signatures, defaults and numbers), code written for nistats 0.0.1b1 from
``refglm.nistats`` instead of ``nistats``.

The public names load on first use (PEP 562 ``__getattr__``), so that
``import refglm`` and ``refglm --help`` load no numerics, statsmodels,
pandas, nibabel, matplotlib or jinja2.
"""

from refglm._version import __version__
from refglm.exceptions import (
    DataIntegrityError,
    InputError,
    NotEstimableError,
    OutputWriteError,
)

__all__ = [
    "FirstLevelModel",
    "map_threshold",
    "get_clusters_table",
    "CONVENTIONS",
    "get_convention",
    "InputError",
    "DataIntegrityError",
    "NotEstimableError",
    "OutputWriteError",
    "__version__",
]


def __getattr__(name):
    if name == "FirstLevelModel":
        from refglm.first_level import FirstLevelModel

        return FirstLevelModel
    if name == "map_threshold":
        from refglm.first_level import map_threshold

        return map_threshold
    if name == "get_clusters_table":
        from refglm.first_level import get_clusters_table

        return get_clusters_table
    if name == "CONVENTIONS":
        from refglm.conventions import CONVENTIONS

        return CONVENTIONS
    if name == "get_convention":
        from refglm.conventions import get_convention

        return get_convention
    raise AttributeError(f"module 'refglm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
