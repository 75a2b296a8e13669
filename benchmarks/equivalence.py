"""Largest differences between the two engines on the SPM auditory tutorial.

    python benchmarks/equivalence.py [--data-dir DIR] [--convention NAME] [--every N]

Fits the tutorial's model with ``engine='statsmodels'`` and ``engine='vectorized'``
and prints, per quantity, the largest absolute and relative difference over the
62073 voxels, the number of voxels whose AR bin differs, and how close the
nearest voxel's 100 rho comes to a bin edge (the margin a rounding difference
would have to cross to change a bin). ``tests/glm/engines/test_vectorized.py`` asserts
the same comparisons with the issue's tolerances (``--convention nistats``, the
default), ``tests/glm/engines/test_conventions_real_data.py`` under the ``nilearn`` and
``statsmodels`` conventions on every 25th voxel of the mask (``--every 25``).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from run import data_dir_from

# the tests' tolerances: |vec - ref| <= ATOL + RTOL |ref| (numpy.testing.assert_allclose)
RTOL = ATOL = 1e-10


def max_deltas(ref: np.ndarray, vec: np.ndarray) -> tuple[float, float, float]:
    """Largest |vec - ref|, |vec - ref| / |ref| (over ref != 0), |vec - ref| / tolerance."""
    delta = np.abs(vec - ref)
    nonzero = ref != 0
    rel = delta[nonzero] / np.abs(ref[nonzero]) if nonzero.any() else np.zeros(1)
    used = delta / (ATOL + RTOL * np.abs(ref))
    return float(delta.max()), float(rel.max()), float(used.max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-jobs", type=int, default=2, help="for the statsmodels engine")
    parser.add_argument("--convention", default="nistats", help="nistats, nilearn, statsmodels")
    parser.add_argument("--every", type=int, default=1, help="fit every N-th voxel of the mask")
    args = parser.parse_args(argv)

    from refglm import io
    from refglm.datasets import fetch_spm_auditory
    from refglm.first_level import FirstLevelModel
    from refglm.glm.masking import compute_epi_mask, mean_epi
    from refglm.io import run_dtype
    from refglm.workflows import TUTORIAL_CONTRASTS, TUTORIAL_PARAMETERS

    data = fetch_spm_auditory(data_dir_from(args.data_dir))
    run, affine = io.load_run(data.func, dtype=run_dtype(data.func, "native"))
    mask = compute_epi_mask(mean_epi(run))
    keep = np.zeros(int(mask.sum()), dtype=bool)
    keep[:: args.every] = True
    mask[mask] = keep
    models = {
        engine: FirstLevelModel(
            **TUTORIAL_PARAMETERS, engine=engine, n_jobs=args.n_jobs, convention=args.convention
        ).fit_array(run, affine, data.events, mask=mask)
        for engine in ("statsmodels", "vectorized")
    }
    print(f"convention {args.convention}, {int(mask.sum())} voxels")
    ref, vec = models["statsmodels"].fit_, models["vectorized"].fit_
    rows = []
    for name in ("beta", "sigma2", "df_resid", "rho_raw"):
        rows.append((name, *max_deltas(getattr(ref, name), getattr(vec, name))))
    rows.append(
        ("cov_unscaled", *max_deltas(ref.cov_unscaled[ref.labels], vec.cov_unscaled[vec.labels]))
    )
    for key, definition in TUTORIAL_CONTRASTS.items():
        a = models["statsmodels"].contrast_result(definition)
        b = models["vectorized"].contrast_result(definition)
        rows.append((f"{key} {a.stat_type}", *max_deltas(a.stat, b.stat)))
        rows.append((f"{key} z", *max_deltas(a.z_score, b.z_score)))
    print(f"{'quantity':28s} {'max |delta|':>12s} {'max rel':>10s} {'of tolerance':>12s}")
    for name, absolute, relative, used in rows:
        print(f"{name:28s} {absolute:12.2e} {relative:10.2e} {used:12.2e}")
    print(f"(of tolerance: max |delta| / ({ATOL:g} + {RTOL:g} |reference|); <= 1 passes)")
    conv = models["statsmodels"].convention_
    if conv.ar_binning == "none" or conv.ar_fit == "iterative":
        print(f"rho is not binned under the {conv.name} convention (each voxel its own model)")
        return 0
    scaled = conv.ar_bins * ref.rho_raw
    margin = np.abs(scaled - np.round(scaled)).min()
    print(f"voxels whose binned rho differs: {int((ref.rho != vec.rho).sum())} of {ref.n_voxels}")
    print(f"nearest {conv.ar_bins} * rho to a bin edge: {margin:.2e} away")
    return 0


if __name__ == "__main__":
    sys.exit(main())
