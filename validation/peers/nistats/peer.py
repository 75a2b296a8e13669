"""nistats 0.0.1rc0 as a live peer: its side environment, the settings, one comparison each.

Runs in refglm's environment. nistats runs in the side environment that ``make peers``
builds (``build_env.sh``: ``.venv-nistats`` beside ``.venv``, or the interpreter named by
``REFGLM_NISTATS_PYTHON``), as a subprocess of ``run_nistats.py``, once per setting. Its
maps are compared voxel by voxel with refglm's under ``convention='nistats'`` (the
vectorized engine), and every voxel beyond tolerance is given a cause by the same code
as ``refglm compare --explain`` (``refglm.compare.accounting.account_for_voxels``).

Used by ``tests/peers/test_nistats.py`` (one :func:`compare_setting` per setting per
session) and, as a script, to print the table of settings quoted in the report::

    .venv/bin/python -m validation.peers.nistats.peer \\
        --data-dir ../shared/data/spm_auditory [--json out.json]

The settings (:data:`SETTINGS`) vary one factor at a time around the tutorial's model
(SPM HRF, cosine drifts at 0.01 Hz, AR(1), the 96 scans), as the issue lists them:
every HRF model of rc0, cosine and polynomial drifts with their parameters (and none),
ar1 and ols, runs of 40 and 63 scans (the latter ends mid-block). The contrasts
(:data:`CONTRASTS`): ``active - rest``, ``active`` against baseline, and the F test of
``(active, rest)``; with the FIR model a condition is the sum of its delay columns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RUNNER = HERE / "run_nistats.py"
#: Environment variable naming the side environment's interpreter (else .venv-nistats).
PYTHON_VARIABLE = "REFGLM_NISTATS_PYTHON"
DEFAULT_VENV = REPO / ".venv-nistats"
#: What build_env.sh pins (the counts of quantized tails depend on scipy's version).
EXPECTED_VERSIONS = {
    "nistats": "0.0.1rc0",
    "nilearn": "0.6.2",
    "numpy": "1.23.5",
    "scipy": "1.10.1",
    "sklearn": "1.2.2",
    "joblib": "1.1.1",
}
MISSING = (
    "the nistats 0.0.1rc0 side environment is missing: run `make peers` (it builds "
    ".venv-nistats beside .venv with Python 3.11, wheels only, ~30 s), or set "
    f"{PYTHON_VARIABLE} to the python of an environment built by "
    "validation/peers/nistats/build_env.sh"
)

T_R = 7.0
TUTORIAL = dict(
    hrf_model="spm",
    drift_model="cosine",
    high_pass=0.01,
    drift_order=1,
    fir_delays=[0],
    noise_model="ar1",
    n_scans=96,
)


def _setting(**changes) -> dict:
    return {**TUTORIAL, **changes}


#: One factor at a time around the tutorial's model.
SETTINGS: dict[str, dict] = {
    "tutorial": _setting(),
    "spm+deriv": _setting(hrf_model="spm + derivative"),
    "spm+deriv+disp": _setting(hrf_model="spm + derivative + dispersion"),
    "glover": _setting(hrf_model="glover"),
    "glover+deriv": _setting(hrf_model="glover + derivative"),
    "glover+deriv+disp": _setting(hrf_model="glover + derivative + dispersion"),
    "fir0-2": _setting(hrf_model="fir", fir_delays=[0, 1, 2]),
    "hrf_none": _setting(hrf_model=None),
    "cosine_hp.005": _setting(high_pass=0.005),
    "cosine_hp.02": _setting(high_pass=0.02),
    "poly1": _setting(drift_model="polynomial", drift_order=1),
    "poly3": _setting(drift_model="polynomial", drift_order=3),
    "drift_none": _setting(drift_model=None),
    "ols": _setting(noise_model="ols"),
    "scans40": _setting(n_scans=40),
    "scans63": _setting(n_scans=63),
}

#: name -> rows of weights by condition (a FIR condition weighs all its delay columns).
CONTRASTS: dict[str, list[dict]] = {
    "activeMinusRest": [{"active": 1.0, "rest": -1.0}],
    "active": [{"active": 1.0}],
    "effectsOfInterest": [{"active": 1.0}, {"rest": 1.0}],
}

#: nistats.thresholding.map_threshold calls on nistats' own tutorial z map, options
#: given explicitly (rc0's default is two_sided=True; the tutorial's 0.0.1b1 was one-sided).
THRESHOLD_CASES = [
    dict(height_control=hc, alpha=alpha, two_sided=two, cluster_threshold=clusters)
    for hc, alpha in (("fpr", 0.001), ("bonferroni", 0.05), ("fdr", 0.05))
    for two in (True, False)
    for clusters in ((0, 10) if hc == "fdr" else (0,))
]


# ------------------------------------------------------------------ the side environment
def nistats_python() -> Path | None:
    """The side environment's interpreter, or None when it is not there."""
    named = os.environ.get(PYTHON_VARIABLE)
    path = Path(named) if named else DEFAULT_VENV / "bin" / "python"
    return path if path.exists() else None


