"""Image-level steps, the tutorial, ``refglm fit`` and ``explain-voxel`` as pipelines.

``map_threshold`` and ``get_clusters_table`` take nibabel images (or paths),
as nistats' did, and hand arrays to the numerics in ``thresholds.py`` and
``clusters.py``. ``run_tutorial`` runs the whole seed tutorial and
``write_tutorial`` writes its results; ``run_fit`` and ``write_fit`` do the
same for any run (``refglm fit``). Both writers go through
``write_glm_outputs`` (BIDS-derivative names as nilearn's
``save_glm_to_bids``) and ``refglm.report.write_products`` (figures and
``report.html``). ``explain_voxel`` traces one voxel of the tutorial model
with ``refglm.trace``.

The steps live in their own modules and are re-exported here:
``refglm.maps`` (image-level thresholds and cluster tables),
``refglm.outputs`` (contrast names, summaries, BIDS-derivative writers),
``refglm.tutorial``, ``refglm.fit_run`` and ``refglm.explain``.
"""

from __future__ import annotations

from refglm.explain import explain_voxel
from refglm.fit_run import FitResults, first_level_design, parse_contrast, run_fit, write_fit
from refglm.maps import get_clusters_table, map_threshold
from refglm.outputs import (
    ContrastSummary,
    ThresholdedMap,
    camel_case_contrast_name,
    write_figures_and_report,
    write_glm_outputs,
)
from refglm.tutorial import (
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
    "map_threshold",
    "get_clusters_table",
    "run_tutorial",
    "write_tutorial",
    "tutorial_summaries",
    "write_glm_outputs",
    "run_fit",
    "write_fit",
    "parse_contrast",
    "explain_voxel",
    "first_level_design",
    "TutorialResults",
    "FitResults",
    "ContrastSummary",
    "ThresholdedMap",
    "camel_case_contrast_name",
    "TUTORIAL_CONTRASTS",
    "TUTORIAL_PARAMETERS",
    "TUTORIAL_MAPS",
    "TUTORIAL_F_MAP",
    "TUTORIAL_TABLE",
    "write_figures_and_report",
]
