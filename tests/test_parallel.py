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

from refglm.fit import run_glm

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


@pytest.fixture(scope="module")
def serial(problem):
    """One chunk, no joblib: the plain loop."""
    X, Y = problem
    return {
        ar_fit: run_glm(Y, X, ar_fit=ar_fit, n_jobs=1, chunk_size=10**6)
        for ar_fit in ("fixed", "iterative")
    }


def assert_bitwise_equal(a, b):
    for name in FIELDS:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name, strict=True)


@pytest.mark.parametrize("ar_fit", ["fixed", "iterative"])
@pytest.mark.parametrize("n_jobs, chunk_size", [(1, 1), (1, 17), (2, 17), (2, 64), (2, 10**6)])
def test_jobs_and_chunks_give_identical_bits(problem, serial, ar_fit, n_jobs, chunk_size):
    X, Y = problem
    fit = run_glm(Y, X, ar_fit=ar_fit, n_jobs=n_jobs, chunk_size=chunk_size)
    assert_bitwise_equal(serial[ar_fit], fit)


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
    assert_bitwise_equal(serial["fixed"], fit)


@pytest.mark.slow
def test_dask_worker_processes_give_identical_bits(problem, serial):
    fit, n_tasks = _fit_on_dask(problem, processes=True)
    assert n_tasks > 0, "no task ran on the Dask cluster"
    assert_bitwise_equal(serial["fixed"], fit)


def test_dask_backend_by_name_gives_identical_bits(problem, serial):
    fit, n_tasks = _fit_on_dask(problem, processes=False, by_name=True)
    assert n_tasks > 0, "no task ran on the Dask cluster"
    assert_bitwise_equal(serial["fixed"], fit)
