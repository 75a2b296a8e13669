"""Time the whole SPM auditory tutorial: refglm's two engines against nilearn 0.14.1.

    python benchmarks/run.py [--data-dir DIR] [--rounds 5] [--json out.json]

Each engine runs the same pipeline: load the 96 volumes -> mask -> design ->
AR(1) fit -> the t contrast ``active - rest`` and the F contrast of
``(active, rest)`` -> thresholds (z > 3, fpr .001, Bonferroni .05, FDR .05, FDR
.05 with clusters > 10 voxels, the F map's FDR with clusters > 10) -> the
cluster table of the t map (``cluster_threshold=20``). For refglm that is
``refglm.workflows.run_tutorial``; for nilearn the same calls written with
nilearn's ``FirstLevelModel``, ``threshold_stats_img`` and
``get_clusters_table`` (the tutorial's code, as nilearn 0.14.1 spells it).

The engines run round-robin in one process after one warm-up run each
(imports, joblib's worker pool), so that drifts in machine load fall on all of
them alike; the table gives the median over rounds. The slow statsmodels
``n_jobs=1`` run takes part in the first ``--sm1-rounds`` rounds only.

The data are checked against refglm's checksum manifest once, before any timing;
inside the timed runs every variant (refglm's and nilearn's alike) only locates
them (``fetch_spm_auditory(..., verify=False)``).

Peak resident memory is measured per variant in a fresh process: a wrapper
process runs the tutorial in a child and reads
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` once it has exited (the
largest resident set of any one process it waited for, joblib's workers
included). For the statsmodels ``n_jobs=2`` run, whose workers hold memory at
the same time as the parent, the wrapper also samples the resident set of the
whole process tree every 10 ms with psutil (when installed) and reports the
largest sum (pages shared between processes, the libraries, are counted once
per process, so the sum is an upper bound).

Data: ``--data-dir``, else ``$REFGLM_DATA_DIR``, else ``../shared/data/spm_auditory``
beside the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "spm_auditory"


def data_dir_from(arg) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("REFGLM_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


# ---------------------------------------------------------------- the pipelines
def locate_only():
    """Make ``refglm.datasets.fetch_spm_auditory`` skip the checksum pass from now on.

    ``run_tutorial`` calls it with the default ``verify=True``; the data are verified
    once in :func:`main`, before any timing, for all variants alike.
    """
    import functools

    import refglm.datasets

    fetch = refglm.datasets.fetch_spm_auditory
    if not isinstance(fetch, functools.partial):
        refglm.datasets.fetch_spm_auditory = functools.partial(fetch, verify=False)


def run_refglm(data_dir, engine, n_jobs):
    """refglm's tutorial; returns the fit's share of the time and a summary."""
    from refglm.workflows import run_tutorial

    locate_only()
    results = run_tutorial(data_dir=data_dir, engine=engine, n_jobs=n_jobs)
    return results.timings["fit"], {
        "fdr_threshold": results.thresholds["fdr"],
        "clusters_rows": len(results.clusters),
    }


def run_nilearn(data_dir):
    """The same tutorial with nilearn 0.14.1's public API."""
    import numpy as np
    import pandas as pd
    from nilearn.glm import threshold_stats_img
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.image import concat_imgs
    from nilearn.reporting import get_clusters_table

    from refglm.datasets import fetch_spm_auditory
    from refglm.workflows.tutorial import TUTORIAL_PARAMETERS

    data = fetch_spm_auditory(data_dir, verify=False)  # verified once, before the timings
    t0 = time.perf_counter()
    # nilearn takes a list of 3-D images as several runs: stack them first, as the tutorial did
    fmri_img = concat_imgs(data.func)
    events = pd.read_csv(data.events, sep="\t")
    # the same parameters refglm's run_tutorial passes
    model = FirstLevelModel(**TUTORIAL_PARAMETERS).fit(fmri_img, events)
    fit_seconds = time.perf_counter() - t0
    columns = list(model.design_matrices_[0].columns)
    effects = np.zeros((2, len(columns)))
    effects[0, columns.index("active")] = effects[1, columns.index("rest")] = 1
    z_map = model.compute_contrast("active - rest", output_type="z_score")
    f_map = model.compute_contrast(effects, stat_type="F", output_type="z_score")
    threshold_stats_img(z_map, alpha=0.001, height_control=None, threshold=3.0)
    threshold_stats_img(z_map, alpha=0.001, height_control="fpr")
    threshold_stats_img(z_map, alpha=0.05, height_control="bonferroni")
    _, fdr = threshold_stats_img(z_map, alpha=0.05, height_control="fdr")
    _, fdr10 = threshold_stats_img(z_map, alpha=0.05, height_control="fdr", cluster_threshold=10)
    table = get_clusters_table(z_map, stat_threshold=fdr10, cluster_threshold=20)
    threshold_stats_img(f_map, alpha=0.05, height_control="fdr", cluster_threshold=10)
    return fit_seconds, {"fdr_threshold": float(fdr), "clusters_rows": len(table)}


