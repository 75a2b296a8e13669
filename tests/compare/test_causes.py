"""The cause of each voxel beyond tolerance (refglm.compare.causes, .accounting, --explain).

The numerics on arrays, then ``refglm compare --explain`` on a small synthetic run made
to have one AR-bin tie and one quantized tail: a voxel whose raw AR estimate is tuned
to 5e-9 below a bin edge (the candidate's, fitted on data moved by 1e-8 in rho, 5e-9
above it), and a voxel with t = -9.2 (z = -7.48, 1 - p = 335 float64 spacings), whose
p the candidate has one spacing away, as another scipy's ``t.sf`` gives it.
"""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from refglm import cli
from refglm.cli import EXIT_FAILED, EXIT_OK
from refglm.compare.causes import (
    classify_voxels,
    contrast_with_rho,
    neighbouring_bins,
)
from refglm.glm.z_quantization import (
    ULP_BELOW_ONE,
    quantization_onset,
    quantization_step,
    spacings_from_one,
    step_below,
)

U = ULP_BELOW_ONE
#: Exact formulas evaluated twice (bisection vs scipy): equal to rounding.
FORMULA_RTOL = 1e-9
#: refglm's own z recomputed voxel by voxel (contrast_with_rho) against the fit engine.
REFIT_ATOL = 1e-10


# ------------------------------------------------------------------ quantization of z


def test_quantization_begins_where_one_spacing_of_p_is_the_tolerance():
    z, k = quantization_onset(1e-6)
    assert_allclose(quantization_step(z), 1e-6, rtol=FORMULA_RTOL)


def test_quantization_onset_is_where_the_nistats_tails_end():
    # nistats 0.0.1rc0 against refglm: the shallowest tail voxel of the 16-setting grid
    # has z = -6.6337 (tests/peers/test_nistats.py), 1 - p = 147448 spacings
    z, k = quantization_onset(1e-6)
    assert (round(z, 4), round(k)) == (-6.6336, 147532)


def test_quantization_onset_counts_spacings_below_one():
    from scipy import stats

    z, k = quantization_onset(1e-6)
    assert_allclose(k, stats.norm.cdf(z) / U, rtol=FORMULA_RTOL)


def test_step_below_the_last_level_is_the_largest_nistats_difference():
    # z = norm.isf(1 - 2**-53) = -8.2095 and norm.isf(1 - 2**-52) = -8.1259 (scipy
    # 1.10.1 and 1.17.1 alike): the max |dz| of nistats rc0 against refglm on every
    # setting with tails (tests/peers/test_nistats.py)
    assert_allclose(step_below(1 - U), 0.08364548689947959, rtol=FORMULA_RTOL)


def test_step_below_is_nan_in_the_upper_half():
    assert np.isnan(step_below(0.3))


def test_spacings_from_one():
    assert spacings_from_one(1 - 643 * U) == 643


# ------------------------------------------------------------------------ AR-bin edges


def test_truncation_puts_either_side_of_an_edge_in_neighbouring_bins():
    own, other = neighbouring_bins(np.array([0.07 + 1e-12, 0.07 - 1e-12]))
    assert_allclose(np.c_[own, other], [[0.07, 0.06], [0.06, 0.07]])


def test_truncation_toward_zero_for_negative_rho():
    own, other = neighbouring_bins(np.array([-0.06 - 1e-9, -0.06 + 1e-9]))
    assert_allclose(np.c_[own, other], [[-0.06, -0.05], [-0.05, -0.06]])


def test_the_edge_at_zero_makes_no_tie_under_truncation():
    # int(+-1e-9 * 100) = 0 on both sides
    _, other = neighbouring_bins(np.array([1e-9, -1e-9]))
    assert np.isnan(other).all()


def test_a_rho_farther_than_the_distance_has_no_neighbouring_bin():
    _, other = neighbouring_bins(np.array([0.07 + 2e-6, 0.0687]))
    assert np.isnan(other).all()


def test_rounding_has_its_edges_at_half_bins():
    own, other = neighbouring_bins(np.array([0.075 + 1e-12, 0.075 - 1e-12]), binning="round")
    assert_allclose(np.c_[own, other], [[0.08, 0.07], [0.07, 0.08]])


def test_unbinned_rho_has_no_edge():
    _, other = neighbouring_bins(np.array([0.07]), binning="none")
    assert np.isnan(other).all()


