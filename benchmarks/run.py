"""``make bench``: what a user runs, in fresh processes, paired against nilearn 0.14.1.

    python benchmarks/run.py [--data-dir DIR] [--rounds 5] [--budget-minutes 8]
                             [--json out.json] [--figure out.png]

Each run is a fresh Python process (``benchmarks/pipeline.py``) that imports, then
times ``FirstLevelModel(...).fit(paths, events)`` on the 96 SPM auditory volumes,
the t and F contrasts, three thresholds (fpr .001, Bonferroni .05, FDR .05 with
clusters of at least 10 voxels) and the cluster table, with nothing run before it:
no warm-up, so each run pays what a user's run pays (first-touch page faults,
joblib's worker start, lazy initialisations). The variants:

- ``refglm-vectorized``: refglm's vectorized engine;
- ``refglm-statsmodels-2``: refglm's statsmodels reference with ``n_jobs=2``;
- ``nilearn-1``, ``nilearn-2``: nilearn 0.14.1 with ``n_jobs`` 1 and 2 (its user
  stacks the volumes with ``concat_imgs`` first, inside the timing).

Rounds are interleaved: every round runs every variant once, in an order rotated from
round to round, so that drifts in machine load fall on all of them alike. After
``--min-rounds`` (3), a round that would end past ``--budget-minutes`` is not started,
so that ``make bench`` stays under about 10 minutes on a loaded machine (about 5 on a
quiet one). Ratios are
paired: per round, a variant's time over nilearn's in the same round, at nilearn's
fastest ``n_jobs`` (the one with the lower median wall time over the rounds); the
median of the per-round ratios is printed, with their range.

Also printed, from the same run:

- the ``spm12`` convention: the vectorized engine's fit of every committed SPM model
  (``tests/peers/spm12/golden/*.npz``; one fresh process, the run loaded once as
  float64, one untimed fit first for the lazy imports) against SPM12's ``fmri_est``
  under Octave as recorded in each file's provenance (``seconds_fmri_est``, measured on
  this machine by ``validation/peers/spm12/run.sh``): fit / fmri_est, the target's
  ratio, and (load + fit) / fmri_est, which also charges the fit with reading the run
  (as ``fmri_est`` reads its scans);
- peak memory: ``VmHWM`` after the run minus ``VmHWM`` after the imports, over the 4-D
  float32 data (96 MiB), per variant (medians over rounds);
- CPU seconds (the process and its waited-for children; joblib's loky workers are
  not waited for, so for ``n_jobs=2`` it is the parent's share), page faults, the
  pipeline's steps, and the load average at the start and the end.

The data are checked against refglm's checksum manifest once, before any timing
(which also leaves them in the page cache, as for every later run).

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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "spm_auditory"
GOLDEN_DIR = REPO / "tests" / "peers" / "spm12" / "golden"

VECTORIZED = "refglm-vectorized"
STATSMODELS = "refglm-statsmodels-2"
NILEARN = ("nilearn-1", "nilearn-2")
VARIANTS = (VECTORIZED, STATSMODELS, *NILEARN)

# The targets.
TARGET_VECTORIZED = 0.2  # x nilearn at its fastest n_jobs
TARGET_STATSMODELS = 3.0  # x nilearn at its fastest n_jobs
TARGET_SPM12 = 0.1  # x SPM12's fmri_est under Octave
TARGET_PEAK = 1.5  # x the 4-D float32 data, above the imports


def data_dir_from(arg) -> Path:
    if arg:
        return Path(arg)
    env = os.environ.get("REFGLM_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


# ------------------------------------------------------------------ child runs
def run_child(variant: str, data_dir: Path) -> dict:
    """One fresh process of ``pipeline.py``; its JSON record (plus the process's wall time)."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / "pipeline.py"), variant, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
    )
    process_s = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["process_s"] = process_s
    return record


