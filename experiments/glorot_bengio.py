"""Glorot & Bengio (2010): layer-to-layer statistics of a deep tanh and sigmoid MLP at initialization.

A deep MLP (equal hidden widths) on the digits training set, at its initial weights, under the
"standard" init U[−1/√fan_in, 1/√fan_in] (``standard_uniform``) and the normalized init
U[−√(6/(fan_in+fan_out)), +…] (``glorot_uniform``); for the sigmoid also Kwon et al.'s 4× the
normalized range (``kwon_logistic_uniform``; 4 = 1/σ'(0)). Per hidden layer, averaged over seeds:

- the std of the activations f(z_l) (forward),
- the std of the back-propagated gradients δ_l = ∂L/∂z_l (backward),
- the std of the weight gradients ∂L/∂W_l = a_{l−1}ᵀ δ_l,

all through the trainer's own code path (``single.trace``). In a linear regime the standard init
multiplies the variance by fan_in·Var(W) = 1/3 per layer in both directions, the normalized init by
1 (for equal widths). The full mode also trains the same networks for a few epochs.
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

NAME = "glorot_bengio"
CLAIM = ("Under the standard init U[-1/sqrt(n), 1/sqrt(n)] the activations of a deep tanh MLP shrink "
         "layer after layer going forward and the back-propagated gradients shrink going backward; "
         "under the normalized (Glorot) init both stay roughly constant.")
SETUPS = {"tanh": ("standard_uniform", "glorot_uniform"),
          "sigmoid": ("standard_uniform", "glorot_uniform", "kwon_logistic_uniform")}


def _mean_std(rows) -> list[float]:
    """Mean over seeds of per-layer stds (rows: seeds × layers)."""
    return np.asarray(rows).mean(axis=0).tolist()


def statistics(dataset, sizes, activation: str, init: str, seeds: int, seed: int) -> dict:
    """Per-layer stds of activations, back-propagated gradients and weight gradients at init."""
    acts, deltas, grads = [], [], []
    for k in range(seeds):
        start = initial_start(sizes, init, seeding.weight_rng(common.stream(seed, 1, k)))
        a, d = trace(start, dataset.X_train, dataset.y_train, activation=activation, task=dataset.task)
        hidden_a, hidden_d = a[:-1], d[:-1]
        acts.append(diagnostics.layer_std(hidden_a))
        deltas.append(diagnostics.layer_std(hidden_d))
        grads.append(diagnostics.layer_std(diagnostics.weight_gradients([dataset.X_train] + hidden_a[:-1],
                                                                        hidden_d)))
    act, delta, grad = _mean_std(acts), _mean_std(deltas), _mean_std(grads)
    return {"activation_std": act, "gradient_std": delta, "weight_gradient_std": grad,
            # forward: last hidden layer over first; backward: first hidden layer over last
            "activation_ratio_last_first": act[-1] / act[0],
            "gradient_ratio_first_last": delta[0] / delta[-1],
            "weight_gradient_ratio_first_last": grad[0] / grad[-1],
            "activation_per_layer_factor": (act[-1] / act[0]) ** (1 / (len(act) - 1)),
            "gradient_per_layer_factor": (delta[0] / delta[-1]) ** (1 / (len(delta) - 1))}


def learning(dataset, sizes, activation: str, init: str, seeds: int, epochs: int, seed: int) -> dict:
    """Validation error per epoch of ``seeds`` networks (mean and each)."""
    starts, orders = common.starts_and_orders(sizes, init, seed, [(1, k) for k in range(seeds)])
    settings = TrainSettings(epochs=epochs, batch_size=32, learning_rate=0.05, momentum=0.0)
    results = train_population(starts, orders, dataset, activation=activation, settings=settings)
    curves = [r.val_metric.tolist() for r in results]
    return {"val_error": curves, "mean_val_error": np.mean(curves, axis=0).tolist(),
            "settings": settings.to_json()}


def summary(results: dict) -> list[str]:
    lines = []
    for act, by_init in results.items():
        for init, r in by_init.items():
            line = (f"{act:7s} {init:22s} activation std x{r['activation_per_layer_factor']:.2f}/layer "
                    f"(last/first {r['activation_ratio_last_first']:.3f}), gradient std "
                    f"x{r['gradient_per_layer_factor']:.2f}/layer going back (first/last "
                    f"{r['gradient_ratio_first_last']:.2e}), weight-gradient first/last "
                    f"{r['weight_gradient_ratio_first_last']:.2e}")
            if "learning" in r:
                line += f"; val error after {len(r['learning']['mean_val_error'])} epochs " \
                        f"{r['learning']['mean_val_error'][-1]:.3f}"
            lines.append(line)
    return lines


def plot(results: dict, depth: int, width: int, train: bool):
    cols = 4 if train else 3
    fig, ax = plt.subplots(2, cols, figsize=(5 * cols, 9))
    layers = np.arange(1, depth + 1)
    panels = (("activation_std", "std of activations f(z)", "Forward: activations"),
              ("gradient_std", "std of back-propagated ∂L/∂z", "Backward: gradients ∂L/∂z"),
              ("weight_gradient_std", "std of ∂L/∂W", "Weight gradients ∂L/∂W"))
    for row, (act, by_init) in enumerate(results.items()):
        for k, (init, r) in enumerate(by_init.items()):
            for col, (key, _, _) in enumerate(panels):
                ax[row, col].plot(layers, r[key], "o-", label=init)
            if train:
                curve = r["learning"]["mean_val_error"]
                ax[row, 3].plot(np.arange(1, len(curve) + 1), curve, "o" + ("--", "-", "-")[k], ms=3,
                                lw=(3, 1.5, 1.5)[k], label=init)
        for col, (_, ylabel, title) in enumerate(panels):
            ax[row, col].set(yscale="log", xlabel="hidden layer (1 = nearest the input)", ylabel=ylabel,
                             title=f"{act}: {title}", xticks=layers)
        if train:
            ax[row, 3].set(xlabel="epoch", ylabel="validation error (mean over seeds)", ylim=(0, 1),
                           title=f"{act}: learning (SGD lr 0.05, no momentum)")
            ax[row, 3].legend(fontsize=8)
        ax[row, 0].legend(fontsize=8)
    for a in ax.flat:
        a.grid(alpha=0.3, which="both")
    fig.suptitle(f"{depth} hidden layers of {width} units on digits: statistics at initialization"
                 + (" (columns 1-3), training (column 4)" if train else ""))
    fig.tight_layout()
    return fig


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    dataset = data.load("digits")
    depth, width, seeds = (5, 128, 2) if fast else (8, 256, 8)
    train_seeds, epochs = (0, 0) if fast else (4, 20)
    sizes = layer_sizes(dataset.n_features, (width,) * depth, dataset.n_outputs)
    results = {}
    for activation, inits in SETUPS.items():
        results[activation] = {}
        for init in inits:
            r = statistics(dataset, sizes, activation, init, seeds, seed)
            if train_seeds:
                r["learning"] = learning(dataset, sizes, activation, init, train_seeds, epochs, seed)
            results[activation][init] = r
    result = common.header(NAME, CLAIM, fast, seed, dataset="digits (training set, 1078 rows)",
                           hidden=[width] * depth, seeds=seeds, training_seeds=train_seeds,
                           epochs=epochs)
    result.update({"results": results, "summary": summary(results)})
    return common.save(out, NAME, result, plot(results, depth, width, bool(train_seeds)))


if __name__ == "__main__":
    common.main(NAME, run)
