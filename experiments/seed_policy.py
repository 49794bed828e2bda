"""The distinct-seed thesis, tested where it lives: in the best network a search finds.

The tutorial behind evoinit (§3.2) claims that trials started from the same weights follow nearly
the same gradient, and that distinct starting weights "explore the space in different ways and
increase the probability of finding optimal solutions". The same genetic algorithm (the search
benchmark's plain GA, ``scripts/bench_search.py``, with its budget: population 12, 8 generations,
2 seeds per candidate) runs under each seed policy on three tasks where seeds should matter —
spirals, digits through 4–8 saturating layers (digits_deep), and MNIST-1D (1–2 layers of 8–64
units, Adam 1e-2, batches of 100, 20 epochs) — from the same 20 run seeds (1000–1019 unless
``--seed`` moves them):

- ``distinct`` — every evaluation starts from its own weights and sees its own data order;
- ``shared`` — every evaluation of an architecture starts from the same weights and order (a
  genome seen before gives the same network, so the search spends fewer trainings);
- ``inherited`` — the seed is a gene, passed from parents to offspring and mutated.

At the same number of trainings: the shared and inherited searches re-use networks they have
trained, so they run more generations and are read at the trainings the distinct search spent
with the same run seed.

Two readings, from the same runs:

- **the best network found**: of every network the search trained, the one with the lowest
  validation loss (chosen by validation, never by test), rebuilt from its seed key (training is a
  pure function of the key: the rebuilt validation loss is checked against the search's log) and
  scored on the test rows; beside it the network ``evoinit`` keeps (the best of the hall of fame's
  kept networks);
- **the setup chosen**: the best setup retrained from 5 fresh seeds no search used, on test (the
  reading measured before, which by design forgets which start a network came from).

And what each policy explored: every network it trained, rebuilt, and grouped by what it predicts
on the validation rows — **distinct solutions** are the groups in which each network disagrees
with the group's first (best) network on at most 2% of the rows (and, stricter, the distinct
prediction vectors).

Per task and policy: means over run seeds with 95% t-intervals; paired differences (distinct minus
the other policy, per run seed) with 95% t-intervals; pooled over the tasks, the mean relative
difference (% of the task's mean test error over the three policies) with a stratified bootstrap
interval (as ``scripts/bench_search.py``). The JSON says what the numbers show, whichever way.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit import api
from evoinit.ga.evaluate import dataset_of, objective_values, train_genomes
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import SearchSpace
from evoinit.ga.interval import paired_interval
from evoinit.ga.kept import best_network
from evoinit.nn.single import predict
from evoinit.nn.training import TrainSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_search as bench  # noqa: E402
import bench_search_stats as bench_stats  # noqa: E402

NAME = "seed_policy"
CLAIM = ("Distinct starting weights make a search find better networks than shared or inherited "
         "ones, and explore more distinct solutions: tested on the best network each search trained "
         "(chosen by validation, scored on test), on its chosen setup retrained from fresh seeds, and "
         "on the distinct solutions it visited, over 20 run seeds per task.")
POLICIES = ("distinct", "shared", "inherited")
OTHERS = POLICIES[1:]
#: MNIST-1D at a budget the 60 searches afford: small plain MLPs, Adam, 20 epochs.
MNIST1D = bench.Task("mnist1d", "mnist1d", 20, SearchSpace(layers=(1, 2), widths=(8, 64)), True)
MNIST1D_TRAIN = TrainSettings(epochs=20, optimizer="adam", learning_rate=1e-2, batch_size=100)
TASKS = (bench.TASKS["spirals"], bench.TASKS["digits_deep"], MNIST1D)
SEEDS, FIRST_SEED, FRESH = 20, 1000, 5
#: Two networks are one solution when they disagree on at most this share of the validation rows.
SAME = 0.02
#: The seconds-long version: iris, a small GA (large enough that the shared policy meets genomes
#: it has already trained), 2 run seeds.
FAST_TASK = bench.Task("iris", "iris", 5, SearchSpace(), True, population=6, generations=3, repeats=2)


def _config(task: bench.Task, seed: int, policy: str):
    extra = {"train": MNIST1D_TRAIN} if task.name == "mnist1d" else {}
    return task.config(seed, seed_policy=policy, **extra)


def rebuilt(lines: list[dict], cfg, dataset) -> list[dict]:
    """Every distinct (genome, seed key) the search trained, rebuilt, in the log's order: its logged
    validation loss, the rebuilt one, its labels on the validation rows and its test error."""
    seen, todo = set(), []
    for line in lines:
        ev = Evaluation.from_json(line)
        key = (json.dumps(line["genome"], sort_keys=True), tuple(ev.key))
        if key not in seen:
            seen.add(key)
            todo.append(ev)
    by_arch: dict[tuple, list[int]] = {}
    for i, ev in enumerate(todo):
        by_arch.setdefault((ev.genome.hidden, ev.genome.activation), []).append(i)
    out: list[dict | None] = [None] * len(todo)
    for idx in by_arch.values():
        for start in range(0, len(idx), 64):   # at most 64 networks at once in memory
            chunk = idx[start:start + 64]
            results = train_genomes([todo[i].genome for i in chunk], [tuple(todo[i].key) for i in chunk],
                                    dataset, cfg.train, cfg.seed)
            for i, r in zip(chunk, results):
                ev, g = todo[i], todo[i].genome
                ok = not r.diverged and math.isfinite(ev.final_val_loss)
                val = predict(r.weights, r.biases, dataset.X_val, activation=g.activation).argmax(1) if ok else None
                test = predict(r.weights, r.biases, dataset.X_test, activation=g.activation).argmax(1) if ok else None
                out[i] = {"genome": str(g), "key": list(ev.key), "val_loss": ev.final_val_loss,
                          "rebuilt_val_loss": float(r.val_loss[-1]) if ok else math.nan,
                          "val_labels": val, "test_error": float((test != dataset.y_test).mean()) if ok else math.nan}
    return out


def solutions(labels: list[np.ndarray], same: float = SAME) -> int:
    """Groups of networks by their validation predictions, best first: each network joins the first
    group whose first network it disagrees with on at most ``same`` of the rows, else starts one."""
    leaders: list[np.ndarray] = []
    for row in labels:
        if not any((row != lead).mean() <= same for lead in leaders):
            leaders.append(row)
    return len(leaders)


def chosen_setup(lines: list[dict], objectives) -> str:
    """The setup the plain GA's hall of fame puts first: the best measured fitness (the mean over a
    candidate's repeats) among the candidates in ``lines`` (each trained candidate once: its genome
    and seed family; the first of equals)."""
    groups: dict[tuple, list] = {}
    for line in lines:
        groups.setdefault((json.dumps(line["genome"], sort_keys=True), *line["seed"][:-1]), []).append(
            Evaluation.from_json(line))
    best = min(groups.values(), key=lambda evals: objective_values(evals[0].genome, evals, objectives)[0])
    return best[0].genome


def one_search(task: bench.Task, seed: int, policy: str, budget: int | None = None, fresh: int = FRESH) -> dict:
    """One search and its readings. ``budget``: read the search at that many trainings — it runs
    twice the generations plus two (enough for a policy that re-uses networks to spend the
    budget), and only its first ``budget`` trainings count (the kept networks, made at its end,
    are then not read). ``fresh``: the fresh seeds the chosen setup is retrained from."""
    cfg = _config(task, seed, policy)
    if budget is not None:
        cfg = replace(cfg, generations=cfg.generations * 2 + 2)
    dataset = dataset_of(cfg.dataset)
    cpu = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        result = api.search(cfg.dataset, config=cfg, n_jobs=1, out=Path(tmp) / "run")
        lines = [json.loads(x) for x in (Path(tmp) / "run" / "evaluations.jsonl").read_text().splitlines()]
    search_cpu = time.process_time() - cpu
    lines = [x for x in lines if x.get("stage") != "final"][:budget]   # one line per training, in order
    nets = rebuilt(lines, cfg, dataset)
    drift = max((abs(n["val_loss"] - n["rebuilt_val_loss"]) for n in nets if n["val_labels"] is not None), default=0.0)
    ok = sorted((n for n in nets if n["val_labels"] is not None), key=lambda n: n["val_loss"])
    best = ok[0]
    kept = best_network(result.networks) if budget is None else None
    chosen = chosen_setup(lines, cfg.objectives)
    setup = bench.final_scores(chosen, cfg, fresh)
    labels = [n["val_labels"] for n in ok]
    return {"task": task.name, "seed": seed, "policy": policy, "trainings": len(lines),
            "networks": len(nets), "best_network": best["genome"], "best_network_key": best["key"],
            "best_network_val_loss": best["val_loss"], "best_network_test_error": best["test_error"],
            "kept_network": None if kept is None else str(kept.genome),
            "kept_network_test_error": None if kept is None else
            float((kept.output(dataset.X_test).argmax(1) != dataset.y_test).mean()),
            "kept_network_val_loss": None if kept is None else kept.val_loss,
            "setup": str(chosen), "setup_test_error": bench_stats._mean(setup["test_error"]),
            "solutions": solutions(labels), "unique_functions": solutions(labels, 0.0),
            "rebuild_drift": drift, "search_cpu_seconds": search_cpu,
            "cpu_seconds": time.process_time() - cpu}


def job(task: bench.Task, seed: int, fresh: int = FRESH) -> list[dict]:
    """The three policies at one (task, run seed), at the trainings the distinct policy spends."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        first = one_search(task, seed, "distinct", fresh=fresh)
        out = [first] + [one_search(task, seed, p, budget=first["trainings"], fresh=fresh) for p in OTHERS]
    print(f"{task.name} seed {seed}: {sum(r['cpu_seconds'] for r in out):.0f} CPU s", file=sys.stderr, flush=True)
    return out


