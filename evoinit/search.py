"""The genetic algorithm over network setups, written on DEAP's tools.

A plain (μ+λ) loop in the spirit of DEAP's ``eaMuPlusLambda``: offspring by ``varOr`` (uniform
crossover or per-gene mutation), survivors by tournament — or by NSGA-II when more than one
objective is asked for — a hall of fame (or Pareto front) and a ``Logbook``. What the stock loop
lacks is here: seed policies, evaluation in parallel populations, a checkpoint after every
generation, resume, progress callbacks, and a final scoring of the hall of fame on the test split
against canonical baselines trained from the same seeds.

DEAP's pieces (the individual, its private ``random``, the hall of fame's refill) are in
``individuals``; DEAP stays in the GA's modules (this one, ``individuals`` and ``islands``).
"""

from __future__ import annotations

import random
import sys
import types
from contextlib import contextmanager
from typing import Callable

from deap import algorithms, base, tools

from evoinit import backends, checkpoint, rungs, seeding, surrogate
from evoinit.config import SearchConfig, ranks_by_model
from evoinit.data import test_rows as _test_rows
from evoinit.evaluate import WORST, Evaluation, dataset_of, objective_values, run_tasks
from evoinit.genome import Genome
# DEAP's pieces; Individual and _python_random stay importable from here (tests, scripts)
from evoinit.individuals import Individual, member, python_random, refill, versions
from evoinit.individuals import python_random as _python_random  # noqa: F401
from evoinit.rundir import RunFolder
# what is not the GA lives in runs.py; re-exported so ``from evoinit.search import ...`` still works
from evoinit.runs import (Candidate, Progress, SearchResult, canonical_starts, check_stop_after,  # noqa: F401
                          checked_arguments, logbook_row, random_search, refuse_held, seed_keys)

