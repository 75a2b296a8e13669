"""``refglm explain-voxel``: trace one voxel of the tutorial model (or of SPM12's), or of a fit.

:func:`explain_fit_voxel` traces a voxel of any ``refglm fit`` (or ``refglm tutorial``)
output folder: its ``statmap.json`` (convention, noise model, contrasts, the run's
files by content hash), ``design.tsv`` (the very design fitted) and ``mask.nii.gz``,
with the run's data given again (``--func``), checked against the hashes. A fit under
SPM12's estimation is refitted first, with the options its ``statmap.json`` records
(:func:`refglm.first_level.summary.spm_option_keys`), for the whole-volume matrices
SPM's trace needs.

Under a convention with SPM12's estimation (``--convention spm12``) the voxel is traced
through SPM's steps instead (:func:`refglm.first_level.trace_spm_voxel`), in SPM's model
of the same run: the ``active`` blocks (rest is SPM's implicit baseline), canonical
HRF, 128 s high-pass, AR(1), global normalisation None (:data:`SPM_TUTORIAL_PARAMETERS`,
the anchor of ``validation/peers/spm12``). The scale factors, SPM's implicit mask, its
ReML and whitening need every voxel, so that model is fitted first.
"""

from __future__ import annotations

import io as _bytes_io
import time
from pathlib import Path

import numpy as np

from refglm import io
from refglm.conventions import get_convention
from refglm.datasets import fetch_spm_auditory
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel, first_level_design, trace_spm_voxel, trace_voxel
from refglm.first_level.summary import spm_option_keys
from refglm.glm.contrasts import as_contrast_matrix
from refglm.glm.masking import compute_epi_mask, mean_epi
from refglm.io import derivative_names as names
from refglm.workflows._products import run_record
from refglm.workflows.tutorial import TUTORIAL_CONTRASTS, TUTORIAL_PARAMETERS

__all__ = [
    "explain_voxel",
    "explain_fit_voxel",
    "SPM_TUTORIAL_PARAMETERS",
    "SPM_TUTORIAL_CONTRASTS",
]

#: SPM's model of the auditory run (docs/spm12.md's anchor, validation/peers/spm12
#: block_base): the rest blocks are not modelled, 128 s high-pass.
SPM_TUTORIAL_PARAMETERS = dict(
    t_r=7.0,
    noise_model="ar1",
    hrf_model="spm",
    drift_model="cosine",
    high_pass=1 / 128,
)
#: SPM's contrasts of that model: [1 0] and its F.
SPM_TUTORIAL_CONTRASTS = {"active": "active", "effectsOfInterest": ["active"]}


def explain_voxel(
    mm=None, ijk=None, data_dir=None, convention="nistats", contrast="active - rest"
) -> tuple:
    """Trace one voxel of the tutorial model (``refglm explain-voxel``).

    Loads the SPM auditory run once (for the EPI mask, which needs every
    voxel's mean), rebuilds the tutorial's design with
    :func:`first_level_design`, and hands the voxel's raw series to
    :func:`refglm.first_level.trace_voxel` with the t contrast ``active - rest``
    and the F contrast ``[active, rest]``.

    Parameters
    ----------
    mm : (x, y, z) or None
        World coordinates in mm; rounded to the nearest voxel.
    ijk : (i, j, k) or None
        Voxel indices (exactly one of ``mm``, ``ijk``).

    Returns
    -------
    trace : refglm.first_level.trace.VoxelTrace
    info : dict
        ``ijk``, ``xyz`` (the voxel centre in mm), ``mask_voxels``,
        ``data_dir``.
    """
    if (mm is None) == (ijk is None):
        raise InputError("explain-voxel: expected exactly one of --mm X Y Z or --ijk I J K.")
    conv = get_convention(convention)
    if conv.ar_fit == "spm_reml":
        return _explain_spm_voxel(mm, ijk, data_dir, conv, contrast)
    data = fetch_spm_auditory(data_dir)
    run, affine = io.load_run(data.func, dtype=io.run_dtype(data.func, conv.input_dtype))
    shape = run.shape[:3]
    if mm is not None:
        coords = np.asarray(mm, dtype=np.float64)
        if coords.shape != (3,) or not np.all(np.isfinite(coords)):
            raise InputError(f"--mm {mm}: expected three finite numbers X Y Z in mm.")
        ijk = np.rint(np.linalg.inv(affine) @ np.append(coords, 1.0))[:3].astype(int)
    ijk = tuple(int(v) for v in ijk)
    if len(ijk) != 3 or not all(0 <= v < n for v, n in zip(ijk, shape, strict=True)):
        where = f"mm {tuple(mm)}" if mm is not None else "ijk"
        raise InputError(
            f"voxel {ijk} ({where}): outside the image grid {shape}; pick a voxel inside, "
            "e.g. --mm -60 -6 42 (the tutorial's peak)."
        )
    mask = compute_epi_mask(mean_epi(run, conv.mask_mean_dtype))
    xyz = tuple(float(v) for v in (affine @ np.append(ijk, 1.0))[:3])
    if not mask[ijk]:
        raise InputError(
            f"voxel {ijk} (mm {xyz}): outside the brain mask ({int(mask.sum())} voxels), "
            "so the tutorial does not fit it; pick a voxel inside, e.g. --mm -60 -6 42."
        )
    raw = np.array(run[ijk], copy=True)
    del run
    model = FirstLevelModel(**TUTORIAL_PARAMETERS, convention=conv)
    design = first_level_design(model, raw.shape[0], data.events)
    trace = trace_voxel(
        raw,
        design,
        contrast,
        TUTORIAL_CONTRASTS["effectsOfInterest"],
        noise_model=TUTORIAL_PARAMETERS["noise_model"],
        convention=conv,
    )
    info = dict(ijk=ijk, xyz=xyz, mask_voxels=int(mask.sum()), data_dir=data.data_dir)
    return trace, info