READINGS = (("best_network_test_error", "test error of the best network found"),
            ("setup_test_error", "test error of the chosen setup (fresh seeds)"),
            ("solutions", f"distinct solutions visited (≤ {SAME:.0%} disagreement)"))


def _ci(values) -> dict:
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    mean, half = paired_interval(values)
    return {"mean": mean, "ci95": half, "n": len(values)}


def summarize(runs: list[dict], tasks: list[str]) -> dict:
    by_task = {}
    for t in tasks:
        mine = [r for r in runs if r["task"] == t]
        at = {(r["policy"], r["seed"]): r for r in mine}
        seeds = sorted({r["seed"] for r in mine})
        stats = {p: {k: _ci([at[p, s][k] for s in seeds if (p, s) in at])
                     for k in ("best_network_test_error", "kept_network_test_error", "setup_test_error",
                               "solutions", "unique_functions", "trainings")} for p in POLICIES}
        paired = {o: {k: _ci([at["distinct", s][k] - at[o, s][k] for s in seeds
                              if ("distinct", s) in at and (o, s) in at
                              and at["distinct", s][k] is not None and at[o, s][k] is not None])
                      for k, _ in READINGS} for o in OTHERS}
        scale = statistics.fmean(stats[p]["best_network_test_error"]["mean"] for p in POLICIES)
        by_task[t] = {"stats": stats, "paired": paired, "scale": scale}
    pooled = {}
    for o in OTHERS:
        pooled[o] = {}
        for key, _ in READINGS[:2]:
            values = {}
            for t in tasks:
                at = {(r["policy"], r["seed"]): r for r in runs if r["task"] == t}
                scale = statistics.fmean(by_task[t]["stats"][p][key]["mean"] for p in POLICIES) or 1.0
                values[t] = [100 * (at["distinct", s][key] - at[o, s][key]) / scale
                             for s in sorted({s for _, s in at}) if ("distinct", s) in at and (o, s) in at]
            pooled[o][key] = bench_stats.bootstrap_pooled(values)
    return {"tasks": by_task, "pooled": pooled}


