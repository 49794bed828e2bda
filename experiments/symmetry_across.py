"""Symmetry across networks: N networks trained from the same start and the same data order are
one network N times; distinct seeds spread over distinct solutions.

Four cases of N tanh MLPs, same architecture and training settings, on two datasets: spirals (a
small 16-16 network where some seeds find much better solutions than others) and digits (where
seeds differ less):

- shared start, shared order — every network the same initial weights and minibatch order;
- shared start, own order — the same initial weights, each its own minibatch order;
- own start, shared order — each its own initial weights, one minibatch order;
- own start, own order — the default of evoinit's search (``distinct``).

For each: the spread of the final validation losses, the pairwise functional disagreement on test
inputs (fraction of test digits two networks classify differently), the distance between final
weights before and after matching hidden units (``diagnostics.permutation_distance``), the test
error of an ensemble averaging n networks' probabilities (mean over random n-subsets), and
best-of-N: the test error of the network with the lowest validation loss among n, as n grows
(exact expectation over subsets), next to the optimistic figure that selects on test itself.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit import data, seeding
from evoinit.nn import diagnostics
from evoinit.nn.network import initial_start, layer_sizes, train_population
from evoinit.nn.single import predict
from evoinit.nn.training import TrainSettings

NAME = "symmetry_across"
CLAIM = ("Networks trained from the same start and the same data order end at the same point (zero "
         "spread, zero disagreement, zero distance, no ensemble gain); distinct seeds spread over "
         "distinct solutions, which an ensemble or a best-of-N selection can use.")
CASES = {  # label: (each network its own start?, each network its own data order?)
    "shared start, shared order": (False, False),
    "shared start, own order": (False, True),
    "own start, shared order": (True, False),
    "own start, own order": (True, True),
}
ACTIVATION = "tanh"


def train_case(dataset, sizes, n: int, own_start: bool, own_order: bool, settings, seed: int):
    """N results; network k's start is drawn from key (1, k) if own else (1, 0), its order likewise."""
    starts, orders = [], []
    for k in range(n):
        w_key, o_key = (1, k if own_start else 0), (2, k if own_order else 0)
        starts.append(initial_start(sizes, "glorot_uniform", seeding.weight_rng(common.stream(seed, *w_key))))
        orders.append(seeding.order_rng(common.stream(seed, *o_key)))
    return starts, train_population(starts, orders, dataset, activation=ACTIVATION, settings=settings)


def ensemble_curve(logits: np.ndarray, y: np.ndarray, ns, rng: np.random.Generator,
                   draws: int = 64) -> list[float]:
    """Test error of an n-network ensemble for each n: the mean over ``draws`` random n-subsets
    (over every network when n = 1, the one subset when n is all of them)."""
    N = len(logits)
    out = []
    for n in ns:
        subsets = ([[i] for i in range(N)] if n == 1 else [list(range(N))] if n == N
                   else [rng.choice(N, n, replace=False) for _ in range(draws)])
        out.append(float(np.mean([diagnostics.ensemble_error(logits[s], y) for s in subsets])))
    return out


def measure(dataset, starts, results, n_pairs: int, rng: np.random.Generator) -> dict:
    """Every figure of one case, from its trained networks; ``rng`` draws the ensemble subsets."""
    nets = [(r.weights, r.biases) for r in results]
    logits = np.stack([predict(w, b, dataset.X_test, activation=ACTIVATION) for w, b in nets])
    labels = logits.argmax(axis=2)
    test_error = (labels != dataset.y_test).mean(axis=1)
    val_loss = np.array([r.val_loss[-1] for r in results])
    val_error = np.array([r.val_metric[-1] for r in results])
    pairs = list(itertools.combinations(range(len(nets)), 2))[:n_pairs]
    raw = [diagnostics.weight_distance(nets[a], nets[b]) for a, b in pairs]
    aligned = [diagnostics.permutation_distance(nets[a], nets[b]) for a, b in pairs]
    start_dist = [diagnostics.weight_distance((starts[a].weights, starts[a].biases),
                                              (starts[b].weights, starts[b].biases)) for a, b in pairs]
    ns = [n for n in (1, 2, 4, 8, 16, 32, 64, 128) if n <= len(nets)]
    ensemble = ensemble_curve(logits, dataset.y_test, ns, rng)
    return {
        "final_val_loss": val_loss.tolist(), "final_val_error": val_error.tolist(),
        "test_error": test_error.tolist(),
        "val_loss_std": float(val_loss.std()), "val_loss_range": float(val_loss.max() - val_loss.min()),
        "mean_test_error": float(test_error.mean()),
        "disagreement": diagnostics.mean_off_diagonal(diagnostics.disagreement(labels)),
        "pairs_measured": len(pairs), "start_distance": float(np.mean(start_dist)),
        "weight_distance": float(np.mean(raw)), "aligned_distance": float(np.mean(aligned)),
        "parameter_norm": float(np.mean([diagnostics.parameter_norm(net) for net in nets])),
        "n": ns, "ensemble_test_error": ensemble,
        "ensemble_gain": float(test_error.mean() - ensemble[-1]),
        "best_of_n_test": [diagnostics.best_of_n(val_loss, test_error, n) for n in ns],
        "best_of_n_on_test_itself": [diagnostics.best_of_n(test_error, test_error, n) for n in ns],
        "diverged": int(sum(r.diverged for r in results)),
    }


