"""Fit cost against voxels and scans, for both engines, on synthetic data.

    python benchmarks/scaling.py [--quick] [--json benchmarks/scaling_results.json]
                                 [--figure docs/figures/perf_scaling.png]

The design has the tutorial's 16 columns at every length (2 block regressors,
13 cosine drifts, a constant); the data are that design plus AR(1) noise
whose rho runs from -0.2 to 0.6 across voxels, held in float32 like the
tutorial's scaled data. Only the fit is timed (``run_glm_vectorized`` /
``run_glm`` with the nistats choices, n_jobs=1). Each point is the fastest of
three runs (one at 64^3 voxels): on a shared machine the minimum estimates the
cost of the work, the median that plus whatever else was running.

The vectorized engine is measured up to 64^3 = 262144 voxels x 400 scans. The
statsmodels engine fits each voxel on its own, so its cost is linear in voxels:
it is measured on at most 4096 voxels and extrapolated to larger counts from
its per-voxel cost at the largest measured count (the figure draws the
extrapolation dashed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
N_REGRESSORS = 16
FULL_VOXELS = 64**3

VEC_VOXELS = [4096, 16384, 65536, FULL_VOXELS]
SM_VOXELS = [256, 1024, 4096]
SCANS = [50, 100, 200, 400]
VEC_VOXELS_FOR_SCANS = 65536
SM_VOXELS_FOR_SCANS = 1024


def design(n_scans: int) -> np.ndarray:
    """16 columns: two 6-scan on/off blocks (shifted), 13 cosines, a constant."""
    t = np.arange(n_scans)
    active = ((t // 6) % 2 == 1).astype(float)
    rest = ((t // 6) % 2 == 0).astype(float) * np.linspace(1.0, 0.5, n_scans)
    cosines = [np.cos(np.pi * (t + 0.5) * k / n_scans) for k in range(1, 14)]
    return np.column_stack([active, rest, *cosines, np.ones(n_scans)])


def data(X: np.ndarray, n_voxels: int, seed: int = 0) -> np.ndarray:
    """float32 Y = X beta + AR(1) noise, rho from -0.2 to 0.6 across voxels."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    rho = np.linspace(-0.2, 0.6, n_voxels)
    Y = np.empty((n, n_voxels), dtype=np.float32)
    previous = rng.standard_normal(n_voxels)
    Y[0] = previous
    for t in range(1, n):
        previous = rho * previous + rng.standard_normal(n_voxels)
        Y[t] = previous
    Y += (X @ rng.standard_normal((X.shape[1], n_voxels))).astype(np.float32)
    return Y


def time_fit(engine: str, n_scans: int, n_voxels: int, repeats: int) -> float:
    from refglm.fit import run_glm
    from refglm.fit_vectorized import run_glm_vectorized

    run = run_glm_vectorized if engine == "vectorized" else run_glm
    X = design(n_scans)
    Y = data(X, n_voxels)
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(Y, X)
        seconds.append(time.perf_counter() - t0)
    return min(seconds)


