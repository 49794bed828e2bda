"""The island model: K populations evolving on their own, the best migrating every M generations.

Why islands (issue 13, item 3): the plain GA waits at every generation for its slowest candidate,
so a cluster idles while the last populations train. Islands need no global barrier between
migrations: each island breeds its next generation as soon as its own evaluations are back, so
while one island waits for a slow network the others' work keeps the workers busy. A steady-state
asynchronous GA would keep them even busier, but what it breeds depends on the order in which
results arrive; islands stay deterministic because nothing an island does depends on another
island except at migrations, which happen at fixed generations with every island there.

How it stays deterministic — the same seed gives the same files whatever the workers and the
order in which results arrive:

- island i has its own random streams (``seeding.child(root, GA, 1 + i)``: the numpy Generator
  for genes, a Python ``random`` for DEAP) and its own evaluation counter; with the ``distinct``
  seed policy its evaluations are numbered i, i + K, i + 2K, …, so keys never depend on timing;
- an island's generation g is recorded only once every island has finished generation g ("round"
  g): the evaluations log, hall of fame, logbook, generations log and checkpoint are written per
  round, islands in order, exactly as if the islands had run in lockstep;
- at every generation g that is a multiple of ``migration_interval`` (not the last) the islands
  wait for each other; then DEAP's ``migRing`` sends each island's best ``migrants`` to the next
  island in the ring, replacing its worst (``selBest`` / ``selWorst``: no random draw). The
  checkpoint of round g holds the populations before migration; resume migrates again.

``population`` and ``offspring`` are totals, shared out among the islands (the first islands get
one more when they do not divide), so a search with islands costs what the plain GA costs.
"""

from __future__ import annotations

import random

from deap import algorithms, base, tools

from evoinit import backends, checkpoint, seeding
from evoinit.evaluate import objective_values, population_jobs, results
from evoinit.individuals import Individual, python_random as _python_random
from evoinit.runs import seed_keys


