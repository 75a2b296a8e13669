"""Unit and property tests of refglm.inference.cluster_table (nistats 0.0.1rc0 get_clusters_table).

The oracle for the nistats rules is ``_nistats_table`` below: a transcription of
nistats 0.0.1rc0 reporting/_get_clusters_table.py (lines 18-194) to arrays,
full-array search and double paring loop included. The oracle for the
two-sided variant is the installed nilearn 0.14.1 (tests marked ``peers``);
``rules='nilearn'`` is tested against it in test_clusters_nilearn.py.
"""

from __future__ import annotations

import warnings
from string import ascii_lowercase

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import ndimage

from refglm.exceptions import InputError
from refglm.first_level.thresholding import get_clusters_table as image_clusters_table
from refglm.inference import (
    CLUSTER_TABLE_COLUMNS,
    cluster_labels,
    connectivity_structure,
    get_clusters_table,
    local_maxima,
    voxel_volume,
)

# Header zooms are float32: voxel volumes agree with |det| to float32 precision.
FLOAT32_VOLUME = {"rtol": 1e-6, "atol": 0.0}
# Coordinates are affine @ [i, j, k, 1] in both computations, bit for bit.
EXACT = {"rtol": 0.0, "atol": 0.0}

# A non-identity, axis-aligned affine with a flip: voxel volume 2 * 2.5 * 3 = 15 mm3.
AFFINE = np.array(
    [
        [2.0, 0.0, 0.0, -20.0],
        [0.0, -2.5, 0.0, 30.0],
        [0.0, 0.0, 3.0, -12.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def _world(affine, ijk):
    ijk = np.atleast_2d(ijk)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def _rotation_affine(rng, zooms=(1.5, 2.0, 2.5)):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    affine = np.eye(4)
    affine[:3, :3] = q @ np.diag(zooms)
    affine[:3, 3] = rng.normal(0, 40, 3)
    return affine


def _blob(shape, centre, height, width=1.0):
    grid = np.indices(shape).astype(float)
    d2 = sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True))
    return height * np.exp(-d2 / (2 * width**2))


# ---------------------------------------------------------------------------
# A transcription of nistats 0.0.1rc0 _get_clusters_table.py to arrays (oracle).
# Changes: arrays in (get_data -> the array, header zooms -> float32 column norms,
# nib.affines.apply_affine and coord_transform written out), a copy of the input
# (nistats modified it), and argsort(kind="stable") where nistats relied on the
# default sort for ties.
# ---------------------------------------------------------------------------


def _nistats_local_max(data, affine, min_distance):
    data_max = ndimage.maximum_filter(data, 3)
    maxima = data == data_max
    data_min = ndimage.minimum_filter(data, 3)
    diff = (data_max - data_min) > 0
    maxima[diff == 0] = 0
    labeled, n_subpeaks = ndimage.label(maxima)
    ijk = np.array(ndimage.center_of_mass(data, labeled, range(1, n_subpeaks + 1)))
    ijk = np.round(ijk).astype(int)
    vals = np.apply_along_axis(arr=ijk, axis=1, func1d=lambda r: data[r[0], r[1], r[2]])
    order = (-vals).argsort(kind="stable")
    vals = vals[order]
    ijk = ijk[order, :]
    xyz = np.dot(ijk, affine[:3, :3].T) + affine[:3, 3][None, :]
    keep_idx = np.ones(xyz.shape[0]).astype(bool)
    for i in range(xyz.shape[0]):
        for j in range(i + 1, xyz.shape[0]):
            if keep_idx[i] == 1:
                dist = np.linalg.norm(xyz[i, :] - xyz[j, :])
                keep_idx[j] = dist > min_distance
    return ijk[keep_idx, :], vals[keep_idx]


def _nistats_table(stat, affine, stat_threshold, cluster_threshold=None, min_distance=8.0):
    cols = ["Cluster ID", "X", "Y", "Z", "Peak Stat", "Cluster Size (mm3)"]
    stat_map = np.array(stat, dtype=float)
    conn_mat = np.zeros((3, 3, 3), int)
    conn_mat[1, 1, :] = 1
    conn_mat[1, :, 1] = 1
    conn_mat[:, 1, 1] = 1
    voxel_size = np.prod(np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0)).astype(np.float32))
    binarized = (stat_map > stat_threshold).astype(int)
    if np.sum(binarized) == 0:
        return pd.DataFrame(columns=cols)
    label_map = ndimage.label(binarized, conn_mat)[0]
    for c_val in sorted(np.unique(label_map)[1:]):
        if cluster_threshold is not None and np.sum(label_map == c_val) < cluster_threshold:
            stat_map[label_map == c_val] = 0
            binarized[label_map == c_val] = 0
    if np.sum(stat_map > stat_threshold) == 0:
        return pd.DataFrame(columns=cols)
    label_map = ndimage.label(binarized, conn_mat)[0]
    clust_ids = sorted(np.unique(label_map)[1:])
    peak_vals = np.array([np.max(stat_map * (label_map == c)) for c in clust_ids])
    clust_ids = [clust_ids[c] for c in (-peak_vals).argsort(kind="stable")]
    rows = []
    for c_id, c_val in enumerate(clust_ids):
        cluster_mask = label_map == c_val
        masked_data = stat_map * cluster_mask
        cluster_size_mm = int(np.sum(cluster_mask) * voxel_size)
        ijk, vals = _nistats_local_max(masked_data, affine, min_distance)
        coords = np.c_[ijk[:, 0], ijk[:, 1], ijk[:, 2], np.ones_like(ijk[:, 2])].T
        xyz = np.array(np.asarray(np.dot(affine, coords)[:3]).tolist()).T
        for subpeak in range(min(len(vals), 4)):
            if subpeak == 0:
                row = [c_id + 1, *xyz[subpeak], vals[subpeak], cluster_size_mm]
            else:
                sp_id = f"{c_id + 1}{ascii_lowercase[subpeak - 1]}"
                row = [sp_id, *xyz[subpeak], vals[subpeak], ""]
            rows.append(row)
    return pd.DataFrame(columns=cols, data=rows)


