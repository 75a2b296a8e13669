"""``refglm explain-voxel --from`` of a fit under a flipped convention.

``refglm compare --explain`` names a candidate's convention as a flip of a named one
(``--convention nilearn+ar_binning=round``); ``refglm fit`` takes that name, writes it
to ``statmap.json``, and ``explain-voxel --from`` rebuilds the same convention from it.
``ar_binning=round`` puts rho on another grid than nilearn's ``truncate``: the trace
must bin as the fit did to give the fit's z.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from refglm import cli
from refglm.workflows.explain_voxel import explain_fit_voxel
from tests.cli.test_bad_inputs import run_cli
from tests.conftest import spm_auditory_dir

FLIPPED = "nilearn+ar_binning=round"
#: The vectorized fit against the trace's statsmodels calls: the engines' 1e-10
#: (docs/performance.md; measured 1.8e-15 at this voxel).
Z_ATOL = 1e-10
PEAK_MM = (-60, -6, 42)


def _func():
    return sorted(str(p) for p in (spm_auditory_dir() / "sub001" / "fM00223").glob("*.img"))


@pytest.fixture(scope="module")
def flipped_fit(tmp_path_factory):
    out = tmp_path_factory.mktemp("flipped") / "fit"
    events = spm_auditory_dir() / "sub001" / "fM00223" / "fM00223_events.tsv"
    args = ["fit", "--func", *_func(), "--events", events, "--t-r", "7"]
    args += ["--convention", FLIPPED]
    args += ["--engine", "vectorized", "--no-report", "--out", out, "--contrast", "active - rest"]
    code, _, err = run_cli(args)
    assert code == cli.EXIT_OK, err
    return out


@pytest.mark.slow
def test_a_flipped_fit_records_the_flip_and_is_traced_under_it(flipped_fit):
    record = json.loads((flipped_fit / "statmap.json").read_text())
    assert record["convention"] == FLIPPED
    assert record["convention_choices"]["ar_binning"] == "round"
    trace, info = explain_fit_voxel(flipped_fit, _func(), mm=PEAK_MM)
    assert trace.convention == FLIPPED
    # rho on the rounded grid: rint(100 rho_raw) / 100 (nilearn's would truncate)
    assert trace.rho == np.rint(trace.rho_raw * 100) / 100
    np.testing.assert_allclose(trace.z, info["fit_z"], rtol=0, atol=Z_ATOL)
