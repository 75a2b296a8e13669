"""Every bad input gets a clear error: the library raises, the CLI exits with 2.

Each bad input is tested twice where it can reach both layers: in the library
(the exception type, and the message's key words: the file or field, what was
expected, what was found) and through ``refglm fit`` (exit code 2, one line on
stderr, no traceback, nothing written to ``--out`` nor beside it).

The runs are synthetic (a 10 x 10 x 10 "brain" of 40 scans, t_r 2 s, written
to ``tmp_path``), so that the whole module runs in a few seconds; the data
integrity checks use the real SPM auditory data, as ``tests/datasets/test_spm_auditory.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io as _io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from refglm import cli, io
from refglm import inference as thresholds
from refglm.exceptions import DataIntegrityError, InputError, NotEstimableError
from refglm.first_level.model import FirstLevelModel
from refglm.glm.contrasts import as_contrast_matrix
from refglm.glm.design.events import check_events, check_onsets_in_run
from refglm.glm.design.matrix import make_first_level_design_matrix
from tests.conftest import spm_auditory_dir

SHAPE = (10, 10, 10)
N_SCANS = 40
T_R = 2.0
COLUMNS = ["active", "rest", "drift_1", "constant"]  # the synthetic run's design


# --------------------------------------------------------------------------- helpers


def synthetic_run(n_scans: int = N_SCANS, seed: int = 0):
    """A small run with a spherical "brain" that responds to the active blocks.

    Returns
    -------
    data : ndarray, float32, shape (10, 10, 10, n_scans)
    affine : ndarray, shape (4, 4)
        3 mm voxels.
    events : pandas.DataFrame
        Blocks of 10 s alternating rest, active, ... from 0 s.
    """
    rng = np.random.default_rng(seed)
    grid = np.indices(SHAPE)
    centre = (np.array(SHAPE) - 1) / 2
    brain = np.sqrt(((grid - centre[:, None, None, None]) ** 2).sum(axis=0)) < 3.6
    onsets = np.arange(0, n_scans, 5) * T_R
    events = pd.DataFrame(
        {
            "onset": onsets,
            "duration": 5 * T_R,
            "trial_type": ["rest", "active"] * (len(onsets) // 2) + ["rest"] * (len(onsets) % 2),
        }
    )
    design = make_first_level_design_matrix(np.arange(n_scans) * T_R, events)
    response = design["active"].to_numpy() / design["active"].max()
    data = 5.0 * rng.standard_normal(SHAPE + (n_scans,))
    data += np.where(brain, 1000.0, 20.0)[..., None]
    data[brain] += 20.0 * response
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    affine[:3, 3] = -15.0
    return data.astype(np.float32), affine, events


def write_run(folder: Path, n_scans: int = N_SCANS) -> tuple[Path, Path]:
    """Write the synthetic run as one 4-D NIfTI and its events TSV; return both paths."""
    data, affine, events = synthetic_run(n_scans)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bold = io.save_image(data, folder / "sub-01_task-syn_bold.nii.gz", affine)
    tsv = folder / "sub-01_task-syn_events.tsv"
    events.to_csv(tsv, sep="\t", index=False)
    return bold, tsv


def write_volumes(folder: Path, n_scans: int = 3) -> list[Path]:
    """Write the first ``n_scans`` scans of the synthetic run as 3-D NIfTI files."""
    data, affine, _ = synthetic_run()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [
        io.save_image(data[..., t], folder / f"vol_{t:03d}.nii", affine) for t in range(n_scans)
    ]


def assert_words(message: str, *words: str) -> None:
    """Every word (the field or file, what was expected, what was found) is in ``message``."""
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"


def run_cli(args) -> tuple[int, str, str]:
    """``refglm.cli.main(args)`` in-process; returns (exit code, stdout, stderr)."""
    out, err = _io.StringIO(), _io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_line(err: str) -> str:
    """The single line of ``err``; fails if there are more, or a traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err, err
    return lines[0]


