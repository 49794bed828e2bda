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

PRUNED = ("ga_prune", "ga_prune_half")


def _mean_test(c: dict) -> float:
    v = [x for x in c["final"]["test_error"] if x is not None and math.isfinite(x)]
    return statistics.fmean(v) if v else math.nan


def table(doc: dict) -> tuple[list[str], dict]:
    """The section's rows and the verdict's counts."""
    runs, tasks = doc["runs"], list(doc["meta"]["tasks"])
    head = ["task", "GA", "ga_prune (= CPU)", "ga_prune − GA", "ga_prune_half (½ CPU)", "ga_prune_half − GA",
            "CPU s GA/prune/half", "epochs GA/prune/half", "generations GA/prune/half", "pruned evaluations"]
    rows, better, same_half, cpu_share = [], [], [], []
    for task in tasks:
        mine = [r for r in runs if r["task"] == task]
        m = {n: stats.mean_ci([_mean_test(r["contenders"][n]) for r in mine]) for n in ("ga", *PRUNED)}
        d = {n: stats.mean_ci([_mean_test(r["contenders"][n]) - _mean_test(r["contenders"]["ga"]) for r in mine])
             for n in PRUNED}
        cpu = {n: statistics.fmean(r["contenders"][n]["cpu_seconds"] for r in mine) for n in ("ga", *PRUNED)}
        ga_epochs = statistics.fmean(r["contenders"]["ga"]["trainings"] * doc["meta"]["tasks"][task]["epochs"]
                                     for r in mine)   # no pruning: every training runs all its epochs
        epochs = [ga_epochs] + [statistics.fmean(r["contenders"][n]["epochs"] for r in mine) for n in PRUNED]
        gens = [doc["meta"]["tasks"][task]["generations"]] + [
            statistics.fmean(r["contenders"][n]["generations"] for r in mine) for n in PRUNED]
        pruned = statistics.fmean(r["contenders"]["ga_prune"]["pruned"] for r in mine)
        if m["ga_prune"]["mean"] < m["ga"]["mean"]:
            better.append(task)
        half = d["ga_prune_half"]
        if half["ci95"] is not None and half["mean"] - half["ci95"] <= 0:
            same_half.append(task)
        cpu_share.append(cpu["ga_prune_half"] / cpu["ga"])
        rows.append([task, stats._fmt(m["ga"]), stats._fmt(m["ga_prune"]), stats._fmt(d["ga_prune"]),
                     stats._fmt(m["ga_prune_half"]), stats._fmt(d["ga_prune_half"]),
                     "/".join(f"{cpu[n]:.1f}" for n in ("ga", *PRUNED)), "/".join(f"{e:.0f}" for e in epochs),
                     "/".join(f"{g:.1f}" for g in gens), f"{pruned:.0f}"])
    lines = stats._table(head, rows)
    return lines, {"tasks": tasks, "better": better, "same_half": same_half,
                   "cpu_share_half": (min(cpu_share), max(cpu_share)), "seeds": len(runs) // max(len(tasks), 1)}


def section(doc: dict) -> str:
    lines, v = table(doc)
    n = len(v["tasks"])
    lo, hi = v["cpu_share_half"]
    return "\n".join([
        "## Successive halving in the GA (issue 12)", "",
        *lines, "",
        f"Mean test error over {v['seeds']} run seeds (± 95% interval), each run seed's choice retrained from "
        f"{doc['meta']['fresh']} fresh seeds; differences paired by run seed (negative: pruning better). "
        "ga_prune races 3·μ offspring per generation through the rungs E/9 and E/3 (η = 3; only rungs of at "
        "least one epoch), the best third going on at each, and runs generations while its CPU time (time."
        "process_time) plus half its last generation's stays below the plain GA's; ga_prune_half gets half "
        "of it. Epochs: what the evaluations trained (timings.jsonl; for the GA trainings × epochs, an "
        "upper bound: a diverged one stops early).", "",
        f"- Equal CPU time: ga_prune's mean test error is below the GA's on {len(v['better'])} of {n} tasks "
        f"({', '.join(v['better']) or 'none'}); the target is ≥ 4 of 6.",
        f"- Half the CPU time (measured {lo:.0%}–{hi:.0%} of the GA's): ga_prune_half is within noise of the "
        f"GA or better on {len(v['same_half'])} of {n} tasks ({', '.join(v['same_half']) or 'none'}).", ""])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    doc = json.loads((Path(argv[0] if argv else "benchout/prune") / "bench_search.json").read_text())
    print(section(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
