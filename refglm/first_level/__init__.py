"""The nistats-shaped image API: images in, images out.

- :class:`FirstLevelModel` (:mod:`.model`): fit one run or several, compute contrasts
  (fixed effects of the runs);
- :func:`concat_imgs`, :func:`mean_img` (:mod:`.images`): the tutorials' image steps;
- :func:`map_threshold`, :func:`get_clusters_table` (:mod:`.thresholding`): the image
  versions of ``refglm.inference``'s, with a convention's choices;
- the design of a run (:mod:`.run`), the summaries the writers take
  (:mod:`.summary`) and the BIDS-derivative writer (:mod:`.derivatives`);
- one voxel of the model, traced number by number (:mod:`.trace`, :mod:`.trace_record`).
"""

from __future__ import annotations

__all__ = [
    "FirstLevelModel",
    "OUTPUT_TYPES",
    "map_threshold",
    "get_clusters_table",
    "frame_times",
    "first_level_design",
    "run_design",
    "ContrastSummary",
    "ThresholdedMap",
    "model_parameters",
    "table_params",
    "write_glm_outputs",
    "trace_voxel",
    "trace_spm_voxel",
    "TraceStep",
    "VoxelTrace",
    "format_value",
    "concat_imgs",
    "mean_img",
    "check_sample_masks",
    "confound_regressors",
]

_MODEL_NAMES = frozenset({"FirstLevelModel", "OUTPUT_TYPES", "check_sample_masks"})
_IMAGES_NAMES = frozenset({"concat_imgs", "mean_img"})
_THRESHOLDING_NAMES = frozenset({"map_threshold", "get_clusters_table"})
_RUN_NAMES = frozenset({"frame_times", "first_level_design", "run_design", "confound_regressors"})
_SUMMARY_NAMES = frozenset(
    {"ContrastSummary", "ThresholdedMap", "model_parameters", "table_params"}
)
_DERIVATIVES_NAMES = frozenset({"write_glm_outputs"})
_TRACE_NAMES = frozenset({"trace_voxel", "trace_spm_voxel"})
_TRACE_RECORD_NAMES = frozenset({"TraceStep", "VoxelTrace", "format_value"})


def __getattr__(name):
    # PEP 562: a name is imported from its module on first use, so that importing
    # one module of this package does not load the others' dependencies
    if name in _MODEL_NAMES:
        import refglm.first_level.model as module
    elif name in _IMAGES_NAMES:
        import refglm.first_level.images as module
    elif name in _THRESHOLDING_NAMES:
        import refglm.first_level.thresholding as module
    elif name in _RUN_NAMES:
        import refglm.first_level.run as module
    elif name in _SUMMARY_NAMES:
        import refglm.first_level.summary as module
    elif name in _DERIVATIVES_NAMES:
        import refglm.first_level.derivatives as module
    elif name in _TRACE_NAMES:
        import refglm.first_level.trace as module
    elif name in _TRACE_RECORD_NAMES:
        import refglm.first_level.trace_record as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
