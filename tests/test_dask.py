"""The search on a real Dask cluster — a ``dask scheduler`` and two ``dask worker`` processes on
127.0.0.1 — gives the same files as one local process, survives a worker killed mid-generation,
and an address nobody answers on is one clear error, quickly, with nothing written."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from distributed import (
    Client,  # the dev extra brings dask[distributed]: no skip hides this file
)
from helpers import DIGITS as CONFIG
from helpers import files

from evoinit.api import opened, resume, search
from evoinit.errors import UsageError, WorkerError
from evoinit.ga import backends
from evoinit.ga.configfile import build, load_toml

DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and worker processes, each in its own process group; ``workers`` maps a
    worker's address to its process."""

    def __init__(self, logs: Path):
        self.address = f"tcp://127.0.0.1:{free_port()}"
        self.logs, self.procs, self.workers = logs, [], {}
        self.monitor = None

    def _spawn(self, name: str, *args) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")
        proc = subprocess.Popen([DASK, *args], stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=os.environ | {"OPENBLAS_NUM_THREADS": "1"})
        log.close()
        self.procs.append(proc)
        return proc

    def start(self, n_workers: int) -> "Cluster":
        port = self.address.rsplit(":", 1)[1]
        self._spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard")
        for i in range(n_workers):
            address = f"tcp://127.0.0.1:{free_port()}"
            self.workers[address] = self._spawn(
                f"worker{i}", "worker", self.address, "--nthreads", "1", "--no-dashboard",
                "--host", "127.0.0.1", "--worker-port", address.rsplit(":", 1)[1])
        self.monitor = Client(self.address, timeout=30, set_as_default=False)
        if n_workers:
            self.monitor.wait_for_workers(n_workers, timeout=60)
        return self

    def kill(self, address: str) -> None:
        os.killpg(self.workers[address].pid, signal.SIGKILL)   # the worker and its nanny

    def close(self) -> None:
        if self.monitor is not None:
            self.monitor.close()
        for proc in reversed(self.procs):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)


@contextmanager
def running_cluster(logs: Path, n_workers: int = 2):
    cluster = Cluster(logs)
    try:
        yield cluster.start(n_workers)
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


def test_a_cluster_run_equals_a_one_process_run(cluster, undisturbed_digits, tmp_path):
    result = search(CONFIG.dataset, config=CONFIG, scheduler=cluster.address, out=tmp_path / "run")
    assert result.finished
    assert files(tmp_path / "run") == undisturbed_digits
    executed = cluster.monitor.run(lambda dask_worker: dask_worker.state.executed_count)
    assert len(executed) == 2 and min(executed.values()) > 0 and sum(executed.values()) > 10, executed
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["execution"]["scheduler"] == cluster.address
    # paused on the cluster and resumed on it: the same files again
    search(CONFIG.dataset, config=CONFIG, scheduler=cluster.address, out=tmp_path / "part", stop_after=0)
    resume(tmp_path / "part", scheduler=cluster.address)
    assert files(tmp_path / "part") == undisturbed_digits


def test_the_cluster_says_how_many_workers_it_has_and_split_populations_change_nothing(
        cluster, undisturbed_digits, tmp_path):
    with backends.parallel(scheduler=cluster.address) as workers:
        assert workers.n_workers == 2                 # two workers of one thread each
    with opened(CONFIG.dataset, config=CONFIG, scheduler=cluster.address, out=tmp_path / "run") as run:
        run.split = True                              # every population cut to single networks
        assert run.loop().finished
    assert files(tmp_path / "run") == undisturbed_digits


