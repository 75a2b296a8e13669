"""Golden values: the nistats SPM auditory tutorial, reproduced on the real data.

Provenance of every golden number: refglm/validation/golden/*.json (tool, version,
command). The values come from ../shared/seed/tutorial-single-subject-single-run.txt,
printed by nistats 0.0.1b1's plot_single_subject_single_run.py. These tests
run in CI on ../shared/data/spm_auditory and fail (never skip) without it.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytestmark = [pytest.mark.golden, pytest.mark.slow]

GOLDEN = Path(__file__).resolve().parents[2] / "refglm" / "validation" / "golden"
THRESHOLDS = json.loads((GOLDEN / "spm_auditory_thresholds.json").read_text())
DESIGN = json.loads((GOLDEN / "spm_auditory_design.json").read_text())
CLUSTERS_META = json.loads((GOLDEN / "spm_auditory_clusters.json").read_text())
# nistats 0.0.1b1 get_clusters_table(z_map, stat_threshold=2.760, cluster_threshold=20)
TABLE = pd.read_csv(GOLDEN / "spm_auditory_clusters.tsv", sep="\t", dtype={"Cluster ID": str})

THRESHOLD_ATOL = 1e-6  # the reference-core issue's tolerance on the three thresholds
PEAK_ATOL = CLUSTERS_META["tolerances"]["Peak Stat"]  # 5e-6; printed to 6 decimals


def test_golden_table_has_37_rows():
    assert len(TABLE) == 37


def test_mask_has_62073_voxels(tutorial_results):
    # nilearn compute_epi_mask as nistats' NiftiMasker(mask_strategy='epi') ran it
    assert tutorial_results.mask_voxels == DESIGN["mask_voxels"] == 62073


def test_design_matrix_columns(tutorial_results):
    assert list(tutorial_results.design.columns) == DESIGN["columns"]
    assert tutorial_results.design.shape == (96, 16)


def test_design_frame_times_are_linspace_0_665(tutorial_results):
    # nistats first_level_model.py: np.linspace(0, (n_scans - 1) * t_r, n_scans)
    assert_array_equal(tutorial_results.design.index.to_numpy(), np.linspace(0, 665, 96))


@pytest.mark.parametrize("name", ["fpr", "bonferroni", "fdr"])
def test_threshold(tutorial_results, name):
    spec = THRESHOLDS["thresholds"][name]
    assert_allclose(tutorial_results.thresholds[name], spec["value"], rtol=0, atol=THRESHOLD_ATOL)


def test_cluster_table_ids(tutorial_results):
    assert list(tutorial_results.clusters["Cluster ID"].astype(str)) == list(TABLE["Cluster ID"])


@pytest.mark.parametrize("axis", ["X", "Y", "Z"])
def test_cluster_table_coordinates_exact(tutorial_results, axis):
    assert_array_equal(tutorial_results.clusters[axis].to_numpy(float), TABLE[axis].to_numpy())


def test_cluster_table_sizes_exact(tutorial_results):
    ours = pd.to_numeric(tutorial_results.clusters["Cluster Size (mm3)"], errors="coerce")
    assert_array_equal(ours.to_numpy(), TABLE["Cluster Size (mm3)"].to_numpy())


def test_cluster_table_peaks(tutorial_results):
    assert_allclose(
        tutorial_results.clusters["Peak Stat"].to_numpy(float),
        TABLE["Peak Stat"].to_numpy(),
        rtol=0,
        atol=PEAK_ATOL,
    )


# Half a unit in the 6th decimal: how far a value printed by pandas to 6
# decimals can be from the number that was printed.
PRINT_ROUNDING_ATOL = 5e-7
# Float32 arithmetic of the scaling moves peaks by at most this much (measured:
# 2.34e-6 at row 8a; `python validation/spm_auditory_tutorial.py`).
FLOAT32_SCALING_SPREAD = 2.5e-6


def test_default_peaks_sit_within_the_float32_spread(tutorial_results):
    """Under the default (float32 scaling, as specified) 21 of 37 peaks differ from
    the printed ones by more than print rounding, but never by more than the
    float32 spread; the next test shows where that residue comes from."""
    delta = np.abs(tutorial_results.clusters["Peak Stat"].to_numpy(float) - TABLE["Peak Stat"])
    assert delta.max() <= FLOAT32_SCALING_SPREAD
    assert (delta > PRINT_ROUNDING_ATOL).sum() == 21


def test_printed_peaks_are_reproduced_to_every_digit_with_float64_scaling(spm_auditory):
    """The tutorial's printed peaks match a float64 signal scaling to print rounding.

    The 2019 run that printed the seed (nistats with nilearn 0.5, Python 3.6)
    evidently held the masked signals in float64 when it scaled them: with
    ``scaling_dtype='float64'`` all 37 peaks agree with the printed values to
    within 5e-7 (largest 4.78e-7), while the float32 scaling the reference-core
    issue specifies leaves 21 of them up to 2.34e-6 away. docs/validation.md.
    """
    from refglm.conventions import get_convention
    from refglm.workflows import run_tutorial

    conv = get_convention("nistats").flipped(scaling_dtype="float64")
    results = run_tutorial(data_dir=spm_auditory.data_dir, engine="vectorized", convention=conv)
    assert_allclose(
        results.clusters["Peak Stat"].to_numpy(float),
        TABLE["Peak Stat"].to_numpy(),
        rtol=0,
        atol=PRINT_ROUNDING_ATOL,
    )
    # the rest of the table is the same as under the default
    assert_array_equal(results.clusters["Cluster ID"].astype(str), TABLE["Cluster ID"])
    spec = THRESHOLDS["thresholds"]["fdr"]
    assert_allclose(results.thresholds["fdr"], spec["value"], rtol=0, atol=THRESHOLD_ATOL)


def test_peak_z_at_minus60_minus6_42(tutorial_results):
    z = tutorial_results.z_maps["activeMinusRest"]
    ijk = np.rint(np.linalg.inv(z.affine) @ [-60, -6, 42, 1])[:3].astype(int)
    assert_allclose(z.get_fdata()[tuple(ijk)], 9.811979, rtol=0, atol=PEAK_ATOL)


def test_df_is_80(tutorial_model):
    assert_array_equal(np.unique(tutorial_model.fit_.df_resid), [80.0])


def test_fdr_threshold_between_fpr_and_bonferroni_at_same_alpha(tutorial_results):
    from refglm.inference.threshold_map import fpr_threshold

    t = tutorial_results.thresholds  # fdr and bonferroni at alpha .05
    assert fpr_threshold(0.05) < t["fdr"] < t["bonferroni"]


def _checks():
    from refglm.validation import Check

    return [
        Check("mask voxels", 62073, 62073, "exact"),
        Check("row 0 (1) X", -60.0, -60.0, "exact"),
        Check("row 0 (1) Peak Stat", 9.8119792, 9.811979, 5e-6),
        Check("row 1 (1a) Peak Stat", 8.601924, 8.601922, 5e-6),
        Check("row 1 (1a) Cluster Size (mm3)", "", "", "exact"),
    ]


def test_format_checks_prints_the_verdict_first():
    from refglm.validation import format_checks

    lines = format_checks(_checks()).splitlines()
    assert lines[0] == (
        "golden checks: 5 passed, 0 failed; largest |delta| over toleranced quantities "
        "2.00e-06 (row 1 (1a) Peak Stat, tolerance 5e-06)"
    )
    assert lines.index("largest deltas (relative to their tolerance):") < lines.index(
        "every check (5; subpeak rows have an empty size):"
    )


def test_format_checks_quiet_is_the_verdict_alone():
    from refglm.validation import format_checks

    assert format_checks(_checks(), quiet=True) == format_checks(_checks()).splitlines()[0]


def test_format_checks_lists_failures_before_the_rows():
    from refglm.validation import Check, format_checks

    lines = format_checks([*_checks(), Check("mask voxels", 62074, 62073, "exact")]).splitlines()
    assert lines[0].startswith("golden checks: 5 passed, 1 failed")
    assert lines[1] == "failed:" and lines[3].strip().startswith("mask voxels")


def test_whole_numbers_print_whole():
    from refglm.validation import format_number

    assert [format_number(v) for v in (-60.0, 62073, 9.811979, 3.0902323061678132)] == [
        "-60",
        "62073",
        "9.811979",
        "3.090232306",
    ]


def test_subpeak_sizes_are_checked_empty(tutorial_results):
    from refglm.validation import checks_for

    sizes = {c.quantity: c for c in checks_for(tutorial_results) if "Cluster Size" in c.quantity}
    subpeak, peak = sizes["row 1 (1a) Cluster Size (mm3)"], sizes["row 0 (1) Cluster Size (mm3)"]
    assert (subpeak.value, subpeak.golden, subpeak.ok) == ("", "", True)
    assert (peak.value, peak.golden) == (4590, 4590)
