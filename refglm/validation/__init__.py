"""Golden values and their checks, shipped as package data.

- :mod:`.spm_auditory`: the nistats SPM auditory tutorial (``golden/spm_auditory_*``),
  checked by ``refglm validate`` and in the tutorial's report;
- :mod:`.spm12`: SPM12 batch models (``validation/peers/spm12/models.json`` options)
  as ``FirstLevelModel`` arguments, and their differences from SPM12's own outputs
  (the golden ``.npz`` beside the tests, ``tests/peers/spm12/golden``).
"""

from refglm.validation.spm12 import (
    SpmBatchModel,
    fit_spm_batch_model,
    load_spm_golden,
    spm_batch_model,
    spm_differences,
)
from refglm.validation.spm_auditory import (
    GOLDEN,
    Check,
    checks_for,
    checks_verdict,
    format_checks,
    format_number,
    largest_deltas,
    load_golden,
)

__all__ = [
    "Check",
    "GOLDEN",
    "load_golden",
    "checks_for",
    "format_checks",
    "checks_verdict",
    "largest_deltas",
    "format_number",
    "SpmBatchModel",
    "spm_batch_model",
    "fit_spm_batch_model",
    "load_spm_golden",
    "spm_differences",
]
