"""Benchmarks: evoinit's population trainer against scikit-learn's MLPClassifier, in one run.

Usage:
    python scripts/bench.py                # trainer table (tanh and ReLU cases)
    python scripts/bench.py --repeats 7    # more repeats, tighter medians
    python scripts/bench.py --quick        # a smoke run: fewer repeats, P up to 64

Every figure is a median over repeats, run alternating (sklearn, then evoinit at each P) so that
machine noise hits both; BLAS is pinned to one thread for both. The trainer's GFLOP/s count only
the matrix products of the whole training loop (forward, backward, weight gradients and the
per-epoch validation pass) and are reported as a fraction of the single-thread float32 GEMM peak
measured here, in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from evoinit import data as evo_data
from evoinit import seeding
from evoinit.network import TrainSettings, initial_start, layer_sizes, train_population

CASES = {
    "tanh 64-64-10": dict(hidden=(64,), activation="tanh", init="glorot_uniform"),
    "relu 64-128-64-10": dict(hidden=(128, 64), activation="relu", init="he_uniform"),
}


def gemm_peak(n: int = 2048, repeats: int = 5) -> float:
    """Single-thread float32 GEMM GFLOP/s (median of repeats)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=out)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times) / 1e9


def training_flops(sizes, n_train: int, n_val: int, epochs: int) -> float:
    """Matrix-product FLOPs of one network's training run (2 per multiply-add)."""
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    below_first = sum(a * b for a, b in zip(sizes[1:-1], sizes[2:]))  # dA for layers >= 1
    per_epoch = n_train * (2 * macs + below_first) + n_val * macs
    return 2.0 * per_epoch * epochs


def starts_for(case: dict, sizes, P: int):
    root = seeding.root(0)
    starts, orders = [], []
    for p in range(P):
        seq = seeding.child(root, seeding.TRAIN, p)
        starts.append(initial_start(sizes, case["init"], seeding.weight_rng(seq)))
        orders.append(seeding.order_rng(seq))
    return starts, orders


def time_evoinit(case, ds, settings, P: int) -> float:
    sizes = layer_sizes(ds.n_features, case["hidden"], ds.n_outputs)
    starts, orders = starts_for(case, sizes, P)
    t0 = time.perf_counter()
    train_population(starts, orders, ds, activation=case["activation"], settings=settings)
    return (time.perf_counter() - t0) / P


def time_sklearn(case, ds, settings, fits: int = 2) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X, y = ds.X_train.astype(np.float32), ds.y_train
    t0 = time.perf_counter()
    for k in range(fits):
        clf = MLPClassifier(hidden_layer_sizes=case["hidden"], activation=case["activation"],
                            solver="sgd", momentum=settings.momentum, nesterovs_momentum=False,
                            learning_rate="constant", learning_rate_init=settings.learning_rate,
                            batch_size=settings.batch_size, max_iter=settings.epochs, tol=0.0,
                            n_iter_no_change=10**9, early_stopping=False, alpha=0.0,
                            shuffle=True, random_state=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    return (time.perf_counter() - t0) / fits


def peak_memory_mib(case, ds, settings, P: int) -> float:
    """Peak memory NumPy allocates while training P networks (tracemalloc sees NumPy buffers)."""
    sizes = layer_sizes(ds.n_features, case["hidden"], ds.n_outputs)
    starts, orders = starts_for(case, sizes, P)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    train_population(starts, orders, ds, activation=case["activation"], settings=settings)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def trainer_table(repeats: int, populations, out=sys.stdout) -> dict:
    ds = evo_data.load("digits")
    settings = TrainSettings(epochs=20, batch_size=32, optimizer="sgd", learning_rate=0.05,
                             momentum=0.9, dtype="float32")
    peak = gemm_peak()
    report = {"gemm_peak_gflops": peak, "cases": {}}
    print(f"single-thread float32 GEMM peak: {peak:.1f} GFLOP/s", file=out)
    print(f"data: digits train split {ds.X_train.shape}, val {ds.X_val.shape}; "
          f"SGD momentum 0.9, lr 0.05, batch 32, 20 epochs, float32, 1 BLAS thread", file=out)
    for name, case in CASES.items():
        sizes = layer_sizes(ds.n_features, case["hidden"], ds.n_outputs)
        flops = training_flops(sizes, len(ds.X_train), len(ds.X_val), settings.epochs)
        sk, ev = [], {P: [] for P in populations}
        for _ in range(repeats):
            sk.append(time_sklearn(case, ds, settings))
            for P in populations:
                ev[P].append(time_evoinit(case, ds, settings, P))
        sk_med = statistics.median(sk)
        print(f"\n{name}: scikit-learn MLPClassifier {sk_med * 1e3:.1f} ms/network "
              f"(median of {repeats})", file=out)
        print(f"{'P':>5} {'ms/network':>11} {'× faster':>9} {'GFLOP/s':>8} {'% peak':>7}", file=out)
        rows = {}
        for P in populations:
            med = statistics.median(ev[P])
            gflops = flops / med / 1e9
            rows[P] = {"s_per_network": med, "speedup_vs_sklearn": sk_med / med,
                       "gflops": gflops, "fraction_of_peak": gflops / peak}
            print(f"{P:>5} {med * 1e3:>11.2f} {sk_med / med:>9.1f} {gflops:>8.1f} "
                  f"{100 * gflops / peak:>6.1f}%", file=out)
        mem_P = max(populations)
        mem = peak_memory_mib(case, ds, settings, mem_P)
        print(f"peak memory of the P = {mem_P} run: {mem:.1f} MiB", file=out)
        report["cases"][name] = {"sklearn_s_per_network": sk_med, "populations": rows,
                                 "peak_mib": mem, "peak_mib_P": mem_P}
    return report


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="2 repeats, P up to 64")
    args = ap.parse_args(argv)
    populations = (1, 16, 64) if args.quick else (1, 16, 64, 256)
    repeats = 2 if args.quick else args.repeats
    with threadpool_limits(limits=1):
        trainer_table(repeats, populations)


if __name__ == "__main__":
    main()
