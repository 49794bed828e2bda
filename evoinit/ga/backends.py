"""Where evaluations run: in this process, on local loky processes, or on a Dask cluster.

Everything goes through joblib. ``parallel(n_jobs, scheduler)`` opens it once for a whole search
and yields a ``Workers`` that ``evaluate.run_tasks`` calls like a ``joblib.Parallel``: jobs in,
results out in job order as they finish. Evaluations are pure functions of their arguments, so
work lost with a worker can simply be done again, with the same result:

- on Dask, the scheduler reschedules a lost worker's tasks by itself; a task that keeps killing
  the workers it runs on (``KilledWorker``) stops the run with a ``WorkerError``;
- on loky, a crashed worker process breaks the whole pool (``TerminatedWorkerError``); the jobs
  not yet returned run once more on a fresh pool, and a second crash in the same batch stops the
  run with a ``WorkerError`` that says how to resume — for a batch (``Workers.__call__``: the
  plain GA) and for jobs sent one by one (``Workers.submit``: the steady shape).

A search writes its checkpoint only once a generation's evaluations have all come back, so a
stop here leaves the last finished generation's checkpoint as it was. ``distributed`` is
imported only when a scheduler is given: evoinit works without the ``dask`` extra.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from joblib import Parallel, parallel_config
from joblib.externals.loky.process_executor import BrokenProcessPool

from evoinit.checks import is_int
from evoinit.errors import UsageError, WorkerError, lost_connection, one_line

# A search stopped on purpose (Ctrl-C, SIGTERM, --stop-after) closes its result generator with
# work still out: joblib's warning about the cancelled tasks is expected then, and it would be
# a second line next to the one that says how to resume.
warnings.filterwarnings("ignore", message=r"\d+ tasks which were still being processed by the "
                        r"workers have been cancelled", category=UserWarning)


#: Seconds to reach a Dask scheduler before giving up.
CONNECT_TIMEOUT = 10.0
#: Seconds to wait for a reachable scheduler to have a worker that answers.
WAIT_FOR_WORKERS = 60.0

log = logging.getLogger(__name__)


class _QuietOnceLost(logging.Filter):
    """``distributed.client`` logs its failed reconnection, and the tasks its shutdown cancels, as
    tracebacks on stderr; once the scheduler is lost evoinit says so in one line (with how to
    resume), so from then on that logger's records are dropped."""

    lost = False

    def filter(self, record) -> bool:
        if record.getMessage().startswith("Failed to reconnect to scheduler"):
            _QuietOnceLost.lost = True
        return not _QuietOnceLost.lost


_quiet = _QuietOnceLost()


def _connect(address: str):
    """A ``distributed.Client`` for the scheduler at ``address``, or one clear error within
    about ``CONNECT_TIMEOUT`` seconds."""
    try:
        from distributed import Client
        from distributed.comm import get_address_host_port
    except ImportError:
        raise UsageError("running on a Dask scheduler needs Dask: pip install 'evoinit[dask]'") from None
    try:
        get_address_host_port(address)
    except ValueError as e:
        raise UsageError(f"bad Dask scheduler address {address!r} ({e}); expected tcp://HOST:PORT") from None
    kind = _identity(address)["type"]
    if kind != "Scheduler":
        raise WorkerError(f"{address} is a Dask {kind.lower()}, not a scheduler; give the address "
                          "`dask scheduler` prints (port 8786 by default)")
    logging.getLogger("distributed.client").addFilter(_quiet)   # once: addFilter keeps one copy
    return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)


def _identity(address: str) -> dict:
    """Ask ``address`` who it is, over Dask's protocol, without a Client: a Client half-built on
    something that is not a scheduler (a dashboard's HTTP port) hangs for 20 s at exit."""
    from distributed.core import rpc

    async def ask():
        async with rpc(address, timeout=CONNECT_TIMEOUT) as server:
            return await server.identity()

    def run():
        return asyncio.run(asyncio.wait_for(ask(), CONNECT_TIMEOUT + 1))

    with ThreadPoolExecutor(1) as pool:   # an event loop of its own, even under Jupyter's
        try:
            return pool.submit(run).result()
        except TimeoutError:
            raise WorkerError(f"something at {address} took the connection but did not answer as a "
                              "Dask scheduler (a dashboard port? `dask scheduler` listens on 8786 by "
                              "default)") from None
        except OSError as e:
            raise WorkerError(f"cannot reach the Dask scheduler at {address} ({e}); is `dask scheduler` "
                              "running there, and the port open?") from None
        except Exception as e:
            raise WorkerError(f"something at {address} does not speak Dask's protocol "
                              f"({type(e).__name__}: {e})") from None