def _voxel_index(mm, ijk, affine, shape) -> tuple:
    """The voxel (i, j, k) of ``mm`` (rounded) or ``ijk``, checked against the grid."""
    if mm is not None:
        coords = np.asarray(mm, dtype=np.float64)
        if coords.shape != (3,) or not np.all(np.isfinite(coords)):
            raise InputError(f"--mm {mm}: expected three finite numbers X Y Z in mm.")
        ijk = np.rint(np.linalg.inv(affine) @ np.append(coords, 1.0))[:3].astype(int)
    ijk = tuple(int(v) for v in ijk)
    if len(ijk) != 3 or not all(0 <= v < n for v, n in zip(ijk, shape, strict=True)):
        where = f"mm {tuple(mm)}" if mm is not None else "ijk"
        raise InputError(
            f"voxel {ijk} ({where}): outside the image grid {shape}; pick a voxel inside, "
            "e.g. --mm -60 -6 42 (the tutorial's peak)."
        )
    return ijk


def _explain_spm_voxel(mm, ijk, data_dir, conv, contrast) -> tuple:
    """:func:`explain_voxel` under SPM12's estimation: fit SPM's model, trace the voxel.

    The contrast ``'active - rest'`` (the nistats tutorial's) becomes SPM's ``active``:
    rest is SPM's implicit baseline.
    """
    import pandas as pd

    data = fetch_spm_auditory(data_dir)
    run, affine = io.load_run(data.func, dtype=io.run_dtype(data.func, conv.input_dtype))
    ijk = _voxel_index(mm, ijk, affine, run.shape[:3])
    events = pd.read_csv(data.events, sep="\t")
    events = events[events["trial_type"] != "rest"].reset_index(drop=True)
    raw = np.array(run[ijk], copy=True)
    model = FirstLevelModel(**SPM_TUTORIAL_PARAMETERS, convention=conv, engine="vectorized")
    model.fit_array(run, affine, events)
    del run
    xyz = tuple(float(v) for v in (affine @ np.append(ijk, 1.0))[:3])
    if not model.mask_[ijk]:
        raise InputError(
            f"voxel {ijk} (mm {xyz}): outside SPM's implicit mask ({int(model.mask_.sum())} "
            "voxels), so SPM does not fit it; pick a voxel inside, e.g. --mm -60 -6 42."
        )
    if contrast == "active - rest":
        contrast = SPM_TUTORIAL_CONTRASTS["active"]
    trace = trace_spm_voxel(
        raw,
        model.design_matrices_[0],
        model.drift_basis_,
        model.scale_factors_,
        model.whitening_matrix_,
        model.noise_correlation_,
        contrast,
        SPM_TUTORIAL_CONTRASTS["effectsOfInterest"],
        noise_model=SPM_TUTORIAL_PARAMETERS["noise_model"],
        convention=conv,
        reml_hyperparameters=model.reml_hyperparameters_,
        mask_thresholds=model.mask_thresholds_,
    )
    info = dict(
        ijk=ijk,
        xyz=xyz,
        mask_voxels=int(model.mask_.sum()),
        data_dir=data.data_dir,
        model=model,
    )
    return trace, info


