"""Replay a run folder's recorded task durations onto W workers: how busy would a cluster be?

Usage:
    python scripts/simulate_cluster.py RUN                        # W = 1, 2, 4, …, 256
    python scripts/simulate_cluster.py RUN --workers 8,64 --overhead 0.004
    python scripts/simulate_cluster.py RUN --json out.json

Two cores cannot measure cluster scaling; a run folder can predict it. ``timings.jsonl`` holds the
seconds each evaluation took (its population's training time shared among its networks), and
``evaluations.jsonl`` which generation and genome each belongs to. For every generation the
simulator rebuilds the tasks with evoinit's own grouping (``schedule.populations``: same
architecture, cut at 16 networks), orders them as ``evaluate.run_tasks`` sends them, and hands
each to the first free of W workers; a generation ends when its last task does (the GA waits for
all of them). It reports, per W:

- **speedup**: the run's training time on one worker with no overhead / simulated time on W;
- **busy**: training time / (W × simulated time) — the fraction of the cluster doing useful work;
- **population for 80%**: the smallest population (×1, ×2, ×4, … of the run's own, by resampling
  the run's candidates within each generation) that keeps W workers at least ``--target`` busy.

Rules compared (``--rules``):

- ``populations``: today's rule — populations of up to 16, biggest estimated cost first;
- ``lpt``: the same tasks, longest *measured* first (the best any order of today's tasks can do);
- ``split``: what ``evaluate.run_tasks`` does on W workers (``schedule.plan``): the longest
  population (by its estimated cost) is halved, down to single networks if need be, while it is
  longer than a worker's share of the generation. A network trained alone costs more than its
  share of a population (NumPy's per-call overhead is no longer shared): per-network time at
  population size p is modelled as share₁₆ × (a + b/p) with the ratio t(1)/t(16) =
  ``--single-cost`` (3.3 measured by ``scripts/bench.py`` for 64-64-10 tanh). The run's own times
  are taken as recorded in whole populations (a run made on few workers).
- ``islands``: the island model (``--islands`` K, ``--migration-interval`` M): each generation's
  candidates dealt to K islands in turn; an island sends its next generation as soon as its last
  one is back, all wait for each other every M generations; each island splits its share (W/K)
  of the workers as ``split`` does. The run's own candidates stand in for what islands would breed.

- ``steady``: the steady-state GA with a fixed lag (``evoinit.steady``, ``--lag`` in populations
  of μ candidates, several comma-separated): the run's candidates in log order stand in for what it
  would breed; candidate n (n ≥ μ) is sent once every candidate below max(μ, n − lag) is back; each
  time workers are idle, the waiting networks are cut as ``steady.send_now`` cuts them
  (``--grain plan``; ``candidate``: a candidate's repeats together, ``network``: one by one).
  No barrier: it only waits when the oldest unfinished candidate holds the lag window. Its tasks
  can group networks of several generations, so its busy fraction on few workers can pass 100%
  (the run's own grouping, per generation, is the reference).

Honest limits: per-task overhead (``--overhead``, seconds) and a per-generation overhead
(``--generation-overhead``) are constants — ``scripts/dask_overhead.py`` measured ≈ 0.008 and
≈ 0.05 on a local 2-worker Dask cluster (docs/cluster.md); they default to 0, the best case; joblib's automatic batching of
short tasks, network transfer and stragglers are not modelled; the resampled larger populations
assume a candidate's training time does not depend on how many others share its architecture.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from evoinit.ga.genome import Genome
from evoinit.ga.schedule import SINGLE_COST, plan, populations, relative_cost
from evoinit.ga.variants.steady import send_now

RULES = ("populations", "lpt", "split", "islands", "steady")
DEFAULT_WORKERS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


# -- reading the run ---------------------------------------------------------------------------------


def read_run(run) -> list[list[tuple[Genome, tuple, float]]]:
    """The search's generations, each a list of (genome, seed key, seconds) in log order.

    The final scoring on test (generation ``null``) is left out: it is not part of the search.
    """
    run = Path(run)
    seconds = {}
    for line in (run / "timings.jsonl").read_text().splitlines():
        if line.strip():
            d = json.loads(line)
            if "n" in d:
                seconds[d["n"]] = float(d["seconds"])
    gens: dict[int, list] = defaultdict(list)
    for line in (run / "evaluations.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if d.get("generation") is None or d["n"] not in seconds:
            continue
        gens[d["generation"]].append((Genome.from_json(d["genome"]), tuple(d["seed"]), seconds[d["n"]]))
    if not gens:
        raise SystemExit(f"{run}: no timed evaluations to replay (is it an evoinit run folder?)")
    return [gens[g] for g in sorted(gens)]


# -- turning a generation into tasks --------------------------------------------------------------


def tasks_of(generation, rule: str, workers: int, *, single_cost: float = SINGLE_COST) -> list[float]:
    """Task durations of one generation, in the order they are sent to the workers."""
    items = [(g, k) for g, k, _ in generation]
    secs = [s for _, _, s in generation]
    groups = populations(items)
    if rule == "populations":      # evaluate.run_tasks without splitting: biggest estimated cost first
        return [sum(secs[i] for i in idx) for idx in plan(items, workers, split=False)]
    if rule == "lpt":
        return sorted((sum(secs[i] for i in idx) for idx in groups), reverse=True)
    if rule != "split":
        raise ValueError(f"unknown rule {rule!r}; use one of {', '.join(RULES)}")
    # evaluate.run_tasks' own split (schedule.plan); a network's recorded time is its share of the
    # population it was trained in, rescaled to the size of the part it is now trained in.
    recorded = {i: len(idx) for idx in groups for i in idx}
    rel = lambda p: relative_cost(p, single_cost)  # noqa: E731
    return [sum(secs[i] * rel(len(part)) / rel(recorded[i]) for i in part) for part in plan(items, workers)]


def resample(generation, factor: int, rng: np.random.Generator):
    """The generation with ``factor`` × as many candidates, drawn from its own (with replacement).

    A candidate is a genome with all its repeats; a drawn copy gets fresh seed keys so that it
    is trained again (as a distinct candidate would be).
    """
    by_genome: dict[Genome, list] = defaultdict(list)
    for g, k, s in generation:
        by_genome[g].append((k, s))
    genomes = list(by_genome)
    out = []
    for copy, j in enumerate(rng.integers(len(genomes), size=factor * len(genomes))):
        g = genomes[j]
        out.extend((g, (copy,) + tuple(k), s) for k, s in by_genome[g])
    return out


# -- the replay ---------------------------------------------------------------------------------------


def replay(durations: list[float], workers: int, overhead: float) -> float:
    """Makespan of list scheduling: each task, in order, goes to the first free worker."""
    free = [0.0] * workers
    for d in durations:
        t = heapq.heappop(free)
        heapq.heappush(free, t + overhead + d)
    return max(free)


def island_tasks(generation, islands: int, workers: int, single_cost: float) -> list[list[float]]:
    """The generation's candidates dealt to ``islands`` islands in turn (a candidate with all its
    repeats), each island's share split as ``schedule.plan`` splits it: task durations per island."""
    order = list(dict.fromkeys(g for g, _, _ in generation))
    home = {g: j % islands for j, g in enumerate(order)}
    share = max(1, workers // islands)        # the workers an island has to itself, on average
    return [tasks_of([t for t in generation if home[t[0]] == i], "split", share, single_cost=single_cost)
            for i in range(islands)]


def replay_islands(gens, workers: int, islands: int, interval: int, overhead: float,
                   generation_overhead: float, single_cost: float) -> float:
    """Makespan of the island model: each island sends its next generation as soon as its last
    one is back (after ``generation_overhead``), all wait for each other every ``interval``
    generations (migration); the workers take queued tasks first come, first served."""
    from collections import deque

    work = [island_tasks(gen, islands, workers, single_cost) for gen in gens]
    queue, events, seq = deque(), [], 0
    left, at, waiting = [0] * islands, [0] * islands, []
    idle, now = workers, 0.0

    def send(i):
        nonlocal seq
        tasks = work[at[i]][i]
        left[i] = len(tasks)
        queue.extend((i, d) for d in tasks)
        if not tasks:                                    # nothing new to train: done at once
            heapq.heappush(events, (now, seq, "done", i))
            seq += 1

    for i in range(islands):
        send(i)
    while events or queue:
        while idle and queue:
            i, d = queue.popleft()
            idle -= 1
            heapq.heappush(events, (now + overhead + d, seq, "task", i))
            seq += 1
        now, _, kind, i = heapq.heappop(events)
        if kind == "task":
            idle += 1
            left[i] -= 1
            if left[i]:
                continue
        elif kind == "ready":
            send(i)
            continue
        at[i] += 1                                       # island i finished a generation
        if at[i] >= len(gens):
            continue
        if at[i] % interval == 0:                        # a migration: wait for every island
            waiting.append(i)
            if len(waiting) < islands:
                continue
            ready, waiting = waiting, []
        else:
            ready = [i]
        for j in ready:
            heapq.heappush(events, (now + generation_overhead, seq, "ready", j))
            seq += 1
    return now


def candidates(gens, single_cost: float) -> list[list[tuple[Genome, tuple, float]]]:
    """The run's candidates in log order (a genome with all its repeats, generation by generation),
    each as its networks (genome, seed key, seconds in a population of ``POPULATION``: the recorded
    seconds rescaled from the population each was recorded in, ``relative_cost``)."""
    out = []
    for gen in gens:
        recorded = {i: len(idx) for idx in populations([(g, k) for g, k, _ in gen]) for i in idx}
        by_genome: dict[Genome, list] = defaultdict(list)
        for i, (g, k, sec) in enumerate(gen):
            by_genome[g].append((g, k, sec / relative_cost(recorded[i], single_cost)))
        out.extend(by_genome.values())
    return out


def _steady_tasks(waiting, idle: int, grain: str, single_cost: float):
    """The populations to send now from the waiting networks [(candidate, genome, key, base)]:
    [(candidates in it, seconds)], in the order they go to the idle workers.

    ``candidate``: a candidate's repeats as one population; ``network``: every network alone;
    ``plan``: what ``evoinit.steady`` sends (``steady.send_now``: ``schedule.plan`` over the oldest
    16 × idle waiting networks, for the idle workers, populations with the oldest first)."""
    if grain == "candidate":
        groups = defaultdict(list)
        for j, w in enumerate(waiting):
            groups[w[0]].append(j)
        parts = list(groups.values())
    elif grain == "network":
        parts = [[j] for j in range(len(waiting))]
    else:
        parts = send_now([(w[1], (w[0],) + tuple(w[2])) for w in waiting], idle)
    rel = lambda p: relative_cost(p, single_cost)  # noqa: E731
    return [(idx, rel(len(idx)) * sum(waiting[j][3] for j in idx)) for idx in parts]


def replay_steady(cands, workers: int, mu: int, lag: int, overhead: float, grain: str = "plan",
                  single_cost: float = SINGLE_COST) -> float:
    """Makespan of the steady-state GA with a fixed lag: candidate n ≥ ``mu`` is bred from the
    population after candidates 0 … n − ``lag`` − 1 were folded in (in index order; the first
    population, candidates < ``mu``, needs nothing), so it is sent once every candidate below
    max(mu, n − lag) is back. ``cands`` as ``candidates`` gives them. Whenever a worker is idle,
    the waiting networks are cut into populations (``_steady_tasks``) and the first go to the idle
    workers; the rest wait for the next free worker, cut again then."""
    n_cands = len(cands)
    left = [len(c) for c in cands]      # a candidate's networks not back yet
    waiting, events = [], []
    frontier = sent = 0                  # every candidate below ``frontier`` is back
    idle, now, seq = workers, 0.0, 0
    while True:
        while sent < n_cands and (sent < mu or frontier >= max(mu, sent - lag)):
            waiting.extend((sent, g, k, base) for g, k, base in cands[sent])
            sent += 1
        if idle and waiting:
            chosen = set()
            for idx, secs in _steady_tasks(waiting, idle, grain, single_cost)[:idle]:
                heapq.heappush(events, (now + overhead + secs, seq, [waiting[j][0] for j in idx]))
                seq += 1
                idle -= 1
                chosen.update(idx)
            waiting = [w for j, w in enumerate(waiting) if j not in chosen]
        if not events:
            return now
        now, _, members = heapq.heappop(events)
        idle += 1
        for n in members:
            left[n] -= 1
        while frontier < sent and left[frontier] == 0:
            frontier += 1


def simulate(gens, rule: str, workers: int, *, overhead: float = 0.0, generation_overhead: float = 0.0,
             single_cost: float = SINGLE_COST, islands: int = 4, migration_interval: int = 5,
             lag: float = 1.0, grain: str = "plan") -> dict:
    """Simulated seconds, speedup and busy fraction of the whole search on ``workers``
    (``lag``: the steady rule's lag in populations, μ × lag candidates)."""
    useful = sum(s for gen in gens for _, _, s in gen)
    if rule == "steady":
        mu = len({g for g, _, _ in gens[0]})
        elapsed = replay_steady(candidates(gens, single_cost), workers, mu, round(lag * mu), overhead, grain,
                                single_cost)
        return {"seconds": elapsed, "speedup": useful / elapsed, "busy": useful / (workers * elapsed)}
    if rule == "islands":
        elapsed = replay_islands(gens, workers, islands, migration_interval, overhead, generation_overhead,
                                 single_cost)
        return {"seconds": elapsed, "speedup": useful / elapsed, "busy": useful / (workers * elapsed)}
    elapsed = 0.0
    for gen in gens:
        tasks = tasks_of(gen, rule, workers, single_cost=single_cost)
        elapsed += replay(tasks, workers, overhead) + generation_overhead
    return {"seconds": elapsed, "speedup": useful / elapsed, "busy": useful / (workers * elapsed)}


def population_for(gens, rule: str, workers: int, target: float, *, seed: int = 0, max_factor: int = 64,
                   **kw) -> int | None:
    """Smallest population (a power-of-two multiple of the run's) keeping ``workers`` ≥ ``target`` busy."""
    base = len({g for g, _, _ in gens[0]})
    factor = 1
    while factor <= max_factor:
        rng = np.random.default_rng(seed)
        grown = gens if factor == 1 else [resample(gen, factor, rng) for gen in gens]
        if simulate(grown, rule, workers, **kw)["busy"] >= target:
            return base * factor
        factor *= 2
    return None


def table(run, workers=DEFAULT_WORKERS, rules=RULES, *, target: float = 0.8, lags=(1.0,), **kw) -> dict:
    """Every number the report prints, per rule and W (the ``steady`` rule once per lag, in μ)."""
    gens = read_run(run)
    runs = [(rule, {}) for rule in rules if rule != "steady"]
    runs += [(f"steady, lag {lag:g}μ", {"lag": lag}) for lag in lags if "steady" in rules]
    rows = {name: [] for name, _ in runs}
    for name, extra in runs:
        rule = name.split(",")[0]
        for w in workers:
            r = simulate(gens, rule, w, **kw, **extra)
            r["workers"] = w
            r["population_for_target"] = population_for(gens, rule, w, target, **kw, **extra)
            rows[name].append(r)
    return {"run": str(run), "generations": len(gens), "population": len({g for g, _, _ in gens[0]}),
            "target": target, "settings": kw, "rules": rows}


def markdown(result: dict) -> str:
    lines = []
    for rule, rows in result["rules"].items():
        lines.append(f"rule `{rule}`:\n")
        lines.append("| workers | " + " | ".join(str(r["workers"]) for r in rows) + " |")
        lines.append("|---|" + "---|" * len(rows))
        lines.append("| speedup | " + " | ".join(f"{r['speedup']:.1f}" for r in rows) + " |")
        lines.append("| busy | " + " | ".join(f"{100 * r['busy']:.0f}%" for r in rows) + " |")
        lines.append(f"| population for {100 * result['target']:.0f}% | "
                     + " | ".join(str(r["population_for_target"] or "> ×64") for r in rows) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run", type=Path, help="a run folder (with timings.jsonl)")
    ap.add_argument("--workers", default=",".join(map(str, DEFAULT_WORKERS)), help="comma-separated W")
    ap.add_argument("--rules", default=",".join(RULES), help=f"comma-separated, of {', '.join(RULES)}")
    ap.add_argument("--overhead", type=float, default=0.0, help="seconds added to every task [0; 0.008 measured on local Dask]")
    ap.add_argument("--generation-overhead", type=float, default=0.0, help="seconds per generation [0; 0.05 measured]")
    ap.add_argument("--single-cost", type=float, default=3.3,
                    help="time of one network alone / its share of a population of 16 [3.3]")
    ap.add_argument("--islands", type=int, default=4, help="islands of the `islands` rule [4]")
    ap.add_argument("--migration-interval", type=int, default=5, help="its generations between migrations [5]")
    ap.add_argument("--lag", default="1",
                    help="the steady rule's lags, in populations (μ candidates), comma-separated [1]")
    ap.add_argument("--grain", default="plan", choices=("plan", "candidate", "network"),
                    help="the steady rule's tasks: plan over what waits [plan], a candidate's repeats, single networks")
    ap.add_argument("--target", type=float, default=0.8, help="busy fraction to size the population for")
    ap.add_argument("--json", type=Path, help="also write every number here")
    a = ap.parse_args(argv)
    try:
        workers = [int(w) for w in a.workers.split(",")]
        if min(workers) < 1:
            raise ValueError
    except ValueError:
        ap.error(f"--workers must be positive integers separated by commas, not {a.workers!r}")
    try:
        lags = [float(x) for x in a.lag.split(",")]
        if min(lags) <= 0:
            raise ValueError
    except ValueError:
        ap.error(f"--lag must be positive numbers separated by commas, not {a.lag!r}")
    rules = a.rules.split(",")
    if bad := [r for r in rules if r not in RULES]:
        ap.error(f"unknown rule {bad[0]!r}; use {', '.join(RULES)}")
    if not (a.run / "timings.jsonl").is_file() or not (a.run / "evaluations.jsonl").is_file():
        ap.error(f"{a.run} is not a run folder (no timings.jsonl / evaluations.jsonl)")
    result = table(a.run, workers, rules, target=a.target, overhead=a.overhead,
                   generation_overhead=a.generation_overhead, single_cost=a.single_cost,
                   islands=a.islands, migration_interval=a.migration_interval, lags=lags, grain=a.grain)
    print(markdown(result))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
