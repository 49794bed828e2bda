"""The library's front door for a search: run one, open one, resume one.

``search`` and ``resume`` are what ``evoinit search`` and ``evoinit resume`` call. ``opened``
checks every argument — settings, dataset, scheduler, output folder — before anything is written,
locks the run folder, and yields the engine (``ga.engine.Search``) with its variants
(``ga.variants.of``) and its recorder (``runfolder.write.Recorder``), ready to ``loop``. This
module stands above the GA and the run folder: it is where the two meet.
"""

from __future__ import annotations

import os
import shlex
from contextlib import contextmanager
from dataclasses import fields, replace
from typing import Callable

from evoinit import checks
from evoinit.data.spec import Dataset, DataSpec
from evoinit.errors import RunFolderError, UsageError, unknown
from evoinit.ga import backends, variants
from evoinit.ga.budget import check_fits, long_search
from evoinit.ga.config import SearchConfig
from evoinit.ga.engine import Search
from evoinit.ga.evaluate import dataset_of
from evoinit.ga.individuals import versions
from evoinit.ga.results import Progress, SearchResult
from evoinit.runfolder import read
from evoinit.runfolder.folder import RunFolder
from evoinit.runfolder.write import Recorder, config_json


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
    run_kw = dict(data=memory, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
    if out is None:
        run = Search(config, variants.of(config), **run_kw)
        run.resumed, run.notes = False, notes
        yield run
        return
    folder = RunFolder(out)
    with folder.lock(create=True), folder.writing():
        folder.recover()
        held = refuse_held(folder, resume, overwrite)
        if resume and held:
            if given:
                read.check_same_search(folder, config)
            run = read.restore(folder, **run_kw | {"data": None})
        else:
            folder.create(config_json(config, dataset_of(memory if memory is not None else config.dataset),
                                      versions=versions(), n_jobs=n_jobs, scheduler=scheduler, command=command),
                          overwrite=overwrite)
            run = Search(config, variants.of(config), recorder=Recorder(folder), **run_kw)
        run.resumed, run.notes = resume and held, notes
        try:
            yield run
        except BaseException:
            folder.put_back()  # an --overwrite that did not start cleanly: the old run returns
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
        run = read.restore(folder, n_jobs=n_jobs, scheduler=scheduler, progress=progress)
        return run.loop(stop_after=stop_after)


# -- the checks of opened ------------------------------------------------------------------------


def checked_arguments(dataset, config, n_jobs, out, overwrite, resume, scheduler, progress, command,
                      options: dict):
    """Every argument of ``opened`` checked, in order, before anything is written: returns
    (config, the in-memory dataset or None, n_jobs, notes, overwrite, resume, whether settings were
    given)."""
    given = dataset is not None or config is not None or bool(options)
    overwrite, resume = checks.flag("overwrite", overwrite), checks.flag("resume", resume)
    if progress is not None and not callable(progress):
        raise UsageError(f"progress must be a function of one Progress, or None; got {progress!r}")
    checks.instance("command", command, (str, type(None)), "the command line as a string, or None")
    if resume and overwrite:
        raise UsageError("resume continues the run in out and overwrite replaces it: pass one of them")
    if resume and out is None:
        raise UsageError("resume continues the run in out: give out (the run folder)")
    memory = dataset if isinstance(dataset, Dataset) else None
    config = config_of("digits" if dataset is None else dataset, config, options, memory)
    n_jobs, note = backends.workers(n_jobs, scheduler)
    ds = memory if memory is not None else dataset_of(config.dataset)  # a bad dataset is reported here
    check_fits(config, ds, backends.memory())
    notes = [n for n in (note, long_search(config, ds, backends.count(n_jobs))) if n]
    backends.check(scheduler)
    return config, memory, n_jobs, notes, overwrite, resume, given


def refuse_held(folder, resume: bool, overwrite: bool) -> bool:
    """Whether the (locked) folder holds a run; one that does is refused unless resumed or overwritten."""
    held = folder.holds_run()
    if held and not (resume or overwrite):
        raise RunFolderError(f"{folder.path} already holds a run; continue it with `evoinit resume "
                             f"{shlex.quote(str(folder.path))}` (or the same search with --resume), or "
                             "pass --overwrite to replace it")
    return held


def config_of(dataset, config, options, memory) -> SearchConfig:
    """The search's config from a whole ``config`` or from ``options`` (checked by name)."""
    if config is not None:
        if options:
            raise UsageError(f"give either config or search options, not both ({', '.join(options)})")
        return checks.instance("config", config, SearchConfig, "a SearchConfig")
    if "epochs" in options:
        options["train"] = replace(options.get("train", SearchConfig.train), epochs=options.pop("epochs"))
    names = {f.name for f in fields(SearchConfig)}
    for key in options:
        if key not in names:
            raise unknown("search option", key, names | {"epochs"})
    spec = None if memory is not None else (dataset if isinstance(dataset, DataSpec) else DataSpec(
        os.fspath(checks.instance("dataset", dataset, (str, os.PathLike), "a dataset name, a path, a "
                                  "DataSpec or a Dataset"))))
    return SearchConfig(dataset=spec, **options)


def check_stop_after(stop_after) -> None:
    """Refuse a ``stop_after`` that is not a whole number ≥ 0 (``None``: run to the end)."""
    if stop_after is not None:
        checks.integer("stop_after", stop_after, 0)