_FROM_FIX = "pass the --out folder of refglm fit or refglm tutorial (it holds statmap.json)."

#: The engine of the refit under SPM12's estimation: SPM's scale factors, implicit mask,
#: ReML V and W and drift basis are computed by the model before any engine runs, so
#: every engine gives the same ones; the vectorized is the fastest.
SPM_REFIT_ENGINE = "vectorized"
#: What the refit of an SPM12 fit reads from ``statmap.json``, besides SPM's options.
_SPM_REFIT_KEYS = ("t_r", "hrf_model", "drift_model", "high_pass", "drift_order")


def _fit_record(fit_dir: Path) -> dict:
    """The fit's ``statmap.json``, with the keys a trace needs checked."""
    record = io.load_json_bounded(
        fit_dir / names.STATMAP_JSON, "refglm's statmap.json of a fit", fix=_FROM_FIX
    )
    missing = [
        key
        for key in ("convention", "noise_model", "contrasts")
        if not isinstance(record, dict) or key not in record
    ]
    if missing:
        raise InputError(
            f"--from {fit_dir}: expected statmap.json with {', '.join(missing)} (what refglm "
            f"fit writes), found none; {_FROM_FIX}"
        )
    return record


def _fit_design(fit_dir: Path):
    """The fitted design, ``design.tsv`` (every value as written: float64, round-tripped)."""
    import pandas as pd

    path = fit_dir / names.DESIGN_TSV
    raw = io.read_bytes_bounded(path, "the fit's design.tsv", io.MAX_TSV_BYTES, _FROM_FIX)
    design = pd.read_csv(_bytes_io.BytesIO(raw), sep="\t", dtype=np.float64)
    frames = fit_dir / names.DESIGN_JSON
    if frames.is_file():
        times = io.load_json_bounded(frames, "the fit's design.json", fix=_FROM_FIX)
        frame_times = times.get("frame_times") if isinstance(times, dict) else None
        if frame_times is not None and len(frame_times) == len(design):
            design.index = pd.Index(np.asarray(frame_times, dtype=np.float64))
    return design


def _check_func(func, record: dict, fit_dir: Path, conv) -> None:
    """Refuse a ``--func`` that is not the run the fit read: file by file, by content."""
    fitted = [f for f in record.get("input_files") or [] if f.get("role") == "func"]
    if not fitted or any(f.get("sha256") is None for f in fitted):
        return  # a fit of data held in memory: nothing to check against
    given = [f for f in run_record(func, None, conv)["input_files"] if f["role"] == "func"]
    theirs = [f["sha256"] for f in fitted]
    ours = [f["sha256"] for f in given]
    if theirs == ours:
        return
    if len(theirs) != len(ours):
        found = f"{len(given)} file(s) where the fit read {len(fitted)}"
    else:
        k = next(i for i, (a, b) in enumerate(zip(theirs, ours, strict=True)) if a != b)
        found = (
            f"file {k + 1} ({given[k]['file']}) differs in content from the fit's "
            f"{fitted[k]['file']}"
        )
    raise InputError(
        f"--func: expected the run that {fit_dir} was fitted on ({fitted[0]['file']} ... "
        f"{fitted[-1]['file']}, by sha256 in statmap.json), found {found}; pass that run's "
        "files, in the same order."
    )


def _traced_contrasts(contrasts: dict, columns, name: str | None) -> tuple:
    """(t name, t definition, F definition or None) of the fit's contrasts."""
    rows = {key: as_contrast_matrix(value, columns).shape[0] for key, value in contrasts.items()}
    t_names = [key for key, n in rows.items() if n == 1]
    f_names = [key for key, n in rows.items() if n > 1]
    if name is None:
        if not t_names:
            raise InputError(
                f"--from: the fit has no t contrast to trace (only {', '.join(f_names)}); "
                "fit one too, e.g. --contrast 'active - rest'."
            )
        name = t_names[0]
    elif name not in contrasts:
        raise InputError(
            f"--contrast {name}: expected one of the fit's contrasts "
            f"({', '.join(contrasts)}), found none by that name."
        )
    elif rows[name] > 1:
        raise InputError(
            f"--contrast {name}: expected a t contrast (one row) to trace, found an F test of "
            f"{rows[name]} rows; name a t contrast ({', '.join(t_names) or 'none'}): the "
            "first F contrast is traced beside it."
        )
    return name, contrasts[name], (contrasts[f_names[0]] if f_names else None)


