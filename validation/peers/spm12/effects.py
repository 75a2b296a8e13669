#!/usr/bin/env python3
"""What each of SPM12's steps changes on the SPM auditory data, against nistats.

SPM's model of the run (the peer's anchor, ``block_base``: the ``active`` blocks, rest as
the implicit baseline, canonical HRF, 128 s high-pass, AR(1)) is fitted under
``nistats``, then under nistats with SPM12's steps switched on one after the other
(cumulative), ending at ``spm12``; and under ``spm12`` with each step switched back to
nistats' alone. Each fit is compared with the previous one (or with ``spm12``) on the
T map of ``active`` and on its z: the voxels of the common mask that move by more than
1e-6 and the largest move, and the voxels in one mask only::

    python validation/peers/spm12/effects.py --data-dir $REFGLM_DATA_DIR [--json out.json]

The numbers of the spm12 column of docs/conventions.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
# a voxel moves when its statistic changes by more than this (float64 rounding ~1e-13)
MOVE_TOLERANCE = 1e-6
PARAMETERS = dict(t_r=7.0, hrf_model="spm", drift_model="cosine", high_pass=1 / 128)
#: SPM12's steps, in the order they are switched on from nistats.
CHAIN = [
    ("input_dtype", "float64", "reading the scans in double precision (spm_vol)"),
    ("design_builder", "spm_fMRI_design", "SPM's design (spm_fMRI_design.m, spm_get_ons.m)"),
    ("mask_method", "spm_implicit", "SPM's implicit mask (spm_spm.m, spm_global.c)"),
    ("scaling_method", "spm_global", "SPM's grand-mean scaling (spm_fmri_spm_ui.m)"),
    ("ar_fit", "spm_reml", "SPM's global ReML AR(0.2) and K W (spm_est_non_sphericity.m)"),
    ("df", "spm_effective", "SPM's ResMS/trRV, erdf, Bcov (spm_spm.m)"),
    ("cov_pinv", "spm", "SPM's pseudo-inverse (spm_sp.m)"),
    ("contrast_dtype", "float32_images", "SPM's float32 images (spm_contrasts.m)"),
]


def _maps(model):
    result = model.contrast_result("active")
    return model.mask_, model.to_volume(result.stat), model.to_volume(result.z_score)


def _compare(a, b) -> dict:
    mask_a, t_a, z_a = a
    mask_b, t_b, z_b = b
    common = mask_a & mask_b
    dt = np.abs(t_a[common] - t_b[common])
    dz = np.abs(z_a[common] - z_b[common])
    return dict(
        only_one_mask=int(np.count_nonzero(mask_a ^ mask_b)),
        common=int(common.sum()),
        T_moved=int(np.count_nonzero(dt > MOVE_TOLERANCE)),
        T_max=float(dt.max()),
        z_moved=int(np.count_nonzero(dz > MOVE_TOLERANCE)),
        z_max=float(dz.max()),
    )


def main(argv=None) -> int:
    sys.path.insert(0, str(REPO))
    import pandas as pd

    from refglm import io
    from refglm.conventions import get_convention
    from refglm.datasets import fetch_spm_auditory
    from refglm.first_level import FirstLevelModel

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--engine", default="vectorized")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    data = fetch_spm_auditory(a.data_dir, verify=False)
    events = pd.read_csv(data.events, sep="\t")
    events = events[events["trial_type"] != "rest"].reset_index(drop=True)
    runs = {}

    def fit(conv):
        dtype = io.run_dtype(data.func, conv.input_dtype)
        if dtype not in runs:
            runs[dtype] = io.load_run(data.func, dtype=dtype)
        run, affine = runs[dtype]
        model = FirstLevelModel(**PARAMETERS, convention=conv, engine=a.engine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit_array(run, affine, events)
        return _maps(model)

    out = {"parameters": {k: v for k, v in PARAMETERS.items()}, "chain": [], "flips": []}
    conv = get_convention("nistats")
    previous = first = fit(conv)
    for key, value, what in CHAIN:
        conv = conv.flipped(**{key: value})
        t0 = time.perf_counter()
        maps = fit(conv)
        row = dict(step=f"{key}={value}", what=what, seconds=time.perf_counter() - t0)
        row.update(_compare(maps, previous))
        out["chain"].append(row)
        print(json.dumps(row), flush=True)
        previous = maps
    spm12 = get_convention("spm12")
    acting = [k for k in spm12.choices() if k not in spm12.inert_choices()]
    assert [k for k in acting if getattr(conv, k) != getattr(spm12, k)] == [
        "height_rule",
        "fdr_formula",
        "cluster_connectivity",
    ], "the chain ends at spm12's maps (thresholds and tables aside)"
    whole = dict(step="nistats -> spm12 (all steps)")
    whole.update(_compare(previous, first))
    out["chain"].append(whole)
    print(json.dumps(whole), flush=True)
    base = fit(spm12)
    nistats = get_convention("nistats")
    for key, _, what in CHAIN:
        changes = {key: getattr(nistats, key)}
        if key in ("ar_fit", "df"):
            changes = {"ar_fit": nistats.ar_fit, "df": nistats.df} if key == "ar_fit" else changes
        try:
            flipped = spm12.flipped(**changes)
        except Exception as exc:  # a flip the table refuses
            out["flips"].append(dict(step=f"spm12+{changes}", refused=str(exc)))
            continue
        row = dict(step=flipped.name, what=what)
        row.update(_compare(fit(flipped), base))
        out["flips"].append(row)
        print(json.dumps(row), flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
