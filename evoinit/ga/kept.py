"""The networks a search keeps: for each hall-of-fame entry, the trained network of its best
repeat, rebuilt from that repeat's seed key.

Which network. An entry's repeats are networks of one setup trained from different seed keys;
the one kept is the repeat with the lowest validation loss at its kept epoch (the last epoch, or
with early stopping its best one — the network early stopping restores); ties go to the first
repeat. The test split plays no part in the choice.

How. Training is a pure function of (genome, seed key, dataset, settings) (DESIGN.md contract 2),
so the kept network is that repeat trained again, alone, with ``evaluate.train_genomes``: the
bits the search's worker had. It is scored on the validation and test splits as the search's
records are. ``predict`` maps raw inputs through the dataset's scaling, so the network can be used
outside evoinit; the run folder stores it as plain arrays (``runfolder.networks``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from evoinit.ga.evaluate import dataset_of, to_evaluation, train_genomes
from evoinit.ga.genome import Genome
from evoinit.nn.network import layer_sizes
from evoinit.nn.single import predict as _forward
from evoinit.nn.stack import n_params

#: How the kept network of an entry is chosen, as the run folder states it.
RULE = "the repeat with the lowest validation loss at its kept epoch (ties: the first)"


@dataclass(frozen=True)
class Network:
    """One trained network of a search. ``weights[l]`` is ``(fan_in, fan_out)`` (Keras
    orientation), ``biases[l]`` is ``(fan_out,)``, both in the training dtype; ``x_mean``/
    ``x_scale`` ``(n_in,)`` standardise raw inputs, ``y_mean``/``y_scale`` ``(n_out,)`` map a
    regression's outputs back to the targets' units (None for classification). ``key`` is the
    seed key that rebuilds it under ``run_seed``."""

    rank: int
    genome: Genome
    key: tuple
    run_seed: int
    task: str
    n_in: int
    n_out: int
    val_loss: float
    val_error: float
    test_loss: float | None
    test_error: float | None
    best_epoch: int | None
    class_names: tuple = ()
    weights: tuple = field(default=(), repr=False, compare=False)
    biases: tuple = field(default=(), repr=False, compare=False)
    x_mean: np.ndarray | None = field(default=None, repr=False, compare=False)
    x_scale: np.ndarray | None = field(default=None, repr=False, compare=False)
    y_mean: np.ndarray | None = field(default=None, repr=False, compare=False)
    y_scale: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def activation(self) -> str:
        return self.genome.activation

    @property
    def sizes(self) -> tuple:
        return layer_sizes(self.n_in, self.genome.hidden, self.n_out)

    def output(self, X_scaled) -> np.ndarray:
        """The output layer (float64) for inputs already standardised as the search's dataset."""
        return _forward(self.weights, self.biases, X_scaled, activation=self.activation)

    def predict(self, X) -> np.ndarray:
        """The output layer for raw inputs ``(n, n_in)``: logits (classification), or values in
        the targets' units (regression)."""
        X = (np.asarray(X, np.float64) - self.x_mean) / self.x_scale
        out = self.output(X)
        return out if self.task == "classification" else out * self.y_scale + self.y_mean


def best_repeat(evaluations) -> int:
    """Index of the repeat kept: the lowest ``final_val_loss`` (the first of equals)."""
    losses = [e.final_val_loss for e in evaluations]
    return min(range(len(losses)), key=lambda i: (losses[i] if math.isfinite(losses[i]) else math.inf, i))


def rebuild(genome: Genome, key: tuple, dataset, settings, run_seed: int, rank: int = 1, *,
            test: bool = True) -> Network:
    """The network ``genome`` trained from seed key ``key`` (``dataset``: a ``Dataset``), scored
    on the validation split and, if ``test`` and it has rows, the test split."""
    result = train_genomes([genome], [tuple(key)], dataset, settings, run_seed)[0]
    sizes = layer_sizes(dataset.n_features, genome.hidden, dataset.n_outputs)
    ev = to_evaluation(genome, key, result, n_params(sizes), dataset, test=test and len(dataset.y_test) > 0)
    regression = dataset.task != "classification"
    return Network(rank, genome, tuple(key), run_seed, dataset.task, dataset.n_features, dataset.n_outputs,
                   ev.final_val_loss, ev.final_val_error, ev.test_loss, ev.test_error, result.best_epoch,
                   tuple(dataset.class_names) if not regression else (),
                   tuple(result.weights), tuple(np.ravel(b) for b in result.biases),
                   np.asarray(dataset.x_mean, np.float64), np.asarray(dataset.x_scale, np.float64),
                   np.asarray(dataset.y_mean, np.float64) if regression else None,
                   np.asarray(dataset.y_scale, np.float64) if regression else None)


def keep(members: list[tuple[Genome, tuple, tuple]], data, settings, run_seed: int, *,
         test: bool = True) -> tuple[Network, ...]:
    """The kept network of each hall-of-fame member, best first: ``members`` are (genome, its
    seed keys, its evaluations in key order); a member without evaluations keeps none. ``test``:
    score them on the test split too (a search that skips its test scores skips these)."""
    dataset = dataset_of(data)
    out = []
    for rank, (genome, keys, evals) in enumerate(members, 1):
        if not keys or not evals:
            continue
        key = keys[best_repeat(evals)]
        out.append(rebuild(genome, key, dataset, settings, run_seed, rank, test=test))
    return tuple(out)


def best_network(networks) -> Network | None:
    """The network with the lowest validation loss (chosen by validation, never by test)."""
    ok = [n for n in networks if math.isfinite(n.val_loss)]
    return min(ok, key=lambda n: (n.val_loss, n.rank), default=None)
