"""Golden check: rerun the nistats SPM auditory tutorial with refglm and compare.

Prints every quantity with its golden value, delta and tolerance, and exits
1 when any is beyond tolerance (0 otherwise, 2 for bad input such as missing
data). ``refglm validate`` runs this file.

    python validation/spm_auditory_tutorial.py [--data-dir DIR] [--n-jobs N]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GOLDEN = Path(__file__).resolve().parent / "golden"


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
    """Every golden comparison for a ``refglm.pipeline.TutorialResults``."""
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        default=None,
        help="SPM auditory folder (else $REFGLM_DATA_DIR, then the refglm cache)",
    )
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--engine", default="statsmodels")
    args = parser.parse_args(argv)

    from refglm.exceptions import InputError
    from refglm.pipeline import run_tutorial

    try:
        results = run_tutorial(data_dir=args.data_dir, n_jobs=args.n_jobs, engine=args.engine)
    except InputError as exc:
        print(f"refglm validate: error: {exc}", file=sys.stderr)
        return 2
    checks = checks_for(results)
    print(format_checks(checks))
    print(f"fit time: {results.timings['fit']:.1f} s (engine {args.engine}, n_jobs {args.n_jobs})")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
