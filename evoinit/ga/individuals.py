"""DEAP's pieces for the GA (search.py and steady.py): the individual with its fitness class, the
private ``random.Random`` DEAP draws from, and the hall of fame's refill and saved form.

DEAP stays inside the GA's modules: its ``creator``-style classes are plain top-level classes here
and never travel to workers, which receive ``Genome`` values and seed keys. DEAP draws from
Python's ``random`` module; the search points it at a private ``random.Random`` seeded from the run
seed and checkpoints its state, so neither the caller's ``random`` nor another thread's draws touch
the GA.
"""

from __future__ import annotations

import random
import sys
from contextlib import contextmanager

from deap import algorithms, base, tools

_FITNESS: dict[int, type] = {}


def _fitness(n: int) -> type:
    """A minimising Fitness class with n objectives (cached: DEAP needs one class per count)."""
    if n not in _FITNESS:
        _FITNESS[n] = type(f"FitnessMin{n}", (base.Fitness,), {"weights": (-1.0,) * n})
    return _FITNESS[n]


class Individual(list):
    """A flat gene list (see ``SearchSpace``) with a fitness, its seed keys and the evaluations
    behind it."""

    def __init__(self, genes=(), n_objectives: int = 1):
        super().__init__(genes)
        self.fitness = _fitness(n_objectives)()
        self.keys: tuple = ()
        self.evals: tuple = ()

    @property
    def diverged(self) -> bool:
        return any(e.diverged for e in self.evals)

    @property
    def pruned(self) -> bool:
        return any(e.pruned for e in self.evals)


#: DEAP's modules that draw from ``random`` (``varOr``, tournaments, crossovers, NSGA-II).
_DEAP_MODULES = (algorithms, tools.selection, tools.crossover, tools.mutation, tools.emo)


@contextmanager
def python_random(state):
    """Run DEAP on a private ``random.Random`` at ``state`` (yielded): its modules are pointed at
    it for the duration, never at the shared global ``random``, which other threads draw from
    while a generation is evaluated (a Dask scheduler in this process picks workers with
    ``random.choice``) — that would shift the GA's stream. The caller's ``random`` is untouched."""
    rng = random.Random()
    rng.setstate(state)
    saved = [m.random for m in _DEAP_MODULES]
    for m in _DEAP_MODULES:
        m.random = rng
    try:
        yield rng
    finally:
        for m, r in zip(_DEAP_MODULES, saved):
            m.random = r


def versions() -> dict:
    """The versions a run folder records (DEAP's is known here only)."""
    import deap
    import joblib
    import numpy
    import sklearn

    return {"python": sys.version.split()[0], "numpy": numpy.__version__, "deap": deap.__version__,
            "scikit-learn": sklearn.__version__, "joblib": joblib.__version__}


def refill(hof, individuals: list) -> None:
    """Put restored individuals (best first) back into a ``HallOfFame``/``ParetoFront`` through
    its public ``clear`` and ``insert``. ``insert`` places an item after those of equal fitness
    from the back, so inserting worst first gives back the saved order, ties included."""
    hof.clear()
    for ind in reversed(individuals):
        hof.insert(ind)


def merge_by_genome(individuals, decode, fitness) -> list[Individual]:
    """One individual per setup, in first-seen order. Two gene lists can decode to the same
    ``Genome`` (a width slot the depth does not use), and a setup trained again on other seeds is
    more evidence about that setup, not a second one: the merged individual keeps the first one's
    genes, the union of their seed keys and evaluations (first seen first) and the fitness
    ``fitness(genome, evaluations)`` over all of them. An individual that brings no new key is
    returned as it is (its fitness untouched)."""
    groups: dict = {}
    for ind in individuals:
        groups.setdefault(decode(ind), []).append(ind)
    out = []
    for genome, inds in groups.items():
        first = inds[0]
        pairs = dict(zip(first.keys, first.evals))
        for ind in inds[1:]:
            for key, e in zip(ind.keys, ind.evals):
                pairs.setdefault(key, e)
        if len(pairs) == len(first.keys):
            out.append(first)
            continue
        merged = Individual(first, len(first.fitness.weights))
        merged.keys, merged.evals = tuple(pairs), tuple(pairs.values())
        merged.fitness.values = fitness(genome, merged.evals)
        out.append(merged)
    return out
