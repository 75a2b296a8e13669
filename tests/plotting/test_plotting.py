"""refglm.plotting: orientation, neurological display, determinism, no import-time matplotlib."""

from __future__ import annotations

import io as _io
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from refglm import plotting
from refglm.exceptions import InputError

# the SPM auditory affine: x runs toward the subject's left
SPM_AFFINE = np.array(
    [[-3.0, 0, 0, 93], [0, 3.0, 0, -93], [0, 0, 3.0, -66], [0, 0, 0, 1]], dtype=float
)


def _rgb(png: bytes) -> np.ndarray:
    import matplotlib.image as mpimg

    return mpimg.imread(_io.BytesIO(png), format="png")[..., :3]


def test_importing_refglm_modules_does_not_load_matplotlib():
    code = (
        "import sys, refglm, refglm.cli, refglm.plotting, refglm.report, refglm.first_level.trace, "
        "refglm.io.bids_raw, refglm.workflows; print('matplotlib' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "affine",
    [
        SPM_AFFINE,
        np.diag([2.0, 2.0, 2.0, 1.0]),
        np.diag([-2.0, -2.5, 3.0, 1.0]),
        np.array([[0, 0, 2.0, 0], [-2.0, 0, 0, 0], [0, -3.0, 0, 0], [0, 0, 0, 1]]),
        # a few degrees of rotation
        np.array([[2.0, 0.2, 0, 0], [-0.15, 2.0, 0.1, 0], [0, -0.1, 3.0, 0], [0, 0, 0, 1]]),
    ],
)
def test_axis_codes_match_nibabel(affine):
    assert plotting.axis_codes(affine) == nib.aff2axcodes(affine)