def _evoinit_version() -> str:
    """Run on a worker: proves it can import evoinit, and which version."""
    import evoinit

    return evoinit.__version__


def check(scheduler: str | None) -> None:
    """Fail now, before anything is written, if the Dask scheduler cannot be reached or its
    workers cannot run evoinit (the same version as here: results must match bit for bit)."""
    if scheduler is None:
        return
    if not isinstance(scheduler, str):
        raise UsageError(f"scheduler must be a Dask address like tcp://HOST:PORT, or None; got {scheduler!r}")
    with _connect(scheduler) as client:
        probe = client.submit(_evoinit_version, pure=False)
        try:
            theirs = probe.result(timeout=WAIT_FOR_WORKERS)
        except TimeoutError:
            raise WorkerError(_no_workers(scheduler)) from None
        except Exception as e:
            raise WorkerError(f"the Dask workers of {scheduler} cannot run evoinit ({type(e).__name__}: "
                              f"{e}); install it on every worker") from None
    ours = _evoinit_version()
    if theirs != ours:
        raise WorkerError(f"the Dask workers of {scheduler} run evoinit {theirs}, this machine {ours}; "
                          "install the same version everywhere")


def workers(n_jobs, scheduler: str | None = None) -> tuple[int, str | None]:
    """``n_jobs`` checked and capped at this machine's cores: (the number of local worker
    processes to use, a note saying so when it was capped, else None). -1 means all cores, -k all
    but k-1 (joblib's convention). With a scheduler the cluster's workers are used and ``n_jobs``
    is left as given."""
    from joblib import cpu_count

    if not is_int(n_jobs) or n_jobs == 0:
        raise UsageError(f"n_jobs must be -1 (all cores), a positive number of workers, or -k for all "
                         f"cores but k-1; got {n_jobs!r}")
    if scheduler is not None:
        return int(n_jobs), None
    cores = cpu_count()
    wanted = n_jobs if n_jobs > 0 else cores + 1 + n_jobs
    if 1 <= wanted <= cores:
        return int(n_jobs), None
    using = min(max(wanted, 1), cores)
    return using, (f"note: n_jobs {n_jobs} asks for {wanted} worker processes but this machine has {cores} "
                   f"cores; using {using}")


def memory() -> int | None:
    """This machine's RAM in bytes, or None where the system does not say."""
    import os

    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def count(n_jobs: int) -> int:
    """How many local worker processes ``n_jobs`` means here (-1: all cores)."""
    from joblib import cpu_count

    return max(1, n_jobs if n_jobs > 0 else cpu_count() + 1 + n_jobs)


def _no_workers(scheduler: str) -> str:
    return (f"the Dask scheduler at {scheduler} has no worker after {WAIT_FOR_WORKERS:g} s; "
            f"start some with `dask worker {scheduler} --nthreads 1`")


@contextmanager
def parallel(n_jobs: int = -1, scheduler: str | None = None, *, run_dir=None):
    """Workers for a whole search: ``n_jobs`` loky processes (-1: all cores), or every worker
    thread of the Dask cluster at ``scheduler`` (``n_jobs`` is then ignored). Yields None for
    ``n_jobs=1`` without a scheduler: ``run_tasks`` then runs everything in this process.
    ``run_dir`` is named in the error that stops a run, so the user knows what to resume."""
    if scheduler is None and n_jobs == 1:
        yield None
        return
    with ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(_connect(scheduler))
            stack.enter_context(parallel_config(backend="dask", client=client,
                                                wait_for_workers_timeout=WAIT_FOR_WORKERS))
        workers = stack.enter_context(Workers(-1 if scheduler else n_jobs, scheduler, run_dir,
                                              client=client if scheduler is not None else None))
        yield workers


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
        how finely a generation is cut (``evaluate.plan``), never for a result."""
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
            _QuietOnceLost.lost = True
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


#: How many ``_HeapKept`` jobs this worker process is running, and the lock that guards the count.
_heap_jobs, _heap_lock = 0, threading.Lock()


#: glibc's ``mallopt`` parameters (malloc.h) and the largest ``mmap`` threshold its adaptive rule
#: reaches on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, MMAP_KEPT = -1, -3, 32 * 2**20


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
