"""BIDS raw input: run selection, sidecar inheritance, events, RepetitionTime.

The datasets are built in tmp_path from a 12 x 12 x 10 crop (around the
tutorial's left auditory peak) of the 96 real SPM auditory volumes, so that
``refglm fit --bids-dir`` runs end to end in well under a second.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from refglm.exceptions import InputError
from refglm.io.bids_raw import applicable_files, find_bids_run, parse_entities
from tests.conftest import spm_auditory_dir

# voxel crop of the 64^3 grid: i 45-56, j 23-34, k 31-40 (contains (-60, -6, 42) mm)
CROP = (slice(45, 57), slice(23, 35), slice(31, 41))


def small_run_arrays():
    """The cropped run (float32, 4-D), its affine and the real events file."""
    from refglm import io
    from refglm.datasets import fetch_spm_auditory

    data = fetch_spm_auditory(spm_auditory_dir(), verify=False)
    vols = []
    affine = None
    for path in data.func:
        vol, affine = io.read_volume(path)
        vols.append(vol[CROP])
    run = np.stack(vols, axis=-1).astype(np.float32)
    new = affine.copy()
    new[:3, 3] = affine[:3, :3] @ [s.start for s in CROP] + affine[:3, 3]
    return run, new, Path(data.events)


_CACHE = {}


def write_small_run(path, events_path=None):
    """Write the cropped run as one 4-D NIfTI at ``path`` (and the events beside it)."""
    from refglm import io

    if "run" not in _CACHE:
        _CACHE["run"] = small_run_arrays()
    run, affine, events = _CACHE["run"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    io.save_image(run, path, affine)
    if events_path is not None:
        shutil.copyfile(events, events_path)
    return path


def write_small_volumes(folder, n=None):
    """Write the cropped run as 3-D volumes; return their paths in order."""
    from refglm import io

    if "run" not in _CACHE:
        _CACHE["run"] = small_run_arrays()
    run, affine, _ = _CACHE["run"]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for t in range(run.shape[3] if n is None else n):
        p = folder / f"vol_{t:03d}.nii.gz"
        io.save_image(run[..., t], p, affine)
        paths.append(p)
    return paths


def events_file():
    if "run" not in _CACHE:
        _CACHE["run"] = small_run_arrays()
    return _CACHE["run"][2]


def make_bids(root, subjects=("01",), runs=(None,), sessions=(None,), t_r=7.0):
    """A BIDS raw folder: dataset_description, top-level task sidecar, one BOLD per run."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "tiny auditory", "BIDSVersion": "1.9.0"})
    )
    top = {"TaskName": "auditory", "SliceTiming": [0.0]}
    if t_r is not None:
        top["RepetitionTime"] = t_r
    (root / "task-auditory_bold.json").write_text(json.dumps(top))
    for sub in subjects:
        for ses in sessions:
            for run in runs:
                folder = root / f"sub-{sub}"
                if ses is not None:
                    folder = folder / f"ses-{ses}"
                folder = folder / "func"
                parts = [f"sub-{sub}"]
                if ses is not None:
                    parts.append(f"ses-{ses}")
                parts.append("task-auditory")
                if run is not None:
                    parts.append(f"run-{run}")
                stem = "_".join(parts)
                write_small_run(folder / f"{stem}_bold.nii.gz", folder / f"{stem}_events.tsv")
    return root


def test_parse_entities():
    assert parse_entities("sub-01_ses-2_task-auditory_run-1_bold.nii.gz") == (
        {"sub": "01", "ses": "2", "task": "auditory", "run": "1"},
        "bold",
        ".nii.gz",
    )
    assert parse_entities("task-auditory_bold.json") == ({"task": "auditory"}, "bold", ".json")
    with pytest.raises(InputError, match="not a BIDS file name"):
        parse_entities("sub01_task-a_bold.nii")


def test_single_run_with_inherited_repetition_time(tmp_path):
    root = make_bids(tmp_path / "ds")
    run = find_bids_run(root, "auditory")
    assert run.func.name == "sub-01_task-auditory_bold.nii.gz"
    assert run.events.name == "sub-01_task-auditory_events.tsv"
    assert run.t_r == 7.0
    assert run.entities == {"sub": "01", "task": "auditory"}
    assert [p.name for p in run.sidecars] == ["task-auditory_bold.json"]
    assert run.metadata["TaskName"] == "auditory"


