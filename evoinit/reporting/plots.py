"""Matplotlib figures from evaluations, run folders and experiment results (PNG files).

Every function takes plain values and a path, draws with the non-interactive Agg backend and
returns the path written.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

METRIC_LABEL = {"val_error": "validation error", "val_r2": "validation R²"}


def save(fig, path) -> Path:
    """Write ``fig`` as a PNG at ``path`` atomically (``rundir.atomic_write``: a temporary file,
    then a rename, never through a link), close it and return the path."""
    from evoinit.runfolder.files import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    atomic_write(path, png.getvalue())
    return path


def literal_text():
    """A context in which every text drawn is shown as written: ``$…$`` in a name from a run
    folder is not parsed as mathtext (where a bad formula fails the figure, or draws markup)."""
    return matplotlib.rc_context({"text.parse_math": False})


def _palette(n: int) -> list:
    """n distinguishable colours (tab10 first, then the 20-colour tables)."""
    colors = list(plt.get_cmap("tab10").colors)
    for name in ("tab20b", "tab20c", "tab20"):
        colors += list(plt.get_cmap(name).colors)
    return [colors[i % len(colors)] for i in range(n)]


MARKERS = "osD^v<>ph*"


def padded(curves: Sequence[Sequence[float]], n: int | None = None) -> np.ndarray:
    """Curves of at most ``n`` values (default: the longest) as an array ``(len(curves), n)``,
    NaN after a curve ends (a network that diverged)."""
    n = max((len(c) for c in curves), default=0) if n is None else n
    out = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        out[i, :len(c)] = c
    return out


def learning_curves(groups: dict, path, title: str = "") -> Path:
    """Training loss, validation loss and validation metric per epoch.

    ``groups`` maps a label to a list of evaluations (anything with ``train_loss``, ``val_loss``,
    ``val_metric``, ``metric``): each seed is a thin line, the mean over seeds a thick one.
    Diverged runs stop where they diverged.
    """
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    metric = "val_error"
    for k, (label, evals) in enumerate(groups.items()):
        color = colors[k % len(colors)]
        for ax, name in zip(axes, ("train_loss", "val_loss", "val_metric")):
            curves = padded([getattr(e, name) for e in evals])
            if not curves.size:
                continue
            epochs = np.arange(1, curves.shape[1] + 1)
            for c in curves:
                ax.plot(epochs, c, color=color, alpha=0.25, lw=0.8)
            with np.errstate(all="ignore"):
                mean = np.nanmean(curves, axis=0) if np.isfinite(curves).any() else curves[0]
            ax.plot(epochs, mean, color=color, lw=2, label=f"{label} (n={len(evals)})")
        metric = evals[0].metric if evals else metric
    for ax, ylabel in zip(axes, ("training loss", "validation loss", METRIC_LABEL.get(metric, metric))):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[2].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return save(fig, path)


# -- a search's run folder ---------------------------------------------------------------------------


def _counts_by_generation(generations: list[dict], field: str) -> tuple[list, dict]:
    gens = [g["gen"] for g in generations]
    names = sorted({ind["genome"][field] for g in generations for ind in g["population"]})
    counts = {n: [sum(ind["genome"][field] == n for ind in g["population"]) for g in generations]
              for n in names}
    return gens, counts


def fitness_per_generation(logbook: list[dict], objective: str, path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    gens = [r["gen"] for r in logbook]
    for key, style in (("min", "-o"), ("median", "--"), ("mean", ":")):
        ax.plot(gens, [r[key] if r[key] is not None else np.nan for r in logbook], style, label=key)
    ax.set_xlabel("generation")
    ax.set_ylabel(objective)
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"{objective} of the population per generation (diverged excluded)")
    return save(fig, path)


def frequencies_per_generation(generations: list[dict], path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.5))
    for ax, field in zip(axes, ("init", "activation")):
        gens, counts = _counts_by_generation(generations, field)
        total = np.array([len(g["population"]) for g in generations], float)
        ax.stackplot(gens, *[np.array(c) / total for c in counts.values()], labels=list(counts),
                     colors=_palette(len(counts)))
        ax.set_xlabel("generation")
        ax.set_ylabel("share of the population")
        ax.set_title(f"{field} per generation")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return save(fig, path)


def scale_vs_fitness(evaluations: list[dict], path) -> Path:
    """Every evaluation of the search: its scale against its final validation loss, by scheme."""
    fig, ax = plt.subplots(figsize=(8, 5))
    by_init: dict = {}
    for e in evaluations:
        if e.get("stage") == "final":
            continue
        loss = e["val_loss"][-1] if e["status"] not in ("diverged", "pruned") and e["val_loss"] else np.nan
        by_init.setdefault(e["genome"]["init"], []).append((e["genome"]["scale"], loss))
    colors = _palette(len(by_init))
    for k, (init, points) in enumerate(sorted(by_init.items())):
        pts = np.array(points, float)
        ok = np.isfinite(pts[:, 1])
        ax.scatter(pts[ok, 0], pts[ok, 1], s=16, alpha=0.75, label=init, color=colors[k],
                   marker=MARKERS[k % len(MARKERS)])
    diverged = sum(e["status"] == "diverged" for e in evaluations)
    pruned = sum(e["status"] == "pruned" for e in evaluations)   # no final loss either
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("scale (× the scheme's own std / limit)")
    ax.set_ylabel("final validation loss")
    ax.set_title(f"scale vs fitness by init scheme ({diverged} diverged"
                 + (f", {pruned} pruned" if pruned else "") + " evaluations not shown)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    return save(fig, path)


def diversity_in_error_space(generations: list[dict], path) -> Path:
    """Each individual's validation error per generation, and their spread."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    spread = []
    for g in generations:
        errs = [ind["val_error"] for ind in g["population"] if ind["val_error"] is not None]
        ax.scatter([g["gen"]] * len(errs), errs, s=10, alpha=0.5, color="tab:blue")
        spread.append(np.std(errs) if errs else np.nan)
    ax2 = ax.twinx()
    ax2.plot([g["gen"] for g in generations], spread, color="tab:red", label="std of errors")
    ax.set_yscale("log")
    ax.set_xlabel("generation")
    ax.set_ylabel("validation error of each individual")
    ax2.set_ylabel("spread (std)", color="tab:red")
    ax.set_title("the population in error space")
    ax.grid(alpha=0.3)
    return save(fig, path)