class Search:
    """The changing state of one search: population, hall of fame, logbook, both random states,
    the evaluation cache and counters. What goes into the run folder, and how it is read back and
    checked, is ``checkpoint``'s; this class keeps the GA."""

    def __init__(self, config: SearchConfig, *, data=None, n_jobs: int = -1,
                 scheduler: str | None = None, progress: Callable[[Progress], None] | None = None):
        self.config = config
        self.data = data if data is not None else config.dataset  # what workers receive
        self.n_jobs, self.scheduler, self.progress = n_jobs, scheduler, progress
        self.n_obj = len(config.objectives)
        root = seeding.root(config.seed)
        self.rng = seeding.generator(seeding.child(root, seeding.GA))
        py_seed = int(seeding.child(root, seeding.GA, 0).generate_state(1)[0])
        self.py_state = random.Random(py_seed).getstate()
        self.population: list[Individual] = []
        self.hof = tools.HallOfFame(config.hall_of_fame) if self.n_obj == 1 else tools.ParetoFront()
        self.ranked: list | None = None   # a finished search's hall of fame, best first (``_rank``)
        self.by_model = False             # ... in the surrogate's order
        self.logbook = tools.Logbook()
        self.generation = -1          # the last generation completed
        self.counter = 0              # evaluation numbers handed out (distinct seed policy)
        self.cache: dict[tuple, Evaluation] = {}
        self.n_logged = 0             # lines in evaluations.jsonl
        self.finished = False
        self.final: list[dict] = []
        self.folder: RunFolder | None = None
        self.log: list[checkpoint.LogLine] = []   # the evaluations log, when restored read-only
        self.parallel = None
        self.split: bool | None = None  # evaluate.plan: None splits populations too few for the workers
        self.island_states: tuple = ()  # the island model's per-island state (evoinit.islands)
        self.pending_genes: tuple = ()  # the steady shape's bred candidates not folded in (evoinit.steady)
        self.toolbox = base.Toolbox()
        self.toolbox.register("clone", self._clone)
        self.toolbox.register("mate", tools.cxUniform, indpb=0.5)
        self.toolbox.register("mutate", self._mutate)
        self.toolbox.register("parents", tools.selTournament, tournsize=config.tournament)

    # -- setup -------------------------------------------------------------------------------------

    def start(self, out, *, overwrite: bool = False, command: str | None = None) -> None:
        dataset = dataset_of(self.data)
        if out is not None:
            self.folder = RunFolder(out)
            self.folder.create(checkpoint.config_json(self.config, dataset, versions=versions(),
                                                      n_jobs=self.n_jobs, scheduler=self.scheduler,
                                                      command=command),
                               overwrite=overwrite)

    @classmethod
    def from_folder(cls, folder: RunFolder, *, read_only: bool = False, **kw) -> "Search":
        """A search restored from a run folder's last checkpoint, everything checked before any
        file is touched; then (unless ``read_only``, as for ``report``) the logs are cut back to
        the checkpoint, leftover temp files removed, and the dataset checked to be the one the
        run started on. A folder killed before its first checkpoint starts over (nothing is lost:
        no generation was complete). Anything missing, damaged, from another version or another
        search is a ``RunFolderError`` naming the file."""
        config, config_file = checkpoint.read_config(folder, resumable=not read_only)
        run = cls(config, **kw)
        run.folder = folder
        if not read_only:
            checkpoint.check_dataset(folder, config, config_file.get("dataset"))
        if not folder.has_checkpoint():
            checkpoint.check_no_checkpoint(folder, config, read_only=read_only)
            folder.cut_back(n_evaluations=0, n_generations=0)
            return run
        state, log = checkpoint.read(folder, config, config_file["search"])
        run._restore(state, log)
        if read_only:
            run.log = log
        else:
            folder.cut_back(n_evaluations=state.n_evaluations, n_generations=state.generation + 1)
        return run

    def _restore(self, state: checkpoint.Checkpoint, log: list) -> None:
        """Take the state of a checkpoint (already checked against the config and the log)."""
        for line in log:
            e = line.evaluation
            self.cache[(e.genome, e.key)] = e
        self.n_logged = state.n_evaluations
        self.generation, self.counter, self.finished = state.generation, state.counter, state.finished
        self.py_state = state.python_random
        self.rng.bit_generator.state = state.numpy_random
        self.population = [self._individual(m) for m in state.population]
        refill(self.hof, [self._individual(m) for m in state.hall_of_fame])
        for row in state.logbook:
            self.logbook.record(**row)
        self.final = list(state.final)
        self.island_states = state.islands
        self.pending_genes = state.pending
        if self.finished:
            self._rank()

    # -- the loop ----------------------------------------------------------------------------------

    def loop(self, stop_after: int | None = None) -> SearchResult:
        """The (μ+λ) loop of DEAP's ``eaMuPlusLambda``: evaluate the first population; then per
        generation breed λ offspring (``varOr``), evaluate them, keep the best μ of parents and
        offspring, and record the generation (hall of fame, logbook, checkpoint). At the end the
        hall of fame is scored on the test split. ``stop_after=k`` pauses after generation k."""
        c = self.config
        if c.islands > 1:
            from evoinit import islands

            return islands.loop(self, stop_after)
        if c.shape == "steady":
            from evoinit import steady

            return steady.loop(self, stop_after)
        with backends.parallel(self.n_jobs, self.scheduler, run_dir=self.folder and self.folder.path) as parallel:
            self.parallel = parallel
            self._emit("start")
            if self.generation < 0:
                self.population = self._first_population()
                self._end_generation(0, self._evaluate(self.population, 0))
            while self.generation < c.generations and not self.finished:
                if stop_after is not None and self.generation >= stop_after:
                    return self._result()
                g = self.generation + 1
                with python_random(self.py_state) as deap_random:
                    offspring = self._breed()
                    evaluations = self._evaluate(offspring, g)
                    self.population[:] = self._survivors(self.population + offspring)
                    self.py_state = deap_random.getstate()
                self._end_generation(g, evaluations)
            if not self.finished:
                self._finish()
        return self._result()

    def _first_population(self) -> list[Individual]:
        space = self.config.space
        genomes = [space.sample(self.rng) for _ in range(self.config.population)]
        if self.config.canonical_start:
            genomes = canonical_starts(genomes, space)
        return [Individual(space.encode(g, self.rng), self.n_obj) for g in genomes]

    def _breed(self) -> list[Individual]:
        """λ offspring by ``varOr``; with ``surrogate = k``, the λ of k·λ bred that a model of
        everything trained so far expects to improve most (``surrogate.preselect``)."""
        c = self.config
        bred = algorithms.varOr(self._parents(), self.toolbox, c.offspring * max(c.surrogate, 1), c.cxpb, c.mutpb)
        if not c.surrogate:
            return bred
        new = [ind for ind in bred if not ind.fitness.valid]   # clones of parents add nothing
        picks = surrogate.preselect(surrogate.history(self.cache, c.objectives), [c.space.decode(ind) for ind in new],
                                    c.offspring, c.space, int(self.rng.integers(2**31)), WORST)
        return [new[i] for i in picks]

    def _parents(self) -> list[Individual]:
        """Parents by tournament (one objective) or all of them (NSGA-II ranks the survivors)."""
        if self.n_obj == 1:
            return self.toolbox.parents(self.population, len(self.population))
        return self.population

    def _survivors(self, candidates: list, mu: int | None = None) -> list:
        """The next population from parents + offspring: the best μ (NSGA-II for several
        objectives), each gene list at most once while there are enough distinct ones, so clones
        do not crowd out the rest of the population; pruned offspring only if too few others."""
        mu = mu or self.config.population
        scored = [ind for ind in candidates if not ind.pruned]
        if len(scored) >= mu:   # pruned offspring never survive (not even before clones)
            candidates = scored
        if self.n_obj == 1:
            candidates = sorted(candidates, key=lambda ind: ind.fitness.wvalues, reverse=True)
        seen, unique, clones = set(), [], []
        for ind in candidates:
            (clones if tuple(ind) in seen else unique).append(ind)
            seen.add(tuple(ind))
        if self.n_obj == 1:
            return (unique + clones)[:mu]
        return tools.selNSGA2(unique, mu) if len(unique) >= mu else unique + tools.selNSGA2(clones, mu - len(unique))

    def _keys(self, genome: Genome) -> list[tuple]:
        n = self.counter
        if self.config.seed_policy == "distinct":   # the counter numbers distinct evaluations only
            self.counter += 1
        return seed_keys(self.config, n, genome)

    def _evaluate(self, individuals, generation: int) -> list[Evaluation]:
        """Evaluate the individuals without a valid fitness; returns the new evaluations."""
        space, c = self.config.space, self.config
        plans = []
        for ind in individuals:
            if not ind.fitness.valid:
                genome = space.decode(ind)
                plans.append((ind, genome, self._keys(genome)))
        on_progress = lambda done, total: self._emit("evaluated", done=done, total=total)  # noqa: E731
        if c.prune != "off" and generation > 0:   # offspring race through rungs (rungs.py)
            tasks, evals = rungs.race([(g, keys) for _, g, keys in plans], self.cache, self.data, c.train,
                                      c.seed, rungs=c.rung_epochs, eta=c.eta, parallel=self.parallel,
                                      progress=on_progress)
        else:
            tasks = list(dict.fromkeys((g, k) for _, g, keys in plans for k in keys
                                       if (g, k) not in self.cache))
            evals = run_tasks(tasks, self.data, c.train, c.seed, parallel=self.parallel, progress=on_progress,
                              split=self.split)
        self._log(evals, generation=generation)
        for task, e in zip(tasks, evals):
            self.cache[task] = e
        for ind, genome, keys in plans:
            ind.keys = tuple(keys)
            ind.evals = tuple(self.cache[(genome, k)] for k in keys)
            ind.fitness.values = objective_values(genome, ind.evals, c.objectives)
        return evals

    def _end_generation(self, g: int, evals: list[Evaluation]) -> None:
        """Hall of fame, logbook, files and checkpoint once generation ``g`` is evaluated."""
        valid = [ind for ind in self.population if not (ind.diverged or ind.pruned)]
        self.hof.update(valid)
        self.ranked, self.by_model = None, False
        best = str(self.config.space.decode(self.hof[0])) if len(self.hof) else ""
        row = logbook_row(g, evals, valid, self.population, best, pruning=self.config.prune != "off")
        self.logbook.record(**row)
        self.generation = g
        if self.folder is not None:
            self.folder.append_lines("generations.jsonl", [{"gen": g, "population": [
                self._summary(ind) for ind in self.population]}])
            self._save()
        self._emit("generation", row=row)

    def _reselect(self) -> None:
        """Retrain the hall of fame from ``reselect`` new seeds (the same for every member: paired)
        and rank it by its fitness over all its seeds, so a lucky seed cannot pick the winner."""
        c = self.config
        if not c.reselect or self.n_obj != 1 or not len(self.hof):
            return
        keys = [(seeding.RESELECT, r) for r in range(c.reselect)]
        members = list(self.hof)
        genomes = [c.space.decode(ind) for ind in members]
        tasks = list(dict.fromkeys((g, k) for g in genomes for k in keys if (g, k) not in self.cache))
        evals = run_tasks(tasks, self.data, c.train, c.seed, parallel=self.parallel)
        self._log(evals, generation=None, stage="reselect")
        self.cache.update(zip(tasks, evals))
        for ind, genome in zip(members, genomes):
            ind.keys = tuple(ind.keys) + tuple(keys)
            ind.evals = tuple(self.cache[(genome, k)] for k in ind.keys)
            ind.fitness.values = objective_values(genome, ind.evals, c.objectives)
        refill(self.hof, sorted(members, key=lambda ind: ind.fitness.wvalues, reverse=True))

    def _rank(self) -> None:
        """The finished hall of fame, best first: by fitness; with a surrogate that trained at least
        ``config.RANK_MIN`` setups (below, the forest is too coarse: measured), by the forest's
        predicted fitness (``surrogate.smoothed``), where a setup's neighbours smooth the luck of its
        own few seeds, so the winner is less often a setup whose seeds were lucky. Deterministic: the
        forest's seed is the search's, its rows everything trained (the same when restored)."""
        c, members = self.config, list(self.hof)
        self.ranked = members
        self.by_model = ranks_by_model(c, self.cache)
        if self.by_model:
            history = surrogate.history(self.cache, c.objectives)
            predicted = surrogate.smoothed(history, [c.space.decode(ind) for ind in members], c.space,
                                           c.seed % 2**31, WORST)
            self.ranked = [members[i] for i in sorted(range(len(members)), key=lambda i: predicted[i])]

    def _finish(self) -> None:
        from evoinit.baselines import score_hall_of_fame

        self._reselect()
        self._rank()
        if self.config.test:
            genomes = [self.config.space.decode(ind) for ind in self.ranked]
            self._emit("final", total=len(genomes))
            self.final, evals = score_hall_of_fame(genomes, self.config, self.data, parallel=self.parallel)
            self._log([e for _, _, e in evals], generation=None, stage="final")
        self.finished = True
        if self.folder is not None:
            self._save()

    # -- what goes into the run folder -------------------------------------------------------------

    def _log(self, evals, **extra) -> None:
        checkpoint.log_evaluations(self.folder, self.n_logged, evals, **extra)
        self.n_logged += len(evals)

    def _summary(self, ind: Individual) -> dict:
        return checkpoint.summary(self.config, self.config.space.decode(ind), ind.fitness.values,
                                  ind.evals, ind.keys)

    def hall_of_fame(self) -> list[dict]:
        return self.hall_of_fame_json()["entries"]

    def hall_of_fame_json(self) -> dict:
        """The content of hall_of_fame.json."""
        return checkpoint.hall_of_fame_json(self.config, self.generation, self.finished,
                                            [self._summary(ind) for ind in self.ranked or self.hof],
                                            self.final)

    def _save(self) -> None:
        state = checkpoint.Checkpoint(
            self.generation, self.finished, self.counter, self.n_logged,
            tuple(member(ind) for ind in self.population), tuple(member(ind) for ind in self.ranked or self.hof),
            tuple(self.logbook), tuple(self.final), self.py_state, self.rng.bit_generator.state,
            self.island_states, self.pending_genes)
        checkpoint.write_state(self.folder, self.config, state, self.hall_of_fame_json())

    def _individual(self, m: checkpoint.Member) -> Individual:
        ind = Individual(list(m.genes), self.n_obj)
        ind.fitness.values = m.fitness
        ind.keys = m.keys
        genome = self.config.space.decode(ind)
        ind.evals = tuple(self.cache[(genome, k)] for k in ind.keys)
        return ind

    # -- DEAP plumbing -----------------------------------------------------------------------------

    def _clone(self, ind: Individual) -> Individual:
        new = Individual(ind, self.n_obj)
        if ind.fitness.valid:
            new.fitness.values = ind.fitness.values
        new.evals, new.keys = ind.evals, ind.keys
        return new

    def _mutate(self, ind: Individual):
        ind[:] = self.config.space.mutate(ind, self.rng, self.config.indpb)
        return (ind,)

    def _emit(self, kind: str, **kw) -> None:
        if self.progress:
            self.progress(Progress(kind, max(self.generation, 0), self.config.generations, **kw))

    def _result(self) -> SearchResult:
        rows = _test_rows(dataset_of(self.data).summary()) if self.finished and self.config.test else None
        return SearchResult(self.config, self.hall_of_fame(), list(self.logbook),
                            None if self.folder is None else self.folder.path, self.finished,
                            self.n_logged, sum(k[0] != seeding.FINAL for _, k in self.cache), self.by_model,
                            rows)


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


class _CallableModule(types.ModuleType):
    """``evoinit.search(...)`` runs a search, as the CLI's ``evoinit search`` does, while
    ``evoinit.search.resume``, ``.SearchResult`` and the rest stay reachable on the module."""

    def __call__(self, *args, **kwargs) -> SearchResult:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