def listing(folder: Path) -> list[str]:
    """Every path under ``folder`` (hidden ones included), relative, sorted."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    """The synthetic run written once for the module: (bold, events)."""
    return write_run(tmp_path_factory.mktemp("synthetic"))


def fit_args(run_files, out, **overrides) -> list[str]:
    """``refglm fit`` arguments for the synthetic run; ``overrides`` replace options."""
    bold, tsv = run_files
    options = {
        "--func": [str(bold)],
        "--events": str(tsv),
        "--t-r": str(T_R),
        "--contrast": "active - rest",
        "--out": str(out),
    }
    extra = overrides.pop("extra", [])
    options.update(overrides)
    args = ["fit"]
    for flag, value in options.items():
        if value is None:
            continue
        args += [flag, *value] if isinstance(value, list) else [flag, value]
    return args + ["--no-report", *extra]


def expect_cli_error(args, out: Path, *words: str) -> str:
    """Run the CLI, expect exit 2 with one line naming ``words``, and nothing written."""
    parent = Path(out).parent
    before = listing(parent) if parent.is_dir() else None
    code, stdout, err = run_cli(args)
    assert code == cli.EXIT_INPUT, (code, err)
    line = one_line(err)
    assert line.startswith("refglm: error: "), line
    assert_words(line, *words)
    assert not Path(out).exists()
    if before is not None:
        assert listing(parent) == before  # no staging folder, no partial file
    assert stdout == ""
    return line


# ------------------------------------------------------------------------ image inputs


@pytest.fixture()
def volumes(tmp_path):
    """Three good 3-D volumes of the synthetic run."""
    return write_volumes(tmp_path / "vols", 3)


def test_missing_volume(volumes, tmp_path):
    missing = tmp_path / "vols" / "vol_099.nii"
    with pytest.raises(InputError) as excinfo:
        io.load_run([*volumes, missing])
    assert_words(str(excinfo.value), str(missing), "expected an image", "file not found")


def test_truncated_volume(volumes):
    payload = volumes[1].read_bytes()
    volumes[1].write_bytes(payload[: len(payload) // 2])
    with pytest.raises(InputError) as excinfo:
        io.load_run(volumes)
    assert_words(
        str(excinfo.value),
        str(volumes[1]),
        "expected 4000 bytes of voxel data",
        "declared shape (10, 10, 10) of float32",
        "truncated",
    )


@pytest.mark.parametrize("content", [b"", b"hello, not an image\n", b"\x00" * 100])
def test_not_an_image(volumes, content):
    volumes[2].write_bytes(content)
    with pytest.raises(InputError) as excinfo:
        io.load_run(volumes)
    assert_words(
        str(excinfo.value), str(volumes[2]), "expected a NIfTI-1/2 or Analyze image", "not a"
    )


def test_volumes_of_mixed_shapes(volumes, tmp_path):
    data, affine, _ = synthetic_run()
    other = io.save_image(data[:9, ..., 0], tmp_path / "small.nii", affine)
    with pytest.raises(InputError) as excinfo:
        io.load_run([*volumes, other])
    assert_words(
        str(excinfo.value),
        str(other),
        "expected a 3-D volume of shape (10, 10, 10)",
        "found shape (9, 10, 10)",
    )


def test_volumes_of_mixed_affines(volumes, tmp_path):
    data, affine, _ = synthetic_run()
    shifted = affine.copy()
    shifted[0, 3] += 1.5
    other = io.save_image(data[..., 0], tmp_path / "shifted.nii", shifted)
    with pytest.raises(InputError) as excinfo:
        io.load_run([*volumes, other])
    assert_words(str(excinfo.value), str(other), "expected the affine of", "differs by up to 1.5")


def test_4d_file_among_3d_files(volumes, tmp_path):
    data, affine, _ = synthetic_run()
    four = io.save_image(data[..., :3], tmp_path / "four.nii", affine)
    with pytest.raises(InputError) as excinfo:
        io.load_run([*volumes, four])
    assert_words(
        str(excinfo.value), str(four), "expected a 3-D volume", "found shape (10, 10, 10, 3)"
    )
    with pytest.raises(InputError) as excinfo:
        io.load_run([four, *volumes])
    assert_words(
        str(excinfo.value), str(four), "expected 3-D volumes", "found shape (10, 10, 10, 3)"
    )


@pytest.mark.parametrize("as_list", [True, False])
def test_single_volume(volumes, as_list):
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(t_r=T_R).fit([volumes[0]] if as_list else volumes[0], synthetic_run()[2])
    assert_words(
        str(excinfo.value),
        str(volumes[0]),
        "expected a 4-D run or several 3-D volumes",
        "found a single volume",
    )


def _short_events():
    """Two conditions inside a run of 3 scans (0, 2, 4 s)."""
    return pd.DataFrame({"onset": [0.0, 2.0], "duration": [2.0, 2.0], "trial_type": ["a", "b"]})


def test_fewer_scans_than_design_columns():
    data, affine, _ = synthetic_run()
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(t_r=T_R).fit_array(data[..., :3], affine, _short_events())
    assert_words(
        str(excinfo.value), "expected more scans than design columns", "found 3 scans for 3 columns"
    )


@pytest.mark.parametrize("value", [0.0, 7.0], ids=["all-zero", "constant"])
def test_empty_mask(value):
    data, affine, events = synthetic_run()
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(t_r=T_R).fit_array(np.full_like(data, value), affine, events)
    assert_words(str(excinfo.value), "mask", "constant", "empty", "mask_img")


# ----------------------------------------------------------------------------- events


def _events_file(tmp_path, text: str, name: str = "events.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


EVENTS_CASES = {
    # id: (file content, key words after the file name)
    "empty-file": ("", ["expected a header", "found an empty file"]),
    "header-only": ("onset\tduration\ttrial_type\n", ["expected one row per event", "no rows"]),
    "no-onset": ("duration\ttrial_type\n10\tactive\n", ["expected an 'onset' column", "found"]),
    "no-duration": ("onset\ttrial_type\n0\tactive\n", ["expected a 'duration' column", "found"]),
    "non-numeric": (
        "onset\tduration\ttrial_type\nten\t10\tactive\n",
        ["events['onset']", "expected numeric values", "'ten'"],
    ),
    "negative-duration": (
        "onset\tduration\ttrial_type\n0\t10\trest\n10\t-10\tactive\n",
        ["events['duration']", "expected durations >= 0 s", "minimum duration -10 s"],
    ),
    "nan-onset-n/a": (
        "onset\tduration\ttrial_type\nn/a\t10\tactive\n",
        ["events['onset']", "expected finite values", "1 NaN"],
    ),
    "nan-onset-text": (
        "onset\tduration\ttrial_type\n0\t10\trest\nnan\t10\tactive\n",
        ["events['onset']", "expected finite values", "1 NaN"],
    ),
    "commas": ("onset,duration,trial_type\n0,10,active\n", ["expected tab-separated", "commas"]),
}


@pytest.mark.parametrize("case", list(EVENTS_CASES))
def test_bad_events_file(case, tmp_path):
    text, words = EVENTS_CASES[case]
    path = _events_file(tmp_path, text)
    with pytest.raises(InputError) as excinfo:
        io.read_events(path)
    assert_words(str(excinfo.value), str(path), *words)


def test_events_file_missing(tmp_path):
    with pytest.raises(InputError) as excinfo:
        io.read_events(tmp_path / "nope.tsv")
    assert_words(str(excinfo.value), "nope.tsv", "a BIDS events.tsv", "file not found")
    with pytest.raises(InputError) as excinfo:
        io.read_events(tmp_path)
    assert_words(str(excinfo.value), str(tmp_path), "expected an events file", "found a folder")


def test_events_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.tsv"
    path.write_bytes(b"onset\tduration\ttrial_type\n0\t10\t\xe9t\xe9\n")
    with pytest.raises(InputError) as excinfo:
        io.read_events(path)
    assert_words(str(excinfo.value), str(path), "expected a UTF-8 text table", "undecodable")


def test_events_table_with_no_rows():
    with pytest.raises(InputError) as excinfo:
        check_events(pd.DataFrame({"onset": [], "duration": []}))
    assert_words(str(excinfo.value), "events", "at least one event", "an empty table")


@pytest.mark.parametrize(
    "values, found",
    [([True, False], "(bool)"), ([1 + 2j, 3.0], "(complex)"), ([b"1", b"2"], "(bytes)")],
    ids=["bool", "complex", "bytes"],
)
def test_events_values_that_only_look_numeric(values, found):
    events = pd.DataFrame({"onset": values, "duration": [1.0, 1.0]})
    with pytest.raises(InputError) as excinfo:
        check_events(events)
    assert_words(str(excinfo.value), "events['onset']", "expected numeric values", found)


def test_events_with_a_repeated_column():
    events = pd.DataFrame([[0.0, 10.0, 20.0]], columns=["onset", "duration", "onset"])
    with pytest.raises(InputError) as excinfo:
        check_events(events)
    assert_words(
        str(excinfo.value), "events", "expected one column of each name", "repeated column onset"
    )


def test_onsets_entirely_after_the_run():
    data, affine, events = synthetic_run()
    late = pd.concat(
        [events, pd.DataFrame({"onset": [500.0], "duration": [5.0], "trial_type": ["late"]})]
    )
    # the library (the design) refuses the condition ...
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(t_r=T_R).fit_array(data, affine, late)
    assert_words(str(excinfo.value), "'late'", "expected at least one onset", "after the run's end")
    # ... and so does the check refglm fit runs before loading the images
    frame_times = np.arange(N_SCANS) * T_R
    with pytest.raises(InputError) as excinfo:
        check_onsets_in_run(late, frame_times, source="late.tsv")
    assert_words(
        str(excinfo.value),
        "late.tsv onsets",
        "expected every condition to start at or before the last scan (78 s)",
        "late (earliest 500 s)",
    )
    check_onsets_in_run(events, frame_times)  # every condition starts inside the run


def test_unknown_extra_columns_are_ignored(tmp_path):
    """Accepted: BIDS allows any further column (response_time, stim_file, ...)."""
    data, affine, events = synthetic_run()
    path = tmp_path / "extra.tsv"
    events.assign(response_time="n/a", stim_file="beep.wav").to_csv(path, sep="\t", index=False)
    read = io.read_events(path)
    assert {"response_time", "stim_file"} <= set(read.columns)
    plain = FirstLevelModel(t_r=T_R).fit_array(data, affine, events)
    extra = FirstLevelModel(t_r=T_R).fit_array(data, affine, read)
    pd.testing.assert_frame_equal(plain.design_matrices_[0], extra.design_matrices_[0])


def test_missing_trial_type_means_one_condition(tmp_path):
    """Accepted: BIDS makes trial_type optional; every event is then one condition."""
    path = tmp_path / "no_trial_type.tsv"
    path.write_text("onset\tduration\n10\t10\n30\t10\n")
    table = check_events(io.read_events(path))
    assert table["trial_type"].tolist() == ["dummy", "dummy"]
    data, affine, _ = synthetic_run()
    model = FirstLevelModel(t_r=T_R).fit_array(data, affine, io.read_events(path))
    assert list(model.design_matrices_[0].columns) == ["dummy", "drift_1", "constant"]


def test_bids_missing_value_only_is_missing(tmp_path):
    """Accepted: only ``n/a`` (and an empty cell) is missing; 'NA' or 'None' are labels."""
    path = tmp_path / "labels.tsv"
    path.write_text("onset\tduration\ttrial_type\n0\t10\tNA\n20\t10\tNone\n")
    assert io.read_events(path)["trial_type"].tolist() == ["NA", "None"]


# ------------------------------------------------------------------------------ model


@pytest.mark.parametrize(
    "params, words",
    [
        ({"t_r": 0}, ["t_r", "expected a number > 0", "found 0"]),
        ({"t_r": -7.0}, ["t_r", "expected a number > 0", "found -7.0"]),
        ({"t_r": float("nan")}, ["t_r", "expected a number > 0", "found nan"]),
        ({"t_r": "7"}, ["t_r", "expected a repetition time in seconds", "found '7'"]),
        ({"t_r": None}, ["t_r", "expected a repetition time in seconds", "found None"]),
        ({"hrf_model": "canonical"}, ["hrf_model", "expected one of", "found 'canonical'"]),
        ({"drift_model": "linear"}, ["drift_model", "expected one of", "found 'linear'"]),
        ({"noise_model": "ar2"}, ["noise_model", "expected one of", "found 'ar2'"]),
        ({"convention": "spm"}, ["convention", "expected one of", "found 'spm'"]),
        ({"engine": "gpu"}, ["engine", "expected one of", "found 'gpu'"]),
        ({"high_pass": 0}, ["high_pass", "expected a finite number > 0", "found 0"]),
        ({"high_pass": -0.01}, ["high_pass", "expected a finite number > 0", "found -0.01"]),
    ],
    ids=lambda v: "-".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else None,
)
def test_bad_model_parameter(params, words):
    data, affine, events = synthetic_run()
    kwargs = {"t_r": T_R, **params}
    with pytest.raises(InputError) as excinfo:
        FirstLevelModel(**kwargs).fit_array(data, affine, events)
    assert_words(str(excinfo.value), *words)


def _rank_deficient_model():
    """A fit whose design has 'active' twice (as 'active' and 'copy')."""
    data, affine, events = synthetic_run()
    design = FirstLevelModel(t_r=T_R).fit_array(data, affine, events).design_matrices_[0]
    design.insert(1, "copy", design["active"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = FirstLevelModel(t_r=T_R).fit_array(data, affine, design_matrices=design)
    return model, caught


def test_rank_deficient_design_warns_and_fits_estimable_contrasts():
    model, caught = _rank_deficient_model()
    messages = [str(w.message) for w in caught]
    assert any("rank 4 < 5 columns" in m and "rank-deficient" in m for m in messages), messages
    estimable = model.contrast_result("active + copy - 2 * rest")
    assert np.all(np.isfinite(estimable.z_score))
    assert model.contrast_result("rest").stat_type == "t"


@pytest.mark.parametrize("contrast", ["active", "active - copy", "active - rest"])
def test_rank_deficient_design_refuses_non_estimable_contrasts(contrast):
    model, _ = _rank_deficient_model()
    with pytest.raises(NotEstimableError) as excinfo:
        model.contrast_result(contrast)
    assert isinstance(excinfo.value, InputError)
    assert_words(str(excinfo.value), f"contrast {contrast!r}", "not estimable", "row space of X")


# -------------------------------------------------------------------------- contrasts


@pytest.mark.parametrize(
    "contrast, words",
    [
        ("active - nope", ["unknown column 'nope'", "expected one of active, rest"]),
        ("active -", ["'active -'", "expected an arithmetic expression", "syntax error"]),
        ("active rest", ["'active rest'", "expected an arithmetic expression", "syntax error"]),
        ("active * rest", ["'active * rest'", "not linear"]),
        ("active / rest", ["'active / rest'", "not linear"]),
        ("__import__('os')", ["__import__", "only column names, numbers"]),
        ("", ["expected an expression over the design columns", "found an empty value"]),
        ("2 + 3", ["expected an expression naming design columns", "found a plain number"]),
        ([1.0, -1.0], ["expected 4 weights", "found shape (1, 2)"]),
        ([[1, 0, 0, 0, 0]], ["expected 4 weights", "found shape (1, 5)"]),
        ([0, 0, 0, 0], ["expected at least one non-zero weight", "found all zeros"]),
        ("active - active", ["expected at least one non-zero weight", "found all zeros"]),
        ([np.nan, 1, 0, 0], ["expected finite weights", "found NaN or Inf"]),
        (["active", "nope"], ["unknown column 'nope'"]),
        ({"active": 1}, ["expected a string, vector or matrix of numbers", "found dict"]),
    ],
    ids=repr,
)
def test_bad_contrast(contrast, words):
    with pytest.raises(InputError) as excinfo:
        as_contrast_matrix(contrast, COLUMNS)
    assert_words(str(excinfo.value), "contrast", *words)


def test_contrast_on_a_fitted_model_names_the_columns():
    data, affine, events = synthetic_run()
    model = FirstLevelModel(t_r=T_R).fit_array(data, affine, events)
    with pytest.raises(InputError) as excinfo:
        model.compute_contrast("active - baseline")
    assert_words(str(excinfo.value), "unknown column 'baseline'", "active, rest, drift_1, constant")


# ------------------------------------------------------------------------- thresholds


@pytest.mark.parametrize(
    "params, words",
    [
        ({"alpha": 0.0}, ["alpha", "strictly between 0 and 1", "found 0.0"]),
        ({"alpha": 1.0}, ["alpha", "strictly between 0 and 1", "found 1.0"]),
        ({"alpha": 5.0}, ["alpha", "strictly between 0 and 1", "found 5.0", "not a percentage"]),
        ({"alpha": -0.05}, ["alpha", "strictly between 0 and 1", "found -0.05"]),
        ({"alpha": "0.05"}, ["alpha", "strictly between 0 and 1", "found str '0.05'"]),
        ({"height_control": "holm"}, ["height_control", "expected one of", "found 'holm'"]),
        ({"cluster_threshold": -1}, ["cluster_threshold", ">= 0", "found -1"]),
    ],
    ids=lambda v: "-".join(f"{k}={v[k]}" for k in v) if isinstance(v, dict) else None,
)
def test_bad_threshold_parameter(params, words):
    z = np.random.default_rng(0).standard_normal(SHAPE)
    with pytest.raises(InputError) as excinfo:
        thresholds.map_threshold(z, **params)
    assert_words(str(excinfo.value), *words)


# ----------------------------------------------------------------------------- output


def test_out_is_an_existing_file(tmp_path):
    target = tmp_path / "results.txt"
    target.write_text("keep me")
    with pytest.raises(InputError) as excinfo, io.staged_output_dir(target):
        pass
    assert_words(str(excinfo.value), f"--out {target}", "expected a folder", "existing file")
    assert target.read_text() == "keep me"
    assert listing(tmp_path) == ["results.txt"]


def _unwritable_outs(tmp_path) -> dict[str, Path]:
    """--out paths that cannot be written even by root (the tests run as root).

    chmod cannot make a folder unwritable for root, so these fail for reasons
    root cannot override: a path under a regular file (ENOTDIR), a name
    longer than the filesystem allows (ENAMETOOLONG), and (Linux) a folder
    in /proc, where no one can create folders.
    """
    (tmp_path / "afile").write_text("x")
    outs = {
        "under-a-file": tmp_path / "afile" / "sub",
        "name-too-long": tmp_path / ("x" * 300),
    }
    if Path("/proc/self").is_dir():
        outs["in-proc"] = Path("/proc") / "refglm-results"
    return outs


@pytest.mark.parametrize("kind", ["under-a-file", "name-too-long", "in-proc"])
def test_out_cannot_be_written(kind, tmp_path):
    outs = _unwritable_outs(tmp_path)
    if kind not in outs:
        pytest.skip("no /proc on this system")
    out = outs[kind]
    before = listing(tmp_path)
    with pytest.raises(InputError) as excinfo, io.staged_output_dir(out):
        pytest.fail("the block must not run when --out cannot be written")
    assert_words(str(excinfo.value), f"--out {out}", "expected a")
    assert listing(tmp_path) == before


# ------------------------------------------------------------------------------- data


def test_checksum_mismatch_through_the_cli(tmp_path):
    """A tampered volume: exit 2 naming the file, both hashes and how to re-fetch."""
    from refglm.datasets import layout as _data_layout
    from refglm.datasets import load_spm_auditory_manifest

    real = spm_auditory_dir()
    rel = f"{_data_layout.FUNC_SUBDIR}/fM00223_050.img"
    copy = tmp_path / "spm_auditory"
    for required in _data_layout.required_files():
        target = copy / required
        target.parent.mkdir(parents=True, exist_ok=True)
        if required == rel:
            payload = bytearray((real / required).read_bytes())
            payload[123_456] ^= 0x01
            target.write_bytes(bytes(payload))
        else:
            target.symlink_to(real / required)
    expected_sha = load_spm_auditory_manifest()["files"][rel]
    found_sha = hashlib.sha256((copy / rel).read_bytes()).hexdigest()

    code, _, err = run_cli(["fetch", "spm-auditory", "--data-dir", copy])
    assert code == cli.EXIT_INPUT
    assert_words(
        one_line(err), "fM00223_050.img", expected_sha, found_sha, "refglm fetch spm-auditory"
    )
    from refglm.datasets import fetch_spm_auditory

    with pytest.raises(DataIntegrityError):
        fetch_spm_auditory(copy)


def test_failed_download_through_the_cli_leaves_nothing(tmp_path, monkeypatch):
    """An unreachable archive: exit 2, and nothing in the cache a later run would trust."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("REFGLM_DATA_DIR", raising=False)
    monkeypatch.setenv("REFGLM_CACHE_DIR", str(cache))
    monkeypatch.setenv("REFGLM_SPM_AUDITORY_URL", "http://127.0.0.1:1/MoAEpilot.zip")
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    for _ in range(2):  # the second run finds nothing half-done to trust
        code, _, err = run_cli(["fetch", "spm-auditory"])
        assert code == cli.EXIT_INPUT
        assert_words(one_line(err), "127.0.0.1:1/MoAEpilot.zip", "download", "failed")
        assert not cache.exists() or listing(cache) == []


