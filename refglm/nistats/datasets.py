"""nistats 0.0.1b1's ``fetch_spm_auditory``, on refglm's verified copy of the data."""

from __future__ import annotations

from refglm.datasets import fetch_spm_auditory as _fetch

__all__ = ["fetch_spm_auditory"]


def fetch_spm_auditory(data_dir=None, data_name="spm_auditory", subject_id="sub001", verbose=1):
    """The SPM auditory data as nistats 0.0.1b1's fetcher gives them.

    ``refglm.datasets.fetch_spm_auditory(data_dir)`` (``$REFGLM_DATA_DIR``, else the
    cache; every file checked against refglm's manifest): a Bunch whose ``func`` is the
    96 volume paths (``fM00223_004.img .. 099``), ``events`` the events TSV (also as
    ``subject_data['events']``), and ``anat`` None (refglm's copy has no anatomical
    image; nistats' has ``sM00223_002.img``).
    # nistats 0.0.1b1 datasets.py fetch_spm_auditory(data_dir=None,
    # data_name='spm_auditory', subject_id='sub001', verbose=1)
    """
    del data_name, subject_id, verbose  # one subject, one layout
    data = _fetch(data_dir)
    data["anat"] = None
    return data