@st.composite
def smooth_maps(draw, max_side=14, quantize=True):
    """A smooth random map, sometimes quantized (plateaus, ties), with an affine."""
    shape = tuple(draw(st.lists(st.integers(4, max_side), min_size=3, max_size=3)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=shape), draw(st.floats(0.5, 2.0)))
    field *= 4.0 / max(np.abs(field).max(), 1e-12)
    decimals = draw(st.sampled_from([None, 1, 0] if quantize else [None]))
    if decimals is not None:
        field = np.round(field, decimals)
    kind = draw(st.sampled_from(["axis", "rotation"]))
    affine = AFFINE.copy() if kind == "axis" else _rotation_affine(rng)
    return field, affine


# ---------------------------------------------------------------------------
# Connectivity and labels
# ---------------------------------------------------------------------------


def test_connectivity_structure_has_6_18_26_neighbours():
    for connectivity in (6, 18, 26):
        structure = connectivity_structure(connectivity)
        assert structure.shape == (3, 3, 3)
        assert structure.sum() == connectivity + 1  # neighbours plus the centre


def test_connectivity_6_is_nistats_hand_built_faces_and_scipy_default():
    # nistats _get_clusters_table.py lines 123-126
    conn_mat = np.zeros((3, 3, 3), int)
    conn_mat[1, 1, :] = 1
    conn_mat[1, :, 1] = 1
    conn_mat[:, 1, 1] = 1
    assert_array_equal(connectivity_structure(6), conn_mat.astype(bool))
    assert_array_equal(connectivity_structure(6), ndimage.generate_binary_structure(3, 1))


