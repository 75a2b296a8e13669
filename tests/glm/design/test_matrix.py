"""Tests for refglm.glm.design.matrix: first-level design matrices.

The oracle for the default ('nistats') convention is the frozen copy of nistats
0.0.1rc0 in tests/_nistats_ref (see its README for the patches); the oracle for the
'nilearn' convention is the installed nilearn 0.14.1 (tests marked ``peers``).
"""

import importlib
import importlib.util
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from refglm.exceptions import InputError
from refglm.glm import design
from refglm.glm.design import HRF_CHOICES, HRF_MODELS

# Named tolerances, one per compared quantity.
DESIGN_ATOL = 1e-12  # design-matrix entries vs the reference implementation
ORTHONORMAL_ATOL = 1e-12  # cosine drift Gram matrix vs the identity
POLY_ORTHOGONALITY_ATOL = 1e-10  # polynomial drift inner products (scaled units)
FRAME_TIMES_ATOL = 0.0  # design index vs the frame times passed in

_REF_DIR = Path(__file__).resolve().parents[2] / "_nistats_ref"
_DATA_DIR = Path(
    os.environ.get(
        "REFGLM_DATA_DIR", Path(__file__).resolve().parents[4] / "shared/data/spm_auditory"
    )
)
EVENTS_TSV = _DATA_DIR / "sub001" / "fM00223" / "fM00223_events.tsv"
TUTORIAL_COLUMNS = ["active", "rest"] + [f"drift_{k}" for k in range(1, 14)] + ["constant"]

# Source warnings that the reference implementations emit for valid input.
_SOURCE_WARNINGS = [
    "ignore:'modulation' column found",
    "ignore:The following conditions contain events with null duration",
    "ignore:Duplicated events were detected",
    "ignore:Some stimulus onsets",
    "ignore:The following unexpected columns",
]


def _ignore_source_warnings(function):
    for spec in _SOURCE_WARNINGS:
        function = pytest.mark.filterwarnings(spec)(function)
    return function


