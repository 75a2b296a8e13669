#!/usr/bin/env python3
"""Measure refglm's ``spm12`` convention against exported SPM12 outputs, model by model.

For every ``.npz`` of a golden folder (``tests/peers/spm12/golden`` by default, or any
folder that ``export.py`` wrote), this maps the model's options to refglm's arguments
(``refglm.validation.spm12.spm_batch_model``), fits it with each engine asked for, and
prints the worst difference per quantity (``spm_differences``) with the fit's time and
SPM12's under Octave (from the file's provenance)::

    python validation/peers/spm12/measure.py --data-dir DATA_DIR/sub001/fM00223 \\
        [--golden DIR] [--engine vectorized --engine statsmodels] [--markdown out.md] [model ...]

The acceptance tolerances are the issue's (``tests/peers/test_spm12.py`` holds them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
COLUMNS = [
    "mask", "X", "h", "beta", "beta_f32_mismatch", "con", "T", "F", "ResMS", "erdf",
    "u_unc", "u_fwe", "u_fweRF", "FWHM", "R",
]  # fmt: skip
TOLERANCES = {
    "mask": 0, "X": 1e-10, "h": 1e-6, "beta": 1e-6, "con": 1e-6, "T": 1e-6, "F": 1e-6,
    "ResMS": 1e-9, "erdf": 1e-9, "u_unc": 1e-6, "u_fwe": 1e-6,
}  # fmt: skip


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    from refglm import io
    from refglm.validation.spm12 import (
        fit_spm_batch_model,
        load_spm_golden,
        spm_batch_model,
        spm_differences,
    )

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="the fM00223 folder")
    ap.add_argument("--golden", type=Path, default=REPO / "tests" / "peers" / "spm12" / "golden")
    ap.add_argument("--engine", action="append", choices=("vectorized", "statsmodels"))
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args(argv)
    engines = a.engine or ["vectorized"]
    files = sorted(str(f) for f in a.data_dir.glob("*.img")) or sorted(
        str(f) for f in a.data_dir.glob("*.nii")
    )
    data, affine = io.load_run(files, dtype=np.float64)
    rows, ok = [], True
    # one untimed fit first, so that no model's time includes the imports of the first
    first = sorted(a.golden.glob("*.npz"))[0]
    for engine in engines:
        batch = spm_batch_model(load_spm_golden(first)["model"])
        fit_spm_batch_model(batch, data, affine, engine=engine)
    for path in sorted(a.golden.glob("*.npz")):
        if a.names and path.stem not in a.names:
            continue
        golden = load_spm_golden(path)
        batch = spm_batch_model(golden["model"])
        prov = golden["provenance"]
        for engine in engines:
            t0 = time.perf_counter()
            model = fit_spm_batch_model(batch, data, affine, engine=engine, n_jobs=a.n_jobs)
            seconds = time.perf_counter() - t0
            d = spm_differences(model, batch, golden)
            passed = all(d[k] <= tol for k, tol in TOLERANCES.items())
            ok &= passed
            row = dict(
                model=path.stem,
                engine=engine,
                seconds=seconds,
                octave_wall=prov.get("seconds_octave_wall"),
                spm_batch=prov.get("seconds_spm_batch"),
                reml_iterations=model.reml_iterations_,
                passed=passed,
                **d,
            )
            rows.append(row)
            print(
                f"{path.stem:24s} {engine:11s} {seconds:6.2f} s (Octave {row['octave_wall']} s)"
                f" {'PASS' if passed else 'FAIL'}  "
                + "  ".join(f"{k}={d[k]:.1e}" for k in COLUMNS),
                flush=True,
            )
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))
    if a.markdown:
        head = "| model | engine | " + " | ".join(COLUMNS) + " | refglm s | Octave s |\n"
        head += "|" + " --- |" * (len(COLUMNS) + 4) + "\n"
        body = ""
        for r in rows:
            cells = [
                f"{int(r[c])}" if c in ("mask", "beta_f32_mismatch") else f"{r[c]:.1e}"
                for c in COLUMNS
            ]
            body += (
                f"| {r['model']} | {r['engine']} | " + " | ".join(cells) + f" | {r['seconds']:.1f}"
                f" | {r['octave_wall']} |\n"
            )
        a.markdown.write_text(head + body)
    print("ALL PASS" if ok else "SOME FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
