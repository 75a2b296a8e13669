"""refglm.plotting: orientation, both signs, cuts, labels off the data, empty maps, design figures.

Figures are checked from their pixels where a property can be: the PNG is
rendered at the figure's own dpi, so a panel's window extent in display
pixels is its box in the PNG (rows counted from the top).
"""

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


def _rgb(fig_or_png) -> np.ndarray:
    import matplotlib.image as mpimg

    png = fig_or_png if isinstance(fig_or_png, bytes) else plotting.figure_png(fig_or_png)
    return mpimg.imread(_io.BytesIO(png), format="png")[..., :3]


def _boxes(fig, axes):
    """(row0, row1, col0, col1) of each axes in the PNG of ``fig``."""
    fig.canvas.draw()
    height = int(round(fig.bbox.height))
    out = []
    for ax in axes:
        b = ax.get_window_extent()
        out.append((height - int(np.ceil(b.y1)), height - int(b.y0), int(b.x0), int(np.ceil(b.x1))))
    return out


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


def _blob(x_mm, affine=SPM_AFFINE, shape=(64, 64, 64), y_mm=-6, z_mm=42, value=8.0):
    stat = np.zeros(shape)
    bg = np.full(shape, 100.0)
    i, j, k = np.rint(np.linalg.inv(affine) @ [x_mm, y_mm, z_mm, 1])[:3].astype(int)
    stat[i - 2 : i + 3, j - 2 : j + 3, k - 1 : k + 2] = value
    return stat, bg


def _map(stat, bg, affine=SPM_AFFINE, threshold=3.0, **kwargs):
    return plotting.stat_map_figure(stat, bg, affine, threshold, **kwargs)


def _coloured(fig, warm=True):
    """(rows, columns) of warm (red to yellow) or cold (blue) pixels inside the panels."""
    rgb = _rgb(fig)
    diff = rgb[..., 0] - rgb[..., 2]
    hit = diff > 0.15 if warm else diff < -0.15
    inside = np.zeros(hit.shape, bool)
    for r0, r1, c0, c1 in _boxes(fig, fig.axes[: len(fig.axes) - _n_bars(fig)]):
        inside[r0:r1, c0:c1] = True
    return np.nonzero(hit & inside)


def _n_bars(fig):
    return sum(1 for ax in fig.axes if not ax.images)


def _hot_columns(fig):
    return _coloured(fig)[1]


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
    left = _hot_columns(_map(*_blob(-60), cut_coords=[42]))
    right = _hot_columns(_map(*_blob(60), cut_coords=[42]))
    assert left.size and right.size
    assert left.mean() + 60 < right.mean()


@pytest.mark.parametrize("affine", GRIDS, ids=GRID_IDS)
def test_stat_map_has_anterior_at_the_top(affine):
    # one axial panel: a blob at y = +60 mm (anterior) must appear above one at y = -60 mm
    def rows(y_mm):
        stat, bg = _blob(0, affine, y_mm=y_mm, z_mm=12)
        return _coloured(_map(stat, bg, affine, cut_coords=[12]))[0]

    front, back = rows(60), rows(-60)
    assert front.size and back.size
    assert front.mean() + MIN_SEPARATION_PX < back.mean()  # image rows grow downward


@pytest.mark.parametrize("affine", GRIDS, ids=GRID_IDS)
def test_stat_map_is_neurological_on_every_grid(affine):
    def columns(x_mm):
        stat, bg = _blob(x_mm, affine, y_mm=0, z_mm=12)
        return _hot_columns(_map(stat, bg, affine, cut_coords=[12]))

    left, right = columns(-60), columns(60)
    assert left.size and right.size
    assert left.mean() + MIN_SEPARATION_PX < right.mean()


@pytest.mark.parametrize("affine", GRIDS, ids=GRID_IDS)
def test_stat_map_draws_each_cut_at_its_world_z(affine):
    # a blob at z = +45 mm (superior) shows in the z = 45 cut only, not in the z = 12 cut,
    # where an inferior/superior flip of the grid would put it (z -> 57 - z on these grids)
    stat, bg = _blob(0, affine, y_mm=0, z_mm=45)
    fig = _map(stat, bg, affine, cut_coords=[12, 45])
    columns = _hot_columns(fig)
    second = _boxes(fig, fig.axes[1:2])[0]
    assert columns.size
    assert columns.min() >= second[2]


def test_stat_map_draws_both_signs():
    # the tutorial's plot_stat_map(z_map, threshold=3.0): |z| > 3 drawn, negative in blue
    stat, bg = _blob(-60)
    stat = stat - _blob(60)[0]
    fig = _map(stat, bg, cut_coords=[42])
    warm, cold = _coloured(fig, warm=True), _coloured(fig, warm=False)
    assert warm[1].size and cold[1].size
    assert warm[1].mean() < cold[1].mean()  # +8 at x = -60 (left), -8 at x = +60 (right)


def test_stat_map_draws_a_negative_only_map():
    stat, bg = _blob(-60)
    assert _coloured(_map(-stat, bg, cut_coords=[42]), warm=False)[1].size


def test_choose_axial_cuts():
    stat, _ = _blob(-60)
    cuts = plotting.choose_axial_cuts(stat, SPM_AFFINE, 3)
    assert len(cuts) == 3 and cuts == sorted(cuts)
    assert any(abs(c - 42) <= 3 for c in cuts)  # the blob spans z = 39..45
    assert min(np.diff(cuts)) >= 15
    empty = plotting.choose_axial_cuts(np.zeros((64, 64, 64)), SPM_AFFINE, 3)
    assert len(empty) == 3


def test_cuts_avoid_an_edge_slice_with_little_brain():
    # a brain whose top slice k = 50 holds 4 voxels, where the map is strongest (the SPM
    # auditory run's z = 90 mm, mostly noise): no cut may fall there
    mask = np.zeros((64, 64, 64), bool)
    mask[12:52, 12:52, 10:50] = True
    mask[30:32, 30:32, 50] = True
    stat = np.zeros(mask.shape)
    stat[30:32, 30:32, 50] = 50.0
    stat[20:25, 20:25, 30] = 4.0
    cuts = plotting.choose_axial_cuts(stat, SPM_AFFINE, 3, mask=mask)
    edge_z = float((SPM_AFFINE @ [0, 0, 50, 1])[2])
    assert edge_z not in cuts
    assert float((SPM_AFFINE @ [0, 0, 30, 1])[2]) in cuts


# share of the colour bar's height, in pixels, by which the grey band may miss 2 thr / 2 vmax
BAND_FRACTION_TOL = 0.03


