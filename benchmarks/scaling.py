"""Fit cost against voxels and scans, for both engines, on synthetic data.

    python benchmarks/scaling.py [--quick] [--json benchmarks/scaling_results.json]
                                 [--figure docs/figures/perf_scaling.png]
                                 [--statsmodels-parallel [--budget-minutes 20]]

The design has the tutorial's 16 columns at every length (2 block regressors,
13 cosine drifts, a constant); the data are that design plus AR(1) noise
whose rho runs from -0.2 to 0.6 across voxels, held in float32 like the
tutorial's scaled data. Only the fit is timed (``run_glm_vectorized`` /
``run_glm`` with the nistats choices, n_jobs=1). Each point is the fastest of
three runs (one at 64^3 voxels): on a shared machine the minimum estimates the
cost of the work, the median that plus whatever else was running.

The vectorized engine is measured up to 64^3 = 262144 voxels x 400 scans. The
statsmodels engine with n_jobs=1 is measured on at most 4096 voxels (the figure
draws its linear extrapolation dashed). With ``--statsmodels-parallel`` the
statsmodels engine is also measured with n_jobs=2 (joblib's worker processes,
started before the timings) at 4096, 16384, 65536 and 262144 voxels x 400 scans,
once per point above 4096 voxels; a point whose predicted time (the per-voxel
cost of the previous point) would overrun ``--budget-minutes`` (20 by default)
is skipped and the largest point measured is reported.

Besides the global exponent (the least-squares slope over a whole sweep), each
sweep reports its local exponents between consecutive points: the last one is
the growth at the top of the range.
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


SM_PARALLEL = "statsmodels n_jobs=2"
SM_PARALLEL_VOXELS = [4096, 16384, 65536, FULL_VOXELS]


def time_fit(engine: str, n_scans: int, n_voxels: int, repeats: int, n_jobs: int = 1) -> float:
    from refglm.glm.engines.statsmodels import run_glm
    from refglm.glm.engines.vectorized import run_glm_vectorized

    run = run_glm_vectorized if engine == "vectorized" else run_glm
    X = design(n_scans)
    Y = data(X, n_voxels)
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(Y, X, n_jobs=n_jobs)
        seconds.append(time.perf_counter() - t0)
    return min(seconds)


def slope(x, y) -> float:
    """Least-squares slope of log(y) on log(x): the fitted exponent."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def local_slopes(x, y) -> list[float]:
    """The exponent between each pair of consecutive points: log(y2/y1) / log(x2/x1)."""
    return [float(np.log(y[i + 1] / y[i]) / np.log(x[i + 1] / x[i])) for i in range(len(x) - 1)]


def sweep_voxels(engine, voxel_counts, n_scans, n_jobs=1, budget_s=None) -> dict:
    """Time the fit at each voxel count; with ``budget_s``, stop before overrunning it."""
    counts, seconds = [], []
    started = time.perf_counter()
    for v in voxel_counts:
        if budget_s is not None and seconds:
            predicted = seconds[-1] / counts[-1] * v
            left = budget_s - (time.perf_counter() - started)
            if predicted > left:
                print(
                    f"{engine}: skipping {v} voxels (predicted {predicted:.0f} s, "
                    f"{left:.0f} s of the budget left)",
                    flush=True,
                )
                break
        repeats = 1 if v > 4096 and (n_jobs != 1 or v >= FULL_VOXELS) else 3
        seconds.append(time_fit(engine, n_scans, v, repeats, n_jobs))
        counts.append(v)
        print(f"{engine:20s} {n_scans:4d} scans {v:7d} voxels  {seconds[-1]:8.3f} s", flush=True)
    return {
        "voxels": counts,
        "seconds": seconds,
        "exponent": slope(counts, seconds) if len(counts) > 1 else float("nan"),
        "local_exponents": local_slopes(counts, seconds),
        "per_voxel_us": 1e6 * seconds[-1] / counts[-1],
        "n_jobs": n_jobs,
    }