def test_voxels_touching_by_an_edge_are_one_cluster_only_from_18_connectivity():
    mask = np.zeros((4, 4, 4), bool)
    mask[1, 1, 1] = mask[2, 2, 1] = True  # share an edge, not a face
    assert cluster_labels(mask, 6)[1] == 2
    assert cluster_labels(mask, 18)[1] == 1
    assert cluster_labels(mask, 26)[1] == 1


def test_voxels_touching_by_a_corner_are_one_cluster_only_from_26_connectivity():
    mask = np.zeros((4, 4, 4), bool)
    mask[1, 1, 1] = mask[2, 2, 2] = True  # share a corner only
    assert cluster_labels(mask, 6)[1] == 2
    assert cluster_labels(mask, 18)[1] == 2
    assert cluster_labels(mask, 26)[1] == 1


@pytest.mark.parametrize("bad", [4, 8, 0, "6", True, None])
def test_connectivity_other_than_6_18_26_is_refused(bad):
    with pytest.raises(InputError, match=r"connectivity: expected one of \[6, 18, 26\]"):
        connectivity_structure(bad)


# ---------------------------------------------------------------------------
# Voxel volume
# ---------------------------------------------------------------------------


def test_voxel_volume_of_axis_aligned_affine_with_flip():
    assert voxel_volume(AFFINE) == 15.0


def test_voxel_volume_of_rotated_affine_is_abs_det():
    affine = _rotation_affine(np.random.default_rng(0), zooms=(1.5, 2.0, 2.5))
    assert_allclose(voxel_volume(affine), abs(np.linalg.det(affine[:3, :3])), **FLOAT32_VOLUME)


def test_voxel_volume_of_sheared_affine_is_product_of_column_norms_not_det():
    affine = np.eye(4)
    affine[:3, :3] = [[2.0, 1.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]]
    column_norms = np.sqrt(np.sum(affine[:3, :3] ** 2, axis=0))
    assert_allclose(voxel_volume(affine), np.prod(column_norms), **FLOAT32_VOLUME)
    assert voxel_volume(affine) > abs(np.linalg.det(affine[:3, :3])) + 0.9  # 8.94 vs 8


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_voxel_volume_equals_nifti_header_zooms_product(seed):
    nib = pytest.importorskip("nibabel")
    rng = np.random.default_rng(seed)
    affine = _rotation_affine(rng, zooms=tuple(rng.uniform(0.5, 4.0, 3)))
    affine[:3, :3] += rng.normal(0, 0.3, (3, 3)) * rng.integers(0, 2)  # some shear
    header_zooms = nib.Nifti1Image(np.zeros((2, 2, 2)), affine).header.get_zooms()
    assert voxel_volume(affine) == float(np.prod(header_zooms))


# ---------------------------------------------------------------------------
# Local maxima
# ---------------------------------------------------------------------------


def test_single_blob_has_one_peak_at_its_centre():
    data = _blob((9, 9, 9), (4, 5, 3), 6.0)
    ijk, vals = local_maxima(data, AFFINE)
    assert_array_equal(ijk, [[4, 5, 3]])
    assert vals.tolist() == [6.0]


def test_peaks_exactly_min_distance_apart_are_pared_strictly():
    # x spacing 2 mm: voxels 4 apart are exactly 8 mm apart
    data = np.zeros((12, 3, 3))
    data[2, 1, 1], data[6, 1, 1] = 5.0, 4.0
    ijk, _ = local_maxima(data, AFFINE, min_distance=8.0)
    assert_array_equal(ijk, [[2, 1, 1]])  # dist > min_distance is required
    ijk, _ = local_maxima(data, AFFINE, min_distance=7.99)
    assert_array_equal(ijk, [[2, 1, 1], [6, 1, 1]])


