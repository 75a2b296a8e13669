"""``refglm explain-voxel --from FIT_DIR`` of a fit under ``spm12``: refitted, then traced.

The fit is SPM12's model of the SPM auditory run with options off their defaults
(``--global-normalization scaling``, ``--implicit-mask-threshold 0.6``, ``--oversampling
8 --microtime-onset 3``): the scale factors and the implicit mask of a refit that
ignored statmap.json's record would differ (other z values, or another mask, which the
refit refuses). The vectorized engine keeps the fit at a few seconds.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from refglm import cli, io
from refglm.workflows.explain_voxel import explain_fit_voxel
from tests.cli.test_bad_inputs import one_line, run_cli
from tests.conftest import spm_auditory_dir

#: Two float32 roundings (SPM's con and T images, ``contrast_dtype='float32_images'``)
#: of 2^-24 relative each: a beta of the vectorized fit within its 1e-10 of the trace's
#: statsmodels OLS may round to the neighbouring float32 of con or T, which moves z by
#: at most that much of |T| (dz/dT <= 1 for Student's t against the normal). The z maps
#: themselves are written as float64, so storage adds nothing. Measured: 0 at 400 voxels.
FLOAT32_ROUNDINGS = 2 * 2.0**-24

SPM_OPTIONS = {
    "oversampling": 8,
    "microtime_onset": 3,
    "global_normalization": "scaling",
    "implicit_mask_threshold": 0.6,
}


def _func():
    return sorted(str(p) for p in (spm_auditory_dir() / "sub001" / "fM00223").glob("*.img"))


@pytest.fixture(scope="module")
def spm_fit(tmp_path_factory):
    """``refglm fit --convention spm12`` of the SPM auditory run, vectorized engine."""
    out = tmp_path_factory.mktemp("spm12") / "fit"
    events = spm_auditory_dir() / "sub001" / "fM00223" / "fM00223_events.tsv"
    args = ["fit", "--func", *_func(), "--events", events, "--t-r", "7"]
    args += ["--hrf-model", "spm", "--high-pass", "0.0078125", "--convention", "spm12"]
    args += ["--engine", "vectorized", "--no-report", "--out", out]
    args += ["--contrast", "active - rest", "--contrast", "effects=active; rest"]
    for key, value in SPM_OPTIONS.items():
        args += ["--" + key.replace("_", "-"), value]
    code, _, err = run_cli(args)
    assert code == cli.EXIT_OK, err
    return out


def _map(fit_dir, name, kind="z"):
    return io.image_data(fit_dir / f"contrast-{name}_stat-{kind}_statmap.nii.gz")[0]


@pytest.mark.slow
def test_statmap_json_records_the_spm_options_used(spm_fit):
    record = json.loads((spm_fit / "statmap.json").read_text())
    assert {key: record[key] for key in SPM_OPTIONS} == SPM_OPTIONS


@pytest.mark.slow
def test_the_traced_z_of_an_spm12_fit_is_its_z_map(spm_fit):
    """A voxel of negative z, away from the peak, its t and F both."""
    z, mask = _map(spm_fit, "activeMinusRest"), io.image_data(spm_fit / "mask.nii.gz")[0] > 0
    ijk = tuple(int(v) for v in np.argwhere(mask & (z < -1))[0])
    trace, info = explain_fit_voxel(spm_fit, _func(), ijk=ijk)
    assert info["refit_engine"] == "vectorized" and info["fit_z"] == z[ijk]
    assert trace.convention == "spm12"
    assert abs(trace.z - z[ijk]) <= FLOAT32_ROUNDINGS * abs(trace.t), (trace.z, z[ijk])
    f_z = _map(spm_fit, "effects")[ijk]
    assert abs(trace.f_z - f_z) <= FLOAT32_ROUNDINGS * max(1.0, trace.f), (trace.f_z, f_z)


@pytest.mark.slow
def test_the_command_prints_the_fits_z_beside_the_traced_z_at_the_peak(spm_fit):
    args = ["explain-voxel", "--from", spm_fit, "--func", *_func(), "--mm", "-60", "-6", "42"]
    code, out, err = run_cli(args)
    assert code == cli.EXIT_OK, err
    assert "with the vectorized engine" in out
    z = _map(spm_fit, "activeMinusRest")[51, 29, 36]
    traced = float(next(line for line in out.splitlines() if line.startswith("z (")).split()[-1])
    assert abs(traced - z) <= FLOAT32_ROUNDINGS * 20  # |T| ~ 17 there; printed to 6 decimals
    assert f"  the fit's z map there: {z:.6f} (|difference| " in out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.slow
def test_an_older_statmap_json_without_the_spm_options_is_refused(spm_fit, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(spm_fit, old)
    record = json.loads((old / "statmap.json").read_text())
    for key in SPM_OPTIONS:
        del record[key]
    (old / "statmap.json").write_text(json.dumps(record))
    args = ["explain-voxel", "--from", old, "--func", *_func(), "--ijk", "51", "29", "36"]
    code, out, err = run_cli(args)
    assert code == cli.EXIT_INPUT and out == ""
    line = one_line(err)
    assert line.startswith(f"refglm: error: --from {old}: expected statmap.json with ")
    assert ", ".join(SPM_OPTIONS) in line
    assert "refit with this refglm version" in line
