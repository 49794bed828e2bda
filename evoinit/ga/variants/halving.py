"""Successive halving inside a generation: offspring race through rungs of epochs (issue 12).

A generation's candidates that need training train to the first rung (``SearchConfig.rung_epochs``,
e.g. E/η² and E/η epochs), are ranked by (mean validation loss over their repeats at that epoch,
their seed keys, their place in the generation), and only the best ⌈n/η⌉ go on — from the training
state they stopped in (``network.continue_training``), so a survivor's curves and fitness are the
bits of an uninterrupted 0 → E training — to the next rung, and so on to E. The others stop:
their evaluations are ``pruned``, with their partial curves and the rung where they stopped, and
their fitness is ``evaluate.WORST`` (ranked below every candidate trained to the end, as diverged
ones are). A candidate whose loss is not finite at a rung (a repeat diverged) stops there too.
With early stopping a network is ranked by the network it would be restored to — the validation
loss of its best epoch so far — and one that stopped before a rung keeps its best past it.

Everything that decides — the ranking, who goes on — happens here, in the search's process, from
values that do not depend on the worker that trained them; workers receive plain values and
``TrainState`` values (plain picklable data) through the top-level function ``_advance`` and
send back the new states with their evaluation records. So the pruned set is the same for any
number of processes and on Dask, and a generation re-run after a kill gives the same evaluations.

Cached evaluations are not trained again: a candidate whose every task is known keeps its fitness
(complete or pruned, as the cache holds it) and does not race; one with some known tasks races with
their curves.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import replace
from typing import Callable, Sequence

import numpy as np

from evoinit import data as _data
from evoinit.ga.evaluate import dataset_of, start_and_order, task_seed, to_evaluation
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome
from evoinit.ga.schedule import plan
from evoinit.nn.network import continue_training, initial_states, layer_sizes
from evoinit.nn.stack import n_params
from evoinit.nn.training import TrainSettings, TrainState, watched


class Halving:
    """``prune = "halving"`` plugged into the engine (``ga.hooks``) as its ``Racer``: the first
    population trains in full; every later generation's offspring race through the rungs."""

    def train(self, search, plans: list, generation: int, progress) -> tuple[list, list]:
        if generation == 0:
            return search.train(plans, progress)
        c = search.config
        return race(plans, search.cache, search.data, c.train, c.seed, rungs=c.rung_epochs, eta=c.eta,
                    parallel=search.parallel, progress=progress)