def top_vs_baselines(final: list, hall_of_fame, path, top: int = 3) -> Path | None:
    """Learning curves of the best setups and of their canonical baselines, from ``final``: the
    evaluations of the final scoring (same seeds for a setup and its baseline). ``hall_of_fame``:
    ``ga.results.Entry`` values, best first."""
    if not final:
        return None
    groups = {}
    for entry in hall_of_fame[:top]:
        base = entry.baseline
        for label, genome in ((entry.text, entry.genome),
                              (f"baseline {base.text}" if base else None, base.genome if base else None)):
            if label is None:
                continue
            plain = genome.with_(seed=None)
            evs = [e for e in final if e.genome == plain]
            if evs and label not in groups:
                groups[label] = evs
    return learning_curves(groups, path, title="top setups vs their canonical baselines (final seeds)")


def gene_importance(ranked: list[dict], r2: float, n: int, path) -> Path:
    """Horizontal bars: each gene's share of the fitness variance (half the drop in out-of-bag R²
    when shuffled) with its 95% bootstrap interval. ``ranked``: dicts gene/importance/low/high."""
    rows = list(reversed(ranked))
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.4))
    y = np.arange(len(rows))
    mean = np.array([r["importance"] for r in rows])
    err = np.array([[m - r["low"], r["high"] - m] for m, r in zip(mean, rows)]).T.clip(min=0)
    ax.barh(y, mean, xerr=err, color="tab:blue", alpha=0.8, capsize=3)
    ax.set_yticks(y, [r["gene"] for r in rows])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("share of the fitness variance explained (½ drop in out-of-bag R² when shuffled)")
    ax.set_title(f"gene importance ({n} evaluations, all genes together R² = {r2:.2f})")
    ax.grid(axis="x", alpha=0.3)
    return save(fig, path)


def scale_by_family(points: list[dict], marks: dict, path, max_panels: int = 6) -> Path:
    """Fitness against the first layer's weight scale, one panel per activation, coloured by
    scheme family, with the canonical starts marked.

    ``points``: dicts activation / family / x (the weights' RMS × √fan_in, a common axis for every
    scheme: 1 is LeCun's start, √2 He's) / y (final validation loss). ``marks``: activation ->
    {label: x} (e.g. Glorot, He, LeCun at scale 1)."""
    by_act: dict = {}
    for p in points:
        by_act.setdefault(p["activation"], []).append(p)
    acts = sorted(by_act, key=lambda a: -len(by_act[a]))[:max_panels]
    if not acts:
        raise ValueError("no finished evaluation with a non-zero start to draw")
    families = sorted({p["family"] for p in points})
    colors = dict(zip(families, _palette(len(families))))
    ncols = min(3, len(acts))
    nrows = -(-len(acts) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 3.8 * nrows), squeeze=False)
    for ax, act in zip(axes.flat, acts):
        pts = by_act[act]
        for k, fam in enumerate(families):
            mine = [p for p in pts if p["family"] == fam]
            if mine:
                ax.scatter([p["x"] for p in mine], [p["y"] for p in mine], s=12, alpha=0.6,
                           color=colors[fam], marker=MARKERS[k % len(MARKERS)], label=fam)
        best = min(pts, key=lambda p: p["y"])
        ax.scatter([best["x"]], [best["y"]], s=160, marker="*", color="gold", edgecolor="black",
                   zorder=5, label=f"best (×{best['x']:.2g})")
        for (label, x), style in zip(sorted(marks.get(act, {}).items()), ("--", ":", "-.")):
            ax.axvline(x, color="black", ls=style, lw=1, label=f"{label} (×{x:.2g})")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(f"{act} ({len(pts)} evaluations)")
        ax.set_xlabel("first-layer weight RMS × √fan_in")
        ax.set_ylabel("final validation loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(acts):]:
        ax.set_visible(False)
    fig.suptitle("fitness against the start's scale, by scheme family (canonical starts marked)")
    fig.tight_layout()
    return save(fig, path)
