"""The names of refglm's output files: the BIDS-derivative naming contract, in one place.

The maps and tables of a fitted model are named as nilearn 0.14.1
``glm.io.save_glm_to_bids`` (and fitlins) names them::

    contrast-<name>_stat-<kind>_statmap.nii.gz     kind: effect, variance, t, F, z, p
    contrast-<name>_clusters.tsv                   the cluster table
    contrast-<name>_clusters.json                  its threshold parameters

with ``<name>`` the contrast's camelCase name (:func:`camel_case_contrast_name`),
beside ``design.tsv``, ``design.json``, ``mask.nii.gz``, ``statmap.json`` and
``dataset_description.json``; the figures go under ``figures/``. The writers
(``refglm.first_level.derivatives``, ``refglm.report``) take every name from here,
and ``refglm compare`` reads maps back with :data:`MAP_NAME`.
"""

from __future__ import annotations

import re

from refglm.exceptions import InputError

__all__ = [
    "camel_case_contrast_name",
    "statmap_name",
    "map_stem",
    "clusters_table_name",
    "clusters_params_name",
    "contrast_figure_name",
    "thresholded_figure_name",
    "voxel_trace_stem",
    "describe_output",
    "MAP_NAME",
    "MAX_CONTRAST_NAME_BYTES",
    "OUTPUT_DESCRIPTIONS",
    "FIGURES_DIR",
    "DESIGN_TSV",
    "DESIGN_JSON",
    "MASK_IMAGE",
    "STATMAP_JSON",
    "DATASET_DESCRIPTION",
    "THRESHOLDS_JSON",
    "REPORT_HTML",
    "DESIGN_FIGURE",
    "RESPONSE_FIGURE",
    "MASK_FIGURE",
]

FIGURES_DIR = "figures"
DESIGN_TSV = "design.tsv"
DESIGN_JSON = "design.json"
MASK_IMAGE = "mask.nii.gz"
STATMAP_JSON = "statmap.json"
DATASET_DESCRIPTION = "dataset_description.json"
THRESHOLDS_JSON = "thresholds.json"
REPORT_HTML = "report.html"
DESIGN_FIGURE = f"{FIGURES_DIR}/design_matrix.png"
RESPONSE_FIGURE = f"{FIGURES_DIR}/expected_response.png"
MASK_FIGURE = f"{FIGURES_DIR}/mask.png"

#: BIDS-derivative map names: ``[entities_]contrast-<name>_stat-<kind>_statmap.nii[.gz]``.
MAP_NAME = re.compile(
    r"(?:^|_)contrast-(?P<contrast>[A-Za-z0-9]+)_stat-(?P<kind>[A-Za-z0-9]+)_statmap\.nii(?:\.gz)?$"
)

# The longest file name refglm writes is contrast-<name>_stat-variance_statmap.nii.gz
# (36 characters around the name); 255 bytes is the usual file-name limit.
MAX_CONTRAST_NAME_BYTES = 200

#: What each output file holds, by the end of its name (the report's files table).
OUTPUT_DESCRIPTIONS = {
    "_stat-z_statmap.nii.gz": "z map of the contrast",
    "_stat-t_statmap.nii.gz": "t statistic",
    "_stat-F_statmap.nii.gz": "F statistic",
    "_stat-p_statmap.nii.gz": "one-sided p-value",
    "_stat-effect_statmap.nii.gz": "contrast effect (percent signal change)",
    "_stat-variance_statmap.nii.gz": "variance of the contrast effect",
    "_clusters.tsv": "cluster table (peaks and subpeaks, mm)",
    "_clusters.json": "parameters of the cluster table",
    THRESHOLDS_JSON: "the tutorial's five thresholds",
    DESIGN_TSV: "design matrix (one row per scan)",
    DESIGN_JSON: "design columns and frame times",
    MASK_IMAGE: "brain mask (EPI mask of the mean image)",
    STATMAP_JSON: "model parameters and convention choices",
    DATASET_DESCRIPTION: "BIDS derivative description (GeneratedBy)",
}


