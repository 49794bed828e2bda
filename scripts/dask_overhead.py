"""Dask's cost per task and per generation, measured on a local cluster through evoinit's own path.

Usage:
    python scripts/dask_overhead.py                     # 2 workers, medians of 5
    python scripts/dask_overhead.py --workers 2 --repeats 7 --json overhead.json

A ``dask scheduler`` and ``--workers`` ``dask worker`` processes (one thread each) are started on
127.0.0.1, as in ``tests/test_dask.py``. Tasks are sent the way a search sends its populations:
through ``backends.parallel`` (joblib's Dask backend, results in order as they finish), with the
payload of a real population task (16 genome dicts, their seed keys, the dataset's ``DataSpec``
and the training settings). A task *sleeps* for a fixed time instead of training: sleeping uses no
CPU, so the figure stays meaningful on a shared machine, and what is left of the wall time is the
cost of the path. Measured:

- **per call** (a generation's fixed cost): the wall time of a call with one task of 0 s;
- **per task**: a call with N tasks of d seconds each on W workers takes g + N·(d + o)/W; from
  the wall times at N = ``--tasks`` and N = W (one round) the cost o each task adds to its worker.

The same is measured with loky (``n_jobs`` = W local processes) for comparison. These are the
figures ``scripts/simulate_cluster.py`` takes as ``--overhead`` and ``--generation-overhead``.
Over a real network, add the round trip between machines.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from evoinit.data.spec import DataSpec
from evoinit.ga import backends
from evoinit.ga.genome import Genome
from evoinit.ga.schedule import POPULATION
from evoinit.nn.training import TrainSettings


def _sleep(items, spec, settings, run_seed, seconds):
    """Stand-in for ``evaluate._run_population``: the same arguments, a fixed time, a result of
    the same shape."""
    if seconds:
        time.sleep(seconds)
    return [{"n": i, "seconds": seconds, "train_loss": [0.0] * 30} for i in range(len(items))]


def _payload():
    genome = Genome(hidden=(64, 32), activation="tanh", init="glorot_uniform", scale=1.0).to_json()
    items = [(genome, [0, n, r]) for n in range(POPULATION // 3) for r in range(3)]
    return items, DataSpec("digits").to_json(), TrainSettings(epochs=30).to_json()


def _call(workers, n_tasks: int, seconds: float) -> float:
    from joblib import delayed

    items, spec, settings = _payload()
    jobs = [delayed(_sleep)(items, spec, settings, 0, seconds) for _ in range(n_tasks)]
    t0 = time.perf_counter()
    for _ in workers(jobs):
        pass
    return time.perf_counter() - t0


def measure(workers, n: int, tasks: int, seconds: float, repeats: int) -> dict:
    for _ in range(2):                     # warm-up: workers started, modules imported
        _call(workers, tasks, seconds)
    call = statistics.median(_call(workers, 1, 0.0) for _ in range(4 * repeats))
    one_round = statistics.median(_call(workers, n, seconds) for _ in range(repeats))
    many = statistics.median(_call(workers, tasks, seconds) for _ in range(repeats))
    per_task = (many - one_round) * n / (tasks - n) - seconds
    return {"per_call_s": call, "per_task_s": per_task, "one_round_s": one_round, "many_s": many}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_cluster(n_workers: int) -> tuple[str, list]:
    dask = str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{_free_port()}"
    env = os.environ | {"OPENBLAS_NUM_THREADS": "1"}
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                               "--no-dashboard"], **quiet)]
    procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                "--host", "127.0.0.1"], **quiet) for _ in range(n_workers)]
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(n_workers, timeout=60)
    return address, procs


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="Dask workers (and loky processes) [2]")
    ap.add_argument("--tasks", type=int, default=200, help="tasks in the long call [200]")
    ap.add_argument("--seconds", type=float, default=0.02, help="each task's sleep [0.02]")
    ap.add_argument("--repeats", type=int, default=5, help="medians of this many calls [5]")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args(argv)
    if a.workers < 1 or a.tasks <= a.workers or a.repeats < 1 or a.seconds < 0:
        ap.error("need --workers >= 1, --tasks > --workers, --repeats >= 1, --seconds >= 0")
    result = {"workers": a.workers, "tasks": a.tasks, "seconds": a.seconds, "repeats": a.repeats}
    if a.workers > 1:               # n_jobs=1 runs in this process: nothing to measure
        with backends.parallel(a.workers) as loky:
            result["loky"] = measure(loky, a.workers, a.tasks, a.seconds, a.repeats)
    address, procs = start_cluster(a.workers)
    try:
        with backends.parallel(scheduler=address) as dask:
            assert dask.n_workers == a.workers, dask.n_workers
            result["dask"] = measure(dask, a.workers, a.tasks, a.seconds, a.repeats)
    finally:
        for p in reversed(procs):      # each in its own process group: a worker and its nanny
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=30)
    for name in ("loky", "dask"):
        if name not in result:
            continue
        r = result[name]
        print(f"{name:<5} per task {1000 * r['per_task_s']:6.2f} ms   per call (generation) "
              f"{1000 * r['per_call_s']:6.1f} ms   ({a.tasks} tasks of {1000 * a.seconds:g} ms on "
              f"{a.workers} workers: {r['many_s']:.2f} s)")
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