def test_jobs_on_dask_workers_keep_freed_memory_as_glibc_does_by_default(cluster):
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns every array over
    128 KiB into a fresh mmap (training 12-14% slower than on loky); evoinit's jobs run with
    glibc's adaptive thresholds and hand the worker back its own."""

    def mmapped_by_a_2_mib_array():
        import ctypes
        import ctypes.util
        import os

        import numpy as np

        class Info(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in
                        "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = Info
        before = libc.mallinfo2().hblks
        a = np.ones(2**18)
        return os.environ.get("MALLOC_TRIM_THRESHOLD_"), libc.mallinfo2().hblks - before, float(a[0])

    plain = cluster.monitor.run(mmapped_by_a_2_mib_array)
    assert [v[:2] for v in plain.values()] == [("65536", 1)] * 2      # the worker as Dask made it
    with backends.parallel(scheduler=cluster.address) as workers:
        ran = list(workers([(mmapped_by_a_2_mib_array, (), {})] * 4))
        ran.append(workers.result(workers.submit(mmapped_by_a_2_mib_array)))
    assert [v[:2] for v in ran] == [("65536", 0)] * 5                 # from the heap, as on loky
    assert [v[:2] for v in cluster.monitor.run(mmapped_by_a_2_mib_array).values()] == [("65536", 1)] * 2


def test_the_steady_shape_on_the_cluster_writes_what_one_process_writes(cluster, tmp_path):
    from test_steady import STEADY as config
    pause = 2
    search(config.dataset, config=config, n_jobs=1, out=tmp_path / "one")
    search(config.dataset, config=config, scheduler=cluster.address, out=tmp_path / "dask")
    assert files(tmp_path / "dask") == files(tmp_path / "one")
    search(config.dataset, config=config, scheduler=cluster.address, out=tmp_path / "part", stop_after=pause)
    resume(tmp_path / "part", scheduler=cluster.address)
    assert files(tmp_path / "part") == files(tmp_path / "one")


def test_a_worker_killed_mid_generation_changes_nothing(undisturbed_digits, tmp_path):
    with running_cluster(tmp_path) as c:
        seen = {"closed": 0, "killed": None}

        def kill_a_busy_worker(p):
            # at the first result of generation 1 (the first "generation" event closes generation 0)
            if p.kind == "generation":
                seen["closed"] += 1
            elif p.kind == "evaluated" and seen["closed"] == 1 and seen["killed"] is None:
                busy = [w for w, tasks in c.monitor.processing().items() if tasks and w in c.workers]
                assert busy, "no worker holds work: a kill now would prove nothing"
                c.kill(busy[0])
                seen["killed"] = busy[0]

        result = search(CONFIG.dataset, config=CONFIG, scheduler=c.address, out=tmp_path / "run",
                        progress=kill_a_busy_worker)
        assert seen["killed"] is not None and c.workers[seen["killed"]].poll() is not None
        assert list(c.monitor.scheduler_info()["workers"]) == [w for w in c.workers if w != seen["killed"]]
        assert result.finished
        assert files(tmp_path / "run") == undisturbed_digits


def test_a_scheduler_in_this_process_does_not_shift_the_ga(undisturbed_digits, tmp_path):
    """A LocalCluster's scheduler runs in the search's own process and draws from the global
    ``random`` (it picks workers with ``random.choice``) while generations are evaluated: DEAP's
    stream must not be that one."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as local:
        search(CONFIG.dataset, config=CONFIG, scheduler=local.scheduler_address, out=tmp_path / "run")
    assert files(tmp_path / "run") == undisturbed_digits


def test_an_unreachable_scheduler_is_one_clear_error_quickly(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"     # nobody listens there
    env = {**os.environ, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "evoinit", "search", "--dataset", "iris", "--population", "4",
           "--generations", "1", "--epochs", "2", "--scheduler", address, "--out", str(tmp_path / "run")]
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    elapsed = time.monotonic() - t0
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"cannot reach the Dask scheduler at {address}" in r.stderr
    assert elapsed < backends.CONNECT_TIMEOUT + 15, elapsed  # the connect timeout and Python's startup
    assert not (tmp_path / "run").exists()
    # the same through the Python API, with a shorter bound
    backends_timeout = backends.CONNECT_TIMEOUT
    try:
        backends.CONNECT_TIMEOUT = 2.0
        t0 = time.monotonic()
        with pytest.raises(WorkerError, match="cannot reach the Dask scheduler"):
            search("iris", scheduler=address, out=tmp_path / "api", generations=1, population=4)
        assert time.monotonic() - t0 < 2.0 + 3
    finally:
        backends.CONNECT_TIMEOUT = backends_timeout
    assert not (tmp_path / "api").exists()


def test_a_scheduler_without_workers_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(backends, "WAIT_FOR_WORKERS", 2.0)
    with running_cluster(tmp_path, n_workers=0) as c:
        with pytest.raises(WorkerError, match="has no worker after 2 s; start some with `dask worker"):
            search("iris", scheduler=c.address, out=tmp_path / "run", generations=1, population=4)
    assert not (tmp_path / "run").exists()


def test_bad_address_missing_dask_and_the_toml_setting(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="expected tcp://HOST:PORT"):
        search("iris", scheduler="http://127.0.0.1:1", out=tmp_path / "run")
    toml = tmp_path / "s.toml"
    toml.write_text('dataset = "iris"\nscheduler = "tcp://10.0.0.5:8786"\n')
    _, execution = build(load_toml(toml))
    assert execution == {"scheduler": "tcp://10.0.0.5:8786"}
    monkeypatch.setitem(sys.modules, "distributed", None)     # as if the dask extra were missing
    with pytest.raises(UsageError, match=r"pip install 'evoinit\[dask\]'"):
        search("iris", scheduler="tcp://127.0.0.1:8786", out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
