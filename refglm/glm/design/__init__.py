"""The design of a first-level GLM: events in, design matrix out (numerics, arrays in, arrays out).

The steps, one module each: events (:mod:`.events`), HRF shapes and their derivatives
(:mod:`.hrf_shapes`, :mod:`.hrf_derivatives`), event regressors (:mod:`.hrf`, sampled
and convolved in :mod:`.sampling`), drifts (:mod:`.drifts`), and the matrix
(:mod:`.matrix`). The formulas on which nistats and nilearn differ are one table,
:mod:`.formulas`. SPM12's builder, ``spm_fMRI_design``, is :mod:`.spm`.
"""

from __future__ import annotations

__all__ = [
    "make_first_level_design_matrix",
    "check_events",
    "check_events_text",
    "check_onsets_in_run",
    "DRIFT_MODELS",
    "make_drift",
    "HRF_MODELS",
    "compute_regressor",
    "hrf_kernel",
    "regressor_names",
    "spm_hrf",
    "glover_hrf",
    "spm_time_derivative",
    "spm_dispersion_derivative",
    "glover_time_derivative",
    "glover_dispersion_derivative",
    "estimate_t_r",
    "orthogonalize",
    "DESIGN_FORMULAS",
    "HRF_FORMULAS",
    "HRF_CHOICES",
    "DESIGN_CHOICES",
    "DESIGN_BUILDERS",
    "spm_fmri_design",
    "SpmCondition",
]

_MATRIX_NAMES = frozenset({"make_first_level_design_matrix"})
_EVENTS_NAMES = frozenset({"check_events", "check_events_text", "check_onsets_in_run"})
_DRIFTS_NAMES = frozenset({"DRIFT_MODELS", "make_drift"})
_HRF_NAMES = frozenset({"HRF_MODELS", "compute_regressor", "hrf_kernel", "regressor_names"})
_HRF_SHAPES_NAMES = frozenset({"spm_hrf", "glover_hrf"})
_HRF_DERIVATIVES_NAMES = frozenset(
    {
        "spm_time_derivative",
        "spm_dispersion_derivative",
        "glover_time_derivative",
        "glover_dispersion_derivative",
    }
)
_SAMPLING_NAMES = frozenset({"estimate_t_r", "orthogonalize"})
_FORMULAS_NAMES = frozenset(
    {"DESIGN_FORMULAS", "HRF_FORMULAS", "HRF_CHOICES", "DESIGN_CHOICES", "DESIGN_BUILDERS"}
)
_SPM_NAMES = frozenset({"spm_fmri_design", "SpmCondition"})


def __getattr__(name):
    # PEP 562: a name is imported from its module on first use, so that importing
    # one module of this package does not load the others' dependencies
    if name in _MATRIX_NAMES:
        import refglm.glm.design.matrix as module
    elif name in _EVENTS_NAMES:
        import refglm.glm.design.events as module
    elif name in _DRIFTS_NAMES:
        import refglm.glm.design.drifts as module
    elif name in _HRF_NAMES:
        import refglm.glm.design.hrf as module
    elif name in _HRF_SHAPES_NAMES:
        import refglm.glm.design.hrf_shapes as module
    elif name in _HRF_DERIVATIVES_NAMES:
        import refglm.glm.design.hrf_derivatives as module
    elif name in _SAMPLING_NAMES:
        import refglm.glm.design.sampling as module
    elif name in _FORMULAS_NAMES:
        import refglm.glm.design.formulas as module
    elif name in _SPM_NAMES:
        import refglm.glm.design.spm as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
