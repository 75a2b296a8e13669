"""``get_clusters_table(..., rules='nilearn')`` against the live nilearn 0.14.1.

The oracle is the installed nilearn 0.14.1 (``nilearn.reporting.get_clusters_table``
on a float64 ``nibabel.Nifti1Image`` of the same array and affine), compared with
``pandas.testing.assert_frame_equal(check_exact=True)``: same columns, values, dtypes
and index. nibabel images are built here only, never in :mod:`refglm`. Part (a) is
property-based (hypothesis maps with plateaus, ties, negative values, NaNs, equalities
to the threshold, non-identity affines); part (b) has one hand-built case per rule of
nilearn that nistats did not have (each also shows the nistats rules differ).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from refglm.exceptions import InputError
from refglm.inference import CLUSTER_TABLE_COLUMNS, get_clusters_table, local_maxima

nib = pytest.importorskip("nibabel")
reporting = pytest.importorskip("nilearn.reporting")
nilearn_local_max = pytest.importorskip("nilearn.reporting.get_clusters_table")._local_max

pytestmark = pytest.mark.peers

# The affine of the brief: 3 mm voxels, x axis flipped (radiological), 27 mm3 voxels.
A_NEG_X = np.array(
    [[-3.0, 0.0, 0.0, 93.0], [0.0, 3.0, 0.0, -93.0], [0.0, 0.0, 3.0, -66.0], [0.0, 0.0, 0.0, 1.0]]
)
A_FLIP_Y = np.array(
    [[2.0, 0.0, 0.0, -20.0], [0.0, -2.5, 0.0, 30.0], [0.0, 0.0, 3.0, -12.0], [0.0, 0.0, 0.0, 1.0]]
)
_Q, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(3, 3)))
A_ROTATED = np.eye(4)
A_ROTATED[:3, :3] = _Q @ np.diag([1.5, 2.0, 2.5])
A_ROTATED[:3, 3] = [12.0, -40.0, 7.5]
AFFINES = [A_NEG_X, A_FLIP_Y, A_ROTATED]


def _nilearn_table(stat, affine, *args, **kwargs):
    """nilearn 0.14.1's table of ``stat`` (warnings silenced)."""
    img = nib.Nifti1Image(np.array(stat, dtype=np.float64), affine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reporting.get_clusters_table(img, *args, **kwargs)


def _refglm_table(stat, affine, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_clusters_table(stat, affine, *args, rules="nilearn", **kwargs)


def _assert_same_as_nilearn(stat, affine, stat_threshold, cluster_threshold=0, **kwargs):
    expected = _nilearn_table(stat, affine, stat_threshold, cluster_threshold, **kwargs)
    actual = _refglm_table(stat, affine, stat_threshold, cluster_threshold, **kwargs)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    return actual


def _two_tents():
    """A 20-voxel profile, one cluster above 1 with peaks 9.0 (i=4) and 7.0 (i=14)."""
    i = np.arange(20)
    return np.maximum(9.0 - 0.5 * np.abs(i - 4), 7.0 - 0.5 * np.abs(i - 14))


def _nistats_table(stat, affine, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_clusters_table(stat, affine, *args, rules="nistats", **kwargs)


# ---------------------------------------------------------------------------
# (a) Property-based comparison
# ---------------------------------------------------------------------------


def _smooth(rng, shape):
    # smooth field in [-4, 4], rounded to 0 or 1 decimal (plateaus, ties) or not
    field = ndimage.gaussian_filter(rng.normal(size=shape), rng.uniform(0.5, 2.0))
    field *= 4.0 / max(np.abs(field).max(), 1e-12)
    decimals = rng.choice([-1, 0, 1])
    return field if decimals < 0 else np.round(field, decimals)


def _binary(rng, shape):
    # constant (label-like) clusters of both signs, some near-constant
    blobs = ndimage.binary_dilation(rng.random(shape) < 0.03, iterations=int(rng.integers(1, 3)))
    field = blobs * rng.choice([1.0, 2.0, 3.0]) - (np.roll(blobs, 3, 0) & ~blobs) * 2.0
    if rng.random() < 0.3:
        field = field + blobs * rng.normal(0.0, rng.choice([1e-9, 1e-6, 1e-3]), shape)
    return field


def _sparse(rng, shape):
    # many one-voxel clusters with equal values: ties in the cluster order
    field = (rng.random(shape) < 0.15) * rng.choice([2.0, 3.0], shape)
    return field * rng.choice([-1.0, 1.0], shape)


def _shell(rng, shape):
    # a spherical shell around a weaker or stronger core: centres of mass off plateaus
    grid = np.indices(shape).astype(float)
    centre = [n / 2 - 0.5 + rng.uniform(-1, 1) for n in shape]
    radius = np.sqrt(sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)))
    field = np.where(np.abs(radius - rng.uniform(1.5, max(min(shape) / 2, 1.6))) < 0.8, 3.0, 0.0)
    field += np.where(radius < 0.9, rng.choice([0.0, 1.0, 5.0]), 0.0)
    if rng.random() < 0.5:
        field = np.round(field + ndimage.gaussian_filter(rng.normal(size=shape), 1.0), 0)
    return -field if rng.random() < 0.3 else field


MAKERS = {"smooth": _smooth, "binary": _binary, "sparse": _sparse, "shell": _shell}


@st.composite
def nilearn_cases(draw):
    """A map, an affine and get_clusters_table arguments nilearn accepts."""
    shape = tuple(draw(st.lists(st.integers(3, 12), min_size=3, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    stat = MAKERS[draw(st.sampled_from(sorted(MAKERS)))](rng, shape)
    if draw(st.integers(0, 4)) == 0:
        stat[rng.random(shape) < 0.05] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    affine = draw(st.sampled_from(AFFINES))
    two_sided = draw(st.booleans())
    finite = np.abs(stat[np.isfinite(stat) & (stat != 0)])
    present = sorted(set(finite.tolist())) or [1.0]  # thresholds equal to map values
    threshold = draw(
        st.one_of(
            st.sampled_from([0.0, 0.5, 1.0, 2.0]),
            st.sampled_from(present),
            st.floats(0.0, 3.0),
        )
    )
    if not two_sided and draw(st.integers(0, 3)) == 0:
        threshold = -threshold if threshold > 0 else -1.0  # nilearn's minima branch
    cluster_threshold = draw(st.sampled_from([0, 1, 3, 10]))
    min_distance = draw(st.sampled_from([0.5, 3.0, 8.0, 20.0]))
    return stat, affine, threshold, cluster_threshold, two_sided, min_distance


@settings(max_examples=250, deadline=None)
@given(case=nilearn_cases())
def test_table_equals_nilearn_on_random_maps(case):
    stat, affine, threshold, cluster_threshold, two_sided, min_distance = case
    args = (threshold, cluster_threshold)
    kwargs = {"two_sided": two_sided, "min_distance": min_distance}
    try:
        expected = _nilearn_table(stat, affine, *args, **kwargs)
    except ValueError:
        # nilearn fails when no voxel has the threshold's sign (check_threshold)
        with pytest.raises(InputError):
            _refglm_table(stat, affine, *args, **kwargs)
        return
    before = stat.copy()
    actual = _refglm_table(stat, affine, *args, **kwargs)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    np.testing.assert_array_equal(stat, before)  # NaNs included: the input is untouched


@settings(max_examples=80, deadline=None)
@given(
    shape=st.lists(st.integers(3, 10), min_size=3, max_size=3),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(sorted(MAKERS)),
    cut=st.sampled_from([None, 0.0, 1.0]),
    affine=st.sampled_from(AFFINES),
    min_distance=st.sampled_from([0.5, 3.0, 8.0]),
)
def test_local_maxima_equal_nilearn_private_local_max(shape, seed, kind, cut, affine, min_distance):
    # nilearn.reporting.get_clusters_table._local_max is private; pinned to 0.14.1.
    stat = MAKERS[kind](np.random.default_rng(seed), tuple(shape))
    if cut is not None:
        stat = np.where(stat > cut, stat, 0.0)  # one-signed, as in a cluster table
    if not stat.any():
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ijk, vals = local_maxima(stat, affine, min_distance, rules="nilearn")
        try:
            ref_ijk, ref_vals = nilearn_local_max(stat.copy(), affine, min_distance)
        except IndexError:
            # no maximum at all (a negative map): nilearn indexes an empty centre array
            assert ijk.shape == (0, 3) and vals.shape == (0,)
            return
    np.testing.assert_array_equal(ijk, ref_ijk)
    np.testing.assert_array_equal(vals, ref_vals)
    assert vals.dtype == ref_vals.dtype


# ---------------------------------------------------------------------------
# (b) One hand-built case per nilearn rule
# ---------------------------------------------------------------------------


def test_defaults_are_nilearns_one_sided_8mm():
    stat = np.zeros((20, 6, 6))
    stat[:, 3, 3] = _two_tents()
    stat[10, 0, 0] = -5.0
    img = nib.Nifti1Image(stat, A_NEG_X)
    expected = reporting.get_clusters_table(img, 1.0)  # nilearn defaults, nothing passed
    actual = get_clusters_table(stat, A_NEG_X, 1.0, rules="nilearn")
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
    assert actual["Cluster ID"].tolist() == [1, "1a"]  # positive only; peaks > 8 mm apart


def test_cluster_threshold_counts_the_voxels_equal_to_the_threshold():
    # threshold_img keeps stat >= t and tests cluster sizes there; the table then uses
    # stat > t. The 2-voxel >= cluster passes cluster_threshold=2 and its 1-voxel strict
    # cluster is reported (27 mm3); nistats tests the strict cluster and drops it.
    stat = np.zeros((8, 8, 8))
    stat[5, 1, 1], stat[5, 1, 2] = 2.5, 2.0
    table = _assert_same_as_nilearn(stat, A_NEG_X, 2.0, 2)
    assert table["Cluster Size (mm3)"].tolist() == [27]
    assert _nistats_table(stat, A_NEG_X, 2.0, 2).empty


def test_cluster_threshold_tests_each_sign_apart():
    # two positive voxels touching two negative ones: 4 voxels of |stat| >= 1, but
    # clusters of 2 of each sign, both smaller than 3
    stat = np.zeros((6, 6, 6))
    stat[1:3, 2, 2], stat[3:5, 2, 2] = 2.0, -2.0
    assert _assert_same_as_nilearn(stat, A_NEG_X, 1.0, 3, two_sided=True).empty
    assert len(_assert_same_as_nilearn(stat, A_NEG_X, 1.0, 2, two_sided=True)) == 2


def test_zero_voxels_are_never_peaks_of_a_constant_cluster():
    # A constant cluster skips the "max - min > 0" test (nilearn PR #3292); without
    # line 87 every zero voxel away from the cluster would then be a maximum too.
    stat = np.zeros((12, 12, 12))
    stat[2:4, 2:4, 2:4] = 3.0
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0)
    assert table[["X", "Y", "Z"]].values.tolist() == [[87.0, -87.0, -60.0]]  # (2, 2, 2)
    ijk, vals = local_maxima(stat, A_NEG_X, 8.0, rules="nilearn")
    assert ijk.tolist() == [[2, 2, 2]] and vals.tolist() == [3.0]


def test_near_constant_cluster_keeps_its_plateau():
    # np.isclose(max, min) over the non-zero voxels: the cube-with-arm is "constant"
    # despite one voxel 1e-7 lower, so its whole 3.0 plateau (not only its border)
    # is weighed for the centre of mass.
    stat = np.zeros((16, 9, 9))
    stat[1:6, 2:7, 2:7] = 3.0
    stat[6:14, 4, 4] = 3.0
    stat[1, 2, 2] -= 1e-7
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0)
    assert table["X"].tolist() == [84.0]  # i = 3
    assert _nistats_table(stat, A_NEG_X, 1.0)["X"].tolist() == [81.0]  # i = 4


def test_centre_of_mass_off_a_constant_cluster_moves_to_its_nearest_voxel():
    # an L-shaped binary cluster: its centre (19/9, 19/9, 1) rounds to (2, 2, 1), a zero
    # voxel; nilearn (PR #3292) reports the nearest cluster voxel, the first in C order
    # of (1, 2, 1) and (2, 1, 1)
    stat = np.zeros((8, 8, 8))
    stat[1:6, 1, 1] = 2.0
    stat[1, 1:6, 1] = 2.0
    with pytest.warns(UserWarning, match="nearest voxel of the plateau"):
        get_clusters_table(stat, A_NEG_X, 1.0, rules="nilearn")
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0)
    assert table[["X", "Y", "Z", "Peak Stat"]].values.tolist() == [[90.0, -87.0, -63.0, 2.0]]
    nistats = _nistats_table(stat, A_NEG_X, 1.0)
    assert nistats[["X", "Y", "Z", "Peak Stat"]].values.tolist() == [[87.0, -87.0, -63.0, 0.0]]


def test_ring_of_maxima_in_a_graded_cluster_moves_to_the_ring():
    # not constant: a ring of 4.0 around a 2.0 / 1.5 core; the ring's centre is the
    # core's 1.5, which nistats reports; nilearn moves to the ring
    stat = np.zeros((9, 9, 5))
    stat[2:7, 2:7, 2] = 4.0
    stat[3:6, 3:6, 2] = 2.0
    stat[4, 4, 2] = 1.5
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0)
    assert table["Peak Stat"].tolist() == [4.0]
    assert _nistats_table(stat, A_NEG_X, 1.0)["Peak Stat"].tolist() == [1.5]