def _check_spm_record(record: dict, conv, fit_dir: Path) -> None:
    """Refuse an SPM12 fit whose ``statmap.json`` lacks what its refit needs (older refglm)."""
    missing = [key for key in (*_SPM_REFIT_KEYS, *spm_option_keys(conv)) if key not in record]
    if missing:
        raise InputError(
            f"--from {fit_dir}: expected statmap.json with {', '.join(missing)} (the SPM12 "
            f"options its {conv.name} fit used, needed to refit SPM's whole-volume V, W and "
            "scale factors), found none (written by an older refglm); refit with this "
            f"refglm version (refglm fit ... --convention {conv.name} --out {fit_dir})."
        )


def _spm_refit(run, affine, mask, design, record: dict, conv, fit_dir: Path):
    """SPM12's model of the fit, rebuilt from ``statmap.json`` and refitted on ``run``.

    The design is the fit's own (``design.tsv``), the mask the fit's ``mask.nii.gz``
    (SPM's explicit mask, which the implicit mask of the recorded threshold restricts
    to itself again). Returns the fitted model and the refit's seconds.
    """
    params = {key: record[key] for key in (*_SPM_REFIT_KEYS, *spm_option_keys(conv))}
    model = FirstLevelModel(
        **params, noise_model=record["noise_model"], convention=conv, engine=SPM_REFIT_ENGINE
    )
    try:
        model.check_parameters()
    except InputError as exc:
        raise InputError(f"--from {fit_dir}: statmap.json: {exc}") from None
    t0 = time.perf_counter()
    model.fit_array(run, affine, design_matrices=design, mask=mask)
    seconds = time.perf_counter() - t0
    if not np.array_equal(model.mask_, mask):
        options = ", ".join(f"{key} {params[key]!r}" for key in spm_option_keys(conv))
        raise InputError(
            f"--from {fit_dir}: expected SPM's implicit mask under statmap.json's options "
            f"({options}) to keep the fit's mask ({int(mask.sum())} voxels, mask.nii.gz), "
            f"found {int(model.mask_.sum())} voxels; the record does not match the fit: "
            "refit with this refglm version."
        )
    return model, seconds


