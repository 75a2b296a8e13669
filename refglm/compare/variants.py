"""The variants ``refglm compare --explain`` refits: named conventions and single flips.

:func:`single_flips` lists every single-choice flip of a convention that can change
its maps (:data:`MAP_CHOICES`), :func:`candidate_conventions` the named
conventions followed by the flips of each, and :func:`_label` the words the
--explain message uses for one; :data:`EXPLAIN_BOX_VOXELS` the size of the region
on which --explain ranks them.

SPM12's steps (:data:`SPM_STEP_VALUES`: its design, mask, scaling, ReML, effective
df, pseudo-inverse and float32 images) are flipped back one at a time from the
``spm12`` convention ("SPM12 except its float32 images"), never grafted onto the
nistats lineage, whose fits they would not describe. A convention whose steps cannot
take the model's parameters (SPM's design needs an SPM HRF) is not tried
(:func:`fits_parameters`).
"""

from __future__ import annotations

from refglm.conventions import CHOICE_VALUES, CONVENTIONS, Convention
from refglm.exceptions import InputError

__all__ = [
    "EXPLAIN_BOX_VOXELS",
    "MAP_CHOICES",
    "EXPLAIN_INT_VALUES",
    "CHOICE_LABELS",
    "SPM_STEP_VALUES",
    "single_flips",
    "candidate_conventions",
    "fits_parameters",
]

#: Default number of mask voxels in --explain's sub-box (0: all voxels).
EXPLAIN_BOX_VOXELS = 5000

#: Choices that change the statistical maps (the rest only change thresholds and tables).
MAP_CHOICES = (
    "input_dtype",
    "mask_method",
    "mask_mean_dtype",
    "scaling_method",
    "scaling_dtype",
    "standardize_rule",
    "standardize_ddof",
    "ar_estimator",
    "ar_binning",
    "ar_bins",
    "ar_p_binning",
    "ar_fit",
    "whiten_scan0",
    "df",
    "df_scale",
    "cov_pinv",
    "design_builder",
    "hrf_formula",
    "contrast_dtype",
    "z_method",
)

#: The values of SPM12's steps that no other named convention uses: flipped back from
#: ``spm12`` only (a nistats fit with SPM's ReML or float32 images is nobody's).
SPM_STEP_VALUES = frozenset(
    (key, value)
    for key in MAP_CHOICES
    for value in [getattr(CONVENTIONS["spm12"], key)]
    if all(getattr(conv, key) != value for name, conv in CONVENTIONS.items() if name != "spm12")
    and key not in ("input_dtype", *CONVENTIONS["spm12"].inert_choices())
)

#: Values tried for integer choices: every convention bins rho to 1/100 (nistats,
#: nilearn ``bins=100``); 10 and 1000 are the neighbouring grids.
EXPLAIN_INT_VALUES = {"ar_bins": (10, 100, 1000)}

#: Words for each choice, for the --explain message.
CHOICE_LABELS = {
    "input_dtype": "the input dtype",
    "mask_mean_dtype": "the dtype of the mask's mean image",
    "scaling_dtype": "the dtype of the signal scaling",
    "standardize_rule": "when standardize applies",
    "standardize_ddof": "the ddof of standardize's z-scoring",
    "ar_p_binning": "the grouping of AR(p) coefficients (nilearn's KMeans, or none)",
    "df_scale": "the residual variance's divisor (n - rank or n - columns)",
    "ar_estimator": "the AR estimator",
    "ar_binning": "the AR binning",
    "ar_bins": "the number of AR bins",
    "ar_fit": "the AR fit",
    "whiten_scan0": "the whitening of scan 0",
    "df": "the degrees of freedom",
    "cov_pinv": "the pseudo-inverse of the contrast covariance",
    "hrf_formula": "the HRF formulas",
    "z_method": "the z conversion",
    "mask_method": "the brain mask (nilearn's EPI mask or SPM's implicit mask)",
    "scaling_method": "the signal scaling (per voxel, or SPM's globals)",
    "design_builder": "the design builder (nistats/nilearn's or SPM's spm_fMRI_design)",
    "contrast_dtype": "the precision of the contrast images (SPM writes float32)",
    "height_rule": "the height thresholds (scipy's, or SPM's spm_u / spm_uc)",
}