def test_paring_compares_with_the_last_kept_peak_only():
    # nistats' loop: A (5.0) kept; B (4.0) 20 mm from A kept; C (3.0) is 6 mm from A
    # but 14 mm from B, the last kept peak, so C is kept too although it is within
    # min_distance of A.
    data = np.zeros((16, 3, 3))
    data[2, 1, 1], data[12, 1, 1], data[5, 1, 1] = 5.0, 4.0, 3.0
    ijk, vals = local_maxima(data, AFFINE, min_distance=8.0)
    assert vals.tolist() == [5.0, 4.0, 3.0]
    xyz = _world(AFFINE, ijk)
    assert np.linalg.norm(xyz[0] - xyz[2]) == 6.0


def test_two_voxel_plateau_reported_at_rounded_centre_half_to_even():
    data = np.zeros((8, 3, 3))
    data[2:4, 1, 1] = 5.0  # centre of mass i = 2.5 -> 2
    ijk, _ = local_maxima(data, AFFINE)
    assert_array_equal(ijk, [[2, 1, 1]])
    data = np.zeros((8, 3, 3))
    data[3:5, 1, 1] = 5.0  # centre of mass i = 3.5 -> 4
    ijk, _ = local_maxima(data, AFFINE)
    assert_array_equal(ijk, [[4, 1, 1]])


def test_ring_plateau_reported_at_its_centre_with_the_value_found_there():
    # A ring of 5.0 around a 1.0: the plateau's centre of mass is the 1.0 voxel,
    # and nistats reports the value *at* that voxel (nilearn moves to the ring).
    data = np.zeros((5, 5, 3))
    data[1:4, 1:4, 1] = 5.0
    data[2, 2, 1] = 1.0
    ijk, vals = local_maxima(data, AFFINE)
    assert_array_equal(ijk, [[2, 2, 1]])
    assert vals.tolist() == [1.0]


def test_constant_array_is_one_peak_at_its_centre():
    ijk, vals = local_maxima(np.full((3, 5, 3), 2.0), AFFINE)
    assert_array_equal(ijk, [[1, 2, 1]])
    assert vals.tolist() == [2.0]


# ---------------------------------------------------------------------------
# Cluster table: hand-built maps
# ---------------------------------------------------------------------------


def _two_cluster_map():
    data = np.zeros((20, 12, 10))
    data += _blob(data.shape, (4, 5, 4), 6.0)  # cluster A, peak 6.0
    data += _blob(data.shape, (15, 6, 5), 8.0)  # cluster B, peak 8.0 (reported first)
    return data


def test_table_columns_sorting_sizes_and_coordinates():
    data = _two_cluster_map()
    threshold = 2.0
    table = get_clusters_table(data, AFFINE, threshold)
    assert list(table.columns) == CLUSTER_TABLE_COLUMNS
    assert table["Cluster ID"].tolist() == [1, 2]
    assert table["Peak Stat"].tolist() == [8.0, 6.0]
    assert_allclose(
        table[["X", "Y", "Z"]].to_numpy(), _world(AFFINE, [[15, 6, 5], [4, 5, 4]]), **EXACT
    )
    labels, _ = ndimage.label(data > threshold)
    n_b, n_a = (labels == labels[15, 6, 5]).sum(), (labels == labels[4, 5, 4]).sum()
    assert table["Cluster Size (mm3)"].tolist() == [int(n_b * 15.0), int(n_a * 15.0)]


def _tents(length, peaks, slope=0.5):
    """A 1-D profile: the maximum of tents ``height - slope * |i - centre|``."""
    i = np.arange(length)
    return np.max([h - slope * np.abs(i - c) for c, h in peaks.items()], axis=0)


def test_subpeaks_are_named_by_letter_with_empty_size():
    data = np.zeros((20, 6, 6))
    data[:, 3, 3] = _tents(20, {4: 9.0, 14: 7.0})  # two peaks 20 mm apart, all > 1
    table = get_clusters_table(data, AFFINE, 1.0)
    assert table["Cluster ID"].tolist() == [1, "1a"]
    assert table["Peak Stat"].tolist() == [9.0, 7.0]
    assert table["Cluster Size (mm3)"].tolist() == [20 * 15, ""]


