"""Datasets: located, downloaded and verified against a checksum manifest.

- :mod:`.spm_auditory`: the SPM auditory (MoAEpilot) data as the nistats fetcher
  leaves them (``fetch_spm_auditory``); its layout (:mod:`.layout`), its checks
  against ``data/spm_auditory.json`` (:mod:`.verify`) and the archive it is
  unpacked from (:mod:`.archive`).
"""

from refglm.datasets.layout import (
    DATASET_NAME,
    ENV_CACHE_DIR,
    ENV_DATA_DIR,
    SPM_AUDITORY_URL,
    has_data,
    spm_auditory_events_text,
)
from refglm.datasets.spm_auditory import Bunch, cache_root, fetch_hint, fetch_spm_auditory
from refglm.datasets.verify import (
    AFFINE_ATOL,
    load_spm_auditory_manifest,
    verify_spm_auditory,
    volume_content_hash,
)

__all__ = [
    "fetch_spm_auditory",
    "Bunch",
    "cache_root",
    "fetch_hint",
    "has_data",
    "verify_spm_auditory",
    "volume_content_hash",
    "load_spm_auditory_manifest",
    "spm_auditory_events_text",
    "SPM_AUDITORY_URL",
    "DATASET_NAME",
    "ENV_DATA_DIR",
    "ENV_CACHE_DIR",
    "AFFINE_ATOL",
]
