"""Saxe, McClelland & Ganguli (2013): in deep linear networks, training time grows with depth from a
scaled Gaussian start and stays flat from an orthogonal one.

Deep linear networks (activation ``linear``; every layer n × n, n = WIDTH) learn a random linear
teacher ``y = x·T`` (T with N(0, 1/n) entries) from whitened inputs x ~ N(0, I), with ½·squared
error. Two starts of the same variance per weight, 1/n: the scaled Gaussian
``variance_scaling(factor=1, mode="fan_in", distribution="untruncated_normal")`` and ``orthogonal``.
A product of D Gaussian matrices has singular values spread over orders of magnitude, so some
directions of the teacher start with almost no gradient; a product of orthogonal matrices is
orthogonal (every singular value 1, "dynamical isometry").

Time to learn: the first epoch whose validation loss is below THRESHOLD times the loss of the
zero predictor (½·E‖y‖²). Plain SGD; as in Saxe et al., the learning rate is chosen for each depth
and start from a grid (the one with the fewest epochs, median over seeds). A setup that never
gets there within the budget, or diverges at every rate, is reported as such.
"""

from __future__ import annotations

import types
from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit import seeding
from evoinit.nn.network import train_population
from evoinit.nn.training import TrainSettings
from evoinit.reporting import plots

NAME = "saxe_orthogonal"
CLAIM = ("In deep linear networks the epochs needed to reach a loss threshold grow with depth from a "
         "scaled Gaussian start and stay roughly flat from an orthogonal start.")
WIDTH = 32
THRESHOLD = 0.05
INITS = {"scaled Gaussian N(0, 1/n)": ("variance_scaling", {"factor": 1.0, "mode": "fan_in",
                                                            "distribution": "untruncated_normal"}),
         "orthogonal": ("orthogonal", {})}


def teacher_task(rng: np.random.Generator, n: int, n_train: int, n_val: int):
    """A Dataset-like namespace for ``train_population``: y = x·T, x ~ N(0, I_n), T_ij ~ N(0, 1/n)."""
    T = rng.standard_normal((n, n)) / np.sqrt(n)
    X, Xv = rng.standard_normal((n_train, n)), rng.standard_normal((n_val, n))
    return types.SimpleNamespace(X_train=X, y_train=X @ T, X_val=Xv, y_val=Xv @ T, task="regression",
                                 n_features=n, n_outputs=n)


def epochs_to_threshold(result, zero_loss: float) -> float:
    """First epoch (1-based) with val loss < THRESHOLD·zero_loss; inf if never (or diverged first)."""
    hit = np.flatnonzero(np.asarray(result.val_loss) < THRESHOLD * zero_loss)
    return float(hit[0] + 1) if len(hit) else np.inf


def sweep(task, hidden: int, scheme: str, params: dict, rates, seeds: int, epochs: int, seed: int) -> dict:
    """Train seeds × rates networks of ``hidden`` hidden layers as one population; per rate the
    median epochs to threshold, and the best rate."""
    sizes = (WIDTH,) * (hidden + 2)
    zero_loss = 0.5 * float((task.y_val ** 2).sum(axis=1).mean())
    # the same starts and orders at every rate
    starts, orders = common.starts_and_orders(sizes, scheme, seed,
                                              [(2, hidden, k) for _ in rates for k in range(seeds)], params)
    lrs = [lr for lr in rates for _ in range(seeds)]
    settings = TrainSettings(epochs=epochs, batch_size=32, learning_rate=rates[0], momentum=0.0,
                             weight_limit=1e4)
    results = train_population(starts, orders, task, activation="linear", settings=settings,
                               learning_rates=lrs)
    per_rate = {}
    for i, lr in enumerate(rates):
        group = results[i * seeds:(i + 1) * seeds]
        e = [epochs_to_threshold(r, zero_loss) for r in group]
        per_rate[f"{lr:g}"] = {"epochs": e, "median_epochs": float(np.median(e)),
                               "diverged": int(sum(r.diverged for r in group)),
                               "mean_val_curve": common.short(np.mean(plots.padded([r.val_loss for r in group],
                                                                                     epochs), axis=0))}
    # fewest epochs; if no rate gets there, the lowest final loss (a diverged curve ends in NaN)
    best = min(per_rate, key=lambda k: (per_rate[k]["median_epochs"], _final(per_rate[k]["mean_val_curve"])))
    return {"per_rate": per_rate, "best_rate": float(best),
            "reached": bool(np.isfinite(per_rate[best]["median_epochs"])),
            "epochs_to_threshold": per_rate[best]["median_epochs"], "zero_loss": zero_loss}


