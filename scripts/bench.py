"""Benchmarks: evoinit's population trainer against scikit-learn's MLPClassifier, in one run.

Usage:
    python scripts/bench.py                # trainer table (tanh and ReLU cases)
    python scripts/bench.py --repeats 7    # more repeats, tighter medians
    python scripts/bench.py --quick        # a smoke run: fewer repeats, P up to 64
    python scripts/bench.py --scaling      # scaling table: 1 and 2 loky processes, a local Dask cluster
    python scripts/bench.py --scaling --population 32 --epochs 30   # the same with longer generations

Every figure is a median over repeats, run alternating (sklearn, then evoinit at each P) so that
machine noise hits both; BLAS is pinned to one thread for both. The trainer's GFLOP/s count only
the matrix products of the whole training loop (forward, backward, weight gradients and the
per-epoch validation pass) and are reported as a fraction of the single-thread float32 GEMM peak
measured here, in the same run.

The scaling table runs one small search (digits) with ``n_jobs=1``, ``n_jobs=2`` and on a local
Dask cluster of 2 single-threaded worker processes, alternating, after one untimed warm-up run each
(workers started, modules imported, the dataset loaded in every worker). It reports evaluations
per second of wall-clock time (the whole search: GA, files, the final scoring), how busy the
workers were (training time summed over evaluations / (wall time × workers)), the 2-process
speedup and the Dask path's overhead against loky — and checks that every run wrote the same
evaluations log, bit for bit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from evoinit import seeding
from evoinit.data import dataset as evo_data
from evoinit.ga.evaluate import start_and_order, task_seed
from evoinit.nn.network import layer_sizes, train_population
from evoinit.nn.training import TrainSettings

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
    """P networks' starts and data orders, as ``evoinit train --seed 0`` draws its P seeds."""
    pairs = [start_and_order(sizes, case["init"], task_seed(0, (seeding.TRAIN, p))) for p in range(P)]
    return [s for s, _ in pairs], [o for _, o in pairs]


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


# -- scaling: the same search on 1 and 2 processes and on a local Dask cluster ----------------------


def scaling_config(quick: bool, **sizes):
    """The search the scaling table times; ``sizes`` (population, generations, epochs) override
    the defaults, to see how the figures move with the length of a generation."""
    from evoinit.ga.config import SearchConfig

    base = (dict(population=12, generations=2, repeats=2, epochs=8) if quick
            else dict(population=24, generations=4, repeats=2, epochs=15))
    base |= {k: v for k, v in sizes.items() if v is not None}
    epochs = base.pop("epochs")
    return SearchConfig(dataset="digits", seed=1, hall_of_fame=3, train=TrainSettings(epochs=epochs), **base)


def time_search(cfg, *, n_jobs: int = 1, scheduler: str | None = None) -> dict:
    """One whole search into a temporary run folder: wall time, evaluations, summed training time
    (timings.jsonl) and a digest of the evaluations log."""
    from evoinit.api import search

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        result = search(cfg.dataset, config=cfg, n_jobs=n_jobs, scheduler=scheduler, out=out)
        wall = time.perf_counter() - t0
        with open(out / "timings.jsonl") as f:
            compute = sum(json.loads(line)["seconds"] for line in f)
        digest = hashlib.sha256((out / "evaluations.jsonl").read_bytes()).hexdigest()[:16]
    return {"wall": wall, "evaluations": result.evaluations, "compute": compute, "digest": digest}


def scaling_table(repeats: int, quick: bool, out=sys.stdout, **sizes) -> dict:
    from distributed import LocalCluster

    cfg = scaling_config(quick, **sizes)
    print(f"search: digits, population {cfg.population}, {cfg.generations} generations after the first, "
          f"{cfg.repeats} seeds each, {cfg.train.epochs} epochs, hall of fame {cfg.hall_of_fame} "
          f"(+ baselines); median of {repeats} after one warm-up run each", file=out)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        backends = {"loky, 1 process (n_jobs=1)": dict(n_jobs=1), "loky, 2 processes (n_jobs=2)": dict(n_jobs=2),
                    "Dask LocalCluster, 2 workers × 1 thread": dict(scheduler=cluster.scheduler_address)}
        workers = {name: kw.get("n_jobs", 2) for name, kw in backends.items()}
        runs = {name: [] for name in backends}
        for name, kw in backends.items():
            time_search(cfg, **kw)                    # warm-up
        for _ in range(repeats):
            for name, kw in backends.items():
                runs[name].append(time_search(cfg, **kw))
    digests = {r["digest"] for rs in runs.values() for r in rs}
    rows = {}
    print(f"{'backend':<42} {'wall s':>7} {'evals':>6} {'evals/s':>8} {'busy':>6}", file=out)
    for name, rs in runs.items():
        wall = statistics.median(r["wall"] for r in rs)
        n = rs[0]["evaluations"]
        busy = statistics.median(r["compute"] / (r["wall"] * workers[name]) for r in rs)
        rows[name] = {"wall_s": wall, "evaluations": n, "evals_per_s": n / wall, "busy": busy,
                      "walls": [r["wall"] for r in rs]}
        print(f"{name:<42} {wall:>7.2f} {n:>6} {n / wall:>8.1f} {100 * busy:>5.0f}%", file=out)
    one, two, dask = (rows[name]["evals_per_s"] for name in backends)
    speedup, overhead = two / one, two / dask - 1
    print(f"2 processes / 1 process: {speedup:.2f}× (target ≥ 1.8×)", file=out)
    print(f"Dask against loky (2 workers each): {100 * overhead:+.1f}% wall time (target within 15%)", file=out)
    print("evaluations logs: " + ("identical across all runs" if len(digests) == 1
                                  else f"DIFFER ({len(digests)} distinct)"), file=out)
    return {"rows": rows, "speedup_2_vs_1": speedup, "dask_overhead_vs_loky": overhead,
            "identical": len(digests) == 1}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=None, help="repeats per figure [5; 3 with --scaling]")
    ap.add_argument("--quick", action="store_true", help="2 repeats, P up to 64, a smaller search")
    ap.add_argument("--scaling", action="store_true", help="the scaling table instead of the trainer table")
    for name in ("population", "generations", "epochs"):
        ap.add_argument(f"--{name}", type=int, default=None, help=f"the scaling search's {name}")
    args = ap.parse_args(argv)
    populations = (1, 16, 64) if args.quick else (1, 16, 64, 256)
    if args.scaling:
        # evaluations are single-threaded: parallelism comes from processes, which inherit this
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        repeats = 2 if args.quick else (args.repeats or 3)
        with threadpool_limits(limits=1):
            scaling_table(repeats, args.quick, population=args.population, generations=args.generations,
                          epochs=args.epochs)
        return
    repeats = 2 if args.quick else (args.repeats or 5)
    with threadpool_limits(limits=1):
        trainer_table(repeats, populations)


if __name__ == "__main__":
    main()