# -------------------------------------------------------------- NaN and Inf voxels


def _with_bad_voxels():
    data, affine, events = synthetic_run()
    data = data.copy()
    data[5, 5, 5, 3] = np.nan  # inside the brain, one scan
    data[4, 5, 5, :] = np.inf  # inside the brain, every scan
    data[0, 0, 0, 0] = np.nan  # background
    return data, affine, events, 3


def test_nan_and_inf_voxels_are_excluded_with_a_warning(tmp_path):
    """Not fatal: the voxels leave the mask and a warning counts them (explicit mask)."""
    data, affine, events, n_bad = _with_bad_voxels()
    mask = io.save_image(np.ones(SHAPE, dtype=np.uint8), tmp_path / "mask.nii.gz", affine)
    with pytest.warns(UserWarning, match=f"run: {n_bad} voxels have NaN or Inf values"):
        model = FirstLevelModel(t_r=T_R, mask_img=mask).fit_array(data, affine, events)
    assert model.mask_.sum() == np.prod(SHAPE) - n_bad
    assert not model.mask_[5, 5, 5] and not model.mask_[4, 5, 5] and not model.mask_[0, 0, 0]
    assert np.all(np.isfinite(model.contrast_result("active - rest").z_score))


def test_nan_and_inf_voxels_warn_with_the_epi_mask():
    data, affine, events, n_bad = _with_bad_voxels()
    with pytest.warns(UserWarning, match=f"run: {n_bad} voxels have NaN or Inf values"):
        model = FirstLevelModel(t_r=T_R).fit_array(data, affine, events)
    assert not model.mask_[5, 5, 5] and not model.mask_[4, 5, 5]