def side_versions(python: Path) -> dict:
    """``run_nistats.py --versions``: the import check, versions and numpy's cos."""
    out = subprocess.run(
        [str(python), str(RUNNER), "--versions"], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"{python} {RUNNER.name} --versions failed ({out.returncode}): "
            f"{out.stderr.strip()[-2000:]}; rebuild the environment: make peers"
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_nistats(python: Path, spec: dict, workdir: Path) -> tuple[subprocess.Popen, Path]:
    """Start ``run_nistats.py`` on ``spec`` (written to ``workdir``); return it and its log."""
    spec_path = workdir / f"{Path(spec['out']).stem}.spec.json"
    spec_path.write_text(json.dumps(spec))
    log = workdir / f"{Path(spec['out']).stem}.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen(
            [str(python), str(RUNNER), str(spec_path)], stdout=handle, stderr=subprocess.STDOUT
        )
    return proc, log


def finish_nistats(proc: subprocess.Popen, log: Path, out: Path) -> tuple[dict, dict]:
    """Wait for the runner; its arrays (``.npz``) and metadata (``.json``)."""
    if proc.wait() != 0:
        raise RuntimeError(
            f"run_nistats.py failed ({proc.returncode}); its output ({log}):\n"
            + log.read_text()[-3000:]
        )
    with np.load(out) as data:
        arrays = {key: data[key] for key in data.files}
    return arrays, json.loads(out.with_suffix(".json").read_text())


def nistats_spec(name: str, setting: dict, func, events, workdir: Path, **extra) -> dict:
    model = {k: setting[k] for k in TUTORIAL if k != "n_scans"}
    return {
        "func": [str(f) for f in func[: setting["n_scans"]]],
        "events": str(events),
        "t_r": T_R,
        "model": model,
        "contrasts": [{"name": n, "rows": rows} for n, rows in CONTRASTS.items()],
        "out": str(workdir / f"{name}.npz"),
        **extra,
    }


# ----------------------------------------------------------------------- refglm's side
def load_run(func) -> tuple[np.ndarray, np.ndarray]:
    """The 96 volumes as refglm's ``nistats`` convention loads them (what ``fit`` reads)."""
    from refglm import io
    from refglm.conventions import get_convention

    files = [str(f) for f in func]
    return io.load_run(files, dtype=io.run_dtype(files, get_convention("nistats").input_dtype))


