"""Gene importance recovers effects planted in a synthetic evaluations log."""

import math
from dataclasses import replace

import numpy as np
import pytest

from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome
from evoinit.reporting.importance import feature_table, gene_importance

INITS = ("glorot_uniform", "he_normal", "lecun_normal", "orthogonal")
ACTS = ("tanh", "relu", "sigmoid")


def synthetic(fitness, n=300, seed=0, diverged=0):
    """Evaluations with genes drawn uniformly and a final validation loss ``fitness(genome, rng)``
    (noise multiplicative, as a loss's is: importance explains the log of the loss)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        depth = int(rng.integers(1, 4))
        g = Genome(tuple(int(w) for w in rng.integers(4, 129, depth)), str(rng.choice(ACTS)),
                   str(rng.choice(INITS)), float(2.0 ** rng.uniform(-4, 4)))
        loss = fitness(g, rng)
        status = "diverged" if i < diverged else "ok"
        out.append(Evaluation(g, (0, i), status, "val_error", (loss,), (loss,) if status == "ok" else (),
                              (0.1,), None, 100))
    return out


def by_gene(imp):
    return {r["gene"]: r for r in imp.ranked()}


def test_fitness_that_depends_only_on_the_scale():
    evals = synthetic(lambda g, rng: (0.1 + math.log2(g.scale) ** 2 / 16) * math.exp(rng.normal(0, 0.05)),
                      diverged=7)
    imp = gene_importance(evals, resamples=8)
    genes = by_gene(imp)
    assert imp.ranked()[0]["gene"] == "scale"
    assert genes["scale"]["importance"] > 0.5 and genes["scale"]["low"] > 0.3
    for other in ("scheme", "activation", "depth", "widths"):
        assert abs(genes[other]["importance"]) < 0.03, (other, genes[other])
    assert imp.r2 > 0.8 and imp.n == 293 and imp.excluded == 7   # diverged rows are not used
    # one additive effect: the gene's share is what the forest explains at all
    assert genes["scale"]["importance"] == pytest.approx(imp.r2, abs=0.1)


def test_fitness_that_depends_only_on_the_scheme():
    effect = dict(zip(INITS, (0.1, 0.5, 0.2, 0.9)))
    evals = synthetic(lambda g, rng: effect[g.init] * math.exp(rng.normal(0, 0.1)), seed=1)
    imp = gene_importance(evals, resamples=8)
    genes = by_gene(imp)
    assert genes["scheme"]["importance"] > 0.6 and genes["scheme"]["low"] > 0.4
    assert genes["scheme"]["importance"] == pytest.approx(imp.r2, abs=0.1)
    for other in ("scale", "activation", "depth", "widths"):
        assert abs(genes[other]["importance"]) < 0.03, (other, genes[other])
        assert genes[other]["low"] < 0.02   # the interval reaches (about) zero for a gene with no effect


def test_noise_only_gives_nothing_and_results_are_reproducible():
    evals = synthetic(lambda g, rng: 0.5 * math.exp(rng.normal(0, 0.2)), n=150, seed=2)
    a = gene_importance(evals, resamples=5)
    b = gene_importance(evals, resamples=5)
    assert a == b   # same default generator: same report
    # no gene explains anything: no mean above a few hundredths, every interval reaches below zero
    # (a forest fitted to noise can even do better with a gene shuffled: small negative means)
    assert max(a.importance) < 0.05 and all(lo < 0.01 for lo in a.low) and a.r2 < 0.1


def test_learning_rate_is_a_gene_only_when_it_varies_and_few_rows_are_refused():
    evals = synthetic(lambda g, rng: 0.1)
    _, names, _ = feature_table(evals)
    assert "learning_rate" not in names
    lr = [replace(e, genome=e.genome.with_(learning_rate=0.01)) for e in evals[:3]]
    _, names, _ = feature_table(lr)
    assert names[-1] == "learning_rate"
    with pytest.raises(ValueError, match="at least 20"):
        gene_importance(evals[:19])


def test_two_additive_effects_get_their_shares_of_the_variance():
    """log loss = √0.6·(scale effect) + √0.3·(activation effect) + √0.1·noise, each of variance 1:
    the shares are 0.6 and 0.3, and the forest explains about 0.9."""
    act = {"tanh": -1.0, "relu": 0.0, "sigmoid": 1.0}

    def loss(g, rng):
        scale = math.log2(g.scale) / (8 / math.sqrt(12))     # log2 scale is U[-4, 4]: variance 1
        return math.exp(math.sqrt(0.6) * scale + math.sqrt(0.3) * act[g.activation] * math.sqrt(1.5)
                        + math.sqrt(0.1) * rng.normal())

    imp = gene_importance(synthetic(loss, n=500, seed=4), resamples=8)
    genes = by_gene(imp)
    assert genes["scale"]["importance"] == pytest.approx(0.6, abs=0.1)
    assert genes["activation"]["importance"] == pytest.approx(0.3, abs=0.1)
    assert imp.r2 == pytest.approx(0.9, abs=0.1)
    assert all(abs(genes[g]["importance"]) < 0.03 for g in ("scheme", "depth", "widths"))
