"""A model of the search space for the GA's offspring: pre-selection by a random forest.

Why (issue 18): at a budget of a couple of hundred trainings the GA breeds about ten offspring
per generation and trains every one of them, good or hopeless, while a model-based sampler
(Optuna's TPE) learns from every training where the good setups lie. Here the GA breeds
``surrogate × λ`` candidates by its own variation (``varOr``), a random forest fitted to every
setup trained so far predicts their fitness, and only the λ with the highest expected improvement
are trained — the GA's variation proposes, the model disposes, as in SMAC (Hutter et al. 2011),
whose forest and criterion these are. When the search ends, the same model ranks the hall of fame
(``smoothed``), once the search has trained ``config.RANK_MIN`` setups (below, it was measured to
rank worse than the measured fitness): a setup's measured fitness is the mean of two or three
seeds, and the best of a couple of hundred such means is mostly the luckiest; the forest's
prediction averages each setup with its neighbours. Measured in docs/bench_search.md: with the
ranking, K = 30 comes close to Optuna's TPE paired by run seed (10/31/9 scored from 10 fresh seeds,
13/20/17 from 30), where without it TPE was ahead (8/30/12).

The model sees a setup as numbers: depth, log2 of each width (0 for a layer the setup does not
have), the activation and init one-hot, log2 of the scale (and of the learning rate). It predicts
the log of the fitness (validation losses span orders of magnitude; what matters is the low end);
a diverged setup counts as the worst seen plus one (e times its loss). Its uncertainty is the
spread of the trees' predictions. Everything is deterministic: the training rows are sorted, the
forest's seed is drawn from the GA's generator, ties keep the breeding order.
"""

from __future__ import annotations

import math

import numpy as np

from evoinit import seeding
from evoinit.ga.config import ranks_by_model
from evoinit.ga.evaluate import WORST, objective_values
from evoinit.ga.genome import Genome, SearchSpace

#: The forest: SMAC's settings (bootstrap, at least 3 to split, 3 per leaf, 5/6 of the features).
TREES = 64
MIN_SPLIT, MIN_LEAF, MAX_FEATURES = 3, 3, 5 / 6


def history(cache: dict, objectives) -> dict[Genome, float]:
    """Every setup a search trained (``cache``: (genome, seed key) → evaluation; its repeats and
    any re-estimates together, pruned ones left out) → its fitness on the first objective."""
    groups: dict = {}
    for (genome, key), e in cache.items():
        if key[0] in seeding.CANDIDATES and not e.pruned:
            groups.setdefault(genome, []).append(e)
    return {g: objective_values(g, evals, objectives)[0] for g, evals in groups.items()}


def features(space: SearchSpace, genome: Genome) -> list[float]:
    """``genome`` as the model's numbers (see the module's docstring)."""
    widths = [math.log2(w) for w in genome.hidden] + [0.0] * (space.layers[1] - len(genome.hidden))
    row = [float(len(genome.hidden)), *widths]
    row += [float(genome.activation == a) for a in space.activations]
    row += [float(genome.init == i) for i in space.inits]
    row.append(math.log2(genome.scale) if genome.scale > 0 else math.log2(space.scales[0]) - 1)
    if space.learning_rates is not None:
        row.append(math.log2(genome.learning_rate or math.sqrt(space.learning_rates[0] * space.learning_rates[1])))
    return row


def _order(genome: Genome) -> tuple:
    return (genome.hidden, genome.activation, genome.init, genome.scale, genome.learning_rate or 0.0,
            genome.seed or 0)


def _targets(values: list[float], worst: float) -> np.ndarray:
    """log fitness; diverged (``worst`` or more) as the largest finite log plus one."""
    finite = [math.log(max(v, 1e-300)) for v in values if v < worst]
    cap = (max(finite) if finite else 0.0) + 1.0
    return np.array([math.log(max(v, 1e-300)) if v < worst else cap for v in values])


