"""The steady-state GA with a fixed lag: no barrier, yet the same files whatever the workers.

Why (issue 13): the plain GA waits at every generation for its slowest network, so a cluster
idles; a steady-state asynchronous GA keeps the workers busy but, as usually written, breeds from
whatever has come back — its result depends on the cluster. Here what is bred depends only on
candidate numbers and seeds:

- candidates are numbered 0, 1, 2, …; the first ``population`` are the first population (drawn as
  the plain GA draws its generation 0); each later one is bred from the state S(n − ``lag``): the
  population after the results of candidates 0 … n − lag − 1 were folded in, **in index order**
  (candidate k joins the population and the worst of the μ + 1 leaves: ``Search._survivors``);
- candidate n's draws come from its own streams (``seeding.child(root, STEADY, n)``): two
  tournament winners, uniform crossover of them with probability ``cxpb`` (then mutation with
  probability ``mutpb``), else mutation of the first — every candidate is a new evaluation;
- so candidate n can be sent as soon as candidates below n − lag are back, however long the
  others take; a worker idles only when the oldest unfinished candidate holds the lag window.

The run folder is written as the plain GA writes it: "generation" g ≥ 1 is the block of
``offspring`` candidates μ + (g − 1)λ … μ + gλ − 1, recorded (evaluations in candidate order,
population, hall of fame, logbook, checkpoint) once the block is folded in. The checkpoint also
holds the genes of the candidates already bred and not folded in (``pending``); a resume sends
them again. ``lag`` = 0 is the sequential steady-state GA; larger lags keep more workers busy and
breed from older states (docs/cluster.md).
"""

from __future__ import annotations

import random

from deap import tools

from evoinit import checks, seeding
from evoinit.ga.evaluate import population_jobs, results, seed_keys
from evoinit.ga.individuals import Individual, python_random
from evoinit.ga.schedule import POPULATION, plan


def send_now(tasks: list, idle: int) -> list[list[int]]:
    """The populations to send now out of the waiting ``tasks`` [(genome, key)], oldest first, for
    ``idle`` idle workers: ``schedule.plan`` over the oldest ``POPULATION`` × idle of them (one
    architecture per population, split when too few), the populations with the oldest tasks
    first, at most ``idle`` of them. Only the time depends on this, never a result."""
    head = tasks[:POPULATION * max(1, idle)]
    return sorted(plan(head, max(1, idle)), key=min)[:max(1, idle)]


class Steady:
    """``shape = "steady"`` plugged into the engine (``ga.hooks``) as its ``Shape``: the loop, and
    its part of the checkpoint — the genes of the candidates bred and not folded in."""

    def loop(self, search, stop_after: int | None = None):
        return loop(search, stop_after)

    def checked(self, extra: dict, config) -> dict:
        rows = extra.get("pending", [])
        n_genes = config.space.n_genes
        if set(extra) - {"pending"} or not isinstance(rows, list) or not all(
                isinstance(r, list) and len(r) == n_genes and all(checks.is_number(v) for v in r) for r in rows):
            raise ValueError(f"its pending candidates are not {n_genes} genes each")
        return {"pending": rows} if rows else {}


