"""Shared fixtures: the hypothesis profile and the real SPM auditory data.

The golden tests must run in CI, never skip: when the data cannot be found
the fixture fails with a message saying how to provide them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data" / "spm_auditory"

# CI passes REFGLM_DATA_DIR=../shared/data/spm_auditory, relative to the
# checkout. Tests that start the CLI in another working directory, or symlink
# to the data from tmp_path, would read that relative path against the wrong
# folder; pin it here, before any test module reads it, so that every test and
# every subprocess sees the folder the caller meant.
if os.environ.get("REFGLM_DATA_DIR"):
    os.environ["REFGLM_DATA_DIR"] = os.path.abspath(
        Path(os.environ["REFGLM_DATA_DIR"]).expanduser()
    )
# Read once, here: tests that unset or change REFGLM_DATA_DIR (monkeypatch) must
# still find the real data through spm_auditory_dir().
CALLER_DATA_DIR = os.environ.get("REFGLM_DATA_DIR")

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", deadline=None, max_examples=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def spm_auditory_dir() -> Path:
    """The SPM auditory data folder, or a failure that says how to provide it."""
    data_dir = Path(CALLER_DATA_DIR) if CALLER_DATA_DIR else DEFAULT_DATA_DIR
    if not (data_dir / "sub001" / "fM00223" / "fM00223_004.img").exists():
        pytest.fail(
            f"SPM auditory data not found in {data_dir}: the golden tests need it. "
            "Set REFGLM_DATA_DIR to a folder holding sub001/fM00223/fM00223_0NN.{hdr,img} "
            "and fM00223_events.tsv (e.g. REFGLM_DATA_DIR=../shared/data/spm_auditory), "
            "or run `refglm fetch spm-auditory`.",
            pytrace=False,
        )
    return data_dir


@pytest.fixture(scope="session")
def spm_auditory():
    """``fetch_spm_auditory`` on the real data (verified against the manifest)."""
    from refglm.datasets import fetch_spm_auditory

    return fetch_spm_auditory(spm_auditory_dir())


@pytest.fixture(scope="session")
def tutorial_results():
    """The whole seed tutorial, run once per session with the statsmodels engine."""
    from refglm.workflows import run_tutorial

    return run_tutorial(data_dir=spm_auditory_dir(), n_jobs=2)


@pytest.fixture(scope="session")
def tutorial_model(tutorial_results):
    """The tutorial's fitted FirstLevelModel (statsmodels engine, nistats convention)."""
    return tutorial_results.model


@pytest.fixture
def rng():
    return np.random.default_rng(20261124)
