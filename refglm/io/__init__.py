"""Files in, arrays out, and back: the only subpackage that imports nibabel.

- images: read a volume or a run, write an image (:mod:`.images`); the dtype a run
  is held in (:mod:`.dtypes`);
- events files (:mod:`.events_tsv`) and BIDS raw datasets (:mod:`.bids_raw`);
- input files looked at before they are read, text read with a stated bound
  (:mod:`.files`);
- outputs written whole: atomic files (:mod:`.atomic`) in staged folders
  (:mod:`.staging`), named by the BIDS-derivative contract (:mod:`.derivative_names`).

Everything numerical downstream takes plain arrays and affines.
"""

from __future__ import annotations

__all__ = [
    "read_volume",
    "load_run",
    "LoadedRun",
    "MEAN_DTYPES",
    "run_shape",
    "stored_dtype",
    "to_image",
    "image_data",
    "save_image",
    "write_nifti_pair",
    "run_dtype",
    "INPUT_DTYPES",
    "CONCAT_DTYPE",
    "read_events",
    "EVENTS_NA_VALUES",
    "BidsRun",
    "find_bids_run",
    "parse_entities",
    "applicable_files",
    "atomic_write_bytes",
    "atomic_write_text",
    "copy_into_place",
    "move_file",
    "staged_output_dir",
    "out_state",
    "check_input_file",
    "read_bytes_bounded",
    "load_json_bounded",
    "MAX_JSON_BYTES",
    "MAX_TSV_BYTES",
    "MAX_JSON_DEPTH",
    "repeated_files",
    "why_not_found",
]

_IMAGES_NAMES = frozenset(
    {
        "read_volume",
        "load_run",
        "LoadedRun",
        "MEAN_DTYPES",
        "run_shape",
        "stored_dtype",
        "to_image",
        "image_data",
        "save_image",
        "write_nifti_pair",
    }
)
_DTYPES_NAMES = frozenset({"run_dtype", "INPUT_DTYPES", "CONCAT_DTYPE"})
_EVENTS_TSV_NAMES = frozenset({"read_events", "EVENTS_NA_VALUES"})
_BIDS_RAW_NAMES = frozenset({"BidsRun", "find_bids_run", "parse_entities", "applicable_files"})
_ATOMIC_NAMES = frozenset(
    {"atomic_write_bytes", "atomic_write_text", "copy_into_place", "move_file"}
)
_STAGING_NAMES = frozenset({"staged_output_dir", "out_state"})
_FILES_NAMES = frozenset(
    {
        "check_input_file",
        "read_bytes_bounded",
        "load_json_bounded",
        "MAX_JSON_BYTES",
        "MAX_TSV_BYTES",
        "MAX_JSON_DEPTH",
        "repeated_files",
        "why_not_found",
    }
)


def __getattr__(name):
    # PEP 562: a name is imported from its module on first use, so that importing
    # one module of this package does not load the others' dependencies
    if name in _IMAGES_NAMES:
        import refglm.io.images as module
    elif name in _DTYPES_NAMES:
        import refglm.io.dtypes as module
    elif name in _EVENTS_TSV_NAMES:
        import refglm.io.events_tsv as module
    elif name in _BIDS_RAW_NAMES:
        import refglm.io.bids_raw as module
    elif name in _ATOMIC_NAMES:
        import refglm.io.atomic as module
    elif name in _STAGING_NAMES:
        import refglm.io.staging as module
    elif name in _FILES_NAMES:
        import refglm.io.files as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
