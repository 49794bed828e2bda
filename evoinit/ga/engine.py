"""The genetic algorithm over network setups: one engine, written on DEAP's tools.

A plain (μ+λ) loop in the spirit of DEAP's ``eaMuPlusLambda``, to be read top to bottom in
``Search.loop``: evaluate the first population; then per generation breed λ offspring (``varOr``:
uniform crossover or per-gene mutation), evaluate them, keep the best μ of parents and offspring
(tournament parents, or NSGA-II for several objectives), and record the generation — hall of fame,
logbook, checkpoint. At the end the hall of fame is ranked and scored on the test split against
the canonical start for its activation (``baselines``).

Variants plug in through ``ga.hooks`` (which offspring are trained, how candidates are trained,
the final order, the shape of the loop); the engine imports none of them. It writes nothing
itself: a recorder (``runfolder.write.Recorder``) takes its evaluations, generations and state,
and progress goes to a callback. DEAP's pieces (the individual, its private ``random``) are in
``individuals``.
"""

from __future__ import annotations

import random
import statistics
from contextlib import contextmanager
from typing import Callable

from deap import algorithms, base, tools

from evoinit import seeding
from evoinit.data.spec import test_rows
from evoinit.ga import backends
from evoinit.ga.baselines import score_hall_of_fame
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluate import dataset_of, objective_values, run_tasks, seed_keys
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome
from evoinit.ga.hooks import Hooks
from evoinit.ga.individuals import Individual, merge_by_genome, python_random, refill
from evoinit.ga.kept import keep
from evoinit.ga.results import Entry, FinalScores, Progress, SearchResult, logbook_row
from evoinit.ga.state import Checkpoint, Member


