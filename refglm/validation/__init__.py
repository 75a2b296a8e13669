"""Golden values and their checks, shipped as package data.

- :mod:`.spm_auditory`: the nistats SPM auditory tutorial (``golden/spm_auditory_*``),
  checked by ``refglm validate`` and in the tutorial's report.
"""

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
]
