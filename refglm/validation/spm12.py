"""SPM12 as a peer: an SPM batch model as refglm arguments, and refglm's differences from SPM.

The SPM12 peer (``validation/peers/spm12/``) runs SPM12 r7771 under Octave on the
models of its ``models.json`` and exports SPM's own outputs as ``.npz`` files
(``tests/peers/spm12/golden/``). Each model's options are the keys of that file,
one per field of SPM's batch (``spm.stats.fmri_spec``):

========================  =================================================
``models.json`` key       refglm
========================  =================================================
``RT``                    ``t_r``
``units``                 'scans' onsets and durations are multiplied by RT
``fmri_t``, ``fmri_t0``   ``oversampling``, ``microtime_onset``
``nscan``                 the first ``nscan`` scans of the run
``hpf``                   ``high_pass = 1 / hpf`` (``drift_model='cosine'``)
``derivs``                ``hrf_model``: 'spm', 'spm + derivative',
                          'spm + derivative + dispersion'
``cvi``                   ``noise_model``: 'AR(1)' -> 'ar1', 'none' -> 'ols'
``global_normalisation``  ``global_normalization``: 'None' -> None,
                          'Scaling' -> 'scaling'
``mthresh``               ``implicit_mask_threshold``
``conditions``            events rows (``trial_type``, ``onset``,
                          ``duration``), SPM's ``pmod``/``tmod``/``orth`` as
                          ``modulators`` (pmod values as events columns)
``contrasts``             contrast matrices, zero-padded as SPM's ``ParseCon``
========================  =================================================

:func:`spm_batch_model` does that mapping (so any SPM model written in those keys
can be checked the same way), :func:`fit_spm_batch_model` fits it, and
:func:`spm_differences` measures a fit against SPM's exported outputs, quantity by
quantity. ``tests/peers/test_spm12.py`` holds them to the issue's tolerances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from refglm.exceptions import InputError

__all__ = [
    "SPM12_CONVENTION",
    "SpmBatchModel",
    "spm_batch_model",
    "fit_spm_batch_model",
    "spm_differences",
    "load_spm_golden",
]

#: The convention that reproduces SPM12.
SPM12_CONVENTION = "spm12"

_HRF_MODELS = {
    (0, 0): "spm",
    (1, 0): "spm + derivative",
    (1, 1): "spm + derivative + dispersion",
}
_NOISE_MODELS = {"ar(1)": "ar1", "none": "ols"}
_GLOBAL = {"none": None, "scaling": "scaling"}
_RESERVED_COLUMNS = ("onset", "duration", "trial_type", "modulation")


@dataclass
class SpmBatchModel:
    """An SPM12 batch model (one entry of ``models.json``) in refglm's terms.

    Attributes
    ----------
    name : str
    model_arguments : dict
        ``FirstLevelModel`` keyword arguments (``convention='spm12'`` included).
    events : pandas.DataFrame
        ``trial_type``, ``onset``, ``duration`` in seconds, one row per onset, the
        conditions in SPM's order; a column per parametric modulator.
    n_scans : int
        SPM's ``nscan``: the first ``n_scans`` scans of the run are modelled.
    contrasts : dict
        ``{name: (matrix (q, p), stat_type)}``, ``stat_type`` 't' or 'F', in SPM's order.
    alpha_fwe, alpha_unc : float
        The levels of the thresholds the peer recorded (``spm_uc``, ``spm_u``).
    options : dict
        The options as given.
    """

    name: str
    model_arguments: dict
    events: pd.DataFrame
    n_scans: int
    contrasts: dict = field(default_factory=dict)
    alpha_fwe: float = 0.05
    alpha_unc: float = 0.001
    options: dict = field(default_factory=dict)


def _vector(values, what: str) -> np.ndarray:
    array = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    if not np.all(np.isfinite(array)):
        raise InputError(f"{what}: expected finite numbers, found {values!r}.")
    return array


def spm_batch_model(options: dict) -> SpmBatchModel:
    """Map an SPM12 batch model's options (``models.json`` keys) to refglm's arguments.

    Parameters
    ----------
    options : dict
        One model of ``validation/peers/spm12/models.json`` (keys ``name``, ``units``,
        ``RT``, ``fmri_t``, ``fmri_t0``, ``nscan``, ``hpf``, ``derivs``, ``cvi``,
        ``global_normalisation``, ``mthresh``, ``conditions``, ``contrasts``,
        ``alpha_fwe``, ``alpha_unc``; see the module docstring for each mapping).

    Returns
    -------
    SpmBatchModel

    Notes
    -----
    Onsets and durations in scans are converted to seconds (times ``RT``), which
    SPM's ``spm_get_ons.m`` turns into the same microtime bins except where
    ``onset * fmri_t`` falls within rounding of a half bin.
    """
    units = str(options.get("units", "scans"))
    if units not in ("scans", "secs"):
        raise InputError(f"units: expected 'scans' or 'secs', found {units!r}.")
    t_r = float(options["RT"])
    scale = t_r if units == "scans" else 1.0
    derivs = tuple(int(d) for d in options.get("derivs", (0, 0)))
    if derivs not in _HRF_MODELS:
        raise InputError(f"derivs: expected one of {list(_HRF_MODELS)}, found {derivs!r}.")
    cvi = str(options.get("cvi", "AR(1)")).lower()
    if cvi not in _NOISE_MODELS:
        raise InputError(
            f"cvi: expected 'AR(1)' or 'none', found {options.get('cvi')!r} (SPM's 'FAST' is "
            "not implemented)."
        )
    normalisation = str(options.get("global_normalisation", "None")).lower()
    if normalisation not in _GLOBAL:
        raise InputError(
            "global_normalisation: expected 'None' or 'Scaling', found "
            f"{options.get('global_normalisation')!r}."
        )
    rows, modulators = [], {}
    for cond in options["conditions"]:
        name = str(cond["name"])
        onset = _vector(cond["onset"], f"conditions[{name}].onset") * scale
        duration = _vector(cond["duration"], f"conditions[{name}].duration") * scale
        if duration.size == 1:
            duration = np.repeat(duration, onset.size)
        if duration.size != onset.size:
            raise InputError(
                f"conditions[{name}]: expected one duration or one per onset, found "
                f"{duration.size} for {onset.size} onsets."
            )
        table = pd.DataFrame({"trial_type": name, "onset": onset, "duration": duration})
        spec = {}
        for pmod in cond.get("pmod") or []:
            column = str(pmod["name"])
            if column in _RESERVED_COLUMNS:
                raise InputError(
                    f"conditions[{name}].pmod: expected a name other than "
                    f"{_RESERVED_COLUMNS}, found {column!r}."
                )
            table[column] = _vector(pmod["param"], f"conditions[{name}].pmod.{column}")
            spec.setdefault("pmod", []).append((column, int(pmod["poly"])))
        if cond.get("tmod"):
            spec["tmod"] = int(cond["tmod"])
        orth = cond.get("orth", 1)
        if orth is not None and np.size(orth) and not bool(orth):
            spec["orth"] = False
        if spec:
            modulators[name] = spec
        rows.append(table)
    events = pd.concat(rows, ignore_index=True)
    arguments = dict(
        t_r=t_r,
        hrf_model=_HRF_MODELS[derivs],
        drift_model="cosine",
        high_pass=1.0 / float(options.get("hpf", 128)),  # hpf Inf: 0, no filter
        noise_model=_NOISE_MODELS[cvi],
        convention=SPM12_CONVENTION,
        oversampling=int(options.get("fmri_t", 16)),
        microtime_onset=int(options.get("fmri_t0", 8)),
        global_normalization=_GLOBAL[normalisation],
        implicit_mask_threshold=float(options.get("mthresh", 0.8)),
    )
    if modulators:
        arguments["modulators"] = modulators
    n_regressors = _count_columns(options, derivs)
    contrasts = {}
    for con in options.get("contrasts", []):
        weights = np.atleast_2d(np.asarray(con["weights"], dtype=np.float64))
        if weights.shape[1] > n_regressors:
            raise InputError(
                f"contrast {con['name']!r}: expected at most {n_regressors} weights, found "
                f"{weights.shape[1]}."
            )
        # SPM12 spm_run_con.m -> spm_conman('ParseCon'): short weight vectors are padded
        padded = np.hstack([weights, np.zeros((weights.shape[0], n_regressors - weights.shape[1]))])
        stat_type = {"T": "t", "F": "F"}[str(con["type"]).upper()]
        contrasts[str(con["name"])] = (padded, stat_type)
    return SpmBatchModel(
        name=str(options.get("name", "")),
        model_arguments=arguments,
        events=events,
        n_scans=int(options["nscan"]),
        contrasts=contrasts,
        alpha_fwe=float(options.get("alpha_fwe", 0.05)),
        alpha_unc=float(options.get("alpha_unc", 0.001)),
        options=dict(options),
    )


def _count_columns(options: dict, derivs) -> int:
    """The columns of SPM's ``xX.X``: per condition (1 + modulator orders) x basis, + 1."""
    n_basis = 1 + sum(derivs)
    total = 0
    for cond in options["conditions"]:
        n_u = 1 + int(cond.get("tmod") or 0) + sum(int(p["poly"]) for p in cond.get("pmod") or [])
        total += n_u * n_basis
    return total + 1


