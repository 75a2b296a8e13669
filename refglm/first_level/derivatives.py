"""BIDS-derivative outputs of a fitted model: maps, cluster tables, design, mask, metadata.

``write_glm_outputs`` is the shared writer of ``refglm fit`` and ``refglm tutorial``
(cf. nilearn 0.14.1 ``glm/io.py save_glm_to_bids``); every name comes from
:mod:`refglm.io.derivative_names`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from refglm import io
from refglm._version import __version__
from refglm.exceptions import InputError
from refglm.io import derivative_names as names

__all__ = ["write_glm_outputs"]


def _json(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n"


def _output_folder(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: expected a folder, found a file; choose another path.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_glm_outputs(
    model,
    summaries,
    out_dir,
    *,
    parameters: dict,
    dataset_name: str = "refglm first-level results",
    extra_json: dict | None = None,
) -> list[Path]:
    """Write a fitted model's contrasts, design, mask and metadata as BIDS derivatives.

    The shared writer of ``refglm fit`` and ``refglm tutorial``. File names
    follow nilearn 0.14.1 ``glm.io.save_glm_to_bids`` (and fitlins): for each
    :class:`ContrastSummary`, ``contrast-<name>_stat-{effect,variance,t|F,z,p}_statmap.nii.gz``
    (effect and variance for t contrasts only), and, when it has a table,
    ``contrast-<name>_clusters.tsv`` with its threshold parameters in
    ``contrast-<name>_clusters.json``; then ``design.tsv``, ``design.json``
    (columns and frame times), ``mask.nii.gz``, ``statmap.json`` (the model
    parameters and the convention's choices) and ``dataset_description.json``
    (``GeneratedBy``). ``extra_json`` maps further file names to JSON objects.

    Every file is written atomically; ``.nii.gz`` files with a fixed gzip
    mtime and JSON with sorted keys and no timestamp, so repeated runs give
    identical bytes.

    Returns
    -------
    list of Path
        The files written, in order.
    """
    out = _output_folder(out_dir)
    written = []
    for summary in summaries:
        res = model.contrast_result(summary.definition)
        stat_kind = "t" if res.stat_type == "t" else "F"
        maps = {"z": res.z_score, stat_kind: res.stat, "p": res.p_value}
        if res.stat_type == "t":
            maps["effect"] = res.effect[0]
            maps["variance"] = res.variance[0, 0]
        for kind, values in maps.items():
            path = out / names.statmap_name(summary.name, kind)
            written.append(io.save_image(model.to_volume(values), path, model.affine_))
        if summary.table is not None:
            written.append(
                io.atomic_write_text(
                    out / names.clusters_table_name(summary.name),
                    summary.table.to_csv(sep="\t", index=False),
                )
            )
            written.append(
                io.atomic_write_text(
                    out / names.clusters_params_name(summary.name), _json(summary.table_params)
                )
            )
    for name, obj in (extra_json or {}).items():
        written.append(io.atomic_write_text(out / name, _json(obj)))
    design = model.design_matrices_[0]
    written.append(
        io.atomic_write_text(out / names.DESIGN_TSV, design.to_csv(sep="\t", index=False))
    )
    written.append(
        io.atomic_write_text(
            out / names.DESIGN_JSON,
            _json(
                {
                    "columns": [str(c) for c in design.columns],
                    "frame_times": [float(t) for t in design.index],
                }
            ),
        )
    )
    written.append(
        io.save_image(model.mask_.astype(np.uint8), out / names.MASK_IMAGE, model.affine_)
    )
    written.append(
        io.atomic_write_text(
            out / names.STATMAP_JSON,
            _json(dict(parameters, convention_choices=model.convention_.as_dict())),
        )
    )
    written.append(
        io.atomic_write_text(
            out / names.DATASET_DESCRIPTION,
            _json(
                {
                    "Name": dataset_name,
                    "BIDSVersion": "1.9.0",
                    "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "refglm", "Version": __version__}],
                }
            ),
        )
    )
    return written
