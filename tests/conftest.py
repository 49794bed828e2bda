"""Shared test setup: BLAS pinned to one thread (here multi-threaded OpenBLAS makes small matrix
work up to 30x slower, and evaluations must be single-threaded to be pure)."""

import os

# Subprocesses (the CLI driven by tests, loky and dask workers) inherit this.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def one_blas_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="session")
def undisturbed_digits(tmp_path_factory):
    """The result files of ``helpers.DIGITS`` run in one process: what a run that lost workers
    must still write (test_workers, test_dask)."""
    from helpers import DIGITS, files

    from evoinit.api import search

    out = tmp_path_factory.mktemp("undisturbed") / "run"
    search(DIGITS.dataset, config=DIGITS, n_jobs=1, out=out)
    return files(out)


@pytest.fixture(scope="module")
def digits():
    from evoinit import data

    return data.load("digits")


@pytest.fixture(scope="module")
def diabetes():
    from evoinit import data

    return data.load("diabetes")