def test_two_sided_reports_minima_of_the_negative_tail_after_all_rows():
    stat = np.zeros((20, 6, 6))
    stat[:, 3, 3] = _two_tents()
    stat[10, 0, 0], stat[0, 0, 5] = -5.0, -3.0
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0, two_sided=True)
    assert table["Cluster ID"].tolist() == [1, "1a", 3, 4]  # offset counts row 1a
    assert table["Peak Stat"].tolist()[2:] == [-5.0, -3.0]


def test_one_sided_negative_threshold_reports_magnitudes_closest_to_zero_first():
    # nilearn lines 593-639: clusters stat < t, ranked by (-min).argsort() (the -3.0
    # cluster before the -5.0 one), Peak Stat = |stat|
    stat = np.zeros((10, 6, 6))
    stat[1, 1, 1], stat[7, 3, 3], stat[4, 4, 4] = -5.0, -3.0, 6.0
    table = _assert_same_as_nilearn(stat, A_NEG_X, -1.0)
    assert table["Peak Stat"].tolist() == [3.0, 5.0]
    assert table["X"].tolist() == [72.0, 90.0]
    with pytest.raises(InputError, match="stat_threshold: expected a cluster-forming"):
        get_clusters_table(stat, A_NEG_X, -1.0)  # rules='nistats' refuses it