def fit_refglm(setting: dict, func, events, run=None):
    """refglm ``convention='nistats'``, vectorized engine, signals kept (the tie check).

    ``run``: ``(data, affine)`` of all the volumes (:func:`load_run`), loaded once per
    session; the setting's first ``n_scans`` are fitted (``fit_array``, the steps of
    ``fit`` after loading). None: ``fit`` on the files.
    """
    from refglm.first_level.model import FirstLevelModel

    model = FirstLevelModel(
        t_r=T_R,
        hrf_model=setting["hrf_model"],
        drift_model=setting["drift_model"],
        high_pass=setting["high_pass"],
        drift_order=setting["drift_order"],
        fir_delays=setting["fir_delays"],
        noise_model=setting["noise_model"],
        standardize=False,
        convention="nistats",
        engine="vectorized",
        minimize_memory=False,
    )
    n_scans = setting["n_scans"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if run is None:
            return model.fit([str(f) for f in func[:n_scans]], str(events))
        data, affine = run
        return model.fit_array(data[..., :n_scans], affine, str(events))


def contrast_matrix(rows: list[dict], columns) -> np.ndarray:
    """The rows of :data:`CONTRASTS` on a design's columns (the runner's rule)."""
    columns = [str(c) for c in columns]
    C = np.zeros((len(rows), len(columns)))
    for i, row in enumerate(rows):
        for name, weight in row.items():
            cols = (
                [name]
                if name in columns
                else [c for c in columns if c.startswith(f"{name}_delay_")]
            )
            for col in cols:
                C[i, columns.index(col)] = weight
    return C


def definitions_for(model) -> dict:
    """name -> contrast (a vector for t, a matrix for F) on refglm's design."""
    columns = model.design_matrices_[0].columns
    out = {}
    for name, rows in CONTRASTS.items():
        C = contrast_matrix(rows, columns)
        out[name] = C[0] if len(rows) == 1 else C
    return out


def nistats_maps(arrays: dict, affine) -> dict:
    """nistats' maps as ``refglm.compare`` StatMaps keyed by ``(contrast, kind)``."""
    from refglm.compare import StatMap

    mask = arrays["mask"].astype(bool)
    maps = {}
    for name, rows in CONTRASTS.items():
        kinds = {"z": "z", "stat": "t" if len(rows) == 1 else "F", "p": "p"}
        if len(rows) == 1:  # rc0's F "effect" and "variance" are other quantities
            kinds.update(effect="effect", variance="variance")
        for short, kind in kinds.items():
            volume = np.zeros(mask.shape)
            volume[mask] = arrays[f"{name}__{short}"]
            maps[(name, kind)] = StatMap(name, kind, volume, np.asarray(affine), "nistats 0.0.1rc0")
    return maps


# ----------------------------------------------------------------------- one comparison
def compare_setting(
    name: str,
    python: Path,
    func,
    events,
    workdir: Path,
    tolerance: float = 1e-6,
    nifti_dir: Path | None = None,
    thresholds: list | None = None,
    run=None,
) -> dict:
    """nistats and refglm on one setting: every measured quantity, JSON-able.

    nistats runs in its subprocess while refglm fits. Returns the setting, masks,
    design, AR estimates, and per contrast the accounting of ``refglm compare --explain``
    (``voxels``: counts by cause, ``max_abs_without_excused`` per map) and the max |Δ|
    of every map; with ``nifti_dir``/``thresholds`` the runner also writes nistats' maps
    and thresholds them (``nistats_thresholds``). ``run``: as :func:`fit_refglm`.
    """
    from refglm.compare.accounting import account_for_voxels

    setting = SETTINGS[name]
    extra = {}
    if nifti_dir is not None:
        extra["nifti_dir"] = str(nifti_dir)
    if thresholds:
        extra["thresholds"] = [{"contrast": "activeMinusRest", **case} for case in thresholds]
    spec = nistats_spec(name, setting, func, events, workdir, **extra)
    t0 = time.time()
    proc, log = start_nistats(python, spec, workdir)
    model = fit_refglm(setting, func, events, run)
    t_refglm = time.time() - t0
    arrays, meta = finish_nistats(proc, log, Path(spec["out"]))
    t_both = time.time() - t0

    candidate = nistats_maps(arrays, arrays["affine"])
    definitions = definitions_for(model)
    voxels = account_for_voxels(candidate, None, model, definitions, tolerance=tolerance)

    X = model.X_
    nis_X = arrays["design"]
    columns = [str(c) for c in model.design_matrices_[0].columns]
    nis_mask = arrays["mask"].astype(bool)
    out = {
        "setting": name,
        **setting,
        "versions": meta["versions"],
        "nistats_checks": meta["checks"],
        "n_columns": len(columns),
        "design_condition_number": float(np.linalg.cond(X)),
        "design_columns_equal": columns == [str(c) for c in arrays["design_columns"]],
        "design_refglm": X.tolist(),
        "design_max_abs_diff": float(np.abs(X - nis_X).max()) if X.shape == nis_X.shape else None,
        "mask_refglm": int(model.mask_.sum()),
        "mask_nistats": int(nis_mask.sum()),
        "masks_equal": bool(np.array_equal(model.mask_, nis_mask)),
        "seconds": {"refglm_fit": round(t_refglm, 2), "both": round(t_both, 2)},
        "nistats_seconds": meta["timings_s"],
        "voxels": voxels,
        "maps": {},
    }
    for key, entry in voxels["maps"].items():
        out["maps"][key] = {
            "max_abs": entry["max_abs"],
            "max_abs_without_excused": entry["max_abs_without_excused"],
            "counts": entry["counts"],
            "n_beyond": entry["n_beyond"],
        }
    if setting["noise_model"] == "ar1" and out["masks_equal"]:
        fit = model.fit_
        rho_n = arrays["rho_raw"]
        scaled = fit.rho_raw * 100
        near_edge = np.abs(scaled - np.rint(scaled))[np.rint(scaled) != 0] / 100
        out["rho"] = {
            "raw_max_abs_diff": float(np.abs(fit.rho_raw - rho_n).max()),
            "bins_differ": int(np.sum(fit.rho != arrays["labels"])),
            "closest_to_an_edge": float(near_edge.min()),
            "nistats_rho_bins_to_its_labels": bool(meta["checks"]["rho_raw_bins_to_labels"]),
        }
    if thresholds:
        out["nistats_thresholds"] = meta["thresholds"]
    return out


def table(results: list[dict]) -> str:
    """The report's table: max |Δz| after ties and tails, and the causes, per setting."""
    names = list(CONTRASTS)
    lines = [
        "| setting | design cond. | mask | max |Δz| after ties and tails: "
        + " · ".join(names)
        + " | voxels beyond 1e-6 (tie / tail / other): "
        + " · ".join(names)
        + " | AR bins ≠ | max |Δρ| |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        dz, causes = [], []
        for n in names:
            entry = r["maps"][f"contrast-{n}_stat-z"]
            dz.append(f"{entry['max_abs_without_excused']:.1e}")
            c = entry["counts"]
            other = entry["n_beyond"] - c["tie"] - c["tail"]
            causes.append(f"{c['tie']} / {c['tail']} / {other}")
        rho = r.get("rho")
        lines.append(
            f"| {r['setting']} | {r['design_condition_number']:.3g} | "
            f"{r['mask_refglm']}{'' if r['masks_equal'] else ' ≠ ' + str(r['mask_nistats'])} "
            f"| {' · '.join(dz)} | {' · '.join(causes)} | "
            f"{'–' if rho is None else rho['bins_differ']} | "
            f"{'–' if rho is None else format(rho['raw_max_abs_diff'], '.1e')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", required=True, help="the SPM auditory folder")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--json", default=None, help="write every measured quantity here")
    args = parser.parse_args(argv)
    from refglm.datasets import fetch_spm_auditory

    python = nistats_python()
    if python is None:
        print(MISSING, file=sys.stderr)
        return 1
    data = fetch_spm_auditory(args.data_dir)
    results = []
    run = load_run(data.func)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.settings.split(","):
            t0 = time.time()
            results.append(
                compare_setting(name, python, data.func, data.events, Path(tmp), run=run)
            )
            print(f"[{name}] {time.time() - t0:.1f} s", file=sys.stderr, flush=True)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
