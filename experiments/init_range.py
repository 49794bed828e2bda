"""The init range for sigmoid and tanh (§4 of the tutorial): U[−r, r] from r = 0.05 to 5.

An MLP of three hidden layers on digits, every weight drawn from ``uniform`` with
``minval=-r, maxval=r`` (biases 0). At initialization (``single.trace`` on the training set):

- the ratio of the back-propagated gradient's std at the first hidden layer to the last one,
  ``std(∂L/∂z_1) / std(∂L/∂z_3)``: below 1 the gradient shrinks on its way back to the input
  (vanishing), above 1 it grows;
- the fraction of saturated units (tanh |a| > 0.99; sigmoid a < 0.01 or a > 0.99), where f'(z) ≈ 0;
- the std of the weight gradients of every layer.

Learning: SGD with momentum from each range and several seeds; the validation error after each
epoch. In a linear regime a layer multiplies the gradient's variance by fan_in·Var(W)·E[f'(z)²]
= fan_in·r²/3·E[f'²] (f'(0) = 1 for tanh, 1/4 for the sigmoid), so where vanishing starts
depends on r·√fan_in, not on r alone: the full mode runs three widths.
"""

from __future__ import annotations

from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit import data, seeding
from evoinit.nn import diagnostics
from evoinit.nn.network import initial_start, layer_sizes, train_population
from evoinit.nn.single import trace
from evoinit.nn.training import TrainSettings
from evoinit.reporting import plots

NAME = "init_range"
CLAIM = ("For sigmoid and tanh MLPs the uniform init range decides whether gradients vanish: too small "
         "and the gradient shrinks layer by layer toward the input, too large and units saturate; "
         "learning is fastest in between, at a range that scales like 1/sqrt(fan_in).")
ACTIVATIONS = ("sigmoid", "tanh")
DEPTH = 3
TARGET = 0.10         # learning speed: epochs until the validation error is below this
VANISHING = 0.1       # a first/last gradient ratio below this counts as vanishing
TUTORIAL = (0.1, 0.5, 1.0)


def saturated(a: np.ndarray, activation: str) -> float:
    """Fraction of saturated unit outputs: tanh |a| > 0.99, sigmoid a < 0.01 or a > 0.99."""
    if activation == "tanh":
        return float(np.mean(np.abs(a) > 0.99))
    return float(np.mean((a < 0.01) | (a > 0.99)))


def _start(sizes, r: float, seq):
    return initial_start(sizes, "uniform", seeding.weight_rng(seq), params={"minval": -r, "maxval": r})


def at_init(dataset, sizes, activation: str, r: float, seeds: int, seed: int) -> dict:
    """Gradient ratio, saturation and weight-gradient stds at init, mean over seeds."""
    ratios, sat, wgrad = [], [], []
    for k in range(seeds):
        start = _start(sizes, r, common.stream(seed, 1, sizes[1], k))
        acts, deltas = trace(start, dataset.X_train, dataset.y_train, activation=activation, task=dataset.task)
        d = diagnostics.layer_std(deltas[:-1])
        ratios.append(d[0] / d[-1])
        sat.append(np.mean([saturated(a, activation) for a in acts[:-1]]))
        inputs = [dataset.X_train] + acts[:-2]
        wgrad.append(diagnostics.layer_std(diagnostics.weight_gradients(inputs, deltas[:-1])))
    return {"gradient_ratio_first_last": float(np.exp(np.mean(np.log(ratios)))),
            "saturated_fraction": float(np.mean(sat)),
            "weight_gradient_std": np.mean(wgrad, axis=0).tolist()}


def learning(dataset, sizes, activation: str, ranges, seeds: int, settings: TrainSettings, seed: int) -> dict:
    """Every range × seed as one population; per range the curves, final error and epochs to TARGET."""
    starts, orders = [], []
    for r in ranges:
        for k in range(seeds):
            starts.append(_start(sizes, r, common.stream(seed, 1, sizes[1], k)))
            orders.append(seeding.order_rng(common.stream(seed, 2, k)))  # the same orders at every range
    results = train_population(starts, orders, dataset, activation=activation, settings=settings)
    out = {}
    for i, r in enumerate(ranges):
        group = results[i * seeds:(i + 1) * seeds]
        curves = plots.padded([res.val_metric for res in group], settings.epochs)
        hits = [np.flatnonzero(c < TARGET) for c in curves]
        epochs = [float(h[0] + 1) if len(h) else np.inf for h in hits]
        out[f"{r:g}"] = {"mean_val_error": common.short(np.nanmean(curves, axis=0)),
                         "final_val_error": float(np.nanmean(curves[:, -1])),
                         "epochs_to_target": float(np.median(epochs)),
                         "diverged": int(sum(res.diverged for res in group))}
    return out