def test_non_finite_voxels_are_zero_with_a_warning():
    stat = np.zeros((6, 6, 6))
    stat[2, 2, 2], stat[2, 2, 3], stat[4, 4, 4], stat[0, 0, 0] = 4.0, np.nan, np.inf, -np.inf
    with pytest.warns(UserWarning, match="3 NaN or infinite voxel"):
        get_clusters_table(stat, A_NEG_X, 1.0, rules="nilearn")
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0, two_sided=True)
    assert table["Peak Stat"].tolist() == [4.0]  # +inf is no peak: it became 0
    with pytest.raises(InputError, match="expected finite values"):
        get_clusters_table(stat, A_NEG_X, 1.0)


def test_cluster_filling_the_array_is_dropped_without_warning():
    # nilearn line 613, np.unique(label_map)[1:], drops label 1 when there is no
    # background; image.py line 1481 likewise never size-tests such a sign.
    stat = np.full((3, 3, 3), 2.0)
    stat[1, 1, 1] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = get_clusters_table(stat, A_NEG_X, 1.0, rules="nilearn")
    pd.testing.assert_frame_equal(table, _nilearn_table(stat, A_NEG_X, 1.0), check_exact=True)
    assert table.empty and list(table.columns) == CLUSTER_TABLE_COLUMNS
    stat[0, 0, 0] = 1.0  # >= 1 fills the array, > 1 does not: 26 voxels survive 100
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0, 100)
    assert table["Cluster Size (mm3)"].tolist() == [26 * 27]