def _final(curve) -> float:
    last = curve[-1]
    return last if np.isfinite(last) else np.inf


def summary(results: dict, epochs: int) -> list[str]:
    lines = []
    for label, by_depth in results.items():
        parts = []
        for hidden, r in by_depth.items():
            e = r["epochs_to_threshold"]
            parts.append(f"{hidden}: {int(e)} (lr {r['best_rate']:g})" if np.isfinite(e)
                         else f"{hidden}: >{epochs}")
        lines.append(f"{label:27s} epochs to {THRESHOLD:g}·L0 by hidden layers: " + ", ".join(parts))
    return lines


def plot(results: dict, epochs: int):
    fig, ax = plt.subplots(1, 2, figsize=(14, 5.5))
    for k, (label, by_depth) in enumerate(results.items()):
        depths = [int(h) for h in by_depth]
        e = np.array([r["epochs_to_threshold"] for r in by_depth.values()])
        shown = np.where(np.isfinite(e), e, epochs * 1.25)
        ax[0].plot(depths, shown, "o-", color=f"C{k}", label=label)
        ax[0].scatter([d for d, v in zip(depths, e) if not np.isfinite(v)],
                      [epochs * 1.25] * int((~np.isfinite(e)).sum()), marker="^", s=90, color=f"C{k}")
        deepest = list(by_depth)[-1]
        r = by_depth[deepest]
        curve = r["per_rate"][f"{r['best_rate']:g}"]["mean_val_curve"]
        ax[1].plot(np.arange(1, len(curve) + 1), np.asarray(curve) / r["zero_loss"], color=f"C{k}",
                   label=f"{label}, {deepest} hidden layers, lr {r['best_rate']:g}"
                         + ("" if r["reached"] else " (lowest final loss)"))
        first = by_depth[list(by_depth)[0]]
        curve = first["per_rate"][f"{first['best_rate']:g}"]["mean_val_curve"]
        ax[1].plot(np.arange(1, len(curve) + 1), np.asarray(curve) / first["zero_loss"], color=f"C{k}", ls=":",
                   label=f"{label}, {list(by_depth)[0]} hidden layer(s), lr {first['best_rate']:g}")
    ax[0].axhline(epochs, color="k", lw=0.8)
    ax[0].set(xscale="log", yscale="log", xlabel="hidden layers (each 32×32, linear)",
              ylabel=f"epochs until val loss < {THRESHOLD:g}·L0 (best lr)",
              title=f"Time to learn vs depth (▲ above the line: not within {epochs} epochs)")
    ax[1].axhline(THRESHOLD, color="k", lw=0.8, label=f"threshold {THRESHOLD:g}·L0")
    ax[1].set(yscale="log", xlabel="epoch", ylabel="val loss / loss of the zero predictor",
              title="Learning curves, shallowest and deepest (mean over seeds)")
    for a in ax:
        a.legend(fontsize=8)
        a.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    if fast:
        depths, rates, seeds, epochs = (1, 4, 8, 16), (0.003, 0.01, 0.03, 0.1), 2, 30
    else:
        depths, rates, seeds, epochs = (1, 2, 4, 8, 16, 32), (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1), 4, 100
    task = teacher_task(seeding.generator(common.stream(seed, 1)), WIDTH, 512, 256)
    results = {label: {str(h): sweep(task, h, scheme, params, rates, seeds, epochs, seed) for h in depths}
               for label, (scheme, params) in INITS.items()}
    result = common.header(NAME, CLAIM, fast, seed, task=f"linear teacher y = xT, n = {WIDTH}, 512 train / "
                           "256 validation rows, x ~ N(0, I)", threshold=THRESHOLD, rates=list(rates),
                           seeds=seeds, epochs=epochs, optimizer="sgd, no momentum, batch 32")
    result.update({"results": results, "summary": summary(results, epochs)})
    return common.save(out, NAME, result, plot(results, epochs))


if __name__ == "__main__":
    common.main(NAME, run)
