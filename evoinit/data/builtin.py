"""The built-in datasets: scikit-learn's bundled sets (no download), its generators, evoinit's
two spirals and MNIST-1D, by name. Each entry makes ``(X, y, feature_names, class_names, source)``
from ``(n_samples, noise, seed)``; ``data.load`` splits and scales what it makes. An entry with its
own test rows (MNIST-1D's official split) also has ``test()``: ``(X_test, y_test, source)``."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np

from evoinit.data.files import columns as _columns

TASKS = ("classification", "regression")
C, R = TASKS


@dataclass(frozen=True)
class _Builtin:
    task: str
    blurb: str
    make: object  # (n_samples, noise, seed) -> (X, y, feature_names, class_names | None, source)
    n_samples: int | None = None  # generator defaults; None for fixed sets
    noise: float | None = None
    test: object = None   # () -> (X_test, y_test, source) for a set with its own test rows


def _bundled(loader: str, task: str, blurb: str, **kw) -> _Builtin:
    """One of scikit-learn's bundled ``load_*`` sets (no download)."""
    def make(n_samples, noise, seed):
        from sklearn import (
            datasets as skd,  # on use: the CLI's --help must not wait for scikit-learn
        )

        b = getattr(skd, loader)(**kw)
        classes = tuple(map(str, b.target_names)) if task == C else None
        return b.data, b.target, tuple(map(str, b.feature_names)), classes, f"sklearn.datasets.{loader}"
    return _Builtin(task, blurb, make)


def _generated(fn: str, task: str, blurb: str, noise: float, noise_arg: str = "noise", **fixed) -> _Builtin:
    """A scikit-learn ``make_*`` generator, by name (imported on use): ``noise`` goes to
    ``noise_arg``, ``random_state=seed``."""
    def make(n_samples, noise, seed):
        from sklearn import datasets as skd

        kw = {"n_samples": n_samples, **fixed, noise_arg: noise, "random_state": seed}
        X, y = getattr(skd, fn)(**kw)
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        return X, y, _columns(X.shape[1]), None, f"generator {fn}({args})"
    return _Builtin(task, blurb, make, 1000, noise)


def make_spirals(n_samples: int, noise: float, rng: np.random.Generator):
    """Two interleaved spirals of 1.5 turns: class k ∈ {0, 1} holds the points
    ``t·(cos(3πt + kπ), sin(3πt + kπ)) + N(0, noise²·I)`` with ``t = √u``, ``u ~ U(0, 1)`` (the
    square root spreads points evenly along the arm). Classes alternate, so they differ by at most 1."""
    y = np.arange(n_samples) % 2
    t = np.sqrt(rng.uniform(size=n_samples))
    angle = 3 * np.pi * t + np.pi * y
    X = t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return X + rng.normal(scale=noise, size=X.shape), y


def _spirals(n_samples, noise, seed):
    X, y = make_spirals(n_samples, noise, np.random.default_rng(seed))
    args = f"n_samples={n_samples}, noise={noise!r}, rng=default_rng({seed})"
    return X, y, _columns(2), None, f"generator evoinit.data.make_spirals({args})"


MNIST1D_CITATION = ('Greydanus & Kobak, "Scaling down deep learning with MNIST-1D", ICML 2024, '
                    "arXiv:2011.14439")
_MNIST1D = "mnist1d.data.make_dataset(get_dataset_args())"


