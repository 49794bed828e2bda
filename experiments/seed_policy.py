"""Seed policy in the search: do distinct starting weights make the GA explore the error space better?

The same genetic algorithm runs with each seed policy over several run seeds:

- ``distinct`` — every evaluation starts from its own weights and sees its own data order;
- ``shared`` — every evaluation of an architecture starts from the same weights and order
  (re-evaluating a genome gives the same number, so the GA can only search over setups);
- ``inherited`` — the seed is a gene, passed from parents to offspring and mutated.

Per generation it records the best validation error found so far against the evaluations spent
(the shared policy re-uses results, so it spends fewer), and the population's spread in error
space (std of the individuals' validation errors, and the number of distinct setups). The best
genome of each run is then rescored on the test split from fresh seeds, so a lucky seed picked on
validation does not flatter a policy. Means come with 95% confidence intervals over run seeds
(t-distribution); the claim is tested, not assumed: the JSON says what the numbers show.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import common
from evoinit import search as S
from evoinit.config import SearchConfig
from evoinit.network import TrainSettings

NAME = "seed_policy"
CLAIM = ("Distinct starting weights explore the error space better than shared ones: tested by the "
         "best validation error against evaluations spent, the population's spread in error space, "
         "and the test error of each run's best setup, over several run seeds.")
POLICIES = ("distinct", "shared", "inherited")
# two-sided 95% t quantiles by degrees of freedom
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26}


def ci95(values) -> dict:
    values = [float(v) for v in values]
    n = len(values)
    mean = statistics.fmean(values)
    half = T95.get(n - 1, 1.96) * statistics.stdev(values) / math.sqrt(n) if n > 1 else None
    return {"mean": mean, "ci95": half, "n": n, "values": values}


def one_run(policy: str, seed: int, fast: bool) -> dict:
    cfg = SearchConfig(dataset="iris" if fast else "digits", population=6 if fast else 12,
                       generations=3 if fast else 12, repeats=2, seed=seed, seed_policy=policy,
                       train=TrainSettings(epochs=5 if fast else 10), hall_of_fame=1)
    result = S.search(cfg.dataset, config=cfg, n_jobs=1)
    spent, best, curve = 0, math.inf, []
    for row in result.logbook:
        spent += row["nevals"]
        if row["best_error"] is not None:
            best = min(best, row["best_error"])
        curve.append({"gen": row["gen"], "evaluations": spent, "best_error": best,
                      "error_std": row["error_std"], "unique": row["unique"]})
    top = result.hall_of_fame[0]
    return {"policy": policy, "seed": seed, "curve": curve, "best_genome": top["text"],
            "best_val_error": top["val_error"], "test_error": top["test"]["error"]["mean"],
            "evaluations": spent}


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    seeds = [seed + k for k in range(2 if fast else 5)]
    runs = [one_run(policy, s, fast) for policy in POLICIES for s in seeds]
    by = {p: [r for r in runs if r["policy"] == p] for p in POLICIES}
    summary = {}
    for p, rs in by.items():
        summary[p] = {"best_val_error": ci95([r["curve"][-1]["best_error"] for r in rs]),
                      "test_error": ci95([r["test_error"] for r in rs]),
                      "error_std": ci95([statistics.fmean(c["error_std"] for c in r["curve"] if c["error_std"] is not None)
                                         for r in rs]),
                      "unique": ci95([statistics.fmean(c["unique"] for c in r["curve"]) for r in rs]),
                      "evaluations": ci95([r["evaluations"] for r in rs])}
    verdict = _verdict(summary)
    lines = [f"{p}: best val error {_fmt(s['best_val_error'])}, test error {_fmt(s['test_error'])}, "
             f"spread {_fmt(s['error_std'])}, evaluations {_fmt(s['evaluations'], 0)}"
             for p, s in summary.items()]
    result = common.header(NAME, CLAIM, fast, seed, seeds=seeds, policies=list(POLICIES),
                           dataset="iris" if fast else "digits") | {
        "runs": runs, "stats": summary, "verdict": verdict, "summary": lines + [verdict]}
    return common.save(out, NAME, result, _figure(by, summary))


def _fmt(s: dict, digits: int = 4) -> str:
    ci = "" if s["ci95"] is None else f" ± {s['ci95']:.{digits}f}"
    return f"{s['mean']:.{digits}f}{ci}"


def _verdict(summary: dict) -> str:
    """Say what the intervals show: a difference only where the 95% intervals do not overlap."""
    def separated(a, b, key):
        x, y = summary[a][key], summary[b][key]
        if x["ci95"] is None or y["ci95"] is None:
            return None
        return x["mean"] + x["ci95"] < y["mean"] - y["ci95"] or y["mean"] + y["ci95"] < x["mean"] - x["ci95"]

    parts = []
    for other in ("shared", "inherited"):
        for key, label in (("best_val_error", "best validation error"), ("test_error", "test error of the best setup"),
                           ("error_std", "spread in error space")):
            sep = separated("distinct", other, key)
            d, o = summary["distinct"][key]["mean"], summary[other][key]["mean"]
            word = "lower" if d < o else "higher"
            if sep:
                parts.append(f"distinct's {label} is {word} than {other}'s ({d:.4f} vs {o:.4f}; 95% intervals apart)")
            else:
                parts.append(f"distinct vs {other}, {label}: {d:.4f} vs {o:.4f}, no difference beyond the noise")
    return "; ".join(parts)


def _figure(by: dict, summary: dict):
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    colors = {"distinct": "tab:blue", "shared": "tab:orange", "inherited": "tab:green"}
    for p, rs in by.items():
        for r in rs:
            ev = [c["evaluations"] for c in r["curve"]]
            axes[0].plot(ev, [c["best_error"] for c in r["curve"]], color=colors[p], alpha=0.35)
            axes[1].plot([c["gen"] for c in r["curve"]], [c["error_std"] for c in r["curve"]],
                         color=colors[p], alpha=0.35)
        axes[0].plot([], [], color=colors[p], label=p)
    axes[0].set_xlabel("evaluations spent")
    axes[0].set_ylabel("best validation error so far")
    axes[0].set_title("progress per evaluation (one line per run seed)")
    axes[0].legend()
    axes[1].set_xlabel("generation")
    axes[1].set_ylabel("std of the population's validation errors")
    axes[1].set_title("spread of the population in error space")
    axes[1].set_yscale("log")
    for ax in axes[:2]:
        ax.grid(alpha=0.3)
    names = list(summary)
    for k, key in enumerate(("best_val_error", "test_error")):
        means = [summary[p][key]["mean"] for p in names]
        errs = [summary[p][key]["ci95"] or 0 for p in names]
        axes[2].errorbar(np.arange(len(names)) + (k - 0.5) * 0.2, means, yerr=errs, fmt="o", capsize=4,
                         label={"best_val_error": "best validation error", "test_error": "test error of best"}[key])
    axes[2].set_xticks(range(len(names)), names)
    axes[2].set_ylabel("error (mean ± 95% CI over run seeds)")
    axes[2].set_title("by seed policy")
    axes[2].legend()
    axes[2].grid(alpha=0.3)
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    common.main(NAME, run)
