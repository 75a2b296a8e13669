"""``refglm compare`` (refglm.compare) on small synthetic maps and a synthetic run."""

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from refglm.compare import (
    EXIT_BEYOND,
    EXIT_INPUT,
    EXIT_WITHIN,
    compare_arrays,
    load_maps,
    main,
    pair_maps,
    peak_matching,
    threshold_agreement,
)
from refglm.exceptions import InputError

AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
STAT_RTOL = 1e-12
SHAPE = (16, 16, 16)


def _brain():
    grid = np.indices(SHAPE) - 7.5
    return (grid**2).sum(axis=0) < 7**2


def _z_map(seed=0):
    """Noise inside a sphere, a strong positive and a negative blob, 0 outside."""
    rng = np.random.default_rng(seed)
    z = np.where(_brain(), rng.standard_normal(SHAPE), 0.0)
    z[6:9, 6:9, 6:9] += 7.0
    z[3:5, 8:10, 8:10] -= 6.0
    return z


def _save(folder, data, name="aMinusB", kind="z", prefix=""):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{prefix}contrast-{name}_stat-{kind}_statmap.nii.gz"
    nib.save(nib.Nifti1Image(data, AFFINE), path)
    return path


# ------------------------------------------------------------------------------ numerics


def test_identical_arrays_agree_exactly():
    z = _z_map()
    stats = compare_arrays(z, z)
    assert (stats["max_abs"], stats["only_reference"], stats["within_tolerance"]) == (0, 0, True)


def test_max_mean_and_p99_of_delta():
    a = np.zeros((10, 10, 1))
    a[:, :, 0] = 1.0
    b = a.copy()
    b[0, :, 0] += np.arange(10) * 0.1  # 10 of 100 voxels differ by 0 .. 0.9
    stats = compare_arrays(a, b)
    delta = np.abs((b - a).ravel())
    assert_allclose(
        [stats["max_abs"], stats["mean_abs"], stats["p99_abs"]],
        [0.9, delta.mean(), np.percentile(delta, 99)],
        rtol=STAT_RTOL,
    )


def test_correlation_is_pearson_on_the_union():
    a, b = _z_map(0), _z_map(1)
    union = (a != 0) | (b != 0)
    expected = np.corrcoef(a[union], b[union])[0, 1]
    assert_allclose(compare_arrays(a, b)["correlation"], expected, rtol=STAT_RTOL)


def test_mask_disagreement_counts_each_side():
    a = _z_map()
    b = a.copy()
    b[_brain() & (np.indices(SHAPE)[0] == 2)] = 0.0  # a slab only in the reference
    b[0, 0, 0] = 1.0  # one voxel only in the candidate
    stats = compare_arrays(a, b)
    assert (stats["only_reference"], stats["only_candidate"]) == (
        int((_brain() & (np.indices(SHAPE)[0] == 2) & (a != 0)).sum()),
        1,
    )


def test_mask_disagreement_is_beyond_any_tolerance():
    a = _z_map()
    b = a.copy()
    b[0, 0, 0] = 1e-9
    assert not compare_arrays(a, b, tolerance=1.0)["within_tolerance"]


def test_identical_maps_have_dice_1_at_every_threshold():
    z = _z_map()
    assert [row["dice"] for row in threshold_agreement(z, z)] == [1.0, 1.0, 1.0]


def test_dice_counts_a_voxel_only_with_the_same_sign():
    a = _z_map()
    b = -a
    rows = threshold_agreement(a, b, convention="nilearn")  # two-sided
    assert rows[0]["dice"] == 0.0


def test_identical_maps_match_every_peak_at_distance_0():
    z = _z_map()
    peaks = peak_matching(z, z, AFFINE)
    assert peaks["n_peaks_reference"] > 0
    assert (peaks["max_distance_mm"], peaks["max_abs_peak_delta"]) == (0.0, 0.0)


def test_shifted_peak_is_matched_at_its_distance():
    a = _z_map()
    b = np.roll(a, 1, axis=0)
    assert peak_matching(a, b, AFFINE)["matches"][0]["distance_mm"] == pytest.approx(3.0)


# ------------------------------------------------------------------------------ loading


def test_load_maps_pairs_bids_entity_prefixed_names(tmp_path):
    _save(tmp_path / "a", _z_map(), prefix="sub-01_task-x_")
    assert list(load_maps(tmp_path / "a")) == [("aMinusB", "z")]


