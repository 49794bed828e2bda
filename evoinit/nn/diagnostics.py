"""Symmetry and diversity measures: how many distinct units a layer has, how signals and gradients
scale from layer to layer, and how far apart — in function and in weights — networks end up.

Plain NumPy on plain arrays, in the trainer's Keras orientation: ``W`` is ``(fan_in, fan_out)``, so
hidden unit j of a layer is column ``W[:, j]`` (its incoming weights) plus ``b[j]``; a network is
``(weights, biases)``, tuples of those per layer, the last layer the output. Nothing here draws
random numbers or prints.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

# -- symmetry within a network ------------------------------------------------------------------


def _units(W: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """One row per unit: its incoming weights, then its bias if given. ``(fan_out, fan_in [+1])``."""
    W = np.asarray(W, np.float64)
    rows = W.T if b is None else np.vstack([W, np.asarray(b, np.float64).reshape(1, -1)]).T
    return rows


def unit_spread(W: np.ndarray, b: np.ndarray | None = None) -> float:
    """How far a layer is from symmetric: ``max_j max_i |u_j[i] − u_0[i]|`` over its units u_j
    (incoming weights and bias). 0 exactly when every unit equals the first."""
    U = _units(W, b)
    return float(np.abs(U - U[:1]).max()) if U.size else 0.0


def distinct_units(W: np.ndarray, b: np.ndarray | None = None, *, tol: float = 1e-3) -> int:
    """Number of distinct units in a layer: units whose incoming weights (and bias) differ by more
    than ``tol`` in max-abs difference count as different.

    Greedy, in unit order: a unit joins the first representative within ``tol`` of it, else it
    becomes a new representative; the count of representatives is returned. For a symmetric
    layer this is 1, for a random one the width; in between it is a lower bound of the number of
    clusters of diameter ``tol`` (the answer can depend on the order only for units that form
    chains of near neighbours).
    """
    reps: list[np.ndarray] = []
    for u in _units(W, b):
        if not any(np.abs(u - r).max() <= tol for r in reps):
            reps.append(u)
    return len(reps)


def changed(before: np.ndarray, after: np.ndarray) -> float:
    """``max |after − before|``: 0 when training never moved the array (e.g. a dead layer)."""
    return float(np.abs(np.asarray(after, np.float64) - np.asarray(before, np.float64)).max())


# -- layer statistics ----------------------------------------------------------------------------


def layer_std(arrays: Sequence[np.ndarray]) -> list[float]:
    """Standard deviation of every entry of each array (one per layer): ``std(a_l)`` over samples
    and units, the statistic Glorot & Bengio (2010) follow through depth."""
    return [float(np.std(a)) for a in arrays]


def weight_gradients(inputs: Sequence[np.ndarray], deltas: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Weight gradients ``∂L/∂W_l = a_{l−1}ᵀ δ_l`` from each layer's input ``a_{l−1}`` ``(n, fan_in)``
    and back-propagated gradient ``δ_l = ∂L/∂z_l`` ``(n, fan_out)`` (δ already carries the 1/n of a
    mean loss)."""
    return [np.asarray(a).T @ np.asarray(d) for a, d in zip(inputs, deltas)]


# -- diversity across networks -------------------------------------------------------------------


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the row maximum for stability."""
    z = np.asarray(logits, np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def disagreement(labels: np.ndarray) -> np.ndarray:
    """Pairwise functional disagreement: ``D[a, b]`` = fraction of inputs on which network a and
    network b predict different classes. ``labels`` is ``(N networks, n inputs)``; D is ``(N, N)``,
    symmetric, zero on the diagonal."""
    labels = np.asarray(labels)
    return (labels[:, None, :] != labels[None, :, :]).mean(axis=-1)


def mean_off_diagonal(M: np.ndarray) -> float:
    """Mean of a square matrix's off-diagonal entries (the mean over distinct pairs)."""
    M = np.asarray(M, np.float64)
    n = len(M)
    return float((M.sum() - np.trace(M)) / (n * (n - 1))) if n > 1 else 0.0


def ensemble_error(logits: np.ndarray, y: np.ndarray) -> float:
    """Error rate of the ensemble that averages the N networks' class probabilities.

    ``logits`` is ``(N, n, C)``; prediction = argmax_c (1/N)·Σ_k softmax(z_k)[c]."""
    p = softmax(logits).mean(axis=0)
    return float(np.mean(p.argmax(axis=1) != np.asarray(y)))


def best_of_n(select: Sequence[float], report: Sequence[float], n: int) -> float:
    """Expected ``report`` score of the network that is best (lowest) on ``select`` among n networks
    drawn without replacement from the M given, exact over all C(M, n) subsets.

    Sort by ``select`` (ties kept in index order); the network of rank k (0 = best) is the best of a
    random n-subset with probability ``C(M−1−k, n−1) / C(M, n)``. Selecting on validation and
    reporting test gives an honest best-of-N; selecting and reporting on the same numbers gives the
    optimistic figure that is mostly selection noise.
    """
    select, report = np.asarray(select, np.float64), np.asarray(report, np.float64)
    M = len(select)
    if not 1 <= n <= M:
        raise ValueError(f"n must be in [1, {M}], got {n}")
    order = np.argsort(select, kind="stable")
    total = math.comb(M, n)
    weights = np.array([math.comb(M - 1 - k, n - 1) / total for k in range(M)])
    return float(weights @ report[order])