class Search:
    """The changing state of one search: population, hall of fame, logbook, both random states,
    the evaluation cache and counters. ``recorder`` (None: nothing is written) receives what the
    run folder holds; ``hooks`` are the variants it runs with (``ga.variants.of(config)``)."""

    def __init__(self, config: SearchConfig, hooks: Hooks = Hooks(), *, data=None, n_jobs: int = -1,
                 scheduler: str | None = None, progress: Callable[[Progress], None] | None = None,
                 recorder=None):
        self.config, self.hooks, self.recorder = config, hooks, recorder
        self.data = data if data is not None else config.dataset  # what workers receive
        self.n_jobs, self.scheduler, self.progress = n_jobs, scheduler, progress
        self.n_obj = len(config.objectives)
        root = seeding.root(config.seed)
        self.rng = seeding.generator(seeding.child(root, seeding.GA))
        self.py_state = random.Random(int(seeding.child(root, seeding.GA, 0).generate_state(1)[0])).getstate()
        self.population: list[Individual] = []
        self.hof = tools.HallOfFame(config.hall_of_fame) if self.n_obj == 1 else tools.ParetoFront()
        self.ranked: list | None = None   # a finished search's hall of fame, best first (``rank``)
        self.by_model = False             # ... in a model's order (the surrogate's)
        self.logbook = tools.Logbook()
        self.generation = -1          # the last generation completed
        self.counter = 0              # evaluation numbers handed out (distinct seed policy)
        self.cache: dict[tuple, Evaluation] = {}
        self.n_logged = 0             # lines in evaluations.jsonl
        self.finished = False
        self.final: list[FinalScores] = []
        self.networks: tuple = ()     # the hall of fame's kept networks (``ga.kept``), once finished
        self.extra: dict = {}         # a variant's own part of the checkpoint (hooks.Shape)
        self.settings = config.to_json()   # as config.json records them (an older folder: its own)
        self.parallel = None
        self.toolbox = base.Toolbox()
        self.toolbox.register("clone", self.clone)
        self.toolbox.register("mate", tools.cxUniform, indpb=0.5)
        self.toolbox.register("mutate", self._mutate)
        self.toolbox.register("parents", tools.selTournament, tournsize=config.tournament)

    # -- the loop ----------------------------------------------------------------------------------

    def loop(self, stop_after: int | None = None) -> SearchResult:
        """Evaluate the first population; then per generation breed, evaluate, select, record; at
        the end rank and score the hall of fame. ``stop_after=k`` pauses after generation k."""
        if self.hooks.shape is not None:
            return self.hooks.shape.loop(self, stop_after)
        c = self.config
        with self.workers():
            if self.generation < 0:
                self.population = self.first_population()
                self.record(0, self.evaluate(self.population, 0))
            while self.generation < c.generations and not self.finished:
                if stop_after is not None and self.generation >= stop_after:
                    return self.result()
                g = self.generation + 1
                with python_random(self.py_state) as deap_random:
                    offspring = self.breed()
                    evaluations = self.evaluate(offspring, g)
                    self.population[:] = self.survivors(self.population + offspring)
                    self.py_state = deap_random.getstate()
                self.record(g, evaluations)
            if not self.finished:
                self.finish()
        return self.result()

    @contextmanager
    def workers(self):
        """The workers for the whole search (``backends.parallel``), and the "start" event."""
        run_dir = self.recorder.path if self.recorder is not None else None
        with backends.parallel(self.n_jobs, self.scheduler, run_dir=run_dir) as parallel:
            self.parallel = parallel
            self.emit("start")
            yield parallel

    def first_population(self) -> list[Individual]:
        space = self.config.space
        return [Individual(space.encode(space.sample(self.rng), self.rng), self.n_obj)
                for _ in range(self.config.population)]

    def breed(self) -> list[Individual]:
        """λ offspring by ``varOr``; a ``Breeder`` hook breeds a pool and chooses the λ to train."""
        c, breeder = self.config, self.hooks.breeder
        pool = c.offspring * (breeder.factor if breeder is not None else 1)
        bred = algorithms.varOr(self._parents(), self.toolbox, pool, c.cxpb, c.mutpb)
        return bred if breeder is None else breeder.choose(self, bred)

    def _parents(self) -> list[Individual]:
        """Parents by tournament (one objective) or all of them (NSGA-II ranks the survivors)."""
        if self.n_obj == 1:
            return self.toolbox.parents(self.population, len(self.population))
        return self.population

    def survivors(self, candidates: list, mu: int | None = None) -> list:
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

    # -- evaluation: plans -> tasks -> fitness -----------------------------------------------------

    def plan(self, genome: Genome) -> list[tuple]:
        """The seed keys of the next evaluation of ``genome`` under the seed policy."""
        n = self.counter
        if self.config.seed_policy == "distinct":   # the counter numbers distinct evaluations only
            self.counter += 1
        return seed_keys(self.config, n, genome)

    def evaluate(self, individuals, generation: int) -> list[Evaluation]:
        """Train the individuals without a valid fitness (a ``Racer`` hook decides how) and give
        each its fitness; returns the new evaluations, in task order."""
        plans = [(ind, genome, self.plan(genome)) for ind in individuals if not ind.fitness.valid
                 for genome in (self.config.space.decode(ind),)]
        on_progress = lambda done, total: self.emit("evaluated", done=done, total=total)  # noqa: E731
        pairs = [(g, keys) for _, g, keys in plans]
        if self.hooks.racer is not None:
            tasks, evals = self.hooks.racer.train(self, pairs, generation, on_progress)
        else:
            tasks, evals = self.train(pairs, on_progress)
        self.cache.update(zip(tasks, evals))
        for ind, genome, keys in plans:
            self.assign(ind, genome, keys)
        return evals

    def train(self, plans: list, progress=None) -> tuple[list, list[Evaluation]]:
        """The plain way: every (genome, key) task not in the cache, trained once, in order."""
        tasks = list(dict.fromkeys((g, k) for g, keys in plans for k in keys if (g, k) not in self.cache))
        return tasks, run_tasks(tasks, self.data, self.config.train, self.config.seed, parallel=self.parallel,
                                progress=progress)

    def assign(self, ind: Individual, genome: Genome, keys, known: dict | None = None) -> None:
        """``ind``'s keys, evaluations (from the cache, else ``known``) and fitness."""
        ind.keys = tuple(keys)
        ind.evals = tuple(self.cache.get((genome, k)) or known[(genome, k)] for k in keys)
        ind.fitness.values = objective_values(genome, ind.evals, self.config.objectives)

    # -- recording and finishing -------------------------------------------------------------------

    def record(self, g: int, evals: list[Evaluation]) -> None:
        """Generation ``g`` is done: its new evaluations, hall of fame, logbook, files, checkpoint."""
        self._log(evals, generation=g)
        valid = [ind for ind in self.population if not (ind.diverged or ind.pruned)]
        self._update_hall_of_fame(valid)
        self.ranked, self.by_model = None, False
        best = str(self.config.space.decode(self.hof[0])) if len(self.hof) else ""
        row = logbook_row(g, evals, valid, self.population, best, pruning=self.hooks.racer is not None)
        self.logbook.record(**row)
        self.generation = g
        if self.recorder is not None:
            self.recorder.generation(g, [self.entry(ind).to_json() for ind in self.population])
            self._save()
        self.emit("generation", row=row)

    def _update_hall_of_fame(self, valid: list[Individual]) -> None:
        """The hall of fame holds setups, not gene lists: its members and ``valid`` merged by
        genome (``merge_by_genome``), then the best (or the Pareto front) of those kept."""
        merged = merge_by_genome([*self.hof, *valid], self.config.space.decode,
                                 lambda genome, evals: objective_values(genome, evals, self.config.objectives))
        if self.n_obj == 1:   # a stable sort: on a tie, a member stays ahead of a newcomer
            refill(self.hof, sorted(merged, key=lambda ind: ind.fitness.wvalues, reverse=True)[:self.hof.maxsize])
        else:
            self.hof.clear()
            self.hof.update(merged)

    def rank(self) -> None:
        """The finished hall of fame, best first: by fitness, or by a ``Ranker`` hook's order."""
        members = list(self.hof)
        self.ranked, self.by_model = members, False
        if self.hooks.ranker is not None:
            self.ranked, self.by_model = self.hooks.ranker.rank(self, members)

    def finish(self) -> None:
        """Rank the hall of fame and score it on the test split against the canonical starts."""
        self.rank()
        if self.config.test:
            genomes = [self.config.space.decode(ind) for ind in self.ranked]
            self.emit("final", total=len(genomes))
            self.final, evals = score_hall_of_fame(genomes, self.config, self.data, parallel=self.parallel)
            self._log([e for _, _, e in evals], generation=None, stage="final")
        members = [(self.config.space.decode(ind), ind.keys, ind.evals) for ind in self.ranked]
        self.networks = keep(members, self.data, self.config.train, self.config.seed, test=self.config.test)
        self.finished = True
        if self.recorder is not None:
            self.recorder.networks(self.networks)   # before the checkpoint that says finished
            self._save()

    def _log(self, evals, **extra) -> None:
        if self.recorder is not None:
            self.recorder.evaluations(self.n_logged, evals, **extra)
        self.n_logged += len(evals)

    def _save(self) -> None:
        state = Checkpoint(self.generation, self.finished, self.counter, self.n_logged,
                           tuple(map(_member, self.population)), tuple(map(_member, self.ranked or self.hof)),
                           tuple(self.logbook), tuple(self.final), self.py_state, self.rng.bit_generator.state,
                           dict(self.extra))
        self.recorder.state(self.settings, state, self.hall_of_fame_json())

    # -- what it gives back ------------------------------------------------------------------------

    def entry(self, ind: Individual, rank: int | None = None) -> Entry:
        """An individual as hall_of_fame.json (with ``rank``) and generations.jsonl show it."""
        evals, mean = ind.evals, statistics.fmean
        unscored = any(e.diverged or e.pruned for e in evals)   # no final value
        return Entry(self.config.space.decode(ind), str(self.config.space.decode(ind)),
                     dict(zip(self.config.objectives, ind.fitness.values)), any(e.diverged for e in evals),
                     evals[0].n_params if evals else None,
                     None if unscored else mean(e.final_val_loss for e in evals),
                     None if unscored else mean(e.final_val_error for e in evals), tuple(ind.keys), rank)

    def hall_of_fame(self) -> tuple[Entry, ...]:
        """The hall of fame, best first, with the final scores once the search has finished."""
        out = []
        for rank, ind in enumerate(self.ranked or self.hof, 1):
            e = self.entry(ind, rank)
            if self.finished and rank <= len(self.final):
                f = self.final[rank - 1]
                e = Entry(**{**e.__dict__, "test": f.test, "baseline": f.baseline, "improvement": f.improvement})
            out.append(e)
        return tuple(out)

    def hall_of_fame_json(self) -> dict:
        """The content of hall_of_fame.json."""
        return {"schema": 1, "objectives": list(self.config.objectives), "generation": self.generation,
                "final": self.finished, "entries": [e.to_json() for e in self.hall_of_fame()]}

    def result(self) -> SearchResult:
        rows = test_rows(dataset_of(self.data).summary()) if self.finished and self.config.test else None
        return SearchResult(self.config, self.hall_of_fame(), list(self.logbook),
                            None if self.recorder is None else self.recorder.path, self.finished,
                            self.n_logged, sum(k[0] != seeding.FINAL for _, k in self.cache), self.by_model, rows,
                            self.networks)

    def emit(self, kind: str, **kw) -> None:
        if self.progress:
            self.progress(Progress(kind, max(self.generation, 0), self.config.generations, **kw,
                                   objective=self.config.objectives[0]))

    # -- restoring and DEAP plumbing ---------------------------------------------------------------

    def restore(self, state: Checkpoint, evaluations: list[Evaluation]) -> None:
        """Take the state of a checkpoint (already checked against the config and the log)."""
        self.cache.update(((e.genome, e.key), e) for e in evaluations)
        self.n_logged = state.n_evaluations
        self.generation, self.counter, self.finished = state.generation, state.counter, state.finished
        self.py_state = state.python_random
        self.rng.bit_generator.state = state.numpy_random
        self.population = [self._individual(m) for m in state.population]
        refill(self.hof, [self._individual(m) for m in state.hall_of_fame])
        for row in state.logbook:
            self.logbook.record(**row)
        self.final = list(state.final)
        self.extra = dict(state.extra)
        if self.finished:
            self.rank()

    def _individual(self, m: Member) -> Individual:
        ind = Individual(list(m.genes), self.n_obj)
        ind.fitness.values = m.fitness
        ind.keys = m.keys
        genome = self.config.space.decode(ind)
        ind.evals = tuple(self.cache[(genome, k)] for k in ind.keys)
        return ind

    def clone(self, ind: Individual) -> Individual:
        new = Individual(ind, self.n_obj)
        if ind.fitness.valid:
            new.fitness.values = ind.fitness.values
        new.evals, new.keys = ind.evals, ind.keys
        return new

    def _mutate(self, ind: Individual):
        ind[:] = self.config.space.mutate(ind, self.rng, self.config.indpb)
        return (ind,)


def _member(ind: Individual) -> Member:
    return Member(tuple(ind), ind.fitness.values, ind.keys)
