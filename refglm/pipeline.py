"""Image-level steps and the tutorial as one pipeline.

``map_threshold`` and ``get_clusters_table`` take nibabel images (or paths),
as nistats' did, and hand arrays to the numerics in ``thresholds.py`` and
``clusters.py``. ``run_tutorial`` runs the whole seed tutorial;
``write_tutorial`` writes its results with BIDS-derivative names.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from refglm import clusters, io, thresholds
from refglm.conventions import get_convention
from refglm.exceptions import InputError

__all__ = [
    "map_threshold",
    "get_clusters_table",
    "run_tutorial",
    "write_tutorial",
    "TutorialResults",
    "camel_case_contrast_name",
    "TUTORIAL_CONTRASTS",
]

# The tutorial's contrasts over `active, rest, drift_1..drift_13, constant`.
TUTORIAL_CONTRASTS = {
    "activeMinusRest": "active - rest",
    "effectsOfInterest": ["active", "rest"],
}


def _two_sided(two_sided, conv):
    return conv.two_sided if two_sided is None else bool(two_sided)


def map_threshold(
    stat_img,
    mask_img=None,
    alpha=0.001,
    threshold=None,
    height_control="fpr",
    cluster_threshold=0,
    two_sided=None,
    convention="nistats",
):
    """Threshold a statistical map; the image version of ``thresholds.map_threshold``.

    Parameters
    ----------
    stat_img : path or nibabel image
        A z map.
    mask_img : path, nibabel image or None
        Voxels to test; None tests the non-zero voxels of ``stat_img``
        (so Bonferroni's n is their count, 62073 on the tutorial).
    alpha : float in (0, 1)
    threshold : float or None
        Used when ``height_control`` is None.
    height_control : {'fpr', 'bonferroni', 'fdr', None}
    cluster_threshold : int >= 0
        Clusters smaller than this many voxels are removed.
    two_sided : bool or None
        None takes the convention's default (one-sided for nistats).
    convention : str

    Returns
    -------
    thresholded_img : nibabel.Nifti1Image
    threshold : float
    """
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    mask = None
    if mask_img is not None:
        mask, _ = io.image_data(mask_img)
        mask = mask > 0
    out, thr = thresholds.map_threshold(
        stat,
        mask,
        alpha=alpha,
        height_control=height_control,
        threshold=threshold,
        cluster_threshold=cluster_threshold,
        two_sided=_two_sided(two_sided, conv),
        fdr_formula=conv.fdr_formula,
        connectivity=conv.cluster_connectivity,
        keep_equal=conv.threshold_keep_equal,
    )
    return io.to_image(out, affine), float(thr)


def get_clusters_table(
    stat_img,
    stat_threshold,
    cluster_threshold=None,
    min_distance=8.0,
    two_sided=None,
    convention="nistats",
) -> pd.DataFrame:
    """Clusters and peaks of a map; the image version of ``clusters.get_clusters_table``.

    Columns ``Cluster ID, X, Y, Z, Peak Stat, Cluster Size (mm3)``; at most 3
    subpeaks per cluster, more than ``min_distance`` mm apart. The input
    image is not modified.
    """
    conv = get_convention(convention)
    stat, affine = io.image_data(stat_img)
    return clusters.get_clusters_table(
        stat,
        affine,
        stat_threshold,
        cluster_threshold=cluster_threshold,
        min_distance=min_distance,
        two_sided=_two_sided(two_sided, conv),
        connectivity=conv.cluster_connectivity,
    )


def camel_case_contrast_name(name: str) -> str:
    """nilearn/fitlins contrast naming: ``'active - rest'`` -> ``'activeMinusRest'``.

    # nilearn interfaces/bids/_utils.py _clean_contrast_name: '-' -> 'Minus',
    # '+' -> 'Plus', other non-alphanumerics split words, then camelCase.
    """
    import re

    text = name.replace("-", " Minus ").replace("+", " Plus ")
    words = [w for w in re.split(r"[^0-9A-Za-z]+", text) if w]
    if not words:
        raise InputError(f"contrast name {name!r}: expected letters or digits to name it by.")
    first, rest = words[0], words[1:]
    return first[0].lower() + first[1:] + "".join(w[0].upper() + w[1:] for w in rest)


@dataclass
class TutorialResults:
    """Everything the seed tutorial computes."""

    model: object
    design: pd.DataFrame
    mask_voxels: int
    mean_img: object
    z_maps: dict
    thresholds: dict
    clusters: pd.DataFrame
    maps_thresholded: dict
    timings: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)


TUTORIAL_PARAMETERS = dict(
    t_r=7.0,
    noise_model="ar1",
    standardize=False,
    hrf_model="spm",
    drift_model="cosine",
    high_pass=0.01,
)


def run_tutorial(
    data_dir=None, n_jobs=1, engine="statsmodels", convention="nistats", progress=None
) -> TutorialResults:
    """Run the nistats SPM auditory tutorial end to end.

    load -> FirstLevelModel(t_r=7, ar1, spm HRF, cosine drifts at .01 Hz) ->
    active - rest z map -> thresholds at fpr .001, Bonferroni .05, FDR .05 ->
    FDR map with clusters > 10 voxels -> cluster table (cluster_threshold=20)
    -> the F test of (active, rest).
    """
    from refglm.datasets import fetch_spm_auditory
    from refglm.model import FirstLevelModel

    timings = {}
    t0 = time.perf_counter()
    data = fetch_spm_auditory(data_dir)
    timings["fetch"] = time.perf_counter() - t0

    model = FirstLevelModel(
        **TUTORIAL_PARAMETERS,
        n_jobs=n_jobs,
        engine=engine,
        convention=convention,
        progress=progress,
    )
    t0 = time.perf_counter()
    model.fit(data.func, data.events)
    timings["fit"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    z_maps = {
        name: model.compute_contrast(definition, output_type="z_score")
        for name, definition in TUTORIAL_CONTRASTS.items()
    }
    z_map = z_maps["activeMinusRest"]
    thr = {}
    maps = {}
    maps["z3"], thr["z3"] = map_threshold(
        z_map, height_control=None, threshold=3.0, convention=convention
    )
    for name, alpha in (("fpr", 0.001), ("bonferroni", 0.05), ("fdr", 0.05)):
        maps[name], thr[name] = map_threshold(
            z_map, alpha=alpha, height_control=name, convention=convention
        )
    maps["fdr_cluster10"], thr["fdr_cluster10"] = map_threshold(
        z_map, alpha=0.05, height_control="fdr", cluster_threshold=10, convention=convention
    )
    table = get_clusters_table(
        z_map, stat_threshold=thr["fdr_cluster10"], cluster_threshold=20, convention=convention
    )
    maps["F_fdr_cluster10"], thr["F_fdr_cluster10"] = map_threshold(
        z_maps["effectsOfInterest"],
        alpha=0.05,
        height_control="fdr",
        cluster_threshold=10,
        convention=convention,
    )
    timings["contrasts_thresholds_clusters"] = time.perf_counter() - t0
    mean = io.to_image(model.mean_img_data_, model.affine_)
    return TutorialResults(
        model=model,
        design=model.design_matrices_[0],
        mask_voxels=int(model.mask_.sum()),
        mean_img=mean,
        z_maps=z_maps,
        thresholds=thr,
        clusters=table,
        maps_thresholded=maps,
        timings=timings,
        parameters=dict(TUTORIAL_PARAMETERS, convention=convention, engine=engine),
    )


def _json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n"


def write_tutorial(results: TutorialResults, out_dir) -> list[Path]:
    """Write the tutorial's maps, tables and parameters with BIDS-derivative names.

    Every file is written atomically (temporary name, then rename).
    """
    from refglm import __version__

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder, found a file; choose another path.")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    model = results.model
    for name, definition in TUTORIAL_CONTRASTS.items():
        res = model.contrast_result(definition)
        stat_kind = "t" if res.stat_type == "t" else "F"
        maps = {"z": res.z_score, stat_kind: res.stat, "p": res.p_value}
        if res.stat_type == "t":
            maps["effect"] = res.effect[0]
            maps["variance"] = res.variance[0, 0]
        for kind, values in maps.items():
            path = out / f"contrast-{name}_stat-{kind}_statmap.nii.gz"
            written.append(io.save_image(model.to_volume(values), path, model.affine_))
    table_path = out / "contrast-activeMinusRest_clusters.tsv"
    written.append(io.atomic_write_text(table_path, results.clusters.to_csv(sep="\t", index=False)))
    written.append(
        io.atomic_write_text(
            out / "contrast-activeMinusRest_clusters.json",
            _json(
                {
                    "stat_threshold": results.thresholds["fdr_cluster10"],
                    "height_control": "fdr",
                    "alpha": 0.05,
                    "cluster_threshold": 20,
                    "min_distance": 8.0,
                    "two_sided": model.convention_.two_sided,
                }
            ),
        )
    )
    written.append(
        io.atomic_write_text(
            out / "thresholds.json",
            _json({k: float(v) for k, v in results.thresholds.items()}),
        )
    )
    written.append(
        io.atomic_write_text(out / "design.tsv", results.design.to_csv(sep="\t", index=False))
    )
    written.append(
        io.atomic_write_text(
            out / "design.json",
            _json(
                {
                    "columns": list(results.design.columns),
                    "frame_times": [float(t) for t in results.design.index],
                }
            ),
        )
    )
    written.append(io.save_image(model.mask_.astype(np.uint8), out / "mask.nii.gz", model.affine_))
    written.append(
        io.atomic_write_text(
            out / "statmap.json",
            _json(dict(results.parameters, convention_choices=model.convention_.as_dict())),
        )
    )
    written.append(
        io.atomic_write_text(
            out / "dataset_description.json",
            _json(
                {
                    "Name": "refglm first-level results: SPM auditory tutorial",
                    "BIDSVersion": "1.9.0",
                    "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "refglm", "Version": __version__}],
                }
            ),
        )
    )
    return written
