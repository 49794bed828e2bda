"""The statistics, figure and table of ``bench_search.py``: means with 95% intervals over run seeds,
paired win/tie/loss by run seed, the gain over the canonical start, anytime curves, and the pooled
paired comparison of two contenders over the tasks where the start matters (``compare``)."""

from __future__ import annotations

import math
import statistics

from evoinit.ga.baselines import t95


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
                "optimism": mean_ci([c["fitness"] - _mean(c["final"]["val_loss"]) for c in cs]),
                "trainings": mean_ci([c["trainings"] for c in cs]),
                "spread": mean_ci([c.get("spread") for c in cs]),   # GA: the final population's
                "cpu_seconds": mean_ci([c["cpu_seconds"] for c in cs]),
                "chosen": [c["text"] for c in cs]}
        versus, pairs = {}, {}
        for ga in [n for n in meta["contenders"] if n.startswith("ga")]:
            for name in meta["contenders"]:
                if name != ga:
                    pairs[f"{ga}|{name}"] = [paired(r["contenders"][ga]["final"]["test_error"],
                                                    r["contenders"][name]["final"]["test_error"]) for r in mine]
        for name in meta["contenders"][1:]:
            outcomes = pairs[f"ga|{name}"]
            versus[name] = {k: sum(o["outcome"] == k for o in outcomes) for k in ("win", "tie", "loss")}
        gain = rows["ga"]["gain_over_canonical"]
        beats = gain["mean"] is not None and gain["ci95"] is not None and gain["mean"] - gain["ci95"] > 0
        out[task] = {"contenders": rows, "ga_versus": versus, "pairs": pairs, "ga_beats_canonical": beats,
                     "verdict": (f"gain: {gain['mean']:.4f} ± {gain['ci95']:.4f} lower test error than the "
                                 "canonical start" if beats else "no gain over the canonical start"),
                     "matters": meta["tasks"][task]["matters"]}
    return out


def _fmt(s: dict, digits: int = 4) -> str:
    if s["mean"] is None:
        return "–"
    return f"{s['mean']:.{digits}f}" + (f" ± {s['ci95']:.{digits}f}" if s["ci95"] is not None else "")


def targets(summary: dict, ga: str = "ga") -> dict:
    """The issue's targets, judged on the summary for the GA variant ``ga``: on the tasks where the
    start matters its mean test error ≤ TPE's and < random search's, ≥ 70% paired wins against random
    search (pooled), a gain over the canonical start beyond the 95% interval on ≥ 3 tasks; on the
    others a verdict of no gain."""
    matters = [t for t, s in summary.items() if s["matters"]]
    others = [t for t, s in summary.items() if not s["matters"]]
    err = lambda t, n: summary[t]["contenders"][n]["test_error"]["mean"]  # noqa: E731
    out = {"ga": ga, "matters": matters}
    if all("tpe" in summary[t]["contenders"] for t in matters):
        out["mean_le_tpe"] = [t for t in matters if err(t, ga) <= err(t, "tpe")]
    if all("random" in summary[t]["contenders"] for t in matters):
        out["mean_lt_random"] = [t for t in matters if err(t, ga) < err(t, "random")]
        wins = [o["outcome"] for t in matters for o in paired_runs(summary[t], ga, "random")]
        out["wins_vs_random"] = {k: wins.count(k) for k in ("win", "tie", "loss")}
    out["beats_canonical"] = [t for t in matters if _beats(summary[t]["contenders"][ga]["gain_over_canonical"])]
    out["no_gain_verdicts"] = [t for t in others if not _beats(summary[t]["contenders"][ga]["gain_over_canonical"])]
    out["others"] = others
    return out


def _beats(gain: dict) -> bool:
    return gain["mean"] is not None and gain["ci95"] is not None and gain["mean"] - gain["ci95"] > 0


def paired_runs(task_summary: dict, a: str, b: str) -> list:
    """The per-run-seed outcomes of ``a`` against ``b`` (kept in the summary as ``pairs``)."""
    return task_summary["pairs"].get(f"{a}|{b}", [])


# -- pooled, paired: contender A against B over the tasks where the start matters ---------------------

#: The pooled interval's bootstrap: this many resamples, drawn from this fixed seed (so a figure is
#: the same on every call), 95%: the 2.5% and 97.5% order statistics.
RESAMPLES = 10_000
BOOTSTRAP_SEED = 27
#: The noise control: TPE again from another sampler seed and other training seeds, against TPE.
CONTROL = ("tpe_other", "tpe")


def run_error(contender: dict) -> float:
    """A contender's final test error at one (task, run seed): the mean over its fresh seeds."""
    return _mean(contender["final"]["test_error"])


