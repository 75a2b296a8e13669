"""``refglm compare`` (refglm.compare) on small synthetic maps and a synthetic run."""

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from refglm import cli
from refglm.cli import EXIT_FAILED as EXIT_BEYOND
from refglm.cli import EXIT_INPUT
from refglm.cli import EXIT_OK as EXIT_WITHIN
from refglm.compare import (
    compare_arrays,
    load_maps,
    pair_maps,
    peak_matching,
    threshold_agreement,
)
from refglm.exceptions import InputError


def main(argv) -> int:
    """``refglm compare ARGV`` in-process (the one CLI, its exit codes)."""
    return cli.main(["compare", *argv])


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


def test_a_candidate_swallowed_by_reference_from_data_is_named(tmp_path, capsys):
    """``--reference-from-data a.img b.img cand/``: argparse gives cand/ to FUNC."""
    _save(tmp_path / "cand", _z_map())
    func = [str(tmp_path / "a.img"), str(tmp_path / "b.img")]
    argv = ["--reference-from-data", *func, str(tmp_path / "cand"), "--events", "e.tsv"]
    assert main([*argv, "--t-r", "2"]) == EXIT_INPUT
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("refglm: error: MAPS: expected CANDIDATE, found none: ")
    assert f"({tmp_path / 'cand'} included, a folder or a statistical map, so likely the " in line
    fix = f"`refglm compare {tmp_path / 'cand'} --reference-from-data {' '.join(func)} ...`"
    assert fix in line


def test_the_swallowed_candidate_message_shortens_a_long_func_list_once(tmp_path, capsys):
    _save(tmp_path / "cand", _z_map())
    func = [str(tmp_path / f"f{i}.img") for i in range(4)]
    argv = ["--reference-from-data", *func, str(tmp_path / "cand"), "--events", "e.tsv"]
    assert main([*argv, "--t-r", "2"]) == EXIT_INPUT
    (line,) = capsys.readouterr().err.splitlines()
    assert f"--reference-from-data {func[0]} {func[1]} ...`" in line
    assert "... ..." not in line


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
    from refglm.first_level.model import FirstLevelModel

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
    from refglm.compare import explain_differences as explain
    from refglm.compare import load_maps
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


# ------------------------------------------------------------- explain: which variant


def _explain(run_folder, cand, **params):
    from refglm.compare import explain_differences as explain

    return explain(
        cand,
        run_folder / "run.nii.gz",
        run_folder / "events.tsv",
        {"aMinusB": "a - b"},
        t_r=T_R,
        mask_img=run_folder / "mask.nii.gz",
        **params,
    )


def _candidate_maps(run_folder, out, convention, **params):
    from refglm.first_level.model import FirstLevelModel

    model = FirstLevelModel(
        t_r=T_R, mask_img=run_folder / "mask.nii.gz", convention=convention, **params
    ).fit(run_folder / "run.nii.gz", run_folder / "events.tsv")
    out.mkdir()
    nib.save(model.compute_contrast("a - b"), out / "contrast-aMinusB_stat-z_statmap.nii.gz")
    return load_maps(out)


def test_explain_attributes_a_single_flip_of_nilearn(synthetic_run, tmp_path):
    # with the SPM HRF nistats and nilearn differ only in the AR estimator and the z
    # conversion; the flip is nilearn's, not nistats'
    from refglm.conventions import get_convention

    flipped = get_convention("nilearn").flipped(ar_binning="round")
    cand = _candidate_maps(synthetic_run, tmp_path / "c", flipped, hrf_model="spm")
    result = _explain(synthetic_run, cand, hrf_model="spm")
    assert (result["best"]["name"], result["explained"]) == ("nilearn+ar_binning=round", True)


def test_explain_attributes_a_single_flip_of_statsmodels(synthetic_run, tmp_path):
    from refglm.conventions import get_convention

    flipped = get_convention("statsmodels").flipped(ar_fit="fixed")
    result = _explain(synthetic_run, _candidate_maps(synthetic_run, tmp_path / "c", flipped))
    assert (result["best"]["name"], result["explained"]) == ("statsmodels+ar_fit=fixed", True)


def test_explain_reports_the_reference_conventions_residual_as_baseline(synthetic_run, tmp_path):
    cand = _candidate_maps(synthetic_run, tmp_path / "c", "nilearn")
    result = _explain(synthetic_run, cand)
    baseline = result["baseline"]
    assert (baseline["name"], baseline["max_abs"] > 1e-3) == ("nistats", True)
    assert "baseline: reference convention nistats, max|Δ|" in result["message"]


