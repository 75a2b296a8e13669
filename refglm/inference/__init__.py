"""Inference on a 3-D statistical map: thresholds and cluster tables (arrays in, arrays out).

- voxel-level thresholds: fpr, Bonferroni, FDR (:mod:`.voxel`);
- a thresholded map, with its cluster-size filter (:mod:`.threshold_map`);
- clusters (:mod:`.labels`), their peaks (:mod:`.peaks`) and the cluster table
  (:mod:`.cluster_table`, with nilearn's rules in :mod:`._nilearn_table`).

The image versions (nibabel images in, images out) are ``refglm.first_level``'s.
"""

from __future__ import annotations

__all__ = [
    "map_threshold",
    "HEIGHT_CONTROLS",
    "background_mask",
    "fpr_threshold",
    "bonferroni_threshold",
    "fdr_threshold",
    "FDR_FORMULAS",
    "CONNECTIVITIES",
    "connectivity_structure",
    "cluster_labels",
    "voxel_volume",
    "PEAK_RULES",
    "local_maxima",
    "get_clusters_table",
    "CLUSTER_TABLE_COLUMNS",
    "CLUSTER_TABLE_RULES",
]

_THRESHOLD_MAP_NAMES = frozenset({"map_threshold", "HEIGHT_CONTROLS", "background_mask"})
_VOXEL_NAMES = frozenset({"fpr_threshold", "bonferroni_threshold", "fdr_threshold", "FDR_FORMULAS"})
_LABELS_NAMES = frozenset(
    {"CONNECTIVITIES", "connectivity_structure", "cluster_labels", "voxel_volume"}
)
_PEAKS_NAMES = frozenset({"PEAK_RULES", "local_maxima"})
_CLUSTER_TABLE_NAMES = frozenset(
    {"get_clusters_table", "CLUSTER_TABLE_COLUMNS", "CLUSTER_TABLE_RULES"}
)


def __getattr__(name):
    # PEP 562: a name is imported from its module on first use, so that importing
    # one module of this package does not load the others' dependencies
    if name in _THRESHOLD_MAP_NAMES:
        import refglm.inference.threshold_map as module
    elif name in _VOXEL_NAMES:
        import refglm.inference.voxel as module
    elif name in _LABELS_NAMES:
        import refglm.inference.labels as module
    elif name in _PEAKS_NAMES:
        import refglm.inference.peaks as module
    elif name in _CLUSTER_TABLE_NAMES:
        import refglm.inference.cluster_table as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
