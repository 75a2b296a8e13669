"""``refglm explain-voxel``: trace one voxel of the tutorial model (or of SPM12's).

Under a convention with SPM12's estimation (``--convention spm12``) the voxel is traced
through SPM's steps instead (:func:`refglm.first_level.trace_spm_voxel`), in SPM's model
of the same run: the ``active`` blocks (rest is SPM's implicit baseline), canonical
HRF, 128 s high-pass, AR(1), global normalisation None (:data:`SPM_TUTORIAL_PARAMETERS`,
the anchor of ``validation/peers/spm12``). The scale factors, SPM's implicit mask, its
ReML and whitening need every voxel, so that model is fitted first.
"""

from __future__ import annotations

import numpy as np

from refglm import io
from refglm.conventions import get_convention
from refglm.datasets import fetch_spm_auditory
from refglm.exceptions import InputError
from refglm.first_level import FirstLevelModel, first_level_design, trace_spm_voxel, trace_voxel
from refglm.glm.masking import compute_epi_mask, mean_epi
from refglm.workflows.tutorial import TUTORIAL_CONTRASTS, TUTORIAL_PARAMETERS

__all__ = ["explain_voxel", "SPM_TUTORIAL_PARAMETERS", "SPM_TUTORIAL_CONTRASTS"]

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