def test_explain_says_nothing_explains_another_hrf(synthetic_run, tmp_path):
    # glover candidate, spm reference: no convention choice changes the HRF model
    cand = _candidate_maps(synthetic_run, tmp_path / "c", "nistats", hrf_model="glover")
    result = _explain(synthetic_run, cand, hrf_model="spm")
    assert result["explained"] is False
    assert result["message"].startswith("no convention choice explains this")


def test_explain_says_nothing_explains_an_ols_candidate(synthetic_run, tmp_path):
    cand = _candidate_maps(synthetic_run, tmp_path / "c", "nistats", noise_model="ols")
    result = _explain(synthetic_run, cand)
    assert result["explained"] is False
    assert "model parameters (HRF model, noise model" in result["message"]


def test_explain_under_ols_tries_no_ar_choice(synthetic_run, tmp_path):
    # the AR choices cannot change an OLS fit: no variant may be labelled by one
    from refglm.conventions import AR_CHOICES

    cand = _candidate_maps(synthetic_run, tmp_path / "c", "nilearn", noise_model="ols")
    result = _explain(synthetic_run, cand, noise_model="ols")
    named = [row["name"] for row in result["ranking"]]
    assert not [name for name in named if any(f"+{k}=" in name for k in AR_CHOICES)]


def test_explain_folds_variants_with_identical_maps(synthetic_run, tmp_path):
    # the run is float32: input_dtype=float32 gives nistats' maps bit for bit
    result = _explain(synthetic_run, _candidate_maps(synthetic_run, tmp_path / "c", "nilearn"))
    rows = {row["name"]: row for row in result["ranking"]}
    assert "nistats+input_dtype=float32" in rows["nistats"]["same_maps"]
    assert "nistats+input_dtype=float32" not in rows


def test_explain_ranks_ties_in_max_delta_by_voxels_beyond_tolerance():
    from refglm.compare.explain import _Result, rank_key
    from refglm.conventions import get_convention

    def result(conv, n_beyond, mean_abs):
        return _Result(get_convention(conv), 0.05, n_beyond, mean_abs, True, {}, conv)

    a = result("nistats", 900, 0.01)
    b = result("nilearn+ar_binning=round", 10, 0.02)
    c = result("nilearn", 10, 0.001)
    ranked = sorted([a, b, c], key=lambda r: rank_key(r, 1e-6))
    assert [r.conv.name for r in ranked] == ["nilearn", "nilearn+ar_binning=round", "nistats"]


def test_explain_tries_single_flips_of_every_named_convention():
    from refglm.compare.explain import candidate_conventions

    names = {conv.name for conv in candidate_conventions()}
    assert {"nilearn+ar_binning=round", "statsmodels+ar_fit=fixed", "nistats+ar_bins=10"} <= names


def test_explain_tries_no_combination_the_table_refuses():
    from refglm.compare.explain import candidate_conventions
    from refglm.conventions import get_convention

    for conv in candidate_conventions():
        assert get_convention(conv.name).choices() == conv.choices()


def test_explain_does_not_flip_the_unused_bins_of_statsmodels():
    from refglm.compare import single_flips as variants
    from refglm.conventions import get_convention

    assert not [c for c in variants(get_convention("statsmodels")) if "ar_bins" in c.name]


@pytest.mark.slow
def test_explain_flip_on_the_real_data_is_attributed_to_its_convention(spm_auditory, tmp_path):
    # the review's case: on the tutorial nistats and nilearn tie as named conventions;
    # nilearn with rounded AR bins must not be explained as a flip of nistats
    from refglm.compare import explain_differences as explain
    from refglm.conventions import get_convention
    from refglm.first_level.model import FirstLevelModel

    first = FirstLevelModel(t_r=7, hrf_model="spm", engine="vectorized", noise_model="ols")
    first.fit(spm_auditory.func, spm_auditory.events)
    box = np.zeros(first.mask_.shape, dtype=np.int8)
    box[20:44, 24:34, 31:41] = first.mask_[20:44, 24:34, 31:41]
    mask = tmp_path / "box.nii.gz"
    nib.save(nib.Nifti1Image(box, first.affine_), mask)
    flipped = get_convention("nilearn").flipped(ar_binning="round")
    model = FirstLevelModel(
        t_r=7, hrf_model="spm", mask_img=mask, convention=flipped, engine="vectorized"
    ).fit(spm_auditory.func, spm_auditory.events)
    (tmp_path / "c").mkdir()
    nib.save(
        model.compute_contrast("active - rest"),
        tmp_path / "c" / "contrast-activeMinusRest_stat-z_statmap.nii.gz",
    )
    result = explain(
        load_maps(tmp_path / "c"),
        spm_auditory.func,
        spm_auditory.events,
        {"activeMinusRest": "active - rest"},
        t_r=7,
        hrf_model="spm",
        mask_img=mask,
    )
    assert (result["best"]["name"], result["explained"]) == ("nilearn+ar_binning=round", True)