def test_ols_has_no_edge():
    own, other = neighbouring_bins(np.array([np.nan]))
    assert np.isnan(own).all() and np.isnan(other).all()


# ---------------------------------------------------------------- the classification

Z_TAIL = -7.393722073379574  # the tutorial's voxel (22, 30, 26): 1 - p = 643 spacings
TOL = 1e-6


def _voxels():
    """One synthetic voxel per cause, and one within tolerance (column order)."""
    ref = np.array([1.0, 0.0, 2.1443, Z_TAIL, 3.0, 2.0])
    cand = np.array([1.0, 0.5, 2.1276, -7.393515542907472, 3.1, 2.2])
    return dict(
        reference=ref,
        candidate=cand,
        in_reference=ref != 0,
        in_candidate=cand != 0,
        threshold=TOL,
        tie_values=np.array([np.nan, np.nan, 2.1276, np.nan, np.nan, np.nan]),
        reference_p=np.array([0.16, np.nan, 0.016, 1 - 643 * U, 0.00135, 0.02]),
        candidate_p=np.array([0.16, 0.3, 0.0167, 1 - 644 * U, 0.00097, 0.014]),
        reference_stat=np.array([1.0, 0.0, 2.2, -8.892497663688715, 3.1, 2.1]),
        candidate_stat=np.array([1.0, 0.5, 2.19, -8.892497663688756, 3.2, 2.3]),
        convention=np.array([1.0, 0.4, 2.15, Z_TAIL, 3.1, 2.1]),
    )


def test_every_voxel_beyond_tolerance_gets_one_cause():
    out = classify_voxels(**_voxels())
    assert list(out["label"]) == ["", "mask_edge", "tie", "tail", "convention", "unexplained"]


def test_counts_have_every_cause():
    counts = classify_voxels(**_voxels())["counts"]
    assert counts == dict(convention=1, tie=1, tail=1, mask_edge=1, unexplained=1)


def test_a_mask_edge_voxel_counts_below_the_threshold():
    v = _voxels()
    v["candidate"][1] = 1e-9
    assert classify_voxels(**v)["label"][1] == "mask_edge"


def test_a_tail_needs_its_statistics_to_agree():
    # the same p and z, but t differs in its 7th digit: a real difference, not a tail
    v = _voxels()
    v["candidate_stat"][3] *= 1 + 1e-7
    assert classify_voxels(**v)["label"][3] == "unexplained"


def test_a_tail_needs_its_p_within_one_spacing():
    v = _voxels()
    v["candidate_p"][3] = 1 - 645 * U
    v["candidate"][3] = -7.3933
    assert classify_voxels(**v)["label"][3] == "unexplained"


def test_a_tail_needs_the_step_p_gives():
    # p one spacing apart but z moved 10 times the step: not quantization
    v = _voxels()
    v["candidate"][3] = Z_TAIL + 2e-3
    assert classify_voxels(**v)["label"][3] == "unexplained"


def test_the_upper_tail_is_not_quantized():
    v = _voxels()
    v["reference_p"][5] = 0.02
    v["candidate_p"][5] = 0.02 + 1e-18
    assert classify_voxels(**v)["label"][5] == "unexplained"


def test_a_tie_needs_the_candidate_at_the_neighbouring_bins_value():
    v = _voxels()
    v["tie_values"][2] = 2.13
    assert classify_voxels(**v)["label"][2] == "unexplained"


def test_without_a_convention_map_no_voxel_is_a_convention_choice():
    v = _voxels()
    v["convention"] = None
    assert classify_voxels(**v)["label"][4] == "unexplained"


# ----------------------------------------------------- a synthetic run with a tie, a tail

T_R = 2.0
N_SCANS = 80
SHAPE = (4, 4, 4)
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
TIE = (1, 1, 1)  # the voxel tuned to a bin edge
TAIL = (0, 0, 0)  # the voxel with t = -9.2
TIE_SCAN = 40  # the scan moved to tune rho
#: How far each side's rho is put from the edge: far beyond float64 rounding (1e-15),
#: well within causes.TIE_RHO_ATOL (1e-6).
EDGE_OFFSET = 5e-9


def _model(**params):
    from refglm.first_level.model import FirstLevelModel

    return FirstLevelModel(t_r=T_R, convention="nistats", engine="vectorized", **params)


