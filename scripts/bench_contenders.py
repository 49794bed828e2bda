"""The benchmark's contenders: each search scripts/bench_search.py runs, and how it is set up.

Each run_* function takes a task's SearchConfig and the trainings it may spend, and returns
what it chose, its fitness, its trainings and its anytime curve (best fitness against trainings
spent). CONTENDERS maps a name (--contenders) to its run function and to the settings it
changes from the task's config (the plain GA's: Task.config)."""

from __future__ import annotations

import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from evoinit import api as S
from evoinit import seeding
from evoinit.ga.baselines import random_search
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluate import dataset_of, fitness, objective_values, train_genomes
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.nn.diagnostics import disagreement, mean_off_diagonal
from evoinit.nn.single import predict
from evoinit.nn.training import TrainSettings

#: One scheme per distribution family, each with the same (Glorot) variance: ``ga_rf30_fam``.
FAMILIES = ("glorot_uniform", "glorot_normal", "orthogonal")


def _curve(fitnesses: list[float], repeats: int) -> list[list]:
    """[trainings spent, best fitness so far] after each candidate (``repeats`` trainings each)."""
    best, out = math.inf, []
    for i, f in enumerate(fitnesses, 1):
        best = min(best, f)
        out.append([i * repeats, best])
    return out


def run_ga(cfg: SearchConfig, budget: int | None) -> dict:
    """evoinit's GA; the anytime curve and the seeds it used come from its evaluations log."""
    with tempfile.TemporaryDirectory() as tmp:
        result = S.search(cfg.dataset, config=cfg, n_jobs=1, out=Path(tmp) / "run")
        lines = [json.loads(x) for x in (Path(tmp) / "run" / "evaluations.jsonl").read_text().splitlines()]
        generations = (Path(tmp) / "run" / "generations.jsonl").read_text().splitlines()
    cpu = time.process_time()
    spread = population_spread(json.loads(generations[-1])["population"], cfg)
    spread_cpu = time.process_time() - cpu
    groups: dict[tuple, list] = {}   # one candidate's repeats: (DISTINCT, n, r) for r < repeats
    for line in lines:
        if line.get("stage") != "final":
            # a candidate: its genome and seed family (the shared policy's keys are everyone's)
            key = (json.dumps(line["genome"], sort_keys=True), *line["seed"][:-1])
            groups.setdefault(key, []).append(Evaluation.from_json(line))
    curve, spent, best = [], 0, math.inf
    for key, evals in groups.items():
        spent += len(evals)
        best = min(best, objective_values(evals[0].genome, evals, cfg.objectives)[0])
        curve.append([spent, best])
    assert spent == result.trainings, (spent, result.trainings)
    top = result.hall_of_fame[0]
    return {"chosen": top.genome.to_json(), "fitness": top.fitness[cfg.objectives[0]],
            "trainings": result.trainings, "anytime": curve,
            "seeds": sorted({tuple(line["seed"]) for line in lines}),
            "spread": spread, "spread_cpu_seconds": spread_cpu, "logbook": list(result.logbook)}


def population_spread(population: list[dict], cfg: SearchConfig) -> float | None:
    """The final population's spread in function space: the mean pairwise disagreement (fraction
    of test inputs with different predicted classes) of its members, each retrained from the first
    seed key the search gave it (classification only; None for a regression)."""
    dataset = dataset_of(cfg.dataset)
    if dataset.task != "classification":
        return None
    labels = []
    for member in population:
        genome = Genome.from_json(member["genome"])
        [res] = train_genomes([genome], [tuple(member["seeds"][0])], dataset, cfg.train, cfg.seed)
        if not res.diverged:
            labels.append(predict(res.weights, res.biases, dataset.X_test, activation=genome.activation).argmax(1))
    return mean_off_diagonal(disagreement(np.array(labels))) if len(labels) > 1 else None