def test_flat_shoulder_between_peaks_is_a_subpeak():
    # nistats' rule: equal to the 3x3x3 maximum and a non-constant neighbourhood.
    # A flat run of 3.0 not touching a higher voxel qualifies (centre of the run).
    data = np.zeros((20, 6, 6))
    data[2:18, 3, 3] = 3.0
    data[4, 3, 3], data[14, 3, 3] = 9.0, 7.0
    table = get_clusters_table(data, AFFINE, 1.0)
    assert table["Peak Stat"].tolist() == [9.0, 7.0, 3.0, 3.0]
    ijk = (table[["X", "Y", "Z"]].to_numpy() - AFFINE[:3, 3]) / np.diag(AFFINE)[:3]
    # Runs of maxima: {2}, 6..12 -> 9, 16..17 -> 16 (16.5 to even). Sorted: 4, 14,
    # then the 3.0 ties in label order 2, 9, 16; each is more than 8 mm from the
    # last kept peak (2 is 4 mm from 4, but 24 mm from 14), so all are kept.
    assert ijk[:, 0].tolist() == [4.0, 14.0, 2.0, 9.0]


def test_at_most_three_subpeaks_per_cluster_the_strongest():
    data = np.zeros((40, 5, 5))
    peaks = {3: 9.0, 9: 8.5, 15: 8.0, 21: 7.5, 27: 7.0, 33: 6.5}  # 12 mm apart
    data[:, 2, 2] = _tents(40, peaks, slope=1.0)
    table = get_clusters_table(data, AFFINE, 1.0)
    assert table["Cluster ID"].tolist() == [1, "1a", "1b", "1c"]
    assert table["Peak Stat"].tolist() == [9.0, 8.5, 8.0, 7.5]


def test_cluster_threshold_drops_clusters_with_fewer_voxels():
    data = np.zeros((10, 10, 10))
    data[1:5, 1, 1] = 5.0  # 4 voxels
    data[7, 7, 7] = 6.0  # 1 voxel
    assert get_clusters_table(data, AFFINE, 1.0, cluster_threshold=4)["Peak Stat"].tolist() == [5.0]
    assert get_clusters_table(data, AFFINE, 1.0, cluster_threshold=None).shape[0] == 2
    with pytest.warns(UserWarning, match="No clusters"):
        assert get_clusters_table(data, AFFINE, 1.0, cluster_threshold=5).empty


def test_voxels_equal_to_the_threshold_are_outside_clusters():
    data = np.zeros((6, 6, 6))
    data[2, 2, 2], data[2, 2, 3] = 4.0, 2.0
    table = get_clusters_table(data, AFFINE, 2.0)
    assert table["Cluster Size (mm3)"].tolist() == [15]


def test_cluster_size_truncated_to_int_mm3():
    affine = np.diag([1.5, 1.5, 1.5, 1.0])  # 3.375 mm3 per voxel
    data = np.zeros((6, 6, 6))
    data[1:4, 2, 2] = [3.0, 5.0, 3.0]
    table = get_clusters_table(data, affine, 1.0)
    assert table["Cluster Size (mm3)"].tolist() == [10]  # int(3 * 3.375)


def test_empty_table_has_the_columns_and_warns():
    with pytest.warns(UserWarning, match="No clusters"):
        table = get_clusters_table(np.zeros((4, 4, 4)), AFFINE, 1.0)
    assert list(table.columns) == CLUSTER_TABLE_COLUMNS
    assert len(table) == 0


