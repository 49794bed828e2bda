"""Seed policy in the search, on the search benchmark: does the policy change what the GA finds?

The same genetic algorithm runs with each seed policy over 10 run seeds on two of the search
benchmark's tasks where the start matters (``scripts/bench_search.py``: spirals, and digits with
4–8 sigmoid/tanh layers), with the benchmark's budget and its fair final score:

- ``distinct`` — every evaluation starts from its own weights and sees its own data order;
- ``shared`` — every evaluation of an architecture starts from the same weights and order
  (re-evaluating a genome gives the same number, so the GA can only search over setups);
- ``inherited`` — the seed is a gene, passed from parents to offspring and mutated.

Per run it records the best validation error found so far against the evaluations spent (the
shared policy re-uses results, so it spends fewer); the test error of the chosen setup retrained
from 10 fresh seeds no search used; the **optimism** of the search (its fitness of the chosen
setup minus that setup's validation loss from the fresh seeds; negative: the search fooled itself);
and the final population's **spread**: in error space (std of the individuals' validation errors)
and in function space (mean pairwise disagreement of its trained networks on the test inputs).
Means come with 95% intervals over run seeds (t); test errors are also compared paired by run seed.
The claim is tested, not assumed: the JSON says what the numbers show.
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit.ga.baselines import t95
from evoinit.ga.genome import SearchSpace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_search as bench  # noqa: E402
import bench_search_stats as bench_stats  # noqa: E402

NAME = "seed_policy"
CLAIM = ("Distinct starting weights make the search find better setups than shared or inherited "
         "ones: tested by the test error of each run's choice on fresh seeds, the optimism of the "
         "search, the population's spread in error and function space, over 10 run seeds per task.")
POLICIES = ("distinct", "shared", "inherited")
CONTENDER = {"distinct": "ga", "shared": "ga_shared", "inherited": "ga_inherited"}
TASKS = ("spirals", "digits_deep")
#: The seconds-long version: iris, a small GA (large enough that the shared policy meets genomes
#: it has already trained).
FAST_TASK = bench.Task("iris", "iris", 5, SearchSpace(), True, population=6, generations=3, repeats=2)


def ci95(values) -> dict:
    values = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(values)
    mean = statistics.fmean(values) if values else math.nan
    half = t95(n - 1) * statistics.stdev(values) / math.sqrt(n) if n > 1 else None
    return {"mean": mean, "ci95": half, "n": n, "values": values}


def _run_of(task: str, seed: int, policy: str, c: dict) -> dict:
    spent, best, curve = 0, math.inf, []
    for row in c["logbook"]:
        spent += row["nevals"]
        if row["best_error"] is not None:
            best = min(best, row["best_error"])
        curve.append({"gen": row["gen"], "evaluations": spent, "best_error": best,
                      "error_std": row["error_std"], "unique": row["unique"]})
    final = c["final"]
    return {"task": task, "policy": policy, "seed": seed, "curve": curve, "best_genome": c["text"],
            "test_error": bench_stats._mean(final["test_error"]),
            "optimism": c["fitness"] - bench_stats._mean(final["val_loss"]),
            "spread": c["spread"], "evaluations": spent, "fresh_test_errors": final["test_error"]}


def _stats(rs: list[dict]) -> dict:
    return {"best_val_error": ci95([r["curve"][-1]["best_error"] for r in rs]),
            "test_error": ci95([r["test_error"] for r in rs]),
            "optimism": ci95([r["optimism"] for r in rs]),
            "spread": ci95([r["spread"] for r in rs]),
            "error_std": ci95([statistics.fmean(c["error_std"] for c in r["curve"] if c["error_std"] is not None)
                               for r in rs]),
            "unique": ci95([statistics.fmean(c["unique"] for c in r["curve"]) for r in rs]),
            "evaluations": ci95([r["evaluations"] for r in rs])}


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    from joblib import Parallel, delayed

    tasks = [FAST_TASK] if fast else [bench.TASKS[n] for n in TASKS]
    seeds = [seed + k for k in range(2 if fast else 10)]
    fresh = 3 if fast else 10
    jobs = Parallel(n_jobs=1 if fast else 2)(
        delayed(bench.run_job)(t, s, list(CONTENDER.values()), fresh, False) for s in seeds for t in tasks)
    runs = [_run_of(j["task"], j["seed"], p, j["contenders"][CONTENDER[p]]) for j in jobs for p in POLICIES]
    by_task = {}
    for t in tasks:
        mine = [r for r in runs if r["task"] == t.name]
        stats = {p: _stats([r for r in mine if r["policy"] == p]) for p in POLICIES}
        paired = {}
        for other in POLICIES[1:]:
            pairs = [bench_stats.paired(a["fresh_test_errors"], b["fresh_test_errors"])["outcome"]
                     for a in mine if a["policy"] == "distinct"
                     for b in mine if b["policy"] == other and b["seed"] == a["seed"]]
            paired[other] = {k: pairs.count(k) for k in ("win", "tie", "loss")}
        by_task[t.name] = {"stats": stats, "paired": paired, "verdict": _verdict(stats),
                           "verdict_more": _verdict(stats, (("optimism", "optimism"),
                                                            ("spread", "spread in function space")))}
    first = by_task[tasks[0].name]
    lines = []
    for name, d in by_task.items():
        for p, s in d["stats"].items():
            w = d["paired"].get(p)
            lines.append(f"{name} {p}: test error {_fmt(s['test_error'])}, optimism {_fmt(s['optimism'])}, "
                         f"spread {_fmt(s['spread'], 3)}, evaluations {_fmt(s['evaluations'], 0)}"
                         + (f"; distinct vs {p} W/T/L {w['win']}/{w['tie']}/{w['loss']}" if w else ""))
        lines.append(f"{name}: {d['verdict']}; {d['verdict_more']}")
    result = common.header(NAME, CLAIM, fast, seed, seeds=seeds, policies=list(POLICIES), fresh=fresh,
                           tasks=[t.name for t in tasks], dataset=tasks[0].dataset) | {
        "runs": runs, "tasks": by_task,
        # the first task's, at the top level (the figure's first row)
        "stats": first["stats"], "verdict": first["verdict"], "summary": lines}
    return common.save(out, NAME, result, _figure(runs, by_task))


def _fmt(s: dict, digits: int = 4) -> str:
    if s["mean"] is None or not math.isfinite(s["mean"]):
        return "–"
    ci = "" if s["ci95"] is None else f" ± {s['ci95']:.{digits}f}"
    return f"{s['mean']:.{digits}f}{ci}"


BASIC = (("best_val_error", "best validation error"), ("test_error", "test error of the best setup"),
         ("error_std", "spread in error space"))


def _verdict(summary: dict, keys=BASIC) -> str:
    """Say what the intervals show: a difference only where the 95% intervals do not overlap."""
    def separated(a, b, key):
        x, y = summary[a][key], summary[b][key]
        if x["ci95"] is None or y["ci95"] is None:
            return None
        return x["mean"] + x["ci95"] < y["mean"] - y["ci95"] or y["mean"] + y["ci95"] < x["mean"] - x["ci95"]

    parts = []
    for other in ("shared", "inherited"):
        for key, label in keys:
            sep = separated("distinct", other, key)
            d, o = summary["distinct"][key]["mean"], summary[other][key]["mean"]
            word = "lower" if d < o else "higher"
            if sep:
                parts.append(f"distinct's {label} is {word} than {other}'s ({d:.4f} vs {o:.4f}; 95% intervals apart)")
            else:
                parts.append(f"distinct vs {other}, {label}: {d:.4f} vs {o:.4f}, no difference beyond the noise")
    return "; ".join(parts)


def _figure(runs: list[dict], by_task: dict):
    colors = {"distinct": "tab:blue", "shared": "tab:orange", "inherited": "tab:green"}
    fig, axes = plt.subplots(len(by_task), 3, figsize=(16, 4.5 * len(by_task)), squeeze=False)
    for ax, (task, d) in zip(axes, by_task.items()):
        for r in (r for r in runs if r["task"] == task):
            ax[0].plot([c["evaluations"] for c in r["curve"]], [c["best_error"] for c in r["curve"]],
                       color=colors[r["policy"]], alpha=0.35)
        for p in POLICIES:
            ax[0].plot([], [], color=colors[p], label=p)
        ax[0].set_xlabel("evaluations spent")
        ax[0].set_ylabel("best validation error so far")
        ax[0].set_title(f"{task}: progress (one line per run seed)")
        ax[0].legend()
        x = np.arange(len(POLICIES))
        for k, (key, label) in enumerate((("best_val_error", "best validation error (search)"),
                                          ("test_error", "test error of the choice (fresh seeds)"))):
            s = [d["stats"][p][key] for p in POLICIES]
            ax[1].errorbar(x + (k - 0.5) * 0.2, [v["mean"] for v in s], yerr=[v["ci95"] or 0 for v in s],
                           fmt="o", capsize=4, label=label)
        ax[1].set_title(f"{task}: error by seed policy (mean ± 95%)")
        ax[1].legend(fontsize=8)
        for k, (key, label) in enumerate((("optimism", "optimism (fitness − fresh val loss)"),
                                          ("spread", "spread: pairwise disagreement"))):
            s = [d["stats"][p][key] for p in POLICIES]
            ax[2].errorbar(x + (k - 0.5) * 0.2, [v["mean"] for v in s], yerr=[v["ci95"] or 0 for v in s],
                           fmt="os"[k], capsize=4, label=label)
        ax[2].axhline(0, color="grey", lw=0.8)
        ax[2].set_title(f"{task}: optimism and function-space spread")
        ax[2].legend(fontsize=8)
        for a in ax[1:]:
            a.set_xticks(x, POLICIES)
        for a in ax:
            a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    common.main(NAME, run)