def test_deeper_sidecars_override_higher_ones(tmp_path):
    root = make_bids(tmp_path / "ds", t_r=3.0)
    func = root / "sub-01" / "func"
    (root / "sub-01" / "sub-01_task-auditory_bold.json").write_text(
        json.dumps({"RepetitionTime": 5.0, "Manufacturer": "Siemens"})
    )
    (func / "sub-01_task-auditory_bold.json").write_text(json.dumps({"RepetitionTime": 7}))
    # a sidecar of another task does not apply
    (func / "sub-01_task-other_bold.json").write_text(json.dumps({"RepetitionTime": 99}))
    run = find_bids_run(root, "task-auditory", subject="sub-01")
    assert run.t_r == 7.0
    assert run.metadata["Manufacturer"] == "Siemens"
    assert run.metadata["SliceTiming"] == [0.0]
    assert [p.parent.name for p in run.sidecars] == ["ds", "sub-01", "func"]


def test_two_applicable_sidecars_in_one_folder_are_refused(tmp_path):
    root = make_bids(tmp_path / "ds")
    func = root / "sub-01" / "func"
    (func / "sub-01_bold.json").write_text(json.dumps({"RepetitionTime": 7}))
    (func / "task-auditory_bold.json").write_text(json.dumps({"RepetitionTime": 7}))
    with pytest.raises(InputError, match="BIDS allows one per folder"):
        applicable_files(func / "sub-01_task-auditory_bold.nii.gz", root, "bold", ".json")


def test_missing_repetition_time(tmp_path):
    root = make_bids(tmp_path / "ds", t_r=None)
    with pytest.raises(InputError, match="expected a RepetitionTime"):
        find_bids_run(root, "auditory")
    assert find_bids_run(root, "auditory", require_t_r=False).t_r is None


def test_bad_repetition_time(tmp_path):
    root = make_bids(tmp_path / "ds", t_r=0)
    with pytest.raises(InputError, match="must be > 0"):
        find_bids_run(root, "auditory")


def test_several_subjects_need_subject(tmp_path):
    root = make_bids(tmp_path / "ds", subjects=("01", "02"))
    with pytest.raises(InputError, match=r"--subject \(01, 02\)"):
        find_bids_run(root, "auditory")
    assert find_bids_run(root, "auditory", subject="02").entities["sub"] == "02"


def test_runs_and_sessions(tmp_path):
    root = make_bids(tmp_path / "ds", runs=("01", "02"), sessions=("a", "b"))
    with pytest.raises(InputError, match="--session .*--run"):
        find_bids_run(root, "auditory")
    run = find_bids_run(root, "auditory", session="ses-b", run=2)
    assert run.func.name == "sub-01_ses-b_task-auditory_run-02_bold.nii.gz"
    assert run.events.name == "sub-01_ses-b_task-auditory_run-02_events.tsv"


def test_inherited_events(tmp_path):
    root = make_bids(tmp_path / "ds")
    func = root / "sub-01" / "func"
    shutil.move(func / "sub-01_task-auditory_events.tsv", root / "task-auditory_events.tsv")
    assert find_bids_run(root, "auditory").events == root / "task-auditory_events.tsv"


def test_missing_events_and_runs(tmp_path):
    root = make_bids(tmp_path / "ds")
    with pytest.raises(InputError, match="no \\*_bold"):
        find_bids_run(root, "rest")
    (root / "sub-01" / "func" / "sub-01_task-auditory_events.tsv").unlink()
    with pytest.raises(InputError, match="no events table"):
        find_bids_run(root, "auditory")
    with pytest.raises(InputError, match="folder not found"):
        find_bids_run(tmp_path / "nope", "auditory")


def test_fit_from_bids_equals_fit_from_files(tmp_path):
    from refglm.cli import main

    root = make_bids(tmp_path / "ds")
    func = root / "sub-01" / "func"
    common = ["--hrf-model", "spm", "--contrast", "active - rest", "--no-report"]
    assert (
        main(
            ["fit", "--bids-dir", str(root), "--task", "auditory", "--out", str(tmp_path / "a")]
            + common
        )
        == 0
    )
    assert (
        main(
            [
                "fit",
                "--func",
                str(func / "sub-01_task-auditory_bold.nii.gz"),
                "--events",
                str(func / "sub-01_task-auditory_events.tsv"),
                "--t-r",
                "7",
                "--out",
                str(tmp_path / "b"),
            ]
            + common
        )
        == 0
    )
    a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert a == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert "contrast-activeMinusRest_stat-z_statmap.nii.gz" in a
    for name in a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    params = json.loads((tmp_path / "a" / "statmap.json").read_text())
    assert params["t_r"] == 7.0