def explain_fit_voxel(fit_dir, func, mm=None, ijk=None, contrast: str | None = None) -> tuple:
    """Trace one voxel of a ``refglm fit`` output folder (``refglm explain-voxel --from``).

    Reproduces that fit at the voxel: the convention, noise model and contrasts of its
    ``statmap.json``, the design of its ``design.tsv`` (not rebuilt: the very numbers
    fitted), its ``mask.nii.gz``, and the voxel's raw series read from ``func`` in the
    dtype the fit held the run in (``refglm.io.run_dtype`` under the convention). The
    files of ``func`` must be the run the fit read, compared by their sha256 with the
    ``input_files`` of ``statmap.json``. The trace's z then equals the fit's z map at
    the voxel (to the engine's agreement: bitwise for the statsmodels engine, within
    1e-10 for the vectorized one).

    Under SPM12's estimation (``ar_fit='spm_reml'``) the model is rebuilt from
    ``statmap.json`` (``t_r``, ``hrf_model``, drifts, noise model and SPM's options,
    :func:`refglm.first_level.summary.spm_option_keys`) and refitted on the run with
    its design and mask, engine :data:`SPM_REFIT_ENGINE` (the whole-volume matrices do
    not depend on the engine); the voxel is then traced by
    :func:`refglm.first_level.trace_spm_voxel`. A ``statmap.json`` of an older refglm,
    without SPM's options, is refused, naming the keys.

    Parameters
    ----------
    fit_dir : path
        The ``--out`` folder of ``refglm fit`` or ``refglm tutorial``.
    func : path or list of paths
        The run's images, as given to the fit.
    mm, ijk : three numbers or None
        The voxel (exactly one of them), as :func:`explain_voxel`.
    contrast : str or None
        The fit's t contrast to trace, by its name (None: its first t contrast); the
        fit's first F contrast is traced beside it.

    Returns
    -------
    trace : refglm.first_level.trace.VoxelTrace
    info : dict
        ``ijk``, ``xyz``, ``mask_voxels``, ``fit_dir``, ``contrast`` (the name),
        ``engine`` (the fit's), ``fit_z`` (the fit's z map at the voxel, or None when
        the folder has none); under SPM12's estimation also ``refit_engine`` and
        ``refit_seconds`` (the whole-volume refit; None otherwise).
    """
    if (mm is None) == (ijk is None):
        raise InputError("explain-voxel: expected exactly one of --mm X Y Z or --ijk I J K.")
    fit_dir = Path(fit_dir)
    record = _fit_record(fit_dir)
    conv = get_convention(record["convention"])
    spm = conv.ar_fit == "spm_reml"
    if spm:
        _check_spm_record(record, conv, fit_dir)
    design = _fit_design(fit_dir)
    name, t_definition, f_definition = _traced_contrasts(
        record["contrasts"], design.columns, contrast
    )
    func = [str(f) for f in func] if isinstance(func, list | tuple) else [str(func)]
    func = func[0] if len(func) == 1 else func
    _check_func(func, record, fit_dir, conv)
    dtype = io.run_dtype(func, conv.input_dtype)
    held = (record.get("input_data") or {}).get("held_dtype")
    if held is not None and str(dtype) != held:
        raise InputError(
            f"--func: expected the run held as {held}, as the fit held it, found {dtype} "
            f"under convention {conv.name}; pass the files the fit read."
        )
    run, affine = io.load_run(func, dtype=dtype)
    if run.shape[3] != len(design):
        raise InputError(
            f"--func: expected {len(design)} scans (the rows of {fit_dir}/design.tsv), found "
            f"{run.shape[3]}; pass the run the fit read."
        )
    mask_data, mask_affine = io.image_data(fit_dir / names.MASK_IMAGE)
    mask = mask_data > 0
    if mask.shape != run.shape[:3] or not np.allclose(mask_affine, affine, rtol=0, atol=1e-5):
        raise InputError(
            f"--func: expected images on the grid of {fit_dir}/mask.nii.gz (shape "
            f"{mask.shape}), found shape {run.shape[:3]} or another affine; pass the run the "
            "fit read."
        )
    ijk = _voxel_index(mm, ijk, affine, run.shape[:3])
    xyz = tuple(float(v) for v in (affine @ np.append(ijk, 1.0))[:3])
    if not mask[ijk]:
        raise InputError(
            f"voxel {ijk} (mm {xyz}): outside the fit's mask ({int(mask.sum())} voxels, "
            f"{fit_dir}/mask.nii.gz), so the fit has no value there; pick a voxel inside."
        )
    raw = np.array(run[ijk], copy=True)
    refit_engine = refit_seconds = None
    if spm:
        model, refit_seconds = _spm_refit(run, affine, mask, design, record, conv, fit_dir)
        del run
        refit_engine = model.engine
        trace = trace_spm_voxel(
            raw,
            design,
            model.drift_basis_,
            model.scale_factors_,
            model.whitening_matrix_,
            model.noise_correlation_,
            t_definition,
            f_definition,
            noise_model=record["noise_model"],
            convention=conv,
            reml_hyperparameters=model.reml_hyperparameters_,
            mask_thresholds=model.mask_thresholds_,
        )
    else:
        del run
        trace = trace_voxel(
            raw,
            design,
            t_definition,
            f_definition,
            noise_model=record["noise_model"],
            convention=conv,
        )
    z_path = fit_dir / names.statmap_name(name, "z")
    fit_z = float(io.image_data(z_path)[0][ijk]) if z_path.is_file() else None
    info = dict(
        ijk=ijk,
        xyz=xyz,
        mask_voxels=int(mask.sum()),
        fit_dir=str(fit_dir),
        contrast=name,
        engine=record.get("engine"),
        convention=conv.name,
        fit_z=fit_z,
        refit_engine=refit_engine,
        refit_seconds=refit_seconds,
    )
    return trace, info
