"""Does the search pay off? evoinit's GA against random search and Optuna's TPE, at equal budgets.

Usage:
    python scripts/bench_search.py                       # the full run (README, "Does the search pay off?")
    python scripts/bench_search.py --quick --out /tmp/q  # a smoke run in seconds (the test runs it)
    python scripts/bench_search.py --tasks spirals,digits_deep --seeds 6   # a subset

For every task (the table ``TASKS`` below) and every run seed, each contender searches the same
space with the same trainer, epochs and repeats: the GA first (evoinit's defaults for everything
but the budget), then every peer with exactly the number of trainings the GA spent
(``SearchResult.trainings``). Each contender's chosen setup — and the canonical start for its
activation at the same widths — is then retrained from ``--fresh`` seeds that no search used
(``seeding.FRESH``) and scored on the test split. One (task, run seed) is one job; jobs run in
``--n-jobs`` processes, every search inside a job in one process, so CPU seconds are per contender.

Writes ``bench_search.json`` (every number), ``bench_search.png`` (anytime curves: best validation
loss against trainings spent, median and quartiles over run seeds) and ``bench_search.md`` (the
table) into ``--out``. Optuna is imported here only (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_search_stats as stats  # noqa: E402

from evoinit import api as S  # noqa: E402
from evoinit import seeding  # noqa: E402
from evoinit.data.spec import DataSpec
from evoinit.ga.baselines import canonical, random_search  # noqa: E402
from evoinit.ga.config import SearchConfig  # noqa: E402
from evoinit.ga.evaluate import dataset_of, fitness, objective_values, train_genomes
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome, SearchSpace  # noqa: E402
from evoinit.nn.diagnostics import disagreement, mean_off_diagonal  # noqa: E402
from evoinit.nn.network import predict
from evoinit.nn.training import TrainSettings  # noqa: E402

SATURATING = ("tanh", "sigmoid")


@dataclass(frozen=True)
class Task:
    """One benchmark task: the data, the epochs, the space searched, the GA's budget (population ×
    (generations + 1) × repeats trainings at most) and whether the start should matter there."""

    name: str
    dataset: str
    epochs: int
    space: SearchSpace
    matters: bool
    population: int = 12
    generations: int = 8
    repeats: int = 2

    def config(self, seed: int, **ga) -> SearchConfig:
        base = dict(dataset=DataSpec(self.dataset), population=self.population,
                    generations=self.generations, repeats=self.repeats, seed=seed, space=self.space,
                    train=TrainSettings(epochs=self.epochs), test=False, baselines=False)
        return SearchConfig(**base | ga)


#: The tasks, in one place. ``matters``: the start should matter (small saturating nets, deep narrow
#: nets, short training, a regression) or should not (digits at 30 epochs, breast_cancer).
TASKS = {t.name: t for t in (
    Task("spirals", "spirals", 20, SearchSpace(layers=(1, 3), widths=(4, 32), activations=SATURATING), True),
    Task("circles", "circles", 10, SearchSpace(layers=(1, 2), widths=(2, 16), activations=SATURATING), True),
    Task("digits_deep", "digits", 15, SearchSpace(layers=(4, 8), widths=(8, 32), activations=SATURATING), True),
    Task("digits_5_epochs", "digits", 5, SearchSpace(widths=(4, 128)), True),
    Task("friedman1", "friedman1", 20, SearchSpace(widths=(4, 128)), True),
    Task("digits_30_epochs", "digits", 30, SearchSpace(widths=(4, 128)), False),
    Task("breast_cancer", "breast_cancer", 20, SearchSpace(widths=(4, 128)), False),
)}

#: The quick mode: every task and contender, tiny budgets (the test runs it end to end).
QUICK = dict(population=4, generations=1, repeats=1, epochs=2)


# -- contenders: each returns what it chose, its fitness, its trainings and its anytime curve --------


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


def _pruned(t: Task, eta: int = 3) -> dict:
    """ga_prune's settings: η·μ offspring raced per generation through the rungs (E/η², E/η),
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
}
#: The share of the plain GA's CPU seconds each pruned contender gets.
PRUNED_CPU = {"ga_prune": 1.0, "ga_prune_half": 0.5, "ga_prune_eta2": 1.0}
DEFAULT_CONTENDERS = ("ga", "random", "tpe")


# -- one job: a task and a run seed, every contender ---------------------------------------------------


def final_scores(genome: Genome, cfg: SearchConfig, fresh: int) -> dict:
    """The chosen setup and its canonical start, retrained from ``fresh`` FRESH seeds, on test."""
    keys = [(seeding.FRESH, i) for i in range(fresh)]
    base = canonical(genome)
    (_, ours), (_, theirs) = fitness([genome, base], keys, cfg, test=True)
    error = lambda evals: [e.test_error if e.test_error is not None else math.nan for e in evals]  # noqa: E731
    return {"keys": keys, "test_error": error(ours), "val_loss": [e.final_val_loss for e in ours],
            "canonical": {"genome": base.to_json(), "text": str(base), "test_error": error(theirs)}}