def findings(per_range: dict) -> dict:
    """Where vanishing starts (largest r with ratio < VANISHING), where saturation passes half, the
    best range by final error and by epochs to TARGET."""
    rs = [float(r) for r in per_range]
    ratio = [per_range[r]["gradient_ratio_first_last"] for r in per_range]
    sat = [per_range[r]["saturated_fraction"] for r in per_range]
    vanishing = [x for x, q in zip(rs, ratio) if q < VANISHING]
    saturating = [x for x, s in zip(rs, sat) if s > 0.5]
    best_final = min(per_range, key=lambda r: per_range[r]["final_val_error"])
    best_speed = min(per_range, key=lambda r: (per_range[r]["epochs_to_target"], per_range[r]["final_val_error"]))
    return {"vanishing_up_to": max(vanishing) if vanishing else None,
            "saturated_from": min(saturating) if saturating else None,
            "best_range_final_error": float(best_final),
            "best_final_val_error": per_range[best_final]["final_val_error"],
            "fastest_range": float(best_speed)}


def summary(results: dict) -> list[str]:
    lines = []
    for key, res in results.items():
        f = res["findings"]
        vanishing = f"r <= {f['vanishing_up_to']:g}" if f["vanishing_up_to"] else "no r tried"
        saturated_ = f"r >= {f['saturated_from']:g}" if f["saturated_from"] else "no r tried"
        lines.append(f"{key:18s} gradient ratio < {VANISHING:g} for {vanishing}, >50% saturated "
                     f"for {saturated_}; best final val error {f['best_final_val_error']:.3f} "
                     f"at r = {f['best_range_final_error']:g}; fastest to {TARGET:g} at r = "
                     f"{f['fastest_range']:g}")
    return lines


def plot(results: dict, epochs: int):
    fig, ax = plt.subplots(2, 4, figsize=(22, 9))
    panels = (("gradient_ratio_first_last", "std ∂L/∂z, first / last hidden layer",
               "Gradient at init: first / last layer", "log"),
              ("saturated_fraction", "fraction of saturated units", "Saturation at init", "linear"),
              ("final_val_error", f"validation error after {epochs} epochs", "Where learning ends up", "linear"),
              ("epochs_to_target", f"epochs until val error < {TARGET:g}", "Learning speed", "log"))
    for row, act in enumerate(ACTIVATIONS):
        for key, res in results.items():
            if res["activation"] != act:
                continue
            per = res["per_range"]
            rs = np.array([float(r) for r in per])
            for col, (field, ylabel, title, yscale) in enumerate(panels):
                y = np.array([per[r][field] for r in per], float)
                if field == "epochs_to_target":
                    y = np.where(np.isfinite(y), y, epochs * 1.3)
                lecun = np.sqrt(3 / res["width"])  # U[-r, r] with fan_in·Var(W) = 1
                ax[row, col].plot(rs, y, "o-", label=f"width {res['width']} (LeCun r = {lecun:.2f})")
                ax[row, col].set(xscale="log", yscale=yscale, xlabel="init range r (weights ~ U[-r, r])",
                                 ylabel=ylabel, title=f"{act}: {title}")
        ax[row, 0].axhline(VANISHING, color="k", lw=0.8, ls="--")
        ax[row, 0].axhline(1, color="k", lw=0.8)
        ax[row, 3].axhline(epochs, color="k", lw=0.8)
        for a in ax[row]:
            for t in TUTORIAL:
                a.axvline(t, color="grey", lw=0.8, ls=":")
            a.grid(alpha=0.3, which="both")
        ax[row, 0].legend(fontsize=8)
    fig.suptitle(f"{DEPTH} hidden layers on digits, weights U[-r, r], SGD momentum 0.9 "
                 f"(dotted verticals: the tutorial's ranges 0.1, 0.5, 1; learning speed above the line: "
                 f"not reached in {epochs} epochs)")
    fig.tight_layout()
    return fig


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    dataset = data.load("digits")
    if fast:
        ranges, widths, seeds, epochs = (0.05, 0.1, 0.25, 0.5, 1, 2, 5), (64,), 2, 8
    else:
        ranges = (0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1, 1.5, 2, 3, 5)
        widths, seeds, epochs = (32, 64, 256), 4, 30
    settings = TrainSettings(epochs=epochs, batch_size=32, learning_rate=0.05, momentum=0.9)
    results = {}
    for act in ACTIVATIONS:
        for width in widths:
            sizes = layer_sizes(dataset.n_features, (width,) * DEPTH, dataset.n_outputs)
            learned = learning(dataset, sizes, act, ranges, seeds, settings, seed)
            per_range = {f"{r:g}": at_init(dataset, sizes, act, r, seeds, seed) | learned[f"{r:g}"]
                         for r in ranges}
            results[f"{act}, width {width}"] = {"activation": act, "width": width, "per_range": per_range,
                                                "findings": findings(per_range)}
    result = common.header(NAME, CLAIM, fast, seed, dataset="digits", hidden_layers=DEPTH, widths=list(widths),
                           ranges=list(ranges), seeds=seeds, settings=settings.to_json(), target=TARGET,
                           vanishing_ratio=VANISHING)
    result.update({"results": results, "summary": summary(results)})
    return common.save(out, NAME, result, plot(results, epochs))


if __name__ == "__main__":
    common.main(NAME, run)
