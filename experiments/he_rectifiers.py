"""He et al. (2015): a 30-layer rectifier MLP learns from He's init and barely moves from Glorot's.

A plain MLP (no normalization, no skip connections) of 30 hidden layers of 64 units on digits.

Signal: at initialization, the std of each hidden layer's activations (``single.trace``), for
leaky rectifiers of negative slope a (a = 0 is ReLU) under ``glorot_uniform`` (Var(W) =
2/(fan_in+fan_out), i.e. 1/n here), He's ReLU form ``he_general_uniform(a=0)`` (Var = 2/n) and He's
general form ``he_general_uniform(a)`` (Var = 2/((1+a²)·n)). A leaky rectifier keeps (1+a²)/2 of
the variance of a symmetric input, so per layer the variance is multiplied by n·Var(W)·(1+a²)/2:
Glorot (1+a²)/2 < 1, He-ReLU (1+a²) > 1 when a > 0, He-general exactly 1.

Learning: SGD with momentum from each init, several seeds; the validation error per epoch. The
full mode adds the leaky rectifier a = 0.25 and Adam, whose per-weight step size divides out the
scale of the gradients.
"""

from __future__ import annotations

from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit import data, seeding
from evoinit.nn import activations, diagnostics
from evoinit.nn.network import initial_start, layer_sizes, train_population
from evoinit.nn.single import trace
from evoinit.nn.training import TrainSettings
from evoinit.reporting import plots

NAME = "he_rectifiers"
CLAIM = ("A 30-layer ReLU MLP trained by SGD barely learns from Glorot's init (its signal shrinks by "
         "half a variance per layer) while it learns from He's; He's general form with the negative "
         "slope a keeps the signal's scale through depth for leaky rectifiers too.")
DEPTH, WIDTH = 30, 64
CHANCE = 0.9  # digits has 10 balanced classes


def _act(a: float):
    return activations.get("relu") if a == 0 else activations.get("leaky_relu", a)


def _inits(a: float) -> dict:
    """label -> (scheme, params) compared at negative slope a."""
    inits = {"glorot_uniform": ("glorot_uniform", {}), "he (a=0)": ("he_general_uniform", {"a": 0.0})}
    if a:
        inits[f"he_general (a={a:g})"] = ("he_general_uniform", {"a": a})
    return inits


def signal(dataset, sizes, slopes, seeds: int, seed: int) -> dict:
    """Per-layer activation std at init, mean over seeds, for every slope and init."""
    out = {}
    for a in slopes:
        out[f"{a:g}"] = {}
        for label, (scheme, params) in _inits(a).items():
            rows = []
            for k in range(seeds):
                start = initial_start(sizes, scheme, seeding.weight_rng(common.stream(seed, 1, k)), params=params)
                acts, _ = trace(start, dataset.X_train, dataset.y_train, activation=_act(a), task=dataset.task)
                rows.append(diagnostics.layer_std(acts[:-1]))
            std = np.mean(rows, axis=0)
            out[f"{a:g}"][label] = {"activation_std": std.tolist(),
                                    "per_layer_factor": float((std[-1] / std[0]) ** (1 / (len(std) - 1))),
                                    "predicted_factor": _predicted(scheme, params, a)}
    return out


def _predicted(scheme: str, params: dict, a: float) -> float:
    """The std factor per layer of the variance argument: sqrt(n·Var(W)·(1+a²)/2), equal widths."""
    n_var = 1.0 if scheme == "glorot_uniform" else 2.0 / (1.0 + params["a"] ** 2)
    return float(np.sqrt(n_var * (1 + a * a) / 2))


def learning(dataset, sizes, a: float, scheme: str, params: dict, settings: TrainSettings,
             seeds: int, seed: int) -> dict:
    starts, orders = common.starts_and_orders(sizes, scheme, seed, [(2, k) for k in range(seeds)], params)
    results = train_population(starts, orders, dataset, activation=_act(a), settings=settings)
    curves = plots.padded([r.val_metric for r in results], settings.epochs)
    final = curves[:, -1]
    return {"val_error": curves.tolist(), "mean_val_error": np.nanmean(curves, axis=0).tolist(),
            "final_val_error": final.tolist(), "mean_final_val_error": float(np.nanmean(final)),
            "diverged": int(sum(r.diverged for r in results))}


