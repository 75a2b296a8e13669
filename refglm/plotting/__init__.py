"""Figures of a first-level analysis, drawn with matplotlib alone (the only importer of it).

Every figure of the nistats SPM auditory tutorial has a function here, with
nistats' and nilearn's signatures, so that the tutorial's calls run as written:

- ``plot_design_matrix(dm, output_file=...)``, ``plot_contrast_matrix(c,
  design_matrix=dm)``, ``plot_design_matrix_correlation(dm)`` and the
  tutorial's expected response, ``plot_regressors`` (:mod:`.design`);
- ``plot_stat_map(z_map, bg_img=mean_img, threshold=3.0, display_mode='z',
  cut_coords=3, black_bg=True, title=...)`` and ``plot_mask`` (:mod:`.images`):
  images (nibabel or paths, read through :mod:`refglm.io`) in; below them the
  arrays layer, ``stat_map_figure`` and ``mask_figure`` (:mod:`.maps`), takes
  arrays and an affine;
- one voxel's fit, ``plot_voxel_trace`` (:mod:`.trace`), and the comparison
  figures of ``refglm compare`` (:mod:`.compare`, PNG bytes).

Each ``plot_*`` function returns a :class:`matplotlib.figure.Figure` and
writes it when given ``output_file``. The figures live outside pyplot, each on
its own Agg canvas: no call changes the session's backend or pyplot's state,
and a figure shows inline in a Jupyter notebook. :func:`figure_png` gives a
figure's PNG bytes without timestamp (a report embeds exactly the files
written beside it; repeated runs give identical bytes). Slices are drawn in the
**neurological convention**: the subject's left (world x < 0, RAS+ mm) on the
left of each cut, as nilearn draws them, marked ``L`` and ``R``. matplotlib is
imported inside the functions, so that importing refglm does not load it.
"""

from refglm.plotting._figure import DISPLAY_CONVENTION, figure_png, new_figure, save_figure
from refglm.plotting.compare import bland_altman_png, delta_slices_png
from refglm.plotting.design import (
    plot_contrast_matrix,
    plot_design_matrix,
    plot_design_matrix_correlation,
    plot_regressors,
)
from refglm.plotting.images import plot_mask, plot_stat_map
from refglm.plotting.maps import (
    CUT_RULE,
    MIN_BRAIN_FRACTION,
    MIN_GAP_MM,
    axis_codes,
    choose_axial_cuts,
    mask_figure,
    reorient_to_ras,
    stat_map_figure,
)
from refglm.plotting.trace import plot_voxel_trace

__all__ = [
    "plot_design_matrix",
    "plot_design_matrix_correlation",
    "plot_regressors",
    "plot_contrast_matrix",
    "plot_stat_map",
    "plot_mask",
    "plot_voxel_trace",
    "stat_map_figure",
    "mask_figure",
    "figure_png",
    "new_figure",
    "save_figure",
    "bland_altman_png",
    "delta_slices_png",
    "axis_codes",
    "reorient_to_ras",
    "choose_axial_cuts",
    "CUT_RULE",
    "MIN_BRAIN_FRACTION",
    "MIN_GAP_MM",
    "DISPLAY_CONVENTION",
]