# -- distance up to hidden-unit permutation ---------------------------------------------------


def assignment(cost: np.ndarray) -> np.ndarray:
    """The row→column assignment of least total cost: ``perm`` with ``perm[i]`` the column of row i,
    minimizing ``Σ_i cost[i, perm[i]]`` (rows ≤ columns). Exact: scipy's
    ``linear_sum_assignment`` (a shortest-augmenting-path Hungarian method, Crouse 2016)."""
    C = np.asarray(cost, np.float64)
    if C.ndim != 2 or C.shape[0] > C.shape[1]:
        raise ValueError(f"assignment needs a matrix of rows <= columns, got shape {C.shape}")
    return linear_sum_assignment(C)[1]


def _floats(net: tuple) -> tuple[list, list]:
    """(weights, biases) of a network as lists of float64 arrays."""
    return [np.asarray(w, np.float64) for w in net[0]], [np.asarray(b, np.float64) for b in net[1]]


def _permuted(net: tuple, perms: Sequence[np.ndarray]) -> tuple:
    """``net`` with hidden layer l's units reordered by ``perms[l]`` (rows of the next layer follow)."""
    weights, biases = _floats(net)
    for l, perm in enumerate(perms):
        weights[l], biases[l] = weights[l][:, perm], biases[l][perm]
        weights[l + 1] = weights[l + 1][perm, :]
    return tuple(weights), tuple(biases)


def align(reference: tuple, other: tuple, max_sweeps: int = 50) -> tuple:
    """``other`` network with its hidden units permuted to be as close as possible to ``reference``.

    Both are ``(weights, biases)`` of the same shape. Weight matching (Ainsworth et al. 2023, "Git
    Re-Basin"): minimize ``‖θ_ref − π(θ_other)‖²`` over one permutation π_l per hidden layer by
    coordinate descent. With the neighbours' permutations fixed, the terms that depend on π_l are
    unit i's incoming weights and bias against unit π_l(i)'s (rows reordered by π_{l−1}) and its
    outgoing weights (columns reordered by π_{l+1}); minimizing them is the assignment problem
    ``max Σ_i ⟨u_i, u'_{π(i)}⟩``, solved exactly by :func:`assignment`. Sweeps over the layers
    start from the identity and repeat until no permutation changes (at most ``max_sweeps``); each
    step can only lower the distance, so the result is never farther than ``other`` itself. A
    local optimum for two or more hidden layers, exact for one. Permuting hidden units leaves the
    function unchanged; output units are never permuted; tanh's sign symmetry is not used.
    """
    (wa, ba), (wb, bb) = _floats(reference), _floats(other)
    hidden = len(wa) - 1
    perms = [np.arange(w.shape[1]) for w in wa[:-1]]
    for _ in range(max_sweeps):
        moved = False
        for l in range(hidden):
            rows = perms[l - 1] if l else np.arange(wb[0].shape[0])
            cols = perms[l + 1] if l + 1 < hidden else np.arange(wb[l + 1].shape[1])
            similarity = (_units(wa[l], ba[l]) @ _units(wb[l][rows, :], bb[l]).T
                          + wa[l + 1] @ wb[l + 1][:, cols].T)
            perm = assignment(-similarity)
            if not np.array_equal(perm, perms[l]):
                units = np.arange(len(perm))
                gain = similarity[units, perm].sum() - similarity[units, perms[l]].sum()
                if gain > 1e-12 * max(1.0, abs(similarity).max()):
                    perms[l], moved = perm, True
        if not moved:
            break
    return _permuted((wb, bb), perms)


def weight_distance(a: tuple, b: tuple) -> float:
    """Euclidean distance between two networks' parameters: ``sqrt(Σ_l ‖W_a − W_b‖² + ‖b_a − b_b‖²)``."""
    return math.sqrt(sum(float(((np.asarray(x) - np.asarray(y)) ** 2).sum())
                         for xs, ys in zip(a, b) for x, y in zip(xs, ys)))


def permutation_distance(a: tuple, b: tuple) -> float:
    """:func:`weight_distance` after :func:`align`-ing b's hidden units to a's: the part of the
    distance between two networks that relabelling hidden units does not remove. Exact for one
    hidden layer; for more, an upper bound of the minimum over all permutations, and never above
    the raw distance."""
    return weight_distance(a, align(a, b))


def parameter_norm(net: tuple) -> float:
    """``sqrt(Σ ‖W‖² + ‖b‖²)``: the scale to read a weight distance against."""
    return math.sqrt(sum(float((np.asarray(x) ** 2).sum()) for xs in net for x in xs))
