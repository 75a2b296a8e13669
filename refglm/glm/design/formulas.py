"""The design formulas of each lineage: the table behind the convention choice ``hrf_formula``.

nistats 0.0.1rc0 (``nistats/hemodynamic_models.py``, ``design_matrix.py``) and nilearn
0.14.1 (``nilearn/glm/first_level/``) build design matrices with the same steps and
differ in seven small formulas. :data:`DESIGN_FORMULAS` gives, for each lineage, its
value of every one; the steps read the ones they use:

- HRF shapes (:mod:`.hrf_shapes`, :mod:`.hrf_derivatives`): ``gamma_parametrisation``,
  ``glover_ratio``;
- event regressors (:mod:`.sampling`, :mod:`.hrf`): ``t_r_estimate``,
  ``onset_accumulation``, ``n_hr_product``;
- the matrix (:mod:`.matrix`, :mod:`.events`): ``duplicate_events``,
  ``add_regs_names_from_dataframe``.

Each choice is described where it acts. ``Convention.hrf_formula`` names a row
(:data:`HRF_FORMULAS`); a function that takes ``convention=`` also accepts a mapping
holding the choices it reads (:func:`refglm.glm.design._validate.resolve_convention`).

``Convention.design_builder`` (:data:`DESIGN_BUILDERS`) chooses between the two
builders: nistats' and nilearn's ``make_first_level_design_matrix`` (:mod:`.matrix`,
regressors sampled at the frame times, drifts as columns, these formulas) and SPM12's
``spm_fMRI_design`` (:mod:`.spm`, the microtime grid and its onset bin, the conditions
and one constant, the drifts a separate basis for the filter), which reads none of them.
"""

from __future__ import annotations

__all__ = [
    "DESIGN_BUILDERS",
    "DESIGN_FORMULAS",
    "HRF_FORMULAS",
    "HRF_FORMULA_CHOICES",
    "MATRIX_FORMULA_CHOICES",
    "HRF_CHOICES",
    "DESIGN_CHOICES",
]

#: The accepted values of the convention choice ``design_builder``: nistats' and
#: nilearn's builder, or SPM12's (``refglm.glm.design.spm.spm_fmri_design``).
DESIGN_BUILDERS: tuple[str, ...] = ("make_first_level_design_matrix", "spm_fMRI_design")

#: For each lineage, the value of every design formula choice.
DESIGN_FORMULAS: dict[str, dict[str, object]] = {
    "nistats": {
        "gamma_parametrisation": "dispersion_divides_loc",
        "glover_ratio": 0.35,
        "t_r_estimate": "max_over_n_minus_1",
        "onset_accumulation": "fancy_index",
        "n_hr_product": "left_to_right",
        "duplicate_events": "keep",
        "add_regs_names_from_dataframe": False,
    },
    "nilearn": {
        "gamma_parametrisation": "dispersion_is_scale",
        "glover_ratio": 0.48,
        "t_r_estimate": "min_diff",
        "onset_accumulation": "sequential",
        "n_hr_product": "grouped",
        "duplicate_events": "sum_modulation",
        "add_regs_names_from_dataframe": True,
    },
}

#: The accepted values of the convention choice ``hrf_formula``.
HRF_FORMULAS: tuple[str, ...] = tuple(DESIGN_FORMULAS)

#: The choices the HRF and regressor steps read.
HRF_FORMULA_CHOICES = (
    "gamma_parametrisation",
    "glover_ratio",
    "t_r_estimate",
    "onset_accumulation",
    "n_hr_product",
)
#: The choices the matrix step reads.
MATRIX_FORMULA_CHOICES = ("duplicate_events", "add_regs_names_from_dataframe")


def _view(keys) -> dict[str, dict[str, object]]:
    return {name: {k: row[k] for k in keys} for name, row in DESIGN_FORMULAS.items()}


#: :data:`DESIGN_FORMULAS` restricted to the HRF and regressor choices.
HRF_CHOICES = _view(HRF_FORMULA_CHOICES)
#: :data:`DESIGN_FORMULAS` restricted to the matrix choices.
DESIGN_CHOICES = _view(MATRIX_FORMULA_CHOICES)
