"""statmap.json: `refglm tutorial` and `refglm fit` on the same run write the same one."""

from __future__ import annotations

import json

import pytest

from tests.conftest import spm_auditory_dir

pytestmark = pytest.mark.slow


def test_tutorial_and_fit_write_the_same_statmap_json(tmp_path):
    from refglm.cli import main
    from refglm.datasets import fetch_spm_auditory
    from refglm.workflows import run_tutorial, write_tutorial

    data = fetch_spm_auditory(spm_auditory_dir(), verify=False)
    write_tutorial(run_tutorial(spm_auditory_dir(), engine="vectorized"), tmp_path / "t")
    fit = ["fit", "--func", *map(str, data.func), "--events", str(data.events), "--t-r", "7"]
    fit += ["--hrf-model", "spm", "--engine", "vectorized", "--no-report"]
    fit += ["--contrast", "active - rest", "--contrast", "effectsOfInterest=active; rest"]
    assert main([*fit, "--out", str(tmp_path / "f")]) == 0

    tutorial = (tmp_path / "t" / "statmap.json").read_bytes()
    assert tutorial == (tmp_path / "f" / "statmap.json").read_bytes()
    params = json.loads(tutorial)
    assert params["contrasts"] == {
        "activeMinusRest": "active - rest",
        "effectsOfInterest": ["active", "rest"],
    }
    assert (params["drift_order"], params["map_cluster_threshold"]) == (1, 10)