def bootstrap_pooled(values: dict, resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict:
    """The pooled mean of ``values`` (task -> one value per run seed) and its 95% interval.

    Pooled mean: the mean over tasks of each task's mean over its run seeds (every task weighs the
    same, whatever its number of run seeds; with equal run seeds, the mean of all values).
    Interval: a stratified bootstrap — each of ``resamples`` resamples draws, within every task,
    as many run seeds as the task has, with replacement, from that task's own, and takes the same
    pooled mean; the interval is the k-th smallest and k-th largest of the resampled means,
    k = ⌊0.025·resamples⌋ + 1 (the 251st of 10,000), so that negating the values (swapping A and B)
    negates the interval exactly. The draws come from ``numpy.random.default_rng(seed)`` and depend
    only on the tasks' sizes, never on the values. Tasks without values are left out."""
    import numpy as np

    groups = {t: np.asarray(v, float) for t, v in values.items() if len(v)}
    if not groups:
        return {"mean": None, "low": None, "high": None, "tasks": 0, "n": 0}
    rng = np.random.default_rng(seed)
    total = np.zeros(resamples)
    for g in groups.values():
        total += g[rng.integers(0, len(g), size=(resamples, len(g)))].mean(axis=1)
    boot = np.sort(total / len(groups))
    k = int(0.025 * resamples)
    return {"mean": statistics.fmean(statistics.fmean(g.tolist()) for g in groups.values()),
            "low": float(boot[k]), "high": float(boot[-1 - k]), "tasks": len(groups),
            "n": sum(len(g) for g in groups.values()), "resamples": resamples, "seed": seed}


def task_scales(runs: list[dict], tasks) -> dict:
    """Per task, the constant each difference is divided by: the task's mean test error over ALL
    the contenders in ``runs`` that ran it (the mean over contenders of each one's mean over its
    run seeds), so it depends on the output read, and every pair compared in one output shares it.
    Not the pair's own mean error: where both errors are near zero (circles) that would turn a
    difference of a few test points into a huge relative one; a constant per task keeps the
    differences additive (A − B and B − C add up to A − C)."""
    out = {}
    for task in tasks:
        per = {}
        for r in runs:
            if r["task"] == task:
                for name, c in r["contenders"].items():
                    per.setdefault(name, []).append(run_error(c))
        means = [_mean(v) for v in per.values()]
        out[task] = _mean(means)
    return out


def pair(runs: list[dict], tasks: dict, a: str, b: str, scales: dict) -> dict:
    """Contender ``a`` against ``b``, paired by (task, run seed): per task the run seeds where both
    have a finite test error, each one's mean, the difference a − b (mean ± 95% t interval over run
    seeds), that mean relative to the task's scale (``task_scales``), W/T/L from a's side (``paired``:
    a win when a's error is lower beyond the 95% interval over the fresh seeds); pooled over the
    tasks where the start matters (``tasks[t]["matters"]``), the relative differences by
    ``bootstrap_pooled``. Negative: a has the lower error."""
    per, pooled, wtl = {}, {}, {"win": 0, "tie": 0, "loss": 0}
    for task, info in tasks.items():
        mine = [r for r in runs if r["task"] == task and a in r["contenders"] and b in r["contenders"]]
        mine = [r for r in mine if all(math.isfinite(run_error(r["contenders"][n])) for n in (a, b))]
        if not mine:
            continue
        mine.sort(key=lambda r: r["seed"])
        ea = [run_error(r["contenders"][a]) for r in mine]
        eb = [run_error(r["contenders"][b]) for r in mine]
        d = [x - y for x, y in zip(ea, eb)]
        outcomes = [paired(r["contenders"][a]["final"]["test_error"],
                           r["contenders"][b]["final"]["test_error"])["outcome"] for r in mine]
        scale = scales.get(task, math.nan)
        usable = math.isfinite(scale) and scale > 0
        row = {"matters": info["matters"], "seeds": [r["seed"] for r in mine], "n": len(mine),
               "a": statistics.fmean(ea), "b": statistics.fmean(eb), "diff": mean_ci(d),
               "diffs": d, "scale": scale, "relative": statistics.fmean(d) / scale if usable else None,
               **{k: outcomes.count(k) for k in ("win", "tie", "loss")}}
        per[task] = row
        if info["matters"] and usable:
            pooled[task] = [x / scale for x in d]
            for k in wtl:
                wtl[k] += row[k]
    return {"a": a, "b": b, "tasks": per, "pooled": bootstrap_pooled(pooled) | wtl,
            "pooled_tasks": list(pooled)}


def compare(runs: list[dict], tasks: dict, a: str, b: str) -> dict:
    """``a`` against ``b`` (``pair``), and the noise control ``CONTROL`` on the same runs whenever
    both of its contenders are there: the scales from every contender in ``runs``."""
    scales = task_scales(runs, tasks)
    names = {n for r in runs for n in r["contenders"]}
    out = {"scales": scales, "contenders": sorted(names), "pair": pair(runs, tasks, a, b, scales)}
    if set(CONTROL) <= names:
        out["control"] = pair(runs, tasks, *CONTROL, scales)
    return out


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:+.1f}%"