def camel_case_contrast_name(name: str) -> str:
    """BIDS-safe camelCase name of a contrast, as nilearn names its output files.

    ``'active - rest'`` -> ``'activeMinusRest'``: ``-`` ``+`` ``>`` ``<`` become
    the words Minus, Plus, Gt, Lt; ``_`` becomes a space; the words (split on
    single spaces) are joined with the first lower-cased and the others
    ``str.title``-cased; non-alphanumeric characters are dropped.
    # nilearn 0.14.1 glm/_base.py _clean_contrast_name (without its warning);
    # tests/io/test_derivative_names.py compares the two on a list of names.

    A column name quoted in backticks (```button press` - rest``, ```active-rest```)
    is a name, not arithmetic: its ``-`` ``+`` ``>`` ``<`` and other punctuation
    separate words (``'activeRest'``), so that no output reads as a difference
    that was not computed (``'activeMinusRest'`` is the name of ``active - rest``
    only). Names without backticks are cleaned as nilearn cleans them.

    Raises InputError when nothing alphanumeric is left (nilearn would
    return an empty name, which cannot name a file).
    """
    pieces = str(name).split("`")
    for k, piece in enumerate(pieces):
        if k % 2:  # inside backticks: a column's name
            pieces[k] = " " + "".join(ch if ch.isalnum() else " " for ch in piece) + " "
        else:
            for char, word in (("-", " Minus "), ("+", " Plus "), (">", " Gt "), ("<", " Lt ")):
                piece = piece.replace(char, word)
            pieces[k] = piece
    new_name = "".join(pieces).strip(" ") if len(pieces) > 1 else pieces[0]
    new_name = new_name.replace("_", " ")
    words = new_name.split(" ")
    words[0] = words[0].lower()
    words[1:] = [w.title() for w in words[1:]]
    new_name = "".join(ch for ch in " ".join(words) if ch.isalnum())
    if not new_name:
        raise InputError(f"contrast name {name!r}: expected letters or digits to name it by.")
    return new_name


def map_stem(contrast: str, kind: str) -> str:
    """``contrast-<contrast>_stat-<kind>``: a map's name without its suffix."""
    return f"contrast-{contrast}_stat-{kind}"


def statmap_name(contrast: str, kind: str) -> str:
    """``contrast-<contrast>_stat-<kind>_statmap.nii.gz`` (nilearn ``save_glm_to_bids``)."""
    return f"{map_stem(contrast, kind)}_statmap.nii.gz"


def clusters_table_name(contrast: str) -> str:
    """``contrast-<contrast>_clusters.tsv``: the contrast's cluster table."""
    return f"contrast-{contrast}_clusters.tsv"


def clusters_params_name(contrast: str) -> str:
    """``contrast-<contrast>_clusters.json``: the parameters of its cluster table."""
    return f"contrast-{contrast}_clusters.json"


def contrast_figure_name(contrast: str) -> str:
    """``figures/contrast-<contrast>_design.png``: the contrast's weights."""
    return f"{FIGURES_DIR}/contrast-{contrast}_design.png"


def thresholded_figure_name(contrast: str, key: str) -> str:
    """``figures/contrast-<contrast>_thresh-<key>.png``: one thresholded map of it."""
    return f"{FIGURES_DIR}/contrast-{contrast}_thresh-{key}.png"


def voxel_trace_stem(ijk) -> str:
    """``voxel-<i>-<j>-<k>``: the stem of ``refglm explain-voxel``'s two files."""
    i, j, k = ijk
    return f"voxel-{i}-{j}-{k}"


def describe_output(name: str) -> str:
    """What the output file ``name`` holds (:data:`OUTPUT_DESCRIPTIONS`), or ``''``."""
    for suffix, text in OUTPUT_DESCRIPTIONS.items():
        if name.endswith(suffix):
            return text
    return ""
