"""Symmetry within a network: a constant start keeps every hidden unit of a layer identical.

Part 1 trains a tanh MLP on digits from zeros, ones, a constant 0.1 and a random (Glorot) start,
and counts after every epoch how many distinct hidden units each layer has (units whose incoming
weights and bias differ by more than TOL in max-abs difference) and the validation error.

Part 2 asks how exact that is in floating point. From the constant start, for several widths, in
float32 and float64, it trains the exact start and the same start plus a 1e-8·N(0, 1)
perturbation of every weight, and records the epoch at which a layer first has more than one
distinct unit. Identical units are a fixed point of exact arithmetic only: rounding (BLAS kernels
may treat edge columns differently) or the perturbation can grow until the units separate.

Training is plain SGD without momentum, one epoch per call, each call starting from the last
call's weights with the same data-order Generator: with no optimizer state to carry, that is
step for step the same as one long run, and it lets us look at the weights after every epoch.
"""

from __future__ import annotations

from pathlib import Path

import common
import matplotlib.pyplot as plt
import numpy as np

from evoinit import data, seeding
from evoinit.nn import diagnostics
from evoinit.nn.network import initial_start, layer_sizes, train_population
from evoinit.nn.training import Start, TrainSettings

NAME = "symmetry_within"
CLAIM = ("A constant start keeps every hidden layer at one distinct unit (the network acts one unit "
         "wide) while a random start uses all units; in floating point the symmetric state is "
         "broken only by rounding or a tiny perturbation growing over many steps.")
TOL = 1e-3            # units closer than this (max-abs difference of weights and bias) are one unit
PERTURBATION = 1e-8   # std of the noise added to every weight of the perturbed symmetric start
CONSTANT = 0.1        # the constant of the symmetric start in part 2
INITS = {"zeros": ("zeros", {}), "ones": ("ones", {}), "constant 0.1": ("constant", {"value": CONSTANT}),
         "random (glorot_uniform)": ("glorot_uniform", {})}


def _train_epochs(starts, orders, dataset, settings, epochs, on_epoch) -> list:
    """Train ``epochs`` epochs one at a time (see the module docstring), calling
    ``on_epoch(epoch, results)`` after each; returns the last results."""
    results = []
    for epoch in range(1, epochs + 1):
        results = train_population(starts, orders, dataset, activation="tanh", settings=settings)
        starts = [Start.of(r.weights, r.biases) for r in results]
        on_epoch(epoch, results)
    return results


def _hidden(result_or_start):
    """(weights, biases) of the hidden layers only."""
    return result_or_start.weights[:-1], result_or_start.biases[:-1]


def inits_part(dataset, hidden, epochs: int, seed: int) -> dict:
    """Part 1: distinct units per hidden layer and validation error per epoch, for each init."""
    sizes = layer_sizes(dataset.n_features, hidden, dataset.n_outputs)
    w_rng = seeding.weight_rng(common.stream(seed, 1))
    starts = [initial_start(sizes, init, w_rng, params=params) for init, params in INITS.values()]
    # every network reads the data in the same order: the start is the only difference
    orders = [seeding.order_rng(common.stream(seed, 1)) for _ in starts]
    settings = TrainSettings(epochs=1, batch_size=32, learning_rate=0.1, momentum=0.0)
    curves = {label: {"distinct": [[] for _ in hidden], "val_error": []} for label in INITS}

    def record(epoch, results):
        for label, r in zip(INITS, results):
            for l, (W, b) in enumerate(zip(*_hidden(r))):
                curves[label]["distinct"][l].append(diagnostics.distinct_units(W, b, tol=TOL))
            curves[label]["val_error"].append(float(r.val_metric[-1]))

    finals = _train_epochs(starts, orders, dataset, settings, epochs, record)
    out = {}
    for label, start, final in zip(INITS, starts, finals):
        c = curves[label]
        out[label] = {
            "distinct_at_start": [diagnostics.distinct_units(W, b, tol=TOL) for W, b in zip(*_hidden(start))],
            "distinct_per_epoch": c["distinct"], "val_error": c["val_error"],
            "final_val_error": c["val_error"][-1], "max_distinct": [max(d) for d in c["distinct"]],
            "first_layer_change": diagnostics.changed(start.weights[0], final.weights[0]),
            "diverged": final.diverged,
        }
    return {"hidden": list(hidden), "epochs": epochs, "inits": out}