def test_ties_between_many_clusters_follow_numpys_default_argsort():
    # 40 one-voxel clusters, all 3.0: nilearn orders them by (-peaks).argsort(), not
    # stably; the same call here gives the same order on the same numpy build.
    stat = np.zeros((20, 20, 3))
    stat[::2, ::2, 1][:, :2] = 3.0
    stat[1, 1, 1] = 3.0
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0)
    assert len(table) == 21


@pytest.mark.parametrize(
    ("kind", "expected_dtypes"),
    [
        ("peaks_only", ["int64", "float64", "float64", "float64", "float64", "int64"]),
        ("subpeaks", ["object", "float64", "float64", "float64", "float64", "object"]),
        ("empty", ["object"] * 6),
    ],
)
def test_columns_and_dtypes_are_nilearns(kind, expected_dtypes):
    stat = np.zeros((20, 6, 6))
    if kind == "peaks_only":
        stat[3, 3, 3], stat[12, 3, 3] = 5.0, 4.0
    elif kind == "subpeaks":
        stat[:, 3, 3] = _two_tents()
    table = _assert_same_as_nilearn(stat, A_NEG_X, 1.0)
    assert list(table.columns) == CLUSTER_TABLE_COLUMNS
    assert [str(t) for t in table.dtypes] == expected_dtypes


