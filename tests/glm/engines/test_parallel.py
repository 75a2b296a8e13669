"""The statsmodels reference scales out without changing a bit.

``fit.run_glm`` splits voxels into chunks and maps them serially or through
joblib; every voxel's fit is independent, so the results must be bitwise
identical whatever the number of jobs, the chunk size or the backend (Dask
included).
"""

import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_array_equal
from scipy.signal import lfilter

from refglm.glm.engines.statsmodels import run_glm

FIELDS = ("beta", "sigma2", "df_resid", "rho_raw", "rho", "labels", "cov_unscaled")


@pytest.fixture(scope="module")
def problem():
    """40 scans, 120 voxels with AR(1) noise of rho from -0.5 to 0.8 (many bins)."""
    rng = np.random.default_rng(20261124)
    n, v = 40, 120
    X = np.column_stack([rng.standard_normal((n, 2)), np.ones(n)])
    noise = rng.standard_normal((n, v))
    for j, rho in enumerate(np.linspace(-0.5, 0.8, v)):
        noise[:, j] = lfilter([1.0], [1.0, -rho], noise[:, j])
    return X, X @ rng.standard_normal((3, v)) + noise


# The fit's choices whose chunks differ: the nistats default, the iterative fit (one
# covariance per voxel), OLS (no AR pass), unbinned rho (per-voxel covariances), and
# another estimator with another scan-0 whitening (another GLSAR class in the workers).
CHOICES = {
    "nistats": {},
    "iterative": dict(ar_fit="iterative"),
    "ols": dict(noise_model="ols"),
    "unbinned": dict(ar_binning="none"),
    "yule_walker_prais_winsten": dict(ar_estimator="yule_walker", whiten_scan0="prais_winsten"),
    "yule_walker_voxel_drop": dict(ar_estimator="yule_walker_voxel", whiten_scan0="drop"),
}


@pytest.fixture(scope="module")
def serial(problem):
    """One chunk, no joblib: the plain loop."""
    X, Y = problem
    return {
        name: run_glm(Y, X, **choice, n_jobs=1, chunk_size=10**6)
        for name, choice in CHOICES.items()
    }


def assert_bitwise_equal(a, b):
    for name in FIELDS:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name, strict=True)


@pytest.mark.parametrize("choice", CHOICES)
@pytest.mark.parametrize("n_jobs, chunk_size", [(1, 1), (1, 17), (2, 17), (2, 64), (2, 10**6)])
def test_jobs_and_chunks_give_identical_bits(problem, serial, choice, n_jobs, chunk_size):
    X, Y = problem
    fit = run_glm(Y, X, **CHOICES[choice], n_jobs=n_jobs, chunk_size=chunk_size)
    assert_bitwise_equal(serial[choice], fit)


@pytest.mark.parametrize("choice", ["nistats", "iterative"])
def test_float32_chunks_converted_in_workers_give_identical_bits(problem, choice):
    # float32 chunks travel to the workers as float32 and are converted there: the
    # bits must be those of the serial fit of the same values given as float64
    X, Y = problem
    Y32 = Y.astype(np.float32)
    expected = run_glm(Y32.astype(np.float64), X, **CHOICES[choice], n_jobs=1, chunk_size=10**6)
    fit = run_glm(Y32, X, **CHOICES[choice], n_jobs=2, chunk_size=17)
    assert_bitwise_equal(expected, fit)


def _dask_cluster(processes):
    from distributed import LocalCluster

    # In-process workers talk over inproc://, which takes no host; process workers use TCP.
    host = {"host": "127.0.0.1"} if processes else {}
    return LocalCluster(
        n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None, **host
    )


def _fit_on_dask(problem, processes, by_name=False):
    """run_glm on joblib's Dask backend; also the number of tasks Dask ran.

    The backend is chosen by ``parallel_config(backend='dask')`` around the call,
    or, with ``by_name``, by ``run_glm(..., backend='dask')``.
    """
    from distributed import Client, get_task_stream

    X, Y = problem
    with _dask_cluster(processes) as cluster, Client(cluster) as client:
        with get_task_stream(client) as tasks:
            if by_name:
                fit = run_glm(Y, X, n_jobs=2, chunk_size=16, backend="dask")
            else:
                with parallel_config(backend="dask"):
                    fit = run_glm(Y, X, n_jobs=2, chunk_size=16)
        return fit, len(tasks.data)


def test_dask_in_process_workers_give_identical_bits(problem, serial):
    fit, n_tasks = _fit_on_dask(problem, processes=False)
    assert n_tasks > 0, "no task ran on the Dask cluster"
    assert_bitwise_equal(serial["nistats"], fit)


@pytest.mark.slow
def test_dask_worker_processes_give_identical_bits(problem, serial):
    fit, n_tasks = _fit_on_dask(problem, processes=True)
    assert n_tasks > 0, "no task ran on the Dask cluster"
    assert_bitwise_equal(serial["nistats"], fit)


def test_dask_backend_by_name_gives_identical_bits(problem, serial):
    fit, n_tasks = _fit_on_dask(problem, processes=False, by_name=True)
    assert n_tasks > 0, "no task ran on the Dask cluster"
    assert_bitwise_equal(serial["nistats"], fit)
