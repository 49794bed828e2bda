"""Genomes and the search space: validation, string form, encoding, and variation that always
yields valid genomes."""

import numpy as np
import pytest
from deap import tools
from hypothesis import given, settings
from hypothesis import strategies as st

from evoinit.errors import UsageError
from evoinit.ga.genome import Genome, SearchSpace


def test_string_form_reads_and_parses_back():
    g = Genome((64, 32), "tanh", "glorot_uniform", 1.0)
    assert str(g) == "64-32 tanh glorot_uniform ×1"
    assert Genome.parse("64-32 tanh glorot_uniform ×1.0") == g
    assert Genome.parse("128 relu kaiming_normal x2 lr=0.01 seed=7") == Genome((128,), "relu", "he_normal", 2.0, 0.01, 7)
    assert Genome.from_json(g.with_(learning_rate=0.1).to_json()) == g.with_(learning_rate=0.1)


@pytest.mark.parametrize("text", ["", "64 tanh", "64- tanh glorot_uniform", "0 tanh glorot_uniform",
                                  "64 tanhh glorot_uniform", "64 tanh glorot_unifrom", "64 tanh he_normal ×-1"])
def test_bad_genomes_are_usage_errors(text):
    with pytest.raises(UsageError):
        Genome.parse(text)


def test_space_validation_and_membership():
    space = SearchSpace(layers=(1, 2), widths=(8, 16), activations=("tanh",), inits=("he_normal",))
    with pytest.raises(UsageError, match="outside the search space"):
        space.check(Genome((64,), "tanh", "he_normal"))
    with pytest.raises(UsageError):
        SearchSpace(layers=(3, 2))
    with pytest.raises(UsageError):
        SearchSpace(inits=("nope",))


SPACES = [SearchSpace(), SearchSpace(layers=(2, 2), widths=(5, 5)),
          SearchSpace(learning_rates=(1e-3, 0.3), seed_gene=True, activations=("relu", "tanh"),
                      inits=("orthogonal",), scales=(0.5, 2.0))]


@settings(max_examples=150, deadline=None)
@given(space_i=st.integers(0, len(SPACES) - 1), seed=st.integers(0, 2**32 - 1),
       indpb=st.floats(0.05, 1.0))
def test_mutation_and_crossover_always_give_valid_genomes(space_i, seed, indpb):
    space = SPACES[space_i]
    rng = np.random.default_rng(seed)
    a, b = space.encode(space.sample(rng), rng), space.encode(space.sample(rng), rng)
    for _ in range(5):
        a = space.mutate(a, rng, indpb)
        assert len(a) == space.n_genes
        space.check(space.decode(a))
    import random

    from evoinit.ga.individuals import python_random as _python_random

    with _python_random(random.Random(seed).getstate()):  # as the search runs DEAP's crossover
        c, d = tools.cxUniform(list(a), list(b), indpb=0.5)
    for genes in (c, d):
        genome = space.check(space.decode(genes))
        assert (genome.seed is not None) == space.seed_gene
        assert (genome.learning_rate is not None) == (space.learning_rates is not None)


def test_encode_decode_round_trip_and_sampling_spread():
    space = SearchSpace(learning_rates=(1e-3, 0.1), seed_gene=True)
    rng = np.random.default_rng(0)
    genomes = [space.sample(rng) for _ in range(400)]
    for g in genomes:
        assert space.decode(space.encode(g)) == g
    scales = np.log2([g.scale for g in genomes])
    assert -4 <= scales.min() < -3 and 3 < scales.max() <= 4          # log-uniform over 2^-4..2^4
    assert {len(g.hidden) for g in genomes} == {1, 2, 3, 4}
    assert len({g.init for g in genomes}) == len(space.inits)


def test_mutation_moves_each_gene_by_its_type():
    space = SearchSpace()
    rng = np.random.default_rng(1)
    g = Genome((64, 64), "tanh", "glorot_uniform", 1.0)
    genes = space.encode(g)
    moved = [space.decode(space.mutate(genes, rng, indpb=1.0)) for _ in range(200)]
    assert all(abs(len(m.hidden) - 2) == 1 for m in moved)                 # depth steps ±1
    assert all(m.activation != "tanh" and m.init != "glorot_uniform" for m in moved)  # resampled
    steps = np.log2([m.scale for m in moved])
    assert 0.3 < np.std(steps) < 0.7                                        # log-normal, σ = 0.5