def test_cluster_threshold_none_is_zero():
    stat = np.zeros((8, 8, 8))
    stat[2, 2, 2], stat[5, 5, 5] = 3.0, 2.0
    pd.testing.assert_frame_equal(
        _refglm_table(stat, A_NEG_X, 1.0, None), _nilearn_table(stat, A_NEG_X, 1.0, 0)
    )


@pytest.mark.parametrize(
    ("stat_threshold", "kwargs", "fill", "message"),
    [
        (1.0, {"min_distance": 0.0}, 1.0, "min_distance: expected a positive distance"),
        (-1.0, {"two_sided": True}, 1.0, "stat_threshold: expected a value >= 0 with two_sided"),
        (1.0, {}, -1.0, r"stat: no voxel is >= 0"),
        (-1.0, {}, 1.0, r"stat: no voxel is <= 0"),
    ],
)
def test_arguments_nilearn_refuses_are_refused(stat_threshold, kwargs, fill, message):
    stat = np.full((4, 4, 4), fill)
    stat[1, 1, 1] = 3.0 * fill
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError):
            reporting.get_clusters_table(nib.Nifti1Image(stat, A_NEG_X), stat_threshold, **kwargs)
    with pytest.raises(InputError, match=message):
        get_clusters_table(stat, A_NEG_X, stat_threshold, rules="nilearn", **kwargs)


def test_unknown_rules_are_refused():
    with pytest.raises(InputError, match=r"rules: expected one of \['nistats', 'nilearn'\]"):
        get_clusters_table(np.zeros((3, 3, 3)), A_NEG_X, 1.0, rules="spm")
    with pytest.raises(InputError, match=r"data: expected a non-zero voxel"):
        local_maxima(np.zeros((3, 3, 3)), A_NEG_X, rules="nilearn")
