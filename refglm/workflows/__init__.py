"""What the commands run, as library functions: the tutorial, a fit, one voxel's trace.

- :mod:`.tutorial`: the nistats SPM auditory tutorial (``refglm tutorial``,
  ``refglm validate``);
- :mod:`.fit`: any run, with BIDS-derivative outputs (``refglm fit``);
- :mod:`.explain_voxel`: one voxel of the tutorial model, number by number
  (``refglm explain-voxel``: ``explain_voxel.explain_voxel``, not collected here, where
  the function would hide its module).
"""

from refglm.workflows.fit import FitResults, run_fit, write_fit
from refglm.workflows.tutorial import (
    TUTORIAL_CLUSTER_THRESHOLD,
    TUTORIAL_CONTRASTS,
    TUTORIAL_F_MAP,
    TUTORIAL_MAPS,
    TUTORIAL_PARAMETERS,
    TUTORIAL_TABLE,
    TutorialResults,
    run_tutorial,
    tutorial_summaries,
    write_tutorial,
)

__all__ = [
    "run_tutorial",
    "write_tutorial",
    "tutorial_summaries",
    "TutorialResults",
    "TUTORIAL_CONTRASTS",
    "TUTORIAL_PARAMETERS",
    "TUTORIAL_CLUSTER_THRESHOLD",
    "TUTORIAL_MAPS",
    "TUTORIAL_F_MAP",
    "TUTORIAL_TABLE",
    "run_fit",
    "write_fit",
    "FitResults",
]
