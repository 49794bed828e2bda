"""The workers of a search once they are open: a ``joblib.Parallel`` kept open for batches of jobs
and for jobs sent one by one (``Workers.submit``: the steady shape), redone once on fresh processes
when a local worker dies, and the few things each job does on a worker first (glibc's malloc
thresholds, leaving with its parent). ``backends.parallel`` opens them."""

from __future__ import annotations

import functools
import logging
import threading
from contextlib import contextmanager

from joblib import Parallel
from joblib.externals.loky.process_executor import BrokenProcessPool

from evoinit.errors import WorkerError, lost_connection, one_line
from evoinit.ga import backends
from evoinit.ga.backends import _no_workers, count

log = logging.getLogger(__name__)

#: How many ``_HeapKept`` jobs this worker process is running, and the lock that guards the count.
_heap_jobs, _heap_lock = 0, threading.Lock()


#: glibc's ``mallopt`` parameters (malloc.h) and the largest ``mmap`` threshold its adaptive rule
#: reaches on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, MMAP_KEPT = -1, -3, 32 * 2**20



class Workers:
    """A ``joblib.Parallel`` (``return_as="generator"``) kept open, replaced by a fresh one when a
    local worker process crashes. Calling it runs a batch of jobs and yields their results in
    order."""

    def __init__(self, n_jobs: int, scheduler: str | None = None, run_dir=None, *, client=None):
        self.n_jobs, self.scheduler, self.run_dir = n_jobs, scheduler, run_dir
        self._client = client
        self._parallel = None
        self._fatal: tuple = ()     # errors that stop the run at once
        self._live: dict = {}       # jobs sent with ``submit`` whose result was not taken yet (in order)
        self._job = _Orphaned if scheduler is None else _HeapKept   # how a job runs on these workers
        if scheduler is not None:
            from distributed import KilledWorker

            self._fatal = (KilledWorker,)

    def __enter__(self) -> "Workers":
        self._open()
        return self

    def __exit__(self, *exc) -> None:
        self._parallel.__exit__(None, None, None)

    @property
    def n_workers(self) -> int:
        """How many evaluations can run at once now: the local processes, or the worker threads
        the Dask cluster has at this moment (asked each time: workers come and go). Used to decide
        how finely a generation is cut (``schedule.plan``), never for a result."""
        if self._client is None:
            return count(self.n_jobs)
        with self._connection():
            return max(1, sum(self._client.nthreads().values()))

    def _open(self) -> None:
        self._parallel = Parallel(n_jobs=self.n_jobs, return_as="generator")
        try:
            self._parallel.__enter__()  # on Dask: waits for a worker
        except TimeoutError:
            raise WorkerError(_no_workers(self.scheduler)) from None

    def __call__(self, jobs):
        jobs, done = list(jobs), 0
        jobs = [(self._job(fn), args, kwargs) for fn, args, kwargs in jobs]
        for attempt in (1, 2):
            try:
                with self._connection():
                    for out in self._parallel(jobs[done:]):
                        done += 1
                        yield out
                return
            except BrokenProcessPool as e:
                why = _why(e)
                if attempt == 2:
                    raise WorkerError(f"a worker process died again while its work was being redone "
                                      f"({why}); {self._stopped()}") from None
                log.warning("a worker process died (%s); running the %d unfinished jobs again on "
                            "fresh workers", why, len(jobs) - done)
                self._parallel.__exit__(None, None, None)
                self._open()
            except self._fatal as e:
                raise WorkerError(f"Dask workers kept dying on the same task ({e}); "
                                  f"{self._stopped()}") from None

    def submit(self, fn, *args) -> "Sent":
        """``fn(*args)`` sent to one of the workers, for work that does not fit one ordered batch
        (the steady shape's populations, each sent as soon as it
        is ready). Dask: the cluster's scheduler; loky: the reusable process pool."""
        sent = Sent(fn, args)
        self._send(sent)
        self._live[sent] = None
        return sent

    def _send(self, sent: "Sent") -> None:
        sent.tries += 1
        if self._client is not None:
            sent.future = self._client.submit(self._job(sent.fn), *sent.args, pure=False)
            return
        from joblib.executor import (
            get_memmapping_executor,  # joblib's own pool: the same processes
        )

        sent.pool = get_memmapping_executor(count(self.n_jobs))   # a fresh one once a worker died
        sent.future = sent.pool.submit(self._job(sent.fn), *sent.args)

    def wait_any(self, sent: list) -> set:
        """The jobs among ``sent`` that are done, waiting until one is."""
        futures = {s.future: s for s in sent}
        if self._client is not None:   # distributed.wait, on this search's client (not the default one)
            from distributed.client import _wait

            with self._connection():
                done = self._client.sync(_wait, list(futures), timeout=None, return_when="FIRST_COMPLETED").done
        else:
            from concurrent.futures import FIRST_COMPLETED, wait

            done = wait(list(futures), return_when=FIRST_COMPLETED).done
        return {futures[f] for f in done}

    def result(self, sent: "Sent"):
        """A submitted job's result. A crashed local worker breaks the pool and every job out on
        it: those run once more on a fresh pool, as ``__call__`` does; a second crash, or Dask
        workers that keep dying on a task, stop the run with a ``WorkerError``."""
        while True:
            try:
                with self._connection():
                    out = sent.future.result()
                self._live.pop(sent, None)
                return out
            except BrokenProcessPool as e:
                self._redo(sent.pool, _why(e))
            except self._fatal as e:
                raise WorkerError(f"Dask workers kept dying on the same task ({e}); {self._stopped()}") from None

    def _redo(self, pool, why: str) -> None:
        """Send again every job out on the broken ``pool`` that did not come back."""
        lost = [s for s in self._live if s.pool is pool and isinstance(s.future.exception(), BrokenProcessPool)]
        if any(s.tries >= 2 for s in lost):
            raise WorkerError(f"a worker process died again while its work was being redone ({why}); "
                              f"{self._stopped()}")
        log.warning("a worker process died (%s); running the %d unfinished jobs again on fresh workers",
                    why, len(lost))
        for s in lost:
            self._send(s)

    @contextmanager
    def _connection(self):
        """A lost connection to the Dask scheduler or a worker (``errors.lost_connection``)
        becomes one ``WorkerError`` that says so and how to resume, instead of an ``OSError`` the
        command would blame on the disk."""
        try:
            yield
        except OSError as e:
            if self._client is None or not lost_connection(e):
                raise
            backends._QuietOnceLost.lost = True
            resume = ("it kept no run folder, so run it again" if self.run_dir is None else
                      f"it stopped at its last checkpoint: once the scheduler is back, continue with "
                      f"`evoinit resume {self.run_dir} --scheduler {self.scheduler}`")
            raise WorkerError(f"lost the connection to the Dask scheduler at {self.scheduler} "
                              f"({one_line(e, 80)}); {resume}") from None

    def _stopped(self) -> str:
        if self.run_dir is None:
            return "the search stopped; it kept no run folder, so run it again"
        return f"the search stopped at its last checkpoint; continue it with `evoinit resume {self.run_dir}`"


