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
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from joblib import parallel_config

from evoinit.checks import is_int
from evoinit.errors import UsageError, WorkerError, lost_connection

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
        if record.getMessage().startswith("Failed to reconnect to scheduler") or _lost(record.exc_info):
            _QuietOnceLost.lost = True
        return not _QuietOnceLost.lost


def _lost(exc_info) -> bool:
    """Whether a log record carries a lost connection (itself or a cause of it): the client's own
    tracebacks of the reconnection it tries while the search is busy elsewhere."""
    e = exc_info[1] if exc_info else None
    seen = 0
    while e is not None and seen < 10:
        if lost_connection(e):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


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
    from evoinit.ga.workers import Workers

    with ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(_connect(scheduler))
            stack.enter_context(parallel_config(backend="dask", client=client,
                                                wait_for_workers_timeout=WAIT_FOR_WORKERS))
        workers = stack.enter_context(Workers(-1 if scheduler else n_jobs, scheduler, run_dir,
                                              client=client if scheduler is not None else None))
        yield workers



