"""Does the search pay off? evoinit's GA against random search and Optuna's TPE, at equal budgets.

Usage:
    python scripts/bench_search.py                       # the full run (README, "Does the search pay off?")
    python scripts/bench_search.py --quick --out /tmp/q  # a smoke run in seconds (the test runs it)
    python scripts/bench_search.py --tasks spirals,digits_deep --seeds 6   # a subset
    python scripts/bench_search.py --first-seed 1000 --seeds 10          # held-out run seeds 1000–1009
    python scripts/bench_search.py --budget default --seeds 5            # the default search's budget
    python scripts/bench_search.py --compare ga_rf30,tpe --from benchout/x,benchout/y   # one pooled figure

For every task (the table ``TASKS`` below) and every run seed, each contender (``--contenders``;
the table ``CONTENDERS`` in ``scripts/bench_contenders.py``) searches the same
space with the same trainer, epochs and repeats: the GA first (evoinit's defaults for everything
but the budget), then every peer with exactly the number of trainings the GA spent
(``SearchResult.trainings``). Each contender's chosen setup — and the canonical start for its
activation at the same widths — is then retrained from ``--fresh`` seeds that no search used
(``seeding.FRESH``) and scored on the test split. One (task, run seed) is one job; jobs run in
``--n-jobs`` processes, every search inside a job in one process, so CPU seconds are per contender.

Writes ``bench_search.json`` (every number), ``bench_search.png`` (anytime curves: best validation
loss against trainings spent, median and quartiles over run seeds) and ``bench_search.md`` (the
table) into ``--out``. Optuna is imported here only (``pip install -e '.[bench]'``).

**Run seeds.** ``--seeds N --first-seed F`` runs the run seeds F, …, F + N − 1 and nothing else
changes: what a contender chooses depends only on the task and the run seed. Seeds 0–9 are for
development; the figures that decide come from held-out seeds (``--first-seed 1000``), which no
tuning has seen.

**Pooled and paired** (``bench_search_stats.pair``). For contenders A and B, per (task, run seed)
the difference of their final test errors, A − B (each the mean over the fresh seeds), divided by a
constant per task: the task's mean test error over ALL the contenders in the output (not the
pair's own mean, which explodes where errors are near zero). These are pooled over the tasks where
the start matters (``Task.matters``) as the mean over tasks of each task's mean, with a 95%
interval from a stratified bootstrap that resamples run seeds within each task (10,000 resamples,
fixed seed 27); per task the raw mean difference with its t interval and W/T/L. The noise control
is the same statistic for ``tpe_other`` − ``tpe`` (TPE from another sampler seed and other training
seeds) whenever both ran. ``render`` adds these for the GA (variants) against every peer;
``--compare A,B --from DIR,DIR`` pairs two contenders across output folders, joined on (task, run
seed), and prints one 80-column table (``--out DIR``: also ``DIR/compare_A_B.json``).

**Two budgets.** ``--budget benchmark`` (the default): each task's own μ, generations and repeats
(≈ 200 trainings per search), all seven tasks. ``--budget default``: the budget of ``evoinit
search`` with no flags (μ = 32, 1 + 30 generations, 3 repeats: at most 2,976 trainings, ≈ 15×),
each task keeping its epochs and space, by default on the start-matters tasks ``BUDGET_TASKS``;
every peer still gets exactly the GA's trainings.

**Sizing the default budget**: run seeds = 0.8 × the CPU seconds available / the CPU seconds of
one run seed (every task × contender; 0.8 leaves room for a loaded machine). One run seed of
``BUDGET_TASKS`` with ga, random, tpe, tpe_other, ga_rf30 is ≈ 330 CPU s — measured per search
(``time.process_time``, one run seed, a shared 2-core machine): circles 64 s for all five (ga 8,
random 5, tpe 18, tpe_other 20, ga_rf30 12), spirals ga 22 / tpe 39, digits_5_epochs ga 18 / tpe
28, the other three contenders scaled from circles (random 0.6× the GA, ga_rf30 1.5×, tpe_other
1.1× TPE): spirals ≈ 150, digits_5_epochs ≈ 115. TPE costs twice the GA here: it trains one
candidate at a time and its sampler's work grows with the square of its ≈ 900 trials. So 2 hours
on 2 cores (14,400 CPU s) hold 0.8 × 14,400 / 330 ≈ 35 run seeds; 10 take ≈ 3,300 CPU s, under
half an hour on 2 idle cores. friedman1 (≈ 1.4× spirals at the benchmark budget, so ≈ 210 s;
an estimate, not measured) would make it ≈ 540 s per run seed, ≈ 21 run seeds in 2 hours. At the
benchmark budget one run seed of the seven tasks is ≈ 100 CPU s with four contenders
(docs/bench_search.md), ≈ 125 s with tpe_other.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_search_stats as stats  # noqa: E402
from bench_contenders import CONTENDERS, DEFAULT_CONTENDERS, PRUNED_CPU  # noqa: E402

from evoinit import seeding  # noqa: E402
from evoinit.data.spec import DataSpec
from evoinit.ga.baselines import canonical  # noqa: E402
from evoinit.ga.config import SearchConfig  # noqa: E402
from evoinit.ga.evaluate import fitness
from evoinit.ga.genome import Genome, SearchSpace  # noqa: E402
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
                    train=TrainSettings(epochs=self.epochs), test=False, baselines=False,
                    surrogate=0)   # "ga" is the plain GA; its variants set their own
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
#: The budgets (``--budget``): each task's own, or the default search's (what ``evoinit search``
#: runs with no flags), each task keeping its epochs and space.
BUDGETS = {"benchmark": {}, "default": {k: getattr(SearchConfig, k) for k in ("population", "generations", "repeats")}}
#: The tasks ``--budget default`` runs unless ``--tasks`` says otherwise: the three cheapest
#: tasks where the start matters (per search ≈ 1–3 CPU s at the benchmark budget; sizing above).
BUDGET_TASKS = {"benchmark": tuple(TASKS), "default": ("circles", "digits_5_epochs", "spirals")}


# -- one job: a task and a run seed, every contender ---------------------------------------------------


def final_scores(genome: Genome, cfg: SearchConfig, fresh: int) -> dict:
    """The chosen setup and its canonical start, retrained from ``fresh`` FRESH seeds, on test."""
    keys = [(seeding.FRESH, i) for i in range(fresh)]
    base = canonical(genome)
    (_, ours), (_, theirs) = fitness([genome, base], keys, cfg, test=True)
    error = lambda evals: [e.test_error if e.test_error is not None else math.nan for e in evals]  # noqa: E731
    return {"keys": keys, "test_error": error(ours), "val_loss": [e.final_val_loss for e in ours],
            "canonical": {"genome": base.to_json(), "text": str(base), "test_error": error(theirs)}}


def run_job(task: Task, seed: int, contenders: list[str], fresh: int, quick: bool,
            budget_name: str = "benchmark") -> dict:
    from threadpoolctl import threadpool_limits

    t = _sized(task, quick, budget_name)
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


def _sized(task: Task, quick: bool, budget_name: str) -> Task:
    """The task at the budget run: the quick mode's, else ``BUDGETS[budget_name]``."""
    return replace(task, **QUICK) if quick else replace(task, **BUDGETS[budget_name])


