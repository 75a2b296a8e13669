"""Golden checks of the nistats SPM auditory tutorial: every published number, with its delta.

:func:`checks_for` compares a tutorial run (``refglm.workflows.run_tutorial``)
with the golden values in ``golden/`` (package data, each file with its
provenance: tool, version, command); :func:`format_checks` prints them.
``refglm validate`` and the tutorial's report use both: first the verdict
(:func:`checks_verdict`) and the largest deltas (:func:`largest_deltas`), then
every row. Whole numbers print as whole numbers; a subpeak row's cluster size
is empty, as nistats prints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

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

#: The golden values, shipped with the package beside the checks that use them.
GOLDEN = resources.files("refglm.validation") / "golden"


def format_number(value) -> str:
    """A checked value as text: whole numbers whole (``-60``), others to 9 decimals at most.

    ``-60.0`` prints ``-60``, ``9.811979`` prints ``9.811979`` (trailing zeros
    dropped), a list its items (the first 57 characters), anything else ``str``.
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        value = float(value)
        if value.is_integer():
            return f"{value:.0f}"
        return f"{value:.9f}".rstrip("0")
    if isinstance(value, list):
        text = ", ".join(map(str, value))
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


@dataclass
class Check:
    """One golden comparison: ``value`` against ``golden`` within ``tolerance``."""

    quantity: str
    value: object
    golden: object
    tolerance: object  # a float, or "exact"

    @property
    def delta(self):
        if isinstance(self.value, int | float | np.number) and isinstance(
            self.golden, int | float | np.number
        ):
            return float(self.value) - float(self.golden)
        return None

    @property
    def ok(self) -> bool:
        if self.tolerance == "exact":
            return self.value == self.golden
        return self.delta is not None and abs(self.delta) <= self.tolerance

    @property
    def value_text(self) -> str:
        """``value`` by :func:`format_number` (whole numbers whole, subpeak sizes empty)."""
        return format_number(self.value)

    @property
    def golden_text(self) -> str:
        return format_number(self.golden)

    @property
    def delta_text(self) -> str:
        """``value - golden`` to 2 significant digits (``''`` for non-numbers)."""
        return "" if self.delta is None else f"{self.delta:.1e}"

    @property
    def tolerance_text(self) -> str:
        return self.tolerance if isinstance(self.tolerance, str) else f"{self.tolerance:.0e}"


def load_golden():
    thresholds = json.loads((GOLDEN / "spm_auditory_thresholds.json").read_text())
    design = json.loads((GOLDEN / "spm_auditory_design.json").read_text())
    clusters_meta = json.loads((GOLDEN / "spm_auditory_clusters.json").read_text())
    table = pd.read_csv(GOLDEN / "spm_auditory_clusters.tsv", sep="\t", dtype={"Cluster ID": str})
    return thresholds, design, clusters_meta, table


def checks_for(results) -> list[Check]:
    """Every golden comparison for a ``refglm.workflows.TutorialResults``."""
    thresholds, design, clusters_meta, golden_table = load_golden()
    out = [
        Check("design columns", list(results.design.columns), design["columns"], "exact"),
        Check("design scans", int(results.design.shape[0]), design["n_scans"], "exact"),
        Check("mask voxels", int(results.mask_voxels), design["mask_voxels"], "exact"),
    ]
    for name, spec in thresholds["thresholds"].items():
        out.append(
            Check(
                f"threshold {name} (alpha {spec['alpha']})",
                float(results.thresholds[name]),
                spec["value"],
                spec["tolerance"],
            )
        )
    table = results.clusters.copy()
    out.append(Check("cluster table rows", len(table), len(golden_table), "exact"))
    peak_tol = clusters_meta["tolerances"]["Peak Stat"]
    for k in range(min(len(table), len(golden_table))):
        ours, gold = table.iloc[k], golden_table.iloc[k]
        cid = str(gold["Cluster ID"])
        out.append(Check(f"row {k} Cluster ID", str(ours["Cluster ID"]), cid, "exact"))
        for axis in ("X", "Y", "Z"):
            out.append(
                Check(f"row {k} ({cid}) {axis}", float(ours[axis]), float(gold[axis]), "exact")
            )
        out.append(
            Check(
                f"row {k} ({cid}) Peak Stat",
                float(ours["Peak Stat"]),
                float(gold["Peak Stat"]),
                peak_tol,
            )
        )
        # a subpeak row has no size: an empty cell in nistats' table and in ours
        out.append(
            Check(
                f"row {k} ({cid}) Cluster Size (mm3)",
                _size(ours["Cluster Size (mm3)"]),
                _size(gold["Cluster Size (mm3)"]),
                "exact",
            )
        )
    return out


def _size(value):
    """A cluster-table size cell: an int, or ``''`` for a subpeak row (empty, NaN or None)."""
    if value is None or (isinstance(value, str) and not value.strip()) or pd.isna(value):
        return ""
    return int(value)


def largest_deltas(checks: list[Check], n: int = 5) -> list[Check]:
    """The ``n`` toleranced checks with the largest ``|delta|`` relative to their tolerance."""
    numeric = [c for c in checks if c.delta is not None and c.tolerance != "exact"]
    return sorted(numeric, key=lambda c: -abs(c.delta) / c.tolerance)[:n]


def checks_verdict(checks: list[Check]) -> str:
    """The golden checks in one line: ``'229 passed, 0 failed; largest |delta| ...'``."""
    n_bad = sum(not c.ok for c in checks)
    text = f"{len(checks) - n_bad} passed, {n_bad} failed"
    worst = largest_deltas(checks, 1)
    if worst:
        c = worst[0]
        text += (
            f"; largest |delta| over toleranced quantities {abs(c.delta):.2e} "
            f"({c.quantity}, tolerance {c.tolerance_text})"
        )
    return text


def format_checks(checks: list[Check], quiet: bool = False) -> str:
    """The checks as text: the verdict, the largest deltas, then (unless ``quiet``) every row.

    The failed checks are listed after the verdict as well, so that they are
    seen first. ``quiet`` gives the verdict alone.
    """
    lines = ["golden checks: " + checks_verdict(checks)]
    if quiet:
        return lines[0]
    failed = [c for c in checks if not c.ok]
    header = (
        f"  {'quantity':44s} {'value':>22s} {'golden':>22s} {'delta':>10s} {'tolerance':>9s}  ok"
    )

    def row(c):
        def cell(v):
            s = format_number(v)
            return s if len(s) <= 22 else s[:19] + "..."

        return (
            f"  {c.quantity:44s} {cell(c.value):>22s} {cell(c.golden):>22s} "
            f"{c.delta_text:>10s} {c.tolerance_text:>9s}  {'ok' if c.ok else 'FAIL'}"
        )

    if failed:
        lines += ["failed:", header] + [row(c) for c in failed]
    lines += ["largest deltas (relative to their tolerance):", header]
    lines += [row(c) for c in largest_deltas(checks)]
    lines += ["", f"every check ({len(checks)}; subpeak rows have an empty size):", header]
    lines += [row(c) for c in checks]
    return "\n".join(lines)