def test_load_maps_ignores_other_files(tmp_path):
    _save(tmp_path, _z_map())
    nib.save(nib.Nifti1Image(np.ones(SHAPE), AFFINE), tmp_path / "mask.nii.gz")
    assert list(load_maps(tmp_path)) == [("aMinusB", "z")]


def test_folder_without_maps_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no statistical maps found"):
        load_maps(tmp_path)


def test_4d_map_is_input_error(tmp_path):
    path = tmp_path / "x.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((*SHAPE, 2)), AFFINE), path)
    with pytest.raises(InputError, match="expected a 3-D statistical map"):
        load_maps(path)


def test_no_common_name_is_input_error(tmp_path):
    ref = {
        **load_maps(_save(tmp_path / "a", _z_map(), "x")),
        **load_maps(_save(tmp_path / "a", _z_map(), "y")),
    }
    cand = {
        **load_maps(_save(tmp_path / "b", _z_map(), "u")),
        **load_maps(_save(tmp_path / "b", _z_map(), "v")),
    }
    with pytest.raises(InputError, match="no map of REFERENCE"):
        pair_maps(ref, cand)


def test_two_single_files_pair_whatever_their_names(tmp_path):
    a = load_maps(_save(tmp_path, _z_map(), "x"))
    b = load_maps(_save(tmp_path, _z_map(), "y"))
    assert len(pair_maps(a, b)[0]) == 1


# --------------------------------------------------------------------------- command line


def test_identical_folders_exit_0(tmp_path):
    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map())
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o")]) == (
        EXIT_WITHIN
    )


def test_difference_beyond_tolerance_exits_1(tmp_path):
    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map() * (1 + 1e-5))
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o")]) == (
        EXIT_BEYOND
    )


def test_difference_within_a_looser_tolerance_exits_0(tmp_path):
    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map() * (1 + 1e-5))
    argv = [str(tmp_path / "a"), str(tmp_path / "b"), "--tolerance", "1e-3"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == EXIT_WITHIN


def test_missing_reference_exits_2(tmp_path, capsys):
    _save(tmp_path / "b", _z_map())
    assert main([str(tmp_path / "nope"), str(tmp_path / "b")]) == EXIT_INPUT
    assert "REFERENCE" in capsys.readouterr().err


def test_different_grids_exit_2(tmp_path):
    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map()[:-1])
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o")]) == (
        EXIT_INPUT
    )


def test_explain_without_data_exits_2(tmp_path):
    _save(tmp_path / "a", _z_map())
    assert main([str(tmp_path / "a"), str(tmp_path / "a"), "--explain"]) == EXIT_INPUT


def test_negative_tolerance_exits_2(tmp_path):
    _save(tmp_path / "a", _z_map())
    assert main([str(tmp_path / "a"), str(tmp_path / "a"), "--tolerance", "-1"]) == EXIT_INPUT


def test_one_path_without_reference_data_exits_2(tmp_path):
    _save(tmp_path / "a", _z_map())
    assert main([str(tmp_path / "a")]) == EXIT_INPUT


@pytest.fixture
def written_report(tmp_path):
    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map() + 1e-3 * _brain())
    main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")])
    return tmp_path / "out"


def test_report_files_are_written(written_report):
    names = sorted(p.name for p in written_report.iterdir())
    assert names == ["compare.html", "compare.json", "compare.md"]


def test_html_embeds_two_figures_per_pair_as_base64_png(written_report):
    assert (written_report / "compare.html").read_text().count("data:image/png;base64,") == 2


def test_json_reports_the_verdict_and_max_delta(written_report):
    report = json.loads((written_report / "compare.json").read_text())
    assert report["within_tolerance"] is False
    assert_allclose(report["pairs"][0]["stats"]["max_abs"], 1e-3, rtol=1e-9)


def test_markdown_has_the_verdict(written_report):
    assert "**Verdict: BEYOND TOLERANCE" in (written_report / "compare.md").read_text()


@pytest.mark.slow
def test_import_does_not_load_matplotlib():
    code = "import sys, refglm, refglm.compare; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------- reference from data