def _meta(a, tasks, contenders, seeds, fresh) -> dict:
    return {"command": " ".join(["python", "scripts/bench_search.py", *a.argv]), "quick": a.quick,
            "seeds": seeds, "first_seed": a.first_seed, "budget": a.budget, "fresh": fresh,
            "contenders": contenders, "n_jobs": a.n_jobs,
            "tasks": {t.name: {"dataset": t.dataset, "epochs": t.epochs, "space": t.space.to_json(),
                               "matters": t.matters, "population": t.population,
                               "generations": t.generations, "repeats": t.repeats}
                      for t in (_sized(t, a.quick, a.budget) for t in tasks)}}


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
    pooled = stats.pooled_pairs(runs, meta)
    doc = {"meta": meta, "summary": summary,
           "targets": {n: stats.targets(summary, n) for n in meta["contenders"] if n.startswith("ga")},
           "pooled": pooled, "runs": runs}
    (out / "bench_search.json").write_text(json.dumps(doc, indent=1, default=list))
    stats.figure(runs, meta, out / "bench_search.png")
    table = "\n".join([stats.markdown(summary, meta), *stats.pooled_markdown(pooled)])
    (out / "bench_search.md").write_text(table)
    return table


def read_folders(folders: list) -> tuple[list[dict], dict]:
    """The jobs of several output folders (each ``DIR/jobs.jsonl`` with its ``DIR/meta.json``)
    joined on (task, run seed): one record per (task, run seed) holding the contenders of every
    folder — where two folders ran the same contender at the same (task, run seed), the first
    folder's is kept and ``conflicts`` counts those whose test errors differ. The tasks' settings
    (dataset, epochs, space, budget, whether the start matters) and the fresh seeds must agree
    between folders: a pair is only a pair when both sides searched the same problem."""
    joined, tasks, fresh, conflicts, contenders = {}, {}, {}, 0, []
    for folder in map(Path, folders):
        meta = json.loads((folder / "meta.json").read_text())
        fresh[str(folder)] = meta["fresh"], meta["quick"]
        for name, settings in meta["tasks"].items():
            if tasks.setdefault(name, settings) != settings:
                keys = [k for k in settings | tasks[name] if settings.get(k) != tasks[name].get(k)]
                raise SystemExit(f"--from: task {name} differs between folders in {', '.join(keys)} ({folder}: "
                                 + ", ".join(f"{k} {settings.get(k)}" for k in keys if k != "space") + ")")
        contenders += [n for n in meta["contenders"] if n not in contenders]
        for line in (folder / "jobs.jsonl").read_text().splitlines():
            if not line.strip():
                continue
            job = json.loads(line)
            into = joined.setdefault((job["task"], job["seed"]), {"task": job["task"], "seed": job["seed"],
                                                                  "contenders": {}})
            for name, c in job["contenders"].items():
                if name in into["contenders"]:
                    conflicts += c["final"]["test_error"] != into["contenders"][name]["final"]["test_error"]
                else:
                    into["contenders"][name] = c
    if len(set(fresh.values())) > 1:
        raise SystemExit(f"--from: the folders differ in fresh seeds or the quick mode: {fresh}")
    runs = sorted(joined.values(), key=lambda r: (list(tasks).index(r["task"]), r["seed"]))
    return runs, {"tasks": tasks, "contenders": contenders, "conflicts": conflicts,
                  "fresh": next(iter(fresh.values()))[0]}