ENGINES = {
    "refglm vectorized": lambda d: run_refglm(d, "vectorized", 1),
    "refglm statsmodels n_jobs=2": lambda d: run_refglm(d, "statsmodels", 2),
    "refglm statsmodels n_jobs=1": lambda d: run_refglm(d, "statsmodels", 1),
    "nilearn 0.14.1": run_nilearn,
}
REFERENCE = "nilearn 0.14.1"
SM1 = "refglm statsmodels n_jobs=1"

# What each peak-RSS child runs (argv[1] is the data folder, argv[2] this folder).
_REFGLM_CHILD = (
    "import sys; sys.path.insert(0, sys.argv[2]); from run import run_refglm; "
    "run_refglm(sys.argv[1], {engine!r}, {n_jobs})"
)
RSS_CHILDREN = {
    "imports only": "import refglm.workflows, refglm.first_level.model, "
    "refglm.glm.engines.vectorized, statsmodels.api, scipy.stats, nibabel",
    "refglm vectorized": _REFGLM_CHILD.format(engine="vectorized", n_jobs=1),
    "refglm statsmodels n_jobs=1": _REFGLM_CHILD.format(engine="statsmodels", n_jobs=1),
    "refglm statsmodels n_jobs=2": _REFGLM_CHILD.format(engine="statsmodels", n_jobs=2),
    "nilearn 0.14.1": "import sys, warnings; warnings.simplefilter('ignore'); "
    "sys.path.insert(0, sys.argv[2]); from run import run_nilearn; run_nilearn(sys.argv[1])",
}
# Whose process tree is also sampled with psutil (joblib workers alongside the parent).
RSS_TREE = ("refglm statsmodels n_jobs=2",)

# The wrapper: run the child, optionally sampling the resident set of its whole process
# tree, then print the largest resident set of any process it waited for (ru_maxrss of
# RUSAGE_CHILDREN, KiB on Linux) and the largest sampled sum (bytes, or -1).
RSS_WRAPPER = """
import resource, subprocess, sys, time
sample = sys.argv[1] == "tree"
child = subprocess.Popen(sys.argv[2:])
largest_sum = -1
if sample:
    import psutil
    root = psutil.Process(child.pid)
    while child.poll() is None:
        total = 0
        try:
            for proc in [root, *root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        largest_sum = max(largest_sum, total)
        time.sleep(0.01)
if child.wait() != 0:
    sys.exit(child.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, largest_sum)
"""


def have_psutil() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


def peak_rss_mib(code: str, data_dir: Path, tree: bool = False) -> tuple[float, float | None]:
    """Peak RSS (MiB) of a fresh Python process running ``code``.

    Returns the largest resident set of any one process of the run (the child or one of
    its own children), and with ``tree`` the largest sampled sum over the process tree
    (None without psutil).
    """
    tree = tree and have_psutil()
    child = [sys.executable, "-c", code, str(data_dir), str(Path(__file__).parent)]
    mode = "tree" if tree else "single"
    out = subprocess.run(
        [sys.executable, "-c", RSS_WRAPPER, mode, *child],
        check=True,
        capture_output=True,
        text=True,
    )
    max_one, largest_sum = out.stdout.split()[-2:]
    return int(max_one) / 1024.0, (int(largest_sum) / 2**20 if tree else None)