def _fmt(s: dict, digits: int = 4) -> str:
    if s["mean"] is None:
        return "–"
    return f"{s['mean']:.{digits}f}" + ("" if s["ci95"] is None else f" ± {s['ci95']:.{digits}f}")


def verdicts(summary: dict) -> list[str]:
    """What the intervals show: a paired difference counts only where its 95% interval excludes 0."""
    lines = []
    for o in OTHERS:
        for key, label in READINGS[:2]:
            p = summary["pooled"][o][key]
            if p["mean"] is None:
                continue
            where = ("lower" if p["high"] < 0 else "higher") if p["high"] < 0 or p["low"] > 0 else None
            lines.append(f"pooled, distinct − {o}, {label}: {p['mean']:+.1f}% [{p['low']:+.1f}%, {p['high']:+.1f}%]"
                         + (f" — distinct's is {where} beyond the interval" if where
                            else " — no difference beyond the noise"))
        for t, d in summary["tasks"].items():
            q = d["paired"][o]["solutions"]
            if q["mean"] is not None and q["ci95"] is not None:
                sep = abs(q["mean"]) > q["ci95"]
                lines.append(f"{t}, distinct − {o}, distinct solutions: {q['mean']:+.1f} ± {q['ci95']:.1f}"
                             + (" (beyond the interval)" if sep else " (within the noise)"))
    return lines


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    from joblib import Parallel, delayed

    tasks = [FAST_TASK] if fast else list(TASKS)
    first = seed if fast else FIRST_SEED + seed
    seeds = [first + k for k in range(2 if fast else SEEDS)]
    fresh = 2 if fast else FRESH
    t0 = time.perf_counter()
    jobs = Parallel(n_jobs=1 if fast else 2)(delayed(job)(t, s, fresh) for s in seeds for t in tasks)
    runs = [r for j in jobs for r in j]
    summary = summarize(runs, [t.name for t in tasks])
    lines = []
    for name, d in summary["tasks"].items():
        for p in POLICIES:
            s = d["stats"][p]
            lines.append(f"{name} {p}: best network {_fmt(s['best_network_test_error'])}, setup "
                         f"{_fmt(s['setup_test_error'])}, solutions {_fmt(s['solutions'], 1)}, trainings "
                         f"{_fmt(s['trainings'], 0)}")
    said = verdicts(summary)
    lines += said
    result = common.header(NAME, CLAIM, fast, seed, seeds=seeds, policies=list(POLICIES), fresh=fresh,
                           same=SAME, tasks=[t.name for t in tasks]) | {
        "runs": runs, **summary, "verdicts": said, "summary": lines,
        "cpu_seconds": sum(r["cpu_seconds"] for r in runs), "wall_seconds": time.perf_counter() - t0,
        "max_rebuild_drift": max(r["rebuild_drift"] for r in runs)}
    return common.save(out, NAME, result, _figure(runs, summary))