def run_random(cfg: SearchConfig, budget: int) -> dict:
    records = random_search(cfg, budget // cfg.repeats)
    best = min(records, key=lambda c: c.fitness[0])
    return {"chosen": best.genome.to_json(), "fitness": best.fitness[0],
            "trainings": sum(len(c.evaluations) for c in records),
            "anytime": _curve([c.fitness[0] for c in records], cfg.repeats),
            "seeds": sorted({e.key for c in records for e in c.evaluations})}


def _suggest(trial, space: SearchSpace) -> Genome:
    depth = trial.suggest_int("depth", *space.layers)
    hidden = tuple(trial.suggest_int(f"width_{i}", *space.widths, log=True) for i in range(depth))
    return Genome(hidden, trial.suggest_categorical("activation", list(space.activations)),
                  trial.suggest_categorical("init", list(space.inits)),
                  trial.suggest_float("scale", *space.scales, log=True))


def run_optuna(cfg: SearchConfig, budget: int, sampler: str = "tpe", other: int = 0) -> dict:
    """Optuna's sampler over the same space, one trial = one candidate trained from ``repeats``
    seeds of its own (the same fitness as the GA's, through ``evoinit.ga.evaluate.fitness``).
    ``other = k > 0``: the same search from another sampler seed and other training seeds (the
    k-th other run), scored from the same fresh seeds — how far two runs of one search differ."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    samplers = {"tpe": lambda: optuna.samplers.TPESampler(seed=(cfg.seed + 7919 * other) % 2**32)}
    study = optuna.create_study(direction="minimize", sampler=samplers[sampler]())
    values, genomes, seeds = [], [], set()
    for n in range(budget // cfg.repeats):
        trial = study.ask()
        genome = _suggest(trial, cfg.space)
        keys = [(seeding.DISTINCT, n + other * 2**32, r) for r in range(cfg.repeats)]
        [(value, evals)] = fitness([genome], keys, cfg)
        study.tell(trial, value[0])
        values.append(value[0])
        genomes.append(genome)
        seeds.update(keys)
    best = min(range(len(values)), key=values.__getitem__)
    return {"chosen": genomes[best].to_json(), "fitness": values[best], "trainings": len(seeds),
            "anytime": _curve(values, cfg.repeats), "seeds": sorted(seeds)}


def run_ga_pruned(cfg: SearchConfig, budget: int | None, cpu: float) -> dict:
    """The GA with successive halving (issue 12) given ``cpu`` seconds, the plain GA's own CPU time
    (``time.process_time``): generations go on while the CPU spent plus half the last generation's
    stays below ``cpu``, so the two budgets match to within half a generation (both are reported).
    ``epochs``: the epochs its evaluations trained (timings.jsonl)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0, g = time.process_time(), 0
        with S.opened(cfg.dataset, config=cfg, n_jobs=1, out=Path(tmp) / "run") as run:
            result, last = run.loop(stop_after=0), time.process_time() - t0
            while not result.finished and time.process_time() - t0 + last / 2 < cpu:
                g, t = g + 1, time.process_time()
                result, last = run.loop(stop_after=g), time.process_time() - t
        lines = [json.loads(x) for x in (Path(tmp) / "run" / "evaluations.jsonl").read_text().splitlines()]
        epochs = sum(json.loads(x)["epochs"] for x in (Path(tmp) / "run" / "timings.jsonl").read_text().splitlines())
    curve, spent, best = [], 0, math.inf
    for key, evals in _candidates(lines).items():
        spent += len(evals)
        best = min(best, objective_values(evals[0].genome, evals, cfg.objectives)[0])
        curve.append([spent, best])
    top = result.hall_of_fame[0]
    return {"chosen": top.genome.to_json(), "fitness": top.fitness[cfg.objectives[0]], "trainings": result.trainings,
            "anytime": curve, "seeds": sorted({tuple(line["seed"]) for line in lines}), "generations": g,
            "epochs": epochs, "pruned": sum(line["status"] == "pruned" for line in lines), "cpu_budget": cpu}


def _candidates(lines: list) -> dict:
    """The evaluations of a search's log (final scoring left out), grouped by candidate."""
    groups: dict[tuple, list] = {}
    for line in lines:
        if line.get("stage") is None:
            groups.setdefault(tuple(line["seed"][:-1]), []).append(Evaluation.from_json(line))
    return groups


def _pruned(t, eta: int = 3) -> dict:
    """ga_prune's settings for task ``t`` (a ``bench_search.Task``): η·μ offspring raced per generation through the rungs (E/η², E/η),
    generations until the CPU budget ends (``run_ga_pruned``; at most 10× the GA's)."""
    return {"prune": "halving", "eta": eta, "offspring": eta * t.population, "generations": 10 * t.generations + 10}


#: name -> (how it runs, the search settings it changes for a task). The GA runs first and sets
#: the budget. The GA variants change the split of the budget, the repeats or the
#: tournament. ``ga_shared`` / ``ga_inherited``: the seed policies (``experiments/seed_policy.py``).
CONTENDERS = {
    "ga": (run_ga, lambda t: {}),
    "random": (run_random, lambda t: {}),
    "tpe": (run_optuna, lambda t: {}),
    # a control: TPE again from another sampler seed and other training seeds
    "tpe_other": (lambda cfg, budget: run_optuna(cfg, budget, other=1), lambda t: {}),
    # the steady-state GA with a fixed lag (issue 13): same population, offspring and generations
    # (so the same candidates and trainings); lag = offspring (the default) and 8 populations (what
    # keeps 64 workers half busy on the default search, docs/cluster.md)
    "ga_steady": (run_ga, lambda t: {"shape": "steady"}),
    "ga_steady_lag8": (run_ga, lambda t: {"shape": "steady", "lag": 8 * t.population}),
    # successive halving at the GA's CPU seconds, and at half of them (run_ga_pruned, PRUNED_CPU)
    "ga_prune": (run_ga_pruned, _pruned),
    "ga_prune_half": (run_ga_pruned, _pruned),
    "ga_prune_eta2": (run_ga_pruned, lambda t: _pruned(t, eta=2)),   # gentler: rungs E/4, E/2
    # variants tried for issue 18 item 4 (docs/bench_search.md, "What was tried")
    "ga_p8g12": (run_ga, lambda t: {"population": 8, "generations": t.generations * 3 // 2}),
    "ga_p20g4": (run_ga, lambda t: {"population": 20, "generations": t.generations // 2}),
    "ga_r1": (run_ga, lambda t: {"repeats": 1, "population": 16, "generations": t.generations * 11 // 8}),
    "ga_t2": (run_ga, lambda t: {"tournament": 2}),
    "ga_t5": (run_ga, lambda t: {"tournament": 5}),
    "ga_mut": (run_ga, lambda t: {"cxpb": 0.2, "mutpb": 0.7}),
    "ga_i15": (run_ga, lambda t: {"indpb": 0.15}),     # each gene mutated with probability 0.15 (default 0.3)
    "ga_i60": (run_ga, lambda t: {"indpb": 0.6}),
    # a random forest picks the λ offspring to train among 10·λ bred (surrogate.py) and ranks the
    # hall of fame at the end; it trains λ new setups every generation (the GA ~10% fewer:
    # clones), so one generation less
    "ga_rf": (run_ga, lambda t: {"surrogate": 10, "generations": t.generations - 1}),
    "ga_rf30": (run_ga, lambda t: {"surrogate": 30, "generations": t.generations - 1}),
    # early stopping (issue 28): each network stopped 3 epochs past its best validation loss and kept
    # there — fitness, fresh-seed scores and kept networks from that epoch; the same trainings
    "ga_es": (run_ga, lambda t: {"train": TrainSettings(epochs=t.epochs, patience=3)}),
    "ga_rf30_es": (run_ga, lambda t: {"surrogate": 30, "generations": t.generations - 1,
                                      "train": TrainSettings(epochs=t.epochs, patience=3)}),
    # the MNIST-1D fitness (experiments/mnist1d_mlp.py): each network kept at its best validation
    # error (patience 20) and the setup scored by that error, not by the last epoch's loss
    "ga_rf30_err": (run_ga, lambda t: {"surrogate": 30, "generations": t.generations - 1, "objectives": ("val_error",),
                                       "train": TrainSettings(epochs=t.epochs, patience=20, monitor="val_error")}),
    # issue 27 item 4: the start as a distribution family × a gain — the named schemes are largely
    # the same laws at other scales, so the GA searches Glorot's uniform and truncated normal and
    # the orthogonal start, the scale the gain (relative to Glorot's std; He's is √2 of it on a square
    # layer); every peer keeps the task's whole space
    "ga_rf30_fam": (run_ga, lambda t: {"surrogate": 30, "generations": t.generations - 1,
                                       "space": replace(t.space, inits=FAMILIES)}),
    # the hall of fame of 10 ranked by the forest; a pool of 60·λ (docs/bench_search.md)
    "ga_rf30_h10": (run_ga, lambda t: {"surrogate": 30, "generations": t.generations - 1, "hall_of_fame": 10}),
    "ga_rf60": (run_ga, lambda t: {"surrogate": 60, "generations": t.generations - 1}),
    # the model refitted more often: λ = 6 or 4 offspring per generation, as many generations as
    # the budget holds (24 + 14·12 or 21·8 = 192 trainings), closer to TPE's one trial at a time
    "ga_rf30_l6": (run_ga, lambda t: {"surrogate": 30, "offspring": t.population // 2,
                                      "generations": 2 * t.generations - 2}),
    "ga_rf30_l4": (run_ga, lambda t: {"surrogate": 30, "offspring": t.population // 3,
                                      "generations": 3 * t.generations - 3}),
    # 3 seeds per candidate, 1 + 4 generations (≈ 180 trainings, the GA's ≈ 195): less noise, fewer setups
    "ga_r3": (run_ga, lambda t: {"repeats": 3, "generations": t.generations // 2}),
    "ga_rf30_r3": (run_ga, lambda t: {"surrogate": 30, "repeats": 3, "generations": t.generations // 2}),
    # the seed policies (issue 18 item 5; experiments/seed_policy.py)
    "ga_shared": (run_ga, lambda t: {"seed_policy": "shared"}),
    "ga_inherited": (run_ga, lambda t: {"seed_policy": "inherited"}),
    # the default search with shared seeds (experiments/seed_policy.py: the plain GA chose better
    # setups with them at equal trainings); it spends fewer trainings at the same generations
    "ga_rf30_shared": (run_ga, lambda t: {"surrogate": 30, "generations": t.generations - 1,
                                          "seed_policy": "shared"}),
}


#: The share of the plain GA's CPU seconds each pruned contender gets.
PRUNED_CPU = {"ga_prune": 1.0, "ga_prune_half": 0.5, "ga_prune_eta2": 1.0}


DEFAULT_CONTENDERS = ("ga", "random", "tpe")
