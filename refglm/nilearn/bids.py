"""nilearn 0.14.1's ``first_level_from_bids``, without pybids: models and inputs of a BIDS dataset.

For each subject of the derivatives folder: a :class:`~refglm.nilearn.model.FirstLevelModel`
with nilearn's parameters, the preprocessed BOLD images of the task (``space-`` and
the image filters), their events tables from the raw dataset, and their confounds
(``desc-confounds_timeseries.tsv`` in the derivatives, every column, NaN in the
first row set to 0). The repetition time and the slice timing reference are read from
the first matching ``*_bold.json`` (derivatives first, then raw), as nilearn does.
Files are found by name (``refglm.io.parse_entities``); nothing is read but JSON and
TSV tables. The fMRIPrep confound strategies of nilearn (``confounds_*`` keywords,
``nilearn.interfaces.fmriprep.load_confounds``) are not implemented: they raise.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from refglm import io
from refglm.exceptions import InputError
from refglm.nilearn.model import FirstLevelModel

__all__ = ["first_level_from_bids"]

#: nilearn 0.14.1: the space of the preprocessed images when ``space_label`` is None.
DEFAULT_SPACE = "MNI152NLin2009cAsym"


def _bids_files(root: Path, sub: str, suffix: str, extensions: tuple, filters: list) -> list:
    """Files ``sub-<sub>[/ses-*]/func/sub-<sub>_*_<suffix><ext>`` whose entities pass ``filters``.

    # nilearn 0.14.1 interfaces/bids/query.py get_bids_files (modality_folder 'func'):
    # glob of the session and subject levels, then each (entity, label) filter must
    # appear in the name; sorted
    """
    found = []
    for pattern in (f"sub-{sub}/ses-*/func/sub-{sub}_*", f"sub-{sub}/func/sub-{sub}_*"):
        for path in root.glob(pattern):
            try:
                entities, sfx, ext = io.parse_entities(path.name)
            except InputError:
                continue
            if sfx != suffix or ext not in extensions:
                continue
            if all(entities.get(key) == str(label) for key, label in filters):
                found.append(path)
    return sorted(str(p) for p in found)


def _metadata(root: Path, filters: list, field: str):
    """``field`` of the first ``*_bold.json`` under ``root`` whose entities pass ``filters``."""
    files = []
    for sub in sorted(p.name[4:] for p in root.glob("sub-*") if p.is_dir()):
        files += _bids_files(root, sub, "bold", (".json",), filters)
    for path in files:
        value = io.load_json_bounded(Path(path), "a BIDS sidecar").get(field)
        if value is not None:
            return float(value)
    return None


def _one_per_image(files, images, what, sub):
    if len(files) != len(images):
        raise InputError(
            f"sub-{sub}: expected one {what} per BOLD image ({len(images)}), found "
            f"{len(files)}: {files}."
        )


def first_level_from_bids(
    dataset_path,
    task_label,
    space_label=None,
    sub_labels=None,
    exclude_subjects=None,
    img_filters=None,
    t_r=None,
    slice_time_ref=None,
    hrf_model="glover",
    drift_model="cosine",
    high_pass=0.01,
    drift_order=1,
    fir_delays=None,
    min_onset=-24,
    mask_img=None,
    target_affine=None,
    target_shape=None,
    smoothing_fwhm=None,
    memory=None,
    memory_level=1,
    standardize=False,
    signal_scaling=0,
    noise_model="ar1",
    verbose=0,
    n_jobs=1,
    minimize_memory=True,
    derivatives_folder="derivatives",
    **kwargs,
):
    """Models and fit inputs of each subject of a BIDS dataset: nilearn's ``first_level_from_bids``.

    Parameters
    ----------
    dataset_path : path
        The raw dataset (events); its ``derivatives_folder`` holds the preprocessed runs.
    task_label : str
    space_label : str or None
        None: ``'MNI152NLin2009cAsym'``.
    sub_labels, exclude_subjects : list of str or None
        The subjects (default: every ``sub-*`` folder of the derivatives).
    img_filters : list of (entity, label) or None
        More entities the BOLD images must have (e.g. ``[('desc', 'preproc')]``).
    t_r, slice_time_ref : float or None
        None: read from ``RepetitionTime`` and ``StartTime / RepetitionTime`` of the
        sidecars (derivatives, then raw); a value that differs is used, with a warning.
    hrf_model, ..., minimize_memory
        The models' parameters (``mask_img='derivatives'``: None).
    derivatives_folder : str
    **kwargs
        nilearn's ``confounds_*`` strategies: not implemented (InputError).

    Returns
    -------
    models : list of FirstLevelModel
    models_run_imgs : list of list of str
    models_events : list of list of pandas.DataFrame
    models_confounds : list of (list of pandas.DataFrame, or None)

    # nilearn 0.14.1 glm/first_level/first_level.py first_level_from_bids,
    # _get_processed_imgs, _get_events_files, _get_confounds
    """
    if kwargs:
        raise InputError(
            f"{', '.join(sorted(kwargs))}: nilearn's fMRIPrep confound strategies "
            "(confounds_* keywords) are not implemented; pass no strategy to get every "
            "column of the confounds tables."
        )
    space_label = DEFAULT_SPACE if space_label is None else space_label
    img_filters = list(img_filters or [])
    dataset_path = Path(dataset_path).absolute()
    derivatives = dataset_path / derivatives_folder
    if not derivatives.is_dir():
        raise InputError(
            f"derivatives_folder: expected a folder {derivatives}, found none; pass the "
            "folder of the preprocessed runs."
        )
    filters = [("task", task_label), ("space", space_label), *img_filters]

    inferred = _metadata(derivatives, filters, "RepetitionTime")
    if inferred is None:
        raw_filters = [("task", task_label)] + [f for f in img_filters if f[0] != "desc"]
        inferred = _metadata(dataset_path, raw_filters, "RepetitionTime")
    if t_r is None:
        t_r = inferred
    elif inferred is not None and t_r != inferred:
        warnings.warn(
            f"'t_r' provided ({t_r}) is different from the value found in the BIDS "
            f"dataset ({inferred}).",
            RuntimeWarning,
            stacklevel=2,
        )
    start = _metadata(derivatives, filters, "StartTime")
    inferred_ref = start / t_r if start is not None and t_r is not None else 0.0
    if slice_time_ref is None:
        slice_time_ref = inferred_ref
    elif slice_time_ref != inferred_ref:
        warnings.warn(
            f"'slice_time_ref' provided ({slice_time_ref}) is different from the value "
            f"found in the BIDS dataset ({inferred_ref}).",
            UserWarning,
            stacklevel=2,
        )

    if sub_labels:
        subjects = [s for s in sub_labels if (derivatives / f"sub-{s}").exists()]
    else:
        subjects = [p.name[4:] for p in derivatives.glob("sub-*") if p.is_dir()]
    subjects = sorted(set(subjects) - set(exclude_subjects or []))
    if not subjects:
        raise InputError(f"derivatives_folder: expected sub-* folders in {derivatives}.")

    models, models_run_imgs, models_events, models_confounds = [], [], [], []
    for sub in subjects:
        models.append(
            FirstLevelModel(
                t_r=t_r,
                slice_time_ref=slice_time_ref,
                hrf_model=hrf_model,
                drift_model=drift_model,
                high_pass=high_pass,
                drift_order=drift_order,
                fir_delays=fir_delays,
                min_onset=min_onset,
                mask_img=None if mask_img == "derivatives" else mask_img,
                target_affine=target_affine,
                target_shape=target_shape,
                smoothing_fwhm=smoothing_fwhm,
                memory=memory,
                memory_level=memory_level,
                standardize=standardize,
                signal_scaling=signal_scaling,
                noise_model=noise_model,
                verbose=verbose,
                n_jobs=n_jobs,
                minimize_memory=minimize_memory,
                subject_label=sub,
            )
        )
        imgs = _bids_files(derivatives, sub, "bold", (".nii", ".nii.gz"), filters)
        if not imgs:
            raise InputError(
                f"sub-{sub}: expected preprocessed BOLD images with {filters} in "
                f"{derivatives}, found none."
            )
        models_run_imgs.append(imgs)
        events, confounds = [], []
        for img in imgs:
            entities, _, _ = io.parse_entities(Path(img).name)
            keys = [k for k in ("ses", "run", "acq", "ce", "dir", "rec", "echo") if k in entities]
            run_filters = [("task", task_label), *[(k, entities[k]) for k in keys]]
            found = _bids_files(dataset_path, sub, "events", (".tsv",), run_filters)
            _one_per_image(found, [img], "events.tsv", sub)
            events.append(pd.read_csv(found[0], sep="\t", index_col=None))
            found = _bids_files(
                derivatives, sub, "timeseries", (".tsv",), [*run_filters, ("desc", "confounds")]
            )
            if found:
                _one_per_image(found, [img], "desc-confounds_timeseries.tsv", sub)
                table = pd.read_csv(found[0], sep="\t", index_col=None)
                # nilearn 0.14.1 _get_confounds: the first row's NaN (derivatives) are 0
                table.iloc[0] = table.iloc[0].fillna(0)
                confounds.append(table)
        models_events.append(events)
        models_confounds.append(confounds if confounds else None)
    return models, models_run_imgs, models_events, models_confounds