def summary(sig: dict, learn: dict) -> list[str]:
    lines = []
    for a, by_init in sig.items():
        for label, r in by_init.items():
            lines.append(f"slope a={a:4s} {label:20s} activation std x{r['per_layer_factor']:.3f}/layer "
                         f"(theory x{r['predicted_factor']:.3f}), layer {DEPTH}/layer 1 "
                         f"{r['activation_std'][-1] / r['activation_std'][0]:.2e}")
    for label, r in learn.items():
        lines.append(f"{label:40s} final val error {r['mean_final_val_error']:.3f} "
                     f"(seeds {np.round(r['final_val_error'], 3).tolist()}; chance {CHANCE})")
    return lines


def plot(sig: dict, learn: dict):
    fig, ax = plt.subplots(1, 2, figsize=(14, 5.5))
    styles = ["-", "--", ":", "-."]
    colors = {"glorot_uniform": "C0", "he (a=0)": "C1"}
    layers = np.arange(1, DEPTH + 1)
    for i, (a, by_init) in enumerate(sig.items()):
        for label, r in by_init.items():
            ax[0].plot(layers, r["activation_std"], ls=styles[i % len(styles)], color=colors.get(label, "C2"),
                       label=f"{label}, slope a={a}")
    ax[0].set(yscale="log", xlabel="hidden layer", ylabel="std of activations at init (mean over seeds)",
              title=f"Signal through {DEPTH} rectifier layers of {WIDTH} units")
    ax[0].legend(fontsize=8)
    for k, (label, r) in enumerate(learn.items()):
        curve = r["mean_val_error"]
        ax[1].plot(np.arange(1, len(curve) + 1), curve, "o-", ms=3, color=f"C{k}", label=label)
    ax[1].axhline(CHANCE, color="k", lw=0.8, ls=":")
    ax[1].set(xlabel="epoch", ylabel="validation error (mean over seeds)", ylim=(0, 1),
              title=f"Learning, {DEPTH}×{WIDTH} MLP on digits (dotted: chance)")
    ax[1].legend(fontsize=8)
    for a_ in ax:
        a_.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    dataset = data.load("digits")
    sizes = layer_sizes(dataset.n_features, (WIDTH,) * DEPTH, dataset.n_outputs)
    slopes, seeds, train_seeds, epochs = ((0.0, 0.5), 2, 4, 8) if fast else ((0.0, 0.25, 0.5), 8, 8, 30)
    sig = signal(dataset, sizes, slopes, seeds, seed)
    sgd = TrainSettings(epochs=epochs, batch_size=32, learning_rate=0.002, momentum=0.9)
    runs = {"ReLU, glorot_uniform, SGD": (0.0, "glorot_uniform", {}, sgd),
            "ReLU, he (a=0), SGD": (0.0, "he_general_uniform", {"a": 0.0}, sgd)}
    if not fast:
        adam = TrainSettings(epochs=epochs, batch_size=32, optimizer="adam", learning_rate=0.001)
        runs.update({"leaky a=0.25, glorot_uniform, SGD": (0.25, "glorot_uniform", {}, sgd),
                     "leaky a=0.25, he_general (a=0.25), SGD": (0.25, "he_general_uniform", {"a": 0.25}, sgd),
                     "ReLU, glorot_uniform, Adam": (0.0, "glorot_uniform", {}, adam),
                     "ReLU, he (a=0), Adam": (0.0, "he_general_uniform", {"a": 0.0}, adam)})
    learn = {label: learning(dataset, sizes, a, scheme, params, settings, train_seeds, seed) | {
                 "settings": settings.to_json()}
             for label, (a, scheme, params, settings) in runs.items()}
    result = common.header(NAME, CLAIM, fast, seed, dataset="digits", hidden=[WIDTH] * DEPTH,
                           seeds=seeds, training_seeds=train_seeds, epochs=epochs, chance=CHANCE)
    result.update({"signal": sig, "learning": learn, "summary": summary(sig, learn)})
    return common.save(out, NAME, result, plot(sig, learn))


if __name__ == "__main__":
    common.main(NAME, run)
