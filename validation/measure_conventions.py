"""Measure every convention choice on the SPM auditory tutorial, one flip at a time.

For each choice of ``refglm.conventions`` that changes the statistical maps,
the tutorial model is refitted under ``get_convention('nistats').flipped(choice=
value)`` and compared with the default fit: for the three tutorial contrasts
(``active - rest``, ``active`` against baseline, the F test of ``active, rest``),
how many of the mask's voxels move by more than 1e-6 in z and by how much at
most. The whole ``nilearn`` and ``statsmodels`` conventions are measured the
same way. For the HRF formulas the change of the design matrix is measured too,
for every HRF model. For the choices that only change thresholds and tables,
the default z map (``active - rest``) is thresholded under each flip.

Run (the numbers in docs/conventions.md)::

    .venv/bin/python validation/measure_conventions.py \\
        --data-dir ../shared/data/spm_auditory --engine statsmodels --n-jobs 2 \\
        --json validation/measure_conventions.json

``--engine vectorized`` gives the same counts in a minute. ``ar_fit='iterative'``
cannot be flipped alone (it requires statsmodels' estimator, no binning and scan 0
dropped: ``conventions.ITERATIVE_REQUIRES``), so its effect is the whole
``statsmodels`` row; ``statsmodels+ar_fit=fixed`` (the same choices, one fit with
the OLS-residual rho) is measured too, to separate the iteration from the rest.

``--peers`` measures instead the acceptance of the issue: refglm under
``convention='nilearn'`` against nilearn 0.14.1 (max |dz| over the mask, design,
mask, and the condition number of the design) for the full tutorial and a spread of
settings on a box of the mask, and the ``statsmodels`` convention against
``sm.GLSAR(y, X, rho=1).iterative_fit()`` on sampled voxels. With ``--json`` both
modes write their part (``maps``... or ``peers``) into the same file, keeping the
other's, each with the command that produced it::

    .venv/bin/python validation/measure_conventions.py --peers \
        --data-dir ../shared/data/spm_auditory --n-jobs 2 \
        --json validation/measure_conventions.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from refglm import inference as clusters
from refglm import inference as thresholds
from refglm.compare import single_flips as variants
from refglm.conventions import CONVENTIONS, get_convention
from refglm.datasets import fetch_spm_auditory
from refglm.first_level import FirstLevelModel
from refglm.glm.design.matrix import make_first_level_design_matrix
from refglm.io import read_events
from refglm.workflows.tutorial import TUTORIAL_PARAMETERS

# A voxel "moves" when its z changes by more than this (float64 rounding is ~1e-13).
MOVE_TOLERANCE = 1e-6

TUTORIAL = TUTORIAL_PARAMETERS
CONTRASTS = {
    "active - rest": "active - rest",
    "active": "active",
    "F(active, rest)": ["active", "rest"],
}
HRF_MODELS = (
    "spm",
    "spm + derivative",
    "spm + derivative + dispersion",
    "glover",
    "glover + derivative",
    "glover + derivative + dispersion",
)
THRESHOLD_FLIPS = (
    ("two_sided", True),
    ("fdr_formula", "bh"),
    ("cluster_connectivity", 18),
    ("cluster_connectivity", 26),
    ("threshold_keep_equal", True),
    ("threshold_split_signs", True),
    ("cluster_table_two_sided", True),
)


def fit(data, conv, engine, n_jobs, **changes):
    params = dict(TUTORIAL, **changes)
    model = FirstLevelModel(**params, convention=conv, engine=engine, n_jobs=n_jobs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data.func, data.events)
    z = {name: model.contrast_result(c).z_score for name, c in CONTRASTS.items()}
    return model, z


def map_row(label, base_model, base_z, model, z):
    row = {"variant": label, "mask_voxels": int(model.mask_.sum())}
    same_mask = np.array_equal(base_model.mask_, model.mask_)
    row["mask_changed_voxels"] = int((base_model.mask_ != model.mask_).sum())
    design_a = base_model.design_matrices_[0].to_numpy()
    design_b = model.design_matrices_[0].to_numpy()
    row["design_max_abs"] = float(np.abs(design_a - design_b).max())
    for name in CONTRASTS:
        if same_mask:
            dz = np.abs(z[name] - base_z[name])
        else:
            dz = np.abs(model.to_volume(z[name]) - base_model.to_volume(base_z[name]))[
                base_model.mask_ | model.mask_
            ]
        row[f"{name}: voxels moved"] = int((dz > MOVE_TOLERANCE).sum())
        row[f"{name}: max |dz|"] = float(dz.max())
    rho_changed = None
    if base_model.fit_.rho.shape == model.fit_.rho.shape and same_mask:
        rho_changed = int((base_model.fit_.rho != model.fit_.rho).sum())
    row["voxels whose rho changed"] = rho_changed
    return row


def hrf_rows(data, engine, n_jobs):
    """The HRF formulas (nistats -> nilearn) for every HRF model: design and z changes."""
    frame_times = np.linspace(0, (len(data.func) - 1) * data.t_r, len(data.func))
    events = read_events(data.events)
    base = get_convention("nistats")
    flip = base.flipped(hrf_formula="nilearn")
    rows = []
    for hrf_model in HRF_MODELS:
        designs = [
            make_first_level_design_matrix(
                frame_times, events, hrf_model=hrf_model, convention=convention
            ).to_numpy()
            for convention in ("nistats", "nilearn")
        ]
        row = {
            "hrf_model": hrf_model,
            "design_max_abs": float(np.abs(designs[0] - designs[1]).max()),
        }
        model_a, z_a = fit(data, base, engine, n_jobs, hrf_model=hrf_model)
        model_b, z_b = fit(data, flip, engine, n_jobs, hrf_model=hrf_model)
        dz = np.abs(z_a["active - rest"] - z_b["active - rest"])
        row["active - rest: voxels moved"] = int((dz > MOVE_TOLERANCE).sum())
        row["active - rest: max |dz|"] = float(dz.max())
        rows.append(row)
        print(f"hrf {hrf_model}: {row}", file=sys.stderr, flush=True)
    return rows


def threshold_rows(z_volume, affine, base):
    rows = []
    for key, value in (("(default)", None), *THRESHOLD_FLIPS):
        conv = base if value is None else base.flipped(**{key: value})
        row = {"variant": conv.name}
        common = dict(
            two_sided=conv.two_sided,
            fdr_formula=conv.fdr_formula,
            connectivity=conv.cluster_connectivity,
            keep_equal=conv.threshold_keep_equal,
            split_signs=conv.threshold_split_signs,
        )
        for control, alpha in (("fpr", 0.001), ("bonferroni", 0.05), ("fdr", 0.05)):
            out, thr = thresholds.map_threshold(
                z_volume, None, alpha=alpha, height_control=control, **common
            )
            row[f"{control} threshold"] = float(thr)
            row[f"{control} voxels"] = int((out != 0).sum())
        out, thr = thresholds.map_threshold(
            z_volume, None, alpha=0.05, height_control="fdr", cluster_threshold=10, **common
        )
        row["fdr + cluster 10 voxels"] = int((out != 0).sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = clusters.get_clusters_table(
                z_volume,
                affine,
                thr,
                cluster_threshold=20,
                two_sided=conv.cluster_table_two_sided,
                connectivity=conv.cluster_connectivity,
            )
        row["cluster table rows"] = len(table)
        rows.append(row)
    return rows


def cluster_rules_row(z_volume, affine):
    """nistats' table rules (clusters.py) against nilearn 0.14.1's own function."""
    try:
        import nibabel as nib
        from nilearn.reporting import get_clusters_table as nilearn_table
    except ImportError:  # nilearn is a test-only peer
        return None
    img = nib.Nifti1Image(z_volume, affine)
    out = {}
    for threshold, cluster_threshold in ((2.76, 20), (3.09, 10), (2.0, 0), (5.0, 0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = clusters.get_clusters_table(z_volume, affine, threshold, cluster_threshold)
            theirs = nilearn_table(img, threshold, cluster_threshold)
        same = ours.shape == theirs.shape and bool(
            (ours.astype(str).to_numpy() == theirs.astype(str).to_numpy()).all()
        )
        out[f"z > {threshold}, clusters >= {cluster_threshold}"] = {
            "rows nistats rules": len(ours),
            "rows nilearn 0.14.1": len(theirs),
            "identical": same,
        }
    return out


PEER_SETTINGS = {
    "tutorial (full mask)": dict(hrf_model="spm", box=False),
    "spm, cosine .01, ar1, 96": dict(hrf_model="spm"),
    "spm + derivative, cosine .005, ar1, 96": dict(hrf_model="spm + derivative", high_pass=0.005),
    "spm + derivative + dispersion, cosine .02, ols, 63": dict(
        hrf_model="spm + derivative + dispersion", high_pass=0.02, noise_model="ols", n_scans=63
    ),
    "glover, polynomial 1, ar1, 40": dict(
        hrf_model="glover", drift_model="polynomial", drift_order=1, n_scans=40
    ),
    "glover + derivative, polynomial 2, ols, 96": dict(
        hrf_model="glover + derivative", drift_model="polynomial", drift_order=2, noise_model="ols"
    ),
    "glover + derivative + dispersion, polynomial 3, ar1, 63": dict(
        hrf_model="glover + derivative + dispersion",
        drift_model="polynomial",
        drift_order=3,
        n_scans=63,
    ),
    "glover, cosine .01, ols, 40": dict(hrf_model="glover", noise_model="ols", n_scans=40),
    "spm, polynomial 3, ar1, 63": dict(
        hrf_model="spm", drift_model="polynomial", drift_order=3, n_scans=63
    ),
    "glover, no drift, ar1, 96": dict(hrf_model="glover", drift_model=None),
    "glover (full mask), cosine .01, ar1, 63": dict(hrf_model="glover", n_scans=63, box=False),
    "spm, slice_time_ref .5, ar1, 63": dict(hrf_model="spm", slice_time_ref=0.5, n_scans=63),
    "glover, min_onset -10, ar1, 96": dict(hrf_model="glover", min_onset=-10),
    "spm, standardize, no scaling, ar1, 96": dict(
        hrf_model="spm", standardize=True, signal_scaling=False
    ),
    "spm, signal_scaling (0, 1), ar1, 96": dict(hrf_model="spm", signal_scaling=(0, 1)),
    "fir [0, 1, 2], cosine .01, ar1, 96": dict(hrf_model="fir", fir_delays=[0, 1, 2]),
    "fir [0..4], polynomial 2, ols, 63": dict(
        hrf_model="fir",
        fir_delays=[0, 1, 2, 3, 4],
        drift_model="polynomial",
        drift_order=2,
        noise_model="ols",
        n_scans=63,
    ),
    "fir [0], cosine .01, ar1, 40": dict(hrf_model="fir", fir_delays=[0], n_scans=40),
    "no HRF, cosine .01, ar1, 96": dict(hrf_model=None),
    "no HRF, polynomial 1, ols, 40": dict(
        hrf_model=None, drift_model="polynomial", drift_order=1, noise_model="ols", n_scans=40
    ),
}


def contrast_rows(columns) -> dict:
    """CONTRASTS on a design; FIR columns (``active_delay_0``...) summed per condition."""
    columns = list(columns)

    def weights(condition):
        return np.array(
            [1.0 if c == condition or c.startswith(f"{condition}_delay_") else 0.0 for c in columns]
        )

    conditions = [c for c in columns if c.split("_delay_")[0] in ("active", "rest")]
    return {
        "active - rest": (weights("active") - weights("rest"), None),
        "active": (weights("active"), None),
        "F(active, rest)": (
            np.vstack([(np.asarray(columns) == c).astype(float) for c in conditions]),
            "F",
        ),
    }


PEER_BOX = (slice(0, 64), slice(24, 34), slice(31, 41))


def peers(data, n_jobs) -> list[dict]:
    """refglm (statsmodels engine, nilearn convention) against nilearn 0.14.1."""
    import nibabel as nib
    import pandas as pd
    from nilearn.glm.first_level import FirstLevelModel as NilearnModel
    from nilearn.image import concat_imgs

    events = pd.read_csv(data.events, sep="\t")
    full = NilearnModel(t_r=data.t_r).fit(concat_imgs(data.func), events)
    full_mask = np.asarray(full.masker_.mask_img_.dataobj) > 0
    box = np.zeros(full_mask.shape, dtype=np.int8)
    box[PEER_BOX] = full_mask[PEER_BOX]
    box_img = nib.Nifti1Image(box, full.masker_.mask_img_.affine)
    rows = []
    for label, setting in PEER_SETTINGS.items():
        params = dict(setting)
        n_scans = params.pop("n_scans", len(data.func))
        mask_img = box_img if params.pop("box", True) else None
        func = data.func[:n_scans]
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = NilearnModel(t_r=data.t_r, mask_img=mask_img, **params).fit(
                concat_imgs(func), events
            )
            ours = FirstLevelModel(
                t_r=data.t_r, mask_img=mask_img, convention="nilearn", n_jobs=n_jobs, **params
            ).fit(func, events)
        mask = np.asarray(theirs.masker_.mask_img_.dataobj) > 0
        columns = list(ours.design_matrices_[0].columns)
        design = ours.design_matrices_[0].to_numpy()
        row = {
            "setting": label,
            "voxels": int(mask.sum()),
            "mask voxels differing": int((mask != ours.mask_).sum()),
            "design max |d|": float(np.abs(theirs.design_matrices_[0].to_numpy() - design).max()),
            "design condition number": float(np.linalg.cond(design)),
        }
        for name, (con, stat_type) in contrast_rows(columns).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                z_theirs = np.asarray(theirs.compute_contrast(con, stat_type=stat_type).dataobj)
                z_ours = np.asarray(ours.compute_contrast(con, stat_type=stat_type).dataobj)
            row[f"{name}: max |dz|"] = float(np.abs(z_theirs - z_ours)[mask].max())
        row["seconds"] = round(time.perf_counter() - t, 1)
        print(f"{label}: {row}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def statsmodels_direct(data, n_jobs, n_sampled=50) -> dict:
    """The statsmodels convention against sm.GLSAR(y, X, rho=1).iterative_fit() per voxel."""
    import nibabel as nib
    import statsmodels.api as sm

    first = FirstLevelModel(t_r=data.t_r, hrf_model="spm", engine="vectorized")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first.fit(data.func, data.events)
    box = np.zeros(first.mask_.shape, dtype=np.int8)
    box[PEER_BOX] = first.mask_[PEER_BOX]
    model = FirstLevelModel(
        t_r=data.t_r,
        hrf_model="spm",
        mask_img=nib.Nifti1Image(box, first.affine_),
        convention="statsmodels",
        minimize_memory=False,
        n_jobs=n_jobs,
    ).fit(data.func, data.events)
    columns = model.design_matrices_[0].columns
    c = (columns == "active") * 1.0 - (columns == "rest")
    t = model.contrast_result("active - rest").stat
    voxels = np.random.default_rng(7).choice(model.signals_.shape[1], n_sampled, replace=False)
    d_beta = d_t = 0.0
    for v in voxels:
        res = sm.GLSAR(model.signals_[:, v].astype(np.float64), model.X_, rho=1).iterative_fit()
        d_beta = max(d_beta, float(np.abs(model.fit_.beta[:, v] - res.params).max()))
        d_t = max(d_t, abs(float(t[v]) - float(res.t_test(c).tvalue.item())))
    return {"sampled voxels": n_sampled, "beta max |d|": d_beta, "t max |d|": d_t}


def markdown(rows, columns) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            cells.append(f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--engine", default="statsmodels")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the measurements here")
    parser.add_argument("--peers", action="store_true", help="measure the acceptance instead")
    args = parser.parse_args(argv)

    data = fetch_spm_auditory(args.data_dir)
    command = " ".join(
        [".venv/bin/python validation/measure_conventions.py", *(argv or sys.argv[1:])]
    )
    if args.peers:
        t0 = time.perf_counter()
        rows = peers(data, args.n_jobs)
        print(markdown(rows, list(rows[0])))
        direct = statsmodels_direct(data, args.n_jobs)
        print()
        print(markdown([direct], list(direct)))
        worst = {
            row["setting"]: max(row[f"{name}: max |dz|"] for name in CONTRASTS) for row in rows
        }
        if args.json:
            _update_json(
                args.json,
                {
                    "peers": {
                        "command": command,
                        "nilearn_version": _nilearn_version(),
                        "worst max |dz| per setting": worst,
                        "nilearn": rows,
                        "statsmodels": direct,
                        "seconds": round(time.perf_counter() - t0, 1),
                    }
                },
            )
        return 0
    base = get_convention("nistats")
    t0 = time.perf_counter()
    base_model, base_z = fit(data, base, args.engine, args.n_jobs)
    results = {
        "command": command,
        "engine": args.engine,
        "move_tolerance": MOVE_TOLERANCE,
        "mask_voxels": int(base_model.mask_.sum()),
        "maps": [],
    }
    flips = variants(base)
    others = [c for c in CONVENTIONS.values() if c.name != "nistats"]
    iteration = get_convention("statsmodels").flipped(ar_fit="fixed")
    for conv in [*flips, *others, iteration]:
        t = time.perf_counter()
        model, z = fit(data, conv, args.engine, args.n_jobs)
        row = map_row(conv.name, base_model, base_z, model, z)
        row["seconds"] = round(time.perf_counter() - t, 1)
        results["maps"].append(row)
        print(f"{conv.name}: {row}", file=sys.stderr, flush=True)
    results["hrf_formulas"] = hrf_rows(data, args.engine, args.n_jobs)
    z_volume = base_model.to_volume(base_z["active - rest"])
    results["thresholds"] = threshold_rows(z_volume, base_model.affine_, base)
    results["cluster_table_rules"] = cluster_rules_row(z_volume, base_model.affine_)
    results["seconds"] = round(time.perf_counter() - t0, 1)

    columns = ["variant", "mask_changed_voxels", "design_max_abs", "voxels whose rho changed"]
    for name in CONTRASTS:
        columns += [f"{name}: voxels moved", f"{name}: max |dz|"]
    print(markdown(results["maps"], columns))
    print()
    print(markdown(results["hrf_formulas"], list(results["hrf_formulas"][0])))
    print()
    print(markdown(results["thresholds"], list(results["thresholds"][0])))
    print()
    print(json.dumps(results["cluster_table_rules"], indent=2))
    if args.json:
        _update_json(args.json, results)
    return 0


def _nilearn_version() -> str:
    import nilearn

    return nilearn.__version__


def _update_json(path, part: dict) -> None:
    """Write ``part``'s keys into the JSON file at ``path``, keeping its other keys."""
    path = Path(path)
    current = json.loads(path.read_text()) if path.exists() else {}
    if "peers" in part:
        current.pop("peers", None)
    else:  # the flips: every key but the peers' is replaced
        current = {k: v for k, v in current.items() if k == "peers"}
    current.update(part)
    path.write_text(json.dumps(current, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
