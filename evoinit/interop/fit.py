"""What the estimators' ``fit`` works with: the rows a fit trains on (a view that batches them), the
targets' statistics, a network's start from its seed, the search run inside ``fit``, and the
wording of a refused parameter in scikit-learn's terms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evoinit import checks, seeding
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluate import start_and_order, task_seed
from evoinit.ga.genome import Genome
from evoinit.nn.network import initial_states, layer_sizes
from evoinit.nn.training import TrainSettings


@dataclass(frozen=True)
class _Rows:
    """What the trainer reads of a dataset: the rows to train on and the rows checked per epoch."""

    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    n_features: int
    n_outputs: int


def _is_float(v) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


def _target_stats(Y: np.ndarray) -> tuple:
    """(varying columns, mean, std) of the training targets ``(n, k)``; a constant column gets its
    value as mean and scale 1, and is predicted as that constant."""
    varying = np.ptp(Y, axis=0) > 0
    return varying, np.where(varying, Y.mean(axis=0), Y[0]), np.where(varying, Y.std(axis=0), 1.0)


def _start(genome: Genome, view: _Rows, settings: TrainSettings, seed: int):
    """The epoch-0 state of ``genome`` under the fit's seed: the start and data order ``evoinit
    train --seed`` gives its first seed (key ``(TRAIN, 0)``)."""
    sizes = layer_sizes(view.n_features, genome.hidden, view.n_outputs)
    start, order = start_and_order(sizes, genome.init, task_seed(seed, (seeding.TRAIN, 0)), scale=genome.scale)
    lr = genome.learning_rate or settings.learning_rate
    return initial_states([start], [order], settings=settings, learning_rates=[lr])[0]


def _search(dataset, config: SearchConfig, *, n_jobs):
    """The SearchResult of an evoinit search with ``config`` (``_EvoMLP._budget``) on ``dataset``
    (a ``Dataset`` from ``data.from_arrays``, features as given). Its trainings are unweighted."""
    from evoinit.api import search  # here: an estimator given a genome never loads DEAP

    return search(dataset, config=config, n_jobs=n_jobs or 1, out=None)


def _refused(e: checks.BadValue, label: str | None = None, *, inequality: bool = False) -> str:
    """A parameter's value refused where it was built (``checks.BadValue``), in the words the
    estimators use: scikit-learn's interval notation (``epochs must be an integer in [1, inf), got
    0``: the bound an integer broke, or a number's whole range), or with ``inequality`` the bound
    as ``>= 2`` (the keys of ``search_budget``). ``label`` names the parameter (default: the value's)."""
    label = label or e.name
    if e.kind == "choice":
        return f"{label} must be one of {', '.join(e.allowed)}, got {e.value!r}"
    if e.kind == "flag":
        return f"{label} must be True or False, got {e.value!r}"
    low, high = e.low, e.high
    if e.kind == "integer":  # as checks.integer says it: the bound broken (below: "at least"), none for a type
        low, high = (low if e.broken else None), (high if e.broken == "high" else None)
    what = "an integer" if e.kind == "integer" else "a number"
    if low is None and high is None:
        return f"{label} must be {what}, got {e.value!r}"
    if inequality:
        return f"{label} must be {what} {checks.bounds(low, high, e.low_open, e.high_open)}, got {e.value!r}"
    lo = "(-inf" if low is None else f"{'(' if e.low_open else '['}{low:g}"
    hi = "inf)" if high is None else f"{high:g}{')' if e.high_open else ']'}"
    return f"{label} must be {what} in {lo}, {hi}, got {e.value!r}"
