#!/usr/bin/env python3
"""Export SPM12 first-level outputs to small, self-describing ``.npz`` files.

For every model folder written by ``spm12_model.m`` (``SPM.mat``, ``mask.nii``,
``beta_*.nii``, ``ResMS.nii``, ``con_*.nii``/``ess_*.nii``, ``spm{T,F}_*.nii``,
``refglm_results.mat``) this writes ``<golden>/<model>.npz`` holding

* masked maps only (values at the ``mask_index`` voxels, Fortran/SPM voxel
  order): ``beta`` (float32, as SPM stores it), ``ResMS`` (float64), ``con``
  (T: con image, F: ESS image; float32) and ``stat`` (spmT/spmF; float32);
* the exact float64 quantities from ``SPM.mat``: ``X`` (xX.X), ``K_X0``,
  ``W``, ``xVi_h``, ``xVi_V``, ``xVi_Cy``, ``xVi_Vi``, ``xKXs``, ``Bcov``,
  ``xX_V``, ``trRV``, ``trRVRV``, ``erdf``, globals ``gx`` and ``gSF``,
  ``TH``, basis functions ``bf``;
* SPM's thresholds (spm_u / spm_uc / spm_uc_RF / spm_uc_Bonf) and ``xVol``
  (``R``, ``FWHM``, ``S``);
* provenance: ``provenance_json`` with the SPM version (spm('Ver')), the
  Octave version, the exact commands, the scripts (their repository paths and
  SHA-256), the model options and a SHA-256 of the input scans.

Usage (``run.sh`` calls it)::

    python validation/peers/spm12/export.py --models validation/peers/spm12/models.json \
        --runs RUNS_DIR --out tests/peers/spm12/golden --data-dir DATA_DIR [model ...]

``tests/peers/test_spm12.py`` checks that every committed ``.npz`` names these scripts
with the hashes of the committed files, and its model options as ``models.json`` has them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import scipy.io as sio
import scipy.sparse as sp

EXPORT_FORMAT = 2
HERE = Path(__file__).resolve().parent
#: The files that make an output, hashed into its provenance.
SCRIPTS = ("run.sh", "spm12_model.m", "export.py")


def _dense(a):
    if sp.issparse(a):
        return a.toarray()
    return np.asarray(a, dtype=float)


def _vec(a):
    return np.atleast_1d(np.asarray(a, dtype=float)).ravel()


def _img(path: Path) -> np.ndarray:
    img = nib.load(str(path))
    return np.asarray(img.dataobj)


def _scan_files(data_dir: Path, nscan: int) -> list[Path]:
    files = sorted(data_dir.glob("*.img")) or sorted(data_dir.glob("*.nii"))
    return files[:nscan]


def _sha256(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        for g in (f, f.with_suffix(".hdr")) if f.suffix == ".img" else (f,):
            if g.exists():
                h.update(g.name.encode())
                h.update(g.read_bytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_model(
    model: dict, run_dir: Path, out_file: Path, data_dir: Path, script_dir_name: str
) -> dict:
    spm = sio.loadmat(str(run_dir / "SPM.mat"), squeeze_me=True, struct_as_record=False)["SPM"]
    res = sio.loadmat(str(run_dir / "refglm_results.mat"), squeeze_me=True)
    xX, xVi, xVol, xGX, xM, xBF = spm.xX, spm.xVi, spm.xVol, spm.xGX, spm.xM, spm.xBF

    mask_img = _img(run_dir / "mask.nii")
    dim = np.array(mask_img.shape, dtype=np.int64)
    mask_index = np.flatnonzero(mask_img.ravel(order="F") > 0)
    # cross-check against SPM.xVol.XYZ (1-based voxel coordinates)
    xyz = np.asarray(xVol.XYZ, dtype=np.int64) - 1
    idx_xyz = np.ravel_multi_index(tuple(xyz), tuple(dim), order="F")
    if not np.array_equal(np.sort(idx_xyz), mask_index):
        raise RuntimeError(f"{run_dir}: mask.nii and SPM.xVol.XYZ disagree")

    def masked(name, dtype):
        a = _img(run_dir / name).ravel(order="F")[mask_index]
        return a.astype(dtype)

    nbeta = np.atleast_2d(xX.X).shape[1]
    beta = np.stack([masked(f"beta_{i + 1:04d}.nii", np.float32) for i in range(nbeta)])
    resms = masked("ResMS.nii", np.float64)

    xcon = np.atleast_1d(spm.xCon)
    con_names, con_stat, con_c, con_eidf, con_maps, stat_maps = [], [], [], [], [], []
    for i, xc in enumerate(xcon):
        stat = str(xc.STAT)
        con_names.append(str(xc.name))
        con_stat.append(stat)
        con_c.append(np.atleast_2d(np.asarray(xc.c, dtype=float).reshape(nbeta, -1)))
        con_eidf.append(float(xc.eidf))
        pre = "con" if stat == "T" else "ess"
        con_maps.append(masked(f"{pre}_{i + 1:04d}.nii", np.float32))
        stat_maps.append(masked(f"spm{stat}_{i + 1:04d}.nii", np.float32))
    kmax = max(c.shape[1] for c in con_c)
    con_c_arr = np.zeros((len(con_c), nbeta, kmax))
    for i, c in enumerate(con_c):
        con_c_arr[i, :, : c.shape[1]] = c

    K = xX.K
    K0 = np.atleast_1d(K)[0]
    vi = xVi.Vi if hasattr(xVi, "Vi") else None
    Vi = np.stack([_dense(q) for q in np.atleast_1d(vi)]) if vi is not None else np.zeros((0,))

    cmd_lines = (
        (run_dir / "command.txt").read_text().strip().splitlines()
        if (run_dir / "command.txt").exists()
        else ["", ""]
    )
    command, octave_command = cmd_lines[0], (cmd_lines[1] if len(cmd_lines) > 1 else "")
    seconds = float(res["seconds_batch"])
    wall = run_dir / "seconds_octave.txt"
    files = _scan_files(data_dir, int(model["nscan"]))
    provenance = {
        "export_format": EXPORT_FORMAT,
        "peer": "spm12",
        "spm_version": str(res["spm_ver"]),
        "spm_id": str(spm.SPMid),
        "octave_version": str(res["octave_ver"]),
        "command": command,
        "octave_command": octave_command,
        "scripts": [f"{script_dir_name}/{name}" for name in (*SCRIPTS, "models.json")],
        "script_sha256": {
            f"{script_dir_name}/{name}": _file_sha256(HERE / name) for name in SCRIPTS
        },
        "model_name": model["name"],
        "model_options": model,
        "data_files": [f.name for f in files],
        "data_sha256": _sha256(files),
        "seconds_spm_batch": seconds,
        # each batch step on its own (spm12_model.m runs them as three jobs)
        **{
            f"seconds_{step}": float(res[f"seconds_{step}"])
            for step in ("fmri_spec", "fmri_est", "con")
            if f"seconds_{step}" in res
        },
        "seconds_octave_wall": float(wall.read_text()) if wall.exists() else None,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "nibabel": nib.__version__,
    }

    out = dict(
        provenance_json=np.array(json.dumps(provenance, sort_keys=True)),
        model_json=np.array(json.dumps(model, sort_keys=True)),
        dim=dim,
        affine=np.asarray(xVol.M, dtype=float),
        mask_index=mask_index.astype(np.int32),
        # design
        X=np.asarray(xX.X, dtype=float),
        X_names=np.array([str(n) for n in np.atleast_1d(xX.name)]),
        iC=_vec(xX.iC).astype(np.int32) - 1,
        iB=_vec(xX.iB).astype(np.int32) - 1,
        bf=np.atleast_2d(np.asarray(xBF.bf, dtype=float).T).T,
        bf_dt=float(xBF.dt),
        # filter
        K_X0=np.asarray(K0.X0, dtype=float).reshape(len(_vec(K0.row)), -1),
        K_row=_vec(K0.row).astype(np.int32) - 1,
        K_HParam=float(K0.HParam),
        # scaling and mask
        gx=_vec(xGX.rg),
        gSF=_vec(xGX.gSF),
        TH=_vec(xM.TH),
        # non-sphericity
        xVi_form=np.array(str(xVi.form)),
        xVi_h=_vec(xVi.h) if hasattr(xVi, "h") else np.zeros(0),
        xVi_V=_dense(xVi.V),
        xVi_Cy=_dense(xVi.Cy) if hasattr(xVi, "Cy") else np.zeros((0, 0)),
        xVi_Vi=Vi,
        W=_dense(xX.W),
        # estimation
        xKXs=np.asarray(xX.xKXs.X, dtype=float),
        xX_V=_dense(xX.V),
        Bcov=np.asarray(xX.Bcov, dtype=float),
        trRV=float(xX.trRV),
        trRVRV=float(xX.trRVRV),
        erdf=float(xX.erdf),
        beta=beta,
        ResMS=resms,
        # contrasts
        con_names=np.array(con_names),
        con_stat=np.array(con_stat),
        con_c=con_c_arr,
        con_k=np.array([c.shape[1] for c in con_c], dtype=np.int32),
        con_eidf=np.array(con_eidf),
        con=np.stack(con_maps),
        stat=np.stack(stat_maps),
        # inference
        R=_vec(xVol.R),
        FWHM=_vec(xVol.FWHM),
        S=float(xVol.S),
        alpha_fwe=float(res["alpha_fwe"]),
        alpha_unc=float(res["alpha_unc"]),
        u_unc=_vec(res["u_unc"]),
        u_fwe=_vec(res["u_fwe"]),
        u_fweRF=_vec(res["u_fweRF"]),
        u_bonf=_vec(res["u_bonf"]),
        df=np.atleast_2d(np.asarray(res["df"], dtype=float)),
    )
    out_file.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_file, **out)
    return provenance


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", required=True, type=Path)
    ap.add_argument("--runs", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--script-dir-name", default="validation/peers/spm12")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args(argv)
    models = json.loads(a.models.read_text())["models"]
    for m in models:
        if a.names and m["name"] not in a.names:
            continue
        f = a.out / f"{m['name']}.npz"
        export_model(m, a.runs / m["name"], f, a.data_dir, a.script_dir_name)
        print(f"exported {f} ({os.path.getsize(f) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