# What the SPM12 child runs: load the run once (float64, as validation/peers/spm12/measure.py),
# fit each golden model with the vectorized engine, print one JSON line per model.
SPM12_CHILD = r"""
import json, sys, time, warnings
from pathlib import Path
import numpy as np
warnings.simplefilter("ignore")
from refglm import io
from refglm.validation.spm12 import fit_spm_batch_model, load_spm_golden, spm_batch_model
data_dir, golden_dir = Path(sys.argv[1]), Path(sys.argv[2])
files = sorted(str(p) for p in (data_dir / "sub001" / "fM00223").glob("fM00223_*.img"))
t0 = time.perf_counter()
data, affine = io.load_run(files, dtype=np.float64)
load_s = time.perf_counter() - t0
paths = sorted(golden_dir.glob("*.npz"))
# one untimed fit first: the lazy imports inside the fit (scipy.stats, threadpoolctl,
# ...), as the pipeline runs leave their imports untimed; SPM's times exclude Octave's
# start and spm('defaults') alike
fit_spm_batch_model(spm_batch_model(load_spm_golden(paths[0])["model"]), data, affine,
                    engine="vectorized")
for path in paths:
    golden = load_spm_golden(path)
    batch = spm_batch_model(golden["model"])
    t0 = time.perf_counter()
    fit_spm_batch_model(batch, data, affine, engine="vectorized")
    fit_s = time.perf_counter() - t0
    prov = golden["provenance"]
    spm = {k: v for k, v in prov.items() if k.startswith("seconds")}
    print(json.dumps({"model": path.stem, "fit_s": fit_s, "load_s": load_s, "spm": spm}))
"""


