"""Evaluations: a genome trained from a seed, run in populations, in parallel, in task order.

A task is ``(genome, seed key)``; its seed is ``seeding.child(root(run_seed), *key)``, so it does
not depend on which worker, chunk or moment runs it. Tasks of one architecture (widths and
activation) are stacked into populations for the trainer; populations are cut at a fixed size and
run through joblib on any backend (loky processes, threads, a Dask cluster). Workers receive plain
values — genome dicts, seed keys, the dataset's ``DataSpec``, the settings — through the top-level
function ``_run_population`` and return plain dicts; results come back in task order.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from evoinit import checks, seeding
from evoinit import data as _data
from evoinit.errors import UsageError
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome

# how tasks become populations lives in schedule.py; re-exported, as before
from evoinit.ga.schedule import (
    plan,
)
from evoinit.nn.network import initial_start, layer_sizes, train_population
from evoinit.nn.single import predict, score
from evoinit.nn.stack import n_params
from evoinit.nn.training import TrainResult, TrainSettings

#: Fitness of a diverged candidate: the worst, but finite so NSGA-II's crowding distance is defined.
WORST = 1e12

#: Most seeds ``train`` takes: they are trained together, as one population.
MAX_SEEDS = 10_000


def task_seed(run_seed: int, key: Sequence[int]) -> np.random.SeedSequence:
    return seeding.child(seeding.root(run_seed), *key)


def start_and_order(sizes, init, seq: np.random.SeedSequence, *, scale: float = 1.0,
                    params: dict | None = None) -> tuple:
    """One network's starting weights (scheme ``init`` ×``scale``) and its minibatch-order
    generator, from the two independent streams of its seed sequence ``seq`` (``seeding.WEIGHTS``
    and ``seeding.DATA_ORDER``), so experiments can share one and not the other."""
    start = initial_start(sizes, init, seeding.weight_rng(seq), scale=scale, params=params)
    return start, seeding.order_rng(seq)


def train_genomes(genomes: Sequence[Genome], keys: Sequence[tuple], dataset, settings: TrainSettings,
                  run_seed: int) -> list[TrainResult]:
    """Train same-architecture genomes, each from its own seed key, as one population."""
    sizes = layer_sizes(dataset.n_features, genomes[0].hidden, dataset.n_outputs)
    starts, orders, lrs = [], [], []
    for genome, key in zip(genomes, keys):
        start, order = start_and_order(sizes, genome.init, task_seed(run_seed, key), scale=genome.scale)
        starts.append(start)
        orders.append(order)
        lrs.append(genome.learning_rate or settings.learning_rate)
    return train_population(starts, orders, dataset, activation=genomes[0].activation,
                            settings=settings, learning_rates=lrs)


def status(genome: Genome, result: TrainResult, dataset) -> str:
    """The status: "diverged"; "degenerate" when the trained network predicts the same thing for every
    validation row (one class for all, or outputs constant to 1e-6 of the standardised targets:
    a zero start, dead units, saturation); else "ok". A degenerate network is a result like any
    other — scored by its loss, kept in the statistics — the status says why it scores badly."""
    if result.diverged:
        return "diverged"
    X = dataset.X_val if len(dataset.X_val) else dataset.X_train
    with np.errstate(all="ignore"):
        out = predict(result.weights, result.biases, X, activation=genome.activation)
    if dataset.task == "classification":
        constant = len(out) > 1 and bool((out.argmax(axis=1) == out[0].argmax()).all())
    else:
        constant = len(out) > 1 and float(np.ptp(out, axis=0).max()) <= 1e-6
    return "degenerate" if constant else "ok"


def to_evaluation(genome: Genome, key: tuple, result: TrainResult, n_weights: int, dataset,
                  seconds: float = 0.0, test: bool = False) -> Evaluation:
    """The record of one network trained on ``dataset``; also scored on its test split if ``test``."""
    test_loss = test_metric = None
    if test and not result.diverged:
        test_loss, test_metric = score(result.weights, result.biases, dataset.X_test, dataset.y_test,
                                       activation=genome.activation, task=dataset.task)
    return Evaluation(genome, tuple(key), status(genome, result, dataset), result.metric,
                      tuple(map(float, result.train_loss)), tuple(map(float, result.val_loss)),
                      tuple(map(float, result.val_metric)), result.diverged_epoch, n_weights,
                      test_loss, test_metric, seconds, best_epoch=result.best_epoch)


def dataset_of(spec) -> "_data.Dataset":
    """A loaded dataset from a ``Dataset`` (as is), a ``DataSpec`` or its JSON."""
    if isinstance(spec, _data.Dataset):
        return spec
    if isinstance(spec, dict):
        spec = _data.DataSpec.from_json(spec)
    return _data.load(spec)


def _run_population(items: list, spec, settings: dict, run_seed: int, test: bool = False) -> list[dict]:
    """Worker entry point: plain values in, plain values out (one dict per item, in order).

    ``spec`` is the dataset's ``DataSpec`` as JSON (workers rebuild it, cached per process) or,
    for data that exists only in memory, the ``Dataset`` itself.
    """
    dataset = dataset_of(spec)
    genomes = [Genome.from_json(g) for g, _ in items]
    keys = [tuple(k) for _, k in items]
    t0 = time.perf_counter()
    results = train_genomes(genomes, keys, dataset, TrainSettings.from_json(settings), run_seed)
    seconds = (time.perf_counter() - t0) / len(items)
    weights = n_params(layer_sizes(dataset.n_features, genomes[0].hidden, dataset.n_outputs))
    return [to_evaluation(g, k, r, weights, dataset, test=test).to_json() | {"seconds": seconds}
            for g, k, r in zip(genomes, keys, results)]


def run_tasks(tasks: Sequence[tuple[Genome, tuple]], spec, settings: TrainSettings, run_seed: int, *,
              parallel=None, progress: Callable[[int, int], None] | None = None,
              test: bool = False, split: bool | None = None) -> list[Evaluation]:
    """Evaluate every ``(genome, seed key)`` task; results in task order.

    ``spec`` is the dataset's ``DataSpec`` (or an in-memory ``Dataset``); ``test`` also scores
    each trained network on the test split (only for the final scoring). ``parallel`` is a
    ``joblib.Parallel`` (default: run here,
    in this process; one made with ``return_as="generator"`` reports progress as populations
    finish; one with an ``n_workers`` attribute, as ``backends.Workers`` has, gets its populations
    split when they are too few for its workers: see ``plan``). ``split`` forces (True) or forbids
    (False) that. ``progress(done, total)`` is called after each population.
    """
    from joblib import Parallel

    tasks = [(g, tuple(k)) for g, k in tasks]
    workers = getattr(parallel, "n_workers", 1) if parallel is not None else 1
    schedule, jobs = population_jobs(tasks, spec, settings, run_seed, workers=workers, split=split, test=test)
    parallel = parallel or Parallel(n_jobs=1)
    done_tasks, total = 0, len(tasks)
    by_task: dict[tuple, Evaluation] = {}
    for idx, out in zip(schedule, parallel(jobs)):
        by_task |= results(tasks, idx, out)
        done_tasks += len(idx)
        if progress:
            progress(done_tasks, total)
    return [by_task[t] for t in tasks]


def population_jobs(tasks: list, spec, settings: TrainSettings, run_seed: int, *, workers: int = 1,
                    split: bool | None = None, test: bool = False) -> tuple[list[list[int]], list]:
    """(``plan``'s schedule, one joblib ``delayed`` job per part of it) for ``tasks``; each job
    returns the plain dicts ``results`` turns back into evaluations. The order of execution
    does not change any result."""
    from joblib import delayed

    schedule = plan(tasks, workers, split)
    payload = spec if isinstance(spec, _data.Dataset) else spec.to_json()
    jobs = [delayed(_run_population)([(tasks[i][0].to_json(), list(tasks[i][1])) for i in idx],
                                     payload, settings.to_json(), run_seed, test) for idx in schedule]
    return schedule, jobs


def results(tasks: list, idx: list[int], out: list[dict]) -> dict[tuple, Evaluation]:
    """A finished job's evaluations by task, from what the worker sent back."""
    return {tasks[i]: Evaluation.from_json(d, d["seconds"]) for i, d in zip(idx, out)}


# -- the search's fitness ---------------------------------------------------------------------------


def objective_values(genome: Genome, evals, objectives) -> tuple:
    """Fitness of a genome from its repeats' evaluations (all WORST if any repeat diverged or was
    pruned: ranked below every candidate trained to the end)."""
    if any(e.diverged or e.pruned for e in evals):
        return (WORST,) * len(objectives)
    losses = [e.final_val_loss for e in evals]
    values = {"val_loss": statistics.fmean(losses),
              "val_error": statistics.fmean(e.final_val_error for e in evals),
              "n_params": float(evals[0].n_params),
              "spread": statistics.pstdev(losses) if len(losses) > 1 else 0.0}
    return tuple(float(min(values[o], WORST)) if math.isfinite(values[o]) else WORST for o in objectives)


def fitness(genomes: Sequence[Genome], keys: Sequence[tuple], config, *, data=None, parallel=None,
            test: bool = False) -> list[tuple[tuple, list[Evaluation]]]:
    """Score genomes with a search's own fitness on seed keys the caller names.

    ``config`` is the search's ``SearchConfig`` (its dataset, training settings, run seed and
    objectives are used; ``data`` overrides its dataset with in-memory data). Every genome is
    trained from every key in ``keys`` — as the search trains a candidate's repeats — so two
    genomes scored on the same keys are paired by seed. A key's first element is its namespace
    (``seeding``): pick one the search does not use (``seeding.FRESH``) to score a setup on seeds
    the search never saw. ``test`` also scores every network on the test split. Returns, per
    genome, (objective values, its evaluations in key order)."""
    keys = [tuple(k) for k in keys]
    tasks = [(g, k) for g in genomes for k in keys]
    spec = data if data is not None else config.dataset
    evals = run_tasks(tasks, spec, config.train, config.seed, parallel=parallel, test=test)
    n = len(keys)
    return [(objective_values(g, evals[i * n:(i + 1) * n], config.objectives), evals[i * n:(i + 1) * n])
            for i, g in enumerate(genomes)]


# -- one setup over N seeds (evoinit train) --------------------------------------------------------


@dataclass(frozen=True)
class TrainOutcome:
    """``evoinit train``: one genome trained from ``len(evaluations)`` seeds."""

    genome: Genome
    dataset: dict                   # the dataset's summary
    settings: TrainSettings
    seed: int
    evaluations: tuple
    results: tuple = field(repr=False, compare=False)   # TrainResult, with final weights

    def summary(self) -> dict:
        """Spread over the seeds of the final validation loss and error — and, when the networks
        were scored on the test split, of the test loss and error with the rows they used."""
        ok = [e for e in self.evaluations if not e.diverged]
        losses = np.array([e.final_val_loss for e in ok])
        errors = np.array([e.final_val_error for e in ok])
        stat = lambda a: ({"mean": float(a.mean()), "std": float(a.std()), "best": float(a.min()),  # noqa: E731
                           "worst": float(a.max())} if len(a) else None)
        out = {"genome": str(self.genome), "seeds": len(self.evaluations),
               "diverged": len(self.evaluations) - len(ok),
               "degenerate": sum(e.status == "degenerate" for e in ok), "val_loss": stat(losses),
               "val_error": stat(errors),
               "metric": self.evaluations[0].metric if self.evaluations else None}
        if self.settings.patience:   # early stopping: the epochs the networks are kept at
            out["best_epoch"] = stat(np.array([e.best_epoch for e in ok], float))
        if any(e.test_loss is not None for e in ok):
            out |= {"test_loss": stat(np.array([e.test_loss for e in ok])),
                    "test_error": stat(np.array([e.test_error for e in ok])),
                    "test_rows": _data.test_rows(self.dataset)}
        return out

    def to_json(self) -> dict:
        """The outcome as JSON: genome, dataset, settings, seed, summary and every evaluation."""
        return {"schema": 1, "genome": self.genome.to_json(), "dataset": self.dataset,
                "settings": self.settings.to_json(), "seed": self.seed, "summary": self.summary(),
                "evaluations": [e.to_json() for e in self.evaluations]}


def train(genome: Genome | str, dataset="digits", *, seeds: int = 10, seed: int = 0,
          settings: TrainSettings = TrainSettings(), test: bool = False) -> TrainOutcome:
    """Train one setup from ``seeds`` different random starts (one population, one process).

    ``genome`` is a ``Genome`` or its string form (``"64-32 tanh glorot_uniform ×1"``);
    ``dataset`` a name, a path, a ``DataSpec`` or a loaded ``Dataset``. Seeds are
    ``child(root(seed), TRAIN, i)`` for i < seeds, so the same call gives the same result.
    ``test`` also scores every network on the test split (the dataset's own test rows where it
    has them; the summary says which). A dataset loaded with ``val_size`` 0 (every training row
    trained on; only one with test rows of its own) has its learning curves and "validation"
    scores drawn on the test rows: nothing is chosen on them, so early stopping is refused.
    """
    if isinstance(genome, str):
        genome = Genome.parse(genome)
    checks.instance("genome", genome, Genome, "a Genome or its string form, e.g. '64-32 tanh glorot_uniform ×1'")
    seeds = checks.integer("seeds", seeds, 1, MAX_SEEDS, why=" (all seeds train at once, as one population in memory)")
    seed = checks.integer("seed", seed, 0, 2**63 - 1)
    checks.instance("settings", settings, TrainSettings, "a TrainSettings, e.g. TrainSettings(epochs=5)")
    ds = dataset if isinstance(dataset, _data.Dataset) else _data.load(dataset)
    if not len(ds.y_val):   # val_size 0: every training row trained on
        if settings.patience:
            raise UsageError("early stopping watches the validation rows, and with val_size 0 there are none")
        ds = _data.curves_on_test(ds)
    keys = [(seeding.TRAIN, i) for i in range(seeds)]
    t0 = time.perf_counter()
    results = train_genomes([genome] * seeds, keys, ds, settings, seed)
    seconds = (time.perf_counter() - t0) / seeds
    weights = n_params(layer_sizes(ds.n_features, genome.hidden, ds.n_outputs))
    evaluations = tuple(to_evaluation(genome, k, r, weights, ds, seconds, test=test) for k, r in zip(keys, results))
    return TrainOutcome(genome, ds.summary(), settings, seed, evaluations, tuple(results))


def seed_keys(config, n: int, genome) -> list[tuple]:
    """The seed keys of evaluation number ``n`` of ``genome`` under the search's seed policy (one
    per repeat): its own start (distinct), the same starts for every setup (shared), or the
    starts of its seed gene (inherited)."""
    if config.seed_policy == "distinct":
        return [(seeding.DISTINCT, n, r) for r in range(config.repeats)]
    if config.seed_policy == "shared":
        return [(seeding.SHARED, r) for r in range(config.repeats)]
    return [(seeding.INHERITED, genome.seed, r) for r in range(config.repeats)]