def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """E[max(best − y, 0)] for y ~ N(mean, std²) (minimising); the improvement itself where std = 0."""
    gain = best - mean
    out = np.maximum(gain, 0.0)
    s = std > 1e-12
    z = gain[s] / std[s]
    cdf = 0.5 * (1.0 + np.array([math.erf(v / math.sqrt(2.0)) for v in z]))
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    out[s] = gain[s] * cdf + std[s] * pdf
    return out


def _per_tree(history: dict[Genome, float], genomes: list[Genome], space: SearchSpace, seed: int,
              worst: float) -> tuple[np.ndarray, np.ndarray]:
    """Each tree's prediction (trees × genomes) of a forest fitted to ``history``, and its targets."""
    from sklearn.ensemble import RandomForestRegressor

    known = sorted(history, key=_order)
    y = _targets([history[g] for g in known], worst)
    forest = RandomForestRegressor(n_estimators=TREES, min_samples_split=MIN_SPLIT, min_samples_leaf=MIN_LEAF,
                                   max_features=MAX_FEATURES, random_state=seed, n_jobs=1)
    forest.fit(np.array([features(space, g) for g in known]), y)
    X = np.array([features(space, g) for g in genomes])
    return np.stack([tree.predict(X) for tree in forest.estimators_]), y


def smoothed(history: dict[Genome, float], genomes: list[Genome], space: SearchSpace, seed: int,
             worst: float) -> np.ndarray:
    """The forest's predicted log fitness of ``genomes``: each an average over setups near it, so
    less at the mercy of its own seeds' luck than its measured fitness."""
    return _per_tree(history, genomes, space, seed, worst)[0].mean(0)


def preselect(history: dict[Genome, float], pool: list[Genome], n: int, space: SearchSpace,
              seed: int, worst: float) -> list[int]:
    """Indices (into ``pool``) of the ``n`` candidates to train: the highest expected improvement
    under a forest fitted to ``history`` (genome → fitness of everything trained so far), each
    genome at most once, setups already trained last; ties keep ``pool``'s order."""
    first: dict[Genome, int] = {}
    for i, g in enumerate(pool):
        first.setdefault(g, i)
    fresh = [i for g, i in first.items() if g not in history]
    seen = [i for g, i in first.items() if g in history]
    if len(fresh) <= n or len(history) < 2:
        return (fresh + seen)[:n]
    per_tree, y = _per_tree(history, [pool[i] for i in fresh], space, seed, worst)
    ei = expected_improvement(per_tree.mean(0), per_tree.std(0), float(y.min()))
    ranked = sorted(range(len(fresh)), key=lambda j: -ei[j])   # stable: ties keep breeding order
    return [fresh[j] for j in ranked[:n]]


class Surrogate:
    """``surrogate = k`` plugged into the engine (``ga.hooks``): as its ``Breeder``, the λ of k·λ
    bred offspring the forest expects to improve most (``preselect``); as its ``Ranker``, the
    finished hall of fame by the forest's smoothed prediction once ``config.RANK_MIN`` setups are
    trained (below, the forest is too coarse: measured), so a setup whose seeds were lucky wins less
    often. Deterministic: the forest's seed is the search's, its rows everything trained."""

    def __init__(self, config):
        self.factor = config.surrogate

    def choose(self, search, bred: list) -> list:
        c = search.config
        new = [ind for ind in bred if not ind.fitness.valid]   # clones of parents add nothing
        picks = preselect(history(search.cache, c.objectives), [c.space.decode(ind) for ind in new],
                          c.offspring, c.space, int(search.rng.integers(2**31)), WORST)
        return [new[i] for i in picks]

    def rank(self, search, members: list) -> tuple[list, bool]:
        c = search.config
        if not ranks_by_model(c, search.cache):
            return members, False
        predicted = smoothed(history(search.cache, c.objectives), [c.space.decode(ind) for ind in members],
                             c.space, c.seed % 2**31, WORST)
        return [members[i] for i in sorted(range(len(members)), key=lambda i: predicted[i])], True