def spm12_rows(data_dir: Path, golden_dir: Path) -> list[dict] | str:
    """The vectorized fit of each golden SPM model, or why there is none."""
    if not golden_dir.is_dir() or not any(golden_dir.glob("*.npz")):
        return f"no golden files in {golden_dir}"
    done = subprocess.run(
        [sys.executable, "-c", SPM12_CHILD, str(data_dir), str(golden_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode != 0:
        return f"the spm12 fits failed: {done.stderr.strip().splitlines()[-1:]}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def fmri_est_seconds(spm: dict) -> float | None:
    """SPM12's ``fmri_est`` alone, when the golden file records it."""
    for key, value in spm.items():
        if "fmri_est" in key and value is not None:
            return float(value)
    return None


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
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average_at_start": tuple(round(x, 2) for x in os.getloadavg()),
    }


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def paired(records: dict, name: str, reference: str, key: str = "wall_s") -> list[float]:
    """Per-round ratios of ``name`` over ``reference`` (rounds where both ran)."""
    return [
        a[key] / b[key]
        for a, b in zip(records[name], records[reference], strict=False)
        if b[key] > 0
    ]


def ratio_words(ratios: list[float]) -> str:
    if not ratios:
        return "n/a"
    return f"{median(ratios):.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f})"


def verdict(value: float, limit: float) -> str:
    if value != value:  # NaN: the variant did not run
        return "not measured"
    return "met" if value <= limit else "NOT met"


def figure(records: dict, path: Path, title: str) -> None:
    """Horizontal bars of the median wall time per variant, every round as a dot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in VARIANTS if records.get(n)][::-1]
    fig, ax = plt.subplots(figsize=(8, 2.6), constrained_layout=True)
    for y, name in enumerate(names):
        walls = [r["wall_s"] for r in records[name]]
        color = "tab:green" if name.startswith("nilearn") else "tab:blue"
        ax.barh(y, median(walls), color=color, alpha=0.6)
        ax.plot(walls, [y] * len(walls), "k.", ms=4)
        ax.text(max(walls) * 1.15, y, f"{median(walls):.2f} s", va="center", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("fit + contrasts + thresholds + table, fresh process, s (bar: median)")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(right=ax.get_xlim()[1] * 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


# --------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--statsmodels-rounds",
        type=int,
        default=None,
        help="rounds that include the statsmodels reference (default: all)",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=8.0,
        help="after --min-rounds, start no round that would end past this (default 8)",
    )
    parser.add_argument("--min-rounds", type=int, default=3)
    parser.add_argument("--golden-dir", default=str(GOLDEN_DIR))
    parser.add_argument("--no-spm12", action="store_true", help="skip the spm12 fits")
    parser.add_argument("--json", default=None, help="also write the records to this file")
    parser.add_argument("--figure", default=None, help="also draw the times to this PNG")
    args = parser.parse_args(argv)
    data_dir = data_dir_from(args.data_dir)
    if not (data_dir / "sub001" / "fM00223" / "fM00223_004.img").exists():
        print(
            f"SPM auditory data not found in {data_dir}; pass --data-dir or set REFGLM_DATA_DIR.",
            file=sys.stderr,
        )
        return 2
    sm_rounds = args.rounds if args.statsmodels_rounds is None else args.statsmodels_rounds
    from refglm.datasets import fetch_spm_auditory

    started = time.perf_counter()
    t0 = time.perf_counter()
    fetch_spm_auditory(data_dir)  # the checksum pass, once, outside the timed runs
    verify_seconds = time.perf_counter() - t0
    info = machine()
    print(
        f"machine: {info['nproc']} cores, {info['cpu']}; Python {info['python']}, "
        f"numpy {info['numpy']}; load average at start {info['load_average_at_start']}"
    )
    print(f"data: {data_dir} (verified against the manifest in {verify_seconds:.2f} s, untimed)")
    print(
        "each run: a fresh process, imports untimed, then FirstLevelModel(...).fit(paths, "
        "events) -> t and F contrasts -> 3 thresholds -> cluster table, no warm-up"
    )

    records: dict = {name: [] for name in VARIANTS}
    round_s = []
    for r in range(args.rounds):
        elapsed = time.perf_counter() - started
        if r >= args.min_rounds and elapsed + max(round_s) > 60 * args.budget_minutes:
            left = f"round {r + 1}" if r + 1 == args.rounds else f"rounds {r + 1}-{args.rounds}"
            print(
                f"({left} not run: another round would end past the "
                f"{args.budget_minutes:g}-minute budget; the machine is slower than usual)"
            )
            break
        round_start = time.perf_counter()
        order = [n for n in VARIANTS if n != STATSMODELS or r < sm_rounds]
        shift = r % len(order)
        order = order[shift:] + order[:shift]
        print(f"round {r + 1}/{args.rounds}:", end="", flush=True)
        for name in order:
            rec = run_child(name, data_dir)
            rec["round"] = r
            records[name].append(rec)
            print(f" {name} {rec['wall_s']:.2f}s", end=";", flush=True)
        print(f" (load average {os.getloadavg()[0]:.2f})")
        round_s.append(time.perf_counter() - round_start)

    # the same work: the mask, the FDR threshold and the table of each variant
    print()
    print(
        f"{'variant':22s} {'runs':>4s} {'wall s':>7s} {'cpu s':>7s} {'wkr s':>6s} {'fit s':>6s} "
        f"{'contr':>6s} {'thr':>6s} {'table':>6s} {'import':>6s} {'minflt':>7s} "
        f"{'peak/data':>9s} {'mask':>6s} {'FDR thr':>8s} {'rows':>4s}"
    )
    peaks = {}
    for name in VARIANTS:
        recs = records[name]
        if not recs:
            continue

        def med(key, recs=recs):
            return median([rec[key] for rec in recs])

        def step(key, recs=recs):
            return median([rec["steps"][key] for rec in recs])

        peaks[name] = median(
            [
                (rec["vmhwm_kib"] - rec["vmhwm_import_kib"]) * 1024 / rec["data_nbytes"]
                for rec in recs
            ]
        )
        s = recs[0]["summary"]
        print(
            f"{name:22s} {len(recs):4d} {med('wall_s'):7.2f} {med('cpu_s'):7.2f} "
            f"{med('workers_cpu_s'):6.2f} "
            f"{step('fit'):6.2f} {step('contrasts'):6.3f} {step('thresholds'):6.3f} "
            f"{step('table'):6.3f} {med('import_s'):6.2f} {med('minflt'):7.0f} "
            f"{peaks[name]:9.2f} {s['mask_voxels']:6d} {s['fdr_threshold']:8.4f} "
            f"{s['table_rows']:4d}"
        )
    print(
        "(wall, cpu: the timed pipeline; cpu counts the process and its waited-for children,"
        " wkr joblib's\n loky workers (psutil); peak/data: VmHWM after the run minus after the"
        " imports,"
        " over the 4-D float32 run;\n nilearn's FDR threshold and table differ by convention:"
        " docs/conventions.md)"
    )

    nilearn_best = min(NILEARN, key=lambda n: median([r["wall_s"] for r in records[n]]))
    vec = paired(records, VECTORIZED, nilearn_best)
    for recs in records.values():
        for rec in recs:  # the process and its joblib workers
            workers = rec.get("workers_cpu_s", 0.0)
            rec["total_cpu_s"] = rec["cpu_s"] + (workers if workers == workers else 0.0)
    vec_cpu = paired(records, VECTORIZED, nilearn_best, "total_cpu_s")
    sm_cpu = paired(records, STATSMODELS, nilearn_best, "total_cpu_s")
    sm_best = paired(records, STATSMODELS, nilearn_best)
    sm_2 = paired(records, STATSMODELS, "nilearn-2")
    nil_2_over_1 = paired(records, "nilearn-2", "nilearn-1")
    print()
    print(f"nilearn's fastest n_jobs here: {nilearn_best} (nilearn-2 / nilearn-1: "
          f"{ratio_words(nil_2_over_1)})")  # fmt: skip
    print("paired ratios (median over rounds of this variant's time / nilearn's, same round):")
    print(
        f"  vectorized / {nilearn_best}: {ratio_words(vec)}  "
        f"-> target <= {TARGET_VECTORIZED}: {verdict(median(vec), TARGET_VECTORIZED)}"
    )
    print(f"  vectorized / {nilearn_best}, CPU seconds: {ratio_words(vec_cpu)}")
    print(
        f"  statsmodels n_jobs=2 / {nilearn_best}: {ratio_words(sm_best)}  "
        f"-> target <= {TARGET_STATSMODELS}: {verdict(median(sm_best), TARGET_STATSMODELS)}"
    )
    print(f"  statsmodels n_jobs=2 / nilearn-2: {ratio_words(sm_2)}")
    print(
        f"  statsmodels n_jobs=2 / {nilearn_best}, CPU seconds with the workers': "
        f"{ratio_words(sm_cpu)}"
    )
    print(
        f"  peak memory of the vectorized run above the imports: {peaks[VECTORIZED]:.2f} x the "
        f"4-D float32 data -> target <= {TARGET_PEAK}: "
        f"{verdict(peaks[VECTORIZED], TARGET_PEAK)}"
    )

    spm = None if args.no_spm12 else spm12_rows(data_dir, Path(args.golden_dir))
    print()
    if spm is None:
        print("spm12 convention: skipped (--no-spm12)")
    elif isinstance(spm, str):
        print(f"spm12 convention vs SPM12 fmri_est: pending ({spm})")
    else:
        print(
            f"spm12 convention, vectorized fit of each committed SPM model (run loaded once as "
            f"float64 in {spm[0]['load_s']:.2f} s):"
        )
        ratios, strict = [], []
        for row in spm:
            est = fmri_est_seconds(row["spm"])
            batch = row["spm"].get("seconds_spm_batch")
            line = f"  {row['model']:24s} fit {row['fit_s']:5.2f} s"
            if est is not None:
                row["ratio"] = row["fit_s"] / est
                row["ratio_with_load"] = (row["fit_s"] + row["load_s"]) / est
                ratios.append(row["ratio"])
                strict.append(row["ratio_with_load"])
                line += (
                    f"; SPM12 fmri_est {est:6.2f} s; fit / fmri_est {row['ratio']:.3f}, "
                    f"(load + fit) / fmri_est {row['ratio_with_load']:.3f}"
                )
            elif batch is not None:
                line += f"; SPM12 batch (spec + est + con) {batch:6.2f} s, fmri_est not recorded"
            print(line)
        if ratios and len(ratios) == len(spm):
            print(
                f"  worst fit / fmri_est: {max(ratios):.3f} -> target <= {TARGET_SPM12}: "
                f"{verdict(max(ratios), TARGET_SPM12)}; worst (load + fit) / fmri_est "
                f"{max(strict):.3f}"
            )
        else:
            print(
                "  ratio to fmri_est: not measured (a golden file records no fmri_est time: "
                "regenerate it with validation/peers/spm12/run.sh)"
            )

    info["load_average_at_end"] = tuple(round(x, 2) for x in os.getloadavg())
    print()
    print(
        f"load average (1, 5, 15 min) at start {info['load_average_at_start']}, at end "
        f"{info['load_average_at_end']} on {info['nproc']} cores; whole benchmark "
        f"{(time.perf_counter() - started) / 60:.1f} min"
    )
    if args.figure:
        title = (
            f"SPM auditory, fresh processes, {info['nproc']} cores; load average "
            f"{info['load_average_at_start'][0]:.1f} -> {info['load_average_at_end'][0]:.1f}"
        )
        figure(records, Path(args.figure), title)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "verify_seconds_untimed": verify_seconds,
                    "nilearn_fastest": nilearn_best,
                    "paired": {
                        "vectorized_over_nilearn": vec,
                        "vectorized_over_nilearn_cpu": vec_cpu,
                        "statsmodels2_over_nilearn": sm_best,
                        "statsmodels2_over_nilearn2": sm_2,
                        "statsmodels2_over_nilearn_cpu": sm_cpu,
                    },
                    "peak_over_data": peaks,
                    "spm12": spm,
                    "records": records,
                },
                indent=1,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
