"""Figures of a first-level analysis, drawn with matplotlib alone (the only importer of it).

Every figure of the nistats SPM auditory tutorial has a function here: the design
matrix, a regressor of it and a contrast's weights (:mod:`.design`, after nistats
``reporting.plot_design_matrix`` / ``plot_contrast_matrix``), a thresholded
statistical map over the mean EPI in three axial cuts and the brain mask
(:mod:`.maps`, after ``nilearn.plotting.plot_stat_map(..., display_mode='z',
cut_coords=3, black_bg=True)``), one voxel's fit (:mod:`.trace`), and the
comparison figures of ``refglm compare`` (:mod:`.compare`).

matplotlib is imported inside the functions, with the Agg backend, so that
importing refglm does not load it. Images take arrays and a voxel-to-world affine
(no nibabel here). Slices are shown in the **neurological convention**: the
subject's left (world x < 0, RAS+ mm) on the left of each cut, as nilearn draws
them, with ``L`` and ``R`` marked. Each function returns the PNG bytes (and writes
them when given a path), so that a report can embed exactly the files written
beside it; the PNGs carry no timestamp, so repeated runs give identical bytes.
"""

from refglm.plotting._figure import DISPLAY_CONVENTION
from refglm.plotting.compare import bland_altman_png, delta_slices_png
from refglm.plotting.design import plot_contrast_matrix, plot_design_matrix, plot_regressors
from refglm.plotting.maps import (
    axis_codes,
    choose_axial_cuts,
    plot_mask,
    plot_stat_map,
    reorient_to_ras,
)
from refglm.plotting.trace import plot_voxel_trace

__all__ = [
    "plot_design_matrix",
    "plot_regressors",
    "plot_contrast_matrix",
    "plot_stat_map",
    "plot_mask",
    "plot_voxel_trace",
    "bland_altman_png",
    "delta_slices_png",
    "axis_codes",
    "reorient_to_ras",
    "choose_axial_cuts",
    "DISPLAY_CONVENTION",
]
