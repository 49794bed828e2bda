"""The built-in datasets: scikit-learn's bundled sets (no download), its generators and
evoinit's two spirals, by name. Each entry makes ``(X, y, feature_names, class_names, source)``
from ``(n_samples, noise, seed)``; ``data.load`` splits and scales what it makes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import datasets as skd

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


def _bundled(loader: str, task: str, blurb: str, **kw) -> _Builtin:
    """One of scikit-learn's bundled ``load_*`` sets (no download)."""
    def make(n_samples, noise, seed):
        b = getattr(skd, loader)(**kw)
        classes = tuple(map(str, b.target_names)) if task == C else None
        return b.data, b.target, tuple(map(str, b.feature_names)), classes, f"sklearn.datasets.{loader}"
    return _Builtin(task, blurb, make)


def _generated(fn, task: str, blurb: str, noise: float, noise_arg: str = "noise", **fixed) -> _Builtin:
    """A scikit-learn ``make_*`` generator: ``noise`` goes to ``noise_arg``, ``random_state=seed``."""
    def make(n_samples, noise, seed):
        kw = {"n_samples": n_samples, **fixed, noise_arg: noise, "random_state": seed}
        X, y = fn(**kw)
        args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        return X, y, _columns(X.shape[1]), None, f"generator {fn.__name__}({args})"
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


BUILTINS: dict[str, _Builtin] = {
    "iris": _bundled("load_iris", C, "Fisher's iris flowers"),
    "wine": _bundled("load_wine", C, "wine cultivars from chemical analysis"),
    "breast_cancer": _bundled("load_breast_cancer", C, "Wisconsin breast cancer diagnosis"),
    "digits": _bundled("load_digits", C, "8×8 handwritten digits"),
    "diabetes": _bundled("load_diabetes", R, "diabetes progression after a year", scaled=False),
    "linnerud": _bundled("load_linnerud", R, "Linnerud exercises → 3 body measurements"),
    "moons": _generated(skd.make_moons, C, "two interleaving half circles (make_moons)", 0.2),
    "circles": _generated(skd.make_circles, C, "a circle in a circle (make_circles)", 0.1, factor=0.5),
    "blobs": _generated(skd.make_blobs, C, "3 Gaussian blobs (make_blobs; noise = cluster_std)", 1.0,
                        "cluster_std", centers=3, n_features=2),
    "classification": _generated(skd.make_classification, C, "5 informative of 20 features "
                                 "(make_classification; noise = flip_y)", 0.01, "flip_y", n_features=20,
                                 n_informative=5, n_redundant=2, n_classes=3),
    "regression": _generated(skd.make_regression, R, "linear, 5 informative of 10 features (make_regression)",
                             10.0, n_features=10, n_informative=5),
    "friedman1": _generated(skd.make_friedman1, R, "10·sin(πx₀x₁) + 20(x₂−½)² + 10x₃ + 5x₄ (make_friedman1)",
                            1.0, n_features=10),
    "spirals": _Builtin(C, "two interleaved spirals, 1.5 turns (make_spirals)", _spirals, 1000, 0.05),
}
GENERATORS = tuple(name for name, b in BUILTINS.items() if b.n_samples is not None)


def names() -> list[str]:
    """Names of the built-in datasets (bundled sets first, then generators)."""
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
        noise = "" if b.noise is None else f", noise {b.noise}"
        rows.append((name, b.task, f"{b.blurb}, {size}, {X.shape[1]} features, {outputs}{noise}"))
    return rows