def breaking_part(dataset, widths, dtypes, epochs: int, seed: int) -> dict:
    """Part 2: per width and dtype, the exact constant start, the perturbed one and a random start;
    each epoch the largest unit spread and whether a layer has split into distinct units."""
    runs = []
    steps_per_epoch = -(-len(dataset.X_train) // 32)
    for dtype in dtypes:
        for width in widths:
            sizes = layer_sizes(dataset.n_features, (width, width), dataset.n_outputs)
            exact = initial_start(sizes, "constant", None, params={"value": CONSTANT})
            noise = np.random.default_rng(common.stream(seed, 2, width))
            perturbed = Start.of([w + PERTURBATION * noise.standard_normal(w.shape) for w in exact.weights],
                                 exact.biases)
            rand = initial_start(sizes, "glorot_uniform", seeding.weight_rng(common.stream(seed, 3, width)))
            starts = [exact, perturbed, rand]
            orders = [seeding.order_rng(common.stream(seed, 4, width)) for _ in starts]
            settings = TrainSettings(epochs=1, batch_size=32, learning_rate=0.1, momentum=0.0, dtype=dtype)
            spread = [[], [], []]
            split = [None, None, None]
            errors = [[], [], []]

            def record(epoch, results):
                for k, r in enumerate(results):
                    hw, hb = _hidden(r)
                    spread[k].append(max(diagnostics.unit_spread(W, b) for W, b in zip(hw, hb)))
                    errors[k].append(float(r.val_metric[-1]))
                    if split[k] is None and any(diagnostics.distinct_units(W, b, tol=TOL) > 1
                                                for W, b in zip(hw, hb)):
                        split[k] = epoch

            finals = _train_epochs(starts, orders, dataset, settings, epochs, record)
            keep = _kept_epochs(epochs)
            for k, variant in enumerate(("exact", "perturbed", "random")):
                hw, hb = _hidden(finals[k])
                runs.append({
                    "dtype": dtype, "width": width, "variant": variant,
                    "split_epoch": split[k],
                    "split_step": None if split[k] is None else split[k] * steps_per_epoch,
                    "final_distinct": [diagnostics.distinct_units(W, b, tol=TOL) for W, b in zip(hw, hb)],
                    "final_val_error": errors[k][-1],
                    "spread": common.short(spread[k][e - 1] for e in keep),
                    "val_error": common.short(errors[k][e - 1] for e in keep),
                })
    return {"epochs": epochs, "steps_per_epoch": steps_per_epoch, "widths": list(widths),
            "dtypes": list(dtypes), "curve_epochs": _kept_epochs(epochs), "runs": runs}


def _kept_epochs(epochs: int, points: int = 150) -> list[int]:
    """The epochs whose curve values are written (about ``points`` of them, always the last)."""
    every = max(1, epochs // points)
    return sorted(set(range(every, epochs + 1, every)) | {epochs})


def summary(p1: dict, p2: dict) -> list[str]:
    lines = []
    for label, r in p1["inits"].items():
        lines.append(f"{label:24s} max distinct units per layer {r['max_distinct']} of {p1['hidden']}, "
                     f"final val error {r['final_val_error']:.3f}")
    for r in p2["runs"]:
        if r["variant"] == "random":
            continue
        when = f"splits at step {r['split_step']}" if r["split_step"] else "never splits"
        lines.append(f"{r['dtype']} width {r['width']:3d} {r['variant']:9s} {when} "
                     f"(of {p2['epochs'] * p2['steps_per_epoch']}); final val error {r['final_val_error']:.3f}")
    return lines


def plot(p1: dict, p2: dict):
    fig, ax = plt.subplots(2, 2, figsize=(13, 9))
    epochs = np.arange(1, p1["epochs"] + 1)
    for k, (label, r) in enumerate(p1["inits"].items()):
        style = dict(ls=("-", "--", ":", "-")[k], marker="osd."[k], markevery=(k, max(1, len(epochs) // 10)))
        ax[0, 0].plot(epochs, r["distinct_per_epoch"][0], label=label, lw=2, **style)
        ax[0, 1].plot(epochs, r["val_error"], label=label, lw=2, **style)
    width = p1["hidden"][0]
    ax[0, 0].set(yscale="log", ylim=(0.7, width * 1.5), xlabel="epoch",
                 ylabel=f"distinct units in hidden layer 1 (tol {TOL:g})",
                 title=f"Distinct hidden units, tanh {'-'.join(map(str, p1['hidden']))} on digits")
    ticks = [2 ** k for k in range(int(np.log2(width)) + 1)]
    ax[0, 0].set_yticks(ticks, ticks)
    ax[0, 0].text(0.5, 0.12, "zeros, ones and constant 0.1: 1 unit at every epoch", ha="center",
                  transform=ax[0, 0].transAxes)
    ax[0, 1].set(xlabel="epoch", ylabel="validation error", ylim=(0, 1),
                 title="Validation error (SGD lr 0.1, no momentum)")
    ax[0, 1].legend()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    dtype = p2["dtypes"][0]
    steps = p2["steps_per_epoch"] * np.asarray(p2["curve_epochs"])
    for k, width in enumerate(p2["widths"]):
        for r in p2["runs"]:
            if r["width"] == width and r["dtype"] == dtype and r["variant"] != "random":
                spread = np.maximum(np.asarray(r["spread"]), 1e-18)
                ax[1, 0].plot(steps, spread, color=colors[k % len(colors)],
                              ls="-" if r["variant"] == "perturbed" else ":",
                              label=f"width {width}, {r['variant']}")
    ax[1, 0].axhline(TOL, color="k", lw=0.8)
    ax[1, 0].set(yscale="log", xlabel="SGD step", ylabel="largest difference between units (0 drawn at 1e-18)",
                 title=f"Symmetry breaking from constant {CONSTANT} ({dtype}; line = tolerance)")
    ax[1, 0].legend(fontsize=7, ncol=2)
    total = p2["epochs"] * p2["steps_per_epoch"]
    for dtype in p2["dtypes"]:
        for variant, marker in (("exact", "s"), ("perturbed", "o")):
            rs = [r for r in p2["runs"] if r["dtype"] == dtype and r["variant"] == variant]
            ys = [r["split_step"] if r["split_step"] else total * 1.15 for r in rs]
            ax[1, 1].plot([r["width"] for r in rs], ys, marker=marker,
                          ls="-" if dtype == "float32" else "--", label=f"{dtype}, {variant}")
    ax[1, 1].axhline(total, color="k", lw=0.8)
    ax[1, 1].set(xscale="log", yscale="log", xlabel="hidden width", ylabel="SGD steps until units split",
                 title=f"When symmetry breaks (above the line: not within {total} steps)")
    ax[1, 1].legend(fontsize=8)
    for a in ax.flat:
        a.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def run(fast: bool, out: Path, seed: int = 0) -> dict:
    dataset = data.load("digits")
    hidden = (16, 16) if fast else (32, 32)
    epochs1, epochs2 = (15, 80) if fast else (100, 600)
    widths = (8,) if fast else (4, 8, 16, 32, 64, 100, 128)
    dtypes = ("float32",) if fast else ("float32", "float64")
    p1 = inits_part(dataset, hidden, epochs1, seed)
    p2 = breaking_part(dataset, widths, dtypes, epochs2, seed)
    result = common.header(NAME, CLAIM, fast, seed, dataset="digits", activation="tanh",
                           optimizer="sgd, lr 0.1, no momentum, batch 32", tolerance=TOL,
                           perturbation=PERTURBATION, constant=CONSTANT)
    result.update({"inits": p1, "breaking": p2, "summary": summary(p1, p2)})
    return common.save(out, NAME, result, plot(p1, p2))


if __name__ == "__main__":
    common.main(NAME, run)