def test_dtypes_follow_nistats_row_lists():
    data = np.zeros((20, 6, 6))
    data[:, 3, 3] = _tents(20, {4: 9.0, 14: 7.0})
    with_subpeaks = get_clusters_table(data, AFFINE, 1.0)
    assert with_subpeaks["Cluster ID"].tolist() == [1, "1a"]
    assert with_subpeaks["Cluster ID"].dtype == object
    assert with_subpeaks["Cluster Size (mm3)"].dtype == object
    for column in ["X", "Y", "Z", "Peak Stat"]:
        assert with_subpeaks[column].dtype == np.float64
    peaks_only = get_clusters_table(_two_cluster_map(), AFFINE, 2.0)
    assert peaks_only["Cluster ID"].dtype == np.int64
    assert peaks_only["Cluster Size (mm3)"].dtype == np.int64


def test_connectivity_parameter_joins_edge_neighbours():
    data = np.zeros((6, 6, 6))
    data[2, 2, 2], data[3, 3, 2] = 5.0, 4.0  # touch by an edge
    assert get_clusters_table(data, AFFINE, 1.0, connectivity=6).shape[0] == 2
    table = get_clusters_table(data, AFFINE, 1.0, connectivity=18, min_distance=0.0)
    # one cluster of 2 voxels; the peak search always uses the full 3x3x3
    # neighbourhood, so the 4.0 (a diagonal neighbour of the 5.0) is no peak
    assert table["Cluster ID"].tolist() == [1]
    assert table["Cluster Size (mm3)"].tolist() == [30]


def test_two_sided_appends_negative_clusters_numbered_after_the_rows():
    data = np.zeros((20, 6, 6))
    data[:, 3, 3] = _tents(20, {4: 9.0, 14: 7.0})  # cluster 1 and subpeak 1a: 2 rows
    data[10, 0, 0] = -5.0
    one_sided = get_clusters_table(data, AFFINE, 1.0)
    assert one_sided["Cluster ID"].tolist() == [1, "1a"]
    table = get_clusters_table(data, AFFINE, 1.0, two_sided=True)
    # nilearn 0.14.1: the negative clusters start at len(rows) + 1
    assert table["Cluster ID"].tolist() == [1, "1a", 3]
    assert table["Peak Stat"].tolist() == [9.0, 7.0, -5.0]


# ---------------------------------------------------------------------------
# Cluster table: input checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"stat": np.zeros((4, 4))}, r"stat: expected a 3-D array .* shape \(4, 4\)"),
        ({"stat": np.full((3, 3, 3), np.nan)}, r"stat: expected finite values, found 27 NaN"),
        ({"affine": np.eye(3)}, r"affine: expected a finite 4x4 .* shape \(3, 3\)"),
        ({"stat_threshold": -1.0}, r"stat_threshold: expected .* >= 0, found -1.0; .*two_sided"),
        ({"stat_threshold": float("nan")}, r"stat_threshold: expected a real number, found nan"),
        ({"cluster_threshold": -1}, r"cluster_threshold: expected a number >= 0, found -1.0"),
        ({"min_distance": -2.0}, r"min_distance: expected a number >= 0.0, found -2.0"),
        ({"connectivity": 9}, r"connectivity: expected one of \[6, 18, 26\] .* found 9"),
        ({"two_sided": "yes"}, r"two_sided: expected True or False, found str 'yes'"),
        ({"rules": "spm"}, r"rules: expected one of \['nistats', 'nilearn'\], found 'spm'"),
    ],
)
def test_bad_arguments_raise_input_error_naming_them(kwargs, message):
    arguments = {"stat": np.zeros((3, 3, 3)), "affine": AFFINE, "stat_threshold": 1.0}
    arguments.update(kwargs)
    with pytest.raises(InputError, match=message):
        get_clusters_table(**arguments)


def test_image_table_names_stat_img_and_the_array_version():
    with pytest.raises(
        InputError,
        match=r"stat_img: expected a path or a nibabel image, found ndarray; .*"
        r"refglm\.inference\.get_clusters_table",
    ):
        image_clusters_table(np.zeros((3, 3, 3)), 1.0)


