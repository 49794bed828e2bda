"""The parts of a search that are not the genetic algorithm (``search.py`` keeps DEAP and the GA).

What a search returns and reports (``SearchResult``, ``Progress``, a generation's logbook row), the
checks every argument of ``search.opened`` passes before anything is written, the canonical starts
of a first population, and the random-search control (``random_search``). ``evoinit.search``
re-exports all of it, so ``from evoinit.search import ...`` keeps working.
"""

from __future__ import annotations

import os
import shlex
import statistics
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from evoinit import backends, checks, seeding
from evoinit.config import SearchConfig, check_fits, long_search
from evoinit.data import Dataset, DataSpec
from evoinit.errors import RunFolderError, UsageError, unknown
from evoinit.evaluate import Evaluation, dataset_of, objective_values, run_tasks
from evoinit.genome import Genome

# -- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchResult:
    """What a search leaves: the hall of fame (best first), the logbook, and where the files are."""

    config: SearchConfig
    hall_of_fame: list            # dicts, see hall_of_fame.json
    logbook: list                 # one dict per generation
    run_dir: Path | None
    finished: bool
    evaluations: int = 0          # lines in the evaluations log (the final scoring included)
    trainings: int = 0            # networks the search trained to choose (the final scoring excluded)
    by_model: bool = False        # the hall of fame is in the surrogate's order (``config.ranks_by_model``)
    test_rows: str | None = None  # which rows the final test scores used (``data.test_rows``)

    @property
    def best(self) -> Genome:
        return Genome.from_json(self.hall_of_fame[0]["genome"])


@dataclass
class Progress:
    """What a callback receives: ``kind`` is "start", "evaluated", "generation" or "final"."""

    kind: str
    generation: int
    generations: int
    done: int = 0
    total: int = 0
    row: dict = field(default_factory=dict)


def logbook_row(g: int, evals: list[Evaluation], valid: list, population: list, best: str,
                pruning: bool = False) -> dict:
    """Generation ``g``'s statistics: over its new evaluations (counts; ``pruned`` too when
    ``pruning``), over the population's ``valid`` (neither diverged nor pruned) individuals (first
    objective and validation error), ``unique`` gene lists, and the ``best`` setup so far."""
    f0 = [ind.fitness.values[0] for ind in valid]
    errors = [statistics.fmean(e.final_val_error for e in ind.evals) for ind in valid]
    pruned = {"pruned": sum(e.pruned for e in evals)} if pruning else {}
    return {"gen": g, "nevals": len(evals), "diverged": sum(e.diverged for e in evals),
            "degenerate": sum(e.status == "degenerate" for e in evals), **pruned,
            "min": min(f0, default=None), "median": statistics.median(f0) if f0 else None,
            "mean": statistics.fmean(f0) if f0 else None, "max": max(f0, default=None),
            "std": statistics.pstdev(f0) if f0 else None,
            "best_error": min(errors, default=None),
            "error_std": statistics.pstdev(errors) if errors else None,
            "unique": len({tuple(ind) for ind in population}), "best": best}


# -- the checks of search.opened -----------------------------------------------------------------


def checked_arguments(dataset, config, n_jobs, out, overwrite, resume, scheduler, progress, command,
                      options: dict):
    """Every argument of ``search.opened`` checked, in order, before anything is written: returns
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
    if stop_after is not None:
        checks.integer("stop_after", stop_after, 0)


# -- canonical starts and the random-search control -----------------------------------------------


def canonical_starts(genomes: list[Genome], space) -> list[Genome]:
    """``genomes`` with up to half of them turned into canonical starts (each activation's textbook
    init, where the space allows it) at a spread of scales — ×1 for every activation first, then
    ×½ and ×2 — keeping their widths, so the first generation always holds the textbook answer."""
    from evoinit.config import CANONICAL_INIT

    lo, hi = space.scales
    spots = [(a, s) for s in (1.0, 0.5, 2.0) for a in space.activations
             if CANONICAL_INIT.get(a) in space.inits and lo <= s <= hi]
    out = list(genomes)
    for i, (activation, scale) in enumerate(spots[:len(out) // 2]):
        out[i] = out[i].with_(activation=activation, init=CANONICAL_INIT[activation], scale=scale)
    return out


@dataclass(frozen=True)
class Candidate:
    """One genome of a random search: its fitness (every objective) and the evaluations behind it."""

    genome: Genome
    fitness: tuple
    evaluations: tuple


def random_search(config: SearchConfig, n_genomes: int, *, n_jobs: int = 1) -> list[Candidate]:
    """The control for the GA: ``n_genomes`` genomes drawn from the same space, evaluated with the
    same repeats and settings (distinct seeds), in the order they were drawn; ``n_genomes ×
    repeats`` trainings, no more."""
    rng = seeding.generator(seeding.child(seeding.root(config.seed), seeding.GA, 1))
    genomes = [config.space.sample(rng) for _ in range(n_genomes)]
    tasks = [(g, (seeding.DISTINCT, 10**9 + i, r)) for i, g in enumerate(genomes)
             for r in range(config.repeats)]
    with backends.parallel(n_jobs) as parallel:
        evals = run_tasks(tasks, config.dataset, config.train, config.seed, parallel=parallel)
    out = []
    for i, g in enumerate(genomes):
        mine = tuple(evals[i * config.repeats:(i + 1) * config.repeats])
        out.append(Candidate(g, objective_values(g, mine, config.objectives), mine))
    return out


def seed_keys(config, n: int, genome) -> list[tuple]:
    """The seed keys of evaluation number ``n`` of ``genome`` under the search's seed policy (one
    per repeat): its own start (distinct), the same starts for every setup (shared), or the
    starts of its seed gene (inherited)."""
    if config.seed_policy == "distinct":
        return [(seeding.DISTINCT, n, r) for r in range(config.repeats)]
    if config.seed_policy == "shared":
        return [(seeding.SHARED, r) for r in range(config.repeats)]
    return [(seeding.INHERITED, genome.seed, r) for r in range(config.repeats)]
