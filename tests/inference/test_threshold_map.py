"""Unit and property tests of refglm.inference.threshold_map (nistats 0.0.1rc0 thresholding.py).

Thresholds are checked against scipy.stats.norm and a step-by-step
Benjamini-Hochberg loop; the thresholded map against a flood-fill oracle;
the nilearn variants against the installed nilearn 0.14.1 (marked ``peers``).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy import ndimage
from scipy.stats import norm

from refglm import io
from refglm.exceptions import InputError
from refglm.first_level.thresholding import map_threshold as image_map_threshold
from refglm.inference.threshold_map import (
    background_mask,
    bonferroni_threshold,
    fdr_threshold,
    fpr_threshold,
    map_threshold,
)

# Same scipy call on the same float: identical.
SAME_CALL = {"rtol": 0.0, "atol": 0.0}
# norm.isf(a) against norm.ppf(1 - a): 1 - a is rounded (relative 1e-16 of 1), which
# moves z by about 1e-16 / pdf(z); below 1e-10 relative for a >= 1e-8.
ISF_VS_PPF = {"rtol": 1e-10, "atol": 0.0}
# sf and isf are inverse up to rounding: comparisons near a boundary get this slack (z units).
SF_ISF_SLACK = 1e-9
# nistats thresholding.py line 101: the FDR threshold is the last discovery minus 1e-12.
FDR_OFFSET = 1e-12


def _bh_loop(z, alpha, half):
    """Benjamini-Hochberg step-up, one index at a time: c_k = (k - 1/2)/n or k/n."""
    z_sorted = sorted(np.ravel(z).tolist(), reverse=True)
    n = len(z_sorted)
    last = None
    for k in range(1, n + 1):
        if norm.sf(z_sorted[k - 1]) < alpha * ((k - 0.5) if half else k) / n:
            last = k
    return np.inf if last is None else z_sorted[last - 1] - FDR_OFFSET


def _components(mask, connectivity):
    """Flood fill: voxels are neighbours when their offsets d have 0 < sum|d| <= k."""
    k = {6: 1, 18: 2, 26: 3}[connectivity]
    offsets = [d for d in itertools.product((-1, 0, 1), repeat=3) if 0 < sum(map(abs, d)) <= k]
    labels = np.zeros(mask.shape, int)
    n = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        n += 1
        labels[start] = n
        stack = [start]
        while stack:
            voxel = stack.pop()
            for d in offsets:
                nb = tuple(v + o for v, o in zip(voxel, d, strict=True))
                if all(0 <= c < s for c, s in zip(nb, mask.shape, strict=True)):
                    if mask[nb] and not labels[nb]:
                        labels[nb] = n
                        stack.append(nb)
    return labels, n


def _nistats_map(stat, mask, threshold, cluster_threshold, two_sided, connectivity):
    """nistats map_threshold lines 258-280 for a given threshold, by flood fill."""
    tested = np.abs(stat) if two_sided else stat
    out = np.where(mask & (tested > threshold), stat, 0.0)
    labels, n = _components(np.abs(out) > threshold, connectivity)
    for c in range(1, n + 1):
        if (labels == c).sum() < cluster_threshold:
            out[labels == c] = 0.0
    return out


def _map_with_signal(seed=0):
    rng = np.random.default_rng(seed)
    stat = rng.normal(size=(10, 10, 10))
    stat[2:5, 2:6, 2:7] += 4.5  # 60 active voxels
    return stat


# ---------------------------------------------------------------------------
# The three thresholds against scipy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.001, 1e-6])
def test_fpr_threshold_is_normal_upper_quantile(alpha):
    assert_allclose(fpr_threshold(alpha), norm.isf(alpha), **SAME_CALL)
    assert_allclose(fpr_threshold(alpha), norm.ppf(1 - alpha), **ISF_VS_PPF)
    assert_allclose(fpr_threshold(alpha, two_sided=True), norm.isf(alpha / 2), **SAME_CALL)


@pytest.mark.parametrize(("alpha", "n"), [(0.05, 1), (0.05, 62073), (0.01, 1000)])
def test_bonferroni_threshold_is_quantile_of_alpha_over_n(alpha, n):
    assert_allclose(bonferroni_threshold(alpha, n), norm.isf(alpha / n), **SAME_CALL)
    assert_allclose(bonferroni_threshold(alpha, n), norm.ppf(1 - alpha / n), **ISF_VS_PPF)
    assert_allclose(
        bonferroni_threshold(alpha, n, two_sided=True), norm.isf(alpha / 2 / n), **SAME_CALL
    )
    assert_allclose(bonferroni_threshold(alpha, 1), fpr_threshold(alpha), **SAME_CALL)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    signal=st.floats(0.0, 6.0),
    alpha=st.sampled_from([0.001, 0.01, 0.05, 0.2]),
)
def test_fdr_threshold_matches_step_up_loop(seed, n, signal, alpha):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) + signal * (rng.random(n) < 0.3)
    assert_allclose(fdr_threshold(z, alpha), _bh_loop(z, alpha, half=True), **SAME_CALL)
    assert_allclose(fdr_threshold(z, alpha, "bh"), _bh_loop(z, alpha, half=False), **SAME_CALL)
    # order of the voxels is irrelevant
    assert fdr_threshold(rng.permutation(z), alpha) == fdr_threshold(z, alpha)


def test_fdr_threshold_is_inf_without_discoveries():
    assert fdr_threshold(np.zeros(50), 0.05) == np.inf
    assert fdr_threshold(np.zeros(50), 0.05, "bh") == np.inf


def test_fdr_threshold_sits_1e_12_below_the_last_discovery():
    z = np.array([6.0, 5.0, 0.0, -1.0])
    assert fdr_threshold(z, 0.05) == 5.0 - FDR_OFFSET


# ---------------------------------------------------------------------------
# Ordering of fpr, fdr and bonferroni
# ---------------------------------------------------------------------------


def test_fpr_below_fdr_below_bonferroni_on_a_map_with_signal():
    z = _map_with_signal().ravel()
    alpha = 0.05
    fpr, fdr, bonf = (
        fpr_threshold(alpha),
        fdr_threshold(z, alpha),
        bonferroni_threshold(alpha, z.size),
    )
    assert fpr < fdr < bonf


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    signal=st.floats(0.0, 8.0),
    fraction=st.floats(0.0, 1.0),
    alpha=st.sampled_from([0.001, 0.05, 0.2]),
    formula=st.sampled_from(["nistats", "bh"]),
)
def test_fdr_between_fpr_and_bonferroni_exactly_when_last_discovery_fails_bonferroni(
    seed, n, signal, fraction, alpha, formula
):
    # When FDR discovers anything (t finite), with z_k = t + 1e-12 its last discovery:
    #   t > fpr - 1e-12 always, since sf(z_k) < alpha * c_k < alpha;
    #   t <= bonferroni  iff  sf(z_k) >= alpha / n (the last discovery is not
    #   Bonferroni-significant); otherwise t is above the Bonferroni threshold.
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) + signal * (rng.random(n) < fraction)
    t = fdr_threshold(z, alpha, formula)
    if not np.isfinite(t):
        return
    z_k = t + FDR_OFFSET
    assert t > fpr_threshold(alpha) - FDR_OFFSET - SF_ISF_SLACK
    bonf = bonferroni_threshold(alpha, n)
    if norm.sf(z_k) > alpha / n * (1 + 1e-9):
        assert t < bonf
    elif norm.sf(z_k) < alpha / n * (1 - 1e-9):
        assert t > bonf - FDR_OFFSET


def test_single_strong_voxel_fdr_threshold_above_bonferroni():
    z = np.zeros(100)
    z[0] = 6.0  # p = 1e-9, far below alpha / n
    assert fdr_threshold(z, 0.05) > bonferroni_threshold(0.05, 100)
    assert fdr_threshold(z, 0.05, "bh") > bonferroni_threshold(0.05, 100)


def test_nistats_fdr_can_miss_a_voxel_that_bonferroni_detects():
    # nistats' first constant is alpha * 0.5 / n: a lone voxel with
    # alpha / (2n) <= p < alpha / n passes Bonferroni but not nistats FDR;
    # the textbook constant alpha / n ('bh') detects it.
    n, alpha = 100, 0.05
    z = np.zeros(n)
    z[0] = norm.isf(0.75 * alpha / n)
    assert z[0] > bonferroni_threshold(alpha, n)
    assert fdr_threshold(z, alpha) == np.inf
    assert np.isfinite(fdr_threshold(z, alpha, "bh"))


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), signal=st.floats(0, 8))
def test_bh_fdr_survivors_include_bonferroni_survivors(seed, n, signal):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n) + signal * (rng.random(n) < 0.2)
    alpha = 0.05
    assert np.all((z > fdr_threshold(z, alpha, "bh")) >= (z > bonferroni_threshold(alpha, n)))


# ---------------------------------------------------------------------------
# Threshold input checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0, 0.0, 1, 1.0, -0.1, 1.5, 5, float("nan")])
def test_alpha_outside_open_unit_interval_is_refused(alpha):
    message = r"alpha: expected a probability strictly between 0 and 1, found"
    with pytest.raises(InputError, match=message):
        fpr_threshold(alpha)
    with pytest.raises(InputError, match=message):
        bonferroni_threshold(alpha, 10)
    with pytest.raises(InputError, match=message):
        fdr_threshold(np.zeros(3), alpha)
    with pytest.raises(InputError, match=message):
        map_threshold(np.ones((3, 3, 3)), None, alpha=alpha)


def test_alpha_message_names_the_fix():
    with pytest.raises(InputError, match=r"found 5.0; pass e.g. 0.001 .* not a percentage"):
        fpr_threshold(5)
    with pytest.raises(InputError, match=r"found str '0.05'; pass a float"):
        fpr_threshold("0.05")


@pytest.mark.parametrize("n_voxels", [0, -3, 2.5, True, None])
def test_bonferroni_needs_a_positive_integer_count(n_voxels):
    with pytest.raises(InputError, match=r"n_voxels: expected a positive integer"):
        bonferroni_threshold(0.05, n_voxels)


def test_fdr_input_checks():
    with pytest.raises(InputError, match=r"z_vals: expected at least one z value"):
        fdr_threshold(np.array([]), 0.05)
    with pytest.raises(InputError, match=r"z_vals: expected no NaN, found 1"):
        fdr_threshold(np.array([1.0, np.nan]), 0.05)
    with pytest.raises(InputError, match=r"formula: expected one of \('nistats', 'bh'\)"):
        fdr_threshold(np.zeros(3), 0.05, "by")


# ---------------------------------------------------------------------------
# Mask
# ---------------------------------------------------------------------------


def test_background_mask_is_nonzero_voxels_for_zero_background():
    stat = np.zeros((8, 8, 8))
    stat[3:5, 3:6, 2:6] = np.arange(1, 25).reshape(2, 3, 4)
    assert_array_equal(background_mask(stat), stat != 0)


def test_background_mask_uses_border_median_and_nan():
    stat = np.full((8, 8, 8), 5.0)
    stat[3:5, 3:5, 3:5] = 1.0
    assert background_mask(stat).sum() == 8
    stat[0, 0, 0] = np.nan
    assert_array_equal(background_mask(stat), ~np.isnan(stat))


# ---------------------------------------------------------------------------
# map_threshold
# ---------------------------------------------------------------------------


def test_fpr_map_keeps_voxels_strictly_above_and_zeroes_the_rest():
    stat = _map_with_signal()
    out, t = map_threshold(stat, None, alpha=0.001, height_control="fpr")
    assert t == fpr_threshold(0.001)
    assert_array_equal(out, np.where(stat > t, stat, 0.0))
    assert out.dtype == np.float64


def test_bonferroni_n_is_the_number_of_nonzero_voxels_without_mask():
    stat = np.zeros((12, 12, 12))
    stat[3:9, 3:9, 3:9] = _map_with_signal()[:6, :6, :6]
    _, t = map_threshold(stat, None, alpha=0.05, height_control="bonferroni")
    assert t == bonferroni_threshold(0.05, int(np.count_nonzero(stat)))


def test_explicit_mask_restricts_tests_and_output():
    stat = _map_with_signal()
    mask = np.zeros(stat.shape, bool)
    mask[:5] = True
    out, t = map_threshold(stat, mask, alpha=0.05, height_control="bonferroni")
    assert t == bonferroni_threshold(0.05, int(mask.sum()))
    assert not out[~mask].any()
    out01, _ = map_threshold(stat, mask.astype(int), alpha=0.05, height_control="bonferroni")
    assert_array_equal(out01, out)


def test_fdr_map_uses_fdr_threshold_of_masked_values():
    stat = _map_with_signal()
    for formula in ("nistats", "bh"):
        _, t = map_threshold(stat, None, alpha=0.05, height_control="fdr", fdr_formula=formula)
        assert t == fdr_threshold(stat[background_mask(stat)], 0.05, formula)


def test_fdr_without_discoveries_gives_inf_and_an_empty_map():
    stat = np.random.default_rng(1).normal(size=(6, 6, 6)) * 0.1
    out, t = map_threshold(stat, None, alpha=0.05, height_control="fdr")
    assert t == np.inf
    assert not out.any()


def test_height_control_none_uses_threshold_default_3():
    stat = np.zeros((5, 5, 5))
    stat[2, 2, 2], stat[1, 1, 1] = 3.5, 2.5
    out, t = map_threshold(stat, None, height_control=None)
    assert t == 3.0
    assert out[2, 2, 2] == 3.5 and out[1, 1, 1] == 0.0
    _, t = map_threshold(stat, None, height_control=None, threshold=2.0)
    assert t == 2.0


def test_keep_equal_keeps_voxels_at_the_threshold():
    stat = np.zeros((5, 5, 5))
    stat[2, 2, 2], stat[1, 1, 1] = 3.0, 4.0
    strict, _ = map_threshold(stat, None, height_control=None, threshold=3.0)
    assert strict[2, 2, 2] == 0.0 and strict[1, 1, 1] == 4.0
    equal, _ = map_threshold(stat, None, height_control=None, threshold=3.0, keep_equal=True)
    assert equal[2, 2, 2] == 3.0 and equal[1, 1, 1] == 4.0


def test_two_sided_keeps_negative_voxels_with_their_sign_and_halves_alpha():
    stat = np.zeros((5, 5, 5))
    stat[1, 1, 1], stat[3, 3, 3], stat[2, 2, 2] = 3.4, -3.4, -3.2
    out, t = map_threshold(stat, None, alpha=0.001, two_sided=True)
    assert t == norm.isf(0.0005)  # 3.29
    assert out[1, 1, 1] == 3.4 and out[3, 3, 3] == -3.4 and out[2, 2, 2] == 0.0
    one_sided, _ = map_threshold(stat, None, alpha=0.001)
    assert one_sided[1, 1, 1] == 3.4 and one_sided[3, 3, 3] == 0.0


def test_two_sided_fdr_is_fdr_of_absolute_values_at_half_alpha():
    stat = _map_with_signal()
    stat[6:9, 6:9, 6:9] -= 5.0
    _, t = map_threshold(stat, None, alpha=0.05, height_control="fdr", two_sided=True)
    assert t == fdr_threshold(np.abs(stat[background_mask(stat)]), 0.025)


def test_cluster_filter_six_connectivity_separates_edge_neighbours():
    stat = np.zeros((6, 6, 6))
    stat[2, 2, 2], stat[3, 3, 2] = 5.0, 5.0  # share an edge only
    stat[0, 0, 0] = 0.5  # below threshold, keeps the background at 0
    out6, _ = map_threshold(stat, None, height_control=None, threshold=1.0, cluster_threshold=2)
    assert not out6.any()
    out18, _ = map_threshold(
        stat, None, height_control=None, threshold=1.0, cluster_threshold=2, connectivity=18
    )
    assert out18[2, 2, 2] == 5.0 and out18[3, 3, 2] == 5.0


def test_cluster_of_exactly_cluster_threshold_voxels_is_kept():
    stat = np.zeros((8, 8, 8))
    stat[1:4, 1, 1] = 5.0  # 3 voxels
    stat[6, 6, 6] = 5.0  # 1 voxel
    out, _ = map_threshold(stat, None, height_control=None, threshold=1.0, cluster_threshold=3)
    assert out[1:4, 1, 1].tolist() == [5.0, 5.0, 5.0] and out[6, 6, 6] == 0.0


def test_split_signs_clusters_positive_and_negative_voxels_apart():
    stat = np.zeros((6, 6, 6))
    stat[2, 2, 2], stat[2, 2, 3] = 5.0, -5.0  # face neighbours of opposite sign
    kwargs = {"height_control": None, "threshold": 1.0, "cluster_threshold": 2, "two_sided": True}
    joint, _ = map_threshold(stat, None, **kwargs)
    assert joint[2, 2, 2] == 5.0 and joint[2, 2, 3] == -5.0  # one cluster of 2 (nistats)
    split, _ = map_threshold(stat, None, split_signs=True, **kwargs)
    assert not split.any()  # two clusters of 1 (nilearn)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    threshold=st.floats(0.0, 2.0),
    cluster_threshold=st.integers(0, 6),
    two_sided=st.booleans(),
    connectivity=st.sampled_from([6, 18, 26]),
)
def test_map_equals_flood_fill_oracle(seed, threshold, cluster_threshold, two_sided, connectivity):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(3, 8, 3))
    stat = ndimage.gaussian_filter(rng.normal(size=shape), 0.7) * 4
    mask = rng.random(shape) < 0.8
    mask[0, 0, 0] = True
    out, t = map_threshold(
        stat,
        mask,
        height_control=None,
        threshold=threshold,
        cluster_threshold=cluster_threshold,
        two_sided=two_sided,
        connectivity=connectivity,
    )
    assert t == threshold
    expected = _nistats_map(stat, mask, threshold, cluster_threshold, two_sided, connectivity)
    assert_array_equal(out, expected)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    height_control=st.sampled_from(["fpr", "fdr", "bonferroni", None]),
    two_sided=st.booleans(),
)
def test_map_threshold_leaves_input_unchanged(seed, height_control, two_sided):
    stat = np.random.default_rng(seed).normal(size=(5, 6, 7)) * 3
    before = stat.copy()
    stat.setflags(write=False)
    map_threshold(stat, None, 0.05, height_control, 1.0, 2, two_sided)
    assert np.array_equal(stat, before)


# ---------------------------------------------------------------------------
# map_threshold input checks
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"height_control": "holm"}, r"height_control: expected one of .* found 'holm'"),
        (
            {"height_control": "all-resolution-inference"},
            r"height_control: expected one of .* found 'all-resolution-inference'",
        ),
        ({"cluster_threshold": -1}, r"cluster_threshold: expected .* >= 0, found -1; pass 0"),
        ({"connectivity": 8}, r"connectivity: expected one of \[6, 18, 26\] .* found 8"),
        ({"fdr_formula": "by"}, r"fdr_formula: expected one of \('nistats', 'bh'\)"),
        ({"two_sided": "yes"}, r"two_sided: expected True or False, found str"),
        ({"mask": np.ones((2, 2, 2), bool)}, r"mask: expected .* shape \(4, 4, 4\), found"),
        ({"mask": np.arange(64).reshape(4, 4, 4)}, r"mask: expected two values, 0"),
        ({"mask": np.zeros((4, 4, 4), bool)}, r"mask: expected at least one voxel inside"),
        ({"height_control": None, "threshold": "3"}, r"threshold: expected a real z value"),
        ({"stat": np.ones((4, 4))}, r"stat: expected a 3-D array .* shape \(4, 4\)"),
    ],
)
def test_map_threshold_bad_arguments_raise_input_error(kwargs, message):
    arguments = {"stat": np.arange(64.0).reshape(4, 4, 4)}
    arguments.update(kwargs)
    with pytest.raises(InputError, match=message):
        map_threshold(**arguments)


def test_nan_inside_mask_is_refused_but_allowed_outside():
    stat = np.arange(64.0).reshape(4, 4, 4)
    stat[1, 1, 1] = np.nan
    with pytest.raises(InputError, match=r"stat: expected no NaN inside the mask, found 1"):
        map_threshold(stat, np.ones(stat.shape, bool))
    mask = np.ones(stat.shape, bool)
    mask[1, 1, 1] = False
    out, _ = map_threshold(stat, mask, height_control=None, threshold=10.0)
    assert out[1, 1, 1] == 0.0 and np.isfinite(out).all()


# ---------------------------------------------------------------------------
# refglm.map_threshold (images, nistats' positional order)
# ---------------------------------------------------------------------------


def _z_img():
    stat = np.zeros((6, 6, 6))
    stat[2:4, 2:4, 2:4] = 5.0
    stat[0, 0, 0] = 1.0
    return io.to_image(stat, np.eye(4))


@pytest.mark.parametrize("misplaced", [0.001, "fpr"])
def test_image_map_threshold_names_mask_img_when_alpha_or_method_is_passed_second(misplaced):
    # map_threshold(z, 0.001, 'fpr'): nistats' order puts 0.001 in mask_img
    with pytest.raises(
        InputError,
        match=r"mask_img: expected a path or a nibabel image \(or None\), found "
        r"(float|str) .*positional order.*alpha=0\.001, height_control='fpr'",
    ):
        image_map_threshold(_z_img(), misplaced, "fpr")


def test_image_map_threshold_refuses_a_method_name_in_threshold():
    # map_threshold(z, None, 0.05, 'fdr') used to run fpr and ignore 'fdr' silently
    with pytest.raises(
        InputError, match=r"threshold: expected a z value or None, found str 'fdr'.*keyword"
    ):
        image_map_threshold(_z_img(), None, 0.05, "fdr")


def test_image_map_threshold_by_keyword_equals_the_array_version():
    img = _z_img()
    out_img, t = image_map_threshold(img, alpha=0.05, height_control="bonferroni")
    expected, t_expected = map_threshold(
        img.get_fdata(), None, alpha=0.05, height_control="bonferroni"
    )
    assert t == t_expected == bonferroni_threshold(0.05, 9)
    assert_array_equal(out_img.get_fdata(), expected)


# ---------------------------------------------------------------------------
# Against nilearn 0.14.1
# ---------------------------------------------------------------------------


@pytest.mark.peers
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), alpha=st.sampled_from([0.001, 0.05, 0.2]))
def test_bh_fdr_threshold_equals_nilearn(seed, alpha):
    glm = pytest.importorskip("nilearn.glm")
    z = np.random.default_rng(seed).normal(size=500) + 2.0
    assert fdr_threshold(z, alpha, "bh") == glm.fdr_threshold(z, alpha)


@pytest.mark.peers
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    height_control=st.sampled_from(["fpr", "fdr", "bonferroni"]),
    cluster_threshold=st.sampled_from([0, 5]),
    two_sided=st.booleans(),
)
def test_nilearn_options_reproduce_threshold_stats_img(
    seed, height_control, cluster_threshold, two_sided
):
    nib = pytest.importorskip("nibabel")
    glm = pytest.importorskip("nilearn.glm")
    rng = np.random.default_rng(seed)
    stat = ndimage.gaussian_filter(rng.normal(size=(12, 11, 10)), 1.0) * 8
    stat[:2] = 0.0
    alpha = 0.001 if height_control == "fpr" else 0.05
    with warnings.catch_warnings():
        # nilearn warns when the threshold exceeds the map's maximum; the map is then empty
        warnings.simplefilter("ignore", UserWarning)
        expected, t_expected = glm.threshold_stats_img(
            nib.Nifti1Image(stat, np.eye(4)),
            alpha=alpha,
            height_control=height_control,
            cluster_threshold=cluster_threshold,
            two_sided=two_sided,
        )
    actual, t_actual = map_threshold(
        stat,
        None,
        alpha=alpha,
        height_control=height_control,
        cluster_threshold=cluster_threshold,
        two_sided=two_sided,
        fdr_formula="bh",
        keep_equal=True,
        split_signs=True,
    )
    assert t_actual == t_expected
    assert_array_equal(actual, expected.get_fdata())