def shares(total: int, k: int) -> list[int]:
    """``total`` shared out among ``k`` islands, the first ones one more when it does not divide."""
    return [total // k + (i < total % k) for i in range(k)]


class Island:
    """One island: its population, random streams, counter, and the generations it finished that
    are not recorded yet (``done``: generation → (population, [(task, evaluation)], state))."""

    def __init__(self, run, index: int):
        c = run.config
        self.run, self.index = run, index
        self.mu = shares(c.population, c.islands)[index]
        self.lam = shares(c.offspring, c.islands)[index]
        stream = seeding.child(seeding.root(c.seed), seeding.GA, 1 + index)
        self.rng = seeding.generator(stream)
        self.py_state = random.Random(int(seeding.child(stream, 0).generate_state(1)[0])).getstate()
        self.counter = 0
        self.population: list[Individual] = []
        self.generation = -1            # the last generation this island finished
        self.done: dict[int, tuple] = {}
        self.known: dict[tuple, object] = {}   # this island's evaluations not yet recorded
        self.work = None                # the generation under way: (g, individuals, plans, tasks, jobs)
        self.toolbox = base.Toolbox()
        self.toolbox.register("clone", run._clone)
        self.toolbox.register("mate", tools.cxUniform, indpb=0.5)
        self.toolbox.register("mutate", self._mutate)
        self.toolbox.register("parents", tools.selTournament, tournsize=c.tournament)

    def _mutate(self, ind):
        ind[:] = self.run.config.space.mutate(ind, self.rng, self.run.config.indpb)
        return (ind,)

    def _keys(self, genome) -> list[tuple]:
        c = self.run.config
        n = self.counter * c.islands + self.index    # island i numbers i, i + K, i + 2K, …
        if c.seed_policy == "distinct":
            self.counter += 1
        return seed_keys(c, n, genome)

    def state(self) -> checkpoint.IslandState:
        return checkpoint.IslandState(self.mu, self.counter, self.py_state, self.rng.bit_generator.state)

    def restore(self, population: list, state: checkpoint.IslandState, generation: int) -> None:
        self.population, self.counter, self.py_state = list(population), state.counter, state.python_random
        self.rng.bit_generator.state = state.numpy_random
        self.generation = generation

    # -- one generation: breed, send the evaluations, take them back --------------------------------

    def start(self, g: int, workers) -> None:
        """Breed generation ``g`` (the first population for 0) and send its evaluations."""
        run, c = self.run, self.run.config
        if g == 0:
            genomes = [c.space.sample(self.rng) for _ in range(self.mu)]
            if c.canonical_start:
                from evoinit.runs import canonical_starts

                genomes = canonical_starts(genomes, c.space)
            individuals = [Individual(c.space.encode(genome, self.rng), run.n_obj) for genome in genomes]
        else:
            with _python_random(self.py_state) as deap_random:
                parents = (self.toolbox.parents(self.population, len(self.population)) if run.n_obj == 1
                           else self.population)
                individuals = algorithms.varOr(parents, self.toolbox, self.lam, c.cxpb, c.mutpb)
                self.py_state = deap_random.getstate()
        plans = []
        for ind in individuals:
            if not ind.fitness.valid:
                genome = c.space.decode(ind)
                plans.append((ind, genome, self._keys(genome)))
        tasks = list(dict.fromkeys((genome, k) for _, genome, keys in plans for k in keys
                                   if (genome, k) not in run.cache and (genome, k) not in self.known))
        n = 1 if workers is None else max(1, workers.n_workers // c.islands)   # its share of them
        schedule, jobs = population_jobs(tasks, run.data, c.train, c.seed, workers=n, split=run.split)
        if workers is None:
            futures = [fn(*args, **kwargs) for fn, args, kwargs in jobs]   # here, now
        else:
            futures = [workers.submit(fn, *args, **kwargs) for fn, args, kwargs in jobs]
        self.work = (g, individuals, plans, tasks, schedule, futures)

    def futures(self) -> list:
        return [] if self.work is None or self.run.parallel is None else self.work[-1]

    def finish(self, workers) -> None:
        """Take generation ``g``'s evaluations back (all must be done), choose the survivors and
        keep what round ``g`` will record."""
        g, individuals, plans, tasks, schedule, futures = self.work
        run, c = self.run, self.run.config
        for idx, out in zip(schedule, futures):
            self.known |= results(tasks, idx, out if workers is None else workers.result(out))
        evaluated = []
        for ind, genome, keys in plans:
            ind.keys = tuple(keys)
            ind.evals = tuple(run.cache.get((genome, k)) or self.known[(genome, k)] for k in keys)
            ind.fitness.values = objective_values(genome, ind.evals, c.objectives)
            evaluated.extend(((genome, k), e) for k, e in zip(keys, ind.evals))
        if g == 0:
            self.population = individuals
        else:
            with _python_random(self.py_state) as deap_random:
                self.population = run._survivors(self.population + individuals, self.mu)
                self.py_state = deap_random.getstate()
        self.generation, self.work = g, None
        self.done[g] = (list(self.population), evaluated, self.state())


# -- the loop -----------------------------------------------------------------------------------------


def _migrates(config, g: int) -> bool:
    return 0 < g < config.generations and config.migrants > 0 and g % config.migration_interval == 0


def migrate(islands: list[Island]) -> None:
    """DEAP's ring migration: each island's best ``migrants`` (copies) replace the next island's worst."""
    run = islands[0].run
    best = lambda pop, k: [run._clone(ind) for ind in tools.selBest(pop, k)]  # noqa: E731
    tools.migRing([island.population for island in islands], run.config.migrants, best,
                  replacement=tools.selWorst)


def _record(run, islands: list[Island], g: int) -> None:
    """Round ``g``: every island's generation ``g``, written as the plain GA writes a generation."""
    new, population, states = [], [], []
    for island in islands:
        members, evaluated, state = island.done.pop(g)
        for task, e in evaluated:
            if task not in run.cache:
                run.cache[task] = e
                new.append(e)
            island.known.pop(task, None)
        population.extend(members)
        states.append(state)
    run._log(new, generation=g)
    run.population, run.island_states = population, tuple(states)
    run.counter = sum(s.counter for s in states)
    run._end_generation(g, new)
    if _migrates(run.config, g):
        migrate(islands)


def _restored(run) -> list[Island]:
    islands = [Island(run, i) for i in range(run.config.islands)]
    if run.generation >= 0:
        at = 0
        for island, state in zip(islands, run.island_states):
            island.restore(run.population[at:at + state.size], state, run.generation)
            at += state.size
        if _migrates(run.config, run.generation):
            migrate(islands)
    return islands


def _may_start(island: Island, recorded: int) -> bool:
    """Whether an idle island may breed its next generation: not past the last one, and not past
    a migration the other islands have not reached."""
    g = island.generation
    c = island.run.config
    return island.work is None and g < c.generations and (not _migrates(c, g) or recorded >= g)


def loop(run, stop_after: int | None = None):
    """``Search.loop`` for ``islands`` > 1: the islands run until every one has finished the last
    generation (recorded round by round), then the hall of fame is scored as in the plain GA."""
    c = run.config
    with backends.parallel(run.n_jobs, run.scheduler, run_dir=run.folder and run.folder.path) as workers:
        run.parallel = workers
        run._emit("start")
        islands = _restored(run)
        while run.generation < c.generations and not run.finished:
            if stop_after is not None and run.generation >= stop_after:
                return run._result()
            for island in islands:
                if _may_start(island, run.generation):
                    island.start(island.generation + 1, workers)
                    if workers is None:
                        island.finish(None)
            pending = [f for island in islands for f in island.futures()]
            if pending:
                done = workers.wait_any(pending)
                for island in islands:
                    if island.work is not None and all(f in done or f.done() for f in island.futures()):
                        island.finish(workers)
            while run.generation < c.generations and all(run.generation + 1 in i.done for i in islands):
                _record(run, islands, run.generation + 1)
                if stop_after is not None and run.generation >= stop_after:
                    break
        if not run.finished:
            run._finish()
    return run._result()
