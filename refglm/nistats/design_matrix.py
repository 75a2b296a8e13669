"""nistats 0.0.1b1's ``design_matrix``: ``make_first_level_design_matrix`` and its check."""

from __future__ import annotations

from refglm.glm import design as _design
from refglm.nilearn.design import check_design_matrix

__all__ = ["make_first_level_design_matrix", "check_design_matrix"]


def make_first_level_design_matrix(
    frame_times,
    events=None,
    hrf_model="glover",
    drift_model="cosine",
    high_pass=0.01,
    drift_order=1,
    fir_delays=[0],  # noqa: B006  (nistats 0.0.1b1's default, a list)
    add_regs=None,
    add_reg_names=None,
    min_onset=-24,
    oversampling=50,
):
    """A first-level design matrix: nistats 0.0.1b1's ``make_first_level_design_matrix``.

    ``refglm.glm.design.make_first_level_design_matrix(..., convention='nistats')``
    (nistats' HRF and design formulas, ``refglm.glm.design.formulas``).
    # nistats 0.0.1b1 design_matrix.py make_first_level_design_matrix
    """
    return _design.make_first_level_design_matrix(
        frame_times,
        events,
        hrf_model=hrf_model,
        drift_model=drift_model,
        high_pass=high_pass,
        drift_order=drift_order,
        fir_delays=fir_delays,
        add_regs=add_regs,
        add_reg_names=add_reg_names,
        min_onset=min_onset,
        oversampling=oversampling,
        convention="nistats",
    )