def _interval(p: dict) -> str:
    if p["mean"] is None:
        return "–"
    return f"{_pct(p['mean'])} [{_pct(p['low'])}, {_pct(p['high'])}]"


def seeds_text(seeds) -> str:
    """Run seeds as ranges: 0–9, 1000–1004."""
    seeds, parts = sorted(set(seeds)), []
    for s in seeds:
        if parts and s == parts[-1][1] + 1:
            parts[-1][1] = s
        else:
            parts.append([s, s])
    return ", ".join(str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in parts)


def compare_text(result: dict, sources: list) -> str:
    """``compare``'s result as an 80-column table: per task, A − B with its t interval, relative
    to the task's scale, W/T/L; the pooled row and the control row."""
    p = result["pair"]
    a, b = p["a"], p["b"]
    lines = [f"A = {a}, B = {b}: final test error paired by (task, run seed)",
             f"from {', '.join(map(str, sources))}"[:80],
             f"{'task':<17}{'n':>3}{'scale':>8}{'A':>8}{'B':>8}  {'A − B ± 95% (t)':<17}{'rel.':>8}{'W/T/L':>9}"]
    for task, row in p["tasks"].items():
        d = row["diff"]
        diff = f"{d['mean']:+.4f}" + (f" ± {d['ci95']:.4f}" if d["ci95"] is not None else "")
        name = task[:16] + ("" if row["matters"] else "*")
        lines.append(f"{name:<17}{row['n']:>3}{row['scale']:>8.4f}{row['a']:>8.4f}{row['b']:>8.4f}  "
                     f"{diff:<17}{_pct(row['relative']):>8}{_wtl(row):>9}")
    seeds = [s for row in p["tasks"].values() for s in row["seeds"]]
    pooled = p["pooled"]
    tasks = f"{pooled['tasks']} task{'s' if pooled['tasks'] != 1 else ''}"
    lines += ["", f"Pooled over the {tasks} where the start matters, A − B in % of the task's scale:"]
    rows = [(f"{a} − {b}", pooled)]
    if "control" in result:
        rows.append((f"control {CONTROL[0]} − {CONTROL[1]}", result["control"]["pooled"]))
    for label, q in rows:
        wtl = f"{q['win']}/{q['tie']}/{q['loss']}"
        lines.append(f"  {label[:32]:<32} {_interval(q):<28} W/T/L {wtl}")
    lines += ["", *_wrap(
        f"Run seeds {seeds_text(seeds) or '–'}. n: run seeds where both have a final score; A, B: "
        "mean test error (each run seed's choice retrained from the fresh seeds); A − B: mean over "
        "run seeds ± its 95% t interval; rel.: that mean in % of the scale, the task's mean test "
        f"error over all contenders read ({len(result['contenders'])}); W/T/L from A's side, a tie "
        "within the 95% interval over the fresh seeds; *: the start should not matter, not pooled. "
        f"Pooled: the mean over tasks of each task's mean relative difference; [95%]: stratified "
        f"bootstrap, run seeds resampled within each task, {RESAMPLES:,} resamples, seed "
        f"{BOOTSTRAP_SEED}. Negative: A has the lower error.")]
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int = 80) -> list:
    import textwrap

    return textwrap.wrap(text, width)


def pooled_markdown(pooled: dict) -> list:
    """The pooled rows of ``render``'s summary as a Markdown table (none when no task matters)."""
    rows = [[f"{q['a']} − {q['b']}" + (" (control)" if key == "control" else ""), _interval(q["pooled"]),
             f"{q['pooled']['win']}/{q['pooled']['tie']}/{q['pooled']['loss']}"]
            for key, q in pooled.items() if q["pooled"]["mean"] is not None]
    if not rows:
        return []
    return _table(["A − B", "pooled, % of the task's mean error [95%]", "W/T/L (A's side)"], rows) + [
        "", "Pooled over the tasks where the start matters and paired by (task, run seed): A − B in % of "
        "the task's mean test error over all contenders, averaged over tasks; 95%: stratified "
        f"bootstrap (run seeds resampled within each task, {RESAMPLES:,} resamples, seed "
        f"{BOOTSTRAP_SEED}). Control: TPE from another seed against TPE, the run-to-run noise. One "
        "pair across output folders: `--compare A,B --from DIR,DIR`.", ""]


