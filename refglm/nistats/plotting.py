"""The nilearn plotting calls of a nistats script, drawn by refglm (``refglm.nilearn.plotting``).

nistats 0.0.1b1 scripts import ``plot_stat_map``, ``plot_anat``, ``plot_img`` and
``show`` from nilearn 0.6; the tutorial's keyword calls are the same in nilearn
0.14.1, whose signatures ``refglm.nilearn.plotting`` copies.
"""

from refglm.nilearn.plotting import plot_anat, plot_img, plot_stat_map, show

__all__ = ["plot_anat", "plot_img", "plot_stat_map", "show"]