def fit_spm_batch_model(batch: SpmBatchModel, data, affine, engine: str = "vectorized", **kw):
    """Fit an :class:`SpmBatchModel` to a run held as a 4-D array (its first ``n_scans`` scans).

    Parameters
    ----------
    batch : SpmBatchModel
    data : ndarray (x, y, z, n)
        The run as SPM reads it (float64).
    affine : ndarray (4, 4)
    engine : {'vectorized', 'statsmodels'}
    **kw
        More ``FirstLevelModel`` arguments (``n_jobs``, ``chunk_size``...).

    Returns
    -------
    refglm.first_level.FirstLevelModel
    """
    from refglm.first_level import FirstLevelModel

    if data.shape[3] < batch.n_scans:
        raise InputError(
            f"data: expected at least {batch.n_scans} scans (nscan), found {data.shape[3]}."
        )
    model = FirstLevelModel(**batch.model_arguments, engine=engine, **kw)
    return model.fit_array(np.asarray(data[..., : batch.n_scans]), affine, batch.events)


def load_spm_golden(path) -> dict:
    """An exported SPM12 model (``.npz``) as a dict, with its options and provenance decoded."""
    with np.load(path, allow_pickle=False) as z:
        golden = {key: z[key] for key in z.files}
    golden["model"] = json.loads(str(golden["model_json"]))
    golden["provenance"] = json.loads(str(golden["provenance_json"]))
    return golden