class Sent:
    """A job sent with ``Workers.submit``: what it runs, and the future of its latest try."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.future, self.pool, self.tries = None, None, 0

    def done(self) -> bool:
        return self.future.done()


class _Orphaned:
    """A job for a local worker process that first makes sure the worker will not outlive the
    search: a thread watches the parent process and ends the worker (exit 1) once it is gone —
    otherwise a search killed with SIGKILL leaves its loky workers finishing their populations
    and then idling until loky's 300-second timeout. Dask workers are left to their nanny."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        _watch_parent()
        return self.fn(*args, **kwargs)


class _HeapKept:
    """A job for a Dask worker, run with glibc's malloc keeping freed memory as it does by default.

    Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to hand memory back to
    the system quickly), and setting any malloc threshold turns off glibc's adaptive one for
    ``mmap``: every array over 128 KiB the trainer makes is then a fresh ``mmap`` whose pages
    fault in on first touch — training ran 12–14% slower than on loky
    (``scripts/bench.py --scaling``). For the length of the job the thresholds are raised to what
    glibc's adaptive rule reaches (32 MiB for ``mmap``), then the worker's own trim threshold is
    put back, so memory is still returned between jobs. Nothing changes where the variable is
    unset or malloc is not glibc's; no result depends on it."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, *args, **kwargs):
        trim = _mallopt()
        if trim is None:
            return self.fn(*args, **kwargs)
        mallopt, threshold = trim
        global _heap_jobs
        with _heap_lock:               # a worker with several threads: the last job out restores
            if not _heap_jobs:
                mallopt(M_MMAP_THRESHOLD, MMAP_KEPT)
                mallopt(M_TRIM_THRESHOLD, 2 * MMAP_KEPT)
            _heap_jobs += 1
        try:
            return self.fn(*args, **kwargs)
        finally:
            with _heap_lock:
                _heap_jobs -= 1
                if not _heap_jobs:
                    mallopt(M_MMAP_THRESHOLD, 128 * 1024)    # glibc's default
                    mallopt(M_TRIM_THRESHOLD, threshold)


@functools.cache
def _mallopt():
    """(glibc's ``mallopt``, the trim threshold this process was started with), or None when the
    process was started without ``MALLOC_TRIM_THRESHOLD_`` or its C library has no ``mallopt``."""
    import ctypes
    import ctypes.util
    import os

    value = os.environ.get("MALLOC_TRIM_THRESHOLD_", "")
    if not value.isdigit():
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt, int(value)


@functools.cache
def _watch_parent() -> None:
    """Start, once per process, a daemon thread that exits this process when its parent dies
    (the parent pid changes: the process was re-parented). A worker watches from its first job
    on: one that never got a job still waits for loky's timeout."""
    import os
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="evoinit-parent-watch", daemon=True).start()


def _why(e: BaseException) -> str:
    """The useful part of loky's many-line message: the workers' exit codes (-9: SIGKILL)."""
    for line in str(e).splitlines():
        if "exit codes" in line:
            return "exit codes " + line.rsplit(" ", 1)[-1]
    return str(e).split(". ")[0]
