"""``refglm explain-voxel --from FIT_DIR --func ...``: a voxel of one's own fit, traced.

The trace reads the fit's ``statmap.json`` (convention, noise model, contrasts, the run's
files by hash), ``design.tsv`` and ``mask.nii.gz``, and the voxel's series from the run
given again: its z must be the fit's z map at that voxel (the statsmodels engine: the same
calls; the vectorized engine: within its tested 1e-10).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from refglm import cli, io
from refglm.exceptions import InputError
from refglm.workflows.explain_voxel import explain_fit_voxel
from tests.cli.test_bad_inputs import fit_args, run_cli, write_run

#: the vectorized engine against the statsmodels calls of the trace (tests/glm/engines)
VECTORIZED_ATOL = 1e-10


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    return write_run(tmp_path_factory.mktemp("run"))


def _fit(run_files, out, engine="statsmodels"):
    extra = ["--contrast", "effects=active; rest", "--engine", engine]
    code, _, err = run_cli(fit_args(run_files, out, extra=extra))
    assert code == cli.EXIT_OK, err
    return out


@pytest.fixture(scope="module")
def fitted(run_files, tmp_path_factory):
    return _fit(run_files, tmp_path_factory.mktemp("fit") / "out")


def _voxels(fit_dir, n=5):
    """``n`` voxels of the fit's mask, spread over it."""
    mask = io.image_data(fit_dir / "mask.nii.gz")[0] > 0
    inside = np.argwhere(mask)
    picks = np.linspace(0, len(inside) - 1, n).astype(int)
    return [tuple(int(v) for v in inside[k]) for k in picks]


def _fit_z(fit_dir, ijk, name="activeMinusRest"):
    return io.image_data(fit_dir / f"contrast-{name}_stat-z_statmap.nii.gz")[0][ijk]


def test_the_traced_z_is_the_fits_z_map_at_the_voxel(fitted, run_files):
    for ijk in _voxels(fitted):
        trace, info = explain_fit_voxel(fitted, run_files[0], ijk=ijk)
        assert trace.z == _fit_z(fitted, ijk) == info["fit_z"], ijk


def test_the_traced_z_of_a_vectorized_fit_is_within_its_tolerance(run_files, tmp_path):
    fit_dir = _fit(run_files, tmp_path / "vec", engine="vectorized")
    for ijk in _voxels(fit_dir):
        trace, _ = explain_fit_voxel(fit_dir, run_files[0], ijk=ijk)
        assert abs(trace.z - _fit_z(fit_dir, ijk)) <= VECTORIZED_ATOL, ijk


def test_the_fits_first_f_contrast_is_traced_beside(fitted, run_files):
    ijk = _voxels(fitted)[2]
    trace, _ = explain_fit_voxel(fitted, run_files[0], ijk=ijk)
    assert trace.f_z == _fit_z(fitted, ijk, "effects")


def test_a_run_of_other_content_is_refused(fitted, run_files, tmp_path):
    other = tmp_path / run_files[0].name
    data, affine = io.image_data(run_files[0])
    data[5, 5, 5, 3] += 1.0
    io.save_image(data.astype(np.float32), other, affine)
    with pytest.raises(InputError, match="differs in content from the fit's"):
        explain_fit_voxel(fitted, other, ijk=(5, 5, 5))


def test_a_copy_of_the_run_is_accepted(fitted, run_files, tmp_path):
    copy = shutil.copy(run_files[0], tmp_path / "renamed_bold.nii.gz")
    ijk = _voxels(fitted)[0]
    trace, _ = explain_fit_voxel(fitted, copy, ijk=ijk)
    assert trace.z == _fit_z(fitted, ijk)


def test_a_voxel_outside_the_fits_mask_is_refused(fitted, run_files):
    with pytest.raises(InputError, match="outside the fit's mask"):
        explain_fit_voxel(fitted, run_files[0], ijk=(0, 0, 0))


def test_an_f_contrast_is_not_traced_as_the_t_one(fitted, run_files):
    with pytest.raises(InputError, match="expected a t contrast .* name a t contrast"):
        explain_fit_voxel(fitted, run_files[0], ijk=_voxels(fitted)[0], contrast="effects")


def test_a_folder_without_statmap_json_is_named(run_files, tmp_path):
    with pytest.raises(InputError, match="statmap.json"):
        explain_fit_voxel(tmp_path, run_files[0], ijk=(5, 5, 5))


def test_the_command_prints_the_fits_z_beside_the_trace(fitted, run_files):
    ijk = _voxels(fitted)[1]
    args = ["explain-voxel", "--from", fitted, "--func", run_files[0]]
    code, out, err = run_cli([*args, "--ijk", *ijk])
    assert code == cli.EXIT_OK, err
    z = _fit_z(fitted, ijk)
    assert f"  the fit's z map there: {z:.6f} (|difference| 0.0e+00)" in out
    assert max(len(line) for line in out.splitlines()) <= 80
