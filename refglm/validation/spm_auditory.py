"""Golden checks of the nistats SPM auditory tutorial: every published number, with its delta.

:func:`checks_for` compares a tutorial run (``refglm.workflows.run_tutorial``)
with the golden values in ``golden/`` (package data, each file with its
provenance: tool, version, command); :func:`format_checks` prints them.
``refglm validate`` and the tutorial's report use both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["Check", "GOLDEN", "load_golden", "checks_for", "format_checks"]

#: The golden values, shipped with the package beside the checks that use them.
GOLDEN = resources.files("refglm.validation") / "golden"


@dataclass
class Check:
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


def load_golden():
    thresholds = json.loads((GOLDEN / "spm_auditory_thresholds.json").read_text())
    design = json.loads((GOLDEN / "spm_auditory_design.json").read_text())
    clusters_meta = json.loads((GOLDEN / "spm_auditory_clusters.json").read_text())
    table = pd.read_csv(
        GOLDEN / "spm_auditory_clusters.tsv", sep="\t", dtype={"Cluster ID": str}
    ).fillna({"Cluster Size (mm3)": -1})
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
        size = ours["Cluster Size (mm3)"]
        size = -1 if size in ("", None) or pd.isna(size) else int(size)
        out.append(
            Check(
                f"row {k} ({cid}) Cluster Size (mm3)",
                size,
                int(gold["Cluster Size (mm3)"]),
                "exact",
            )
        )
    return out


def format_checks(checks: list[Check]) -> str:
    lines = [
        f"{'quantity':44s} {'value':>22s} {'golden':>22s} {'delta':>10s} {'tolerance':>9s}  ok"
    ]
    for c in checks:

        def fmt(v):
            if isinstance(v, float):
                return f"{v:.9f}"
            s = str(v)
            return s if len(s) <= 22 else s[:19] + "..."

        delta = "" if c.delta is None else f"{c.delta:.1e}"
        tol = c.tolerance if isinstance(c.tolerance, str) else f"{c.tolerance:.0e}"
        lines.append(
            f"{c.quantity:44s} {fmt(c.value):>22s} {fmt(c.golden):>22s} {delta:>10s} "
            f"{tol:>9s}  {'ok' if c.ok else 'FAIL'}"
        )
    n_bad = sum(not c.ok for c in checks)
    numeric = [abs(c.delta) for c in checks if c.delta is not None and c.tolerance != "exact"]
    lines.append(
        f"{len(checks) - n_bad} passed, {n_bad} failed; "
        f"max |delta| over toleranced quantities {max(numeric):.2e}"
    )
    return "\n".join(lines)