def _values(key: str):
    allowed = CHOICE_VALUES[key]
    return EXPLAIN_INT_VALUES.get(key, ()) if allowed is int else allowed


def single_flips(base: Convention, noise_model: str = "ar1") -> list[Convention]:
    """Every single-choice flip of ``base`` that can change its maps.

    Every value of every choice of :data:`MAP_CHOICES` (integers:
    :data:`EXPLAIN_INT_VALUES`) other than ``base``'s, except choices that do
    not act under ``base`` (``Convention.inert_choices``), flips the table
    refuses (``ar_fit='iterative'`` alone: see ``conventions.ITERATIVE_REQUIRES``)
    and SPM12's step values (:data:`SPM_STEP_VALUES`) onto a convention that has none
    of them.
    """
    inert = base.inert_choices(noise_model)
    spm_lineage = any(getattr(base, key) == value for key, value in SPM_STEP_VALUES)
    out = []
    for key in MAP_CHOICES:
        if key in inert:
            continue
        for value in _values(key):
            if value == getattr(base, key):
                continue
            if (key, value) in SPM_STEP_VALUES and not spm_lineage:
                continue
            try:
                out.append(base.flipped(**{key: value}))
            except InputError:
                continue
    return out


def fits_parameters(conv: Convention, model_params: dict | None = None) -> bool:
    """Whether ``FirstLevelModel(**model_params, convention=conv)`` takes its parameters.

    SPM's design builder, for one, needs an SPM HRF (``hrf_model='spm'``, with or
    without derivatives), cosine drifts or none, and ``slice_time_ref=0``
    (``FirstLevelModel.check_parameters``). ``None``: the model's defaults.
    """
    from refglm.first_level import FirstLevelModel

    params = {k: v for k, v in (model_params or {}).items() if k != "convention"}
    params.setdefault("t_r", 1.0)  # required, and no design builder's constraint
    try:
        FirstLevelModel(**params, convention=conv).check_parameters()
    except InputError:
        return False
    return True


def candidate_conventions(noise_model: str = "ar1", model_params=None) -> list[Convention]:
    """The named conventions, then the single-choice flips of each (:func:`single_flips`).

    A variant whose choices equal an earlier one's is listed once; one that cannot
    take the model's parameters (:func:`fits_parameters`; ``model_params`` None:
    ``FirstLevelModel``'s defaults, under which ``spm12``'s design refuses the Glover
    HRF) is left out.
    """
    out, seen = [], set()
    params = dict(model_params or {}, noise_model=noise_model)
    usable = [conv for conv in CONVENTIONS.values() if fits_parameters(conv, params)]
    for conv in [*usable] + [v for base in usable for v in single_flips(base, noise_model)]:
        key = tuple(conv.choices().items())
        if key not in seen and fits_parameters(conv, params):
            seen.add(key)
            out.append(conv)
    return out


def _describe(conv: Convention) -> tuple[str, dict]:
    """(base name, {choice: value}) of a named convention or a flip of one."""
    base_name = conv.name.split("+", 1)[0]
    base = CONVENTIONS.get(base_name)
    changes = {} if base is None else {k: v[1] for k, v in base.differences(conv).items()}
    return base_name, changes


def _label(conv: Convention) -> str:
    base, changes = _describe(conv)
    if not changes:
        return f"convention {base}"
    what = ", ".join(f"{CHOICE_LABELS.get(k, k)} ({k}={v})" for k, v in changes.items())
    return f"convention {base} except {what}"
