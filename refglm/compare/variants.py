"""The variants ``refglm compare --explain`` refits: named conventions and single flips.

:func:`single_flips` lists every single-choice flip of a convention that can change
its maps (:data:`MAP_CHOICES`), :func:`candidate_conventions` the named
conventions followed by the flips of each, and :func:`_label` the words the
--explain message uses for one; :data:`EXPLAIN_BOX_VOXELS` the size of the region
on which --explain ranks them.
"""

from __future__ import annotations

from refglm.conventions import CHOICE_VALUES, CONVENTIONS, Convention
from refglm.exceptions import InputError

__all__ = [
    "EXPLAIN_BOX_VOXELS",
    "MAP_CHOICES",
    "EXPLAIN_INT_VALUES",
    "CHOICE_LABELS",
    "single_flips",
    "candidate_conventions",
]

#: Default number of mask voxels in --explain's sub-box (0: all voxels).
EXPLAIN_BOX_VOXELS = 5000

#: Choices that change the statistical maps (the rest only change thresholds and tables).
MAP_CHOICES = (
    "input_dtype",
    "mask_mean_dtype",
    "scaling_dtype",
    "standardize_rule",
    "ar_estimator",
    "ar_binning",
    "ar_bins",
    "ar_fit",
    "whiten_scan0",
    "df",
    "cov_pinv",
    "hrf_formula",
    "z_method",
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
    "ar_estimator": "the AR estimator",
    "ar_binning": "the AR binning",
    "ar_bins": "the number of AR bins",
    "ar_fit": "the AR fit",
    "whiten_scan0": "the whitening of scan 0",
    "df": "the degrees of freedom",
    "cov_pinv": "the pseudo-inverse of the contrast covariance",
    "hrf_formula": "the HRF formulas",
    "z_method": "the z conversion",
}


def _values(key: str):
    allowed = CHOICE_VALUES[key]
    return EXPLAIN_INT_VALUES.get(key, ()) if allowed is int else allowed


def single_flips(base: Convention, noise_model: str = "ar1") -> list[Convention]:
    """Every single-choice flip of ``base`` that can change its maps.

    Every value of every choice of :data:`MAP_CHOICES` (integers:
    :data:`EXPLAIN_INT_VALUES`) other than ``base``'s, except choices that do
    not act under ``base`` (``Convention.inert_choices``) and flips the table
    refuses (``ar_fit='iterative'`` alone: see ``conventions.ITERATIVE_REQUIRES``).
    """
    inert = base.inert_choices(noise_model)
    out = []
    for key in MAP_CHOICES:
        if key in inert:
            continue
        for value in _values(key):
            if value == getattr(base, key):
                continue
            try:
                out.append(base.flipped(**{key: value}))
            except InputError:
                continue
    return out


def candidate_conventions(noise_model: str = "ar1") -> list[Convention]:
    """The named conventions, then the single-choice flips of each (:func:`single_flips`).

    A variant whose choices equal an earlier one's is listed once.
    """
    out, seen = [], set()
    for conv in [*CONVENTIONS.values()] + [
        v for base in CONVENTIONS.values() for v in single_flips(base, noise_model)
    ]:
        key = tuple(conv.choices().items())
        if key not in seen:
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