def slope(x, y) -> float:
    """Least-squares slope of log(y) on log(x): the fitted exponent."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (ax_v, ax_n) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    colors = {"vectorized": "tab:blue", "statsmodels": "tab:orange"}
    for engine in ("vectorized", "statsmodels"):
        sweep = results["voxels"][engine]
        v, s = np.array(sweep["voxels"]), np.array(sweep["seconds"])
        label = f"{engine} (slope {sweep['exponent']:.2f})"
        ax_v.loglog(v, s, "o-", color=colors[engine], label=label)
        if engine == "statsmodels":
            grid = np.array([v[-1], FULL_VOXELS])
            ax_v.loglog(
                grid,
                s[-1] / v[-1] * grid,
                "--",
                color=colors[engine],
                label="statsmodels, extrapolated linearly",
            )
        sweep = results["scans"][engine]
        per_voxel = 1e6 * np.array(sweep["seconds"]) / sweep["voxels"]
        label = f"{engine}, {sweep['voxels']} voxels (slope {sweep['exponent']:.2f})"
        ax_n.loglog(sweep["scans"], per_voxel, "o-", color=colors[engine], label=label)
    ax_v.axvline(62073, color="grey", lw=0.8, ls=":")
    ax_v.annotate(
        "tutorial mask (62073)",
        (62073, 0.02),
        xycoords=("data", "axes fraction"),
        rotation=90,
        fontsize=8,
        color="grey",
        ha="right",
        va="bottom",
    )
    ax_v.set(
        xlabel="voxels",
        ylabel="fit time (s)",
        title=f"fit time against voxels, {results['voxels_scans']} scans",
    )
    ax_n.set(xlabel="scans", ylabel="fit time per voxel (µs)", title="cost per voxel against scans")
    ax_n.set_xticks(results["scans"]["vectorized"]["scans"])
    ax_n.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax_n.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    for ax in (ax_v, ax_n):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"refglm fit cost, 16 regressors, AR(1) nistats choices; {results['machine']}", fontsize=9
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to test the script")
    parser.add_argument("--json", default=str(REPO / "benchmarks" / "scaling_results.json"))
    parser.add_argument("--figure", default=str(REPO / "docs" / "figures" / "perf_scaling.png"))
    args = parser.parse_args(argv)

    vec_voxels, sm_voxels, scans = VEC_VOXELS, SM_VOXELS, SCANS
    vec_for_scans, sm_for_scans, voxel_scans = VEC_VOXELS_FOR_SCANS, SM_VOXELS_FOR_SCANS, 400
    if args.quick:
        vec_voxels, sm_voxels, scans = [512, 2048], [64, 256], [50, 100]
        vec_for_scans, sm_for_scans, voxel_scans = 1024, 64, 100

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    results = {"machine": f"{os.cpu_count()} cores, {cpu}", "voxels_scans": voxel_scans}
    results["voxels"] = {}
    results["scans"] = {}
    for engine, voxel_counts, for_scans in (
        ("vectorized", vec_voxels, vec_for_scans),
        ("statsmodels", sm_voxels, sm_for_scans),
    ):
        seconds = []
        for v in voxel_counts:
            repeats = 1 if v >= FULL_VOXELS else 3
            seconds.append(time_fit(engine, voxel_scans, v, repeats))
            print(
                f"{engine:12s} {voxel_scans:4d} scans {v:7d} voxels  {seconds[-1]:8.3f} s",
                flush=True,
            )
        results["voxels"][engine] = {
            "voxels": voxel_counts,
            "seconds": seconds,
            "exponent": slope(voxel_counts, seconds),
            "per_voxel_us": 1e6 * seconds[-1] / voxel_counts[-1],
        }
        seconds = []
        for n in scans:
            seconds.append(time_fit(engine, n, for_scans, 3))
            print(
                f"{engine:12s} {n:4d} scans {for_scans:7d} voxels  {seconds[-1]:8.3f} s", flush=True
            )
        results["scans"][engine] = {
            "scans": scans,
            "voxels": for_scans,
            "seconds": seconds,
            "exponent": slope(scans, seconds),
        }
    sm = results["voxels"]["statsmodels"]
    results["statsmodels_extrapolated_full_s"] = sm["per_voxel_us"] * 1e-6 * FULL_VOXELS
    print()
    print("exponents (log-log slope): time ~ voxels^a, time ~ scans^b")
    for engine in ("vectorized", "statsmodels"):
        print(
            f"  {engine:12s} a = {results['voxels'][engine]['exponent']:.2f}, "
            f"b = {results['scans'][engine]['exponent']:.2f}"
        )
    print(
        f"statsmodels at {FULL_VOXELS} voxels x {voxel_scans} scans, extrapolated: "
        f"{results['statsmodels_extrapolated_full_s']:.0f} s (n_jobs=1)"
    )

    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    figure(results, Path(args.figure))
    print(f"wrote {args.json} and {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