class Lagged:
    """The candidates bred and not yet folded in, and what has come back for them."""

    def __init__(self, run):
        self.run, c = run, run.config
        self.mu, self.lam, self.lag = c.population, c.offspring, c.lag
        self.total = c.population + c.generations * c.offspring    # every candidate of the search
        self.folded = run.counter if run.generation >= 0 else 0    # candidates 0 … folded − 1 are in
        self.pending: dict[int, tuple] = {}                        # n → (individual, genome, keys)
        self.known: dict[tuple, object] = {}                       # evaluations back, not recorded
        self.sent: set = set()
        self.futures: list = []                                    # (future, tasks)
        for i, genes in enumerate(run.extra.get("pending", [])):
            self._add(self.folded + i, Individual(list(genes), run.n_obj))

    def _add(self, n: int, ind: Individual) -> None:
        genome = self.run.config.space.decode(ind)
        self.pending[n] = (ind, genome, seed_keys(self.run.config, n, genome))

    def breed(self, n: int) -> None:
        """Candidate n from the population as it is now, with its own random streams."""
        run, c = self.run, self.run.config
        stream = seeding.child(seeding.root(c.seed), seeding.STEADY, n)
        rng = seeding.generator(stream)
        state = random.Random(int(seeding.child(stream, 0).generate_state(1)[0])).getstate()
        with python_random(state) as deap_random:
            a, b = (run.clone(p) for p in tools.selTournament(run.population, 2, c.tournament))
            if deap_random.random() < c.cxpb:
                tools.cxUniform(a, b, 0.5)
                mutate = deap_random.random() < c.mutpb
            else:
                mutate = True
            if mutate:
                a[:] = c.space.mutate(a, rng, c.indpb)
        del a.fitness.values
        self._add(n, a)

    def breed_up_to(self) -> None:
        """Breed every candidate the folded state allows: n ≤ max(folded, μ) + lag (first population
        first: candidates below μ are drawn together, as the plain GA's generation 0)."""
        if self.folded < self.mu:
            return
        last = min(self.total - 1, self.folded + self.lag)
        for n in range(self.folded, last + 1):
            if n not in self.pending:
                self.breed(n)

    # -- evaluations --------------------------------------------------------------------------------

    def waiting(self) -> list[tuple]:
        """Tasks of pending candidates not recorded, back or sent, oldest candidate first."""
        run = self.run
        tasks = (task for n in sorted(self.pending) for task in
                 ((self.pending[n][1], k) for k in self.pending[n][2]))
        return list(dict.fromkeys(t for t in tasks if t not in run.cache and t not in self.known
                                  and t not in self.sent))

    def send(self, workers) -> None:
        """Send what the idle workers can take (in this process: one population, run here)."""
        c = self.run.config
        waiting = self.waiting()
        idle = 1 if workers is None else workers.n_workers - len(self.futures)
        if not waiting or idle < 1:
            return
        for idx in send_now(waiting, idle):
            part = [waiting[i] for i in idx]
            _, (job,) = population_jobs(part, self.run.data, c.train, c.seed, split=False)
            fn, args, kwargs = job
            if workers is None:
                self.known |= results(part, list(range(len(part))), fn(*args, **kwargs))
            else:
                self.futures.append((workers.submit(fn, *args, **kwargs), part))
                self.sent.update(part)

    def collect(self, workers) -> None:
        """Wait for one sent population at least, and take back every one that is done."""
        if not self.futures:
            return
        done = workers.wait_any([f for f, _ in self.futures])
        still = []
        for future, part in self.futures:
            if future in done:
                self.known |= results(part, list(range(len(part))), workers.result(future))
                self.sent.difference_update(part)
            else:
                still.append((future, part))
        self.futures = still

    # -- folding in, in index order -----------------------------------------------------------------

    def ready(self, n: int) -> bool:
        _, genome, keys = self.pending[n]
        return all((genome, k) in self.run.cache or (genome, k) in self.known for k in keys)

    def evaluated(self, n: int):
        """Candidate n with its fitness, and its evaluations (genome, key) → evaluation."""
        ind, genome, keys = self.pending.pop(n)
        self.run.assign(ind, genome, keys, self.known)
        return ind, [((genome, k), e) for k, e in zip(keys, ind.evals)]


def _record(run, steady: Lagged, g: int, evaluated: list) -> None:
    """Generation (block) g: its new evaluations in candidate order, then the plain GA's records."""
    new = []
    for task, e in evaluated:
        if task not in run.cache:
            run.cache[task] = e
            new.append(e)
        steady.known.pop(task, None)
    run.counter = steady.folded
    pending = [list(steady.pending[n][0]) for n in sorted(steady.pending)]
    run.extra = {"pending": pending} if pending else {}
    run.record(g, new)


def _fold(run, steady: Lagged, block: list, stop_after) -> bool:
    """Fold in every candidate that is back, in index order, recording each block it completes;
    True when the run should pause (``stop_after``)."""
    mu = steady.mu
    while steady.folded in steady.pending and steady.ready(steady.folded):
        n = steady.folded
        ind, evaluated = steady.evaluated(n)
        block.extend(evaluated)
        if n < mu:
            run.population.append(ind)
        else:
            with python_random(random.Random(n).getstate()):
                run.population[:] = run.survivors(run.population + [ind])
        steady.folded = n + 1
        steady.breed_up_to()
        if n + 1 == mu or (n + 1 > mu and (n + 1 - mu) % steady.lam == 0):
            g = 0 if n + 1 == mu else (n + 1 - mu) // steady.lam
            _record(run, steady, g, block)
            block.clear()
            if stop_after is not None and run.generation >= stop_after:
                return True
    return False


def loop(run, stop_after: int | None = None):
    """``Search.loop`` for ``shape = "steady"``: candidates are sent as the lag allows and folded in
    index order; the hall of fame is scored at the end as in the plain GA."""
    c = run.config
    with run.workers() as workers:
        if run.generation < 0:
            run.population, run.counter, run.extra = [], 0, {}
            steady = Lagged(run)
            for n, ind in enumerate(run.first_population()):
                steady._add(n, ind)
        else:
            steady = Lagged(run)
            steady.breed_up_to()
        block: list = []
        while run.generation < c.generations and not run.finished:
            if stop_after is not None and run.generation >= stop_after:
                return run.result()
            steady.send(workers)
            if workers is not None:
                steady.collect(workers)
            if _fold(run, steady, block, stop_after):
                return run.result()
        if not run.finished:
            run.finish()
    return run.result()
