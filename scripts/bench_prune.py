"""Issue 12's verdict on successive halving, from a ``bench_search.py`` run with the contenders
``ga,ga_prune,ga_prune_half``: a Markdown section for docs/bench_search.md.

Usage:
    python scripts/bench_search.py --contenders ga,ga_prune,ga_prune_half --out benchout/prune
    python scripts/bench_prune.py benchout/prune            # prints the section

Per task: the mean test error (± 95% interval over run seeds) of the plain GA, of the GA with
pruning at the GA's CPU seconds (ga_prune) and at half of them (ga_prune_half); the paired
difference by run seed (pruned − GA, ± 95%); the CPU seconds each spent (``time.process_time``),
the epochs it trained (timings.jsonl), its generations and its pruned evaluations. The issue's
two ways to pass: a lower mean test error at equal CPU time on ≥ 4 of the 6 tasks, or the same
quality (the paired difference within its 95% interval, or better) in ≤ 50% of the CPU time.
"""

from __future__ import annotations

import json
import math
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_search_stats as stats  # noqa: E402

#: The share of the plain GA's CPU time each pruned contender gets (bench_contenders.PRUNED_CPU).
SHARE = {"ga_prune": 1.0, "ga_prune_half": 0.5, "ga_prune_eta2": 1.0}


def _mean_test(c: dict) -> float:
    v = [x for x in c["final"]["test_error"] if x is not None and math.isfinite(x)]
    return statistics.fmean(v) if v else math.nan


def _beyond(d: dict) -> int:
    """+1: worse than the GA beyond the 95% interval, -1: better beyond it, 0: within noise."""
    if d["ci95"] is None:
        return 0
    return 1 if d["mean"] - d["ci95"] > 0 else -1 if d["mean"] + d["ci95"] < 0 else 0


def table(doc: dict) -> tuple[list[str], dict]:
    """The section's rows, and per pruned contender the tasks where its mean is below the GA's,
    where it is better or worse beyond noise, and its CPU time as a share of the GA's."""
    runs, tasks = doc["runs"], list(doc["meta"]["tasks"])
    pruned = [n for n in doc["meta"]["contenders"] if n in SHARE]
    names = ("ga", *pruned)
    head = (["task", "GA"] + [f"{n} ({SHARE[n]:g}× CPU)" for n in pruned] + [f"{n} − GA" for n in pruned]
            + ["CPU s " + "/".join(names), "epochs " + "/".join(names), "generations " + "/".join(names)])
    rows, verdict = [], {n: {"below": [], "better": [], "worse": [], "share": []} for n in pruned}
    for task in tasks:
        mine = [r for r in runs if r["task"] == task]
        meta = doc["meta"]["tasks"][task]
        m = {n: stats.mean_ci([_mean_test(r["contenders"][n]) for r in mine]) for n in names}
        d = {n: stats.mean_ci([_mean_test(r["contenders"][n]) - _mean_test(r["contenders"]["ga"]) for r in mine])
             for n in pruned}
        cpu = {n: statistics.fmean(r["contenders"][n]["cpu_seconds"] for r in mine) for n in names}
        # the GA's epochs: trainings × epochs, an upper bound (a diverged training stops early)
        epochs = [statistics.fmean(r["contenders"]["ga"]["trainings"] for r in mine) * meta["epochs"]] + [
            statistics.fmean(r["contenders"][n]["epochs"] for r in mine) for n in pruned]
        gens = [meta["generations"]] + [statistics.fmean(r["contenders"][n]["generations"] for r in mine)
                                        for n in pruned]
        for n in pruned:
            v = verdict[n]
            if m[n]["mean"] < m["ga"]["mean"]:
                v["below"].append(task)
            {1: v["worse"], -1: v["better"], 0: []}[_beyond(d[n])].append(task)
            v["share"].append(cpu[n] / cpu["ga"])
        rows.append([task, stats._fmt(m["ga"]), *[stats._fmt(m[n]) for n in pruned],
                     *[stats._fmt(d[n]) for n in pruned], "/".join(f"{cpu[n]:.1f}" for n in names),
                     "/".join(f"{e:.0f}" for e in epochs), "/".join(f"{g:.1f}" for g in gens)])
    return stats._table(head, rows), verdict


def section(doc: dict) -> str:
    lines, verdict = table(doc)
    n, seeds = len(doc["meta"]["tasks"]), len(doc["runs"]) // max(len(doc["meta"]["tasks"]), 1)
    out = [*lines, "",
           f"Mean test error over {seeds} run seeds (± 95% interval), each run seed's choice retrained from "
           f"{doc['meta']['fresh']} fresh seeds; differences paired by run seed (negative: pruning better). "
           "A pruned contender races η·μ offspring per generation through the rungs E/η² and E/η (only rungs "
           "of at least one epoch), the best 1/η going on at each, and runs generations while its CPU time "
           "(time.process_time) plus half its last generation's stays below its share of the plain GA's. "
           "Epochs: what the evaluations trained (timings.jsonl; for the GA trainings × epochs, an upper "
           "bound: a diverged one stops early).", ""]
    for name, v in verdict.items():
        share = f"{min(v['share']):.0%}–{max(v['share']):.0%} of the GA's CPU time"
        out.append(f"- {name} ({share}): mean test error below the GA's on {len(v['below'])} of {n} tasks "
                   f"({', '.join(v['below']) or 'none'}); better beyond the 95% interval on "
                   f"{len(v['better'])} ({', '.join(v['better']) or 'none'}), worse beyond it on "
                   f"{len(v['worse'])} ({', '.join(v['worse']) or 'none'}).")
    return "\n".join(out + [""])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    doc = json.loads((Path(argv[0] if argv else "benchout/prune") / "bench_search.json").read_text())
    print(section(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
