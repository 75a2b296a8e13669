"""One benchmark run in this (fresh) process: what a user runs, timed and counted.

    python benchmarks/pipeline.py VARIANT --data-dir DIR [--repeat N] [--profile OUT]

VARIANT is one of :data:`VARIANTS`: ``refglm-vectorized``, ``refglm-statsmodels-2``
(``n_jobs=2``), ``refglm-statsmodels-1``, ``nilearn-1``, ``nilearn-2`` (nilearn 0.14.1
at ``n_jobs`` 1 or 2).

The pipeline, the same for every variant (the tutorial's model):

1. ``FirstLevelModel(t_r=7, noise_model='ar1', standardize=False, hrf_model='spm',
   drift_model='cosine', high_pass=.01).fit(paths, events)`` on the 96 paths of the
   SPM auditory run and its events file (nilearn takes a list of 3-D images as
   several runs, so its user stacks them first with ``concat_imgs``, inside the
   timing);
2. the t contrast ``active - rest`` and the F contrast of ``(active, rest)`` as z maps;
3. three thresholds of the t map: fpr .001, Bonferroni .05, FDR .05 with clusters of
   at least 10 voxels (``map_threshold`` / ``threshold_stats_img``);
4. the cluster table of the t map at the FDR threshold (``cluster_threshold=20``).

Imports happen before the timing and are timed on their own (``import_s``); the data
are located without the checksum pass. Nothing runs before the timed pipeline:
no warm-up, so the run pays for its first-touch page faults, joblib's worker start
and whatever else a user's first fit pays. ``--repeat N`` runs the pipeline N times
in this process (the former benchmark's in-process rounds), one record each.

Printed: one JSON line per run with ``wall_s``, ``cpu_s`` (user + system of this
process and of its waited-for children, ``os.times``), ``cpu_self_s``, ``sys_s`` (the
system part of ``cpu_s``: page faults among it), ``minflt`` and ``majflt`` (this
process, ``getrusage``), ``steps`` (wall seconds of fit, contrasts, thresholds and
table), ``import_s``, ``vmhwm_import_kib`` (peak resident memory after the imports,
``VmHWM``, which starts afresh at ``exec``), ``vmhwm_kib`` (after the run),
``data_nbytes`` (the 4-D run as float32) and a ``summary`` (mask size, FDR threshold,
table rows) to check that the variants did the same work; ``workers_cpu_s``: CPU
seconds of the live child processes (joblib's loky workers, which ``cpu_s`` misses;
psutil), 0 without workers.

``--profile OUT``: the (first) run under cProfile, stats written to OUT.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

VARIANTS = (
    "refglm-vectorized",
    "refglm-statsmodels-2",
    "refglm-statsmodels-1",
    "nilearn-1",
    "nilearn-2",
)

# The tutorial's model (refglm.workflows.tutorial.TUTORIAL_PARAMETERS, repeated so that
# the nilearn children do not import refglm's model).
PARAMETERS = dict(
    t_r=7.0,
    noise_model="ar1",
    standardize=False,
    hrf_model="spm",
    drift_model="cosine",
    high_pass=0.01,
)
ALPHAS = (("fpr", 0.001, 0), ("bonferroni", 0.05, 0), ("fdr", 0.05, 10))
TABLE_CLUSTER_THRESHOLD = 20


def vmhwm_kib() -> int:
    """Peak resident set of this process (KiB), ``VmHWM`` of ``/proc/self/status``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def data_files(data_dir: Path) -> tuple[list[str], str]:
    """The 96 scans and the events file, located as ``fetch_spm_auditory`` lays them out."""
    run = data_dir / "sub001" / "fM00223"
    func = sorted(str(p) for p in run.glob("fM00223_*.img"))
    events = data_dir / "sub001" / "sub-01_task-auditory_events.tsv"
    if not events.exists():  # refglm's fetcher writes it on first use
        from refglm.datasets import fetch_spm_auditory

        located = fetch_spm_auditory(data_dir, verify=False)
        return list(map(str, located.func)), str(located.events)
    return func, str(events)


# ------------------------------------------------------------------ the pipelines
def import_refglm():
    try:
        import refglm.glm.engines.statsmodels  # noqa: F401  (the engines load on first use)
        import refglm.glm.engines.vectorized  # noqa: F401
        from refglm.first_level import FirstLevelModel, get_clusters_table, map_threshold
    except ModuleNotFoundError:  # the layout before the regroup (to measure older commits)
        import refglm.fit  # noqa: F401
        import refglm.fit_vectorized  # noqa: F401
        from refglm.maps import get_clusters_table, map_threshold
        from refglm.model import FirstLevelModel

    return FirstLevelModel, map_threshold, get_clusters_table


def f_effects(model):
    """The F contrast of (active, rest): two rows of the first run's design matrix."""
    import numpy as np

    columns = list(model.design_matrices_[0].columns)
    effects = np.zeros((2, len(columns)))
    effects[0, columns.index("active")] = effects[1, columns.index("rest")] = 1
    return effects


