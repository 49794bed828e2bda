"""The one place seeds come from.

Every random draw in evoinit comes from a ``numpy.random.Generator`` derived from the run's root
``SeedSequence`` and a key that says what the draw is for (evaluation number, repeat, stream), never
from the worker, chunk or clock that happens to do the work. ``child(root, *key)`` is a pure
function of the root's entropy and the key, so any process can rebuild any stream.

Words: a *seed* is an int that roots streams — the run's (``SearchConfig.seed``, ``train(seed=)``)
or a dataset's split (``DataSpec.seed``); a *key* is the tuple that addresses one stream under the
run's root (``Evaluation.key``, an individual's ``keys``; "seed" in the JSON lines); the *seed
gene* is ``Genome.seed``, the gene the inherited policy puts in the key.
"""

from __future__ import annotations

import numpy as np

#: Sub-streams of one evaluation's seed (DESIGN.md contract 3): the starting weights and the
#: minibatch order are independent children so experiments can share one and not the other.
WEIGHTS = 0
DATA_ORDER = 1


def root(seed: int) -> np.random.SeedSequence:
    """The run's root seed sequence."""
    return np.random.SeedSequence(int(seed))


def child(parent: np.random.SeedSequence, *key: int) -> np.random.SeedSequence:
    """A deterministic child of ``parent`` addressed by ``key`` (non-negative ints)."""
    return np.random.SeedSequence(
        parent.entropy, spawn_key=tuple(parent.spawn_key) + tuple(int(k) for k in key)
    )


def generator(seq: np.random.SeedSequence) -> np.random.Generator:
    """A PCG64 generator on ``seq``."""
    return np.random.Generator(np.random.PCG64(seq))


def weight_rng(seq: np.random.SeedSequence) -> np.random.Generator:
    """The stream that draws an evaluation's starting weights."""
    return generator(child(seq, WEIGHTS))


def order_rng(seq: np.random.SeedSequence) -> np.random.Generator:
    """The stream that draws an evaluation's minibatch order."""
    return generator(child(seq, DATA_ORDER))


# Namespaces: the first element of every key, so streams for different purposes never collide.
DISTINCT = 0    # (DISTINCT, evaluation number, repeat): every evaluation its own start
SHARED = 1      # (SHARED, repeat): every evaluation of an architecture the same start
INHERITED = 2   # (INHERITED, seed gene, repeat): the seed travels with the genome
GA = 3          # (GA,): the genetic algorithm's own draws (Python random, gene sampling)
FINAL = 4       # (FINAL, repeat): the hall of fame and baselines, rescored once on test data
TRAIN = 5       # (TRAIN, repeat): `evoinit train` of one setup over N seeds
FRESH = 6       # (FRESH, …): never used by a search — for scoring its choice on seeds it never saw
# 7 was RESELECT (the removed ``reselect`` option): not reused, so old run folders' keys keep their meaning
STEADY = 8      # (STEADY, candidate): the steady shape's draws that breed candidate n (``steady``)
#: The namespaces of a search's candidates (what its fitness is made of).
CANDIDATES = (DISTINCT, SHARED, INHERITED)