def summary(datasets: dict) -> list[str]:
    lines = []
    for name, d in datasets.items():
        for label, c in d["cases"].items():
            n = c["n"][-1]
            lines.append(f"{name:8s} {label:27s} val-loss std {c['val_loss_std']:.2e}, disagreement "
                         f"{c['disagreement']:.3f}, aligned distance {c['aligned_distance']:.2f} (raw "
                         f"{c['weight_distance']:.2f}), test error {c['mean_test_error']:.4f} -> ensemble of "
                         f"{n} {c['ensemble_test_error'][-1]:.4f}, best-of-{n} by val "
                         f"{c['best_of_n_test'][-1]:.4f}")
    return lines


def _two_lines(label: str) -> str:
    return label.replace(", ", ",\n")


def plot_row(ax, name: str, d: dict) -> None:
    """One dataset: final losses, how different the networks are, ensemble, best-of-n."""
    cases, labels = d["cases"], list(d["cases"])
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    jitter = np.random.default_rng(0)  # horizontal jitter of the dots only
    x = np.arange(len(labels))
    for k, label in enumerate(labels):
        y = cases[label]["final_val_loss"]
        ax[0].scatter(k + 0.15 * jitter.uniform(-1, 1, len(y)), y, s=10, color=colors[k])
    ax[0].set(ylabel="final validation loss", title=f"{name}: final val loss, {d['networks']} networks per case")
    ax[1].bar(x - 0.2, [cases[s]["disagreement"] for s in labels], 0.4, color="C0",
              label="pairwise disagreement on test (left)")
    right = ax[1].twinx()
    right.bar(x + 0.2, [cases[s]["aligned_distance"] for s in labels], 0.4, color="C1",
              label="weight distance after unit matching (right)")
    ax[1].set(ylabel="fraction of test inputs classified differently", title=f"{name}: how different they are")
    right.set_ylabel("mean ‖θ_a − π(θ_b)‖ over pairs")
    handles = ax[1].get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax[1].legend(handles, [h.get_label() for h in handles], fontsize=7, loc="upper left")
    for a in ax[:2]:
        a.set_xticks(x, [_two_lines(s) for s in labels], fontsize=7)
    for k, label in enumerate(labels):
        c = cases[label]
        ax[2].plot(c["n"], c["ensemble_test_error"], "o-", color=colors[k], label=label)
        ax[3].plot(c["n"], c["best_of_n_test"], "o-", color=colors[k], label=label)
        ax[3].plot(c["n"], c["best_of_n_on_test_itself"], "x:", color=colors[k])
    ax[2].set(xscale="log", xlabel="networks in the ensemble", ylabel="test error (mean over 64 random n-subsets)",
              title=f"{name}: ensemble of n (mean probability)")
    ax[3].set(xscale="log", xlabel="n networks to choose from", ylabel="expected test error of the pick",
              title=f"{name}: best of n, picked on val (o) / on test (x)")
    ax[2].legend(fontsize=7)
    for a in (ax[0], ax[2], ax[3]):
        a.grid(alpha=0.3)


def plot(datasets: dict):
    fig, ax = plt.subplots(len(datasets), 4, figsize=(22, 5 * len(datasets)), squeeze=False)
    for row, (name, d) in zip(ax, datasets.items()):
        plot_row(row, name, d)
    fig.suptitle("N tanh MLPs from shared or own starts and data orders (glorot_uniform, SGD momentum 0.9)")
    fig.tight_layout()
    return fig


#: dataset -> (hidden, epochs) in full mode; fast mode runs spirals only, with fewer networks.
SETUPS = {"spirals": ((16, 16), 40), "digits": ((32,), 30)}


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    n, n_pairs = (8, 28) if fast else (64, 120)
    setups = {"spirals": SETUPS["spirals"]} if fast else SETUPS
    datasets = {}
    for name, (hidden, epochs) in setups.items():
        dataset = data.load(name)
        sizes = layer_sizes(dataset.n_features, hidden, dataset.n_outputs)
        settings = TrainSettings(epochs=epochs, batch_size=32, learning_rate=0.05, momentum=0.9)
        cases = {}
        for label, (own_start, own_order) in CASES.items():
            starts, results = train_case(dataset, sizes, n, own_start, own_order, settings, seed)
            subsets = seeding.generator(common.stream(seed, 3))  # the same subsets in every case
            cases[label] = measure(dataset, starts, results, n_pairs, subsets)
        # the shared start is one draw: where its network ranks among the distinct ones
        shared = cases["shared start, shared order"]["mean_test_error"]
        own = np.asarray(cases["own start, own order"]["test_error"])
        datasets[name] = {"hidden": list(hidden), "networks": n, "settings": settings.to_json(),
                          "cases": cases, "shared_beats_fraction_of_own": float(np.mean(shared < own)),
                          "shared_ties_fraction_of_own": float(np.mean(shared == own))}
    result = common.header(NAME, CLAIM, fast, seed, activation=ACTIVATION, init="glorot_uniform",
                           networks=n, selection="validation loss",
                           distance="diagnostics.permutation_distance, mean over the first pairs")
    result.update({"datasets": datasets, "summary": summary(datasets)})
    return common.save(out, NAME, result, plot(datasets))


if __name__ == "__main__":
    common.main(NAME, run)