def figure(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (ax_v, ax_n) = plt.subplots(1, 2, figsize=(10, 4.2), constrained_layout=True)
    colors = {"vectorized": "tab:blue", "statsmodels": "tab:orange", SM_PARALLEL: "tab:red"}
    for engine, sweep in results["voxels"].items():
        v, s = np.array(sweep["voxels"]), np.array(sweep["seconds"])
        label = f"{engine} (slope {sweep['exponent']:.2f}"
        if sweep["local_exponents"]:
            label += f", last {sweep['local_exponents'][-1]:.2f}"
        ax_v.loglog(v, s, "o-", color=colors[engine], label=label + ")")
        if engine == "statsmodels" and v[-1] < FULL_VOXELS:
            grid = np.array([v[-1], FULL_VOXELS])
            ax_v.loglog(
                grid,
                s[-1] / v[-1] * grid,
                "--",
                color=colors[engine],
                label="statsmodels n_jobs=1, extrapolated linearly",
            )
    for engine, sweep in results["scans"].items():
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
    parser.add_argument(
        "--statsmodels-parallel",
        action="store_true",
        help=f"also measure the statsmodels engine with n_jobs=2 up to {FULL_VOXELS} voxels",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=20.0,
        help="time budget of the n_jobs=2 sweep (default 20)",
    )
    args = parser.parse_args(argv)

    vec_voxels, sm_voxels, scans = VEC_VOXELS, SM_VOXELS, SCANS
    vec_for_scans, sm_for_scans, voxel_scans = VEC_VOXELS_FOR_SCANS, SM_VOXELS_FOR_SCANS, 400
    par_voxels = SM_PARALLEL_VOXELS
    if args.quick:
        vec_voxels, sm_voxels, scans = [512, 2048], [64, 256], [50, 100]
        vec_for_scans, sm_for_scans, voxel_scans = 1024, 64, 100
        par_voxels = [256, 1024]

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    results = {"machine": f"{os.cpu_count()} cores, {cpu}", "voxels_scans": voxel_scans}
    results["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    results["voxels"] = {}
    results["scans"] = {}
    for engine, voxel_counts, for_scans in (
        ("vectorized", vec_voxels, vec_for_scans),
        ("statsmodels", sm_voxels, sm_for_scans),
    ):
        results["voxels"][engine] = sweep_voxels(engine, voxel_counts, voxel_scans)
        seconds = []
        for n in scans:
            seconds.append(time_fit(engine, n, for_scans, 3))
            print(
                f"{engine:20s} {n:4d} scans {for_scans:7d} voxels  {seconds[-1]:8.3f} s",
                flush=True,
            )
        results["scans"][engine] = {
            "scans": scans,
            "voxels": for_scans,
            "seconds": seconds,
            "exponent": slope(scans, seconds),
        }
    if args.statsmodels_parallel:
        time_fit("statsmodels", voxel_scans, 64, 1, n_jobs=2)  # start the workers, untimed
        sweep = sweep_voxels(
            "statsmodels", par_voxels, voxel_scans, n_jobs=2, budget_s=60 * args.budget_minutes
        )
        results["voxels"][SM_PARALLEL] = sweep
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    sm = results["voxels"]["statsmodels"]
    results["statsmodels_extrapolated_full_s"] = sm["per_voxel_us"] * 1e-6 * FULL_VOXELS
    print()
    print("exponents (log-log slope): time ~ voxels^a, time ~ scans^b; local: between points")
    for engine, sweep in results["voxels"].items():
        line = f"  {engine:20s} a = {sweep['exponent']:.2f}"
        if engine in results["scans"]:
            line += f", b = {results['scans'][engine]['exponent']:.2f}"
        local = ", ".join(
            f"{sweep['voxels'][i]}->{sweep['voxels'][i + 1]}: {x:.2f}"
            for i, x in enumerate(sweep["local_exponents"])
        )
        print(f"{line}; local a {local}")
    print(
        f"statsmodels at {FULL_VOXELS} voxels x {voxel_scans} scans, extrapolated: "
        f"{results['statsmodels_extrapolated_full_s']:.0f} s (n_jobs=1)"
    )
    if SM_PARALLEL in results["voxels"]:
        sweep = results["voxels"][SM_PARALLEL]
        print(
            f"{SM_PARALLEL}: measured up to {sweep['voxels'][-1]} voxels x {voxel_scans} scans: "
            f"{sweep['seconds'][-1]:.1f} s ({sweep['per_voxel_us']:.0f} us per voxel)"
        )
    print(
        f"load average at start {results['load_average_at_start']}, at end "
        f"{results['load_average_at_end']}"
    )

    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    figure(results, Path(args.figure))
    print(f"wrote {args.json} and {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