def _tune(data, events, target):
    """data[TIE][TIE_SCAN] moved (secant method) so that the voxel's raw rho is ``target``."""
    one = np.zeros(SHAPE, dtype=bool)
    one[TIE] = True

    def rho(alpha):
        moved = data.copy()
        moved[(*TIE, TIE_SCAN)] += alpha
        return _model().fit_array(moved, AFFINE, events, mask=one).fit_.rho_raw[0] - target

    a0, f0, a1 = 0.0, rho(0.0), 0.1
    f1 = rho(a1)
    for _ in range(40):
        if abs(f1) < 1e-13:
            break
        a0, f0, a1 = a1, f1, a1 - f1 * (a1 - a0) / (f1 - f0)
        f1 = rho(a1)
    moved = data.copy()
    moved[(*TIE, TIE_SCAN)] += a1
    return moved


@pytest.fixture(scope="module")
def tie_tail_run(tmp_path_factory):
    """A float64 run whose voxel TIE has rho 5e-9 below a bin edge; its candidate's
    data, 5e-9 above it; the voxel TAIL strongly deactivated (a - b: t = -9.2)."""
    folder = tmp_path_factory.mktemp("tie_tail")
    rng = np.random.default_rng(7)
    onsets = np.arange(0, N_SCANS * T_R, 20.0)
    events = pd.DataFrame(
        {"onset": onsets, "duration": 10.0, "trial_type": ["a", "b"] * (len(onsets) // 2)}
    )
    events.to_csv(folder / "events.tsv", sep="\t", index=False)
    noise = np.zeros((*SHAPE, N_SCANS))
    rho = rng.uniform(0.1, 0.5, SHAPE)
    for t in range(N_SCANS):
        noise[..., t] = rng.standard_normal(SHAPE) + (rho * noise[..., t - 1] if t else 0)
    data = 1000 + 5 * noise
    mask = np.ones(SHAPE, dtype=bool)
    X = _model(minimize_memory=False).fit_array(data, AFFINE, events, mask=mask).X_
    data[TAIL] += 15 * X[:, 1]  # column 'b'
    one = np.zeros(SHAPE, dtype=bool)
    one[TIE] = True
    rho0 = _model().fit_array(data, AFFINE, events, mask=one).fit_.rho_raw[0]
    edge = np.rint(rho0 * 100) / 100
    reference = _tune(data, events, edge - EDGE_OFFSET)
    candidate = _tune(data, events, edge + EDGE_OFFSET)
    nib.save(nib.Nifti1Image(reference, AFFINE), folder / "run.nii.gz")
    nib.save(nib.Nifti1Image(mask.astype(np.int8), AFFINE), folder / "mask.nii.gz")
    return {"folder": folder, "events": events, "candidate_data": candidate, "edge": edge}


def _fit(run, data):
    mask = np.ones(SHAPE, dtype=bool)
    return _model(minimize_memory=False).fit_array(data, AFFINE, run["events"], mask=mask)


def _index(ijk):
    return int(np.ravel_multi_index(ijk, SHAPE))


def _save_maps(folder, result):
    folder.mkdir()
    for kind, values in (("z", result.z_score), ("t", result.stat), ("p", result.p_value)):
        volume = values.reshape(SHAPE)
        nib.save(
            nib.Nifti1Image(volume, AFFINE), folder / f"contrast-aMinusB_stat-{kind}_statmap.nii.gz"
        )
    return folder


def _moved_p(result, ijk):
    """The result with voxel ijk's p one float64 spacing nearer 1, z = norm.isf(p)."""
    from scipy import stats

    i = _index(ijk)
    result.p_value = result.p_value.copy()
    result.z_score = result.z_score.copy()
    result.p_value[i] += U
    result.z_score[i] = stats.norm.isf(result.p_value[i])
    return result


@pytest.fixture(scope="module")
def reference_model(tie_tail_run):
    return _fit(tie_tail_run, nib.load(tie_tail_run["folder"] / "run.nii.gz").get_fdata())


def test_the_tuned_voxel_is_just_below_its_edge(tie_tail_run, reference_model):
    rho = reference_model.fit_.rho_raw[_index(TIE)]
    assert 0 < tie_tail_run["edge"] - rho <= 2 * EDGE_OFFSET


def test_the_candidates_voxel_is_in_the_neighbouring_bin(tie_tail_run, reference_model):
    candidate = _fit(tie_tail_run, tie_tail_run["candidate_data"])
    bins = [m.fit_.rho[_index(TIE)] for m in (reference_model, candidate)]
    assert_allclose(bins, [tie_tail_run["edge"] - 0.01, tie_tail_run["edge"]], atol=1e-12)


def test_the_tail_voxel_is_quantized_coarser_than_the_tolerance(reference_model):
    p = reference_model.contrast_result("a - b").p_value[_index(TAIL)]
    assert step_below(p) > TOL


def test_contrast_with_rho_reproduces_the_fit_in_its_own_bin(reference_model):
    m = reference_model
    C = np.array([[1.0, -1.0, 0, 0, 0, 0]])
    redo = contrast_with_rho(m.signals_, m.X_, m.fit_.rho, C)
    assert_allclose(redo.z_score, m.contrast_result("a - b").z_score, rtol=0, atol=REFIT_ATOL)


def test_contrast_with_rho_in_the_neighbouring_bin_is_the_candidates_z(
    tie_tail_run, reference_model
):
    m = reference_model
    i = _index(TIE)
    C = np.array([[1.0, -1.0, 0, 0, 0, 0]])
    redo = contrast_with_rho(m.signals_[:, [i]], m.X_, np.array([tie_tail_run["edge"]]), C)
    candidate = _fit(tie_tail_run, tie_tail_run["candidate_data"])
    z = candidate.contrast_result("a - b").z_score[i]
    assert abs(redo.z_score[0] - z) <= TOL


# --------------------------------------------------------------- refglm compare --explain


@pytest.fixture(scope="module")
def candidate_maps(tie_tail_run, tmp_path_factory):
    """The candidate: fitted on the data tuned across the edge, the tail's p moved."""
    candidate = _fit(tie_tail_run, tie_tail_run["candidate_data"])
    result = _moved_p(candidate.contrast_result("a - b"), TAIL)
    return _save_maps(tmp_path_factory.mktemp("cand") / "maps", result)


def _compare(run, candidate, out, *extra):
    folder = run["folder"]
    argv = [
        "compare",
        str(candidate),
        "--reference-from-data",
        str(folder / "run.nii.gz"),
        "--events",
        str(folder / "events.tsv"),
        "--t-r",
        str(T_R),
        "--mask",
        str(folder / "mask.nii.gz"),
        "--hrf-model",
        "glover",
        "--engine",
        "vectorized",
        "--explain",
        "--out",
        str(out),
        *extra,
    ]
    code = cli.main(argv)
    return code, json.loads((out / "compare.json").read_text())


@pytest.fixture(scope="module")
def compared(tie_tail_run, candidate_maps, tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    code, report = _compare(tie_tail_run, candidate_maps, out)
    return code, report, out


def test_explain_finds_the_tie(compared):
    _, report, _ = compared
    counts = report["explain"]["voxels"]["maps"]["contrast-aMinusB_stat-z"]["counts"]
    assert counts["tie"] == 1


def test_explain_finds_the_tail(compared):
    _, report, _ = compared
    counts = report["explain"]["voxels"]["maps"]["contrast-aMinusB_stat-z"]["counts"]
    assert counts["tail"] == 1


def test_explain_leaves_nothing_unexplained(compared):
    _, report, _ = compared
    assert (report["explain"]["voxels"]["unexplained"], report["explain"]["explained"]) == (
        0,
        True,
    )


def test_the_tie_shows_both_bins_and_the_z_each_gives(compared, tie_tail_run):
    _, report, _ = compared
    voxels = report["explain"]["voxels"]["maps"]["contrast-aMinusB_stat-z"]["voxels"]
    tie = next(v for v in voxels if v["cause"] == "tie")
    edge = tie_tail_run["edge"]
    assert tie["ijk"] == list(TIE)
    assert_allclose(tie["bins"], [edge - 0.01, edge], atol=1e-12)
    assert abs(tie["values"][1] - tie["candidate"]) <= TOL


def test_the_tail_shows_its_spacings_and_the_step(compared):
    _, report, _ = compared
    voxels = report["explain"]["voxels"]["maps"]["contrast-aMinusB_stat-z"]["voxels"]
    tail = next(v for v in voxels if v["cause"] == "tail")
    k_ref, k_cand = tail["p_spacings_from_one"]
    assert (tail["ijk"], k_ref - k_cand) == (list(TAIL), 1)
    assert_allclose(tail["step"], tail["abs_delta"], rtol=1e-6)


def test_allow_ties_gives_the_verdict_without_ties_and_tails(compared):
    code, report, _ = compared
    assert (code, report["within_tolerance"]) == (EXIT_OK, True)
    assert report["verdict"].startswith("WITHIN TOLERANCE after ties and tails (--allow-ties)")


def test_no_allow_ties_counts_them(tie_tail_run, candidate_maps, tmp_path):
    code, report = _compare(tie_tail_run, candidate_maps, tmp_path / "o", "--no-allow-ties")
    assert (code, report["within_tolerance"], report["causes"]["counts"]["tail"]) == (
        EXIT_FAILED,
        False,
        1,
    )


def test_reports_list_the_causes(compared):
    _, _, out = compared
    md = (out / "compare.md").read_text()
    html = (out / "compare.html").read_text()
    assert "### AR-bin ties: the two bins and the value each gives" in md
    assert "Quantized tails" in md and "Causes of the voxels beyond tolerance" in html


def test_the_cli_prints_the_count_of_each_cause(tie_tail_run, candidate_maps, tmp_path, capsys):
    _compare(tie_tail_run, candidate_maps, tmp_path / "o")
    out = capsys.readouterr().out
    # the tie voxel is beyond tolerance in the z, t and p maps, the tail only in z
    assert (
        "voxels beyond tolerance by cause (summed over the 3 map pairs): 0 convention "
        "choice, 3 AR-bin tie, 1 quantized tail, 0 mask edge, 0 unexplained (--allow-ties" in out
    )


def test_a_real_difference_stays_unexplained_and_fails(tie_tail_run, tmp_path):
    # the candidate's t at the tail voxel 1e-3 larger (relatively): its p moves by ~10
    # spacings near 1 and z by ~3e-3, a difference of the statistic, not of the
    # conversion to z: not excused, whatever --allow-ties says
    from scipy import stats

    model = _fit(tie_tail_run, nib.load(tie_tail_run["folder"] / "run.nii.gz").get_fdata())
    result = model.contrast_result("a - b")
    i = _index(TAIL)
    result.stat = result.stat.copy()
    result.p_value = result.p_value.copy()
    result.z_score = result.z_score.copy()
    result.stat[i] *= 1 + 1e-3
    result.p_value[i] = stats.t.sf(result.stat[i], result.df[i])
    result.z_score[i] = stats.norm.isf(result.p_value[i])
    maps = _save_maps(tmp_path / "maps", result)
    code, report = _compare(tie_tail_run, maps, tmp_path / "o")
    z = report["explain"]["voxels"]["maps"]["contrast-aMinusB_stat-z"]["counts"]
    assert (code, z["unexplained"], z["tail"]) == (EXIT_FAILED, 1, 0)


def test_a_voxel_in_one_mask_only_is_a_mask_edge(tie_tail_run, reference_model, tmp_path):
    result = reference_model.contrast_result("a - b")
    for name in ("z_score", "stat", "p_value"):
        values = getattr(result, name).copy()
        values[_index((3, 3, 3))] = 0.0
        setattr(result, name, values)
    maps = _save_maps(tmp_path / "maps", result)
    _, report = _compare(tie_tail_run, maps, tmp_path / "o")
    assert (
        report["explain"]["voxels"]["maps"]["contrast-aMinusB_stat-z"]["counts"]["mask_edge"] == 1
    )


def test_without_explain_the_verdict_counts_every_voxel_and_says_what_explains(
    tie_tail_run, candidate_maps, tmp_path, capsys
):
    folder = tie_tail_run["folder"]
    argv = [
        "compare",
        str(candidate_maps),
        "--reference-from-data",
        str(folder / "run.nii.gz"),
        "--events",
        str(folder / "events.tsv"),
        "--t-r",
        str(T_R),
        "--mask",
        str(folder / "mask.nii.gz"),
        "--engine",
        "vectorized",
        "--out",
        str(tmp_path / "o"),
    ]
    assert cli.main(argv) == EXIT_FAILED
    assert "--explain gives each voxel beyond tolerance a cause" in capsys.readouterr().out