def run_job(task: Task, seed: int, contenders: list[str], fresh: int, quick: bool) -> dict:
    from threadpoolctl import threadpool_limits

    t = replace(task, **QUICK) if quick else task
    cpu0 = time.process_time()
    out, budget = {"task": task.name, "seed": seed, "contenders": {}}, None
    with threadpool_limits(1):
        for name in contenders:
            run, settings = CONTENDERS[name]
            cfg = t.config(seed, **settings(t))
            cpu, wall = time.process_time(), time.perf_counter()
            found = (run(cfg, budget, PRUNED_CPU[name] * out["contenders"]["ga"]["cpu_seconds"])
                     if name in PRUNED_CPU else run(cfg, budget))
            found["cpu_seconds"] = time.process_time() - cpu - found.get("spread_cpu_seconds", 0)
            found["wall_seconds"] = time.perf_counter() - wall
            if budget is None:
                budget = found["trainings"]
            chosen = Genome.from_json(found["chosen"])
            found["text"] = str(chosen)
            found["final"] = final_scores(chosen, cfg, fresh)
            if not quick:
                found["seeds"] = len(found["seeds"])  # the count; the keys only in the quick mode
            out["contenders"][name] = found
    out["cpu_seconds"] = time.process_time() - cpu0   # the searches and their final scores
    print(f"{task.name} seed {seed}: {out['cpu_seconds']:.0f} CPU s", file=sys.stderr, flush=True)
    return out


def _meta(a, tasks, contenders, seeds, fresh) -> dict:
    return {"command": " ".join(["python", "scripts/bench_search.py", *a.argv]), "quick": a.quick,
            "seeds": seeds, "fresh": fresh, "contenders": contenders, "n_jobs": a.n_jobs,
            "tasks": {t.name: {"dataset": t.dataset, "epochs": t.epochs, "space": t.space.to_json(),
                               "matters": t.matters, "population": t.population,
                               "generations": t.generations, "repeats": t.repeats}
                      for t in (replace(t, **QUICK) if a.quick else t for t in tasks)}}


def render(out: Path) -> str:
    """bench_search.{json,png,md} from the jobs finished so far (``jobs.jsonl``), every task
    with the run seeds that all of its contenders finished."""
    meta = json.loads((out / "meta.json").read_text())
    runs = [json.loads(x) for x in (out / "jobs.jsonl").read_text().splitlines() if x.strip()]
    runs.sort(key=lambda r: (list(meta["tasks"]).index(r["task"]), r["seed"]))
    meta["tasks"] = {t: v for t, v in meta["tasks"].items() if any(r["task"] == t for r in runs)}
    meta["seeds_done"] = {t: sum(r["task"] == t for r in runs) for t in meta["tasks"]}
    meta["cpu_seconds"] = sum(r["cpu_seconds"] for r in runs)
    summary = stats.summarize(runs, meta)
    doc = {"meta": meta, "summary": summary,
           "targets": {n: stats.targets(summary, n) for n in meta["contenders"] if n.startswith("ga")},
           "runs": runs}
    (out / "bench_search.json").write_text(json.dumps(doc, indent=1, default=list))
    stats.figure(runs, meta, out / "bench_search.png")
    table = stats.markdown(summary, meta)
    (out / "bench_search.md").write_text(table)
    return table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="benchout/search", help="folder for the JSON, PNG and Markdown")
    p.add_argument("--quick", action="store_true", help="tiny budgets, 2 run seeds, 3 fresh seeds")
    p.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names")
    p.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS),
                   help=f"comma-separated, the GA first; among {', '.join(CONTENDERS)}")
    p.add_argument("--seeds", type=int, default=10, help="run seeds per task and contender")
    p.add_argument("--fresh", type=int, default=10, help="fresh seeds for each final score")
    p.add_argument("--n-jobs", type=int, default=2, help="worker processes (one job per task × seed)")
    p.add_argument("--continue", dest="resume", action="store_true",
                   help="keep the jobs already in OUT/jobs.jsonl, run the others")
    p.add_argument("--render", action="store_true", help="only write the outputs from OUT/jobs.jsonl")
    a = p.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    out = Path(a.out)
    if a.render:
        print(render(out))
        return 0
    tasks = [TASKS[n] for n in a.tasks.split(",")]
    contenders = a.contenders.split(",")
    if contenders[0] != "ga" or not set(contenders) <= set(CONTENDERS):
        p.error(f"--contenders must start with ga and be among {', '.join(CONTENDERS)}")
    seeds, fresh = (2, 3) if a.quick else (a.seeds, a.fresh)
    # by reference to this file as a module (not ``__main__``), so that workers import it
    from bench_search import TASKS as tasks_by_name
    from bench_search import run_job
    from joblib import Parallel, delayed

    out.mkdir(parents=True, exist_ok=True)
    log = out / "jobs.jsonl"
    done = set()
    if a.resume and log.exists():
        done = {(r["task"], r["seed"]) for r in map(json.loads, log.read_text().splitlines()) if r}
    else:
        log.write_text("")
        (out / "meta.json").write_text(json.dumps(_meta(a, tasks, contenders, seeds, fresh), indent=1))
    t0 = time.perf_counter()
    # seed-major: a run stopped early still has every task, with fewer run seeds
    jobs = [delayed(run_job)(tasks_by_name[t.name], s, contenders, fresh, a.quick)
            for s in range(seeds) for t in tasks if (t.name, s) not in done]
    for result in Parallel(n_jobs=a.n_jobs, return_as="generator_unordered")(jobs):
        with log.open("a") as f:
            f.write(json.dumps(result, default=list) + "\n")
    print(render(out))
    print(f"wrote {out}/bench_search.{{json,png,md}} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