def _scaled(a, b) -> float:
    """max |a - b| / max(1, |b|) (0 for empty arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def _relative(a, b) -> float:
    """max |a - b| / |b| (0 for empty arrays)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.abs(b)))


def spm_differences(model, batch: SpmBatchModel, golden: dict) -> dict:
    """The worst difference per quantity between a fitted model and SPM12's outputs.

    Parameters
    ----------
    model : refglm.first_level.FirstLevelModel
        Fitted with :func:`fit_spm_batch_model`.
    batch : SpmBatchModel
    golden : dict
        :func:`load_spm_golden` of the same model.

    Returns
    -------
    dict
        ``mask`` (voxels in one mask only), ``X`` (max abs), ``h`` (max relative),
        ``beta``, ``con``, ``T``, ``F`` (max :math:`|\\Delta| / \\max(1, |\\mathrm{SPM}|)` over
        the mask voxels; ``beta`` against SPM's float32 images), ``beta_f32_mismatch``
        (beta values whose float32 differs from SPM's image), ``ResMS`` (max relative),
        ``erdf`` (abs), ``u_unc``, ``u_fwe``, ``u_fweRF`` (abs, thresholds in the
        statistic's units), ``FWHM``, ``R`` (relative), ``W``, ``V`` (max abs),
        ``Bcov`` (max abs / max |Bcov|), ``eidf`` (abs), ``gSF`` (relative).
        Map differences are NaN when the masks differ.
    """
    out = {}
    mask = model.mask_
    index = np.flatnonzero(mask.ravel(order="F"))
    same_mask = np.array_equal(index, golden["mask_index"])
    out["mask"] = float(np.setxor1d(index, golden["mask_index"]).size)
    design = model.design_matrices_[0].to_numpy(dtype=np.float64)
    out["X"] = (
        float(np.max(np.abs(design - golden["X"])))
        if design.shape == golden["X"].shape
        else float("inf")
    )
    h = model.reml_hyperparameters_
    out["h"] = _relative(h, golden["xVi_h"]) if golden["xVi_h"].size else float(np.size(h))
    out["erdf"] = abs(model.erdf_ - float(golden["erdf"]))
    out["W"] = float(np.max(np.abs(model.whitening_matrix_ - golden["W"])))
    out["V"] = float(np.max(np.abs(model.noise_correlation_ - golden["xVi_V"])))
    Bcov = model.fit_.design_space.Bcov
    out["Bcov"] = float(np.max(np.abs(Bcov - golden["Bcov"])) / np.max(np.abs(golden["Bcov"])))
    out["gSF"] = _relative(model.scale_factors_, golden["gSF"])
    out["FWHM"] = _relative(model.smoothness_, golden["FWHM"])
    out["R"] = _relative(model.resels_, golden["R"])
    # C-ordered mask voxels -> SPM's Fortran order
    fortran = np.argsort(np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F"))
    keys = ("beta", "beta_f32_mismatch", "ResMS", "con", "T", "F")
    if same_mask:
        beta = model.fit_.beta[:, fortran]
        out["beta"] = _scaled(beta, golden["beta"])
        stored = beta.astype(np.float32)
        out["beta_f32_mismatch"] = float(np.count_nonzero(stored != golden["beta"]))
        out["ResMS"] = _relative(model.fit_.sigma2[fortran], golden["ResMS"])
    else:
        out.update({key: float("nan") for key in keys})
    worst = {"con": 0.0, "T": 0.0, "F": 0.0, "u_unc": 0.0, "u_fwe": 0.0, "u_fweRF": 0.0}
    worst["eidf"] = 0.0
    names = [str(n) for n in golden["con_names"]]
    for i, (name, (matrix, stat_type)) in enumerate(batch.contrasts.items()):
        if names[i] != name:
            raise InputError(f"contrast {i}: expected {names[i]!r} (SPM's order), found {name!r}.")
        result = model.contrast_result(matrix, stat_type)
        stat_key = "T" if stat_type == "t" else "F"
        df1 = 1.0 if stat_type == "t" else float(result.df_num[0])
        if stat_type == "F":
            worst["eidf"] = max(worst["eidf"], abs(df1 - float(golden["con_eidf"][i])))
        if same_mask:
            con = result.effect[0] if stat_type == "t" else result.ess
            worst["con"] = max(worst["con"], _scaled(con[fortran], golden["con"][i]))
            worst[stat_key] = max(worst[stat_key], _scaled(result.stat[fortran], golden["stat"][i]))
        for key, control, alpha in (
            ("u_unc", "fpr", batch.alpha_unc),
            ("u_fwe", "fwe", batch.alpha_fwe),
            ("u_fweRF", "fwe_rft", batch.alpha_fwe),
        ):
            contrast = matrix if stat_type == "F" else None
            u = model.height_threshold(alpha, control, stat_type, contrast)
            worst[key] = max(worst[key], abs(u - float(golden[key][i])))
    if not same_mask:
        worst.update(con=float("nan"), T=float("nan"), F=float("nan"))
    out.update(worst)
    return out
