"""statmap.json: `refglm tutorial` and `refglm fit` on the same run write the same one."""

from __future__ import annotations

import json

import pytest

from tests.conftest import spm_auditory_dir


@pytest.mark.slow
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


def test_statmap_json_records_versions_and_input_hashes(tmp_path):
    import hashlib

    from refglm.cli import main
    from tests.cli.test_bad_inputs import write_run

    bold, events = write_run(tmp_path / "run")
    args = ["fit", "--func", str(bold), "--events", str(events), "--t-r", "2"]
    args += ["--contrast", "active - rest", "--no-report", "--out", str(tmp_path / "out")]
    assert main(args) == 0
    params = json.loads((tmp_path / "out" / "statmap.json").read_text())
    assert set(params["versions"]) == {"refglm", "numpy", "scipy", "statsmodels", "nibabel"}
    assert params["input_data"]["layout"] == "4-D image"
    func, tsv = params["input_files"]
    assert (func["role"], func["file"]) == ("func", bold.name)
    assert func["sha256"] == hashlib.sha256(bold.read_bytes()).hexdigest()
    assert (tsv["role"], tsv["file"]) == ("events", events.name)


def test_an_empty_cluster_table_warning_names_its_contrast(tmp_path):
    from refglm.workflows import run_fit
    from tests.cli.test_bad_inputs import write_run

    bold, events = write_run(tmp_path / "run")
    with pytest.warns(UserWarning, match=r"^contrast activeMinusRest: No clusters"):
        run_fit(
            bold,
            events,
            2.0,
            {"activeMinusRest": "active - rest"},
            height_control=None,
            threshold=50.0,
        )
