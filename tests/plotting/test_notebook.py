"""refglm.plotting inline in a Jupyter notebook: each call shows its figure once, as a PNG.

A small notebook runs in a real IPython kernel (``nbclient`` and ``ipykernel``,
the test extra): the tutorial's ``plot_stat_map`` and ``plot_design_matrix``
calls, as the last expression of a cell, must each display one ``image/png``
output, with pyplot untouched and after ``import matplotlib.pyplot`` alike.
"""

from __future__ import annotations

import base64

import pytest

nbclient = pytest.importorskip("nbclient", reason="nbclient (the test extra) runs the notebook")
nbformat = pytest.importorskip("nbformat", reason="nbformat (the test extra) builds the notebook")
pytest.importorskip("ipykernel", reason="ipykernel (the test extra) is the notebook's kernel")

pytestmark = pytest.mark.slow

SETUP = """
import numpy as np, pandas as pd, nibabel as nib
from refglm import plotting
affine = np.array([[-3.0, 0, 0, 93], [0, 3.0, 0, -93], [0, 0, 3.0, -66], [0, 0, 0, 1]])
z = np.zeros((64, 64, 64)); z[20:25, 30:35, 35:38] = 8.0; z[40:45, 30:35, 35:38] = -8.0
z_map = nib.Nifti1Image(z, affine)
mean_img = nib.Nifti1Image(np.full(z.shape, 100.0), affine)
t = np.arange(40) * 2.0
dm = pd.DataFrame({"active": (np.sin(t / 8) > 0) * 1.0, "constant": np.ones(40)}, index=t)
"""

CELLS = {
    "stat map": "plotting.plot_stat_map(z_map, bg_img=mean_img, threshold=3.0, display_mode='z', "
    "cut_coords=3, black_bg=True, title='Active minus Rest (Z>3)')",
    "design matrix": "plotting.plot_design_matrix(dm)",
    "after pyplot": "import matplotlib.pyplot as plt\nplotting.plot_stat_map(z_map, threshold=3.0)",
}


@pytest.fixture(scope="module")
def executed():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP)]
    nb.cells += [nbformat.v4.new_code_cell(code) for code in CELLS.values()]
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3")
    client.execute()
    return dict(zip(CELLS, nb.cells[1:], strict=True))


def _pngs(cell) -> list[bytes]:
    return [
        base64.b64decode(out["data"]["image/png"])
        for out in cell.outputs
        if "data" in out and "image/png" in out["data"]
    ]


@pytest.mark.parametrize("name", list(CELLS))
def test_a_call_shows_its_figure_once_as_png(executed, name):
    pngs = _pngs(executed[name])
    assert len(pngs) == 1, executed[name].outputs
    assert pngs[0].startswith(b"\x89PNG\r\n\x1a\n") and len(pngs[0]) > 10_000


def test_a_call_raises_no_error_in_the_kernel(executed):
    errors = [out for cell in executed.values() for out in cell.outputs if out.get("ename")]
    assert errors == []