def test_input_error_is_a_value_error():
    with pytest.raises(ValueError):
        get_clusters_table(np.zeros((3, 3, 3)), AFFINE, 1.0, cluster_threshold=-1)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(st.floats(-5, 5), min_size=27, max_size=27),
    threshold=st.floats(0, 3),
    cluster_threshold=st.sampled_from([None, 0, 2]),
    two_sided=st.booleans(),
)
def test_input_is_never_modified_and_may_be_read_only(
    data, threshold, cluster_threshold, two_sided
):
    stat = np.array(data).reshape(3, 3, 3)
    before = stat.copy()
    stat.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        get_clusters_table(stat, AFFINE, threshold, cluster_threshold, two_sided=two_sided)
    assert np.array_equal(stat, before)


@settings(max_examples=40, deadline=None)
@given(
    case=smooth_maps(),
    threshold=st.floats(0.0, 3.0),
    cluster_threshold=st.sampled_from([None, 0, 3, 10]),
    min_distance=st.sampled_from([0.0, 3.0, 8.0, 20.0]),
)
def test_table_equals_the_nistats_transcription(case, threshold, cluster_threshold, min_distance):
    field, affine = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        actual = get_clusters_table(field, affine, threshold, cluster_threshold, min_distance)
    expected = _nistats_table(field, affine, threshold, cluster_threshold, min_distance)
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)


@settings(max_examples=40, deadline=None)
@given(case=smooth_maps(), min_distance=st.sampled_from([0.0, 3.0, 8.0, 20.0]))
def test_local_maxima_equal_the_nistats_transcription(case, min_distance):
    field, affine = case
    masked = np.where(field > 0, field, 0.0)
    if not masked.any():
        return
    ijk, vals = local_maxima(masked, affine, min_distance)
    ref_ijk, ref_vals = _nistats_local_max(masked, affine, min_distance)
    assert_array_equal(ijk, ref_ijk)
    assert_array_equal(vals, ref_vals)


@settings(max_examples=40, deadline=None)
@given(case=smooth_maps(quantize=False), threshold=st.floats(0.0, 3.0))
def test_table_peaks_are_above_threshold_and_sorted(case, threshold):
    # Continuous maps: every plateau is one voxel, so each peak is a cluster voxel
    # (a quantized map can report a ring plateau at an off-plateau centre).
    field, affine = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = get_clusters_table(field, affine, threshold)
    n_clusters = ndimage.label(field > threshold, connectivity_structure(6))[1]
    if table.empty:
        assert n_clusters == 0
        return
    main = table[[not isinstance(c, str) for c in table["Cluster ID"]]]
    assert main["Cluster ID"].tolist() == list(range(1, len(main) + 1))
    assert np.all(np.diff(main["Peak Stat"].to_numpy(dtype=float)) <= 0)
    assert np.all(main["Peak Stat"].to_numpy(dtype=float) > threshold)
    assert len(main) == n_clusters


# ---------------------------------------------------------------------------
# Against nilearn 0.14.1
# ---------------------------------------------------------------------------


@pytest.mark.peers
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    threshold=st.floats(0.5, 2.5),
    cluster_threshold=st.sampled_from([0, 4]),
    two_sided=st.booleans(),
)
def test_table_equals_nilearn_on_continuous_maps(seed, threshold, cluster_threshold, two_sided):
    # Continuous values: no ties, no plateaus, nothing equal to the threshold; there
    # nistats' and nilearn 0.14.1's rules coincide (nilearn also goes two-sided).
    nib = pytest.importorskip("nibabel")
    reporting = pytest.importorskip("nilearn.reporting")
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(12, 11, 10)), 1.0) * 8
    field[:2] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = reporting.get_clusters_table(
            nib.Nifti1Image(field, AFFINE), threshold, cluster_threshold, two_sided
        )
        actual = get_clusters_table(
            field, AFFINE, threshold, cluster_threshold, two_sided=two_sided
        )
    pd.testing.assert_frame_equal(actual, expected, check_exact=True)
