"""How a call's tasks become populations for the workers, and in what order they are sent.

Tasks of one architecture are stacked into populations for the trainer (``populations``), cut at
``POPULATION``; when they are too few for the workers, the longest are split further, down to
single networks (``plan``). No result depends on any of this — every network's seed, start and
minibatch order are its own and the trainer is pure per network — only the time each evaluation
records does.
"""

from __future__ import annotations

import heapq
from typing import Sequence

from evoinit.ga.genome import Genome

#: Most networks per population sent to a worker. Populations are split further only when they
#: are too few for the workers (``plan``); no result depends on the grouping (the trainer is pure
#: per network), only the time each evaluation records.
POPULATION = 16


def populations(tasks: Sequence[tuple[Genome, tuple]], size: int = POPULATION) -> list[list[int]]:
    """Indices of unique tasks grouped by architecture, in first-appearance order, cut at ``size``.

    Identical (genome, seed) tasks appear once; the grouping depends only on the tasks.
    """
    groups: dict[tuple, list[int]] = {}
    seen: set = set()
    for i, (genome, key) in enumerate(tasks):
        if (genome, tuple(key)) in seen:
            continue
        seen.add((genome, tuple(key)))
        groups.setdefault(genome.architecture, []).append(i)
    return [idx[lo:lo + size] for idx in groups.values() for lo in range(0, len(idx), size)]


#: A network trained alone costs about this many times its share of a population of
#: ``POPULATION`` (NumPy's per-call overhead is no longer shared; ``scripts/bench.py`` measures 3.3
#: for 64-64-10 tanh). Only the split decisions use it; no result depends on it.
SINGLE_COST = 3.3


def relative_cost(size: int, single_cost: float = SINGLE_COST) -> float:
    """Time per network in a population of ``size`` relative to one of ``POPULATION``:
    a + b/size, 1 at ``POPULATION`` and ``single_cost`` at 1."""
    b = (single_cost - 1.0) * POPULATION / (POPULATION - 1)
    return 1.0 - b / POPULATION + b / size


def _unit_cost(genome: Genome) -> float:
    """Estimated cost of training one network of ``genome`` (the widths' sum squared: the weights
    of its hidden layers, roughly); every task of a call has the same epochs and data."""
    return float(sum(genome.hidden) ** 2)


def plan(tasks: Sequence[tuple[Genome, tuple]], workers: int = 1, split: bool | None = None) -> list[list[int]]:
    """The populations one call sends, as lists of task indices, in the order they are sent.

    Tasks are grouped by ``populations``. While there are enough of them to keep ``workers`` busy
    the groups stay whole, biggest estimated cost first. When the longest group's estimated cost
    exceeds a worker's share of the whole call (``split=None``, the default; in particular when
    there are fewer groups than workers), it is halved, again and again, down to single networks
    if need be, the longest first; the halves' cost counts what training in a smaller population
    adds (``relative_cost``). ``split=True`` splits everything down to single networks,
    ``split=False`` never splits. The grouping never changes a result: every network's seed,
    start and minibatch order are its own, and the trainer is pure per network.
    """
    groups = populations(tasks)
    unit = [_unit_cost(genome) for genome, _ in tasks]
    whole = sorted(groups, key=lambda idx: -len(idx) * unit[idx[0]])   # biggest first
    if split is False or (split is None and workers <= 1) or not groups:
        return whole
    parts = [[i] for idx in groups for i in idx] if split else _halve_longest(groups, unit, workers)
    if len(parts) == len(groups):
        return whole
    return sorted(parts, key=lambda idx: (-_cost(idx, unit), idx[0]))


def _cost(idx: list[int], unit: list[float]) -> float:
    """Estimated time of one population: its networks' cost, with what a smaller population adds."""
    return unit[idx[0]] * len(idx) * relative_cost(len(idx))


def _halve_longest(groups: list[list[int]], unit: list[float], workers: int) -> list[list[int]]:
    """Halve the longest group while it is longer than a worker's share of the total."""
    heap = [(-_cost(idx, unit), idx[0], idx) for idx in groups]
    heapq.heapify(heap)
    total = sum(-c for c, _, _ in heap)
    while len(heap[0][2]) > 1 and -heap[0][0] > total / workers:
        c, _, idx = heapq.heappop(heap)
        total += c
        for part in (idx[:len(idx) // 2], idx[len(idx) // 2:]):
            heapq.heappush(heap, (-_cost(part, unit), part[0], part))
            total += _cost(part, unit)
    return [idx for _, _, idx in heap]