def _nistats_ref(module):
    """Import ``module`` from the vendored nistats 0.0.1rc0 copy in tests/_nistats_ref."""
    if "_nistats_ref" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "_nistats_ref", _REF_DIR / "__init__.py", submodule_search_locations=[str(_REF_DIR)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules["_nistats_ref"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"_nistats_ref.{module}")


def _nilearn_design():
    pytest.importorskip("nilearn")
    return importlib.import_module("nilearn.glm.first_level.design_matrix")


def _tutorial_events():
    """SPM auditory events; the tutorial's 16 blocks written out if the file is absent."""
    if EVENTS_TSV.exists():
        return pd.read_csv(EVENTS_TSV, sep="\t")
    onsets = np.arange(16) * 42.0
    trial_type = ["rest", "active"] * 8
    return pd.DataFrame({"onset": onsets, "duration": 42.0, "trial_type": trial_type})


def _frame_times(n_scans, t_r, slice_time_ref=0.0):
    # nistats 0.0.1rc0 first_level_model.py: np.linspace(start_time, end_time, n_scans)
    return np.linspace(slice_time_ref * t_r, (n_scans - 1 + slice_time_ref) * t_r, n_scans)


def _random_events(seed, run_end, n_events=18, modulation=False):
    """Three conditions, onsets on a 0.1 s grid, zero and long durations, one duplicate."""
    rng = np.random.default_rng(seed)
    onsets = np.round(rng.uniform(0, 0.9 * run_end, n_events), 1)
    trial_type = np.array(["a", "b", "c"])[np.arange(n_events) % 3]
    durations = rng.choice([0.0, 0.5, 1.0, 2.5, 10.0], n_events)
    events = pd.DataFrame({"onset": onsets, "duration": durations, "trial_type": trial_type})
    events.loc[n_events - 1] = events.loc[0]  # an exact duplicate event
    if modulation:
        events["modulation"] = rng.uniform(0.5, 2.0, n_events)
    return events


def _case(n_scans=96, t_r=7.0, slice_time_ref=0.0, events="tutorial", **kwargs):
    frame_times = _frame_times(n_scans, t_r, slice_time_ref)
    if events == "tutorial":
        table = _tutorial_events()
    else:
        table = _random_events(events, frame_times[-1], modulation=kwargs.pop("modulation", False))
    kwargs.setdefault("hrf_model", "spm")
    kwargs.setdefault("drift_model", "cosine")
    return frame_times, table, kwargs


# The spread compared against both references: (id, case keyword arguments).
CASES = (
    [("tutorial", {})]
    + [
        (f"hrf={model}", {"hrf_model": model, "fir_delays": [0, 1, 2]})
        for model in HRF_MODELS
        if model != "spm"
    ]
    + [(f"high_pass={hp}", {"high_pass": hp}) for hp in (0.005, 1 / 128, 0.02, 0.05)]
    + [
        (f"polynomial-{order}", {"drift_model": "polynomial", "drift_order": order})
        for order in range(4)
    ]
    + [("no-drift", {"drift_model": None})]
    + [(f"{n}-scans", {"n_scans": n}) for n in (40, 63)]
    + [(f"{n}-scans-glover", {"n_scans": n, "hrf_model": "glover"}) for n in (40, 63)]
    + [
        (
            f"t_r=2.5-seed{seed}-{model}",
            {"n_scans": 150, "t_r": 2.5, "events": seed, "hrf_model": model, "fir_delays": [0, 3]},
        )
        for seed, model in enumerate(
            ["spm", "glover + derivative + dispersion", "fir", None, "spm + derivative"]
        )
    ]
    + [
        ("t_r=2.5-modulation", {"n_scans": 80, "t_r": 2.5, "events": 11, "modulation": True}),
        ("t_r=2.5-slice-time-ref", {"n_scans": 80, "t_r": 2.5, "slice_time_ref": 0.5}),
        ("oversampling=16", {"oversampling": 16, "hrf_model": "glover + derivative"}),
        ("min_onset=-10", {"min_onset": -10, "events": 5, "n_scans": 60, "t_r": 2.5}),
    ]
)
CASE_PARAMS = [pytest.param(kwargs, id=case_id) for case_id, kwargs in CASES]


def _assert_same_design(actual, reference):
    assert list(actual.columns) == list(reference.columns)
    assert_allclose(
        np.asarray(actual.index, dtype=float),
        np.asarray(reference.index, dtype=float),
        rtol=0,
        atol=FRAME_TIMES_ATOL,
    )
    assert_allclose(actual.to_numpy(), reference.to_numpy(), rtol=0, atol=DESIGN_ATOL)


# ---------------------------------------------------------------------------
# Against nistats 0.0.1rc0 (default convention)
# ---------------------------------------------------------------------------


@_ignore_source_warnings
def test_tutorial_design_columns():
    frame_times, events, kwargs = _case()
    actual = design.make_first_level_design_matrix(frame_times, events, **kwargs)
    assert list(actual.columns) == TUTORIAL_COLUMNS


@_ignore_source_warnings
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_design_matches_nistats(case):
    frame_times, events, kwargs = _case(**case)
    reference = _nistats_ref("design_matrix").make_first_level_design_matrix(
        frame_times, events, **kwargs
    )
    actual = design.make_first_level_design_matrix(frame_times, events, **kwargs)
    _assert_same_design(actual, reference)


@_ignore_source_warnings
def test_design_with_add_regs_matches_nistats():
    frame_times, events, kwargs = _case(n_scans=63)
    add_regs = np.random.default_rng(3).normal(size=(63, 2))
    reference = _nistats_ref("design_matrix").make_first_level_design_matrix(
        frame_times, events, add_regs=add_regs, add_reg_names=["tx", "ty"], **kwargs
    )
    actual = design.make_first_level_design_matrix(
        frame_times, events, add_regs=add_regs, add_reg_names=["tx", "ty"], **kwargs
    )
    _assert_same_design(actual, reference)


def test_design_without_events_matches_nistats():
    frame_times = _frame_times(63, 2.5)
    reference = _nistats_ref("design_matrix").make_first_level_design_matrix(frame_times)
    actual = design.make_first_level_design_matrix(frame_times)
    _assert_same_design(actual, reference)


# ---------------------------------------------------------------------------
# Against nilearn 0.14.1 (nilearn convention)
# ---------------------------------------------------------------------------


@pytest.mark.peers
@_ignore_source_warnings
@pytest.mark.parametrize("case", CASE_PARAMS)
def test_design_matches_nilearn(case):
    frame_times, events, kwargs = _case(**case)
    reference = _nilearn_design().make_first_level_design_matrix(frame_times, events, **kwargs)
    actual = design.make_first_level_design_matrix(
        frame_times, events, convention="nilearn", **kwargs
    )
    _assert_same_design(actual, reference)


@pytest.mark.peers
@_ignore_source_warnings
def test_design_with_dataframe_add_regs_matches_nilearn():
    frame_times, events, kwargs = _case(n_scans=63)
    add_regs = pd.DataFrame(np.random.default_rng(4).normal(size=(63, 2)), columns=["tx", "ty"])
    reference = _nilearn_design().make_first_level_design_matrix(
        frame_times, events, add_regs=add_regs, **kwargs
    )
    actual = design.make_first_level_design_matrix(
        frame_times, events, add_regs=add_regs, convention="nilearn", **kwargs
    )
    _assert_same_design(actual, reference)


# ---------------------------------------------------------------------------
# Conventions
# ---------------------------------------------------------------------------


def _tutorial_difference(hrf_model):
    frame_times, events, kwargs = _case(hrf_model=hrf_model)
    nistats = design.make_first_level_design_matrix(frame_times, events, **kwargs)
    nilearn = design.make_first_level_design_matrix(
        frame_times, events, convention="nilearn", **kwargs
    )
    return np.abs(nistats.to_numpy() - nilearn.to_numpy()).max()


def test_tutorial_spm_design_is_the_same_in_both_conventions():
    assert_allclose(_tutorial_difference("spm"), 0.0, atol=DESIGN_ATOL)


def test_tutorial_glover_design_moves_by_about_0_40_between_conventions():
    assert_allclose(_tutorial_difference("glover"), 0.4023, atol=5e-4)


def test_full_convention_mapping_equals_named_convention():
    frame_times, events, kwargs = _case(hrf_model="glover")
    mapping = {**HRF_CHOICES["nilearn"], **design.DESIGN_CHOICES["nilearn"]}
    by_mapping = design.make_first_level_design_matrix(
        frame_times, events, convention=mapping, **kwargs
    )
    by_name = design.make_first_level_design_matrix(
        frame_times, events, convention="nilearn", **kwargs
    )
    assert_array_equal(by_mapping.to_numpy(), by_name.to_numpy())


def test_nistats_convention_keeps_duplicate_events_once():
    frame_times = np.arange(30.0)
    events = pd.DataFrame({"onset": [5.0, 5.0], "duration": [4.0, 4.0], "trial_type": "a"})
    matrix = design.make_first_level_design_matrix(frame_times, events, hrf_model=None)
    assert_allclose(matrix["a"].max(), 1.0, rtol=0, atol=DESIGN_ATOL)


def test_nilearn_convention_sums_duplicate_events():
    frame_times = np.arange(30.0)
    events = pd.DataFrame({"onset": [5.0, 5.0], "duration": [4.0, 4.0], "trial_type": "a"})
    matrix = design.make_first_level_design_matrix(
        frame_times, events, hrf_model=None, convention="nilearn"
    )
    assert_allclose(matrix["a"].max(), 2.0, rtol=0, atol=DESIGN_ATOL)


# ---------------------------------------------------------------------------
# Events handling
# ---------------------------------------------------------------------------


def test_missing_trial_type_gives_one_dummy_condition():
    frame_times = _frame_times(40, 2.0)
    events = pd.DataFrame({"onset": [4.0, 30.0], "duration": [2.0, 2.0]})
    matrix = design.make_first_level_design_matrix(frame_times, events)
    assert list(matrix.columns[:2]) == ["dummy", "drift_1"]


def test_unknown_extra_columns_are_ignored():
    frame_times, events, kwargs = _case()
    with_extra = events.assign(response_time=1.3, note="x")
    expected = design.make_first_level_design_matrix(frame_times, events, **kwargs)
    actual = design.make_first_level_design_matrix(frame_times, with_extra, **kwargs)
    assert_array_equal(actual.to_numpy(), expected.to_numpy())


def test_check_events_defaults_modulation_to_one():
    table = design.check_events(pd.DataFrame({"onset": [1.0], "duration": [0.0]}))
    assert table["modulation"].tolist() == [1.0]


def test_numeric_strings_are_accepted_like_nilearn():
    table = design.check_events(pd.DataFrame({"onset": ["1.5"], "duration": ["2"]}))
    assert table[["onset", "duration"]].to_numpy().tolist() == [[1.5, 2.0]]


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:High-pass filter will span")
@settings(deadline=None, max_examples=80)
@given(
    n_scans=st.integers(4, 400),
    t_r=st.floats(0.3, 5.0),
    high_pass=st.floats(1e-4, 0.5),
)
def test_cosine_drifts_are_orthonormal(n_scans, t_r, high_pass):
    drift, _ = design.make_drift("cosine", _frame_times(n_scans, t_r), high_pass=high_pass)
    cosines = drift[:, :-1]
    assert_allclose(cosines.T @ cosines, np.eye(cosines.shape[1]), rtol=0, atol=ORTHONORMAL_ATOL)


@settings(deadline=None, max_examples=30)
@given(n_scans=st.integers(10, 200), order=st.integers(0, 4))
def test_polynomial_drifts_are_mutually_orthogonal(n_scans, order):
    drift, names = design.make_drift("polynomial", _frame_times(n_scans, 2.0), drift_order=order)
    gram = drift.T @ drift
    scale = np.sqrt(np.outer(np.diag(gram), np.diag(gram)))
    off_diagonal = (gram - np.diag(np.diag(gram))) / scale
    assert names[-1] == "constant"
    assert_allclose(off_diagonal, 0.0, atol=POLY_ORTHOGONALITY_ATOL)


@settings(deadline=None, max_examples=40)
@given(
    data=st.data(),
    n_scans=st.integers(60, 160),
    t_r=st.floats(1.0, 3.0),
    hrf_model=st.sampled_from(["spm", "glover", "spm + derivative", "glover + derivative"]),
    convention=st.sampled_from(["nistats", "nilearn"]),
)
def test_design_has_full_rank_for_reasonable_events(data, n_scans, t_r, hrf_model, convention):
    scans = data.draw(
        st.lists(st.integers(0, int(0.8 * n_scans)), min_size=6, max_size=20, unique=True)
    )
    scans = np.sort(scans)
    durations = data.draw(
        st.lists(st.sampled_from([0.0, 1.0, 5.0, 15.0]), min_size=scans.size, max_size=scans.size)
    )
    events = pd.DataFrame(
        {
            "onset": scans * t_r,
            "duration": durations,
            "trial_type": np.array(["a", "b"])[np.arange(scans.size) % 2],
        }
    )
    matrix = design.make_first_level_design_matrix(
        _frame_times(n_scans, t_r), events, hrf_model=hrf_model, convention=convention
    ).to_numpy()
    assert np.linalg.matrix_rank(matrix) == matrix.shape[1]


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


def _design(events=None, **kwargs):
    return design.make_first_level_design_matrix(_frame_times(40, 2.0), events, **kwargs)


def _events(**columns):
    base = {"onset": [2.0, 20.0], "duration": [1.0, 1.0], "trial_type": ["a", "a"]}
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


def test_unknown_hrf_model_is_rejected():
    with pytest.raises(InputError, match="hrf_model"):
        _design(_events(), hrf_model="canonical")


def test_unknown_drift_model_is_rejected():
    with pytest.raises(InputError, match="drift_model"):
        _design(drift_model="blank")


@pytest.mark.parametrize("high_pass", [0.0, -0.01, float("nan")])
def test_non_positive_high_pass_is_rejected(high_pass):
    with pytest.raises(InputError, match="high_pass"):
        _design(high_pass=high_pass)


def test_bad_drift_order_is_rejected():
    with pytest.raises(InputError, match="drift_order"):
        _design(drift_model="polynomial", drift_order=-1)


def test_unknown_convention_is_rejected():
    with pytest.raises(InputError, match="convention"):
        _design(convention="spm")


def test_events_must_be_a_dataframe():
    with pytest.raises(InputError, match="events"):
        _design({"onset": [1.0], "duration": [1.0]})


@pytest.mark.parametrize("column", ["onset", "duration"])
def test_missing_required_column_is_rejected(column):
    with pytest.raises(InputError, match=f"'{column}' column"):
        _design(_events(**{column: None}))


@pytest.mark.parametrize("column", ["onset", "duration", "modulation"])
def test_non_numeric_values_are_rejected(column):
    with pytest.raises(InputError, match=f"events\\['{column}'\\]"):
        _design(_events(**{column: ["x", 1.0]}))


def test_negative_duration_is_rejected():
    with pytest.raises(InputError, match="duration"):
        _design(_events(duration=[1.0, -1.0]))


def test_nan_onset_is_rejected():
    with pytest.raises(InputError, match="onset"):
        _design(_events(onset=[np.nan, 3.0]))


def test_missing_trial_type_label_is_rejected():
    with pytest.raises(InputError, match="trial_type"):
        _design(_events(trial_type=["a", None]))


def test_onsets_all_after_run_end_are_rejected():
    with pytest.raises(InputError, match="after the run's end"):
        _design(_events(onset=[500.0, 600.0]))


def test_condition_named_like_a_drift_is_rejected():
    with pytest.raises(InputError, match="unique"):
        _design(_events(trial_type=["constant", "constant"]))


def test_add_regs_with_wrong_length_is_rejected():
    with pytest.raises(InputError, match="add_regs"):
        _design(add_regs=np.zeros((39, 2)))


def test_add_reg_names_with_wrong_length_is_rejected():
    with pytest.raises(InputError, match="add_reg_names"):
        _design(add_regs=np.zeros((40, 2)), add_reg_names=["x"])


def test_nan_in_add_regs_is_rejected():
    add_regs = np.zeros((40, 1))
    add_regs[0, 0] = np.nan
    with pytest.raises(InputError, match="add_regs"):
        _design(add_regs=add_regs)


def test_singular_design_warns_and_is_regularised_like_nistats():
    frame_times = _frame_times(40, 2.0)
    add_regs = np.ones((40, 1))  # collinear with the constant
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        design.make_first_level_design_matrix(frame_times, add_regs=add_regs)
    assert any("singular" in str(w.message) for w in caught)