# ------------------------------------------------------------------- through the CLI


def _write_events(tmp_path, text):
    return _events_file(tmp_path, text, "cli_events.tsv")


CLI_CASES = {
    # id: (overrides of fit_args, key words of the one-line error)
    "t_r-not-a-number": ({"--t-r": "seven"}, ["--t-r", "expected a repetition time", "'seven'"]),
    "t_r-zero": ({"--t-r": "0"}, ["t_r", "expected a number > 0", "found 0"]),
    "t_r-negative": ({"--t-r": "-2"}, ["t_r", "expected a number > 0", "found -2"]),
    "hrf-model": ({"extra": ["--hrf-model", "spmx"]}, ["hrf_model", "expected one of", "'spmx'"]),
    "drift-model": ({"extra": ["--drift-model", "x"]}, ["drift_model", "expected one of", "'x'"]),
    "noise-model": ({"extra": ["--noise-model", "ar3"]}, ["noise_model", "expected one", "'ar3'"]),
    "convention": ({"extra": ["--convention", "fsl"]}, ["convention", "expected one", "'fsl'"]),
    "engine": ({"extra": ["--engine", "gpu"]}, ["engine", "expected one of", "'gpu'"]),
    "high-pass-zero": ({"extra": ["--high-pass", "0"]}, ["high_pass", "> 0", "found 0"]),
    "high-pass-text": ({"extra": ["--high-pass", "low"]}, ["--high-pass", "Hz", "'low'"]),
    "n-jobs-zero": ({"extra": ["--n-jobs", "0"]}, ["--n-jobs", "other than 0", "'0'"]),
    "unknown-column": ({"--contrast": "active - nope"}, ["unknown column 'nope'", "expected"]),
    "malformed": ({"--contrast": "active -"}, ["'active -'", "expected an arithmetic", "syntax"]),
    "all-zero": ({"--contrast": "active - active"}, ["non-zero weight", "found all zeros"]),
    "alpha-zero": ({"extra": ["--alpha", "0"]}, ["--alpha", "between 0 and 1", "found 0.0"]),
    "alpha-one": ({"extra": ["--alpha", "1"]}, ["--alpha", "between 0 and 1", "found 1.0"]),
    "alpha-text": ({"extra": ["--alpha", "5%"]}, ["--alpha", "probability", "'5%'"]),
    "height-control": (
        {"extra": ["--height-control", "holm"]},
        ["--height-control", "expected one of", "'holm'"],
    ),
    "cluster-threshold": (
        {"extra": ["--cluster-threshold", "-5"]},
        ["--cluster-threshold", "number >= 0", "found -5"],
    ),
    "threshold-missing": (
        {"extra": ["--height-control", "none"]},
        ["--height-control none", "expected --threshold", "found none"],
    ),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_bad_parameter(case, run_files, tmp_path):
    overrides, words = CLI_CASES[case]
    out = tmp_path / "out"
    expect_cli_error(fit_args(run_files, out, **dict(overrides)), out, *words)


CLI_EVENTS = {
    "empty": ("", ["cli_events.tsv", "found an empty file"]),
    "header-only": ("onset\tduration\ttrial_type\n", ["cli_events.tsv", "no rows"]),
    "no-onset": ("duration\ttrial_type\n10\tactive\n", ["cli_events.tsv", "'onset' column"]),
    "no-duration": ("onset\ttrial_type\n0\tactive\n", ["cli_events.tsv", "'duration' column"]),
    "non-numeric": ("onset\tduration\ttrial_type\n0\tlong\tactive\n", ["'long'", "numeric"]),
    "negative-duration": ("onset\tduration\ttrial_type\n0\t-1\tactive\n", ["durations >= 0"]),
    "nan-onset": ("onset\tduration\ttrial_type\nn/a\t10\tactive\n", ["events['onset']", "NaN"]),
    "after-the-end": (
        "onset\tduration\ttrial_type\n0\t10\trest\n1000\t10\tactive\n",
        ["cli_events.tsv onsets", "at or before the last scan (78 s)", "active (earliest 1000 s)"],
    ),
}


@pytest.mark.parametrize("case", list(CLI_EVENTS))
def test_cli_bad_events(case, run_files, tmp_path):
    text, words = CLI_EVENTS[case]
    tsv = _write_events(tmp_path, text)
    out = tmp_path / "out"
    contrast = "active" if "active" in text else "rest"
    expect_cli_error(
        fit_args(run_files, out, **{"--events": str(tsv), "--contrast": contrast}), out, *words
    )


def test_cli_events_missing(run_files, tmp_path):
    out = tmp_path / "out"
    missing = tmp_path / "missing_events.tsv"
    expect_cli_error(
        fit_args(run_files, out, **{"--events": str(missing)}), out, str(missing), "not found"
    )


def test_cli_bad_images(tmp_path):
    vols = write_volumes(tmp_path / "vols", 4)
    tsv = _write_events(tmp_path, "onset\tduration\ttrial_type\n0\t2\ta\n2\t2\tb\n")
    data, affine, _ = synthetic_run()
    small = io.save_image(data[:9, ..., 0], tmp_path / "small.nii", affine)
    four = io.save_image(data[..., :3], tmp_path / "four.nii", affine)
    truncated = tmp_path / "truncated.nii"
    truncated.write_bytes(vols[0].read_bytes()[:1000])
    good = vols[:4]  # 4 scans > 3 design columns (a, b, constant)
    cases = [
        ([*good, tmp_path / "gone.nii"], ["gone.nii", "file not found"]),
        ([*good, truncated], ["truncated.nii", "truncated"]),
        ([*good, tsv], ["cli_events.tsv", "expected a NIfTI-1/2 or Analyze image"]),
        ([*good, small], ["small.nii", "shape (10, 10, 10)", "found shape (9, 10, 10)"]),
        ([*good, four], ["four.nii", "expected a 3-D volume", "(10, 10, 10, 3)"]),
        ([four, *good], ["four.nii", "expected 3-D volumes", "(10, 10, 10, 3)"]),
        ([vols[0]], ["vol_000.nii", "expected a 4-D run or several 3-D volumes"]),
        (vols[:3], ["expected more scans than design columns", "found 3 scans for 3 columns"]),
    ]
    for k, (func, words) in enumerate(cases):
        out = tmp_path / f"out{k}"
        args = ["fit", "--func", *func, "--events", tsv, "--t-r", "2", "--contrast", "a - b"]
        expect_cli_error([*args, "--out", out, "--no-report"], out, *words)


@pytest.mark.parametrize("value", [0.0, 7.0], ids=["all-zero", "constant"])
def test_cli_empty_mask(value, tmp_path):
    data, affine, events = synthetic_run()
    bold = io.save_image(np.full_like(data, value), tmp_path / "flat.nii.gz", affine)
    tsv = tmp_path / "events.tsv"
    events.to_csv(tsv, sep="\t", index=False)
    out = tmp_path / "out"
    expect_cli_error(fit_args((bold, tsv), out), out, "mask", "empty", "mask_img")


def test_cli_non_estimable_contrast(tmp_path):
    data, affine, events = synthetic_run()
    bold = io.save_image(data, tmp_path / "bold.nii.gz", affine)
    tsv = tmp_path / "twins.tsv"
    twins = pd.concat([events, events[events.trial_type == "active"].assign(trial_type="twin")])
    twins.to_csv(tsv, sep="\t", index=False)
    out = tmp_path / "out"
    line = expect_cli_error(
        fit_args((bold, tsv), out, **{"--contrast": "active - twin"}),
        out,
        "contrast activeMinusTwin",
        "expected a contrast estimable",
        "rank-deficient",
    )
    assert "rank 4 < 5 columns" in line


@pytest.mark.parametrize("kind", ["existing-file", "under-a-file", "name-too-long", "in-proc"])
def test_cli_out_cannot_be_written(kind, run_files, tmp_path):
    outs = _unwritable_outs(tmp_path)
    outs["existing-file"] = tmp_path / "afile"
    if kind not in outs:
        pytest.skip("no /proc on this system")
    out = outs[kind]
    before = listing(tmp_path)
    code, _, err = run_cli(fit_args(run_files, out))
    assert code == cli.EXIT_INPUT
    assert_words(one_line(err), f"--out {out}", "expected a")
    assert listing(tmp_path) == before
    assert (tmp_path / "afile").read_text() == "x"


def test_cli_failed_run_creates_no_parent_folders(run_files, tmp_path):
    out = tmp_path / "new" / "deeper" / "out"
    expect_cli_error(fit_args(run_files, out, **{"--t-r": "0"}), out, "t_r")
    assert listing(tmp_path) == []


def test_bad_inputs_keep_an_existing_out_as_it_was(run_files, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("sentinel")
    code, _, err = run_cli(fit_args(run_files, out, **{"--contrast": "active - nope"}))
    assert code == cli.EXIT_INPUT and "unknown column" in one_line(err)
    assert listing(tmp_path) == ["out", "out/keep.txt"]
    assert (out / "keep.txt").read_text() == "sentinel"


def test_cli_good_run_for_comparison(run_files, tmp_path):
    """The synthetic run itself is good input: exit 0, nothing on stderr."""
    out = tmp_path / "out"
    code, stdout, err = run_cli(fit_args(run_files, out))
    assert code == cli.EXIT_OK, err
    assert err == ""
    assert (
        "refglm fit:" in stdout
        and (out / "contrast-activeMinusRest_stat-z_statmap.nii.gz").is_file()
    )
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []
