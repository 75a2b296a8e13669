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
        "import sys, refglm, refglm.cli, refglm.plotting, refglm.report, refglm.trace, "
        "refglm.bids, refglm.pipeline; print('matplotlib' in sys.modules)"
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


def _blob(x_mm, affine=SPM_AFFINE, shape=(64, 64, 64)):
    stat = np.zeros(shape)
    bg = np.full(shape, 100.0)
    i, j, k = np.rint(np.linalg.inv(affine) @ [x_mm, -6, 42, 1])[:3].astype(int)
    stat[i - 2 : i + 3, j - 2 : j + 3, k - 1 : k + 2] = 8.0
    return stat, bg


def _hot_columns(png):
    rgb = _rgb(png)
    hot = rgb[..., 0] - rgb[..., 2] > 0.15  # coloured (red to yellow), not grey
    hot[:, int(rgb.shape[1] * 0.7) :] = False  # ignore the colour bar
    return np.nonzero(hot)[1]


def test_stat_map_is_neurological_left_on_left():
    # one panel: a blob at x = -60 mm (subject's left) must appear left of one at x = +60
    left = _hot_columns(plotting.plot_stat_map(*_blob(-60), SPM_AFFINE, 3.0, cut_coords=[42]))
    right = _hot_columns(plotting.plot_stat_map(*_blob(60), SPM_AFFINE, 3.0, cut_coords=[42]))
    assert left.size and right.size
    assert left.mean() + 60 < right.mean()


def test_choose_axial_cuts():
    stat, _ = _blob(-60)
    cuts = plotting.choose_axial_cuts(stat, SPM_AFFINE, 3)
    assert len(cuts) == 3 and cuts == sorted(cuts)
    assert any(abs(c - 42) <= 3 for c in cuts)  # the blob spans z = 39..45
    assert min(np.diff(cuts)) >= 15
    empty = plotting.choose_axial_cuts(np.zeros((64, 64, 64)), SPM_AFFINE, 3)
    assert len(empty) == 3


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
    from refglm.trace import trace_voxel

    design = _design()
    y = (100 + 5 * design["active"].to_numpy() + rng.standard_normal(40)).astype(np.float32)
    png = plotting.plot_voxel_trace(trace_voxel(y, design, "active - rest"), title="x")
    assert _rgb(png).shape[:2] == (860, 800)
