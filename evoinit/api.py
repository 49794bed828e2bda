"""The library's front door for a search: run one, open one, resume one.

``search`` and ``resume`` are what ``evoinit search`` and ``evoinit resume`` call; ``opened`` checks
every setting, the dataset, the scheduler and the output folder before anything is written, locks
the run folder, and yields the ``Search`` (``ga.engine``) ready to loop. This module stands above the
GA and the run folder: it is where the two meet.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

from evoinit.ga import backends
from evoinit.ga.config import SearchConfig
from evoinit.ga.engine import Search
from evoinit.ga.runs import (
    Progress,
    SearchResult,
    check_stop_after,
    checked_arguments,
    refuse_held,
)
from evoinit.runfolder import read as checkpoint
from evoinit.runfolder.folder import RunFolder


def search(dataset=None, *, config: SearchConfig | None = None, n_jobs: int = -1,
           out=None, overwrite: bool = False, resume: bool = False, scheduler: str | None = None,
           progress: Callable[[Progress], None] | None = None, stop_after: int | None = None,
           command: str | None = None, **options) -> SearchResult:
    """Run a search and return its result (``evoinit search``; see ``opened`` for the arguments).

    ``stop_after=k`` pauses after generation k; ``resume`` continues a paused run.
    """
    check_stop_after(stop_after)
    with opened(dataset, config=config, n_jobs=n_jobs, out=out, overwrite=overwrite, resume=resume,
                scheduler=scheduler, progress=progress, command=command, **options) as run:
        return run.loop(stop_after=stop_after)


@contextmanager
def opened(dataset=None, *, config: SearchConfig | None = None, n_jobs: int = -1, out=None,
           overwrite: bool = False, resume: bool = False, scheduler: str | None = None,
           progress: Callable[[Progress], None] | None = None, command: str | None = None, **options):
    """A ``Search`` ready to ``loop``, with every setting, the dataset, the scheduler and the output
    folder checked before anything is written; its run folder is locked while the block runs.

    ``dataset`` is a name, a path, a ``DataSpec`` or an in-memory ``Dataset`` (default digits);
    ``options`` are ``SearchConfig`` fields plus ``epochs`` (a shortcut for the training epochs),
    or ``config`` a whole ``SearchConfig``. ``out`` is the run folder (None: no files). A folder
    that already holds a run is refused, unless ``resume`` (continue it; settings given must be its
    own) or ``overwrite`` (replace it: the old run is moved aside into ``out/.replaced`` and deleted
    once the new one has written its first checkpoint, or put back if the new one fails or is
    stopped before). ``n_jobs`` worker processes (-1: all cores, capped at the cores there are);
    ``scheduler`` a Dask address. The yielded search has ``resumed`` (whether it continues a run)
    and ``notes`` (lines worth telling the user: a capped ``n_jobs``, the work of a long search).
    """
    config, memory, n_jobs, notes, overwrite, resume, given = checked_arguments(
        dataset, config, n_jobs, out, overwrite, resume, scheduler, progress, command, options)
    if out is None:
        run = Search(config, data=memory, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
        run.resumed, run.notes = False, notes
        run.start(None)
        yield run
        return
    folder = RunFolder(out)
    with folder.lock(create=True), folder.writing():
        folder.recover()
        held = refuse_held(folder, resume, overwrite)
        if resume and held:
            if given:
                checkpoint.check_same_search(folder, config)
            run = Search.from_folder(folder, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
        else:
            run = Search(config, data=memory, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
            run.start(folder.path, overwrite=overwrite, command=command)
        run.resumed, run.notes = resume and held, notes
        try:
            yield run
        except BaseException:
            run.folder.put_back()  # an --overwrite that did not start cleanly: the old run returns
            raise


def resume(run_dir, *, n_jobs: int = -1, scheduler: str | None = None,
           progress: Callable[[Progress], None] | None = None,
           stop_after: int | None = None) -> SearchResult:
    """Continue a stopped run from its last checkpoint; it ends exactly as an uninterrupted run.
    The folder is locked while it runs: a second ``resume`` or ``search`` on it is refused."""
    check_stop_after(stop_after)
    n_jobs, _ = backends.workers(n_jobs, scheduler)
    backends.check(scheduler)
    folder = RunFolder(run_dir)
    with folder.lock(), folder.writing():
        if folder.path.is_dir():
            folder.recover()
        run = Search.from_folder(folder, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
        return run.loop(stop_after=stop_after)