T_R = 2.0
N_SCANS = 60


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    """A 4-D float32 run with a block design (a, b), AR(1) noise, its mask and events."""
    folder = tmp_path_factory.mktemp("run")
    rng = np.random.default_rng(3)
    shape = (10, 10, 10)
    brain = ((np.indices(shape) - 4.5) ** 2).sum(axis=0) < 4.5**2
    onsets = np.arange(0, N_SCANS * T_R, 20.0)
    events = pd.DataFrame(
        {"onset": onsets, "duration": 10.0, "trial_type": ["a", "b"] * (len(onsets) // 2)}
    )
    events.to_csv(folder / "events.tsv", sep="\t", index=False)
    times = np.arange(N_SCANS) * T_R
    box_a = np.zeros(N_SCANS)
    for onset in onsets[::2]:
        box_a[(times >= onset + 4) & (times < onset + 14)] = 1.0
    noise = np.zeros((*shape, N_SCANS))
    rho = rng.uniform(0.1, 0.5, shape)
    for t in range(N_SCANS):
        noise[..., t] = rng.standard_normal(shape) + (rho * noise[..., t - 1] if t else 0)
    gain = rng.uniform(0, 3, shape)
    data = np.where(brain[..., None], 1000 + 5 * noise + gain[..., None] * box_a, 0.0)
    nib.save(nib.Nifti1Image(data.astype(np.float32), AFFINE), folder / "run.nii.gz")
    nib.save(nib.Nifti1Image(brain.astype(np.int8), AFFINE), folder / "mask.nii.gz")
    return folder


def _candidate(run_folder, out, convention):
    from refglm.model import FirstLevelModel

    model = FirstLevelModel(
        t_r=T_R, mask_img=run_folder / "mask.nii.gz", convention=convention
    ).fit(run_folder / "run.nii.gz", run_folder / "events.tsv")
    out.mkdir()
    z = model.compute_contrast("a - b")
    nib.save(z, out / "contrast-aMinusB_stat-z_statmap.nii.gz")
    return out


def _from_data_argv(run_folder, out):
    return [
        "--reference-from-data",
        str(run_folder / "run.nii.gz"),
        "--events",
        str(run_folder / "events.tsv"),
        "--t-r",
        str(T_R),
        "--mask",
        str(run_folder / "mask.nii.gz"),
        "--out",
        str(out),
    ]


def test_reference_from_data_reproduces_refglm_output(synthetic_run, tmp_path):
    cand = _candidate(synthetic_run, tmp_path / "cand", "nistats")
    assert main([str(cand), *_from_data_argv(synthetic_run, tmp_path / "o")]) == EXIT_WITHIN


def test_reference_from_data_needs_events(synthetic_run, tmp_path):
    cand = _candidate(synthetic_run, tmp_path / "cand", "nistats")
    argv = [str(cand), "--reference-from-data", str(synthetic_run / "run.nii.gz"), "--t-r", "2"]
    assert main(argv) == EXIT_INPUT


def test_explain_attributes_a_nilearn_candidate_to_nilearn(synthetic_run, tmp_path):
    cand = _candidate(synthetic_run, tmp_path / "cand", "nilearn")
    out = tmp_path / "o"
    assert main([str(cand), *_from_data_argv(synthetic_run, out), "--explain"]) == EXIT_BEYOND
    explain = json.loads((out / "compare.json").read_text())["explain"]
    assert explain["best"]["name"] == "nilearn"


def test_explain_names_a_single_flipped_choice(synthetic_run, tmp_path):
    from refglm.compare import explain, load_maps
    from refglm.conventions import get_convention

    flipped = get_convention("nistats").flipped(whiten_scan0="prais_winsten")
    cand = load_maps(_candidate(synthetic_run, tmp_path / "cand", flipped))
    result = explain(
        cand,
        synthetic_run / "run.nii.gz",
        synthetic_run / "events.tsv",
        {"aMinusB": "a - b"},
        t_r=T_R,
        mask_img=synthetic_run / "mask.nii.gz",
    )
    assert result["best"]["name"] == flipped.name


def test_refglm_cli_dispatches_compare(tmp_path):
    from refglm.cli import main as refglm_main

    _save(tmp_path / "a", _z_map())
    _save(tmp_path / "b", _z_map() * (1 + 1e-5))
    a, b, o = (str(tmp_path / n) for n in ("a", "b", "o"))
    assert refglm_main(["compare", a, a, "--out", o]) == EXIT_WITHIN
    assert refglm_main(["compare", a, b, "--out", o]) == EXIT_BEYOND
    assert refglm_main(["compare", str(tmp_path / "nope"), b]) == EXIT_INPUT