@functools.lru_cache(maxsize=1)
def mnist1d_arrays() -> dict:
    """MNIST-1D as the paper has it: the ``mnist1d`` package's ``make_dataset`` with its default
    arguments (5,000 signals of 40 points, 10 classes; ``train_split`` 0.8 gives 4,000 training
    and 1,000 test rows), generated here, never downloaded. The package seeds NumPy's and Python's
    global generators itself (``set_seed(42)`` inside ``make_dataset``), so the rows are the same
    on every call; the caller's global random states are put back afterwards. About 1.5 s: cached
    per process, the arrays read-only."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ValueError("the mnist1d package is not installed (pip install mnist1d)") from None
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        made = make_dataset(get_dataset_args())
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    out = {}
    for key in ("x", "y", "x_test", "y_test"):
        out[key] = np.array(made[key])
        out[key].flags.writeable = False
    return out


def _mnist1d(n_samples, noise, seed):
    d = mnist1d_arrays()
    return d["x"], d["y"], _columns(d["x"].shape[1]), None, f"{_MNIST1D}: x, y ({MNIST1D_CITATION})"


def _mnist1d_test():
    d = mnist1d_arrays()
    return d["x_test"], d["y_test"], f"the official test split of {_MNIST1D}"


BUILTINS: dict[str, _Builtin] = {
    "iris": _bundled("load_iris", C, "Fisher's iris flowers"),
    "wine": _bundled("load_wine", C, "wine cultivars from chemical analysis"),
    "breast_cancer": _bundled("load_breast_cancer", C, "Wisconsin breast cancer diagnosis"),
    "digits": _bundled("load_digits", C, "8×8 handwritten digits"),
    "diabetes": _bundled("load_diabetes", R, "diabetes progression after a year", scaled=False),
    "linnerud": _bundled("load_linnerud", R, "Linnerud exercises → 3 body measurements"),
    "mnist1d": _Builtin(C, f"MNIST-1D, the 10 digits as 1-D signals ({MNIST1D_CITATION}; generated "
                           "by the mnist1d package with its default arguments, not downloaded)",
                        _mnist1d, test=_mnist1d_test),
    "moons": _generated("make_moons", C, "two interleaving half circles (make_moons)", 0.2),
    "circles": _generated("make_circles", C, "a circle in a circle (make_circles)", 0.1, factor=0.5),
    "blobs": _generated("make_blobs", C, "3 Gaussian blobs (make_blobs; noise = cluster_std)", 1.0,
                        "cluster_std", centers=3, n_features=2),
    "classification": _generated("make_classification", C, "5 informative of 20 features "
                                 "(make_classification; noise = flip_y)", 0.01, "flip_y", n_features=20,
                                 n_informative=5, n_redundant=2, n_classes=3),
    "regression": _generated("make_regression", R, "linear, 5 informative of 10 features (make_regression)",
                             10.0, n_features=10, n_informative=5),
    "friedman1": _generated("make_friedman1", R, "10·sin(πx₀x₁) + 20(x₂−½)² + 10x₃ + 5x₄ (make_friedman1)",
                            1.0, n_features=10),
    "spirals": _Builtin(C, "two interleaved spirals, 1.5 turns (make_spirals)", _spirals, 1000, 0.05),
}
GENERATORS = tuple(name for name, b in BUILTINS.items() if b.n_samples is not None)


def names() -> list[str]:
    """Names of the built-in datasets (fixed sets first, then generators)."""
    return list(BUILTINS)


def describe() -> list[tuple[str, str, str]]:
    """(name, task, one-line description with its size) per built-in dataset, for listings; the
    sizes are measured on the data (defaults for generators), so they cannot drift from it."""
    rows = []
    for name, b in BUILTINS.items():
        X, y, *_ = b.make(b.n_samples, b.noise, 0)
        outputs = (f"{len(np.unique(y))} classes" if b.task == C else
                   f"{y.shape[1]} targets" if np.ndim(y) == 2 else "1 target")
        size = f"{len(X)} samples" if b.n_samples is None else f"{len(X)} samples by default"
        if b.test is not None:
            size = f"{len(X)} training rows and its own {len(b.test()[1])} test rows"
        noise = "" if b.noise is None else f", noise {b.noise}"
        rows.append((name, b.task, f"{b.blurb}, {size}, {X.shape[1]} features, {outputs}{noise}"))
    return rows
