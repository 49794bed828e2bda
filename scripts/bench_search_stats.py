"""The statistics, figure and table of ``bench_search.py``: means with 95% intervals over run seeds,
paired win/tie/loss by run seed, the gain over the canonical start, anytime curves."""

from __future__ import annotations

import math
import statistics

from evoinit.baselines import t95


def mean_ci(values) -> dict:
    """Mean and half-width of its 95% interval (t), over the finite values."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return {"mean": None, "ci95": None, "n": 0}
    half = t95(len(v) - 1) * statistics.stdev(v) / math.sqrt(len(v)) if len(v) > 1 else None
    return {"mean": statistics.fmean(v), "ci95": half, "n": len(v)}


def _mean(values) -> float:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return statistics.fmean(v) if v else math.nan


def paired(ga: list, peer: list) -> dict:
    """One run seed: peer minus GA over the fresh seeds (paired by fresh seed); "win" when the GA's
    error is lower beyond the 95% interval of the difference, "loss" when higher, else "tie"."""
    d = [b - a for a, b in zip(ga, peer) if math.isfinite(a) and math.isfinite(b)]
    if len(d) < 2:
        return {"diff": _mean(d), "ci95": None, "outcome": "tie"}
    m, half = statistics.fmean(d), t95(len(d) - 1) * statistics.stdev(d) / math.sqrt(len(d))
    return {"diff": m, "ci95": half, "outcome": "win" if m > half else "loss" if m < -half else "tie"}


def summarize(runs: list[dict], meta: dict) -> dict:
    """Per task: every contender's test error (mean ± 95% over run seeds), its canonical start's,
    trainings and CPU seconds, the optimism of its choice; the GA's paired record against each peer
    and its gain over the canonical start at its widths; a verdict."""
    out = {}
    for task in meta["tasks"]:
        mine = [r for r in runs if r["task"] == task]
        rows = {}
        for name in meta["contenders"]:
            cs = [r["contenders"][name] for r in mine]
            rows[name] = {
                "test_error": mean_ci([_mean(c["final"]["test_error"]) for c in cs]),
                "canonical_test_error": mean_ci([_mean(c["final"]["canonical"]["test_error"]) for c in cs]),
                "gain_over_canonical": mean_ci([_mean(c["final"]["canonical"]["test_error"])
                                                - _mean(c["final"]["test_error"]) for c in cs]),
                "search_fitness": mean_ci([c["fitness"] for c in cs]),
                "fresh_val_loss": mean_ci([_mean(c["final"]["val_loss"]) for c in cs]),
                "final_diverged": sum(not math.isfinite(x) for c in cs for x in c["final"]["test_error"]),
                "trainings": mean_ci([c["trainings"] for c in cs]),
                "cpu_seconds": mean_ci([c["cpu_seconds"] for c in cs]),
                "chosen": [c["text"] for c in cs]}
        versus = {}
        for name in meta["contenders"][1:]:
            outcomes = [paired(r["contenders"]["ga"]["final"]["test_error"],
                               r["contenders"][name]["final"]["test_error"]) for r in mine]
            versus[name] = {k: sum(o["outcome"] == k for o in outcomes) for k in ("win", "tie", "loss")}
            versus[name]["per_seed"] = outcomes
        gain = rows["ga"]["gain_over_canonical"]
        beats = gain["mean"] is not None and gain["ci95"] is not None and gain["mean"] - gain["ci95"] > 0
        out[task] = {"contenders": rows, "ga_versus": versus, "ga_beats_canonical": beats,
                     "verdict": (f"gain: {gain['mean']:.4f} ± {gain['ci95']:.4f} lower test error than the "
                                 "canonical start" if beats else "no gain over the canonical start"),
                     "matters": meta["tasks"][task]["matters"]}
    return out


def _fmt(s: dict, digits: int = 4) -> str:
    if s["mean"] is None:
        return "–"
    return f"{s['mean']:.{digits}f}" + (f" ± {s['ci95']:.{digits}f}" if s["ci95"] is not None else "")


def markdown(summary: dict, meta: dict) -> str:
    names = meta["contenders"]
    head = (["task", "start matters"] + [f"{n}" for n in names] + ["canonical @ GA's widths"]
            + [f"GA vs {n} W/T/L" for n in names[1:]] + ["GA − canonical", "trainings", "CPU s " + "/".join(names)])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task, s in summary.items():
        rows = s["contenders"]
        best = min((rows[n]["test_error"]["mean"] for n in names if rows[n]["test_error"]["mean"] is not None),
                   default=None)
        cells = [task, "yes" if s["matters"] else "no"]
        for n in names:
            text = _fmt(rows[n]["test_error"])
            cells.append(f"**{text}**" if rows[n]["test_error"]["mean"] == best else text)
        cells.append(_fmt(rows["ga"]["canonical_test_error"]))
        cells += [f"{v['win']}/{v['tie']}/{v['loss']}" for v in s["ga_versus"].values()]
        gain = rows["ga"]["gain_over_canonical"]
        cells.append(("**" if s["ga_beats_canonical"] else "") + _fmt(gain)
                     + ("**" if s["ga_beats_canonical"] else ""))
        cells.append(f"{rows['ga']['trainings']['mean']:.0f}")
        cells.append("/".join(f"{rows[n]['cpu_seconds']['mean']:.0f}" for n in names))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    seeds = sorted(set(meta.get("seeds_done", {}).values())) or [meta["seeds"]]
    lines.append(f"Mean test error over {'–'.join(map(str, seeds))} run seeds (± 95% interval), each run seed's chosen "
                 f"setup retrained from {meta['fresh']} fresh seeds; W/T/L paired by run seed (a tie when "
                 "the difference is within its 95% interval over the fresh seeds); GA − canonical: the "
                 "canonical start's test error minus the GA's at the GA's widths (bold: beyond the 95% "
                 "interval); trainings per search (every peer gets the GA's); CPU seconds per search.")
    return "\n".join(lines) + "\n"


def _grid_values(curve: list, grid: list) -> list:
    """The best-so-far step function of ``curve`` at each grid point (NaN before its first point)."""
    out, j, best = [], 0, math.nan
    for x in grid:
        while j < len(curve) and curve[j][0] <= x:
            best = curve[j][1]
            j += 1
        out.append(best if best < 1e11 else math.inf)
    return out


def figure(runs: list[dict], meta: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tasks = list(meta["tasks"])
    cols = min(4, len(tasks))
    rows = math.ceil(len(tasks) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        mine = [r for r in runs if r["task"] == task]
        top = max(p[0] for r in mine for c in r["contenders"].values() for p in c["anytime"])
        grid = list(np.linspace(1, top, 60))
        for name in meta["contenders"]:
            ys = np.array([_grid_values(r["contenders"][name]["anytime"], grid) for r in mine], float)
            with np.errstate(all="ignore"):
                q = np.nanpercentile(ys, [25, 50, 75], axis=0) if np.isfinite(ys).any() else None
            if q is None:
                continue
            ax.plot(grid, q[1], label=name)
            ax.fill_between(grid, q[0], q[2], alpha=0.2)
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("trainings spent")
        ax.set_ylabel("best validation loss")
        ax.set_yscale("log")
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Best validation loss found against trainings: median and quartiles over run seeds",
                 fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