def _figure(runs: list[dict], summary: dict):
    colors = {"distinct": "tab:blue", "shared": "tab:orange", "inherited": "tab:green"}
    tasks = list(summary["tasks"])
    fig, axes = plt.subplots(len(tasks), 3, figsize=(15, 4.2 * len(tasks)), squeeze=False)
    x = np.arange(len(POLICIES))
    for ax, task in zip(axes, tasks):
        d = summary["tasks"][task]
        for k, (key, label) in enumerate(READINGS):
            a = ax[0] if k < 2 else ax[1]
            shift = (k - 0.5) * 0.25 if k < 2 else 0.0
            for i, p in enumerate(POLICIES):
                vals = [r[key] for r in runs if r["task"] == task and r["policy"] == p and r[key] is not None]
                a.scatter(np.full(len(vals), i + shift), vals, s=8, alpha=0.35, color=colors[p])
                s = d["stats"][p][key]
                a.errorbar([i + shift], [s["mean"]], yerr=[s["ci95"] or 0], fmt="os"[k % 2], color="k", capsize=4,
                           label=label if i == 0 else None)
        ax[0].set_title(f"{task}: test error by seed policy (mean ± 95%, dots: run seeds)", fontsize=10)
        ax[1].set_title(f"{task}: distinct solutions visited", fontsize=10)
        for a in ax[:2]:
            a.set_xticks(x, POLICIES)
            a.legend(fontsize=8)
        rows = [(f"{o}: {label.split(' (')[0].replace('test error of the ', '')}", d["paired"][o][key])
                for o in OTHERS for key, label in READINGS[:2]]
        y = np.arange(len(rows))[::-1]
        for yi, (label, q) in zip(y, rows):
            if q["mean"] is not None:
                ax[2].errorbar([q["mean"]], [yi], xerr=[[q["ci95"] or 0]], fmt="o", capsize=4, color="k")
        ax[2].axvline(0, color="grey", lw=0.8)
        ax[2].set_yticks(y, [r[0] for r in rows], fontsize=8)
        ax[2].set_title(f"{task}: distinct − other, test error (paired, 95%)", fontsize=10)
        for a in ax:
            a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    common.main(NAME, run)