# ---------------------------------------------------------- names, unpaired maps, kinds


def test_convention_accepts_the_name_explain_prints(synthetic_run, tmp_path):
    from refglm.conventions import get_convention

    flipped = get_convention("nilearn").flipped(ar_binning="round")
    cand = _candidate(synthetic_run, tmp_path / "cand", flipped)
    argv = [str(cand), *_from_data_argv(synthetic_run, tmp_path / "o")]
    assert main([*argv, "--convention", flipped.name]) == EXIT_WITHIN


def test_malformed_convention_name_exits_2(tmp_path):
    _save(tmp_path / "a", _z_map())
    argv = [str(tmp_path / "a"), str(tmp_path / "a"), "--convention", "nilearn+ar_binning"]
    assert main([*argv, "--out", str(tmp_path / "o")]) == EXIT_INPUT


def test_reference_maps_missing_from_the_candidate_fail_the_verdict(tmp_path):
    for kind in ("z", "t", "p"):
        _save(tmp_path / "a", _z_map(), kind=kind)
    _save(tmp_path / "b", _z_map(), kind="z")
    out = tmp_path / "o"
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == EXIT_BEYOND
    report = json.loads((out / "compare.json").read_text())
    assert "2 of the reference's 3 maps missing from the candidate" in report["verdict"]


def test_candidate_maps_without_a_reference_are_listed_not_failed(tmp_path):
    _save(tmp_path / "a", _z_map(), kind="z")
    for kind in ("z", "t"):
        _save(tmp_path / "b", _z_map(), kind=kind)
    out = tmp_path / "o"
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(out)]) == EXIT_WITHIN
    report = json.loads((out / "compare.json").read_text())
    assert report["only_candidate"] == ["contrast-aMinusB_stat-t"]


def test_effect_maps_are_compared_relative_to_their_magnitude(tmp_path):
    # signal units: 1e5 * z differs by 1e-3 (1e-8 of its largest value): within 1e-6
    _save(tmp_path / "a", 1e5 * _z_map(), kind="effect")
    _save(tmp_path / "b", 1e5 * _z_map() + 1e-3 * _brain(), kind="effect")
    argv = [str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o")]
    assert main(argv) == EXIT_WITHIN


def test_effect_maps_beyond_the_relative_tolerance_fail(tmp_path):
    _save(tmp_path / "a", _z_map(), kind="effect")
    _save(tmp_path / "b", _z_map() * (1 + 1e-4), kind="effect")
    argv = [str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o")]
    assert main(argv) == EXIT_BEYOND


def test_z_maps_keep_the_absolute_tolerance(tmp_path):
    # the same 1e-3 on a z map is beyond 1e-6
    _save(tmp_path / "a", 1e5 * _z_map())
    _save(tmp_path / "b", 1e5 * _z_map() + 1e-3 * _brain())
    argv = [str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "o")]
    assert main(argv) == EXIT_BEYOND


def test_explain_scores_the_statistics_not_the_effects(synthetic_run, tmp_path):
    from refglm.compare.explain import scored_keys

    cand = _candidate_maps(synthetic_run, tmp_path / "c", "nistats")
    cand[("aMinusB", "effect")] = cand[("aMinusB", "z")]
    assert scored_keys(cand) == ([("aMinusB", "z")], False)


def test_peak_tables_follow_the_conventions_cluster_table_rules(monkeypatch):
    from refglm.compare import agreement
    from refglm.inference import cluster_table as clusters

    seen = []
    original = clusters.get_clusters_table

    def spy(*args, **kwargs):
        seen.append(kwargs.get("rules"))
        return original(*args, **kwargs)

    monkeypatch.setattr(clusters, "get_clusters_table", spy)
    agreement.peak_matching(_z_map(), _z_map(), AFFINE, "nilearn")
    assert seen == ["nilearn", "nilearn"]