def figure(rows: list, path: Path, title: str) -> None:
    """Horizontal bars of the median time per engine, every run as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.8), constrained_layout=True)
    names = [r["engine"] for r in rows][::-1]
    for y, row in enumerate(rows[::-1]):
        color = "tab:green" if row["engine"] == REFERENCE else "tab:blue"
        ax.barh(y, row["median_s"], color=color, alpha=0.6)
        ax.plot(row["all_s"], [y] * len(row["all_s"]), "k.", ms=4)
        label = f"{row['median_s']:.2f} s ({row['ratio_to_nilearn']:.2f}x nilearn)"
        ax.text(max(row["all_s"]) * 1.15, y, label, va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("whole tutorial, seconds (bar: median; dots: each run)")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(right=ax.get_xlim()[1] * 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


# ------------------------------------------------------------------ machine
def machine() -> dict:
    import numpy as np

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = "unknown"
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
            for i in threadpool_info()
            if i["user_api"] == "blas"
        )
    except ImportError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "load_average_at_start": tuple(round(x, 2) for x in os.getloadavg()),
    }


# --------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rounds", type=int, default=5, help="round-robin rounds (default 5)")
    parser.add_argument(
        "--sm1-rounds", type=int, default=3, help="rounds that include statsmodels n_jobs=1"
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS children")
    parser.add_argument("--json", default=None, help="also write the numbers to this file")
    parser.add_argument("--figure", default=None, help="also draw the table to this PNG")
    args = parser.parse_args(argv)
    data_dir = data_dir_from(args.data_dir)
    if not (data_dir / "sub001" / "fM00223" / "fM00223_004.img").exists():
        print(
            f"SPM auditory data not found in {data_dir}; pass --data-dir or set REFGLM_DATA_DIR.",
            file=sys.stderr,
        )
        return 2
    warnings.simplefilter("ignore")  # nilearn's deprecation and dtype notices
    from refglm.datasets import fetch_spm_auditory

    t0 = time.perf_counter()
    fetch_spm_auditory(data_dir)  # the checksum pass, once, outside the timed runs
    verify_seconds = time.perf_counter() - t0
    locate_only()

    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}; Python {info['python']}, "
        f"numpy {info['numpy']}, BLAS {info['blas']}"
    )
    print(f"data: {data_dir} (verified against the manifest in {verify_seconds:.2f} s, untimed)")

    times = {name: [] for name in ENGINES}
    fit_times = {name: [] for name in ENGINES}
    summaries = {}
    print("warm-up:", end="", flush=True)
    for name, run in ENGINES.items():
        if name == SM1 and args.sm1_rounds == 0:
            continue
        _, summaries[name] = run(data_dir)
        print(f" [{name}]", end="", flush=True)
    print()
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}:", end="", flush=True)
        for name, run in ENGINES.items():
            if name == SM1 and r >= args.sm1_rounds:
                continue
            t0 = time.perf_counter()
            fit_seconds, _ = run(data_dir)
            times[name].append(time.perf_counter() - t0)
            fit_times[name].append(fit_seconds)
            print(f" {name} {times[name][-1]:.2f}s", end=";", flush=True)
        print()

    ref = statistics.median(times[REFERENCE])
    rows = []
    print()
    print(
        f"{'engine':30s} {'runs':>4s} {'median s':>9s} {'fit s':>7s} {'x nilearn':>9s}"
        f" {'FDR thr':>9s} {'clusters':>8s}"
    )
    for name in ENGINES:
        if not times[name]:
            continue
        med = statistics.median(times[name])
        fit = statistics.median(fit_times[name])
        s = summaries[name]
        rows.append(
            dict(
                engine=name,
                runs=len(times[name]),
                median_s=med,
                fit_median_s=fit,
                ratio_to_nilearn=med / ref,
                all_s=times[name],
                **s,
            )
        )
        print(
            f"{name:30s} {len(times[name]):4d} {med:9.2f} {fit:7.2f} {med / ref:9.2f}"
            f" {s['fdr_threshold']:9.4f} {s['clusters_rows']:8d}"
        )
    print("(fit s: load + mask + design + GLM fit; the rest is contrasts, thresholds, clusters.")
    print(" nilearn's FDR threshold differs by convention: two-sided, BH; see docs/conventions.)")
    targets = {
        "vectorized <= 0.5 x nilearn": statistics.median(times["refglm vectorized"]) / ref,
        "statsmodels n_jobs=2 <= 5 x nilearn": statistics.median(
            times["refglm statsmodels n_jobs=2"]
        )
        / ref,
    }
    print()
    for label, ratio in targets.items():
        limit = 0.5 if label.startswith("vectorized") else 5.0
        print(f"target {label}: {ratio:.2f} -> {'met' if ratio <= limit else 'NOT met'}")

    rss = {}
    rss_tree = {}
    if not args.no_rss:
        print()
        print("peak resident memory (fresh process each, MiB; largest single process):")
        for name, code in RSS_CHILDREN.items():
            rss[name], tree_sum = peak_rss_mib(code, data_dir, tree=name in RSS_TREE)
            line = f"  {name:30s} {rss[name]:8.0f}"
            if name in RSS_TREE:
                if tree_sum is None:
                    line += "   (psutil not installed: no sum over the worker processes)"
                else:
                    rss_tree[name] = tree_sum
                    line += f"   sum over parent + workers, sampled every 10 ms: {tree_sum:.0f}"
            print(line)
        worst = max(v for k, v in rss.items() if k.startswith("refglm"))
        print(
            f"target peak RSS <= 1 GiB for refglm: {worst:.0f} MiB -> "
            f"{'met' if worst <= 1024 else 'NOT met'}"
        )

    info["load_average_at_end"] = tuple(round(x, 2) for x in os.getloadavg())
    print()
    print(
        f"load average (1, 5, 15 min) at start {info['load_average_at_start']}, "
        f"at end {info['load_average_at_end']} on {info['nproc']} cores"
    )
    if args.figure:
        title = (
            f"SPM auditory tutorial, {info['nproc']} cores ({info['cpu']}); load average "
            f"{info['load_average_at_start'][0]:.1f} -> {info['load_average_at_end'][0]:.1f}"
        )
        figure(rows, Path(args.figure), title)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "verify_seconds_untimed": verify_seconds,
                    "rows": rows,
                    "peak_rss_mib": rss,
                    "peak_rss_tree_sum_mib": rss_tree,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