def test_oblique_affine_refused():
    r = np.sqrt(0.5)
    with pytest.raises(InputError, match="oblique"):
        plotting.axis_codes(np.array([[r, r, 0, 0], [-r, r, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]))


def test_spm_auditory_affine_is_las():
    # the data's own voxel x axis points to the subject's left: displays must flip it
    assert plotting.axis_codes(SPM_AFFINE) == ("L", "A", "S")


@pytest.mark.parametrize(
    "affine",
    [SPM_AFFINE, np.array([[0, 0, 2.0, 5], [-2.0, 0, 0, 7], [0, -3.0, 0, 9], [0, 0, 0, 1]])],
)
def test_reorient_to_ras_keeps_world_positions(affine, rng):
    data = rng.standard_normal((7, 8, 9))
    ras, new = plotting.reorient_to_ras(data, affine)
    assert plotting.axis_codes(new) == ("R", "A", "S")
    assert np.all(np.diag(new)[:3] > 0)
    ijk = np.argwhere(np.isfinite(data))
    world = (affine @ np.c_[ijk, np.ones(len(ijk))].T)[:3].T
    back = np.rint((np.linalg.inv(new) @ np.c_[world, np.ones(len(world))].T)[:3].T).astype(int)
    np.testing.assert_array_equal(ras[tuple(back.T)], data[tuple(ijk.T)])


def _blob(x_mm, affine=SPM_AFFINE, shape=(64, 64, 64), y_mm=-6, z_mm=42):
    stat = np.zeros(shape)
    bg = np.full(shape, 100.0)
    i, j, k = np.rint(np.linalg.inv(affine) @ [x_mm, y_mm, z_mm, 1])[:3].astype(int)
    stat[i - 2 : i + 3, j - 2 : j + 3, k - 1 : k + 2] = 8.0
    return stat, bg


def _hot_pixels(png):
    """(rows, columns) of the coloured (red to yellow, not grey) pixels left of the colour bar."""
    rgb = _rgb(png)
    hot = rgb[..., 0] - rgb[..., 2] > 0.15
    hot[:, int(rgb.shape[1] * 0.7) :] = False  # ignore the colour bar
    return np.nonzero(hot)


def _hot_columns(png):
    return _hot_pixels(png)[1]


# Grids whose voxel axes run the other way along y (P) or z (I), or are permuted: the
# display must bring each to RAS whatever the storage order. Each maps the middle of the
# 64^3 grid near the world origin.
LPS_AFFINE = np.array(
    [[-3.0, 0, 0, 93], [0, -3.0, 0, 93], [0, 0, 3.0, -66], [0, 0, 0, 1]], dtype=float
)
LAI_AFFINE = np.array(
    [[-3.0, 0, 0, 93], [0, 3.0, 0, -93], [0, 0, -3.0, 123], [0, 0, 0, 1]], dtype=float
)
PERMUTED_AFFINE = np.array(
    [[0, 0, 3.0, -93], [0, -3.0, 0, 93], [-3.0, 0, 0, 123], [0, 0, 0, 1]], dtype=float
)
GRIDS = [SPM_AFFINE, LPS_AFFINE, LAI_AFFINE, PERMUTED_AFFINE]
GRID_IDS = ["LAS", "LPS", "LAI", "permuted"]
# pixels between the centres of two blobs 120 mm apart must exceed this (about 115 px)
MIN_SEPARATION_PX = 60


def test_stat_map_is_neurological_left_on_left():
    # one panel: a blob at x = -60 mm (subject's left) must appear left of one at x = +60
    left = _hot_columns(plotting.plot_stat_map(*_blob(-60), SPM_AFFINE, 3.0, cut_coords=[42]))
    right = _hot_columns(plotting.plot_stat_map(*_blob(60), SPM_AFFINE, 3.0, cut_coords=[42]))
    assert left.size and right.size
    assert left.mean() + 60 < right.mean()


@pytest.mark.parametrize("affine", GRIDS, ids=GRID_IDS)
def test_stat_map_has_anterior_at_the_top(affine):
    # one axial panel: a blob at y = +60 mm (anterior) must appear above one at y = -60 mm
    def rows(y_mm):
        stat, bg = _blob(0, affine, y_mm=y_mm, z_mm=12)
        return _hot_pixels(plotting.plot_stat_map(stat, bg, affine, 3.0, cut_coords=[12]))[0]

    front, back = rows(60), rows(-60)
    assert front.size and back.size
    assert front.mean() + MIN_SEPARATION_PX < back.mean()  # image rows grow downward


@pytest.mark.parametrize("affine", GRIDS, ids=GRID_IDS)
def test_stat_map_is_neurological_on_every_grid(affine):
    def columns(x_mm):
        stat, bg = _blob(x_mm, affine, y_mm=0, z_mm=12)
        return _hot_columns(plotting.plot_stat_map(stat, bg, affine, 3.0, cut_coords=[12]))

    left, right = columns(-60), columns(60)
    assert left.size and right.size
    assert left.mean() + MIN_SEPARATION_PX < right.mean()


@pytest.mark.parametrize("affine", GRIDS, ids=GRID_IDS)
def test_stat_map_draws_each_cut_at_its_world_z(affine):
    # a blob at z = +45 mm (superior) shows in the z = 45 cut only, not in the z = 12 cut,
    # where an inferior/superior flip of the grid would put it (z -> 57 - z on these grids)
    stat, bg = _blob(0, affine, y_mm=0, z_mm=45)
    png = plotting.plot_stat_map(stat, bg, affine, 3.0, cut_coords=[12, 45])
    columns = _hot_pixels(png)[1]
    assert columns.size
    # two 2.6 in panels from 0.1 in, then 1.1 in for the colour bar: the second starts at 2.7 in
    assert columns.min() > _rgb(png).shape[1] * 2.7 / 6.3


def test_choose_axial_cuts():
    stat, _ = _blob(-60)
    cuts = plotting.choose_axial_cuts(stat, SPM_AFFINE, 3)
    assert len(cuts) == 3 and cuts == sorted(cuts)
    assert any(abs(c - 42) <= 3 for c in cuts)  # the blob spans z = 39..45
    assert min(np.diff(cuts)) >= 15
    empty = plotting.choose_axial_cuts(np.zeros((64, 64, 64)), SPM_AFFINE, 3)
    assert len(empty) == 3


# share of the colour bar's height, in pixels, by which the grey band may miss 2 thr / 2 vmax
BAND_FRACTION_TOL = 0.03


def _colour_bar_column(rgb):
    """The pixel column through the middle of the colour bar (the longest non-black run)."""
    right = int(rgb.shape[1] * 0.7)
    lit = (rgb[:, right:].max(axis=2) > 0.05).sum(axis=0)
    return right + int(np.argmax(lit))


def test_two_sided_colour_bar_greys_the_gap_between_thresholds():
    # +8 and -8 blobs at threshold 3: the bar runs -8..8 and |z| < 3 is never drawn
    stat, bg = _blob(-60)
    stat = stat - _blob(60)[0]
    rgb = _rgb(plotting.plot_stat_map(stat, bg, SPM_AFFINE, 3.0, cut_coords=[42]))
    column = rgb[:, _colour_bar_column(rgb)]
    bar = np.flatnonzero(column.max(axis=1) > 0.05)
    grey = np.flatnonzero((np.ptp(column, axis=1) < 0.02) & (np.abs(column[:, 0] - 0.5) < 0.1))
    assert grey.size
    assert abs(grey.size / bar.size - 6 / 16) < BAND_FRACTION_TOL
    assert abs(grey.mean() - bar.mean()) < BAND_FRACTION_TOL * bar.size  # centred on 0


def _design():
    t = np.arange(40) * 2.0
    return pd.DataFrame(
        {
            "active": (np.sin(t / 8) > 0).astype(float),
            "rest": (np.sin(t / 5) > 0).astype(float),
            "drift_1": np.cos(t / 40),
            "constant": np.ones(40),
        },
        index=t,
    )


def test_figures_are_png_and_deterministic(tmp_path):
    design = _design()
    stat, bg = _blob(-60)
    calls = [
        lambda p: plotting.plot_design_matrix(design, path=p),
        lambda p: plotting.plot_regressors(design, "active", path=p),
        lambda p: plotting.plot_contrast_matrix([1, -1, 0, 0], design.columns, "c", path=p),
        lambda p: plotting.plot_contrast_matrix(np.eye(4)[:2], design.columns, path=p),
        lambda p: plotting.plot_stat_map(stat, bg, SPM_AFFINE, 3.0, "t", path=p),
        lambda p: plotting.plot_stat_map(-stat, bg, SPM_AFFINE, 3.0, "neg", path=p),
        lambda p: plotting.plot_mask(bg > 0, bg, SPM_AFFINE, path=p),
    ]
    for k, call in enumerate(calls):
        path = tmp_path / f"fig{k}.png"
        png = call(path)
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert path.read_bytes() == png
        assert call(None) == png, k
        assert b"tIME" not in png  # no timestamp chunk


def test_contrast_matrix_checks_length():
    with pytest.raises(InputError, match="expected 4 weights"):
        plotting.plot_contrast_matrix([1, -1], _design().columns)


def test_stat_map_grid_mismatch():
    with pytest.raises(InputError, match="one grid"):
        plotting.plot_stat_map(np.zeros((4, 4, 4)), np.zeros((5, 4, 4)), SPM_AFFINE, 3.0)


def test_voxel_trace_figure(rng):
    from refglm.first_level.trace import trace_voxel

    design = _design()
    y = (100 + 5 * design["active"].to_numpy() + rng.standard_normal(40)).astype(np.float32)
    png = plotting.plot_voxel_trace(trace_voxel(y, design, "active - rest"), title="x")
    assert _rgb(png).shape[:2] == (860, 800)