def compare(a: str, b: str, folders: list, tasks: list | None = None, out: Path | None = None,
            command: str = "") -> str:
    """``--compare a,b --from folders``: the pooled, paired table (``bench_search_stats.compare``);
    with ``out``, also ``out/compare_a_b.json`` (every number, the per-seed differences included)."""
    runs, meta = read_folders(folders)
    if tasks:
        unknown = [t for t in tasks if t not in meta["tasks"]]
        if unknown:
            raise SystemExit(f"--tasks: {', '.join(unknown)} not in {', '.join(map(str, folders))}")
        meta["tasks"] = {t: meta["tasks"][t] for t in tasks if t in meta["tasks"]}
        runs = [r for r in runs if r["task"] in meta["tasks"]]
    missing = [n for n in (a, b) if n not in meta["contenders"]]
    if missing:
        raise SystemExit(f"--compare: {', '.join(missing)} not in {', '.join(map(str, folders))} "
                         f"(there: {', '.join(meta['contenders'])})")
    result = stats.compare(runs, meta["tasks"], a, b)
    text = stats.compare_text(result, folders)
    if meta["conflicts"]:
        text += (f"note: {meta['conflicts']} contender runs were in more than one folder with other test "
                 "errors (another machine?); the first folder's are used.\n")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        doc = {"command": command, "from": list(map(str, folders)), "fresh": meta["fresh"],
               "conflicts": meta["conflicts"], "tasks": meta["tasks"], **result}
        (out / f"compare_{a}_{b}.json").write_text(json.dumps(doc, indent=1))
    return text


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", help="folder for the JSON, PNG and Markdown (default benchout/search); "
                   "with --compare, for its JSON")
    p.add_argument("--quick", action="store_true", help="tiny budgets, 2 run seeds, 3 fresh seeds")
    p.add_argument("--tasks", help="comma-separated task names (default: all, or BUDGET_TASKS with "
                   "--budget default)")
    p.add_argument("--budget", choices=list(BUDGETS), default="benchmark",
                   help="each task's own budget (≈ 200 trainings), or the default search's (≈ 3,000)")
    p.add_argument("--first-seed", type=int, default=0,
                   help="the first run seed (held-out figures: 1000)")
    p.add_argument("--contenders", default=",".join(DEFAULT_CONTENDERS),
                   help=f"comma-separated, the GA first; among {', '.join(CONTENDERS)}")
    p.add_argument("--seeds", type=int, default=10, help="run seeds per task and contender")
    p.add_argument("--fresh", type=int, default=10, help="fresh seeds for each final score")
    p.add_argument("--n-jobs", type=int, default=2, help="worker processes (one job per task × seed)")
    p.add_argument("--continue", dest="resume", action="store_true",
                   help="keep the jobs already in OUT/jobs.jsonl, run the others")
    p.add_argument("--render", action="store_true", help="only write the outputs from OUT/jobs.jsonl")
    p.add_argument("--compare", metavar="A,B", help="pair contender A against B by (task, run seed): "
                   "the pooled, paired table, with the control tpe_other − tpe when both ran")
    p.add_argument("--from", dest="sources", metavar="DIR,DIR",
                   help="with --compare: output folders to read and join (their jobs.jsonl)")
    a = p.parse_args(argv)
    a.argv = list(sys.argv[1:] if argv is None else argv)
    if a.compare:
        pair = a.compare.split(",")
        if len(pair) != 2 or not a.sources:
            p.error("--compare takes two contenders, A,B, and --from DIR[,DIR…]")
        print(compare(*pair, a.sources.split(","), a.tasks and a.tasks.split(","),
                      Path(a.out) if a.out else None, " ".join(["python", "scripts/bench_search.py", *a.argv])),
              end="")
        return 0
    out = Path(a.out or "benchout/search")
    if a.render:
        print(render(out))
        return 0
    names = a.tasks.split(",") if a.tasks else BUDGET_TASKS[a.budget]
    if not set(names) <= set(TASKS):
        p.error(f"--tasks must be among {', '.join(TASKS)}")
    tasks = [TASKS[n] for n in names]
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
        meta = json.loads((out / "meta.json").read_text())
        if (meta.get("budget", "benchmark"), meta.get("quick")) != (a.budget, a.quick):
            p.error(f"--continue: {out} ran --budget {meta.get('budget', 'benchmark')}"
                    + (" --quick" if meta.get("quick") else ""))
        done = {(r["task"], r["seed"]) for r in map(json.loads, log.read_text().splitlines()) if r}
    else:
        log.write_text("")
        (out / "meta.json").write_text(json.dumps(_meta(a, tasks, contenders, seeds, fresh), indent=1))
    t0 = time.perf_counter()
    # seed-major: a run stopped early still has every task, with fewer run seeds
    jobs = [delayed(run_job)(tasks_by_name[t.name], s, contenders, fresh, a.quick, a.budget)
            for s in range(a.first_seed, a.first_seed + seeds) for t in tasks if (t.name, s) not in done]
    for result in Parallel(n_jobs=a.n_jobs, return_as="generator_unordered")(jobs):
        with log.open("a") as f:
            f.write(json.dumps(result, default=list) + "\n")
    print(render(out))
    print(f"wrote {out}/bench_search.{{json,png,md}} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