def run_refglm(func, events, engine: str, n_jobs: int, steps: dict) -> dict:
    FirstLevelModel, map_threshold, get_clusters_table = import_refglm()
    t0 = time.perf_counter()
    model = FirstLevelModel(**PARAMETERS, engine=engine, n_jobs=n_jobs).fit(func, events)
    t1 = time.perf_counter()
    z_t = model.compute_contrast("active - rest", output_type="z_score")
    # the F test of (active, rest) as a matrix, as nilearn's user writes it below (a list
    # of contrasts is one contrast per run in nilearn's API and refglm's)
    model.compute_contrast(f_effects(model), stat_type="F", output_type="z_score")
    t2 = time.perf_counter()
    thresholds = {}
    for name, alpha, clusters in ALPHAS:
        _, thresholds[name] = map_threshold(
            z_t, alpha=alpha, height_control=name, cluster_threshold=clusters
        )
    t3 = time.perf_counter()
    table = get_clusters_table(
        z_t, stat_threshold=thresholds["fdr"], cluster_threshold=TABLE_CLUSTER_THRESHOLD
    )
    t4 = time.perf_counter()
    steps.update(fit=t1 - t0, contrasts=t2 - t1, thresholds=t3 - t2, table=t4 - t3)
    return {
        "mask_voxels": int(model.mask_.sum()),
        "fdr_threshold": float(thresholds["fdr"]),
        "table_rows": len(table),
        "n_scans": int(model.n_scans_),
        "grid": list(model.mask_.shape),
    }


def import_nilearn():
    from nilearn.glm import threshold_stats_img
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.image import concat_imgs
    from nilearn.reporting import get_clusters_table

    return FirstLevelModel, threshold_stats_img, concat_imgs, get_clusters_table


def run_nilearn(func, events, n_jobs: int, steps: dict) -> dict:
    import numpy as np

    FirstLevelModel, threshold_stats_img, concat_imgs, get_clusters_table = import_nilearn()
    t0 = time.perf_counter()
    # a list of 3-D images is several runs to nilearn: its user stacks them first
    model = FirstLevelModel(**PARAMETERS, n_jobs=n_jobs).fit(concat_imgs(func), events)
    t1 = time.perf_counter()
    z_t = model.compute_contrast("active - rest", output_type="z_score")
    model.compute_contrast(f_effects(model), stat_type="F", output_type="z_score")
    t2 = time.perf_counter()
    thresholds = {}
    for name, alpha, clusters in ALPHAS:
        _, thresholds[name] = threshold_stats_img(
            z_t, alpha=alpha, height_control=name, cluster_threshold=clusters
        )
    t3 = time.perf_counter()
    table = get_clusters_table(
        z_t, stat_threshold=thresholds["fdr"], cluster_threshold=TABLE_CLUSTER_THRESHOLD
    )
    t4 = time.perf_counter()
    steps.update(fit=t1 - t0, contrasts=t2 - t1, thresholds=t3 - t2, table=t4 - t3)
    mask = np.asarray(model.masker_.mask_img_.dataobj)
    return {
        "mask_voxels": int((mask > 0).sum()),
        "fdr_threshold": float(thresholds["fdr"]),
        "table_rows": len(table),
        "n_scans": len(func),
        "grid": list(mask.shape),
    }


def runner(variant: str):
    """(import function, run function of (func, events, steps))."""
    if variant == "refglm-vectorized":
        return import_refglm, lambda f, e, s: run_refglm(f, e, "vectorized", 1, s)
    if variant.startswith("refglm-statsmodels-"):
        n_jobs = int(variant.rsplit("-", 1)[1])
        return import_refglm, lambda f, e, s: run_refglm(f, e, "statsmodels", n_jobs, s)
    if variant.startswith("nilearn-"):
        n_jobs = int(variant.rsplit("-", 1)[1])
        return import_nilearn, lambda f, e, s: run_nilearn(f, e, n_jobs, s)
    raise SystemExit(f"unknown variant {variant!r}; one of {VARIANTS}")


def live_children_cpu() -> float:
    """CPU seconds of this process's live children (joblib's loky workers), or NaN.

    The workers are not waited for (they idle until the process exits), so ``os.times``
    does not count them; psutil reads them while they are alive.
    """
    try:
        import psutil
    except ImportError:
        return float("nan")
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def counters() -> dict:
    t = os.times()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "wall": time.perf_counter(),
        "cpu": t.user + t.system + t.children_user + t.children_system,
        "cpu_self": t.user + t.system,
        "sys": t.system + t.children_system,
        "minflt": usage.ru_minflt,
        "majflt": usage.ru_majflt,
        "workers_cpu": live_children_cpu(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", choices=VARIANTS)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # nilearn's notices; refglm's NaN warnings do not occur

    t0 = time.perf_counter()
    import_, run = runner(args.variant)
    import numpy as np

    import_()
    import_s = time.perf_counter() - t0
    func, events = data_files(Path(args.data_dir))
    vmhwm_import = vmhwm_kib()

    for k in range(args.repeat):
        steps: dict = {}
        before = counters()
        if args.profile and k == 0:
            import cProfile

            profiler = cProfile.Profile()
            summary = profiler.runcall(run, func, events, steps)
            profiler.dump_stats(args.profile)
        else:
            summary = run(func, events, steps)
        after = counters()
        shape = summary["grid"] + [summary["n_scans"]]
        record = {
            "variant": args.variant,
            "run": k,
            "wall_s": after["wall"] - before["wall"],
            "cpu_s": after["cpu"] - before["cpu"],
            "cpu_self_s": after["cpu_self"] - before["cpu_self"],
            "sys_s": after["sys"] - before["sys"],
            "workers_cpu_s": after["workers_cpu"] - before["workers_cpu"],
            "minflt": after["minflt"] - before["minflt"],
            "majflt": after["majflt"] - before["majflt"],
            "steps": steps,
            "import_s": import_s,
            "vmhwm_import_kib": vmhwm_import,
            "vmhwm_kib": vmhwm_kib(),
            "data_nbytes": int(np.prod(shape)) * 4,
            "summary": summary,
            "loadavg": os.getloadavg()[0],
        }
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