def pooled_pairs(runs: list[dict], meta: dict) -> dict:
    """For ``render``: every GA variant against the GA, every GA (variant) against every peer, and
    the control when both of its contenders ran, keyed "A|B" (the control: "control")."""
    names = meta["contenders"]
    gas = [n for n in names if n.startswith("ga")]
    todo = [(v, "ga") for v in gas if v != "ga"] + [(g, n) for g in gas for n in names if not n.startswith("ga")]
    scales = task_scales(runs, meta["tasks"])
    out = {f"{a}|{b}": pair(runs, meta["tasks"], a, b, scales) for a, b in todo}
    if set(CONTROL) <= set(names):
        out["control"] = pair(runs, meta["tasks"], *CONTROL, scales)
    return out


def _table(head: list, rows: list) -> list:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(summary: dict, meta: dict) -> str:
    names = meta["contenders"]
    peers = [n for n in names if not n.startswith("ga")]
    variants = [n for n in names if n.startswith("ga_")]
    head = (["task", "start matters", "GA", *peers, "canonical @ GA's widths"]
            + [f"GA vs {n} W/T/L" for n in peers] + ["GA − canonical", "trainings", "CPU s GA/" + "/".join(peers)])
    rows = []
    for task, s in summary.items():
        c = s["contenders"]
        best = min(c[n]["test_error"]["mean"] for n in ["ga", *peers] if c[n]["test_error"]["mean"] is not None)
        cells = [task, "yes" if s["matters"] else "no"]
        for n in ["ga", *peers]:
            text = _fmt(c[n]["test_error"])
            cells.append(f"**{text}**" if c[n]["test_error"]["mean"] == best else text)
        cells.append(_fmt(c["ga"]["canonical_test_error"]))
        cells += [_wtl(s["ga_versus"][n]) for n in peers]
        gain = _fmt(c["ga"]["gain_over_canonical"])
        cells.append(f"**{gain}**" if _beats(c["ga"]["gain_over_canonical"]) else gain)
        cells.append(f"{c['ga']['trainings']['mean']:.0f}")
        cells.append("/".join(f"{c[n]['cpu_seconds']['mean']:.0f}" for n in ["ga", *peers]))
        rows.append(cells)
    seeds = sorted(set(meta.get("seeds_done", {}).values())) or [meta["seeds"]]
    lines = _table(head, rows)
    lines += ["", f"Mean test error over {'–'.join(map(str, seeds))} run seeds (± 95% interval), each run "
              f"seed's chosen setup retrained from {meta['fresh']} fresh seeds; W/T/L paired by run seed (a "
              "tie when the difference is within its 95% interval over the fresh seeds); GA − canonical: "
              "the canonical start's test error minus the GA's at the GA's widths (bold: beyond the 95% "
              "interval over run seeds); trainings per search (every peer gets exactly the GA's); CPU "
              "seconds per search.", ""]
    if variants:
        head = ["task", "GA", *variants] + [f"GA vs {n} W/T/L" for n in variants] + \
            [f"optimism {n}" for n in ["ga", *variants]] + [f"{n} − canonical" for n in variants] + \
            ["trainings " + "/".join(["GA", *variants])]
        rows = []
        for task, s in summary.items():
            c = s["contenders"]
            rows.append([task, _fmt(c["ga"]["test_error"]), *[_fmt(c[n]["test_error"]) for n in variants],
                         *[_wtl(s["ga_versus"][n]) for n in variants],
                         *[_fmt(c[n]["optimism"]) for n in ["ga", *variants]],
                         *[_fmt(c[n]["gain_over_canonical"]) for n in variants],
                         "/".join(f"{c[n]['trainings']['mean']:.0f}" for n in ["ga", *variants])])
        lines += _table(head, rows)
        lines += ["", "GA variants against the GA (W/T/L from the GA's side: a loss is a variant better "
                  "beyond noise). Optimism: the search's fitness of its choice minus that setup's "
                  "validation loss from the fresh seeds (negative: the search fooled itself).", ""]
    for ga in ["ga", *variants]:
        t = targets(summary, ga)
        parts = [f"{ga}: on the {len(t['matters'])} tasks where the start matters"]
        if "mean_le_tpe" in t:
            parts.append(f"mean ≤ TPE on {len(t['mean_le_tpe'])}")
        if "mean_lt_random" in t:
            w = t["wins_vs_random"]
            parts.append(f"mean < random on {len(t['mean_lt_random'])}; paired vs random "
                         f"{w['win']}/{w['tie']}/{w['loss']} W/T/L")
        parts.append(f"beats the canonical start beyond the 95% interval on {len(t['beats_canonical'])}"
                     f" ({', '.join(t['beats_canonical']) or 'none'}); no-gain verdict on "
                     f"{len(t['no_gain_verdicts'])} of the {len(t['others'])} others")
        lines.append("- " + ", ".join(parts) + ".")
    return "\n".join(lines) + "\n"


def _wtl(v: dict) -> str:
    return f"{v['win']}/{v['tie']}/{v['loss']}"


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