def test_two_sided_colour_bar_greys_the_gap_between_thresholds():
    # +8 and -8 blobs at threshold 3: the bar runs -8..8 and |z| < 3 is never drawn
    stat, bg = _blob(-60)
    stat = stat - _blob(60)[0]
    fig = _map(stat, bg, cut_coords=[42])
    r0, r1, c0, c1 = _boxes(fig, [fig.axes[-1]])[0]
    column = _rgb(fig)[r0:r1, (c0 + c1) // 2]
    bar = np.flatnonzero(column.max(axis=1) > 0.05)
    grey = np.flatnonzero((np.ptp(column, axis=1) < 0.02) & (np.abs(column[:, 0] - 0.5) < 0.1))
    assert grey.size
    assert abs(grey.size / bar.size - 6 / 16) < BAND_FRACTION_TOL
    assert abs(grey.mean() - bar.mean()) < BAND_FRACTION_TOL * bar.size  # centred on 0


def _text_artists(fig):
    return list(fig.texts) + [t for ax in fig.axes for t in ax.texts]


def _labels_touch_data(fig, n_panels):
    """Whether hiding every text changes a pixel inside an image panel."""
    with_labels = _rgb(fig)
    for text in _text_artists(fig):
        text.set_visible(False)
    without = _rgb(fig)
    changed = np.abs(with_labels - without).max(axis=2) > 0
    return any(changed[r0:r1, c0:c1].any() for r0, r1, c0, c1 in _boxes(fig, fig.axes[:n_panels]))


def test_map_labels_touch_no_data_pixel():
    # a map drawn over the whole volume: any label inside a panel would change its pixels
    stat = np.full((64, 64, 64), 8.0)
    fig = _map(stat, np.full(stat.shape, 100.0), cut_coords=3, title="every voxel")
    assert len(_text_artists(fig)) >= 3 * 3 + 3  # z, L and R per cut, the header, the footer
    assert not _labels_touch_data(fig, 3)


def test_mask_labels_touch_no_data_pixel():
    mask = np.ones((64, 64, 64), bool)
    fig = plotting.mask_figure(mask, np.full(mask.shape, 100.0), SPM_AFFINE)
    assert not _labels_touch_data(fig, 3)


def test_a_label_inside_a_panel_is_caught():
    # the check above can fail: a text written over the data changes panel pixels
    stat = np.full((64, 64, 64), 8.0)
    fig = _map(stat, np.full(stat.shape, 100.0), cut_coords=3)
    fig.axes[0].text(0.5, 0.5, "z=27", transform=fig.axes[0].transAxes, color="white")
    assert _labels_touch_data(fig, 3)


def test_cut_labels_are_outlined():
    fig = _map(*_blob(-60), cut_coords=[42])
    label = next(t for t in _text_artists(fig) if t.get_text() == "z = 42 mm")
    (stroke,) = label.get_path_effects()
    assert stroke._gc["foreground"] == "black"


def test_empty_map_says_no_voxel_above_the_threshold():
    stat, bg = _blob(-60, value=4.0)
    fig = _map(stat, bg, threshold=4.61, cut_coords=3)
    texts = [t.get_text() for t in _text_artists(fig)]
    assert "no voxel above z = 4.61" in texts
    assert _n_bars(fig) == 0  # no colour bar with ticks 4.61 / 4.61 / 4.61


def test_stat_map_states_what_it_draws():
    fig = _map(*_blob(-60), cut_coords=[42], parameters="fdr 0.05")
    assert "drawn: z > 3, 75 voxels \u00b7 fdr 0.05" in [t.get_text() for t in fig.texts]


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


def test_design_matrix_has_a_title_and_a_colour_bar():
    fig = plotting.plot_design_matrix(_design())
    assert "Design matrix: 40 scans \u00d7 4 columns" in [t.get_text() for t in fig.texts]
    assert len(fig.axes) == 2  # the matrix and its colour bar


def test_every_design_column_is_visible():
    # the constant column was pure white (gray map at its maximum) and looked empty
    fig = plotting.plot_design_matrix(_design())
    r0, r1, c0, c1 = _boxes(fig, fig.axes[:1])[0]
    rgb = _rgb(fig)[r0 + 2 : r1 - 2, c0:c1]
    width = (c1 - c0) / 4
    for k in range(4):
        column = rgb[:, int(c0 - c0 + (k + 0.5) * width)]
        not_white = (1 - column).max(axis=1) > 0.2
        assert not_white.mean() > 0.2, k


def test_design_correlation_prints_each_correlation():
    fig = plotting.plot_design_matrix_correlation(_design())
    r = np.corrcoef(_design()["active"], _design()["rest"])[0, 1]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["1.00", f"{r:.2f}", "1.00"]


def test_design_correlation_needs_a_regressor():
    with pytest.raises(InputError, match="nothing to correlate"):
        plotting.plot_design_matrix_correlation(_design()[["drift_1", "constant"]])


def test_the_tutorials_design_calls_run(tmp_path):
    # nistats: plot_design_matrix(design_matrix, output_file=...) and
    # plot_contrast_matrix(active_minus_rest, design_matrix=design_matrix)
    from matplotlib.figure import Figure

    design = _design()
    out = tmp_path / "design_matrix.png"
    fig = plotting.plot_design_matrix(design, output_file=out)
    assert out.read_bytes() == plotting.figure_png(fig)
    contrast = plotting.plot_contrast_matrix("active - rest", design_matrix=design)
    assert isinstance(fig, Figure) and isinstance(contrast, Figure)


def test_contrast_matrix_takes_vectors_and_f_rows():
    design = _design()
    assert len(plotting.plot_contrast_matrix([1, -1, 0, 0], design).axes) == 2
    assert len(plotting.plot_contrast_matrix(["active", "rest"], design, colorbar=False).axes) == 1


def test_contrast_matrix_checks_length():
    with pytest.raises(InputError, match="expected 4 weights"):
        plotting.plot_contrast_matrix([1, -1], _design())


def test_plot_stat_map_takes_images_and_nilearns_keywords(tmp_path):
    stat, bg = _blob(-60)
    z_img = nib.Nifti1Image(stat, SPM_AFFINE)
    bg_path = tmp_path / "mean.nii.gz"
    nib.save(nib.Nifti1Image(bg, SPM_AFFINE), bg_path)
    out = tmp_path / "z.png"
    fig = plotting.plot_stat_map(
        z_img,
        bg_img=bg_path,
        threshold=3.0,
        display_mode="z",
        cut_coords=3,
        black_bg=True,
        title="Active minus Rest (Z>3)",
        output_file=out,
    )
    assert out.read_bytes() == plotting.figure_png(fig)
    assert "Active minus Rest (Z>3)" in [t.get_text() for t in fig.texts]
    assert _hot_columns(fig).size


def test_plot_stat_map_refuses_other_display_modes():
    with pytest.raises(InputError, match="display_mode"):
        plotting.plot_stat_map(nib.Nifti1Image(np.zeros((4, 4, 4)), SPM_AFFINE), display_mode="x")


def test_plot_stat_map_refuses_a_background_on_another_grid():
    z = nib.Nifti1Image(np.zeros((8, 8, 8)), SPM_AFFINE)
    bg = nib.Nifti1Image(np.zeros((8, 8, 8)), np.diag([2.0, 2, 2, 1]))
    with pytest.raises(InputError, match="resample the bg_img"):
        plotting.plot_stat_map(z, bg_img=bg)


def test_plot_mask_takes_images(tmp_path):
    mask = np.zeros((16, 16, 16), np.uint8)
    mask[4:12, 4:12, 4:12] = 1
    fig = plotting.plot_mask(nib.Nifti1Image(mask, SPM_AFFINE), title="m")
    assert "m" in [t.get_text() for t in fig.texts]


def test_plotting_leaves_the_backend_and_pyplot_alone(tmp_path):
    code = (
        "import sys, matplotlib, numpy as np, pandas as pd, nibabel as nib\n"
        "matplotlib.use('pdf')\n"
        "from refglm import plotting\n"
        "z = nib.Nifti1Image(np.ones((8, 8, 8)) * 5, np.eye(4))\n"
        "plotting.plot_stat_map(z, bg_img=z, threshold=3.0)\n"
        "plotting.plot_design_matrix(pd.DataFrame({'a': [0.0, 1.0], 'constant': [1.0, 1.0]}))\n"
        "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pdf", "False"]


def test_figures_show_inline_as_png():
    fig = plotting.plot_design_matrix(_design())
    assert fig._repr_png_() == plotting.figure_png(fig)


def test_figures_are_png_and_deterministic(tmp_path):
    design = _design()
    stat, bg = _blob(-60)
    calls = [
        lambda: plotting.plot_design_matrix(design),
        lambda: plotting.plot_design_matrix_correlation(design),
        lambda: plotting.plot_regressors(design, "active"),
        lambda: plotting.plot_contrast_matrix([1, -1, 0, 0], design, title="c"),
        lambda: plotting.plot_contrast_matrix(np.eye(4)[:2], design),
        lambda: _map(stat, bg, title="t"),
        lambda: _map(-stat, bg, title="neg"),
        lambda: plotting.mask_figure(bg > 0, bg, SPM_AFFINE),
    ]
    for k, call in enumerate(calls):
        png = plotting.figure_png(call())
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert plotting.figure_png(call()) == png, k
        assert b"tIME" not in png  # no timestamp chunk


def test_stat_map_grid_mismatch():
    with pytest.raises(InputError, match="one grid"):
        _map(np.zeros((4, 4, 4)), np.zeros((5, 4, 4)))


def _trace(rng):
    from refglm.first_level.trace import trace_voxel

    design = _design()
    y = (100 + 5 * design["active"].to_numpy() + rng.standard_normal(40)).astype(np.float32)
    return trace_voxel(y, design, "active - rest")


def test_voxel_trace_legends_sit_outside_the_data(rng):
    fig = plotting.plot_voxel_trace(_trace(rng), title="x")
    fig.canvas.draw()
    for ax in fig.axes:
        legend = ax.get_legend()
        assert legend is not None
        assert not legend.get_window_extent().overlaps(ax.get_window_extent())


def test_voxel_trace_writes_mathtext(rng):
    fig = plotting.plot_voxel_trace(_trace(rng))
    labels = [t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()]
    assert r"AR(1) model $X\tilde{\beta}$" in labels
    assert r"whitened fit $\tilde{X}\tilde{\beta}$" in labels


def test_voxel_trace_writes_output_file(rng, tmp_path):
    fig = plotting.plot_voxel_trace(_trace(rng), output_file=tmp_path / "t.png")
    assert (tmp_path / "t.png").read_bytes() == plotting.figure_png(fig)


# ------------------------------------------------------------------ refglm compare's figures


def _delta_pair(x_mm, affine=SPM_AFFINE):
    """Two maps on the brain of ``_blob``'s grid that differ by a blob at ``x_mm``."""
    shape = (64, 64, 64)
    union = np.zeros(shape, bool)
    union[8:56, 8:56, 8:56] = True
    a = np.where(union, 1.0, 0.0)
    b = a + _blob(x_mm, affine, shape=shape, value=0.5)[0]
    return a, b, union


def _delta_figure(x_mm, **kwargs):
    from refglm.plotting.compare import delta_slices_figure

    a, b, union = _delta_pair(x_mm)
    return delta_slices_figure(a, b, union, SPM_AFFINE, **kwargs)


def test_delta_slices_are_neurological_left_on_left():
    left, right = _hot_columns(_delta_figure(-60)), _hot_columns(_delta_figure(60))
    assert left.size and right.size
    assert left.mean() + 60 < right.mean()


def test_delta_slices_mark_left_and_right_above_each_cut():
    fig = _delta_figure(-60)
    texts = [t.get_text() for t in _text_artists(fig)]
    assert texts.count("L") == texts.count("R") == 3
    assert not _labels_touch_data(fig, 3)


def test_delta_slices_cut_through_the_largest_difference():
    """Four slabs of small Δ hold most |Δ|; one voxel elsewhere holds the largest."""
    from refglm.plotting.compare import delta_slices_figure

    a, b, union = _delta_pair(-60)
    b = a.copy()
    for k in (12, 20, 28, 44):  # z = -30, -6, 18, 66 mm
        b[10:54, 10:54, k] += 0.1
    b[30, 30, 36] += 1.0  # z = 42 mm
    texts = [t.get_text() for t in _text_artists(delta_slices_figure(a, b, union, SPM_AFFINE))]
    assert "z = 42 mm" in texts


def _grey_levels(fig):
    """Distinct grey levels inside the panels (the background where Δ is not drawn)."""
    rgb = _rgb(fig)
    levels = set()
    for r0, r1, c0, c1 in _boxes(fig, fig.axes[:3]):
        panel = rgb[r0:r1, c0:c1]
        grey = (np.ptp(panel, axis=2) < 1e-3) & (panel[..., 0] > 0.02)
        levels |= set(np.round(panel[grey][:, 0], 3))
    return levels


def test_delta_slices_draw_the_mean_epi_behind():
    grid = np.indices((64, 64, 64)).sum(axis=0).astype(float)  # a gradient "EPI"
    with_epi = _grey_levels(_delta_figure(-60, background=grid))
    support_only = _grey_levels(_delta_figure(-60))
    assert len(support_only) <= 2 < 20 < len(with_epi)


def test_bland_altman_names_its_reference_lines_in_a_legend():
    from refglm.plotting.compare import bland_altman_figure

    a, b, union = _delta_pair(-60)
    fig = bland_altman_figure(a, b, union)
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    labels = [t.get_text() for t in legend.get_texts()]
    diff = (b - a)[union]
    mu, sd = diff.mean(), diff.std()
    assert labels == [
        f"voxels ({union.sum()})",
        f"mean Δ = {mu:.3g}",
        f"mean ± 1.96 SD = {mu - 1.96 * sd:.3g} … {mu + 1.96 * sd:.3g}",
    ]
