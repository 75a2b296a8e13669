"""What refglm's titles, methods paragraph and report header say: the rule they describe.

The cluster-size filter keeps clusters of *at least* ``cluster_threshold``
voxels (it removes those of fewer, as nistats and nilearn do), so every
sentence and title refglm writes about it must say so. The methods paragraph
and the report's header say which engine computed the numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from refglm.conventions import get_convention
from refglm.first_level.thresholding import map_threshold
from refglm.report.methods import engine_summary, methods_paragraph
from refglm.workflows.fit import map_title
from tests.io.test_bids_raw import events_file, write_small_run

N_MIN = 10  # the tutorial's cluster_threshold


@pytest.fixture(scope="module")
def exact_cluster_survives():
    """Whether clusters of exactly N_MIN and of N_MIN - 1 voxels survive map_threshold."""
    import nibabel as nib

    z = np.zeros((30, 8, 8))
    z[2 : 2 + N_MIN, 2, 2] = 5.0  # a line of exactly N_MIN voxels
    z[15 : 15 + N_MIN - 1, 2, 2] = 5.0  # and one of N_MIN - 1, 3 voxels away from it
    img = nib.Nifti1Image(z, np.eye(4))
    out, _ = map_threshold(img, height_control=None, threshold=3.0, cluster_threshold=N_MIN)
    data = np.asarray(out.dataobj)
    return bool(data[2, 2, 2] > 0), bool(data[15, 2, 2] > 0)


def test_the_filter_keeps_a_cluster_of_exactly_n_voxels(exact_cluster_survives):
    assert exact_cluster_survives == (True, False)


def test_fit_map_title_says_clusters_of_at_least_n_voxels(exact_cluster_survives):
    title = map_title("activeMinusRest", "fdr", 0.05, None, N_MIN)
    kept_exact, _ = exact_cluster_survives
    assert title == f"activeMinusRest (fdr=0.05, clusters \u2265 {N_MIN} voxels)"
    assert kept_exact  # what "\u2265" promises
    assert ">" not in title


def test_fit_map_title_without_a_filter_or_a_height_control():
    assert map_title("c", None, 0.05, 3.1, 0) == "c (z > 3.1)"


def _design():
    t = np.arange(6) * 2.0
    return pd.DataFrame(
        {"active": [0, 1, 1, 0, 0, 1.0], "drift_1": np.cos(t / 10), "constant": np.ones(6)},
        index=t,
    )


def _params(**extra):
    return (
        dict(t_r=2.0, noise_model="ar1", hrf_model="spm", drift_model="cosine", high_pass=0.01)
        | extra
    )


def test_methods_paragraph_states_the_cluster_rule(exact_cluster_survives):
    text = methods_paragraph(
        _params(map_cluster_threshold=N_MIN), get_convention("nistats"), _design(), 10, []
    )
    assert exact_cluster_survives == (True, False)
    assert (
        f"removed clusters of fewer than {N_MIN} voxels and kept clusters of at least "
        f"{N_MIN} voxels" in text
    )


@pytest.mark.parametrize(
    "engine, says, never",
    [
        ("statsmodels", "fitted by ordinary least squares (statsmodels <code>OLS</code>)", "numpy"),
        ("vectorized", "<code>vectorized</code> engine: all voxels at once in batched numpy", None),
    ],
)
def test_methods_paragraph_names_the_engine(engine, says, never):
    text = methods_paragraph(_params(engine=engine), get_convention("nistats"), _design(), 10, [])
    assert says in text
    assert never is None or never not in text


def test_methods_paragraph_of_the_vectorized_engine_gives_its_tolerance():
    text = methods_paragraph(
        _params(engine="vectorized"), get_convention("nistats"), _design(), 10, []
    )
    assert "tested equal to the statsmodels reference" in text
    assert "10<sup>&minus;10</sup>" in text


@pytest.mark.parametrize("engine", ["statsmodels", "vectorized"])
def test_methods_paragraph_describes_an_ar_p_fit(engine):
    # an AR(2) fit was described as OLS alone ("Each voxel was fitted by ordinary least
    # squares; residual degrees of freedom ...")
    text = methods_paragraph(
        _params(noise_model="ar2", engine=engine), get_convention("nilearn"), _design(), 10, []
    )
    assert "the AR(2) coefficients of its residuals were estimated by Yule-Walker" in text
    assert "grouped by KMeans into at most 100 models" in text
    assert "refitted on AR(2)-whitened data" in text
    assert "keeping the first 2 scans with the lags they have" in text
    assert "AR(1)" not in text


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    return write_small_run(folder / "sub-01_task-auditory_bold.nii.gz"), events_file()


@pytest.mark.parametrize("engine", ["statsmodels", "vectorized"])
def test_report_header_names_the_engine(small_run, tmp_path, engine):
    from refglm.cli import main

    bold, events = small_run
    args = ["fit", "--func", str(bold), "--events", str(events), "--t-r", "7"]
    args += ["--contrast", "active - rest", "--engine", engine, "--out", str(tmp_path)]
    assert main(args) == 0
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    header = html[html.index("<header>") : html.index("</header>")]
    assert engine_summary(engine) in header
    other = {"statsmodels": "vectorized", "vectorized": "statsmodels"}[engine]
    assert engine_summary(other) not in header