def survivors(n: int, eta: int) -> int:
    """How many of ``n`` candidates go on past a rung: ⌈n/η⌉ (at least one of any)."""
    return -(-n // eta)


def race(candidates: Sequence[tuple[Genome, tuple]], cache: dict, spec, settings: TrainSettings,
         run_seed: int, *, rungs: Sequence[int], eta: int, parallel=None,
         progress: Callable[[int, int], None] | None = None) -> tuple[list, list[Evaluation]]:
    """Evaluate a generation's candidates ``(genome, seed keys)`` with successive halving.

    Returns ``(tasks, evaluations)``: the ``(genome, key)`` tasks not in ``cache`` (in the order of
    the candidates and their keys, as ``run_tasks`` would be given them) and one evaluation each —
    complete, diverged, or ``pruned`` with ``rung`` set. ``rungs`` are the epochs where candidates
    are ranked (increasing, below ``settings.epochs``). ``progress(done, total)`` is called after
    each population of each rung."""
    plans = list(dict.fromkeys((g, tuple(tuple(k) for k in keys)) for g, keys in candidates))
    tasks = list(dict.fromkeys((g, k) for g, keys in plans for k in keys if (g, k) not in cache))
    todo = set(tasks)
    racing = [i for i, (g, keys) in enumerate(plans) if any((g, k) in todo for k in keys)]
    states: dict[tuple, TrainState | None] = dict.fromkeys(tasks)
    records: dict[tuple, Evaluation] = {}
    stopped: dict[tuple, int] = {}                     # task -> the rung it stopped at
    ends = tuple(rungs) + (settings.epochs,)
    for rung, until in enumerate(ends):
        going = [t for t in dict.fromkeys((plans[i][0], k) for i in racing for k in plans[i][1])
                 if t in todo and (states[t] is None or not states[t].diverged)]
        _advance_all(going, states, records, spec, settings, run_seed, until, parallel, progress)
        if until == settings.epochs:
            break
        loss = {i: _loss_at(plans[i], until, states, cache, settings) for i in racing}
        ranked = sorted(racing, key=lambda i: (loss[i], plans[i][1], i))
        keep = set(i for i in ranked[:survivors(len(ranked), eta)] if math.isfinite(loss[i]))
        for i in racing:
            if i not in keep:
                for k in plans[i][1]:
                    t = (plans[i][0], k)
                    if t in todo and t not in stopped and not states[t].diverged:
                        stopped[t] = rung
        racing = [i for i in racing if i in keep]
    return tasks, [_evaluation(records[t], stopped.get(t)) for t in tasks]


def _loss_at(plan: tuple, epoch: int, states: dict, cache: dict, settings: TrainSettings) -> float:
    """A candidate's mean validation loss over its repeats after ``epoch`` epochs (inf if a repeat
    has no value there: diverged, or known only to an earlier epoch)."""
    genome, keys = plan
    losses = []
    for k in keys:
        st = states.get((genome, k))
        losses.append(_value_at(st if st is not None else cache[(genome, k)], epoch, settings))
    return statistics.fmean(losses) if all(map(math.isfinite, losses)) else math.inf


def _value_at(known, epoch: int, settings: TrainSettings) -> float:
    """The validation loss of one task (a ``TrainState`` or an ``Evaluation``) after ``epoch``
    epochs. With early stopping, that of the network it would be restored to: its best epoch up
    to ``epoch`` (the first of the best ``monitor`` scores, as the trainer picks it); a network
    that stopped before ``epoch`` has its value there — its training is over."""
    curve = known.val_loss
    if known.diverged:
        return math.inf
    if not settings.patience:
        return math.inf if len(curve) < epoch else float(curve[epoch - 1])
    over = known.best_epoch is not None and len(curve) - known.best_epoch >= settings.patience
    if len(curve) < epoch and not over:
        return math.inf
    n = min(epoch, len(curve))
    best = int(np.argmin(watched(settings.monitor, curve[:n], known.val_metric[:n], known.metric)))
    return float(curve[best])


def _evaluation(record: Evaluation, rung: int | None) -> Evaluation:
    """The evaluation of a task from its last record; ``pruned`` at ``rung`` if it stopped early."""
    return record if rung is None else replace(record, status="pruned", rung=rung)


def _advance_all(going: list, states: dict, records: dict, spec, settings: TrainSettings, run_seed: int,
                 until: int, parallel, progress) -> None:
    """Train every task of ``going`` from its state (None: from its start) to epoch ``until``, in
    populations of one architecture and one epoch, on ``parallel``; ``states`` and ``records``
    (its ``Evaluation`` so far, ``seconds`` summed over the rungs) are updated in place."""
    from joblib import Parallel, delayed

    # the populations and their order as run_tasks sends them (schedule.plan: split when too few)
    schedule = plan(going, getattr(parallel, "n_workers", 1) if parallel is not None else 1)
    payload = spec if isinstance(spec, _data.Dataset) else spec.to_json()
    jobs = [delayed(_advance)([(going[i][0].to_json(), list(going[i][1])) for i in idx],
                              [states[going[i]] for i in idx], payload, settings.to_json(),
                              run_seed, until) for idx in schedule]
    done = 0
    for idx, out in zip(schedule, (parallel or Parallel(n_jobs=1))(jobs)):
        for i, (state, record) in zip(idx, out):
            t = going[i]
            if t in records:
                record = replace(record, seconds=record.seconds + records[t].seconds)
            states[t], records[t] = state, record
        done += len(idx)
        if progress:
            progress(done, len(going))


def _advance(items: list, states: list, spec, settings: dict, run_seed: int, until: int) -> list[tuple]:
    """Worker entry point: train one population (one architecture, one epoch) to ``until``.

    ``items`` are (genome JSON, seed key) pairs, ``states`` their ``TrainState`` (all None: start
    from the seeds' weights and data orders). Returns per item its new state and its
    ``Evaluation`` as if training ended there, with ``seconds`` (this call's time, shared out)."""
    dataset = dataset_of(spec)
    settings = TrainSettings.from_json(settings)
    genomes = [Genome.from_json(g) for g, _ in items]
    keys = [tuple(k) for _, k in items]
    sizes = layer_sizes(dataset.n_features, genomes[0].hidden, dataset.n_outputs)
    t0 = time.perf_counter()
    if states[0] is None:
        starts, orders = zip(*(start_and_order(sizes, g.init, task_seed(run_seed, k), scale=g.scale)
                               for g, k in zip(genomes, keys)))
        states = initial_states(starts, orders, settings=settings,
                                learning_rates=[g.learning_rate or settings.learning_rate for g in genomes])
    states = continue_training(states, dataset, activation=genomes[0].activation, settings=settings,
                               until=until)
    seconds = (time.perf_counter() - t0) / len(items)
    weights = n_params(sizes)
    return [(st, to_evaluation(g, k, st.result(), weights, dataset, seconds))
            for g, k, st in zip(genomes, keys, states)]
